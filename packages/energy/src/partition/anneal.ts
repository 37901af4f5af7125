import * as tf from '@tensorflow/tfjs-core';
import { addScaledDifference, ConfigError, transpose2d, type Rng } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/**
 * The path of distributions that AIS and RAISE anneal along, for an RBM with binary hidden units
 * and a base model A with the same visible units, no weights, visible biases b_A and hidden
 * biases 0 (Salakhutdinov & Murray 2008, eq. 13-15):
 *
 *   E_β(v, h) = (1 − β) E_A(v) + β E(v, h),   f_β(v) = Σ_h exp(−E_β(v, h)),
 *
 * with f_0 the base model (times 2^H for its hidden units, which W_A = 0 leaves uniform) and f_1
 * the RBM's exp(−F(v)). Binary visible units give
 *   log f_β(v) = b_Aᵀv + β dᵀv + Σ_j softplus(β x_j),   x = vW + c,   d = b − b_A,
 * and Gaussian ones (the base model N(b_A, σ²) with the RBM's σ)
 *   log f_β(v) = −Σ_i [(1 − β)(v_i − b_A,i)² + β(v_i − b_i)²] / 2σ_i² + Σ_j softplus(β x_j),
 *   x = (v/σ²)W + c,
 * whose β-dependent visible part is β (d̃ᵀv − κ) with d̃ = d/σ² and κ = Σ_i (b_i² − b_A,i²)/2σ_i².
 * Both are linear in β apart from the softplus terms, so one step's log-weight increment is
 *   log f_b(v) − log f_a(v) = (b − a)(d̃ᵀv − κ) + Σ_j [softplus(b x_j) − softplus(a x_j)].
 *
 * The transition at β is one block Gibbs step: h ~ σ(β x), then v ~ σ(b_A + β(d + Wh)) or
 * v ~ N(b_A + β(d + Wh), σ²). It is reversible with respect to f_β, as RAISE needs.
 *
 * To make a step a handful of ops, the weights are augmented once: an extra column d̃ of the up
 * matrix makes one product give x and d̃ᵀv together, and an extra row d of the down matrix, met
 * by an extra hidden "unit" held at 1, makes one fused product give b_A + β(d + Wh).
 */
export interface AnnealingPath {
  readonly visible: number;
  readonly hidden: number;
  /** [W' | d̃], `[visible, hidden + 1]`; W' = W for binary units, diag(1/σ²) W for Gaussian ones. */
  readonly up: tf.Tensor2D;
  /** [Wᵀ; d], `[hidden + 1, visible]`. */
  readonly down: tf.Tensor2D;
  /** [0, ..., 0, 1], `[hidden + 1]`: sets the extra column of a hidden sample to 1. */
  readonly lastColumn: tf.Tensor1D;
  /** [c | 0], `[hidden + 1]`. */
  readonly hiddenBias: tf.Tensor1D;
  readonly baseBias: tf.Tensor1D;
  /** σ of Gaussian visible units; null for binary ones. */
  readonly sigma: tf.Tensor1D | null;
  /** κ (0 for binary units). */
  readonly kappa: number;
  /** log Z_A of the base model, including its 2^H hidden states. */
  readonly logZBase: number;
  dispose(): void;
}

