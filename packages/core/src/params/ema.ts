import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { assignParams, createVariable, flattenParams, type ParamContainer, type ParamTree } from './tree.js';

export interface ParameterAverageOptions {
  /** Weight of the old average in each update, in [0, 1]; 0.999 is common for GAN generators. */
  decay: number;
  /**
   * Start with a smaller decay, min(decay, (1 + t) / (10 + t)) at the t-th update (counted from
   * 0), so early averages are not dominated by the initial weights. TensorFlow's
   * ExponentialMovingAverage does this when given `num_updates`. Default false.
   */
  warmup?: boolean;
  /** Prefix of the engine names of the averages, e.g. 'generatorEma'; unique per instance. */
  name: string;
  /**
   * Which leaves to average (default all). Every chosen leaf must be float32: leave counters
   * and other integer state out here.
   */
  include?: (path: string, variable: tf.Variable) => boolean;
}

/**
 * An exponential moving average of a parameter tree (Polyak averaging): sample a GAN's
 * generator with averaged weights (Karras et al. 2018, ProGAN, decay 0.999; Yazıcı et al. 2019).
 */
export interface ParameterAverage {
  /** The averages: non-trainable variables at the same paths as the parameters they follow. */
  readonly averages: ParamTree;
  /** Number of updates so far (int32 scalar, non-trainable); the warm-up reads it. */
  readonly updates: tf.Variable<tf.Rank.R0>;
  /**
   * `{ averages, updates }`: put it in the model's non-trainable state tree so checkpoints
   * save it and a resumed run continues the averages and the warm-up where they were.
   */
  readonly state: { averages: ParamTree; updates: tf.Variable<tf.Rank.R0> };
  /**
   * avg ← avg − (1 − d)·(avg − param) for every averaged leaf (equal to d·avg + (1 − d)·param,
   * and exact once they agree), then counts the update. Runs on the device; reads nothing back.
   */
  update(): void;
  /** Assigns the averages to the same paths of `target` (default: the averaged tree). */
  copyTo(target?: ParamContainer): void;
  /**
   * Runs `fn` with the averages in the live parameters, then puts the originals back exactly,
   * also when `fn` throws or its promise rejects. Anything `fn` writes to those parameters is
   * discarded. Meant for sampling and evaluation: while it runs (an async `fn` included), other
   * code that reads the parameters sees the averages, and `update()` is refused.
   */
  withAveragedParams<T>(fn: () => T): T;
  /** Disposes the averages and the counter (not the parameters they follow). */
  dispose(): void;
}

const OPTION_KEYS = ['decay', 'warmup', 'name', 'include'];

function setPath(tree: ParamTree, path: string, leaf: tf.Variable): void {
  const keys = path.split('/');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (child === undefined) node = node[key] = {};
    else node = child as ParamTree;
  }
  node[keys[keys.length - 1]!] = leaf;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Creates an exponential moving average of `params`, starting from copies of their current
 * values. Call `update()` after each optimizer step of those parameters.
 */
export function createParameterAverage(params: ParamContainer, options: ParameterAverageOptions): ParameterAverage {
  for (const key of Object.keys(options ?? {})) {
    if (!OPTION_KEYS.includes(key)) throw new ConfigError('parameter average option', `one of ${OPTION_KEYS.join(', ')}`, key);
  }
  const { decay, warmup = false, name, include = () => true } = options ?? ({} as ParameterAverageOptions);
  if (typeof name !== 'string' || !name) throw new ConfigError('parameter average name', 'a non-empty string', name);
  if (typeof decay !== 'number' || !(decay >= 0 && decay <= 1)) {
    throw new ConfigError('parameter average decay', 'a number in [0, 1] (e.g. 0.999)', decay);
  }
  if (typeof warmup !== 'boolean') throw new ConfigError('parameter average warmup', 'a boolean', warmup);
  if (typeof include !== 'function') throw new ConfigError('parameter average include', 'a function (path, variable) => boolean', include);

  // flattenParams lists a variable reachable by two paths (tied weights) once, under its first
  // path, so it gets one average and is assigned once.
  const live: [string, tf.Variable][] = [];
  for (const [path, v] of flattenParams(params)) {
    if (!include(path, v)) continue;
    if (v.dtype !== 'float32') {
      throw new ConfigError(`dtype of ${path}`, 'float32 (leave other leaves out with `include`)', v.dtype);
    }
    live.push([path, v]);
  }
  if (live.length === 0) throw new ConfigError('parameters to average', 'at least one float32 leaf', 'none');

  const averages: ParamTree = {};
  const pairs: [tf.Variable, tf.Variable][] = live.map(([path, v]) => {
    const avg = createVariable(tf.clone(v), `${name}/averages/${path}`, false);
    setPath(averages, path, avg);
    return [avg, v];
  });
  const updates = createVariable(tf.scalar(0, 'int32'), `${name}/updates`, false) as tf.Variable<tf.Rank.R0>;
  let swapped = false;
  let disposed = false;
  const refuseDisposed = (call: string): void => {
    if (disposed) throw new ConfigError('parameter average', 'an average that has not been disposed', `${call} after dispose()`);
  };

  const refuseWhileSwapped = (call: string): void => {
    if (swapped) {
      throw new ConfigError(
        `parameter average '${name}'`,
        'update(), copyTo() into the averaged tree and withAveragedParams() only outside withAveragedParams (the live parameters hold the averages until it returns)',
        `${call} during withAveragedParams`,
      );
    }
  };

  return {
    averages,
    updates,
    state: { averages, updates },

    update() {
      refuseDisposed('update()');
      refuseWhileSwapped('update()');
      tf.tidy(() => {
        let keep: tf.Scalar | number = 1 - decay;
        if (warmup) {
          const t = tf.cast(updates, 'float32');
          keep = tf.sub(1, tf.minimum(decay, tf.div(tf.add(t, 1), tf.add(t, 10)))) as tf.Scalar;
        }
        for (const [avg, v] of pairs) avg.assign(tf.sub(avg, tf.mul(tf.sub(avg, v), keep)));
        updates.assign(tf.add(updates, tf.scalar(1, 'int32')));
      });
    },

    copyTo(target = params) {
      refuseDisposed('copyTo()');
      if (target === params) refuseWhileSwapped('copyTo()');
      assignParams(target, new Map(live.map(([path], i) => [path, pairs[i]![0]])));
    },

    withAveragedParams<T>(fn: () => T): T {
      refuseDisposed('withAveragedParams()');
      refuseWhileSwapped('withAveragedParams()');
      // The clones keep the original values alive (cpu shares the buffer rather than copying);
      // assign repoints each variable, so the swap and the restore are exact.
      const originals = pairs.map(([, v]) => tf.clone(v));
      swapped = true;
      const restore = (): void => {
        pairs.forEach(([, v], i) => v.assign(originals[i]!));
        tf.dispose(originals);
        swapped = false;
      };
      let result: T;
      try {
        // Inside the try: a failing assign part way still puts every parameter back.
        pairs.forEach(([avg, v]) => v.assign(avg));
        result = fn();
      } catch (e) {
        restore();
        throw e;
      }
      if (isPromiseLike(result)) return Promise.resolve(result).finally(restore) as T;
      restore();
      return result;
    },

    dispose() {
      if (disposed) return;
      refuseWhileSwapped('dispose()');
      disposed = true;
      for (const [avg] of pairs) avg.dispose();
      updates.dispose();
    },
  };
}
