import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { flattenParams, type ParamContainer } from '../params/tree.js';

/**
 * What a loss function may return besides a bare scalar: the loss under `loss`, and auxiliary
 * values beside it (a VAE's reconstruction and KL terms, a GAN's discriminator accuracy) that
 * are reported but not differentiated.
 */
export interface LossWithAux {
  /** A scalar (rank 0: checked when the function runs). */
  loss: tf.Tensor;
  [name: string]: tf.Tensor | number;
}

/** What {@link ParameterGroupOptimizer.minimize} hands back for a loss function returning `A`. */
export type MinimizeResult<A extends LossWithAux> = { [K in keyof A]: K extends 'loss' ? tf.Scalar : A[K] };

export interface LossAndGradients {
  loss: tf.Scalar;
  /** The auxiliary values, or null when the function returned a bare scalar. */
  aux: Record<string, tf.Tensor | number> | null;
  /** One gradient per variable, in the order given; null where the loss does not depend on it. */
  grads: (tf.Tensor | null)[];
}

// Loss functions may be typed tf.Tensor (tf.mean's type): the rank is checked here instead.
function checkResult(result: unknown): LossWithAux | tf.Scalar {
  if (result instanceof tf.Tensor) {
    if (result.rank !== 0) throw new ShapeError('loss', [], result.shape, 'return a scalar, e.g. tf.mean(...)');
    return result as tf.Scalar;
  }
  const loss = (result as { loss?: unknown } | null)?.loss;
  if (!(loss instanceof tf.Tensor)) {
    throw new ConfigError('loss function result', 'a scalar tensor, or { loss: scalar, ...auxiliary values }', result);
  }
  if (loss.rank !== 0) throw new ShapeError('loss', [], loss.shape, 'return a scalar, e.g. tf.mean(...)');
  return result as LossWithAux;
}

/**
 * The loss, auxiliary values and gradients of `fn` with respect to `variables`, in one pass.
 * `fn` is synchronous and may return `{ loss, ...aux }`: the auxiliary tensors survive the
 * gradient computation (they are cloned, so returning an input or a variable is safe) and are
 * owned by the caller with the loss and the gradients. Nothing else is kept.
 */
export function lossAndGradients(fn: () => tf.Tensor | LossWithAux, variables: readonly tf.Variable[]): LossAndGradients {
  let aux: Record<string, tf.Tensor | number> | null = null;
  let returned: tf.Tensor | null = null;
  // Tensor ids grow with each tensor made: anything above this one was made by `fn`.
  const marker = tf.scalar(0);
  const firstId = marker.id;
  marker.dispose();
  let computed: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    computed = tf.variableGrads(() => {
      const result = checkResult(fn());
      if (result instanceof tf.Tensor) return (returned = result);
      const { loss, ...rest } = result;
      returned = loss;
      // Clones keep aux values alive past the gradient's tidy without keeping the function's
      // other intermediates; a clone shares its data, so nothing is copied.
      aux = {};
      for (const [name, v] of Object.entries(rest)) aux[name] = v instanceof tf.Tensor ? tf.keep(tf.clone(v)) : v;
      return loss as tf.Scalar;
    }, variables as tf.Variable[]);
  } catch (error) {
    // tfjs keeps the loss before it finds that no variable leads to it; the kept aux values
    // would outlive the failed gradient too.
    const loss = returned as tf.Tensor | null;
    if (loss !== null && loss.id > firstId && !(loss instanceof tf.Variable)) loss.dispose();
    if (aux !== null) tf.dispose(Object.values(aux as Record<string, unknown>).filter((a): a is tf.Tensor => a instanceof tf.Tensor));
    throw error;
  }
  const { value, grads } = computed;
  return { loss: value, aux, grads: variables.map((v) => grads[v.name] ?? null) };
}

/**
 * {@link lossAndGradients} for the trainable leaves of a parameter tree, with the gradients
 * keyed by path (for a gradient penalty, a custom update, or {@link ParameterGroupOptimizer.applyGradients}).
 */
export function lossAndGradientsOf(
  fn: () => tf.Tensor | LossWithAux,
  params: ParamContainer,
): { loss: tf.Scalar; aux: Record<string, tf.Tensor | number> | null; grads: Map<string, tf.Tensor> } {
  const leaves = [...flattenParams(params)].filter(([, v]) => v.trainable);
  const { loss, aux, grads } = lossAndGradients(fn, leaves.map(([, v]) => v));
  const out = new Map<string, tf.Tensor>();
  leaves.forEach(([path], i) => {
    const g = grads[i];
    if (g) out.set(path, g);
  });
  return { loss, aux, grads: out };
}
