import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  conv2dFilterGradient,
  conv2dOp,
  conv2dTransposeOp,
  createVariable,
  disposeParams,
  Rng,
  ShapeError,
  toRng,
  type GenerativeModel,
  type SampleOptions,
} from '@helmholtz/core';
import { nonNegativeInteger } from '../rbm/config.js';
import {
  CONVOLUTIONAL_RBM_KIND,
  resolveConvolutionalRbmConfig,
  type ConvolutionalRbmConfig,
  type ResolvedConvolutionalRbmConfig,
} from './config.js';
import { blockLogNormaliser, blockProbabilities, fromBlocks, poolingLayer, sampleBlocks, toBlocks } from './pooling.js';

/**
 * A convolutional RBM's variables: `filters` `[f, f, channels, K]` (the layout of tf.conv2d's
 * kernel), one bias per filter shared by all its detection units, one per visible channel.
 */
export interface ConvolutionalRbmParams {
  filters: tf.Variable<tf.Rank.R4>;
  visibleBias: tf.Variable<tf.Rank.R1>;
  hiddenBias: tf.Variable<tf.Rank.R1>;
}

/** Batch sums of −∂E(v, h)/∂θ, keyed like {@link ConvolutionalRbmParams}. */
export type ConvolutionalRbmStatistics = { [K in keyof ConvolutionalRbmParams]: tf.Tensor };

/** p(h | v) of both hidden layers. The caller owns the tensors. */
export interface ConvolutionalPosterior {
  /** p(h_ij^k = 1 | v), `[n, H', W', K]`. */
  detection: tf.Tensor4D;
  /** p(pooling unit on | v) = 1 − 1 / (1 + Σ_block exp(I)), `[n, H'/p, W'/p, K]`. */
  pooling: tf.Tensor4D;
}

/** The state of Gibbs chains after some steps (images `[n, H, W, C]`, detection units `[n, H', W', K]`). */
export interface ConvolutionalGibbsState {
  /** The last visible sample. */
  visible: tf.Tensor4D;
  /** E[v | h] for the last hidden sample. */
  visibleMean: tf.Tensor4D;
  /** The last detection-layer sample. */
  hidden: tf.Tensor4D;
}

/** Options of {@link ConvolutionalRBM.sample}. */
export interface ConvolutionalRbmSampleOptions extends SampleOptions {
  /** Full Gibbs steps v → h → v (default 1000). */
  steps?: number;
  /** `'noise'` (default: uniform bits, or N(b, σ²)) or images `[n, H, W, C]` to start from (not changed). */
  start?: tf.Tensor4D | 'noise';
  /** `'sample'` (default) returns the last visible sample; `'mean'` its conditional mean. */
  output?: 'sample' | 'mean';
}

/**
 * A convolutional restricted Boltzmann machine with probabilistic max-pooling (Lee, Grosse,
 * Ranganath & Ng 2009; section 20.6 of Goodfellow et al. 2016). The visible layer is an image
 * v `[H, W, C]`; each of K filters W^k `[f, f, C]` has a detection layer h^k of size
 * H' × W' = (H − f + 1) × (W − f + 1), sharing one bias b_k, and a pooling layer over disjoint
 * p × p blocks of it. With c_c the bias of channel c, the energy of binary units is
 *   E(v, h) = −Σ_k Σ_ij h_ij^k (W^k ⋆ v)_ij − Σ_k b_k Σ_ij h_ij^k − Σ_c c_c Σ_xy v_xyc,
 * ⋆ being the 'valid' correlation of tf.conv2d (the paper's convolution with the flipped filter),
 * for configurations with at most one detection unit on per block (others have energy +∞).
 * So, with I(h_ij^k) = b_k + (W^k ⋆ v)_ij, each block is a softmax with an extra "off" state:
 *   p(h_ij^k = 1 | v) = exp(I(h_ij^k)) / (1 + Σ_block exp(I)),
 * the pooling unit is on with probability 1 − 1 / (1 + Σ_block exp(I)), and the visible units
 * are independent given h: p(v_xyc = 1 | h) = σ(c_c + Σ_k (h^k ∗ W^k)_xyc), a full convolution
 * (tf.conv2dTranspose). Gaussian visible units (`visibleUnits: 'gaussian'`) replace the last
 * term of E by Σ (v − c_c)² / (2σ²) and v by v / σ² in the interaction, so p(v | h) is
 * N(c_c + Σ_k (h^k ∗ W^k)_xyc, σ²).
 *
 * The free energy sums each block's p² + 1 states in closed form,
 *   F(v) = −Σ_c c_c Σ_xy v_xyc − Σ_blocks log(1 + Σ_block exp(I)),
 * so p(v) ∝ exp(−F(v)) is known up to Z (which is not: sampling by block Gibbs, training by CD).
 *
 * Pooling probabilities are the features (`poolingProbabilities`), and the input of the next
 * layer of a convolutional DBN; `encode`/`decode` use the detection layer, which `decode` maps
 * back to an image.
 *
 * ```ts
 * import { ConvolutionalRBM } from '@helmholtz/energy';
 * const crbm = new ConvolutionalRBM({ imageShape: [28, 28, 1], filters: 24, filterSize: 9, poolSize: 2, seed: 1 });
 * ```
 */
