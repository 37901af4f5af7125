/**
 * One Bernoulli draw of a Gibbs step, for a batch of 256 chains over 500 hidden and 784
 * visible units: `Rng.bernoulli` (tfjs generates the uniforms in JavaScript, then uploads them)
 * against the device generator (`createDeviceRandom`, elementwise ops on the device, no upload),
 * on webgpu (Dawn in Node), wasm and cpu. Interleaved rounds, median ms per draw.
 *
 * Before timing on webgpu it checks that the device generator gives the same bits there as on
 * cpu, and that its reduction a·x mod m is exact there for every state of every component.
 *
 *   cd packages/core && npx tsx bench/device-random.bench.ts
 *
 * Without a GPU, Dawn runs on SwiftShader (Vulkan on the CPU, from Debian's chromium), picked
 * below when VK_ICD_FILENAMES is unset; with one, set VK_ICD_FILENAMES to its driver's ICD file
 * (e.g. /usr/share/vulkan/icd.d/nvidia_icd.json). The adapter is printed first. Options:
 * BENCH_ROUNDS (default 9), BENCH_DRAWS (draws per timed batch, default 10), BENCH_BACKENDS
 * (default webgpu,wasm,cpu).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createDeviceRandom, DEVICE_RANDOM_COMPONENTS } from '../src/random/device-random.js';
import { Rng } from '../src/random/rng.js';
import { median } from './support/measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const DRAWS = Number(process.env.BENCH_DRAWS ?? 10);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'webgpu,wasm,cpu').split(',');
// The two Gibbs shapes, and a tiny one where the fixed cost of each op dominates.
const SHAPES: [number, number][] = [
  [256, 500],
  [256, 784],
  [16, 16],
];

// The Vulkan loader reads this when Dawn creates its instance, so setting it here is in time.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

/**
 * Dawn's WebGPU for Node, installed as packages/backends does it: its globals (GPUBufferUsage
 * and friends) and navigator.gpu must exist before tfjs-backend-webgpu is imported, which
 * registers its backend only if navigator.gpu is there. Core does not depend on either package;
 * they are resolved from packages/backends, which does.
 */
async function initWebgpu(): Promise<string> {
  const fromBackends = createRequire(new URL('../../backends/package.json', import.meta.url));
  const dawn = (await import(pathToFileURL(fromBackends.resolve('webgpu')).href)) as {
    create(options: string[]): { requestAdapter(): Promise<{ info?: Record<string, string> } | null> };
    globals: object;
  };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error(`Dawn found no adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`);
  await import(pathToFileURL(fromBackends.resolve('@tensorflow/tfjs-backend-webgpu')).href);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  await tf.ready();
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
}

// DRAWS draws, each consumed by a sum as a Gibbs step would consume it, then one 4-byte read
// back: on webgpu the queue runs in order, so the read waits for every draw of the batch.
async function timeDraws(draw: () => tf.Tensor): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor | undefined;
  for (let i = 0; i < DRAWS; i++) {
    const sample = draw();
    last?.dispose();
    last = tf.sum(sample);
    sample.dispose();
  }
  await last!.data();
  last!.dispose();
  return (performance.now() - start) / DRAWS;
}

async function bitsOn(backend: string, shape: number[], steps: number): Promise<{ draws: Float32Array[]; state: Float32Array }> {
  await tf.setBackend(backend);
  const gen = createDeviceRandom(shape, new Rng(5));
  const probs = tf.fill(shape, 0.37);
  const draws: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    const u = gen.uniform();
    draws.push((await u.data()) as Float32Array);
    u.dispose();
  }
  const b = gen.bernoulli(probs);
  draws.push((await b.data()) as Float32Array);
  const state = (await gen.state.streams.data()) as Float32Array;
  tf.dispose([b, probs]);
  gen.dispose();
  return { draws, state };
}

function sameBits(a: Float32Array, b: Float32Array): number {
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  return differ;
}

