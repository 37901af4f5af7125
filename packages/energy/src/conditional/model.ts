import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createVariable,
  DataError,
  disposeParams,
  likelihoodFromPerExample,
  logSumExp,
  matMul,
  Rng,
  ShapeError,
  toRng,
  transpose2d,
  type GenerativeModel,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type SampleOptions,
  type Rng as RngType,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger } from '../rbm/config.js';
import { lowStates } from '../fvbm/enumerate.js';
import { CONDITIONAL_RBM_KIND, resolveConditionalRbmConfig, type ConditionalRbmConfig, type ResolvedConditionalRbmConfig } from './config.js';
import { sequenceWindows, type Sequences } from './sequences.js';

/**
 * A conditional RBM's trainable tensors: an RBM's `weights` `[V, H]` and static biases, and,
 * for order m > 0, the weights from the concatenated history `[m·V]` to the visible biases
 * (`historyToVisible`, the autoregressive A of Taylor et al. 2007, `[m·V, V]`) and to the hidden
 * biases (`historyToHidden`, their B, `[m·V, H]`).
 */
export interface ConditionalRbmParams {
  weights: tf.Variable<tf.Rank.R2>;
  visibleBias: tf.Variable<tf.Rank.R1>;
  hiddenBias: tf.Variable<tf.Rank.R1>;
  historyToVisible?: tf.Variable<tf.Rank.R2>;
  historyToHidden?: tf.Variable<tf.Rank.R2>;
}

/** The biases a history gives, one row per history. */
export interface DynamicBiases {
  /** b + u A, `[n, V]`. */
  visible: tf.Tensor2D;
  /** c + u B, `[n, H]`. */
  hidden: tf.Tensor2D;
}

/** The state of Gibbs chains run under fixed histories, one row per chain. The caller owns the tensors. */
export interface ConditionalGibbsState {
  visible: tf.Tensor2D;
  /** E[v | h, history] for the last hidden sample. */
  visibleMean: tf.Tensor2D;
  hidden: tf.Tensor2D;
}

/** Options of {@link ConditionalRBM.predict} and {@link ConditionalRBM.generate}. */
export interface ConditionalGenerateOptions {
  /** Source of every draw. */
  rng: number | RngType;
  /** Alternating Gibbs steps per frame (default 30, as Taylor et al. 2007 generate). */
  gibbsSteps?: number;
  /**
   * What each new frame is, and what is fed back as history: `'sample'` (the last visible draw;
   * default for binary units) or `'mean'` (E[v | h, history]; default for Gaussian units, whose
   * chains are run mean-field as Taylor et al. do).
   */
  output?: 'sample' | 'mean';
}

/** Options of {@link ConditionalRBM.sample}: `n` draws of the frame that follows one history. */
export interface ConditionalSampleOptions extends SampleOptions {
  /** The history `[order, V]`, oldest frame first (not needed at order 0). */
  history?: tf.Tensor2D;
  gibbsSteps?: number;
  output?: 'sample' | 'mean';
}

/** Options of the exact conditional likelihoods, which sum over all 2^H hidden states. */
export interface ConditionalExactOptions {
  /** The largest hidden layer it enumerates (default 16, at most 24). */
  maxHidden?: number;
}

/** Options of {@link ConditionalRBM.logLikelihood}. */
export interface ConditionalLikelihoodOptions extends LikelihoodOptions, ConditionalExactOptions {}

