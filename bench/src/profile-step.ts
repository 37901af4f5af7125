/**
 * Where the time of one CD-1 step goes on our engine: the helmholtz step (src/rbm-step.ts) on
 * threaded wasm, per kernel (tf.profile, steady state after a warm-up), and what XNNPACK's
 * repacking of a product's right operand costs (the same product with the right operand it has
 * already packed, and with a fresh copy of it).
 *
 *   pnpm --filter @helmholtz/bench profile          (after pnpm build; BENCH_THREADS, BENCH_BATCHES)
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import { createCdStep } from './rbm-step.js';
import { median } from './stats.js';

const threads = Number(process.env.BENCH_THREADS ?? os.availableParallelism());
const batches = (process.env.BENCH_BATCHES ?? '100,256').split(',').map(Number);
const WARM_MS = 5000;
const PROFILED = 10;

async function profileStep(batch: number): Promise<void> {
  const step = createCdStep('helmholtz', batch, 0);
  const start = performance.now();
  while (performance.now() - start < WARM_MS) step.run();
  const wall: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    step.run();
    wall.push(performance.now() - t);
  }
  const perKernel = new Map<string, number>();
  for (let i = 0; i < PROFILED; i++) {
    const info = await tf.profile(() => {
      step.run();
    });
    for (const k of info.kernels) {
      if (k.name === 'unnamed scope') continue;
      const key = `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',')}]`).join(' ')}`;
      perKernel.set(key, (perKernel.get(key) ?? 0) + (k.kernelTimeMs as number) / PROFILED);
    }
  }
  step.dispose();
  const rows = [...perKernel.entries()].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, ms]) => s + ms, 0);
  const products = rows.filter(([k]) => k.startsWith('BatchMatMul')).reduce((s, [, ms]) => s + ms, 0);
  console.log(`\nbatch ${batch}: step ${median(wall).toFixed(2)} ms (median of 21, back to back); kernels ${total.toFixed(2)} ms, of which products ${products.toFixed(2)} ms (${((100 * products) / total).toFixed(0)}%)`);
  console.log('  ms/step   share   kernel and input shapes');
  for (const [k, ms] of rows) console.log(`${ms.toFixed(3).padStart(9)}   ${((100 * ms) / total).toFixed(1).padStart(4)}%   ${k}`);
}

function packingCost(batch: number): void {
  // The up pass's product: Wᵀ [500,784] · v0ᵀ [784,batch]; XNNPACK packs the right operand.
  const a = tf.randomUniform([500, 784]);
  const b = tf.randomUniform([784, batch]);
  const start = performance.now();
  while (performance.now() - start < 2000) tf.matMul(a, b).dispose();
  const packed: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < 41; i++) {
    let t = performance.now();
    tf.matMul(a, b).dispose();
    packed.push(performance.now() - t);
    const copy = tf.add(b, 0);
    copy.dataSync();
    t = performance.now();
    tf.matMul(a, copy).dispose();
    fresh.push(performance.now() - t);
    copy.dispose();
  }
  const [p, f] = [median(packed), median(fresh)];
  console.log(
    `  [500,784]·[784,${batch}]: ${p.toFixed(3)} ms with its right operand already packed, ${f.toFixed(3)} ms with a new one ` +
      `(packing ${(f - p).toFixed(3)} ms, ${((1e6 * (f - p)) / (784 * batch)).toFixed(1)} ns per element)`,
  );
  tf.dispose([a, b]);
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { threads });
  console.log(`wasm, ${backend.threads.note}; ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, Node ${process.version}`);
  for (const batch of batches) await profileStep(batch);
  console.log('\nXNNPACK repacking a product\'s right operand (41 interleaved pairs, medians):');
  for (const batch of batches) packingCost(batch);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
