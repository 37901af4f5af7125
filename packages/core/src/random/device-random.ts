import * as tf from '@tensorflow/tfjs-core';
import { preferredComponentSum, type ComponentSum } from '../fast/component-sum.js';
import { ConfigError, ShapeError } from '../errors.js';
import { createVariable } from '../params/tree.js';
import { toRng, type RngLike } from './rng.js';

/**
 * The components of the device generator: six multiplicative congruential generators
 * x ← a·x mod m with prime moduli and primitive-root multipliers (each has full period m − 1).
 * The first three are Wichmann & Hill's (Applied Statistics 31, 1982, AS 183), the last three
 * L'Ecuyer's 16-bit set (CACM 31(6), 1988). Every a·m is below 2^23: float32 holds every
 * product a·x exactly, and the quotient ⌊a·x / m⌋ comes out exact from a rounded product.
 */
export const DEVICE_RANDOM_COMPONENTS: readonly { readonly multiplier: number; readonly modulus: number }[] = [
  { multiplier: 171, modulus: 30269 },
  { multiplier: 172, modulus: 30307 },
  { multiplier: 170, modulus: 30323 },
  { multiplier: 157, modulus: 32363 },
  { multiplier: 146, modulus: 31727 },
  { multiplier: 142, modulus: 31657 },
];

/** Bits of resolution of a uniform draw: six terms below 2^21 sum below 2^24, exactly. */
export const DEVICE_RANDOM_BITS = 21;

const K = DEVICE_RANDOM_COMPONENTS.length;
const GRID = 2 ** DEVICE_RANDOM_BITS;

/** The generator's state as a parameter tree: one non-trainable variable of shape [6, ...shape]. */
export interface DeviceRandomState {
  [name: string]: tf.Variable;
  streams: tf.Variable;
}

export interface DeviceRandomOptions {
  /** Prefix of the engine name of the state variable (made unique). Default `device_random`. */
  name?: string;
}

type RankOfShape<S extends readonly number[]> = number extends S['length']
  ? tf.Rank
  : S['length'] extends 0
    ? tf.Rank.R0
    : S['length'] extends 1
      ? tf.Rank.R1
      : S['length'] extends 2
        ? tf.Rank.R2
        : S['length'] extends 3
          ? tf.Rank.R3
          : S['length'] extends 4
            ? tf.Rank.R4
            : S['length'] extends 5
              ? tf.Rank.R5
              : S['length'] extends 6
                ? tf.Rank.R6
                : tf.Rank;

interface Constants {
  multipliers: tf.Tensor2D;
  moduli: tf.Tensor2D;
  inverseModuli: tf.Tensor2D;
  scales: tf.Tensor2D;
  inverseGrid: tf.Scalar;
}

function makeConstants(): Constants {
  // Columns [6, 1], broadcast along the elements: the components are the leading axis so that
  // each op reads contiguous rows (a trailing axis of 6 broadcast against [6] was ten times
  // slower on webgpu than the same op without broadcasting).
  const column = (values: number[]) => tf.tensor2d(values, [K, 1], 'float32');
  return {
    multipliers: column(DEVICE_RANDOM_COMPONENTS.map((c) => c.multiplier)),
    moduli: column(DEVICE_RANDOM_COMPONENTS.map((c) => c.modulus)),
    // Math.fround is the float32 constant every backend receives; the tests' reference
    // implementation computes with the same numbers.
    inverseModuli: column(DEVICE_RANDOM_COMPONENTS.map((c) => Math.fround(1 / c.modulus))),
    scales: column(DEVICE_RANDOM_COMPONENTS.map((c) => Math.fround(GRID / c.modulus))),
    inverseGrid: tf.scalar(1 / GRID, 'float32'),
  };
}

/**
 * x ← a·x mod m for every component of every stream (`streams` of shape [6, n]).
 * floor(p · fl(1/m)) is the exact quotient when the multiplication is correctly rounded (IEEE
 * 754; WGSL and GLSL ES 3 require it): its error is below a·2^-23, and a·m < 2^23 keeps that
 * under 1/m, the least distance of p/m from an integer. A division could not promise this: GPUs
 * compute it to 2.5 ulp, so `tf.mod` may land one multiple of m off.
 */
function advanceStreams(streams: tf.Tensor2D, c: Constants): tf.Tensor2D {
  const product = tf.mul(streams, c.multipliers);
  const quotient = tf.floor(tf.mul(product, c.inverseModuli));
  return tf.sub(product, tf.mul(quotient, c.moduli));
}

