/**
 * Where an update of @helmholtz/energy's RBM trainer spends its time, against the same update in
 * the column layout of bench/src/rbm-step.ts and against that file's `helmholtz` step: one
 * process, the three interleaved update by update (so that load from other programs falls on
 * all alike), medians; then tf.profile's per-kernel times of each.
 *
 *   pnpm --filter @helmholtz/bench energy-profile      (BENCH_THREADS, BENCH_PROFILE_UPDATES, BENCH_BATCH)
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import { gatherRows, Rng } from '@helmholtz/core';
import { median, quantile } from '../stats.js';
import { createRunner, type EpochRunner, type Variant } from './epoch-variants.js';
import { envInteger } from './harness.js';

const threads = envInteger('BENCH_THREADS', os.availableParallelism());
const updates = envInteger('BENCH_PROFILE_UPDATES', 200);
const batch = envInteger('BENCH_BATCH', 100);
const PROFILED = 10;
const VARIANTS: { variant: Variant; label: string }[] = [
  { variant: 'trainer', label: 'trainer.step (createRbmTrainer, CD-1)' },
  { variant: 'layout', label: 'same update, column layout' },
  { variant: 'ref', label: "rbm-step.ts 'helmholtz' (SGD only)" },
];

/**
 * What taking a batch costs: core's gatherRows from the whole training set as one tensor (what
 * fitRbm does per update), against the same rows copied in JavaScript from the bytes and uploaded.
 */
function gatherCost(): void {
  const rows = 60_000;
  const bytes = new Uint8Array(rows * 784);
  const rng = new Rng(5);
  for (let i = 0; i < bytes.length; i += 7) bytes[i] = 1;
  const table = tf.tensor2d(Float32Array.from(bytes), [rows, 784]);
  const order = rng.permutation(rows);
  const gathered: number[] = [];
  const assembled: number[] = [];
  for (let k = 0; k < 200; k++) {
    const ids = order.subarray((k * batch) % (rows - batch), ((k * batch) % (rows - batch)) + batch);
    let t = performance.now();
    const a = tf.tidy(() => gatherRows(table, tf.tensor1d(ids, 'int32')));
    // A kernel that reads its input makes both paths finish their upload or copy before the clock stops.
    tf.sigmoid(a).dispose();
    gathered.push(performance.now() - t);
    t = performance.now();
    const values = new Float32Array(batch * 784);
    for (let i = 0; i < ids.length; i++) {
      const from = ids[i]! * 784;
      for (let j = 0; j < 784; j++) values[i * 784 + j] = bytes[from + j]!;
    }
    const b = tf.tensor2d(values, [ids.length, 784]);
    tf.sigmoid(b).dispose();
    assembled.push(performance.now() - t);
    tf.dispose([a, b]);
  }
  table.dispose();
  console.log(
    `\ntaking a batch of ${batch} from 60,000 rows (200 batches, medians, each followed by a sigmoid of it): ` +
      `gatherRows from one [60000,784] tensor ${median(gathered).toFixed(2)} ms; copied in JavaScript from the bytes and uploaded ${median(assembled).toFixed(2)} ms`,
  );
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm', { threads });
  console.log(`wasm, ${backend.threads.note}; ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, Node ${process.version}`);
  // Binary data with MNIST's density (about 13% of pixels on): the cost of an update does not depend on the values.
  const rng = new Rng(3);
  const rows = 2000;
  const data = tf.tidy(() => tf.cast(tf.less(rng.uniform([rows, 784]), 0.13), 'float32')) as tf.Tensor2D;
  const settings = { visible: 784, hidden: 500, batch, learningRate: 0.1, momentum: 0.5, weightDecay: 0.0002, seed: 1 };
  const runners: EpochRunner[] = VARIANTS.map(({ variant }) => createRunner(variant, data, settings));
  const order = rng.permutation(rows);
  let at = 0;
  const nextBatch = (): Int32Array => {
    if (at + batch > rows) at = 0;
    const ids = order.slice(at, at + batch);
    at += batch;
    return ids;
  };
  const once = async (r: EpochRunner): Promise<number> => {
    r.prepare(nextBatch());
    const t = performance.now();
    await r.run();
    return performance.now() - t;
  };
  for (const r of runners) for (let i = 0; i < 10; i++) await once(r);
  const times: number[][] = runners.map(() => []);
  for (let i = 0; i < updates; i++) {
    for (let k = 0; k < runners.length; k++) {
      const j = (k + i) % runners.length;
      times[j]!.push(await once(runners[j]!));
    }
  }
  console.log(`\n${updates} updates each at batch ${batch}, interleaved; medians (p25–p75) in ms, including the batch gather:`);
  const ref = median(times[0]!);
  VARIANTS.forEach(({ label }, k) => {
    const t = times[k]!;
    const m = median(t);
    console.log(`  ${label.padEnd(40)} ${m.toFixed(2).padStart(7)} (${quantile(t, 0.25).toFixed(2)}–${quantile(t, 0.75).toFixed(2)})${k ? `   trainer is ${(ref / m).toFixed(2)}x this, ${(ref - m >= 0 ? '+' : '') + (ref - m).toFixed(2)} ms` : ''}`);
  });

  for (let k = 0; k < runners.length; k++) {
    const perKernel = new Map<string, number>();
    for (let i = 0; i < PROFILED; i++) {
      runners[k]!.prepare(nextBatch());
      const info = await tf.profile(async () => {
        await runners[k]!.run();
      });
      for (const kernel of info.kernels) {
        // Scopes (customGrad, tidy) wrap kernels that are listed on their own: counting both would count twice.
        if (kernel.name === 'unnamed scope') continue;
        const key = `${kernel.name} ${kernel.inputShapes.map((s) => `[${s?.join(',')}]`).join(' ')}`;
        perKernel.set(key, (perKernel.get(key) ?? 0) + (kernel.kernelTimeMs as number) / PROFILED);
      }
    }
    const list = [...perKernel.entries()].sort((a, b) => b[1] - a[1]);
    const total = list.reduce((s, [, ms]) => s + ms, 0);
    const products = list.filter(([name]) => name.startsWith('BatchMatMul')).reduce((s, [, ms]) => s + ms, 0);
    console.log(`\n${VARIANTS[k]!.label}: kernels ${total.toFixed(2)} ms per update, products ${products.toFixed(2)} ms; ${list.length} distinct kernels (the top 15):`);
    for (const [name, ms] of list.slice(0, 15)) console.log(`${ms.toFixed(3).padStart(9)}  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
  for (const r of runners) r.dispose();
  data.dispose();
  gatherCost();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
