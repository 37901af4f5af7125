// One start of the wasm backend in a fresh Node process, for test/wasm-threads.test.ts: a
// process starts its wasm backend once, with the threads of that start, so each case of threads
// and fallbacks needs its own. The argument is a JSON plan:
//   entry            the file to import initBackend from (default: the built @helmholtz/backends)
//   choice, options  what initBackend is called with
//   setBackendFirst  start tfjs's wasm backend with tf.setBackend('wasm') before initBackend
//   workloadOut      run workload.mjs and write its values, float32 end to end, to this file
// It prints one JSON line and returns from its top level without calling process.exit: the test
// checks that nothing (a worker thread) keeps the process alive after that.
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

const plan = JSON.parse(process.argv[2] ?? '{}');

const listeners = () => ({
  uncaughtException: process.listenerCount('uncaughtException'),
  unhandledRejection: process.listenerCount('unhandledRejection'),
});

// Small integers: every partial sum is exact in float32, so any summation order (any split of
// the work across threads) gives exactly the product computed here in doubles.
function integers(rows, cols, salt) {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7 + salt) % 5) - 2;
  return data;
}

async function checkProduct() {
  const [m, k, n] = [128, 256, 96];
  const a = integers(m, k, 1);
  const b = integers(k, n, 3);
  const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
  const values = await product.data();
  product.dispose();
  let wrong = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[p * n + j];
      if (values[i * n + j] !== sum) wrong++;
    }
  }
  return { size: values.length, wrong };
}

const { initBackend } = await import(plan.entry ? pathToFileURL(plan.entry).href : '@helmholtz/backends');
if (plan.setBackendFirst) {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed before initBackend");
}
const beforeErrors = [];
for (const call of plan.before ?? []) {
  await initBackend(call.choice, call.options ?? {}).then(
    () => beforeErrors.push(''),
    (error) => beforeErrors.push(error.message),
  );
}
const listenersBefore = listeners();
// plan.concurrent: that many calls at once; the first one's description is the result.
const concurrent = await Promise.allSettled(
  Array.from({ length: plan.concurrent ?? 1 }, () => initBackend(plan.choice ?? 'wasm', plan.options ?? {})),
);
const concurrentErrors = concurrent.flatMap((r) => (r.status === 'rejected' ? [r.reason.message] : []));
if (concurrent[0].status === 'rejected') throw concurrent[0].reason;
const description = concurrent[0].value;
const listenersAfter = listeners();
const product = await checkProduct();
const later = [];
for (const options of plan.then ?? []) later.push(await initBackend('wasm', options));

let workload = null;
if (plan.workloadOut) {
  const { runWorkload } = await import('./workload.mjs');
  const results = await runWorkload();
  const total = results.reduce((n, r) => n + r.values.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const r of results) {
    all.set(r.values, offset);
    offset += r.values.length;
  }
  writeFileSync(plan.workloadOut, all);
  workload = results.map((r) => ({ name: r.name, length: r.values.length }));
}

console.log(
  JSON.stringify({
    description,
    backend: tf.getBackend(),
    availableParallelism: os.availableParallelism(),
    listenersBefore,
    listenersAfter,
    workerGlobal: typeof globalThis.Worker,
    product,
    numTensors: tf.memory().numTensors,
    workload,
    beforeErrors,
    later,
    concurrentErrors,
  }),
);