const DEFAULT_MAX_HIDDEN = 16;
const MAX_HIDDEN = 24;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The conditional RBM of Taylor, Hinton & Roweis (2007) for sequences (Goodfellow et al. 2016,
 * sec. 20.7): an RBM over the current frame v_t whose biases are linear functions of the m
 * frames before it, u = [v_{t−m}, ..., v_{t−1}] (oldest first):
 *   b̂ = b + uA,  ĉ = c + uB,
 *   E(v, h | u) = −b̂ᵀv − ĉᵀh − vᵀWh               (binary visible units),
 *   E(v, h | u) = ½‖v − b̂‖² − ĉᵀh − vᵀWh           (Gaussian units of unit variance).
 * Given the history it is an ordinary RBM, so the conditionals factorise and contrastive
 * divergence trains it (`fitConditionalRbm`); the history's weights get the same statistics
 * as the biases they drive, multiplied by u. A generates autoregressively on its own; B lets
 * the past select which hidden features are on.
 *
 * ```ts
 * const crbm = new ConditionalRBM({ visible: 6, hidden: 20, order: 2, seed: 1 });
 * ```
 */
export class ConditionalRBM implements GenerativeModel<ResolvedConditionalRbmConfig> {
  readonly kind = CONDITIONAL_RBM_KIND;
  readonly config: ResolvedConditionalRbmConfig;
  readonly params: ConditionalRbmParams;

  constructor(config: ConditionalRbmConfig) {
    this.config = resolveConditionalRbmConfig(config);
    const { visible, hidden, order, seed, initialScale } = this.config;
    const rng = new Rng(seed);
    const params: ConditionalRbmParams = {
      weights: createVariable(rng.normalTensor([visible, hidden], 0, initialScale), 'crbm/weights') as tf.Variable<tf.Rank.R2>,
      visibleBias: createVariable(tf.zeros([visible]), 'crbm/visibleBias') as tf.Variable<tf.Rank.R1>,
      hiddenBias: createVariable(tf.zeros([hidden]), 'crbm/hiddenBias') as tf.Variable<tf.Rank.R1>,
    };
    if (order > 0) {
      params.historyToVisible = createVariable(rng.normalTensor([order * visible, visible], 0, initialScale), 'crbm/historyToVisible') as tf.Variable<tf.Rank.R2>;
      params.historyToHidden = createVariable(rng.normalTensor([order * visible, hidden], 0, initialScale), 'crbm/historyToHidden') as tf.Variable<tf.Rank.R2>;
    }
    this.params = params;
  }

  get visible(): number {
    return this.config.visible;
  }

  get hidden(): number {
    return this.config.hidden;
  }

  get order(): number {
    return this.config.order;
  }

  /** m·V, the width of a concatenated history. */
  get historySize(): number {
    return this.config.order * this.config.visible;
  }

  get binaryVisible(): boolean {
    return this.config.visibleType === 'binary';
  }

  /** The biases b + uA and c + uB that each row of `history` `[n, m·V]` gives. */
  dynamicBiases(history: tf.Tensor2D): DynamicBiases {
    this.checkHistory(history, null, 'dynamicBiases');
    const { visibleBias, hiddenBias, historyToVisible, historyToHidden } = this.params;
    return tf.tidy(() => {
      const n = history.shape[0];
      if (historyToVisible === undefined || historyToHidden === undefined) {
        return {
          visible: tf.tile(tf.reshape(visibleBias, [1, this.visible]), [n, 1]) as tf.Tensor2D,
          hidden: tf.tile(tf.reshape(hiddenBias, [1, this.hidden]), [n, 1]) as tf.Tensor2D,
        };
      }
      const u = tf.cast(history, 'float32') as tf.Tensor2D;
      return {
        visible: tf.add(matMul(u, historyToVisible), visibleBias) as tf.Tensor2D,
        hidden: tf.add(matMul(u, historyToHidden), hiddenBias) as tf.Tensor2D,
      };
    });
  }

  /** ĉ + vW, the hidden units' total input given the frames and their histories, `[n, H]`. */
  hiddenLogits(v: tf.Tensor2D, history: tf.Tensor2D): tf.Tensor2D {
    this.checkFrames(v, 'hiddenLogits');
    this.checkHistory(history, v.shape[0], 'hiddenLogits');
    return tf.tidy(() => this.hiddenLogitsWith(v, this.dynamicBiases(history).hidden));
  }

