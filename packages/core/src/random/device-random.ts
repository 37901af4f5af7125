import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { createVariable } from '../params/tree.js';
import { toRng, type RngLike } from './rng.js';

/**
 * The components of the device generator: six multiplicative congruential generators
 * x ← a·x mod m with prime moduli and primitive-root multipliers (each has full period m − 1).
 * The first three are Wichmann & Hill's (Applied Statistics 31, 1982, AS 183), the last three
 * L'Ecuyer's 16-bit set (CACM 31(6), 1988). Every product a·x, and a·x plus one modulus, is
 * below 2^24, so float32 holds every intermediate value exactly.
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

/** The generator's state as a parameter tree: one non-trainable variable of shape [...shape, 6]. */
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

/**
 * Uniform, Bernoulli and normal draws computed on the backend's device, one independent
 * stream per element of a fixed shape, advanced by elementwise ops only: after the seeding
 * upload at creation, a draw moves no data between JavaScript and the device. Made for Gibbs
 * chains on WebGPU and WebGL, where {@link Rng.uniform} (tfjs's generator, which runs in
 * JavaScript) uploads a full tensor per draw. On cpu and wasm, `Rng` is faster: see
 * bench/device-random.bench.ts.
 *
 * **Generator.** Each element holds six small multiplicative congruential generators
 * ({@link DEVICE_RANDOM_COMPONENTS}) combined in Wichmann & Hill's way, u = frac(Σ x_k / m_k),
 * here with each term truncated to 21 bits so the sum is an exact integer:
 * u = ((Σ_k ⌊x_k · 2^21 / m_k⌋) mod 2^21) / 2^21. The state update x ← a·x mod m is done
 * twice with `tf.mod` (the second time on a value shifted positive), because GPUs compute
 * x mod m through a division that is not correctly rounded and may land one multiple of m off;
 * the second reduction works on a value below 3m, where that cannot happen.
 *
 * **Quality, honestly.** Period of each stream: lcm(m_k − 1) ≈ 4.7·10^24 ≈ 2^82. Resolution:
 * 2^-21 (draws lie on the grid k/2^21, in [0, 1 − 2^-21]), so Bernoulli probabilities are
 * effectively rounded to multiples of 2^-21 and normals never exceed |z| ≈ 5.39. The combination
 * is equivalent to one multiplicative generator with modulus Π m_k ≈ 2^89.5 (L'Ecuyer & Tezuka,
 * Math. Comp. 57, 1991), so it has a lattice structure like any LCG; Wichmann–Hill's three
 * components alone (period 2^42.7) fail several tests of TestU01's Crush batteries (L'Ecuyer &
 * Simard 2007). This six-component version has not been run through TestU01; its tests here are
 * moments, chi-square on bins, on low-order bits and on consecutive pairs, and correlations.
 * Streams start at independent random points of the cycle, drawn from the `Rng`, not at
 * guaranteed-disjoint offsets: the chance that any two of n streams overlap within L draws is
 * about n²L / 2^82 (n = 200,000 elements and L = 10^6 steps: about 10^-8).
 *
 * **Reproducibility.** The state is exact integer arithmetic, so its sequence is the same on
 * every backend that computes float32 (cpu, wasm, WebGPU, WebGL with 32-bit float textures;
 * not WebGL on devices limited to 16-bit float textures). A uniform draw adds one rounded
 * operation, a float32 multiplication, which IEEE 754, WGSL and GLSL ES 3 all require to be
 * correctly rounded: uniform and Bernoulli draws are bit-identical on cpu and wasm (tested) and
 * on WebGPU under SwiftShader (checked by the benchmark script), and should be on any conforming
 * GPU. Normal draws go through log, sqrt and cos, which backends compute differently: they agree
 * to a few units in the last place, not bit for bit. The stream differs from `Rng.uniform`'s:
 * one seed gives different numbers through the two.
 */
