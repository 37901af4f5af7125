/**
 * A child process for the kill and concurrency tests: saves a checkpoint of a few MB to a
 * directory over and over, every value of save k equal to k, and prints `saved k` after each
 * save completes. Arguments: directory, first k, number of saves (0: until killed).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { saveCheckpoint } from '../../../src/checkpoint/index.js';
import { directoryCheckpoint } from '../../../src/checkpoint/node/index.js';
import { KILL_TEST_SHAPES } from './kill-test-shapes.js';

const [dir, first, count] = process.argv.slice(2);
await tf.setBackend('cpu');
const params = Object.fromEntries(KILL_TEST_SHAPES.map(([name, shape]) => [name, tf.variable(tf.zeros(shape), false, name)]));
const handler = directoryCheckpoint(dir!, { shardBytes: 1 << 20 });
const start = Number(first);
const end = Number(count) === 0 ? Infinity : start + Number(count);
process.stdout.write('ready\n');
for (let k = start; k < end; k++) {
  for (const v of Object.values(params)) v.assign(tf.fill(v.shape, k));
  await saveCheckpoint(handler, { params, config: { kind: 'kill-test' }, metadata: { step: k } });
  process.stdout.write(`saved ${k}\n`);
}
