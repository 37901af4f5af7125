import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createVariable,
  disposeParams,
  likelihoodFromPerExample,
  matMul,
  Rng,
  ShapeError,
  toRng,
  type GenerativeModel,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type SampleOptions,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';
import { imageShapeOf, initialScaleOf } from './config.js';

export const SPIKE_AND_SLAB_RBM_KIND = 'spike-and-slab-rbm';

/** Hidden units up to which {@link SpikeAndSlabRBM.exactLogPartition} enumerates the spikes. */
export const SPIKE_AND_SLAB_EXACT_MAX_HIDDEN = 16;

/** Config of a {@link SpikeAndSlabRBM}. Plain JSON. */
export interface SpikeAndSlabRbmConfig {
  /** Number of visible (real-valued) units. The model has no visible mean: centre the data. */
  visible: number;
  /** Number of hidden units, each a binary spike h_i with a real scalar slab s_i. */
  hidden: number;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Standard deviation of the initial weights (default 0.01). */
  initialScale?: number;
  /** α, the slabs' precision (default 1). Fixed: p(v) depends on W and α only through W_i/√α_i. */
  slabPrecision?: number;
  /** Initial Λ, the visible units' diagonal precision (default 1). */
  initialVisiblePrecision?: number;
  /** Learn Λ (as its log) (default true). */
  learnVisiblePrecision?: boolean;
  /**
   * Give each spike a diagonal precision Φ_i ≥ 0 that it adds to v's when on (the h-dependent
   * term ½ vᵀ(Σ_i Φ_i h_i)v of Courville et al. 2011), starting at 0 (default false).
   */
  hiddenPrecision?: boolean;
  /** Shape of one visible vector as an image, for pictures only. */
  imageShape?: number[];
}

/** The tensors of a {@link SpikeAndSlabRBM}. */
export interface SpikeAndSlabRbmParams {
  /** W, `[visible, hidden]`: column i is W_i. */
  weights: tf.Variable<tf.Rank.R2>;
  /** b, `[hidden]`: the spikes' biases. */
  hiddenBias: tf.Variable<tf.Rank.R1>;
  /** log α, `[hidden]` (not trainable). */
  logSlabPrecision: tf.Variable<tf.Rank.R1>;
  /** log Λ, `[visible]`. */
  logVisiblePrecision: tf.Variable<tf.Rank.R1>;
  /** Φ, `[hidden, visible]`, row i the diagonal of Φ_i, ≥ 0 (only with `hiddenPrecision`). */
  hiddenPrecision?: tf.Variable<tf.Rank.R2>;
}

/** The state of a block Gibbs chain, one row per chain; the caller owns the tensors. */
export interface SpikeAndSlabGibbsState {
  visible: tf.Tensor2D;
  /** The spikes h. */
  hidden: tf.Tensor2D;
  /** The slabs s (0 is not special: s is drawn for every unit, N(0, 1/α) where h = 0). */
  slab: tf.Tensor2D;
}

/** Options of {@link SpikeAndSlabRBM.sample}. */
export interface SpikeAndSlabSampleOptions extends SampleOptions {
  /** Block Gibbs steps (default 1000). */
  steps?: number;
  /** `'noise'` (default; N(0, Λ⁻¹)) or a `[n, visible]` tensor, not changed. */
  start?: tf.Tensor2D | 'noise';
}

const CONFIG_KEYS = ['visible', 'hidden', 'seed', 'initialScale', 'slabPrecision', 'initialVisiblePrecision', 'learnVisiblePrecision', 'hiddenPrecision', 'imageShape'];

