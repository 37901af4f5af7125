// The entry that test/run.mjs bundles with esbuild and with webpack: WebGPU the way
// @helmholtz/backends' README tells a browser app to start it, then one dense layer of core.
// What it computed goes to `window.__bundled` for the driver and to the page for a person.
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '@helmholtz/backends';
import { webgpu } from '@helmholtz/backends/webgpu';
import { denseForward } from './dense.js';

async function main() {
  await initBackend('webgpu', { preloaded: [webgpu] });
  const before = tf.memory().numTensors;
  const output = await denseForward('bundled');
  const { name, tfBackend, adapter } = describeBackend();
  return { name, tfBackend, adapter, output, leaked: tf.memory().numTensors - before };
}

main()
  .catch((error) => ({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }))
  .then((result) => {
    document.querySelector('#result').textContent = JSON.stringify(result, null, 2);
    window.__bundled = result;
  });
