import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, conv2d, createVariable, dense, tiedDense } from '@helmholtz/core';
import { maxRelativeError, withNoLeaks } from '@helmholtz/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { describeBackend, initBackend, type ConcreteBackend } from '../src/index.js';

// CI has Debian chromium's SwiftShader ICD (scripts/setup installs it); vitest.config.ts sets
// VK_ICD_FILENAMES and the loader path for the workers. Setting the ICD here as well keeps the
// test right when run by another runner: the Vulkan loader reads it when Dawn starts.
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD;

const TOLERANCE = 1e-4;
// Relative error with values below this magnitude compared absolutely (|a - b| / FLOOR).
const FLOOR = 1e-3;

interface Spec {
  name: string;
  shape: number[];
  data: Float32Array;
}

function gaussian(rng: Rng, name: string, shape: number[], scale: number): Spec {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal() * scale;
  return { name, shape, data };
}

// A tiny network built from core's layers, whose pieces cover matMul (plain and transposed, the
// wasm fast path and its custom gradient), bias broadcasting, tanh, sigmoid, conv2d ('same'
// padding, and its filter gradient, which core computes itself where a backend lacks the
// Conv2DBackpropFilter kernel, as tfjs-backend-wasm 4.22 does) and reductions.
const rng = new Rng(20261122);
const inputs = {
  x: gaussian(rng, 'x', [5, 8], 1),
  target: gaussian(rng, 'target', [5, 4], 0.5),
};
// Every parameter is differentiated, the conv input image included.
const params: Spec[] = [
  gaussian(rng, 'W1', [8, 16], 1 / Math.sqrt(8)),
  gaussian(rng, 'b1', [16], 0.1),
  gaussian(rng, 'W2t', [4, 16], 1 / Math.sqrt(16)), // a tied layer's kernel: used transposed
  gaussian(rng, 'b2', [4], 0.1),
  gaussian(rng, 'K', [3, 3, 2, 3], 1 / Math.sqrt(18)),
  gaussian(rng, 'cb', [3], 0.1),
  gaussian(rng, 'image', [2, 6, 6, 2], 1),
];

function forward(x: tf.Tensor2D, v: tf.Variable[]): { y: tf.Tensor2D; features: tf.Tensor4D } {
  const [W1, b1, W2t, b2, K, cb, image] = v as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  return tf.tidy(() => {
    const h = dense(x, { kernel: W1, bias: b1 }, 'tanh');
    const y = tiedDense(h, { kernel: W2t }, b2, 'sigmoid');
    const features = conv2d(image as tf.Tensor as tf.Tensor4D, { kernel: K, bias: cb }, { padding: 'same', activation: 'tanh' });
    return { y, features };
  });
}

interface Outcome {
  outputs: Float32Array[];
  gradients: Float32Array[];
}

// wasm runs its threaded build here even on a one-core machine, where the default would be one
// thread; the single-threaded build is compared with cpu in wasm-threads.test.ts, in a process
// of its own (a process starts its wasm backend once).
const WASM_THREADS = 2;

async function runOn(backend: ConcreteBackend): Promise<Outcome> {
  await initBackend(backend, { allowSoftwareAdapter: true, ...(backend === 'wasm' ? { threads: WASM_THREADS } : {}) });
  return withNoLeaks(async () => {
    // Tensors are created after the switch so each lives on the backend under test.
    const x = tf.tensor2d(inputs.x.data, inputs.x.shape as [number, number]);
    const target = tf.tensor2d(inputs.target.data, inputs.target.shape as [number, number]);
    const v = params.map((s) => createVariable(tf.tensor(s.data, s.shape), `parity/${s.name}`));
    const { y, features } = forward(x, v);
    const loss = (): tf.Scalar => {
      const out = forward(x, v);
      return tf.tidy(() => {
        const fit = tf.mean(tf.square(tf.sub(out.y, target)));
        const energy = tf.mean(tf.square(out.features));
        tf.dispose([out.y, out.features]);
        return tf.add(fit, energy) as tf.Scalar;
      });
    };
    const { value, grads } = tf.variableGrads(loss, v);
    const ordered = v.map((variable) => grads[variable.name]!);
    const outputs = [await y.data(), await features.data()] as Float32Array[];
    const gradients = (await Promise.all(ordered.map((g) => g.data()))) as Float32Array[];
    tf.dispose([x, target, y, features, value, ...ordered, ...v]);
    return { outputs, gradients };
  }, `parity on ${backend}`);
}

describe('cross-backend parity of a small network (forward and gradients)', () => {
  const results = new Map<ConcreteBackend, Outcome>();
  const errors: Record<string, number> = {};

  afterAll(() => {
    console.log('parity max relative errors vs cpu:', JSON.stringify(errors));
  });

  it('cpu reference runs', async () => {
    results.set('cpu', await runOn('cpu'));
    expect(describeBackend()?.name).toBe('cpu');
    const grads = results.get('cpu')!.gradients;
    expect(grads.map((g) => g.length)).toEqual(params.map((s) => s.data.length));
    // A zero gradient would make every comparison trivially pass.
    for (const g of grads) expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it.each(['wasm', 'node-webgpu'] as const)(
    '%s agrees with cpu to 1e-4 relative error',
    async (backend) => {
      // node-webgpu must not be skipped where no adapter exists: initBackend rejects, and so does this test.
      const outcome = await runOn(backend);
      const description = describeBackend();
      expect(description?.name).toBe(backend);
      if (backend === 'wasm') {
        expect(description?.threads).toMatchObject({ count: WASM_THREADS, requested: WASM_THREADS, fallback: null });
      }
      if (backend === 'node-webgpu') {
        expect(tf.getBackend()).toBe('webgpu');
        expect(description?.adapter).not.toBeNull();
        console.log('node-webgpu adapter:', JSON.stringify(description?.adapter));
      }
      const reference = results.get('cpu');
      expect(reference).toBeDefined();
      const names = ['y', 'conv', ...params.map((s) => `d${s.name}`)];
      const mine = [...outcome.outputs, ...outcome.gradients];
      const theirs = [...reference!.outputs, ...reference!.gradients];
      let worst = 0;
      mine.forEach((values, i) => {
        const err = maxRelativeError(values, theirs[i]!, FLOOR);
        errors[`${backend}:${names[i]}`] = err;
        worst = Math.max(worst, err);
      });
      errors[`${backend}:max`] = worst;
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    },
    120_000,
  );
});
