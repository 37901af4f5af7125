'use strict';
// Stands in for dist/wasm-thread-worker.cjs in a copy of dist: says it could not start, as the
// real one does when it cannot load tfjs's worker source, and ends.
// Where the test asks, it notes each start (one line per worker).
if (process.env.HELMHOLTZ_TEST_WORKER_LOG) require('node:fs').appendFileSync(process.env.HELMHOLTZ_TEST_WORKER_LOG, 'started\n');
require('node:worker_threads').parentPort.postMessage({ cmd: 'helmholtzWorkerFailed', message: 'test' });
