import * as tf from '@tensorflow/tfjs-core';
import { DataError, ShapeError } from '../errors.js';
import { gatherRows } from '../fast/gather-rows.js';
import type { Rng, RngLike } from '../random/rng.js';
import type { Initializer, InitializerName } from './initializers.js';
import { initVariable, layerSetup, positiveInteger } from './params.js';
import { layerNameOf } from './shape-check.js';

/** A lookup table: row i is the vector of id i (a class label, a token). */
export type EmbeddingParams = { table: tf.Variable };

export interface EmbeddingOptions {
  /** Prefix of the variable name: 'generator/label' gives 'generator/label/table'. */
  name: string;
  /** Number of ids (rows): valid ids are 0 … count − 1. */
  count: number;
  /** Length of each vector (columns). */
  dims: number;
  /** Table initializer; default {@link embeddingNormal}. */
  init?: InitializerName | Initializer;
  rng: RngLike;
}

/**
 * The default table initializer: independent N(0, 1) entries, as PyTorch's nn.Embedding. A
 * lookup has fan-in 1 (one row per example, not a sum over rows), so the fan-based initializers
 * would wrongly shrink every row as `count` grows (they read [count, dims] as a dense kernel);
 * unit variance also puts a label vector on the scale of the N(0, I) latent it is usually
 * concatenated with in a conditional generator.
 */
export const embeddingNormal: Initializer = (shape: number[], rng: Rng) => rng.normalTensor(shape, 0, 1);

export function createEmbedding(opts: EmbeddingOptions): EmbeddingParams {
  const rng = layerSetup(opts.name, opts.rng);
  const count = positiveInteger('count', opts.count);
  const dims = positiveInteger('dims', opts.dims);
  return { table: initVariable(opts.name, 'table', [count, dims], opts.init ?? embeddingNormal, rng) };
}

export interface EmbeddingCallOptions {
  /**
   * Read tensor ids back and check that each is an integer in [0, count). Default false: the
   * read is a synchronisation, which on a GPU backend stalls every training step. Ids given as
   * a JS array or typed array are always checked (they are on the host already).
   */
  checkIds?: boolean;
}

/**
 * The rows of the table for `ids`: [batch] → [batch, dims]. Differentiable with respect to the
 * table on every backend; rows of repeated ids receive the sum of their gradients.
 *
 * `ids` is a Tensor1D of int32 (or float32 holding integers, e.g. labels kept as floats), or a
 * JS array / typed array of ids (always checked). Tensor ids are read back only with
 * `{ checkIds: true }`, which makes a bad id a DataError. Unchecked, an id out of range makes
 * the cpu and wasm gather kernels throw a plain tfjs Error (GPU backends do not check), and a
 * float id is truncated towards zero.
 */
export function embedding(
  ids: tf.Tensor1D | ArrayLike<number>,
  p: EmbeddingParams,
  opts: EmbeddingCallOptions = {},
): tf.Tensor2D {
  const what = `embedding '${layerNameOf(p.table)}' ids`;
  const count = p.table.shape[0]!;
  if (ids instanceof tf.Tensor) {
    if (ids.rank !== 1) throw new ShapeError(what, [null], ids.shape, 'pass one id per example');
    if (ids.dtype !== 'int32' && ids.dtype !== 'float32') {
      throw new DataError(what, `expected int32 (or float32 holding integers) ids, got dtype ${ids.dtype}`);
    }
    if (opts.checkIds) checkIdValues(what, ids.dataSync(), count);
  } else {
    checkIdValues(what, ids, count);
  }
  return tf.tidy(() => {
    let indices: tf.Tensor1D;
    if (!(ids instanceof tf.Tensor)) indices = tf.tensor1d(Int32Array.from(ids), 'int32');
    else indices = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
    return gatherRows(p.table as tf.Tensor2D, indices);
  });
}

function checkIdValues(what: string, ids: ArrayLike<number>, count: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= count) {
      throw new DataError(what, `expected integer ids in [0, ${count - 1}], got ${String(id)} at position ${i}`);
    }
  }
}