  /** p(h = 1 | v, history), `[n, H]`. */
  hiddenProbabilities(v: tf.Tensor2D, history: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.hiddenLogits(v, history)));
  }

  /** E[v | h, history]: σ(b̂ + hWᵀ) for binary units, b̂ + hWᵀ for Gaussian ones, `[n, V]`. */
  visibleMean(h: tf.Tensor2D, history: tf.Tensor2D): tf.Tensor2D {
    this.checkHidden(h, 'visibleMean');
    this.checkHistory(history, h.shape[0], 'visibleMean');
    return tf.tidy(() => this.visibleMeanWith(h, this.dynamicBiases(history).visible));
  }

  /** A draw of v given its conditional mean: Bernoulli, or the mean plus N(0, 1) noise. */
  sampleVisibleFromMean(mean: tf.Tensor2D, rng: RngType): tf.Tensor2D {
    if (this.binaryVisible) return rng.bernoulli(mean);
    return tf.tidy(() => tf.add(mean, rng.normalTensor(mean.shape as [number, number])) as tf.Tensor2D);
  }

  /** E(v, h | history) for each row. */
  energy(v: tf.Tensor2D, h: tf.Tensor2D, history: tf.Tensor2D): tf.Tensor1D {
    this.checkFrames(v, 'energy');
    this.checkHidden(h, 'energy');
    this.checkHistory(history, v.shape[0], 'energy');
    if (h.shape[0] !== v.shape[0]) throw new ShapeError('energy hidden', [v.shape[0], this.hidden], h.shape, 'one hidden row per frame');
    return tf.tidy(() => {
      const biases = this.dynamicBiases(history);
      const interaction = tf.sum(tf.mul(matMul(v, this.params.weights), h), 1);
      const hiddenTerm = tf.sum(tf.mul(h, biases.hidden), 1);
      const visibleTerm = this.binaryVisible ? tf.neg(tf.sum(tf.mul(v, biases.visible), 1)) : tf.mul(tf.sum(tf.square(tf.sub(v, biases.visible)), 1), 0.5);
      return tf.sub(visibleTerm, tf.add(interaction, hiddenTerm)) as tf.Tensor1D;
    });
  }

  /** F(v | history) = −log Σ_h exp(−E(v, h | history)) for each row. */
  freeEnergy(v: tf.Tensor2D, history: tf.Tensor2D): tf.Tensor1D {
    this.checkFrames(v, 'freeEnergy');
    this.checkHistory(history, v.shape[0], 'freeEnergy');
    return tf.tidy(() => {
      const biases = this.dynamicBiases(history);
      const hiddenTerm = tf.sum(tf.softplus(this.hiddenLogitsWith(v, biases.hidden)), 1);
      const visibleTerm = this.binaryVisible ? tf.neg(tf.sum(tf.mul(v, biases.visible), 1)) : tf.mul(tf.sum(tf.square(tf.sub(v, biases.visible)), 1), 0.5);
      return tf.sub(visibleTerm, hiddenTerm) as tf.Tensor1D;
    });
  }

  /**
   * log Z(history) = log Σ_v Σ_h exp(−E(v, h | history)) for each row of `history` (an integral
   * over v for Gaussian units), exactly: v is summed out in closed form and the 2^H hidden
   * states are enumerated, in chunks. Up to `maxHidden` hidden units (default 16).
   */
  logPartitions(history: tf.Tensor2D, options: ConditionalExactOptions = {}): tf.Tensor1D {
    this.checkHistory(history, null, 'logPartitions');
    const maxHidden = options.maxHidden ?? DEFAULT_MAX_HIDDEN;
    if (!Number.isInteger(maxHidden) || maxHidden < 1 || maxHidden > MAX_HIDDEN) {
      throw new ConfigError('maxHidden', `an integer from 1 to ${MAX_HIDDEN} (default ${DEFAULT_MAX_HIDDEN})`, maxHidden);
    }
    const H = this.hidden;
    const V = this.visible;
    if (H > maxHidden) {
      throw new ConfigError(
        'conditional-rbm exact likelihood',
        `at most ${maxHidden} hidden units (2^${H} hidden states would be summed for every history); raise maxHidden (up to ${MAX_HIDDEN}) if you can wait, or compare models by their one-step prediction error`,
        `${H} hidden units`,
      );
    }
    const n = history.shape[0];
    if (n === 0) return tf.zeros([0]) as tf.Tensor1D;
    const bits = Math.min(H, 12);
    const states = 2 ** bits;
    const chunks = 2 ** (H - bits);
    // Rows go in blocks whose largest intermediate ([rows, states, V] for binary units, [rows,
    // states] for Gaussian ones) stays near 4M floats, each block in its own tidy, and the chunks
    // are folded into a running log-sum-exp: memory is bounded whatever the number of rows.
    const rowsPerBlock = Math.max(1, Math.floor(2 ** 22 / (states * (this.binaryVisible ? V : 1))));
    const biases = this.dynamicBiases(history);
    const low = lowStates(bits);
    const wt = transpose2d(this.params.weights);
    let total: tf.Tensor1D | null = null;
    try {
      for (let c = 0; c < chunks; c++) {
        const running: tf.Tensor1D | null = total;
        const next: tf.Tensor1D = tf.tidy(() => {
          let hidden = low;
          if (H > bits) {
            const high = Array.from({ length: H - bits }, (_, i) => Math.floor(c / 2 ** i) % 2);
            hidden = tf.concat([low, tf.tile(tf.tensor2d([high], [1, H - bits]), [states, 1])], 1) as tf.Tensor2D;
          }
          const hw = matMul(hidden, wt); // [S, V]: W h for every hidden state
          const hiddenT = transpose2d(hidden);
          // ∫ exp(−½‖v − b̂‖² + vᵀWh) dv = (2π)^{V/2} exp(½‖Wh‖² + b̂ᵀWh).
          const gaussianConstant = this.binaryVisible ? null : tf.add(tf.mul(tf.sum(tf.square(hw), 1), 0.5), V * HALF_LOG_TWO_PI);
          const blocks: tf.Tensor1D[] = [];
          for (let start = 0; start < n; start += rowsPerBlock) {
            const size = Math.min(rowsPerBlock, n - start);
            blocks.push(
              tf.tidy(() => {
                const visibleBias = tf.slice(biases.visible, [start, 0], [size, V]) as tf.Tensor2D;
                const hiddenTerm = matMul(tf.slice(biases.hidden, [start, 0], [size, H]) as tf.Tensor2D, hiddenT); // [size, S]
                const visibleTerm =
                  gaussianConstant === null
                    ? tf.sum(tf.softplus(tf.add(tf.expandDims(visibleBias, 1), tf.expandDims(hw, 0))), 2)
                    : tf.add(matMul(visibleBias, transpose2d(hw)), gaussianConstant);
                return logSumExp(tf.add(hiddenTerm, visibleTerm), 1) as tf.Tensor1D;
              }),
            );
          }
          const chunk = (blocks.length === 1 ? blocks[0] : tf.concat(blocks, 0)) as tf.Tensor1D;
          return (running === null ? chunk : logSumExp(tf.stack([running, chunk], 1), 1)) as tf.Tensor1D;
        });
        running?.dispose();
        total = next;
      }
      return total!;
    } catch (error) {
      total?.dispose();
      throw error;
    } finally {
      tf.dispose([biases.visible, biases.hidden, low, wt]);
    }
  }

  /**
   * log p(v | history) = −F(v | history) − log Z(history) for each row, exactly (a log-density for
   * Gaussian units). Enumerates the hidden states: see {@link logPartitions}.
   */
  conditionalLogProbability(v: tf.Tensor2D, history: tf.Tensor2D, options: ConditionalExactOptions = {}): tf.Tensor1D {
    this.checkFrames(v, 'conditionalLogProbability');
    this.checkHistory(history, v.shape[0], 'conditionalLogProbability');
    return tf.tidy(() => tf.neg(tf.add(this.freeEnergy(v, history), this.logPartitions(history, options))) as tf.Tensor1D);
  }

  /**
   * `steps` alternating Gibbs steps h → v under fixed histories, from `start` (not changed).
   * With `meanField`, each visible update takes E[v | h] instead of a draw (Taylor et al.'s
   * generation for Gaussian units).
   */
  gibbs(start: tf.Tensor2D, history: tf.Tensor2D, steps: number, rng: RngType, meanField = false): ConditionalGibbsState {
    this.checkFrames(start, 'gibbs');
    this.checkHistory(history, start.shape[0], 'gibbs');
    nonNegativeInteger('steps', steps);
    const biases = this.dynamicBiases(history);
    try {
      let visible = tf.clone(start);
      let hidden = tf.tidy(() => rng.bernoulli(tf.sigmoid(this.hiddenLogitsWith(visible, biases.hidden))));
      let visibleMean = tf.clone(start);
      for (let k = 0; k < steps; k++) {
        const next = tf.tidy(() => {
          const mean = this.visibleMeanWith(hidden, biases.visible);
          const v = meanField ? mean : this.sampleVisibleFromMean(mean, rng);
          return { mean, v, h: rng.bernoulli(tf.sigmoid(this.hiddenLogitsWith(v, biases.hidden))) };
        });
        tf.dispose([visible, hidden, visibleMean]);
        visible = next.v === next.mean ? tf.clone(next.mean) : next.v;
        hidden = next.h;
        visibleMean = next.mean;
      }
      return { visible, visibleMean, hidden };
    } finally {
      tf.dispose([biases.visible, biases.hidden]);
    }
  }

  /**
   * The next frame for each history `[n, m·V]`: `gibbsSteps` Gibbs steps (default 30) started
   * from the most recent frame of the history (Taylor et al. 2007; from a draw of the static
   * biases at order 0). Returns E[v | h, history] of the last step, or its draw with `output: 'sample'`.
   */
  predict(history: tf.Tensor2D, options: ConditionalGenerateOptions): tf.Tensor2D {
    this.checkHistory(history, null, 'predict');
    const { gibbsSteps, output, rng } = this.generateOptions(options);
    return this.nextFrame(history, gibbsSteps, output, rng);
  }

  /**
   * Rolls the model forward `frames` frames from `history` (`[m, V]`, oldest first, or a batch
   * `[n, m, V]`): each new frame is predicted from the last m frames and then joins them.
   * Returns `[frames, V]` (or `[n, frames, V]`).
   */
  generate(history: tf.Tensor2D | tf.Tensor3D, frames: number, options: ConditionalGenerateOptions): tf.Tensor2D | tf.Tensor3D {
    positiveInteger('frames', frames);
    const { gibbsSteps, output, rng } = this.generateOptions(options);
    const single = history instanceof tf.Tensor && history.rank === 2;
    if (!(history instanceof tf.Tensor) || (history.rank !== 2 && history.rank !== 3) || history.shape.at(-2) !== this.order || history.shape.at(-1) !== this.visible) {
      throw new ShapeError('generate history', [this.order, this.visible], history instanceof tf.Tensor ? history.shape : [], `the last ${this.order} frames, oldest first (or a batch [n, ${this.order}, ${this.visible}])`);
    }
    const n = single ? 1 : (history.shape[0] as number);
    const m = this.order;
    const V = this.visible;
    let window = tf.tidy(() => tf.reshape(tf.cast(history, 'float32'), [n, m * V]) as tf.Tensor2D);
    const produced: tf.Tensor2D[] = [];
    try {
      for (let f = 0; f < frames; f++) {
        const frame = this.nextFrame(window, gibbsSteps, output, rng);
        produced.push(frame);
        if (m > 0) {
          const shifted = tf.tidy(() => (m === 1 ? tf.clone(frame) : (tf.concat([tf.slice(window, [0, V], [n, (m - 1) * V]), frame], 1) as tf.Tensor2D)));
          window.dispose();
          window = shifted;
        }
      }
      return tf.tidy(() => {
        const all = tf.stack(produced, 1) as tf.Tensor3D;
        return single ? (tf.reshape(all, [frames, V]) as tf.Tensor2D) : all;
      });
    } finally {
      window.dispose();
      tf.dispose(produced);
    }
  }

  /** `n` draws of the frame that follows `options.history` (`[order, V]`), each by its own chain. */
  sample(n: number, options: ConditionalSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, history, gibbsSteps?, output? }', options);
    const history = options.history ?? (this.order === 0 ? (tf.zeros([0, this.visible]) as tf.Tensor2D) : undefined);
    if (history === undefined) {
      throw new ConfigError('sample options.history', `the ${this.order} frames [${this.order}, ${this.visible}] that the sampled frame follows: a conditional RBM samples given its past`, undefined);
    }
    try {
      if (!(history instanceof tf.Tensor) || history.rank !== 2 || history.shape[0] !== this.order || history.shape[1] !== this.visible) {
        throw new ShapeError('sample history', [this.order, this.visible], history instanceof tf.Tensor ? history.shape : [], 'the last frames, oldest first');
      }
      const { gibbsSteps, output, rng } = this.generateOptions({ rng: options.rng, gibbsSteps: options.gibbsSteps, output: options.output ?? 'sample' });
      const windows = tf.tidy(() => tf.tile(tf.reshape(tf.cast(history, 'float32'), [1, this.historySize]), [n, 1]) as tf.Tensor2D);
      try {
        return this.nextFrame(windows, gibbsSteps, output, rng);
      } finally {
        windows.dispose();
      }
    } finally {
      if (history !== options.history) history.dispose();
    }
  }

  /**
   * The exact mean of log p(v_t | v_{t−m}, ..., v_{t−1}) over every frame with a full history of
   * the sequence(s) `x` (`[T, V]`, or `[sequences, T, V]`), kind `'exact'`: the hidden states are
   * enumerated (up to `maxHidden`, default 16). For Gaussian units it is a log-density.
   */
  async logLikelihood(x: tf.Tensor, options: ConditionalLikelihoodOptions): Promise<LikelihoodEstimate> {
    const data = options?.data as unknown;
    if (data === null || typeof data !== 'object') {
      throw new ConfigError('options.data', "{ dataset, split, binarization } naming what x is, e.g. { dataset: 'bars', split: 'test', binarization: 'none (binary data)' }", data);
    }
    if (!(x instanceof tf.Tensor) || (x.rank !== 2 && x.rank !== 3)) throw new ShapeError('logLikelihood x', [null, this.visible], x instanceof tf.Tensor ? x.shape : [], 'a sequence [T, V] or sequences [S, T, V]');
    const sequences: Sequences = x.rank === 2 ? [x as tf.Tensor2D] : (x as tf.Tensor3D);
    const windows = sequenceWindows(sequences, this.order, this.visible, 'logLikelihood x');
    try {
      if (this.binaryVisible) await checkBinary(windows.frames, 'logLikelihood x');
      const perExample = this.conditionalLogProbability(windows.frames, windows.histories, { maxHidden: options.maxHidden });
      const values = await perExample.data();
      perExample.dispose();
      const { dataset, split, binarization } = data as LikelihoodOptions['data'];
      return likelihoodFromPerExample(values, {
        kind: 'exact',
        protocol: {
          dataset,
          split,
          binarization,
          method: 'exact',
          details: {
            model: CONDITIONAL_RBM_KIND,
            conditional: `log p(v_t | v_{t-${this.order}}, ..., v_{t-1}) per frame, frames with a full history only`,
            order: this.order,
            hidden: this.hidden,
            visibleType: this.config.visibleType,
          },
        },
      });
    } finally {
      tf.dispose([windows.frames, windows.histories]);
    }
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws unless `v` is `[n, V]`. */
  checkFrames(v: tf.Tensor, what: string): void {
    if (!(v instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.visible}] tensor of frames`, v);
    if (v.rank !== 2 || v.shape[1] !== this.visible) throw new ShapeError(`${this.kind} ${what} frames`, [null, this.visible], v.shape);
  }

  /** Throws unless `h` is `[n, H]`. */
  checkHidden(h: tf.Tensor, what: string): void {
    if (!(h instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.hidden}] tensor`, h);
    if (h.rank !== 2 || h.shape[1] !== this.hidden) throw new ShapeError(`${this.kind} ${what} hidden`, [null, this.hidden], h.shape);
  }

  /** Throws unless `history` is `[rows, m·V]` (with `rows` rows when given). */
  checkHistory(history: tf.Tensor, rows: number | null, what: string): void {
    if (!(history instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.historySize}] tensor of concatenated histories`, history);
    if (history.rank !== 2 || history.shape[1] !== this.historySize || (rows !== null && history.shape[0] !== rows)) {
      throw new ShapeError(`${this.kind} ${what} history`, [rows, this.historySize], history.shape, `the ${this.order} previous frames of each row, concatenated oldest first`);
    }
  }

  private hiddenLogitsWith(v: tf.Tensor2D, hiddenBias: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(matMul(tf.cast(v, 'float32') as tf.Tensor2D, this.params.weights), hiddenBias) as tf.Tensor2D);
  }

  private visibleMeanWith(h: tf.Tensor2D, visibleBias: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const total = tf.add(matMul(h, transpose2d(this.params.weights)), visibleBias) as tf.Tensor2D;
      return this.binaryVisible ? tf.sigmoid(total) : total;
    });
  }

  private generateOptions(options: ConditionalGenerateOptions): { gibbsSteps: number; output: 'sample' | 'mean'; rng: RngType } {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object { rng, gibbsSteps?, output? }', options);
    const gibbsSteps = positiveInteger('gibbsSteps', options.gibbsSteps ?? 30);
    const output = options.output ?? (this.binaryVisible ? 'sample' : 'mean');
    if (output !== 'sample' && output !== 'mean') throw new ConfigError('output', "'sample' or 'mean'", output);
    return { gibbsSteps, output, rng: toRng(options.rng) };
  }

  private nextFrame(history: tf.Tensor2D, gibbsSteps: number, output: 'sample' | 'mean', rng: RngType): tf.Tensor2D {
    const n = history.shape[0];
    const start = tf.tidy(() => {
      if (this.order > 0) return tf.slice(history, [0, this.historySize - this.visible], [n, this.visible]) as tf.Tensor2D;
      const bias = this.dynamicBiases(history).visible;
      return this.binaryVisible ? rng.bernoulli(tf.sigmoid(bias)) : bias;
    });
    const state = this.gibbs(start, history, gibbsSteps, rng, !this.binaryVisible);
    start.dispose();
    tf.dispose([state.hidden, state.visible]);
    if (output === 'mean') return state.visibleMean;
    // Gaussian chains run mean-field, so a draw is taken from the last mean only here.
    const draw = this.sampleVisibleFromMean(state.visibleMean, rng);
    state.visibleMean.dispose();
    return draw;
  }
}

/** Throws a DataError unless every entry is 0 or 1. */
async function checkBinary(x: tf.Tensor2D, what: string): Promise<void> {
  const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.mul(x, tf.sub(1, x)))), tf.min(x), tf.max(x)]));
  const [offBinary, low, high] = await stats.data();
  stats.dispose();
  if (!(offBinary === 0)) {
    throw new DataError(what, `expected binary frames (0 or 1) for a conditional RBM with binary visible units, got values from ${low} to ${high}; binarize them, or use visibleType: 'gaussian' for real-valued data`);
  }
}