export class ConvolutionalRBM implements GenerativeModel<ConvolutionalRbmConfig> {
  readonly kind = CONVOLUTIONAL_RBM_KIND;
  readonly config: ResolvedConvolutionalRbmConfig;
  readonly params: ConvolutionalRbmParams;

  constructor(config: ConvolutionalRbmConfig) {
    this.config = resolveConvolutionalRbmConfig(config);
    const { imageShape, filters, filterSize, seed, initialScale } = this.config;
    const channels = imageShape[2];
    const rng = new Rng(seed);
    this.params = {
      filters: createVariable(rng.normalTensor([filterSize, filterSize, channels, filters], 0, initialScale), 'crbm/filters') as tf.Variable<tf.Rank.R4>,
      visibleBias: createVariable(tf.zeros([channels]), 'crbm/visibleBias') as tf.Variable<tf.Rank.R1>,
      hiddenBias: createVariable(tf.zeros([filters]), 'crbm/hiddenBias') as tf.Variable<tf.Rank.R1>,
    };
  }

  /** Whether the visible units are binary (else Gaussian). */
  get binaryVisible(): boolean {
    return this.config.visibleUnits === 'binary';
  }

  /** σ of Gaussian visible units (1 for binary ones, where it plays no part). */
  get visibleStd(): number {
    return this.config.visibleStd ?? 1;
  }

  private get visibleVariance(): number {
    return this.visibleStd ** 2;
  }

  /** The visible image `[H, W, C]`. */
  get imageShape(): [number, number, number] {
    return [...this.config.imageShape];
  }

  /** The detection layer of one image, `[H', W', K]` = `[H − f + 1, W − f + 1, K]`. */
  get detectionShape(): [number, number, number] {
    const { imageShape, filterSize, filters } = this.config;
    return [imageShape[0] - filterSize + 1, imageShape[1] - filterSize + 1, filters];
  }

  /** The pooling layer of one image, `[H'/p, W'/p, K]`. */
  get poolingShape(): [number, number, number] {
    const [h, w, k] = this.detectionShape;
    const p = this.config.poolSize;
    return [h / p, w / p, k];
  }

  /** The visible units' input to the hidden layers: v, or v / σ² for Gaussian units. */
  visibleInput(v: tf.Tensor4D): tf.Tensor4D {
    if (this.binaryVisible) return v;
    return tf.mul(v, 1 / this.visibleVariance);
  }

  /** I(h_ij^k) = b_k + (W^k ⋆ s(v))_ij, the detection units' inputs, `[n, H', W', K]`. */
  hiddenLogits(v: tf.Tensor4D): tf.Tensor4D {
    this.checkVisible(v, 'hiddenLogits');
    return tf.tidy(() => tf.add(conv2dOp(this.visibleInput(v), this.params.filters, [1, 1], 'valid'), this.params.hiddenBias));
  }

