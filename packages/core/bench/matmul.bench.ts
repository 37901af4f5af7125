/**
 * The matrix products of one RBM training step (batch 100 and 256, 784 visible x 500 hidden)
 * on wasm: tf.matMul with transpose flags against core's matMul fast path, measured side by
 * side in one run (interleaved rounds, median of each), printed as ratios.
 *
 *   pnpm --filter @helmholtz/core bench        (after pnpm build)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { matMul, Rng } from '@helmholtz/core';
import { median } from './support/measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

interface Case {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

function cases(batch: number): Case[] {
  return [
    { name: `up    v·W     [${batch},784]·[784,500]`, a: [batch, 784], b: [784, 500], transposeA: false, transposeB: false },
    { name: `down  h·Wᵀ    [${batch},500]·[784,500]ᵀ`, a: [batch, 500], b: [784, 500], transposeA: false, transposeB: true },
    { name: `stats vᵀ·h    [${batch},784]ᵀ·[${batch},500]`, a: [batch, 784], b: [batch, 500], transposeA: true, transposeB: false },
  ];
}

function timeOnce(f: () => tf.Tensor): number {
  const start = performance.now();
  const out = f();
  out.dataSync();
  const elapsed = performance.now() - start;
  out.dispose();
  return elapsed;
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  const rng = new Rng(0);
  console.log(`backend ${tf.getBackend()}, ${ROUNDS} interleaved rounds, median ms per product\n`);
  console.log('product                                   tf.matMul(flags)   core matMul   speed-up');
  for (const batch of [100, 256]) {
    for (const c of cases(batch)) {
      const a = rng.normalTensor(c.a) as tf.Tensor2D;
      const b = rng.normalTensor(c.b) as tf.Tensor2D;
      const plain = () => tf.matMul(a, b, c.transposeA, c.transposeB);
      const fast = () => matMul(a, b, c.transposeA, c.transposeB);
      timeOnce(plain);
      timeOnce(fast);
      const tPlain: number[] = [];
      const tFast: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        tPlain.push(timeOnce(plain));
        tFast.push(timeOnce(fast));
      }
      const mp = median(tPlain);
      const mf = median(tFast);
      console.log(
        `${c.name.padEnd(42)}${mp.toFixed(2).padStart(10)}${mf.toFixed(2).padStart(16)}${(mp / mf).toFixed(2).padStart(10)}x`,
      );
      tf.dispose([a, b]);
    }
  }
  // A dense layer's backward pass: tfjs's own matMul gradient uses the transpose flags.
  for (const batch of [100, 256]) {
    const x = rng.normalTensor([batch, 784]) as tf.Tensor2D;
    const w = rng.normalTensor([784, 500]) as tf.Tensor2D;
    const r = rng.normalTensor([batch, 500]);
    const backward = (mm: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => () =>
      tf.tidy(() => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(mm(a as tf.Tensor2D, b as tf.Tensor2D), r)))([x, w]);
        return tf.add(tf.sum(gx as tf.Tensor), tf.sum(gw as tf.Tensor));
      });
    const plain = backward((a, b) => tf.matMul(a, b));
    const fast = backward((a, b) => matMul(a, b));
    timeOnce(plain);
    timeOnce(fast);
    const tPlain: number[] = [];
    const tFast: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      tPlain.push(timeOnce(plain));
      tFast.push(timeOnce(fast));
    }
    const mp = median(tPlain);
    const mf = median(tFast);
    const name = `dense forward+backward [${batch},784]·[784,500]`;
    console.log(`${name.padEnd(42)}${mp.toFixed(2).padStart(10)}${mf.toFixed(2).padStart(16)}${(mp / mf).toFixed(2).padStart(10)}x`);
    tf.dispose([x, w, r]);
  }
  console.log('\nspeed-up = tf.matMul time / core matMul time, same inputs, same process; >1 means the fast path wins.');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