/** Builds the path from the RBM's current parameters and the base model's visible biases (not kept). */
export async function annealingPath(rbm: RestrictedBoltzmannMachine, baseBias: tf.Tensor1D): Promise<AnnealingPath> {
  const { weights, visibleBias, hiddenBias, logVariance } = rbm.params;
  const V = rbm.visible;
  const H = rbm.hidden;
  if (!rbm.binaryVisible && logVariance === undefined) {
    throw new ConfigError('rbm', 'an RBM with binary visible units, or Gaussian ones with params.logVariance', rbm.kind);
  }
  const gaussian = !rbm.binaryVisible;
  const tensors = tf.tidy(() => {
    // A placeholder for binary units keeps the container's type free of null (tidy's requirement).
    const sigma = gaussian ? (tf.exp(tf.mul(logVariance as tf.Tensor1D, 0.5)) as tf.Tensor1D) : tf.zeros([0]);
    const precision = rbm.binaryVisible ? null : tf.exp(tf.neg(logVariance as tf.Tensor1D));
    const drift = tf.sub(visibleBias, baseBias) as tf.Tensor1D;
    const scaledWeights = precision ? tf.mul(weights, tf.reshape(precision, [V, 1])) : weights;
    const scaledDrift = precision ? tf.mul(drift, precision) : drift;
    const up = tf.concat([scaledWeights, tf.reshape(scaledDrift, [V, 1])], 1) as tf.Tensor2D;
    const down = tf.concat([transpose2d(weights), tf.reshape(drift, [1, V])], 0) as tf.Tensor2D;
    const lastColumn = tf.concat([tf.zeros([H]), tf.ones([1])]) as tf.Tensor1D;
    const bias = tf.concat([hiddenBias, tf.zeros([1])]) as tf.Tensor1D;
    // log Z_A: Σ_i softplus(b_A,i) for binary units, Σ_i ½ log(2πσ_i²) for Gaussian ones; and H log 2.
    const logZVisible = precision
      ? tf.mul(tf.sum(tf.add(logVariance as tf.Tensor1D, Math.log(2 * Math.PI))), 0.5)
      : tf.sum(tf.softplus(baseBias));
    const kappa = precision ? tf.mul(tf.sum(tf.mul(tf.sub(tf.square(visibleBias), tf.square(baseBias)), precision)), 0.5) : tf.scalar(0);
    return { sigma, up, down, lastColumn, bias, baseBias: tf.clone(baseBias), scalars: tf.stack([logZVisible, kappa]) };
  });
  const [logZVisible, kappa] = await tensors.scalars.data();
  tensors.scalars.dispose();
  if (!Number.isFinite(logZVisible) || !Number.isFinite(kappa)) {
    tf.dispose([tensors.sigma, tensors.up, tensors.down, tensors.lastColumn, tensors.bias, tensors.baseBias]);
    throw new ConfigError('base model', 'finite visible biases and variances', { logZVisible, kappa });
  }
  return {
    visible: V,
    hidden: H,
    up: tensors.up,
    down: tensors.down,
    lastColumn: tensors.lastColumn,
    hiddenBias: tensors.bias,
    baseBias: tensors.baseBias,
    sigma: gaussian ? (tensors.sigma as tf.Tensor1D) : null,
    kappa: kappa as number,
    logZBase: (logZVisible as number) + H * Math.LN2,
    dispose() {
      tf.dispose([tensors.up, tensors.down, tensors.lastColumn, tensors.bias, tensors.baseBias, tensors.sigma]);
    },
  };
}

/** x_aug = v [W' | d̃] + [c | 0]: the hidden input and, in the last column, d̃ᵀv. */
function hiddenInput(path: AnnealingPath, v: tf.Tensor2D): tf.Tensor2D {
  return tf.fused.matMul({ a: v, b: path.up, bias: path.hiddenBias }) as tf.Tensor2D;
}

/**
 * One Gibbs step at β from the scaled hidden input βx; returns the new visible state. The
 * visible input b_A + β(d + Wh) is one fused product [βh | β] · [Wᵀ; d] + b_A: the sampled
 * value of the extra column is replaced by 1 (it multiplies d).
 */
function transition(path: AnnealingPath, scaledInput: tf.Tensor2D, beta: number, rng: Rng): tf.Tensor2D {
  const h = tf.mul(tf.maximum(rng.bernoulli(tf.sigmoid(scaledInput)), path.lastColumn), beta) as tf.Tensor2D;
  if (path.sigma === null) {
    return rng.bernoulli(tf.fused.matMul({ a: h, b: path.down, bias: path.baseBias, activation: 'sigmoid' }) as tf.Tensor2D);
  }
  const mean = tf.fused.matMul({ a: h, b: path.down, bias: path.baseBias }) as tf.Tensor2D;
  return tf.add(mean, tf.mul(rng.normalTensor([mean.shape[0], path.visible]), path.sigma)) as tf.Tensor2D;
}

