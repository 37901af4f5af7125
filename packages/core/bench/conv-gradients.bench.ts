/**
 * Convolution gradients on a DCGAN-like 32x32 network: a critic of three 4x4 stride-2 'same'
 * convolutions (3 → 64 → 128 → 256 channels) and a generator of three 4x4 stride-2
 * conv2dTransposes (256 → 128 → 64 → 3), timed per step with core's fast path
 * (`conv2dOp`/`conv2dTransposeOp`, src/fast/conv.ts) against its peers on the same backend:
 * - tfjs: `tf.conv2d`/`tf.conv2dTranspose` with tfjs's own kernels and gradients;
 * - previous (wasm only): core's convolutions as of commit 83fe1ab, reproduced below: a
 *   slice-and-matMul filter gradient and tfjs's transposed convolution. On cpu that version
 *   used tfjs's kernels, so there the tfjs column is also the previous one.
 * Steps: forward; forward + gradients w.r.t. the three kernels; and for the critic a WGAN-GP
 * penalty step (Gulrajani et al. 2017, eq. 3), gradients of the penalty w.r.t. the kernels,
 * which is second order. A peer that throws prints "fails" and the first line of its error.
 *
 * Interleaved rounds, the order reversed every other round; median ms per step, and each
 * peer's median over core's (>1: core is faster). Before timing, every peer's result is compared
 * with core's (largest difference relative to the largest magnitude of core's, over all outputs).
 *
 *   cd packages/core && npx tsx bench/conv-gradients.bench.ts wasm 64     (after pnpm build)
 *   cd packages/core && npx tsx bench/conv-gradients.bench.ts cpu 2
 *
 * Arguments: backend (wasm | cpu, default wasm; or BENCH_BACKEND), batch (default 64 on wasm,
 * 2 on cpu; or BENCH_BATCH). BENCH_ROUNDS sets the rounds (default 9 on wasm, 7 on cpu).
 */
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// The build registers tfjs's gradient functions (Node cannot load tfjs-core's registration file
// from source: see src/gradients.ts), as the test setup does. The code measured is taken from
// src, so the bench measures the working tree.
import '../dist/index.js';
import { conv2dOp, conv2dTransposeOp, convGradientKernels, samePadding, type Padding } from '../src/fast/conv.js';
import { matMul } from '../src/fast/matmul.js';
import { Rng } from '../src/random/rng.js';
import { firstLine, median, relativeDifference } from './support/measure.js';

const BACKEND = process.argv[2] ?? process.env.BENCH_BACKEND ?? 'wasm';
// tfjs's cpu Conv2DBackpropFilter takes seconds per example: batch 2 keeps the cpu run near 4 min.
const BATCH = Number(process.argv[3] ?? process.env.BENCH_BATCH ?? (BACKEND === 'cpu' ? 2 : 64));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (BACKEND === 'cpu' ? 7 : 9));
const LEAK = 0.2;

type Shape4 = [number, number, number, number];
type Strides = [number, number];

interface ConvImpl {
  conv(x: tf.Tensor4D, w: tf.Tensor4D, strides: Strides, padding: Padding): tf.Tensor4D;
  convT(x: tf.Tensor4D, w: tf.Tensor4D, out: Shape4, strides: Strides, padding: Padding): tf.Tensor4D;
}

const core: ConvImpl = { conv: conv2dOp, convT: conv2dTransposeOp };

const tfjs: ConvImpl = {
  conv: (x, w, strides, padding) => tf.conv2d(x, w, strides, padding),
  convT: (x, w, out, strides, padding) => tf.conv2dTranspose(x, w, out, strides, padding),
};

// ---- core's convolutions at commit 83fe1ab, for backends without Conv2DBackpropFilter ----

function padForSame(x: tf.Tensor4D, kh: number, kw: number, strides: Strides): tf.Tensor4D {
  const [top, bottom] = samePadding(x.shape[1], kh, strides[0]);
  const [left, right] = samePadding(x.shape[2], kw, strides[1]);
  return tf.pad(x, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/** ∂<conv(x, W), dy>/∂W as kh·kw products: the window of x each tap saw, times dy. */
function sliceFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, wShape: Shape4, strides: Strides, padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, outC] = wShape;
    const xp = padding === 'same' ? padForSame(x, kh, kw, strides) : x;
    const [batch, oh, ow] = dy.shape;
    const [sh, sw] = strides;
    const dy2d = tf.reshape(dy, [batch * oh * ow, outC]) as tf.Tensor2D;
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = tf.stridedSlice(xp, [0, i, j, 0], [batch, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, inC], [1, sh, sw, 1]);
        taps.push(matMul(tf.reshape(window, [batch * oh * ow, inC]) as tf.Tensor2D, dy2d, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), wShape) as tf.Tensor4D;
  });
}