  /** p(h_ij^k = 1 | v), `[n, H', W', K]`. */
  hiddenProbabilities(v: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.posteriorBlocks(v).detection);
  }

  /** p(pooling unit on | v), `[n, H'/p, W'/p, K]`: the features of the image. */
  poolingProbabilities(v: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.posteriorBlocks(v).pooling);
  }

  /** Both layers' probabilities from one pass. */
  posterior(v: tf.Tensor4D): ConvolutionalPosterior {
    return tf.tidy(() => {
      const { detection, pooling } = this.posteriorBlocks(v);
      return { detection, pooling };
    });
  }

  /** A sample of the detection layer from p(h | v): in each block one unit on, or none. */
  sampleHidden(v: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    return tf.tidy(() => this.sampleFromBlocks(this.posteriorBlocks(v).blocks, v.shape[0], rng));
  }

  /**
   * p(h | v) of the detection layer and a sample from it, from one pass (what a CD update
   * needs: probabilities for the statistics, a sample to go on with the chain).
   */
  sampleHiddenWithProbabilities(v: tf.Tensor4D, rng: Rng): { probabilities: tf.Tensor4D; sample: tf.Tensor4D } {
    return tf.tidy(() => {
      const { blocks, detection } = this.posteriorBlocks(v);
      return { probabilities: detection, sample: this.sampleFromBlocks(blocks, v.shape[0], rng) };
    });
  }

  /** The pooling layer of a detection-layer state: 1 where a block has a unit on. */
  poolHidden(h: tf.Tensor4D): tf.Tensor4D {
    this.checkHidden(h, 'poolHidden');
    const p = this.config.poolSize;
    return tf.tidy(() => poolingLayer(tf.sum(toBlocks(h, p), 0) as tf.Tensor1D, h.shape, p));
  }

  /** c_c + Σ_k (h^k ∗ W^k), the full convolution of the detection layer with the filters, `[n, H, W, C]`. */
  visibleLogits(h: tf.Tensor4D): tf.Tensor4D {
    this.checkHidden(h, 'visibleLogits');
    const [height, width, channels] = this.config.imageShape;
    return tf.tidy(() => tf.add(conv2dTransposeOp(h, this.params.filters, [h.shape[0], height, width, channels], [1, 1], 'valid'), this.params.visibleBias));
  }

  /** E[v | h]: σ(visibleLogits) for binary units, visibleLogits itself for Gaussian ones. */
  visibleMean(h: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => (this.binaryVisible ? tf.sigmoid(this.visibleLogits(h)) : this.visibleLogits(h)));
  }

  /** A sample of v given its conditional mean: Bernoulli draws, or the mean plus N(0, σ²) noise. */
  sampleVisibleFromMean(mean: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    if (this.binaryVisible) return rng.bernoulli(mean);
    return tf.tidy(() => tf.add(mean, rng.normalTensor(mean.shape, 0, this.visibleStd)));
  }

  /** A sample v ~ p(v | h). */
  sampleVisible(h: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    return tf.tidy(() => this.sampleVisibleFromMean(this.visibleMean(h), rng));
  }

  /** `n` images to start chains from: uniform bits, or N(c, σ²). */
  noiseVisible(n: number, rng: Rng): tf.Tensor4D {
    const shape: [number, number, number, number] = [n, ...this.config.imageShape];
    return tf.tidy(() => {
      if (this.binaryVisible) return rng.bernoulli(tf.fill(shape, 0.5) as tf.Tensor4D);
      return tf.add(rng.normalTensor(shape, 0, this.visibleStd), this.params.visibleBias);
    });
  }

  /**
   * E(v, h) for each pair of an image and a detection-layer state (binary); +∞ where a block
   * has more than one unit on, a state of probability zero.
   */
  energy(v: tf.Tensor4D, h: tf.Tensor4D): tf.Tensor1D {
    this.checkVisible(v, 'energy');
    this.checkHidden(h, 'energy');
    this.checkPair(v, h, 'energy');
    return tf.tidy(() => {
      const n = v.shape[0];
      const interaction = tf.sum(tf.reshape(tf.mul(h, this.hiddenLogits(v)), [n, -1]), 1);
      return tf.add(this.forbidden(h), tf.sub(this.visibleEnergy(v), interaction)) as tf.Tensor1D;
    });
  }

  /** F(v) = −log Σ_h exp(−E(v, h)) for each image: the visible term minus Σ_blocks log(1 + Σ_block exp(I)). */
  freeEnergy(v: tf.Tensor4D): tf.Tensor1D {
    this.checkVisible(v, 'freeEnergy');
    return tf.tidy(() => {
      const hidden = tf.sum(tf.reshape(this.posteriorBlocks(v).logNormaliser, [v.shape[0], -1]), 1);
      return tf.sub(this.visibleEnergy(v), hidden) as tf.Tensor1D;
    });
  }

  /**
   * F(h) = −log Σ_v exp(−E(v, h)) (a sum over binary images, an integral over real ones) for
   * each detection-layer state; +∞ where a block has more than one unit on.
   */
  hiddenFreeEnergy(h: tf.Tensor4D): tf.Tensor1D {
    this.checkHidden(h, 'hiddenFreeEnergy');
    return tf.tidy(() => {
      const n = h.shape[0];
      const perImage = (x: tf.Tensor) => tf.sum(tf.reshape(x, [n, -1]), 1);
      const biases = perImage(tf.mul(h, this.params.hiddenBias));
      const logits = this.visibleLogits(h);
      let visible: tf.Tensor;
      if (this.binaryVisible) {
        visible = perImage(tf.softplus(logits));
      } else {
        // ∫ exp(−(v − c)²/(2σ²) + v·a/σ²) dv = (2πσ²)^(D/2) exp(((c + a)² − c²)/(2σ²)), a = Σ_k h^k ∗ W^k.
        const s2 = this.visibleVariance;
        const quadratic = perImage(tf.div(tf.sub(tf.square(logits), tf.square(this.params.visibleBias)), 2 * s2));
        const d = this.config.imageShape.reduce((a, b) => a * b, 1);
        visible = tf.add(quadratic, (d / 2) * Math.log(2 * Math.PI * s2));
      }
      return tf.add(this.forbidden(h), tf.neg(tf.add(biases, visible))) as tf.Tensor1D;
    });
  }

  /**
   * Batch sums of −∂E/∂θ at images v and detection states or probabilities h: for the filters
   * the correlation of s(v) with h, Σ_n Σ_ij s(v)_{i+a, j+b, c} h_ij^k, computed as a
   * convolution's filter gradient (core's, which runs on XNNPACK on wasm, where tfjs has no
   * Conv2DBackpropFilter).
   */
  statistics(v: tf.Tensor4D, h: tf.Tensor4D): ConvolutionalRbmStatistics {
    this.checkVisible(v, 'statistics');
    this.checkHidden(h, 'statistics');
    this.checkPair(v, h, 'statistics');
    return tf.tidy(() => {
      const s = this.visibleInput(v);
      const visibleBias = this.binaryVisible ? tf.sum(v, [0, 1, 2]) : tf.sum(tf.sub(s, tf.div(this.params.visibleBias, this.visibleVariance)), [0, 1, 2]);
      return {
        filters: conv2dFilterGradient(s, h, this.params.filters.shape, [1, 1], 'valid'),
        visibleBias,
        hiddenBias: tf.sum(h, [0, 1, 2]),
      };
    });
  }

  /**
   * `steps` full steps of block Gibbs sampling v → h → v from `start` (not changed): every
   * pooling block's p² + 1 states drawn at once given v, then every pixel given h.
   */
  gibbs(start: tf.Tensor4D, steps: number, rng: Rng): ConvolutionalGibbsState {
    this.checkVisible(start, 'gibbs');
    nonNegativeInteger('steps', steps);
    let visible = tf.clone(start);
    let hidden = this.sampleHidden(visible, rng);
    let visibleMean = tf.clone(start);
    for (let k = 0; k < steps; k++) {
      const next = tf.tidy(() => {
        const mean = this.visibleMean(hidden);
        const v = this.sampleVisibleFromMean(mean, rng);
        return { mean, v, h: this.sampleHidden(v, rng) };
      });
      tf.dispose([visible, hidden, visibleMean]);
      visible = next.v;
      hidden = next.h;
      visibleMean = next.mean;
    }
    return { visible, visibleMean, hidden };
  }

  /** `n` images `[n, H, W, C]` from the model by `steps` Gibbs steps (default 1000) from noise or from given images. */
  sample(n: number, options: ConvolutionalRbmSampleOptions): tf.Tensor4D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, steps?, start?, output? }', options);
    const { steps = 1000, start = 'noise', output = 'sample' } = options;
    nonNegativeInteger('steps', steps);
    if (output !== 'sample' && output !== 'mean') throw new ConfigError('output', "'sample' or 'mean'", output);
    const rng = toRng(options.rng);
    let initial: tf.Tensor4D;
    if (start === 'noise') {
      initial = this.noiseVisible(n, rng);
    } else if (start instanceof tf.Tensor) {
      const want = [n, ...this.config.imageShape];
      if (start.rank !== 4 || start.shape.some((d, i) => d !== want[i])) throw new ShapeError('sample start', want, start.shape, 'one image per sample');
      initial = tf.clone(start);
    } else {
      throw new ConfigError('start', "'noise' or an [n, height, width, channels] tensor", start);
    }
    const state = this.gibbs(initial, Math.max(steps, 1), rng);
    initial.dispose();
    const keep = output === 'mean' ? state.visibleMean : state.visible;
    tf.dispose([state.hidden, output === 'mean' ? state.visible : state.visibleMean]);
    return keep;
  }

  /** p(h | x) of the detection layer, the code {@link decode} maps back (see {@link poolingProbabilities} for features). */
  encode(x: tf.Tensor): tf.Tensor4D {
    return this.hiddenProbabilities(x as tf.Tensor4D);
  }

  /** E[v | h] for detection-layer codes h (probabilities or states). */
  decode(h: tf.Tensor): tf.Tensor4D {
    return this.visibleMean(h as tf.Tensor4D);
  }

  /** The mean-field reconstruction E[v | h = p(h | x)]. */
  reconstruct(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => this.visibleMean(this.hiddenProbabilities(x as tf.Tensor4D)));
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws a ShapeError unless `v` is `[n, H, W, C]`. */
  checkVisible(v: tf.Tensor, what: string): void {
    const want = [null, ...this.config.imageShape];
    if (!(v instanceof tf.Tensor)) throw new ConfigError(what, `an [n, ${this.config.imageShape.join(', ')}] tensor`, v);
    if (v.rank !== 4 || v.shape.some((d, i) => i > 0 && d !== want[i])) throw new ShapeError(`${this.kind} ${what} visible`, want, v.shape, 'images as [n, height, width, channels]');
  }

  /** Throws a ShapeError unless `h` is a detection layer `[n, H', W', K]`. */
  checkHidden(h: tf.Tensor, what: string): void {
    const want = [null, ...this.detectionShape];
    if (!(h instanceof tf.Tensor)) throw new ConfigError(what, `an [n, ${this.detectionShape.join(', ')}] tensor`, h);
    if (h.rank !== 4 || h.shape.some((d, i) => i > 0 && d !== want[i])) throw new ShapeError(`${this.kind} ${what} hidden`, want, h.shape, 'the detection layer [n, H − f + 1, W − f + 1, filters]');
  }

  private checkPair(v: tf.Tensor, h: tf.Tensor, what: string): void {
    if (v.shape[0] !== h.shape[0]) throw new ShapeError(`${this.kind} ${what} hidden`, [v.shape[0], ...this.detectionShape], h.shape, 'one detection state per image');
  }

  /** The inputs as blocks, their normalisers and both layers' probabilities (call inside a tidy). */
  private posteriorBlocks(v: tf.Tensor4D) {
    const logits = this.hiddenLogits(v);
    const p = this.config.poolSize;
    const blockLogits = toBlocks(logits, p);
    const logNormaliser = blockLogNormaliser(blockLogits);
    const blocks = blockProbabilities(blockLogits, logNormaliser);
    // 1 − exp(−log Z) loses every digit when log Z is tiny; the sum of the units' probabilities does not.
    const pooling = poolingLayer(tf.sum(blocks, 0) as tf.Tensor1D, logits.shape, p);
    return { blocks, logNormaliser, pooling, detection: fromBlocks(blocks, logits.shape, p) };
  }

  private sampleFromBlocks(blocks: tf.Tensor2D, n: number, rng: Rng): tf.Tensor4D {
    return fromBlocks(sampleBlocks(blocks, rng), [n, ...this.detectionShape], this.config.poolSize);
  }

  /** The visible units' energy term for each image: −Σ c_c v for binary units, Σ (v − c)²/(2σ²) for Gaussian ones. */
  private visibleEnergy(v: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const n = v.shape[0];
      const c = this.params.visibleBias;
      const terms = this.binaryVisible ? tf.neg(tf.mul(v, c)) : tf.div(tf.square(tf.sub(v, c)), 2 * this.visibleVariance);
      return tf.sum(tf.reshape(terms, [n, -1]), 1) as tf.Tensor1D;
    });
  }

  /** 0 for each state with at most one unit on per block, +∞ for the others. */
  private forbidden(h: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const n = h.shape[0];
      const p = this.config.poolSize;
      const perBlock = poolingLayer(tf.sum(toBlocks(h, p), 0) as tf.Tensor1D, h.shape, p);
      // States are 0/1, so a block with two units on sums to 2: 1.5 leaves room for rounding.
      const bad = tf.any(tf.greater(tf.reshape(perBlock, [n, -1]), 1.5), 1);
      return tf.where(bad, tf.fill([n], Infinity), tf.zeros([n])) as tf.Tensor1D;
    });
  }
}
