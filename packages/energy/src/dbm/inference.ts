import * as tf from '@tensorflow/tfjs-core';
import { matMul, type Rng } from '@helmholtz/core';

/**
 * A DBM's energy in its plain (uncentred) form,
 *   E(x) = −Σ_l b_lᵀ x_l − Σ_l x_lᵀ W_l x_{l+1},   x_0 = v, x_1 = h1, ..., x_L = hL,
 * with `weights[l]` = W_l `[n_l, n_{l+1}]` and `biases[l]` = b_l `[n_l]`. A centred DBM is
 * turned into this form by folding its offsets into the biases (see `DBM.effectiveBiases`).
 * The functions here work on these terms and run inside the caller's `tf.tidy`.
 */
export interface DbmTerms {
  readonly weights: readonly tf.Tensor2D[];
  readonly biases: readonly tf.Tensor1D[];
}

/** Index of the top layer, L. */
export function topLayer(terms: DbmTerms): number {
  return terms.biases.length - 1;
}

/** The odd layers h1, h3, ...: conditionally independent of each other given the even ones. */
export function oddLayers(top: number): number[] {
  const out: number[] = [];
  for (let l = 1; l <= top; l += 2) out.push(l);
  return out;
}

/** The even layers v, h2, h4, ... (`fromLayer` 2 leaves the visible layer out). */
export function evenLayers(top: number, fromLayer = 0): number[] {
  const out: number[] = [];
  for (let l = fromLayer; l <= top; l += 2) out.push(l);
  return out;
}

/**
 * What layer l receives from its neighbours' states, x_{l−1} W_{l−1} + x_{l+1} W_lᵀ (row per
 * example; `states[l]` itself is not read).
 */
export function neighbourInput(weights: readonly tf.Tensor2D[], states: readonly tf.Tensor2D[], l: number): tf.Tensor2D {
  const top = weights.length;
  let total: tf.Tensor2D | null = null;
  if (l > 0) total = matMul(states[l - 1] as tf.Tensor2D, weights[l - 1] as tf.Tensor2D);
  if (l < top) {
    const down = matMul(states[l + 1] as tf.Tensor2D, weights[l] as tf.Tensor2D, false, true);
    total = total === null ? down : (tf.add(total, down) as tf.Tensor2D);
  }
  return total as tf.Tensor2D;
}

/**
 * The total input of layer l, b_l + x_{l−1} W_{l−1} + x_{l+1} W_lᵀ: the logit of
 * p(x_l = 1 | x_{l−1}, x_{l+1}) and of the mean-field update of layer l.
 */
export function layerInput(terms: DbmTerms, states: readonly tf.Tensor2D[], l: number): tf.Tensor2D {
  return tf.add(neighbourInput(terms.weights, states, l), terms.biases[l] as tf.Tensor1D) as tf.Tensor2D;
}

/** v W_0: the data's input to h1, which stays the same through mean-field inference of q(h | v). */
export function dataInput(terms: DbmTerms, v: tf.Tensor2D): tf.Tensor2D {
  return matMul(v, terms.weights[0] as tf.Tensor2D);
}

/**
 * The start of mean-field inference: one bottom-up pass with the weights of every layer that
 * has a layer above it doubled, σ(b_l + 2 μ_{l−1} W_{l−1}), standing in for the top-down input
 * that is not known yet (the same approximation as the doubled weights of greedy pre-training,
 * Salakhutdinov & Hinton 2009, sec. 3.1); the top layer gets its single input. Returns
 * `[v, μ_1, ..., μ_L]` (`v` itself at index 0). `fromData` is {@link dataInput}, when the
 * caller has it.
 */
export function bottomUpPass(terms: DbmTerms, v: tf.Tensor2D, fromData?: tf.Tensor2D): tf.Tensor2D[] {
  const top = topLayer(terms);
  const mu: tf.Tensor2D[] = [v];
  for (let l = 1; l <= top; l++) {
    const up = l === 1 && fromData ? fromData : matMul(mu[l - 1] as tf.Tensor2D, terms.weights[l - 1] as tf.Tensor2D);
    const input = tf.add(l < top ? tf.mul(up, 2) : up, terms.biases[l] as tf.Tensor1D);
    mu.push(tf.sigmoid(input) as tf.Tensor2D);
  }
  return mu;
}

