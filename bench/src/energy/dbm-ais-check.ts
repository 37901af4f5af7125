/**
 * AIS on a DBM against exact enumeration, at MNIST scale: a DBM 784-H1-H2 (H1 small enough to
 * enumerate, default 20) pre-trained and trained for a few epochs on the first 10,000 binarized
 * training digits, then log Z by dbmExactLogPartition and by dbmAis with 1,000 and 14,500
 * temperatures, and the mean-field bound of 1,000 digits with the exact log Z.
 *
 *   pnpm --filter @helmholtz/bench energy-dbm-ais-check        (about a minute on 2 cores)
 *   BENCH_DBM_LAYERS=784,20,100 BENCH_DBM_EPOCHS=2 ...
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import { DBM, dbmAis, dbmExactLogPartition, dbmLogLikelihoodBound, fitDbm, pretrainDbm } from '@helmholtz/energy';
import { loadBinaryMnist } from './mnist.js';

const layers = (process.env.BENCH_DBM_LAYERS ?? '784,20,100').split(',').map(Number);
const epochs = Number(process.env.BENCH_DBM_EPOCHS ?? 2);
await initBackend('wasm');
const train = await loadBinaryMnist('train');
const n = 10000;
const x = tf.tensor2d(Float32Array.from(train.bytes.subarray(0, n * 784)), [n, 784]);
const dbm = new DBM({ layers, seed: 1 });
await pretrainDbm(dbm, x, { epochs });
await fitDbm(dbm, x, { epochs });
let t = Date.now();
const exact = await dbmExactLogPartition(dbm);
console.log(`DBM ${layers.join('-')}, ${epochs} epochs of pre-training and of training on ${n} digits (${train.protocol})`);
console.log(`exact log Z ${exact.toFixed(3)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
for (const temperatures of [1000, 14500]) {
  t = Date.now();
  const a = await dbmAis(dbm, { temperatures, runs: 100, baseRateFrom: x, rng: 3 });
  console.log(
    `AIS, ${temperatures} temperatures, 100 runs: log Z ${a.logZ.toFixed(3)} ± ${a.standardError.toFixed(3)} (ESS ${a.effectiveSampleSize.toFixed(1)}, ${((Date.now() - t) / 1000).toFixed(1)} s)`,
  );
}
const digits = tf.slice(x, [0, 0], [1000, 784]);
const bound = await dbmLogLikelihoodBound(dbm, digits, { data: { dataset: 'mnist', split: 'train (first 1,000)', binarization: 'fixed-stochastic (seed 1)' }, partition: exact });
console.log(`mean-field bound of the first 1,000 training digits with the exact log Z: ${bound.value.toFixed(2)} nats`);
tf.dispose([x, digits]);
dbm.dispose();
