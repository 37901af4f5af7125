import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { earlyStopping, train } from '../../src/index.js';
import { terminalProgress } from '../../src/node.js';
import { useBackend } from '../../src/testing.js';

// The callbacks do not depend on the backend: the loop is covered on every backend in loop.test.ts.
beforeAll(() => useBackend('cpu'));

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, columns: 120, chunks, write: (s: string) => (chunks.push(s), true) };
}

const run = (stream: ReturnType<typeof sink>, extra: Parameters<typeof terminalProgress>[0] = {}) =>
  train({
    epochs: 2,
    batches: () => [1, 2, 3, 4],
    step: (b, ctx) => ({ loss: tf.scalar(b + ctx.epoch), kl: tf.scalar(0.5) }),
    callbacks: [terminalProgress({ stream, ...extra })],
  });

describe('terminalProgress', () => {
  it('writes plain lines when the stream is not a TTY: every logEvery batches and one per epoch', async () => {
    const stream = sink(false);
    await run(stream, { logEvery: 2 });
    const lines = stream.chunks.join('').split('\n').filter(Boolean);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('epoch 1/2 batch 2: loss=1.5 kl=0.5');
    expect(lines[1]).toBe('epoch 1/2 batch 4: loss=2.5 kl=0.5');
    expect(lines[2]).toMatch(/^epoch 1\/2 \(\d+\.\ds\): loss=2\.5 kl=0\.5$/);
    // From the second epoch the batch count is known.
    expect(lines[3]).toBe('epoch 2/2 batch 2/4: loss=2.5 kl=0.5');
    expect(lines[5]).toMatch(/^epoch 2\/2 \(\d+\.\ds\): loss=3\.5 kl=0\.5$/);
    expect(stream.chunks.join('')).not.toMatch(/\x1b/);
  });

  it('reports an early stop', async () => {
    const stream = sink(false);
    await train({
      epochs: 5,
      batches: () => [0],
      step: () => ({ loss: tf.scalar(1) }),
      callbacks: [earlyStopping({ patience: 1 }), terminalProgress({ stream, logEvery: 0 })],
    });
    const lines = stream.chunks.join('').split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^training stopped: early stopping/);
  });

  it('draws a cli-progress bar on a TTY, ending each epoch with its means', async () => {
    const stream = sink(true);
    await run(stream, { batchesPerEpoch: 4 });
    const text = stream.chunks.join('');
    expect(text).toMatch(/\x1b\[/);
    expect(text).toContain('epoch 1/2');
    expect(text).toContain('epoch 2/2');
    expect(text).toMatch(/4\/4 \| loss=3\.5 kl=0\.5/);
    expect(text).not.toMatch(/^epoch 1\/2 \(/m);
  });
});