/** `n` exact samples of the base model, `[n, visible]`. */
export function baseSamples(path: AnnealingPath, n: number, rng: Rng): tf.Tensor2D {
  return tf.tidy(() => {
    const bias = tf.tile(tf.reshape(path.baseBias, [1, path.visible]), [n, 1]) as tf.Tensor2D;
    if (path.sigma === null) return rng.bernoulli(tf.sigmoid(bias));
    return tf.add(bias, tf.mul(rng.normalTensor([n, path.visible]), path.sigma)) as tf.Tensor2D;
  });
}

/** Steps per block: a block's increments are summed in float32 on the device, blocks in float64 in JS. */
const BLOCK = 100;

/** Gives the event loop a turn between blocks (a browser tab stays responsive during a long run). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Per-row log-weights accumulated over a sweep. Within a block the running sums stay on the
 * device as `[rows, hidden + 1]` matrices: the softplus differences, and the differences of the
 * scaled inputs bx − ax = (b − a) x whose last column is (b − a) d̃ᵀv. A block ends in one
 * `[rows]` tensor; the blocks are read back together at the end and summed in float64.
 */
class WeightAccumulator {
  private softplus: tf.Tensor2D | null = null;
  private linear: tf.Tensor2D | null = null;
  private steps = 0;
  private readonly blocks: tf.Tensor1D[] = [];

  constructor(private readonly hidden: number) {}

  /**
   * The sums after adding log f_b(v) − log f_a(v) (less the constant (b − a)κ), given ax and bx
   * for x = hiddenInput(v). Call inside a tidy; hand the result to {@link commit} outside it.
   */
  next(ax: tf.Tensor2D, bx: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const spb = tf.softplus(bx) as tf.Tensor2D;
    const spa = tf.softplus(ax) as tf.Tensor2D;
    return [
      this.softplus ? addScaledDifference(this.softplus, spb, spa, 1) : (tf.sub(spb, spa) as tf.Tensor2D),
      this.linear ? addScaledDifference(this.linear, bx, ax, 1) : (tf.sub(bx, ax) as tf.Tensor2D),
    ];
  }

  /** Replaces the sums by those {@link next} returned; closes the block every {@link BLOCK} steps. */
  commit([softplus, linear]: [tf.Tensor2D, tf.Tensor2D]): void {
    if (this.softplus) this.softplus.dispose();
    if (this.linear) this.linear.dispose();
    this.softplus = softplus;
    this.linear = linear;
    if (++this.steps === BLOCK) this.flush();
  }

  /** Closes the running block: Σ_j<H of the softplus sums plus the last column of the linear sums. */
  private flush(): void {
    if (this.softplus === null || this.linear === null) return;
    const rows = this.softplus.shape[0];
    const softplus = this.softplus;
    const linear = this.linear;
    this.blocks.push(
      tf.tidy(() => tf.add(tf.sum(tf.slice(softplus, [0, 0], [rows, this.hidden]), 1), tf.reshape(tf.slice(linear, [0, this.hidden], [rows, 1]), [rows])) as tf.Tensor1D),
    );
    tf.dispose([softplus, linear]);
    this.softplus = null;
    this.linear = null;
    this.steps = 0;
  }

  /** The per-row totals in float64 (one read-back); disposes everything it held. */
  async totals(rows: number): Promise<Float64Array> {
    this.flush();
    const out = new Float64Array(rows);
    if (this.blocks.length === 0) return out;
    const stacked = tf.stack(this.blocks);
    tf.dispose(this.blocks);
    this.blocks.length = 0;
    const values = await stacked.data();
    stacked.dispose();
    for (let k = 0; k < values.length; k++) out[k % rows] = (out[k % rows] as number) + (values[k] as number);
    return out;
  }

