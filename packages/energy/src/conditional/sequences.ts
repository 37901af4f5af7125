import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@helmholtz/core';

/** Sequences as a list of `[T, V]` frames (lengths may differ) or one `[sequences, T, V]` tensor. */
export type Sequences = tf.Tensor2D[] | tf.Tensor3D;

/**
 * The training pairs of a model of order m: every frame v_t with t ≥ m, beside its history, the
 * m frames before it concatenated oldest first, [v_{t−m}, ..., v_{t−1}]. The caller owns them.
 */
export interface SequenceWindows {
  /** `[pairs, V]`. */
  frames: tf.Tensor2D;
  /** `[pairs, m·V]`. */
  histories: tf.Tensor2D;
}

/** The list of `[T, V]` sequences in `sequences`, checked; a Tensor3D is unstacked (the caller disposes those). */
function asList(sequences: Sequences, visible: number, what: string): { list: tf.Tensor2D[]; owned: boolean } {
  if (sequences instanceof tf.Tensor) {
    if (sequences.rank !== 3 || sequences.shape[2] !== visible) throw new ShapeError(what, [null, null, visible], sequences.shape, 'a [sequences, T, V] tensor or a list of [T, V] tensors');
    return { list: tf.unstack(sequences) as tf.Tensor2D[], owned: true };
  }
  if (!Array.isArray(sequences) || sequences.length === 0) throw new ConfigError(what, 'a non-empty list of [T, V] tensors or a [sequences, T, V] tensor', sequences);
  sequences.forEach((s, i) => {
    if (!(s instanceof tf.Tensor)) throw new ConfigError(`${what}[${i}]`, `a [T, ${visible}] tensor`, s);
    if (s.rank !== 2 || s.shape[1] !== visible) throw new ShapeError(`${what}[${i}]`, [null, visible], s.shape, 'one row per frame');
  });
  return { list: sequences, owned: false };
}

/**
 * Every (frame, history) pair of every sequence for a model of `order` m with `visible` units per
 * frame. A sequence needs more than m frames to give a pair; shorter ones give none, and a set
 * that gives none at all is a ConfigError.
 */
export function sequenceWindows(sequences: Sequences, order: number, visible: number, what = 'sequences'): SequenceWindows {
  const { list, owned } = asList(sequences, visible, what);
  try {
    const usable = list.filter((s) => s.shape[0] > order);
    if (usable.length === 0) {
      throw new ConfigError(what, `at least one sequence longer than the order (${order} frames of history, so ${order + 1} frames or more)`, list.map((s) => s.shape[0]));
    }
    return tf.tidy(() => {
      const frames: tf.Tensor2D[] = [];
      const histories: tf.Tensor2D[] = [];
      for (const s of usable) {
        const pairs = s.shape[0] - order;
        const x = tf.cast(s, 'float32') as tf.Tensor2D;
        frames.push(tf.slice(x, [order, 0], [pairs, visible]));
        histories.push(
          order === 0 ? (tf.zeros([pairs, 0]) as tf.Tensor2D) : (tf.concat(Array.from({ length: order }, (_, k) => tf.slice(x, [k, 0], [pairs, visible])), 1) as tf.Tensor2D),
        );
      }
      return { frames: tf.concat(frames, 0) as tf.Tensor2D, histories: tf.concat(histories, 0) as tf.Tensor2D };
    });
  } finally {
    if (owned) tf.dispose(list);
  }
}
