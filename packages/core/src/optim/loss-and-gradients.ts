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

const LOSS_RESULT = 'a scalar tensor, or { loss: scalar, ...auxiliary tensors or numbers }';

function checkLoss(loss: tf.Tensor): void {
  if (loss.isDisposed) throw new ConfigError('loss', 'a tensor that is still alive (this one was disposed)', loss);
  if (loss.rank !== 0) throw new ShapeError('loss', [], loss.shape, 'Return a scalar, e.g. tf.mean(...)');
}

// Loss functions may be typed tf.Tensor (tf.mean's type): the rank is checked here instead.
// Everything is checked before any aux value is cloned, so a refusal leaves nothing kept.
function checkResult(result: unknown): LossWithAux | tf.Scalar {
  if (result instanceof tf.Tensor) {
    checkLoss(result);
    return result as tf.Scalar;
  }
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new ConfigError('loss function result', `${LOSS_RESULT}, returned synchronously (gradients cannot await)`, result);
  }
  const loss = (result as { loss?: unknown } | null)?.loss;
  if (result === null || typeof result !== 'object' || Array.isArray(result) || !(loss instanceof tf.Tensor)) {
    throw new ConfigError('loss function result', LOSS_RESULT, result);
  }
  checkLoss(loss);
  for (const [name, v] of Object.entries(result)) {
    if (name === 'loss') continue;
    if (typeof v === 'number') continue;
    if (!(v instanceof tf.Tensor)) throw new ConfigError(`loss function result.${name}`, 'an auxiliary tensor or number', v);
    if (v.isDisposed) throw new ConfigError(`loss function result.${name}`, 'a tensor that is still alive (this one was disposed)', v);
  }
  return result as LossWithAux;
}

type TapeNode = { saved?: tf.Tensor[] };

/**
 * Runs a gradient computation and, if it throws, frees what tfjs's engine leaves on its tape.
 *
 * tfjs-core 4.22's `Engine.gradients` records every op of the forward pass on
 * `state.activeTape`, each node holding kept clones of the tensors its gradient needs
 * (`saveTensorsForBackwardMode`). Only the end of a successful backward pass disposes them, so
 * a loss function (or a gradient function) that throws leaves them all behind, out of reach of
 * any `tf.tidy`. The scopes and `gradientDepth` themselves are restored by the engine's
 * `scopedRun`; only the tape needs this. Inside an enclosing gradient (tf.grad around a
 * training step) the tape is shared: then only the nodes this computation added are removed.
 */
function releasingTapeOnFailure<T>(run: () => T): T {
  const state = tf.engine().state;
  const outer = state.gradientDepth > 0 ? (state.activeTape as TapeNode[] | null) : null;
  const start = outer?.length ?? 0;
  try {
    return run();
  } catch (error) {
    const tape = state.activeTape as TapeNode[] | null;
    if (outer !== null) {
      if (tape === outer) for (const node of outer.splice(start)) tf.dispose(node.saved ?? []);
    } else if (state.gradientDepth === 0 && tape) {
      for (const node of tape) tf.dispose(node.saved ?? []);
      (state as { activeTape: TapeNode[] | null }).activeTape = null;
    }
    throw error;
  }
}

function listVariables(variables: readonly tf.Variable[]): string {
  const shown = variables.slice(0, 6).map((v) => v.name);
  return variables.length > 6 ? `${shown.join(', ')}, ... (${variables.length} in all)` : shown.join(', ');
}

/**
 * The loss, auxiliary values and gradients of `fn` with respect to `variables`, in one pass.
 * `fn` is synchronous and may return `{ loss, ...aux }`: the auxiliary tensors survive the
 * gradient computation (they are cloned, so returning an input or a variable is safe) and are
 * owned by the caller with the loss and the gradients; a loss that is not a tensor `fn` made
 * (an input, a variable) is cloned too. Nothing else is kept, also when `fn` throws or returns
 * something that is refused: the engine is then as it was, with no tensor left behind.
 * Non-trainable variables get a null gradient.
 */