const previous: ConvImpl = {
  conv(x, w, strides, padding) {
    return tf.tidy(() => {
      const input = padding === 'same' ? padForSame(x, w.shape[0], w.shape[1], strides) : x;
      const op = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
        const [xi, wi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
        save([xi, wi]);
        return {
          value: tf.conv2d(xi, wi, strides, 'valid'),
          gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
            const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
            return [tf.conv2dTranspose(dy, sw, sx.shape, strides, 'valid'), sliceFilterGradient(sx, dy, sw.shape, strides, 'valid')];
          },
        };
      });
      return op(input, w);
    });
  },
  convT(x, w, out, strides, padding) {
    const op = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xi, wi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
      save([xi, wi]);
      return {
        value: tf.conv2dTranspose(xi, wi, out, strides, padding),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
          // y = convᵀ(x, W): the roles of input and output swap.
          return [previous.conv(dy, sw, strides, padding), sliceFilterGradient(dy, sx, sw.shape, strides, padding)];
        },
      };
    });
    return op(x, w);
  },
};

// ---- the networks ----

/**
 * leakyRelu as αx + (1 − α)·relu(x): tf.leakyRelu's gradient uses tf.greater, which has no
 * gradient in tfjs 4.22, so the penalty step would fail through it whatever the convolution.
 */
function leaky(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, LEAK), tf.mul(tf.relu(x), 1 - LEAK));
}

interface Networks {
  critic: { k1: tf.Variable<tf.Rank.R4>; k2: tf.Variable<tf.Rank.R4>; k3: tf.Variable<tf.Rank.R4> };
  generator: { k1: tf.Variable<tf.Rank.R4>; k2: tf.Variable<tf.Rank.R4>; k3: tf.Variable<tf.Rank.R4> };
  /** The critic's last layer, a fixed linear read-out of its [4, 4, 256] features. */
  readout: tf.Tensor4D;
  images: tf.Tensor4D;
  latents: tf.Tensor4D;
  /** Stands in for ∂loss/∂G(z) in a generator step. */
  imageWeights: tf.Tensor4D;
}

/** DCGAN-style N(0, 0.02²) kernels (Radford et al. 2016, sec. 4), made on the active backend. */
function buildNetworks(batch: number): Networks {
  const rng = new Rng(2017);
  const param = (name: string, shape: Shape4) =>
    tf.variable(rng.normalTensor(shape, 0, 0.02), true, `bench/${name}`) as tf.Variable<tf.Rank.R4>;
  return {
    critic: { k1: param('critic/k1', [4, 4, 3, 64]), k2: param('critic/k2', [4, 4, 64, 128]), k3: param('critic/k3', [4, 4, 128, 256]) },
    generator: { k1: param('gen/k1', [4, 4, 128, 256]), k2: param('gen/k2', [4, 4, 64, 128]), k3: param('gen/k3', [4, 4, 3, 64]) },
    readout: rng.normalTensor([1, 4, 4, 256], 0, 0.02),
    images: rng.normalTensor([batch, 32, 32, 3]),
    latents: rng.normalTensor([batch, 4, 4, 256]),
    imageWeights: rng.normalTensor([batch, 32, 32, 3]),
  };
}

/** D(x): [batch, 32, 32, 3] → [batch]. */
function criticForward(ops: ConvImpl, net: Networks, x: tf.Tensor4D): tf.Tensor1D {
  const { k1, k2, k3 } = net.critic;
  let h = leaky(ops.conv(x, k1, [2, 2], 'same')) as tf.Tensor4D; // [b, 16, 16, 64]
  h = leaky(ops.conv(h, k2, [2, 2], 'same')) as tf.Tensor4D; // [b, 8, 8, 128]
  h = leaky(ops.conv(h, k3, [2, 2], 'same')) as tf.Tensor4D; // [b, 4, 4, 256]
  return tf.sum(tf.mul(h, net.readout), [1, 2, 3]) as tf.Tensor1D;
}

/** G(z): [batch, 4, 4, 256] → [batch, 32, 32, 3]. */
function generatorForward(ops: ConvImpl, net: Networks, z: tf.Tensor4D): tf.Tensor4D {
  const { k1, k2, k3 } = net.generator;
  const b = z.shape[0];
  let h = tf.relu(ops.convT(z, k1, [b, 8, 8, 128], [2, 2], 'same')) as tf.Tensor4D;
  h = tf.relu(ops.convT(h, k2, [b, 16, 16, 64], [2, 2], 'same')) as tf.Tensor4D;
  return ops.convT(h, k3, [b, 32, 32, 3], [2, 2], 'same');
}

/** mean over the batch of (‖∂ΣD/∂x̂‖₂ − 1)² (WGAN-GP, without λ). */
function gradientPenalty(ops: ConvImpl, net: Networks, xHat: tf.Tensor4D): tf.Scalar {
  const g = tf.grad((x: tf.Tensor) => tf.sum(criticForward(ops, net, x as tf.Tensor4D)))(xHat);
  const norms = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3]));
  return tf.mean(tf.square(tf.sub(norms, 1)));
}

