/**
 * Embedding lookups on wasm, batch 256, 128 dims, 100 / 1,000 / 10,000 ids: core's `embedding`
 * (src/layers/embedding.ts: a gather forward; on wasm, which lacks UnsortedSegmentSum, the
 * gradient is the one-hot product onehot(ids)ᵀ·dy) against its peers in the same process:
 * - one-hot: the lookup written as a product, onehot(ids)·table, forward and gradient through
 *   core's matMul (the usual way round a missing scatter);
 * - tf.gather: tfjs's gather with its own gradient, which needs UnsortedSegmentSum.
 * A peer that throws prints "fails" and the first line of its error.
 *
 * Rows: forward alone, and forward + gradient w.r.t. the table (loss Σ lookup ⊙ r, r fixed).
 * Interleaved rounds, the order reversed every other round, each sample the mean of REPS steps;
 * median ms per step, and each peer's median over core's (>1: core is faster). Before timing,
 * every peer's result is compared with core's.
 *
 *   cd packages/core && npx tsx bench/embedding.bench.ts          (after pnpm build)
 *
 * Options: BENCH_ROUNDS (default 15), BENCH_REPS (steps per sample, default 5), BENCH_BACKEND
 * (default wasm; cpu has UnsortedSegmentSum, so there core's gradient is tfjs's own).
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// The build registers tfjs's gradient functions (Node cannot load tfjs-core's registration file
// from source: see src/gradients.ts), as the test setup does. The code measured is taken from
// src, so the bench measures the working tree.
import '../dist/index.js';
import { matMul } from '../src/fast/matmul.js';
import { embedding } from '../src/layers/embedding.js';
import { Rng } from '../src/random/rng.js';
import { firstLine, median, relativeDifference } from './support/measure.js';

const BACKEND = process.env.BENCH_BACKEND ?? 'wasm';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const BATCH = 256;
const DIMS = 128;
const COUNTS = [100, 1_000, 10_000];

type Lookup = (table: tf.Variable, ids: tf.Tensor1D) => tf.Tensor2D;

const impls: Array<[string, Lookup]> = [
  ['core', (table, ids) => embedding(ids, { table })],
  // tf.oneHot is int32; cast rather than ask for float32, which wasm 4.22 fills with int32 bits.
  ['one-hot', (table, ids) => matMul(tf.cast(tf.oneHot(ids, table.shape[0]!), 'float32') as tf.Tensor2D, table as tf.Tensor2D)],
  ['tf.gather', (table, ids) => tf.gather(table, ids) as tf.Tensor2D],
];

interface Case {
  table: tf.Variable;
  ids: tf.Tensor1D;
  upstream: tf.Tensor2D;
}

const steps: Array<{ name: string; run: (lookup: Lookup, c: Case) => tf.Tensor[] }> = [
  { name: 'forward', run: (lookup, c) => [lookup(c.table, c.ids)] },
  {
    name: 'forward + gradient',
    run: (lookup, c) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(lookup(c.table, c.ids), c.upstream)), [c.table]);
      return [value, grads[c.table.name]!];
    },
  },
];

/** REPS steps, each read back to the host; returns the last step's values. */
function runSteps(run: () => tf.Tensor[], reps: number): Float32Array[] {
  let values: Float32Array[] = [];
  for (let i = 0; i < reps; i++) {
    const outs = tf.tidy(run);
    values = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
  }
  return values;
}

async function main(): Promise<void> {
  if (!(await tf.setBackend(BACKEND))) throw new Error(`tf.setBackend('${BACKEND}') failed`);
  await tf.ready();
  const cpu = cpus();
  console.log(`backend ${BACKEND}, batch ${BATCH}, dims ${DIMS}, ${ROUNDS} interleaved rounds of ${REPS} steps, median ms per step`);
  console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} logical cores, Node ${process.version}`);
  console.log(`UnsortedSegmentSum on ${BACKEND}: ${tf.getKernel('UnsortedSegmentSum', BACKEND) ? 'yes' : 'no'}\n`);
  const peers = impls.slice(1);
  const header = ['ids    step'.padEnd(28), ...impls.map(([n]) => n.padStart(11)), ...peers.map(([n]) => `${n}/core`.padStart(16))];
  console.log(header.join(''));
  const notes: string[] = [];
  const rng = new Rng(7);
  for (const count of COUNTS) {
    const c: Case = {
      table: tf.variable(rng.normalTensor([count, DIMS]), true, `bench/embedding${count}/table`),
      ids: rng.uniform([BATCH], 0, count, 'int32'),
      upstream: rng.normalTensor([BATCH, DIMS]),
    };
    for (const step of steps) {
      const reference = runSteps(() => step.run(impls[0]![1], c), 1);
      const timed: Array<[string, Lookup]> = [impls[0]!];
      for (const [name, lookup] of peers) {
        try {
          const diff = relativeDifference(runSteps(() => step.run(lookup, c), 1), reference);
          if (diff > 1e-5) notes.push(`${count} ids, ${step.name}: ${name} differs from core by ${diff.toExponential(1)} (relative)`);
          timed.push([name, lookup]);
        } catch (e) {
          notes.push(`${count} ids, ${step.name}: ${name} fails: ${firstLine(e)}`);
        }
      }
      const times = new Map<string, number[]>(timed.map(([n]) => [n, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, lookup] of r % 2 === 0 ? timed : [...timed].reverse()) {
          const start = performance.now();
          runSteps(() => step.run(lookup, c), REPS);
          times.get(name)!.push((performance.now() - start) / REPS);
        }
      }
      const med = new Map([...times].map(([n, t]) => [n, median(t)]));
      const coreMs = med.get('core')!;
      const cells = impls.map(([n]) => (med.has(n) ? med.get(n)!.toFixed(2) : 'fails').padStart(11));
      const ratios = peers.map(([n]) => (med.has(n) ? `${(med.get(n)! / coreMs).toFixed(2)}x` : 'fails').padStart(16));
      console.log(`${count.toLocaleString('en-US').padStart(6)} ${step.name}`.padEnd(28) + cells.join('') + ratios.join(''));
    }
    tf.dispose([c.table, c.ids, c.upstream]);
  }
  console.log('\npeer/core = peer median / core median, same inputs, same process; >1 means core is faster.');
  console.log('Every peer that ran matched core\'s values to 1e-5 unless noted.');
  for (const n of notes) console.log(`- ${n}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