export function lossAndGradients(fn: () => tf.Tensor | LossWithAux, variables: readonly tf.Variable[]): LossAndGradients {
  if (typeof fn !== 'function') throw new ConfigError('loss function', 'a synchronous function returning the loss', fn);
  if (!Array.isArray(variables) || !variables.every((v) => v instanceof tf.Variable)) {
    throw new ConfigError('variables', 'an array of tf.Variable', variables);
  }
  const disposed = variables.filter((v) => v.isDisposed);
  if (disposed.length) throw new ConfigError('variables', 'variables that are still alive (these are disposed)', disposed.map((v) => v.name));
  const trainable = variables.filter((v) => v.trainable);
  if (trainable.length === 0) throw new ConfigError('variables', 'at least one trainable variable', variables);
  let aux: Record<string, tf.Tensor | number> | null = null;
  let returned: tf.Tensor | null = null;
  // Tensor ids grow with each tensor made: anything above this one was made by `fn`.
  const marker = tf.scalar(0);
  const firstId = marker.id;
  marker.dispose();
  const madeByFn = (t: tf.Tensor) => t.id > firstId && !(t instanceof tf.Variable);
  const disposeAux = () => {
    if (aux !== null) tf.dispose(Object.values(aux as Record<string, unknown>).filter((a): a is tf.Tensor => a instanceof tf.Tensor));
  };
  let computed: { value: tf.Tensor; grads: (tf.Tensor | undefined)[] };
  try {
    // engine.gradients is what tf.variableGrads runs, minus its asserts, which throw plain
    // Errors after the loss exists; the same checks follow here as typed errors.
    computed = releasingTapeOnFailure(() =>
      tf.engine().gradients(
        () => {
          const result = checkResult(fn());
          if (result instanceof tf.Tensor) return (returned = result);
          const { loss, ...rest } = result;
          returned = loss;
          // Clones keep aux values alive past the gradient's tidy without keeping the function's
          // other intermediates; a clone shares its data, so nothing is copied.
          aux = {};
          for (const [name, v] of Object.entries(rest)) aux[name] = v instanceof tf.Tensor ? tf.keep(tf.clone(v)) : v;
          return loss;
        },
        trainable,
        undefined,
        true,
      ),
    );
  } catch (error) {
    // The forward tidy leaves the returned loss alive (it is its result); the kept aux values
    // would outlive the failed gradient too.
    const loss = returned as tf.Tensor | null;
    if (loss !== null && madeByFn(loss)) loss.dispose();
    disposeAux();
    throw error;
  }
  const { value, grads } = computed;
  if (grads.every((g) => g == null)) {
    const error = new ConfigError(
      'loss function',
      `a loss computed inside the function from at least one of the variables (${listVariables(trainable)}); ` +
        'there is no connection from any of them to the loss it returned',
      value,
    );
    if (madeByFn(value)) value.dispose();
    disposeAux();
    throw error;
  }
  const byVariable = new Map<tf.Variable, tf.Tensor>();
  trainable.forEach((v, i) => {
    const g = grads[i];
    if (g) byVariable.set(v, g);
  });
  const loss = (madeByFn(value) ? value : tf.clone(value)) as tf.Scalar;
  return { loss, aux, grads: variables.map((v) => byVariable.get(v) ?? null) };
}

/**
 * {@link lossAndGradients} for the trainable leaves of a parameter tree, with the gradients
 * keyed by path (for a gradient penalty, a custom update, or {@link ParameterGroupOptimizer.applyGradients}).
 */
export function lossAndGradientsOf(
  fn: () => tf.Tensor | LossWithAux,
  params: ParamContainer,
): { loss: tf.Scalar; aux: Record<string, tf.Tensor | number> | null; grads: Map<string, tf.Tensor> } {
  if (params === null || typeof params !== 'object') {
    throw new ConfigError('params', 'a parameter tree or an array of variables', params);
  }
  const leaves = [...flattenParams(params)].filter(([, v]) => v.trainable);
  const { loss, aux, grads } = lossAndGradients(fn, leaves.map(([, v]) => v));
  const out = new Map<string, tf.Tensor>();
  leaves.forEach(([path], i) => {
    const g = grads[i];
    if (g) out.set(path, g);
  });
  return { loss, aux, grads: out };
}
