'use strict';
// One thread of tfjs-backend-wasm's threaded build in Node (see src/wasm-threads.ts).
//
// tfjs ships the Emscripten worker as a string (`wasmWorkerContents`) and hands it to Worker as a
// Blob URL, which Node's worker_threads refuse. This file is the path Node can start instead: it
// runs that string as a CommonJS module would (it needs require, __filename and __dirname), from
// the same copy of tfjs-backend-wasm the main thread loaded its factory from (both resolve it
// from this dist directory).
const WORKER_MODULE = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';

let contents;
try {
  contents = require(WORKER_MODULE).wasmWorkerContents;
  if (typeof contents !== 'string') throw new Error(`${WORKER_MODULE} does not export wasmWorkerContents`);
} catch (error) {
  // A worker that throws here would be reported by Emscripten's error listener, which rethrows on
  // the main thread and ends the process. Saying why and stopping lets the main thread fall back.
  require('node:worker_threads').parentPort.postMessage({
    cmd: 'helmholtzWorkerFailed',
    message: error instanceof Error ? error.message : String(error),
  });
  return;
}

// tfjs escapes the newlines of the string before wrapping it in a Blob (its only raw newline sits
// inside a string literal); the same is needed here for the text to parse.
const source = contents.replace(/\n/g, '\\n');
require('node:vm').runInThisContext(`(function (require, __filename, __dirname) {${source}\n})`, {
  filename: require.resolve(WORKER_MODULE),
})(require, __filename, __dirname);