function validateConfig(config: SpikeAndSlabRbmConfig): SpikeAndSlabRbmConfig {
  const kind = SPIKE_AND_SLAB_RBM_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { visible, hidden }', config);
  rejectUnknownKeys(kind, config, CONFIG_KEYS);
  const out: SpikeAndSlabRbmConfig = { visible: positiveInteger(`${kind}.visible`, config.visible), hidden: positiveInteger(`${kind}.hidden`, config.hidden) };
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${kind}.seed`, config.seed);
  if (config.initialScale !== undefined) out.initialScale = initialScaleOf(`${kind}.initialScale`, config.initialScale);
  if (config.slabPrecision !== undefined) out.slabPrecision = positiveNumber(`${kind}.slabPrecision`, config.slabPrecision);
  if (config.initialVisiblePrecision !== undefined) out.initialVisiblePrecision = positiveNumber(`${kind}.initialVisiblePrecision`, config.initialVisiblePrecision);
  for (const key of ['learnVisiblePrecision', 'hiddenPrecision'] as const) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new ConfigError(`${kind}.${key}`, 'true or false', value);
    out[key] = value;
  }
  if (config.imageShape !== undefined) out.imageShape = imageShapeOf(`${kind}.imageShape`, config.imageShape, out.visible);
  return out;
}

/** log det and positive-definiteness of a symmetric k×k matrix (row-major), by Cholesky. */
function choleskyLogDet(a: Float64Array, k: number): number | null {
  const l = new Float64Array(k * k);
  let logDet = 0;
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let m = 0; m < j; m++) d -= l[j * k + m]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[j * k + j] = ljj;
    logDet += 2 * Math.log(ljj);
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let m = 0; m < j; m++) s -= l[i * k + m]! * l[j * k + m]!;
      l[i * k + j] = s / ljj;
    }
  }
  return logDet;
}

/**
 * The spike-and-slab RBM of Courville, Bergstra & Bengio (2011), "A spike and slab restricted
 * Boltzmann machine" (section 20.5.2 of Goodfellow et al. 2016), with scalar slabs: each hidden
 * unit i is a binary spike h_i times a real slab s_i, and the energy is
 *
 *   E(v, s, h) = ½ vᵀ(Λ + Σ_i Φ_i h_i) v − Σ_i h_i s_i W_iᵀv + ½ Σ_i α_i s_i² − Σ_i b_i h_i,
 *
 * with Λ and Φ_i diagonal (Φ only with `hiddenPrecision`, else 0) and α_i > 0. The conditionals:
 *
 *   p(h_i = 1 | v) = σ(b_i + (W_iᵀv)²/(2α_i) − ½ vᵀΦ_i v)        (s integrated out)
 *   p(s_i | v, h) = N(h_i W_iᵀv / α_i, 1/α_i)
 *   p(v | s, h)   = N((Σ_i W_i s_i h_i) / (Λ + Σ_i Φ_i h_i), diag(1 / (Λ + Σ_i Φ_i h_i)))
 *
 * and the free energy, with the slabs integrated out in closed form,
 *
 *   F(v) = ½ vᵀΛv − Σ_i [softplus(b_i + (W_iᵀv)²/(2α_i) − ½ vᵀΦ_i v) + ½ log(2π/α_i)].
 *
 * Given h, p(v | h) is a zero-mean Gaussian with precision M_h = Λ + Σ_i h_i (Φ_i − W_iW_iᵀ/α_i):
 * a spike that turns on adds variance along its filter W_i, so the model is a mixture of 2^H
 * Gaussians whose covariances the spikes choose, which is how it models covariance structure.
 * The density is proper only if every M_h is positive definite; Φ makes that easier to keep
 * while training, and `exactLogPartition` (small H) says when it does not hold.
 */
export class SpikeAndSlabRBM implements GenerativeModel<SpikeAndSlabRbmConfig> {
  readonly kind = SPIKE_AND_SLAB_RBM_KIND;
  readonly config: SpikeAndSlabRbmConfig;
  readonly params: SpikeAndSlabRbmParams;

  constructor(config: SpikeAndSlabRbmConfig) {
    const valid = validateConfig(config);
    this.config = valid;
    const { visible: d, hidden: h } = valid;
    const rng = new Rng(valid.seed ?? 0);
    const params: SpikeAndSlabRbmParams = {
      weights: createVariable(rng.normalTensor([d, h], 0, valid.initialScale ?? 0.01), 'ssrbm/weights') as tf.Variable<tf.Rank.R2>,
      hiddenBias: createVariable(tf.zeros([h]), 'ssrbm/hiddenBias') as tf.Variable<tf.Rank.R1>,
      logSlabPrecision: createVariable(tf.fill([h], Math.log(valid.slabPrecision ?? 1)), 'ssrbm/logSlabPrecision', false) as tf.Variable<tf.Rank.R1>,
      logVisiblePrecision: createVariable(
        tf.fill([d], Math.log(valid.initialVisiblePrecision ?? 1)),
        'ssrbm/logVisiblePrecision',
        valid.learnVisiblePrecision ?? true,
      ) as tf.Variable<tf.Rank.R1>,
    };
    if (valid.hiddenPrecision === true) params.hiddenPrecision = createVariable(tf.zeros([h, d]), 'ssrbm/hiddenPrecision') as tf.Variable<tf.Rank.R2>;
    this.params = params;
  }

  get visible(): number {
    return this.config.visible;
  }

  get hidden(): number {
    return this.config.hidden;
  }

  /** α, `[hidden]`. */
  slabPrecision(): tf.Tensor1D {
    return tf.tidy(() => tf.exp(this.params.logSlabPrecision) as tf.Tensor1D);
  }

  /** Λ, `[visible]`. */
  visiblePrecision(): tf.Tensor1D {
    return tf.tidy(() => tf.exp(this.params.logVisiblePrecision) as tf.Tensor1D);
  }

  /** b_i + (W_iᵀv)²/(2α_i) − ½ vᵀΦ_i v, the spikes' total input with the slabs integrated out, `[n, hidden]`. */
  hiddenLogits(v: tf.Tensor2D): tf.Tensor2D {
    this.checkVisible(v, 'hiddenLogits');
    return tf.tidy(() => {
      const drive = tf.div(tf.mul(tf.square(matMul(v, this.params.weights)), 0.5), this.slabPrecision());
      let logits = tf.add(drive, this.params.hiddenBias);
      if (this.params.hiddenPrecision) logits = tf.sub(logits, tf.mul(matMul(tf.square(v), this.params.hiddenPrecision, false, true), 0.5));
      return logits as tf.Tensor2D;
    });
  }

  /** p(h = 1 | v), `[n, hidden]`. */
  hiddenProbabilities(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.hiddenLogits(v)));
  }

  /** A sample of the spikes, h ~ p(h | v). */
  sampleHidden(v: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => rng.bernoulli(this.hiddenProbabilities(v)));
  }

  /** The mean of p(s | v, h), h_i W_iᵀv / α_i, `[n, hidden]` (its variance is 1/α_i). */
  slabMean(v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    this.checkVisible(v, 'slabMean');
    this.checkHidden(h, 'slabMean', v.shape[0]);
    return tf.tidy(() => tf.div(tf.mul(matMul(v, this.params.weights), h), this.slabPrecision()) as tf.Tensor2D);
  }

  /** A sample s ~ p(s | v, h). */
  sampleSlab(v: tf.Tensor2D, h: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      const mean = this.slabMean(v, h);
      return tf.add(mean, tf.div(rng.normalTensor(mean.shape), tf.sqrt(this.slabPrecision()))) as tf.Tensor2D;
    });
  }

  /** The precision of p(v | s, h), Λ + Σ_i Φ_i h_i, `[n, visible]`. */
  visibleConditionalPrecision(h: tf.Tensor2D): tf.Tensor2D {
    this.checkHidden(h, 'visibleConditionalPrecision');
    return tf.tidy(() => {
      const base = tf.broadcastTo(this.visiblePrecision(), [h.shape[0], this.visible]);
      return (this.params.hiddenPrecision ? tf.add(base, matMul(h, this.params.hiddenPrecision)) : base) as tf.Tensor2D;
    });
  }

  /** The mean of p(v | s, h), (Σ_i W_i s_i h_i) / (Λ + Σ_i Φ_i h_i), `[n, visible]`. */
  visibleMean(s: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
    this.checkHidden(s, 'visibleMean slab');
    this.checkHidden(h, 'visibleMean', s.shape[0]);
    return tf.tidy(() => tf.div(matMul(tf.mul(s, h), this.params.weights, false, true), this.visibleConditionalPrecision(h)) as tf.Tensor2D);
  }

  /** A sample v ~ p(v | s, h). */
  sampleVisible(s: tf.Tensor2D, h: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      const precision = this.visibleConditionalPrecision(h);
      const mean = tf.div(matMul(tf.mul(s, h), this.params.weights, false, true), precision);
      return tf.add(mean, tf.div(rng.normalTensor(mean.shape), tf.sqrt(precision))) as tf.Tensor2D;
    });
  }

  /** E(v, s, h) for each row triple (see the class comment). */
  energy(v: tf.Tensor2D, s: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'energy');
    this.checkHidden(s, 'energy slab', v.shape[0]);
    this.checkHidden(h, 'energy', v.shape[0]);
    return tf.tidy(() => {
      const quadratic = tf.mul(tf.sum(tf.mul(tf.square(v), this.visibleConditionalPrecision(h)), 1), 0.5);
      const interaction = tf.sum(tf.mul(tf.mul(h, s), matMul(v, this.params.weights)), 1);
      const slab = tf.mul(tf.sum(tf.mul(tf.square(s), this.slabPrecision()), 1), 0.5);
      const bias = tf.sum(tf.mul(h, this.params.hiddenBias), 1);
      return tf.sub(tf.add(quadratic, slab), tf.add(interaction, bias)) as tf.Tensor1D;
    });
  }

  /** F(v) = −log Σ_h ∫ exp(−E(v, s, h)) ds for each row, in closed form (see the class comment). */
  freeEnergy(v: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'freeEnergy');
    return tf.tidy(() => {
      const quadratic = tf.mul(tf.sum(tf.mul(tf.square(v), this.visiblePrecision()), 1), 0.5);
      const slabNormaliser = tf.mul(tf.sum(tf.sub(Math.log(2 * Math.PI), this.params.logSlabPrecision)), 0.5);
      return tf.sub(quadratic, tf.add(tf.sum(tf.softplus(this.hiddenLogits(v)), 1), slabNormaliser)) as tf.Tensor1D;
    });
  }

  /**
   * `steps` steps of block Gibbs sampling from `start` (not changed): h ~ p(h | v), s ~ p(s | v, h),
   * v ~ p(v | s, h). With 0 steps the state is the start with a draw of h and s.
   */
  gibbs(start: tf.Tensor2D, steps: number, rng: Rng): SpikeAndSlabGibbsState {
    this.checkVisible(start, 'gibbs');
    nonNegativeInteger('steps', steps);
    let visible = tf.clone(start);
    let hidden = this.sampleHidden(visible, rng);
    let slab = this.sampleSlab(visible, hidden, rng);
    for (let k = 0; k < steps; k++) {
      const next = tf.tidy(() => {
        const v = this.sampleVisible(slab, hidden, rng);
        const h = this.sampleHidden(v, rng);
        return { v, h, s: this.sampleSlab(v, h, rng) };
      });
      tf.dispose([visible, hidden, slab]);
      visible = next.v;
      hidden = next.h;
      slab = next.s;
    }
    return { visible, hidden, slab };
  }

  /** `n` samples by `steps` block Gibbs steps (default 1000) from N(0, Λ⁻¹) or from given vectors. */
  sample(n: number, options: SpikeAndSlabSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, ... }', options);
    rejectUnknownKeys('spike-and-slab-rbm sample', options, ['rng', 'steps', 'start']);
    const { steps = 1000, start = 'noise' } = options;
    positiveInteger('steps', steps);
    const rng = toRng(options.rng);
    let initial: tf.Tensor2D;
    if (start === 'noise') {
      initial = tf.tidy(() => tf.div(rng.normalTensor([n, this.visible]), tf.sqrt(this.visiblePrecision())) as tf.Tensor2D);
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.visible) throw new ShapeError('sample start', [n, this.visible], start.shape, 'one visible vector per sample');
      initial = start;
    } else {
      throw new ConfigError('start', "'noise' or a [n, visible] tensor", start);
    }
    const state = this.gibbs(initial, steps, rng);
    if (initial !== start) initial.dispose();
    tf.dispose([state.hidden, state.slab]);
    return state.visible;
  }

  /** p(h = 1 | x), the spikes' probabilities, a code for each example. */
  encode(x: tf.Tensor): tf.Tensor2D {
    return this.hiddenProbabilities(x as tf.Tensor2D);
  }

  /**
   * log Z = log Σ_h ∫∫ exp(−E(v, s, h)) dv ds, exactly, in float64 on the CPU: for each of the
   * 2^H spike vectors, the Gaussian integrals give
   *   log Z_h = bᵀh + Σ_i ½ log(2π/α_i) + (D/2) log 2π − ½ log det M_h,
   * and det M_h = det(Λ + Σ h_i Φ_i) · det(I − Uᵀ(Λ + Σ h_i Φ_i)⁻¹U), U the columns W_i/√α_i of
   * the spikes that are on (matrix determinant lemma), so each term costs a k×k Cholesky.
   * Up to {@link SPIKE_AND_SLAB_EXACT_MAX_HIDDEN} hidden units. Returns `Infinity` when some
   * M_h is not positive definite: the density is then improper.
   */
  async exactLogPartition(): Promise<number> {
    return (await this.partition()).logZ;
  }

  private async partition(): Promise<{ logZ: number; improper: number[] | null }> {
    const { visible: d, hidden: hCount } = this.config;
    if (hCount > SPIKE_AND_SLAB_EXACT_MAX_HIDDEN) {
      throw new ConfigError('spike-and-slab-rbm.hidden', `at most ${SPIKE_AND_SLAB_EXACT_MAX_HIDDEN} hidden units for an exact partition function (2^hidden terms)`, hCount);
    }
    const [w, b, logAlpha, logLambda, phi] = await Promise.all([
      this.params.weights.data(),
      this.params.hiddenBias.data(),
      this.params.logSlabPrecision.data(),
      this.params.logVisiblePrecision.data(),
      this.params.hiddenPrecision ? this.params.hiddenPrecision.data() : Promise.resolve(null),
    ]);
    const terms: number[] = [];
    const on: number[] = [];
    const diag = new Float64Array(d);
    for (let mask = 0; mask < 2 ** hCount; mask++) {
      on.length = 0;
      for (let i = 0; i < hCount; i++) if ((mask >> i) & 1) on.push(i);
      let logDetDiag = 0;
      for (let j = 0; j < d; j++) {
        let p = Math.exp(logLambda[j]!);
        if (phi) for (const i of on) p += phi[i * d + j]!;
        diag[j] = p;
        logDetDiag += Math.log(p);
      }
      const k = on.length;
      const inner = new Float64Array(k * k);
      for (let x = 0; x < k; x++) {
        for (let y = 0; y <= x; y++) {
          const ix = on[x]!;
          const iy = on[y]!;
          let s = 0;
          for (let j = 0; j < d; j++) s += (w[j * hCount + ix]! * w[j * hCount + iy]!) / diag[j]!;
          const value = (x === y ? 1 : 0) - s / Math.sqrt(Math.exp(logAlpha[ix]! + logAlpha[iy]!));
          inner[x * k + y] = value;
          inner[y * k + x] = value;
        }
      }
      const logDetInner = k === 0 ? 0 : choleskyLogDet(inner, k);
      if (logDetInner === null) return { logZ: Infinity, improper: [...on] };
      let bias = 0;
      for (const i of on) bias += b[i]!;
      terms.push(bias - 0.5 * (logDetDiag + logDetInner));
    }
    let slab = 0;
    for (let i = 0; i < hCount; i++) slab += 0.5 * (Math.log(2 * Math.PI) - logAlpha[i]!);
    const max = Math.max(...terms);
    let sum = 0;
    for (const t of terms) sum += Math.exp(t - max);
    return { logZ: max + Math.log(sum) + slab + 0.5 * d * Math.log(2 * Math.PI), improper: null };
  }

  /**
   * The exact mean log p(x) = −F(x) − log Z over the rows of `x` (see {@link exactLogPartition}),
   * up to {@link SPIKE_AND_SLAB_EXACT_MAX_HIDDEN} hidden units. Throws a ConfigError when the
   * density is improper.
   */
  async logLikelihood(x: tf.Tensor, options: LikelihoodOptions): Promise<LikelihoodEstimate> {
    const data = options?.data as unknown;
    if (data === null || typeof data !== 'object') {
      throw new ConfigError('options.data', "{ dataset, split, binarization } naming what x is, e.g. { dataset: 'patches', split: 'test', binarization: 'none (real-valued)' }", data);
    }
    this.checkVisible(x, 'logLikelihood');
    const { logZ, improper } = await this.partition();
    if (improper !== null) {
      throw new ConfigError(
        'spike-and-slab-rbm parameters',
        'a proper density: Λ + Σ_i h_i (Φ_i − W_iW_iᵀ/α_i) positive definite for every spike vector h',
        `a model where it is not for the spikes {${improper.join(', ')}} on (lower the weights, raise Λ, or use hiddenPrecision)`,
      );
    }
    const freeEnergy = this.freeEnergy(x as tf.Tensor2D);
    const values = await freeEnergy.data();
    freeEnergy.dispose();
    const perExample = Array.from(values, (f) => -f - logZ);
    return likelihoodFromPerExample(perExample, {
      kind: 'exact',
      protocol: { ...options.data, method: 'exact', details: { partition: 'enumeration of the spikes, Gaussian integrals over v and s (float64)', logZ } },
    });
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws a ShapeError unless `v` is `[n, visible]`. */
  checkVisible(v: tf.Tensor, what: string): void {
    if (!(v instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.visible}] tensor`, v);
    if (v.rank !== 2 || v.shape[1] !== this.visible) throw new ShapeError(`${this.kind} ${what} visible`, [null, this.visible], v.shape);
  }

  /** Throws a ShapeError unless `h` is `[rows, hidden]`. */
  checkHidden(h: tf.Tensor, what: string, rows?: number): void {
    if (!(h instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.hidden}] tensor`, h);
    if (h.rank !== 2 || h.shape[1] !== this.hidden || (rows !== undefined && h.shape[0] !== rows)) {
      throw new ShapeError(`${this.kind} ${what} hidden`, [rows ?? null, this.hidden], h.shape);
    }
  }
}

/** Clamps Φ to ≥ 0 after a gradient step (the trainer calls it); nothing without Φ. */
export function constrainSpikeAndSlabParams(model: SpikeAndSlabRBM): void {
  const phi = model.params.hiddenPrecision;
  if (phi) tf.tidy(() => phi.assign(tf.relu(phi)));
}