/**
 * One sweep of the mean-field fixed-point updates (Salakhutdinov & Hinton 2009, eq. 9-10;
 * Goodfellow et al. 2016, sec. 20.4.2): every odd layer from its two neighbours, then every even
 * hidden layer from the new odd ones, μ_l ← σ(b_l + μ_{l−1} W_{l−1} + μ_{l+1} W_lᵀ). Units of one
 * parity do not interact, so each half-sweep maximises the variational bound exactly over its
 * layers given the others: the bound never decreases and the sweeps converge to a fixed point.
 * `mu[0]` (the data) is kept; `fromData` ({@link dataInput}) saves recomputing v W_0 each sweep.
 * Returns a new array; the tensors of `mu` are not disposed.
 */
export function meanFieldSweep(terms: DbmTerms, mu: readonly tf.Tensor2D[], fromData?: tf.Tensor2D): tf.Tensor2D[] {
  const top = topLayer(terms);
  const next = [...mu];
  for (const l of oddLayers(top)) {
    const input =
      l === 1 && fromData
        ? tf.add(tf.add(fromData, matMul(next[2] as tf.Tensor2D, terms.weights[1] as tf.Tensor2D, false, true)), terms.biases[1] as tf.Tensor1D)
        : layerInput(terms, next, l);
    next[l] = tf.sigmoid(input) as tf.Tensor2D;
  }
  for (const l of evenLayers(top, 2)) next[l] = tf.sigmoid(layerInput(terms, next, l));
  return next;
}

/**
 * One block Gibbs sweep over every layer: the odd layers given the even ones, then the even ones
 * (visible included unless `clampVisible`) given the new odd ones. Returns new samples.
 */
export function gibbsSweep(terms: DbmTerms, states: readonly tf.Tensor2D[], rng: Rng, clampVisible = false): tf.Tensor2D[] {
  const top = topLayer(terms);
  const next = [...states];
  for (const l of oddLayers(top)) next[l] = rng.bernoulli(tf.sigmoid(layerInput(terms, next, l)));
  for (const l of evenLayers(top, clampVisible ? 2 : 0)) next[l] = rng.bernoulli(tf.sigmoid(layerInput(terms, next, l)));
  return next;
}

/** Energy of joint states, one row per example: −Σ b_lᵀx_l − Σ x_lᵀ W_l x_{l+1}. */
export function jointEnergy(terms: DbmTerms, states: readonly tf.Tensor2D[]): tf.Tensor1D {
  const top = topLayer(terms);
  let negative = tf.zeros([(states[0] as tf.Tensor2D).shape[0]]) as tf.Tensor1D;
  for (let l = 0; l <= top; l++) {
    const x = states[l] as tf.Tensor2D;
    negative = tf.add(negative, tf.sum(tf.mul(x, terms.biases[l] as tf.Tensor1D), 1)) as tf.Tensor1D;
    if (l < top) {
      const pair = tf.sum(tf.mul(matMul(x, terms.weights[l] as tf.Tensor2D), states[l + 1] as tf.Tensor2D), 1);
      negative = tf.add(negative, pair) as tf.Tensor1D;
    }
  }
  return tf.neg(negative) as tf.Tensor1D;
}

/** Σ_j of the Bernoulli entropy of each unit with mean μ, per row, safe at 0 and 1. */
export function bernoulliEntropy(mu: tf.Tensor2D): tf.Tensor1D {
  const eps = 1e-7;
  const p = tf.clipByValue(mu, eps, 1 - eps);
  const h = tf.neg(tf.add(tf.mul(p, tf.log(p)), tf.mul(tf.sub(1, p), tf.log1p(tf.neg(p)))));
  return tf.sum(h, 1) as tf.Tensor1D;
}
