// The page the browser test drives: `/?backend=webgpu|webgl|wasm` starts that backend the way
// @helmholtz/backends' README says, runs every check, shows a table and leaves the numbers in
// `window.__smoke` for test/run.mjs, which compares them with Node's.
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, type BackendDescription, type InitBackendOptions } from '@helmholtz/backends';
import { webgpu } from '@helmholtz/backends/webgpu';
import {
  Rng,
  disposeParams,
  downloadCheckpoint,
  encodePng,
  imageGrid,
  indexedDbCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '@helmholtz/core';
import { loadMnist } from '@helmholtz/datasets';
import {
  NETWORK_CONFIG,
  SEEDS,
  createNetwork,
  forwardAndGradients,
  readParams,
  sampleFromState,
  trainOneStep,
} from './network.js';

type BrowserBackend = 'webgpu' | 'webgl' | 'wasm';
const BACKENDS: readonly BrowserBackend[] = ['webgpu', 'webgl', 'wasm'];

interface CheckOutcome {
  name: string;
  ok: boolean;
  ms: number;
  /** `tf.memory().numTensors` after the check minus before: 0 unless it leaks. */
  leaked: number;
  error?: string;
  data?: unknown;
}

interface PageResult {
  backend: string;
  description: BackendDescription | null;
  checks: CheckOutcome[];
  /** Set when the page could not run its checks at all (unknown backend, backend failed to start). */
  error?: string;
  ms: number;
}

declare global {
  interface Window {
    __smoke?: PageResult;
    /** Called by the driver once it has compared the numbers with Node's, before its screenshot. */
    __showVerdict?: (verdict: string, ok: boolean) => void;
  }
}

const FIXTURES = `${import.meta.env.BASE_URL}fixtures/`;

function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function check(name: string, run: () => Promise<unknown>): Promise<CheckOutcome> {
  const before = tf.memory().numTensors;
  const start = performance.now();
  try {
    const data = await run();
    return { name, ok: true, ms: performance.now() - start, leaked: tf.memory().numTensors - before, data };
  } catch (error) {
    return { name, ok: false, ms: performance.now() - start, leaked: tf.memory().numTensors - before, error: messageOf(error) };
  }
}

function startOptions(backend: BrowserBackend): InitBackendOptions {
  // The wasm binaries are not bundled: vite.config.ts copies them from the installed package
  // to wasm/ in the build, and setWasmPaths is pointed there.
  if (backend === 'wasm') return { wasmPaths: `${import.meta.env.BASE_URL}wasm/` };
  if (backend === 'webgpu') return { preloaded: [webgpu] };
  return {};
}

async function mnistCheck() {
  // One file gzip, one plain: the loader detects gzip from the content.
  const test = await loadMnist({
    images: `${FIXTURES}mnist/t10k-images-idx3-ubyte.gz`,
    labels: `${FIXTURES}mnist/t10k-labels-idx1-ubyte`,
    split: 'test',
  });
  const { x, y } = await test.toTensors();
  const grid = tf.tidy(() => imageGrid(tf.reshape(x, [test.size, 28, 28, 1]) as tf.Tensor4D, { columns: 25 }));
  try {
    const pixels = Array.from(await x.data());
    const labels = Array.from(await y!.data());
    // The digits as the page sees them, for the screenshot (encodePng returns a plain ArrayBuffer's view).
    const png = (await encodePng(grid)) as Uint8Array<ArrayBuffer>;
    document.querySelector<HTMLImageElement>('#digits')!.src = URL.createObjectURL(new Blob([png], { type: 'image/png' }));
    return { size: test.size, featureShape: [...test.featureShape], pixels, labels };
  } finally {
    tf.dispose([x, y!, grid]);
  }
}

async function httpCheckpointCheck() {
  // A fresh model with other values, so a load that assigned nothing could not pass.
  const network = createNetwork('page/http', new Rng(SEEDS.fresh));
  try {
    const restored = await loadCheckpoint(tf.io.http(`${FIXTURES}checkpoint/model.json`), { params: network, config: NETWORK_CONFIG });
    return { params: await readParams(network), sample: await sampleFromState(network, restored.state), metadata: restored.metadata };
  } finally {
    disposeParams(network);
  }
}

async function trainCheck(backend: BrowserBackend) {
  const { network, optimizer, loss, steps } = await trainOneStep(`page/train`);
  try {
    const params = await readParams(network);
    // Saved to the downloads folder: the driver catches both files and loads them in Node.
    await saveCheckpoint(downloadCheckpoint(`smoke-${backend}`), {
      params: network,
      config: NETWORK_CONFIG,
      optimizers: { sgd: optimizer },
      metadata: { epoch: 1, step: steps },
    });
    return { loss, steps, params };
  } finally {
    optimizer.dispose();
    disposeParams(network);
  }
}

async function indexedDbCheck(backend: BrowserBackend) {
  const name = `helmholtz-smoke-${backend}`;
  const saved = createNetwork('page/idb-saved', new Rng(SEEDS.checkpoint));
  const loaded = createNetwork('page/idb-loaded', new Rng(SEEDS.fresh));
  try {
    await saveCheckpoint(indexedDbCheckpoint(name), { params: saved, config: NETWORK_CONFIG, metadata: { epoch: 3, step: 30 } });
    const listed = Object.keys(await tf.io.listModels());
    const restored = await loadCheckpoint(indexedDbCheckpoint(name), { params: loaded, config: NETWORK_CONFIG });
    await tf.io.removeModel(`indexeddb://${name}`);
    return { listed, saved: await readParams(saved), loaded: await readParams(loaded), metadata: restored.metadata };
  } finally {
    disposeParams(saved);
    disposeParams(loaded);
  }
}

function render(result: PageResult): void {
  const rows = result.checks.map((c) => {
    const row = document.createElement('tr');
    row.className = c.ok ? 'ok' : 'fail';
    for (const text of [c.name, c.ok ? 'ran' : (c.error ?? 'failed'), `${c.ms.toFixed(0)} ms`]) {
      row.appendChild(document.createElement('td')).textContent = text;
    }
    return row;
  });
  document.querySelector('#checks')!.replaceChildren(...rows);
  const adapter = result.description?.adapter;
  const where = adapter ? ` (${adapter.vendor} ${adapter.architecture})` : '';
  document.querySelector('#status')!.textContent = result.error
    ? `${result.backend}: ${result.error}`
    : `${result.description?.tfBackend}${where}: the page's checks ran in ${result.ms.toFixed(0)} ms`;
}

async function main(): Promise<PageResult> {
  const start = performance.now();
  const asked = new URLSearchParams(location.search).get('backend') ?? '';
  const backend = BACKENDS.find((b) => b === asked);
  if (!backend) return { backend: asked, description: null, checks: [], error: `unknown backend '${asked}': use ?backend=${BACKENDS.join('|')}`, ms: 0 };
  try {
    await initBackend(backend, startOptions(backend));
  } catch (error) {
    return { backend, description: null, checks: [], error: messageOf(error), ms: performance.now() - start };
  }
  const checks = [
    await check('network', () => forwardAndGradients('page/network')),
    await check('mnist', mnistCheck),
    await check('http checkpoint', httpCheckpointCheck),
    await check('train + download', () => trainCheck(backend)),
    await check('indexeddb', () => indexedDbCheck(backend)),
  ];
  return { backend, description: describeBackend(), checks, ms: performance.now() - start };
}

window.__showVerdict = (verdict, ok) => {
  const element = document.querySelector<HTMLElement>('#verdict')!;
  element.textContent = verdict;
  element.className = ok ? 'ok' : 'fail';
};

main()
  .catch((error): PageResult => ({ backend: 'unknown', description: null, checks: [], error: messageOf(error), ms: 0 }))
  .then((result) => {
    render(result);
    window.__smoke = result;
  });