function kernelGradients(loss: () => tf.Scalar, vars: tf.Variable[]): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(loss, vars);
  return [value, ...vars.map((v) => grads[v.name]!)];
}

type Step = (ops: ConvImpl, net: Networks) => tf.Tensor[];

const steps: Array<{ name: string; run: Step }> = [
  { name: 'critic forward', run: (ops, net) => [criticForward(ops, net, net.images)] },
  {
    name: 'critic step (∂/∂ 3 kernels)',
    run: (ops, net) => kernelGradients(() => tf.mean(criticForward(ops, net, net.images)), Object.values(net.critic)),
  },
  {
    name: 'critic WGAN-GP penalty step (2nd order)',
    run: (ops, net) => kernelGradients(() => gradientPenalty(ops, net, net.images), Object.values(net.critic)),
  },
  { name: 'generator forward', run: (ops, net) => [generatorForward(ops, net, net.latents)] },
  {
    name: 'generator step (∂/∂ 3 kernels)',
    run: (ops, net) =>
      kernelGradients(() => tf.mean(tf.mul(generatorForward(ops, net, net.latents), net.imageWeights)), Object.values(net.generator)),
  },
];

// ---- timing ----

/** One step, read back to the host; the outputs are disposed. */
function runOnce(step: Step, ops: ConvImpl, net: Networks): Float32Array[] {
  const outs = tf.tidy(() => step(ops, net));
  const values = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return values;
}

async function main(): Promise<void> {
  if (BACKEND !== 'wasm' && BACKEND !== 'cpu') throw new Error(`backend must be wasm or cpu, got ${BACKEND}`);
  if (!(await tf.setBackend(BACKEND))) throw new Error(`tf.setBackend('${BACKEND}') failed`);
  await tf.ready();
  const peers: Array<[string, ConvImpl]> = BACKEND === 'wasm' ? [['previous', previous], ['tfjs', tfjs]] : [['tfjs', tfjs]];
  const impls: Array<[string, ConvImpl]> = [['core', core], ...peers];
  const kernels = convGradientKernels();
  const cpu = cpus();
  console.log(`backend ${BACKEND}, batch ${BATCH}, ${ROUNDS} interleaved rounds, median ms per step`);
  console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} logical cores, Node ${process.version}`);
  console.log(`core's gradient kernels here: input ${kernels.input}, filter ${kernels.filter}\n`);
  const header = ['step'.padEnd(42), ...impls.map(([n]) => n.padStart(10)), ...peers.map(([n]) => `${n}/core`.padStart(15))];
  console.log(header.join(''));
  const notes: string[] = [];
  const net = buildNetworks(BATCH);
  // Tensors left by the timed runs (a leak would also slow later rounds), and by failed
  // attempts: tfjs keeps the tape's tensors when a gradient throws.
  let leakedTimed = 0;
  let leakedFailing = 0;
  for (const step of steps) {
    const reference = runOnce(step.run, core, net); // warm-up, and the values the peers must match
    const timed: Array<[string, ConvImpl]> = [['core', core]];
    const failed = new Map<string, string>();
    for (const [name, ops] of peers) {
      const count = tf.memory().numTensors;
      try {
        const diff = relativeDifference(runOnce(step.run, ops, net), reference);
        if (diff > 1e-3) notes.push(`${step.name}: ${name} differs from core by ${diff.toExponential(1)} (relative)`);
        timed.push([name, ops]);
      } catch (e) {
        failed.set(name, firstLine(e));
        leakedFailing += tf.memory().numTensors - count;
      }
    }
    const beforeRounds = tf.memory().numTensors;
    const times = new Map<string, number[]>(timed.map(([n]) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? timed : [...timed].reverse();
      for (const [name, ops] of order) {
        const start = performance.now();
        runOnce(step.run, ops, net);
        times.get(name)!.push(performance.now() - start);
      }
    }
    leakedTimed += tf.memory().numTensors - beforeRounds;
    const med = new Map([...times].map(([n, t]) => [n, median(t)]));
    const coreMs = med.get('core')!;
    const cells = impls.map(([n]) => (med.has(n) ? med.get(n)!.toFixed(1) : 'fails').padStart(10));
    const ratios = peers.map(([n]) => (med.has(n) ? `${(med.get(n)! / coreMs).toFixed(2)}x` : 'fails').padStart(15));
    console.log(step.name.padEnd(42) + cells.join('') + ratios.join(''));
    for (const [n, why] of failed) notes.push(`${step.name}: ${n} fails: ${why}`);
  }
  console.log('\npeer/core = peer median / core median, same inputs, same process; >1 means core is faster.');
  console.log(`Every peer that ran matched core's values to 1e-3 unless noted. Tensors left by timed runs: ${leakedTimed}; by failed attempts: ${leakedFailing}.`);
  for (const n of notes) console.log(`- ${n}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
