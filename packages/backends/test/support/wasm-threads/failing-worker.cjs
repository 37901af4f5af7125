'use strict';
// Stands in for dist/wasm-thread-worker.cjs in a copy of dist: says it could not start, as the
// real one does when it cannot load tfjs's worker source, and ends.
// Where the test asks, it notes each start: the worker's threadId, one line per worker (a fresh
// process numbers its workers from 1, so a second pool of 8 shows as ids above 8).
if (process.env.HELMHOLTZ_TEST_WORKER_LOG) {
  require('node:fs').appendFileSync(process.env.HELMHOLTZ_TEST_WORKER_LOG, `${require('node:worker_threads').threadId}\n`);
}
require('node:worker_threads').parentPort.postMessage({ cmd: 'helmholtzWorkerFailed', message: 'test' });