async function checkWebgpu(): Promise<void> {
  const shape = [256, 784];
  const gpu = await bitsOn('webgpu', shape, 5);
  const cpu = await bitsOn('cpu', shape, 5);
  const differ = gpu.draws.map((d, i) => sameBits(d, cpu.draws[i]!));
  console.log(
    `parity webgpu vs cpu, [${shape}], 5 uniform draws then 1 bernoulli: ${differ.join('/')} values differ; ` +
      `state after: ${sameBits(gpu.state, cpu.state)} of ${gpu.state.length} differ`,
  );
  // Every state of every component, exhaustively: the quotient the generator computes from a
  // rounded product, and the one tf.mod (a division on GPUs) would give.
  await tf.setBackend('webgpu');
  const xs: number[] = [];
  const as: number[] = [];
  const ms: number[] = [];
  for (const { multiplier, modulus } of DEVICE_RANDOM_COMPONENTS) {
    for (let x = 1; x < modulus; x++) {
      xs.push(x);
      as.push(multiplier);
      ms.push(modulus);
    }
  }
  const [viaProduct, viaMod] = tf.tidy(() => {
    const p = tf.mul(tf.tensor1d(xs), tf.tensor1d(as));
    const m = tf.tensor1d(ms);
    return [tf.sub(p, tf.mul(tf.floor(tf.mul(p, tf.tensor1d(ms.map((v) => Math.fround(1 / v))))), m)), tf.mod(p, m)];
  });
  const [gotProduct, gotMod] = [(await viaProduct!.data()) as Float32Array, (await viaMod!.data()) as Float32Array];
  tf.dispose([viaProduct!, viaMod!]);
  let wrongProduct = 0;
  let wrongMod = 0;
  for (let i = 0; i < xs.length; i++) {
    const want = (as[i]! * xs[i]!) % ms[i]!;
    if (gotProduct[i] !== want) wrongProduct++;
    if (gotMod[i] !== want) wrongMod++;
  }
  console.log(
    `a·x mod m on webgpu, all ${xs.length} states: wrong ${wrongProduct} times through floor(p·fl(1/m)) ` +
      `(the generator's way), ${wrongMod} times through tf.mod\n`,
  );
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const backend of BACKENDS) {
    let device = backend;
    try {
      if (backend === 'webgpu') {
        device = `webgpu (${await initWebgpu()})`;
        console.log(`webgpu adapter: ${device}`);
        await checkWebgpu();
        await tf.setBackend('webgpu');
      } else {
        if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend("${backend}") failed`);
        await tf.ready();
      }
    } catch (error) {
      console.log(`${backend}: skipped, ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    for (const shape of SHAPES) {
      const rng = new Rng(1);
      const probs = tf.tidy(() => tf.mul(rng.uniform(shape), 0.9));
      const gen = createDeviceRandom(shape, rng.split());
      const viaRng = () => rng.bernoulli(probs);
      const onDevice = () => gen.bernoulli(probs);
      // Warm-up compiles the shaders and fills the buffer pools.
      await timeDraws(viaRng);
      await timeDraws(onDevice);
      const tRng: number[] = [];
      const tDevice: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        tRng.push(await timeDraws(viaRng));
        tDevice.push(await timeDraws(onDevice));
      }
      const [mr, md] = [median(tRng), median(tDevice)];
      rows.push(
        `| ${backend} | [${shape.join(', ')}] | ${mr.toFixed(2)} | ${md.toFixed(2)} | ${(mr / md).toFixed(2)}x |`,
      );
      console.log(rows[rows.length - 1]);
      tf.dispose(probs);
      gen.dispose();
    }
  }
  console.log(`\n${ROUNDS} interleaved rounds of ${DRAWS} draws each, median ms per draw (a draw, a sum over it, one 4-byte read per batch)\n`);
  console.log('| backend | shape | rng.bernoulli (JS + upload) | device generator | speed-up |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}

await main();
// Dawn keeps the process alive otherwise.
process.exit(0);