export class DeviceRandom<R extends tf.Rank = tf.Rank> {
  /** Non-trainable, so optimizers skip it; keep it in a model's state tree to checkpoint it. */
  readonly state: DeviceRandomState;
  readonly shape: readonly number[];
  // Constants live on the device for the generator's life: a number passed to an op would be
  // uploaded as a fresh scalar at every draw.
  private readonly multipliers: tf.Tensor1D;
  private readonly moduli: tf.Tensor1D;
  private readonly scales: tf.Tensor1D;
  private readonly inverseGrid: tf.Scalar;
  private readonly twoPi: tf.Scalar;
  private readonly minusTwo: tf.Scalar;
  private readonly one: tf.Scalar;
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
    const size = shape.reduce((a, b) => a * b, 1);
    // Every element gets its own uniform starting point in [1, m − 1] of each component: the one
    // upload this generator makes.
    const seeds = new Float32Array(size * K);
    for (let i = 0; i < size; i++) {
      for (let k = 0; k < K; k++) seeds[i * K + k] = 1 + source.int(DEVICE_RANDOM_COMPONENTS[k]!.modulus - 1);
    }
    this.state = {
      streams: createVariable(tf.tensor(seeds, [...shape, K], 'float32'), `${name}/streams`, false),
    };
    this.multipliers = tf.tensor1d(DEVICE_RANDOM_COMPONENTS.map((c) => c.multiplier), 'float32');
    this.moduli = tf.tensor1d(DEVICE_RANDOM_COMPONENTS.map((c) => c.modulus), 'float32');
    // Math.fround matches the float32 constant every backend receives, so the reference
    // implementation in the tests computes the same products.
    this.scales = tf.tensor1d(DEVICE_RANDOM_COMPONENTS.map((c) => Math.fround(GRID / c.modulus)), 'float32');
    this.inverseGrid = tf.scalar(1 / GRID, 'float32');
    this.twoPi = tf.scalar(2 * Math.PI, 'float32');
    this.minusTwo = tf.scalar(-2, 'float32');
    this.one = tf.scalar(1, 'float32');
  }

  /** Uniform draws on [0, 1) (multiples of 2^-21); advances every stream by one step. */
  uniform(): tf.Tensor<R> {
    this.assertLive();
    return tf.tidy(() => this.toUniform(this.advance())) as tf.Tensor<R>;
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
    return tf.tidy(() => tf.cast(tf.less(this.toUniform(this.advance()), probs), 'float32')) as T;
  }

  /**
   * Standard normal draws (Box–Muller, cosine branch only): each call advances every stream
   * by two steps. |z| ≤ √(2·21·ln 2) ≈ 5.39 because of the 21-bit resolution.
   */
  normal(): tf.Tensor<R> {
    this.assertLive();
    return tf.tidy(() => {
      const u1 = this.toUniform(this.advance());
      const u2 = this.toUniform(this.advance());
      // 1 − u1 lies in (0, 1], so the logarithm is finite.
      const radius = tf.sqrt(tf.mul(this.minusTwo, tf.log(tf.sub(this.one, u1))));
      return tf.mul(radius, tf.cos(tf.mul(this.twoPi, u2)));
    }) as tf.Tensor<R>;
  }

  /** Frees the state variable and the device constants; the generator cannot draw afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.state.streams, this.multipliers, this.moduli, this.scales, this.inverseGrid, this.twoPi, this.minusTwo, this.one]);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  // One step of every component of every stream, stored into the state; returns the new state.
  private advance(): tf.Tensor {
    const streams = this.state.streams;
    const product = tf.mul(streams, this.multipliers);
    const once = tf.mod(product, this.moduli);
    const next = tf.mod(tf.add(once, this.moduli), this.moduli);
    streams.assign(next);
    return next;
  }

  private toUniform(state: tf.Tensor): tf.Tensor {
    const terms = tf.floor(tf.mul(state, this.scales));
    const scaled = tf.mul(tf.sum(terms, -1), this.inverseGrid);
    // frac by subtraction, exact; a mod through division could round a multiple of 2^21 up to 1.
    return tf.sub(scaled, tf.floor(scaled));
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
