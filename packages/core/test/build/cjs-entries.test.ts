import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built CommonJS files in a fresh Node process, as a CJS application would.
function runCjs(code: string): string {
  return execFileSync(process.execPath, ['-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  }).trim();
}

describe('the CommonJS build', () => {
  it('leaves the installed tfjs-core engine in charge even when @helmholtz/core is required first', () => {
    const out = runCjs(`
      const core = require('@helmholtz/core');
      const tf = require('@tensorflow/tfjs-core');
      require('@tensorflow/tfjs-backend-cpu');
      const t = tf.scalar(2);
      const g = tf.grad((x) => tf.square(x))(t);
      console.log(JSON.stringify([Object.getPrototypeOf(t) === tf.Tensor.prototype, g.dataSync()[0], typeof core.matMul]));
    `);
    expect(JSON.parse(out)).toEqual([true, 4, 'function']);
  });

  it('shares one class per error across its entry points, so instanceof holds', async () => {
    const out = runCjs(`
      const core = require('@helmholtz/core');
      const { directoryCheckpoint } = require('@helmholtz/core/node');
      require('@tensorflow/tfjs-backend-cpu');
      core.loadCheckpoint(directoryCheckpoint('/nonexistent/helmholtz-checkpoint'), { params: {}, ignoreConfig: true }).catch((e) => {
        console.log(JSON.stringify([e instanceof core.CheckpointError, e instanceof core.HelmholtzError, e.message]));
      });
    `);
    const [isCheckpointError, isHelmholtzError, message] = JSON.parse(out) as [boolean, boolean, string];
    expect(isCheckpointError).toBe(true);
    expect(isHelmholtzError).toBe(true);
    // Not wrapped twice ("loading failed: checkpoint ...: ...").
    expect(message.match(/checkpoint \/nonexistent/g)).toHaveLength(1);
  });
});
