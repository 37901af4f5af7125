/**
 * Each change to the CD-1 step measured against what it replaced, on threaded wasm, in one
 * process with interleaved rounds (medians): core's SIMD kernels against the tfjs ops they
 * replace, on the step's shapes, and the step in the textbook layout against the layout
 * src/rbm-step.ts uses. Figures quoted in packages/core's README.
 *
 *   pnpm --filter @helmholtz/bench kernels      (after pnpm build; BENCH_ROUNDS, BENCH_THREADS)
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import { addRowBias, addScaledDifference, Rng, rowSumDifference, transpose2d } from '@helmholtz/core';
import { createCdStep } from './rbm-step.js';
import { median } from './stats.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 31);
const threads = Number(process.env.BENCH_THREADS ?? os.availableParallelism());

/** Times `before` and `after` in alternation (each run's output disposed), medians in ms. */
function pair(before: () => tf.Tensor, after: () => tf.Tensor): [number, number] {
  const once = (f: () => tf.Tensor): number => {
    const t = performance.now();
    tf.dispose(f());
    return performance.now() - t;
  };
  for (let i = 0; i < 5; i++) {
    once(before);
    once(after);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(once(before));
    b.push(once(after));
  }
  return [median(a), median(b)];
}

function row(name: string, [before, after]: [number, number]): void {
  console.log(`${name.padEnd(58)}${before.toFixed(3).padStart(9)}${after.toFixed(3).padStart(9)}${(before / after).toFixed(2).padStart(8)}x`);
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { threads });
  console.log(`wasm, ${backend.threads.note}; ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, Node ${process.version}`);
  console.log(`${rounds} interleaved rounds, medians, ms\n`);
  console.log(`${'change (tfjs ops it replaces -> core)'.padEnd(58)}${'before'.padStart(9)}${'after'.padStart(9)}${'gain'.padStart(9)}`);
  const rng = new Rng(1);
  for (const batch of [100, 256]) {
    const p = tf.tidy(() => tf.sigmoid(rng.normalTensor([784, batch])) as tf.Tensor2D);
    const h = tf.tidy(() => tf.sigmoid(rng.normalTensor([500, batch])) as tf.Tensor2D);
    const bias = rng.normalTensor([500]) as tf.Tensor1D;
    row(`sampling [784,${batch}]: uniform, less, cast -> rng.bernoulli`, pair(
      () => tf.tidy(() => tf.cast(tf.less(rng.uniform([784, batch]), p), 'float32')),
      () => rng.bernoulli(p),
    ));
    row(`transpose [${batch},784]: tf.transpose -> transpose2d`, pair(() => tf.transpose(p), () => transpose2d(p)));
    row(`bias per row [500,${batch}]: add of [500,1] -> addRowBias`, pair(
      () => tf.tidy(() => tf.add(h, tf.reshape(bias, [500, 1]))),
      () => addRowBias(h, bias),
    ));
    row(`bias statistic [784,${batch}]: sub, sum -> rowSumDifference`, pair(
      () => tf.tidy(() => tf.sum(tf.sub(p, p), 1)),
      () => rowSumDifference(p, p),
    ));
    tf.dispose([p, h, bias]);
  }
  const w = rng.normalTensor([500, 784]);
  const g = rng.normalTensor([500, 784]);
  row('transpose [500,784]: tf.transpose -> transpose2d', pair(() => tf.transpose(w), () => transpose2d(w as tf.Tensor2D)));
  row('update [500,784]: sub, mul, add -> addScaledDifference', pair(
    () => tf.tidy(() => tf.add(w, tf.mul(tf.sub(g, w), 0.01))),
    () => addScaledDifference(w, g, w, 0.01),
  ));
  tf.dispose([w, g]);

  console.log('\nthe CD-1 step (10 back-to-back steps per timing, per step):');
  for (const batch of [100, 256]) {
    const standard = createCdStep('standard', batch, 0);
    const layout = createCdStep('helmholtz', batch, 0);
    const steps = (step: ReturnType<typeof createCdStep>) => () => {
      for (let i = 0; i < 10; i++) step.run();
      return tf.scalar(0);
    };
    const [before, after] = pair(steps(standard), steps(layout));
    row(`batch ${batch}: textbook layout -> activations as right operands`, [before / 10, after / 10]);
    standard.dispose();
    layout.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