/** u = ((Σ_k ⌊x_k · fl(2^21 / m_k)⌋) mod 2^21) / 2^21, every step exact but one rounded product. */
function streamsToUniform(streams: tf.Tensor2D, c: Constants, sum: ComponentSum): tf.Tensor1D {
  const terms = tf.floor(tf.mul(streams, c.scales));
  const total = sum === 'reduce' ? tf.sum(terms, 0) : tf.addN(tf.unstack(terms));
  const scaled = tf.mul(total, c.inverseGrid);
  // frac by subtraction, exact; a mod through division could round a multiple of 2^21 up to 1.
  return tf.sub(scaled, tf.floor(scaled)) as tf.Tensor1D;
}

/**
 * Uniform, Bernoulli and normal draws computed on the backend's device, one independent
 * stream per element of a fixed shape, advanced by elementwise ops only: after the seeding
 * upload at creation, a draw moves no data between JavaScript and the device. Made for Gibbs
 * chains on WebGPU and WebGL, where {@link Rng.uniform} (tfjs's generator, which runs in
 * JavaScript) uploads a full tensor per draw. A draw costs 11 ops (17 on webgpu) over 6 numbers
 * per element where `Rng.bernoulli` costs an upload and 2 ops: on cpu and wasm, and under
 * SwiftShader (a GPU emulated on the CPU), `Rng` is faster; see bench/device-random.bench.ts.
 *
 * **Generator.** Each element holds six small multiplicative congruential generators
 * ({@link DEVICE_RANDOM_COMPONENTS}) combined in Wichmann & Hill's way, u = frac(Σ x_k / m_k),
 * here with each term truncated to 21 bits so the sum is an exact integer:
 * u = ((Σ_k ⌊x_k · 2^21 / m_k⌋) mod 2^21) / 2^21.
 *
 * **Quality, honestly.** Period of each stream: lcm(m_k − 1) ≈ 4.7·10^24 ≈ 2^82. Resolution:
 * 2^-21 (draws lie on the grid k/2^21, in [0, 1 − 2^-21]), so Bernoulli probabilities are
 * effectively rounded to multiples of 2^-21 and normals never exceed |z| ≈ 5.39. The combination
 * is equivalent to one multiplicative generator with modulus Π m_k ≈ 2^89.5 (L'Ecuyer & Tezuka,
 * Math. Comp. 57, 1991), so it has a lattice structure like any LCG; Wichmann–Hill's three
 * components alone (period 2^42.7) are known to fail tests of modern batteries such as TestU01's
 * Crush (see L'Ecuyer & Simard, ACM TOMS 33(4), 2007). This six-component version has not been
 * run through TestU01 (not available here); its tests are moments, chi-square on bins, on
 * low-order bits and on consecutive pairs, and correlations between neighbours and steps.
 * Streams start at independent random points of the cycle, drawn from the `Rng`, not at
 * guaranteed-disjoint offsets: the chance that any two of n streams overlap within L draws is
 * about n²L / 2^82 (n = 200,000 elements and L = 10^6 steps: about 10^-8). Lagged-Fibonacci
 * generators would be cheaper per draw (one add) but their three-term relation biased Ising
 * Monte Carlo (Ferrenberg, Landau & Wong, PRL 69, 1992), the kind of chain an RBM runs.
 *
 * **Reproducibility.** The state is exact integer arithmetic, so its sequence is the same on
 * every backend that computes float32 with correctly rounded multiplication (cpu, wasm, WebGPU,
 * WebGL with 32-bit float textures; not WebGL on devices limited to 16-bit float textures, nor
 * a backend that multiplies in reduced precision). A uniform draw adds one more rounded
 * multiplication and otherwise exact steps: uniform and Bernoulli draws are bit-identical on cpu
 * and wasm (tested) and on WebGPU under SwiftShader (checked by the benchmark script), and should
 * be on any conforming GPU. Normal draws go through log, sqrt and cos, which backends compute
 * differently: cpu and wasm agree to 1e-5, WebGPU to the accuracy WGSL grants cos (2^-11
 * absolute; SwiftShader's differs from cpu's by 2e-4), not bit for bit. The stream differs
 * from `Rng.uniform`'s: one seed gives different numbers through the two.
 */
export class DeviceRandom<R extends tf.Rank = tf.Rank> {
  /** Non-trainable, so optimizers skip it; keep it in a model's state tree to checkpoint it. */
  readonly state: DeviceRandomState;
  readonly shape: readonly number[];
  private readonly size: number;
  // Constants live on the device for the generator's life: a number passed to an op would be
  // uploaded as a fresh scalar at every draw.
  private readonly constants: Constants;
  private readonly twoPi: tf.Scalar;
  private readonly minusTwo: tf.Scalar;
  private readonly one: tf.Scalar;
  private readonly half: tf.Scalar;
  private disposed = false;