  dispose(): void {
    if (this.softplus) this.softplus.dispose();
    if (this.linear) this.linear.dispose();
    tf.dispose(this.blocks);
    this.blocks.length = 0;
  }
}

/** Progress callback: steps done and steps in all. */
export type AnnealingProgress = (done: number, total: number) => void;

/**
 * Forward AIS from `n` base samples: returns log w per chain, w = Π_k f_k(v_k) / f_{k−1}(v_k)
 * (Neal 2001), so that E[w] = Z / Z_A. Reads back once, at the end.
 */
export async function forwardAnneal(path: AnnealingPath, betas: Float64Array, n: number, rng: Rng, onProgress?: AnnealingProgress): Promise<Float64Array> {
  const K = betas.length - 1;
  const acc = new WeightAccumulator(path.hidden);
  let x = tf.tidy(() => hiddenInput(path, baseSamples(path, n, rng)));
  try {
    for (let k = 1; k <= K; k++) {
      const a = betas[k - 1] as number;
      const b = betas[k] as number;
      // One tidy per temperature: the weight increment at v_k, then v_{k+1} ~ T_k(· | v_k).
      const step = tf.tidy(() => {
        const bx = tf.mul(x, b) as tf.Tensor2D;
        const sums = acc.next(tf.mul(x, a) as tf.Tensor2D, bx);
        return k < K ? [...sums, hiddenInput(path, transition(path, bx, b, rng))] : sums;
      });
      acc.commit([step[0]!, step[1]!]);
      if (step[2]) {
        x.dispose();
        x = step[2];
      }
      if (k % BLOCK === 0) {
        onProgress?.(k, K);
        await yieldToEventLoop();
      }
    }
    onProgress?.(K, K);
    const totals = await acc.totals(n);
    // The constant part of the linear increments: Σ_k (β_k − β_{k−1}) κ = κ.
    for (let r = 0; r < n; r++) totals[r] = (totals[r] as number) - path.kappa;
    return totals;
  } finally {
    x.dispose();
    acc.dispose();
  }
}

/**
 * The reverse sweep of RAISE (Burda, Grosse & Salakhutdinov 2015) from the given visible rows
 * (`[n, visible]`, not changed): for k = K..1, v_{k−1} ~ T_k(· | v_k), accumulating
 * log f_{k−1}(v_{k−1}) − log f_k(v_{k−1}). Returns that sum per row; the caller adds
 * log f_K(x) − log Z_A.
 */
export async function reverseAnneal(path: AnnealingPath, betas: Float64Array, start: tf.Tensor2D, rng: Rng, onProgress?: AnnealingProgress): Promise<Float64Array> {
  const K = betas.length - 1;
  const n = start.shape[0];
  const acc = new WeightAccumulator(path.hidden);
  // hi: the scaled input β_k x of the current state, for the transition at β_k.
  let hi = tf.tidy(() => tf.mul(hiddenInput(path, start), betas[K] as number) as tf.Tensor2D);
  try {
    for (let k = K; k >= 1; k--) {
      const b = betas[k] as number;
      const a = betas[k - 1] as number;
      // One tidy per temperature: v_{k−1} ~ T_k(· | v_k), then the increment log f_a − log f_b there.
      const step = tf.tidy(() => {
        const x = hiddenInput(path, transition(path, hi, b, rng));
        const ax = tf.mul(x, a) as tf.Tensor2D;
        return [...acc.next(tf.mul(x, b) as tf.Tensor2D, ax), ax];
      });
      acc.commit([step[0]!, step[1]!]);
      hi.dispose();
      hi = step[2]!;
      if ((K - k + 1) % BLOCK === 0) {
        onProgress?.(K - k + 1, K);
        await yieldToEventLoop();
      }
    }
    onProgress?.(K, K);
    const totals = await acc.totals(n);
    // Σ_k (β_{k−1} − β_k) (−κ) = +κ.
    for (let r = 0; r < n; r++) totals[r] = (totals[r] as number) + path.kappa;
    return totals;
  } finally {
    hi.dispose();
    acc.dispose();
  }
}