  constructor(shape: readonly number[], rng: RngLike, options: DeviceRandomOptions = {}) {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ConfigError('device random shape', 'an array of positive integers, e.g. [256, 784]', shape);
    }
    const name = options.name ?? 'device_random';
    if (typeof name !== 'string' || name.length === 0) {
      throw new ConfigError('device random name', 'a non-empty string', name);
    }
    this.shape = [...shape];
    const source = toRng(rng);
    this.size = shape.reduce((a, b) => a * b, 1);
    // Every element gets its own uniform starting point in [1, m − 1] of each component (element
    // by element, so a generator's first elements do not depend on its shape): the one upload
    // this generator makes.
    const seeds = new Float32Array(this.size * K);
    for (let i = 0; i < this.size; i++) {
      for (let k = 0; k < K; k++) seeds[k * this.size + i] = 1 + source.int(DEVICE_RANDOM_COMPONENTS[k]!.modulus - 1);
    }
    this.state = {
      streams: createVariable(tf.tensor(seeds, [K, ...shape], 'float32'), `${name}/streams`, false),
    };
    this.constants = makeConstants();
    this.twoPi = tf.scalar(2 * Math.PI, 'float32');
    this.minusTwo = tf.scalar(-2, 'float32');
    this.one = tf.scalar(1, 'float32');
    this.half = tf.scalar(0.5, 'float32');
  }

  /** Uniform draws on [0, 1) (multiples of 2^-21); advances every stream by one step. */
  uniform(): tf.Tensor<R> {
    this.assertLive();
    return tf.tidy(() => tf.reshape<tf.Rank>(this.step(), [...this.shape])) as tf.Tensor<R>;
  }

  /** Bernoulli draws (0 or 1, float32) with success probabilities `probs` of the generator's shape. */
  bernoulli<T extends tf.Tensor>(probs: T): T {
    this.assertLive();
    if (probs.shape.length !== this.shape.length || probs.shape.some((d, i) => d !== this.shape[i])) {
      throw new ShapeError(
        'bernoulli probabilities',
        this.shape,
        probs.shape,
        'A device generator draws one shape, fixed at creation: create one generator per shape',
      );
    }
    return tf.tidy(() => tf.cast(tf.less(tf.reshape(this.step(), probs.shape), probs), 'float32')) as T;
  }

  /**
   * Standard normal draws (Box–Muller, cosine branch only): each call advances every stream
   * by two steps. |z| ≤ √(2·21·ln 2) ≈ 5.39 because of the 21-bit resolution.
   */
  normal(): tf.Tensor<R> {
    this.assertLive();
    return tf.tidy(() => {
      const u1 = this.step();
      const u2 = this.step();
      // 1 − u1 lies in (0, 1], so the logarithm is finite. The angle is taken in [−π, π), the
      // range where WGSL bounds cos's error (2^-11 absolute); the sign flip leaves z normal.
      const radius = tf.sqrt(tf.mul(this.minusTwo, tf.log(tf.sub(this.one, u1))));
      const angle = tf.mul(this.twoPi, tf.sub(u2, this.half));
      return tf.reshape<tf.Rank>(tf.mul(radius, tf.cos(angle)), [...this.shape]);
    }) as tf.Tensor<R>;
  }

  /** Frees the state variable and the device constants; the generator cannot draw afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.state.streams, ...Object.values(this.constants), this.twoPi, this.minusTwo, this.one, this.half]);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Advances the state and returns the flat uniforms, computed with `sum` (the backend's fastest
   * by default; every choice gives the same bits). Leaves no intermediate tensor behind.
   */
  step(sum: ComponentSum = preferredComponentSum()): tf.Tensor1D {
    this.assertLive();
    return tf.tidy(() => {
      const streams = this.state.streams;
      const next = advanceStreams(tf.reshape(streams, [K, this.size]), this.constants);
      streams.assign(tf.reshape(next, streams.shape));
      return streamsToUniform(next, this.constants, sum);
    });
  }

  private assertLive(): void {
    if (this.disposed) {
      throw new ConfigError('device random generator', 'a generator that has not been disposed', 'a disposed generator');
    }
  }
}

/**
 * Creates a {@link DeviceRandom} for draws of one fixed shape, seeded from `rng` (which it
 * advances by 6 draws per element).
 *
 * ```ts
 * const noise = createDeviceRandom([256, 500], rng, { name: 'rbm/gibbs' });
 * const h = noise.bernoulli(hiddenProbs); // no upload
 * ```
 */
export function createDeviceRandom<const S extends readonly number[]>(
  shape: S,
  rng: RngLike,
  options: DeviceRandomOptions = {},
): DeviceRandom<RankOfShape<S>> {
  return new DeviceRandom<RankOfShape<S>>(shape, rng, options);
}
