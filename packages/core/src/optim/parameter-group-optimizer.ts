import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import { flattenParams, type ParamTree } from '../params/tree.js';
import { clipByGlobalNorm, clipByValue } from './clipping.js';
import { resolveOptimizerConfig, type OptimizerConfig, type ResolvedOptimizerConfig } from './config.js';
import {
  createTfOptimizer,
  disposeTfOptimizer,
  setHyperparameters,
  slotsPerVariable,
  slotVariables,
} from './tfjs-internals.js';

/** One tensor of an optimizer's state, as tf.train's getWeights/setWeights list them. */
export interface OptimizerWeight {
  name: string;
  tensor: tf.Tensor;
}

/** Gradients keyed by a variable's tree path (`encoder/dense1/kernel`) or its engine name. */
export type NamedGradients = Record<string, tf.Tensor> | Map<string, tf.Tensor>;

/**
 * A tf.train optimizer bound to one parameter group: a fixed, ordered list of variables.
 *
 * `tf.train` optimizers update every trainable variable in the engine unless given a list,
 * and key their moments by position in that list. This class always passes its own list in
 * its own order, so a GAN's generator optimizer can never move the discriminator, and Adam's
 * moments stay attached to the right parameters. Use one per parameter group.
 *
 * Learning rate and momentum may follow schedules of {@link ParameterGroupOptimizer.iterations};
 * gradients are clipped (by value, then by global norm) when the config asks for it.
 */
export class ParameterGroupOptimizer {
  /** The group, in the order the optimizer state follows. */
  readonly variables: readonly tf.Variable[];
  /** Stable names of the variables: tree paths when built from a tree, else engine names. */
  readonly names: readonly string[];
  private readonly resolved: ResolvedOptimizerConfig;
  private readonly optimizer: tf.Optimizer;
  private readonly byKey = new Map<string, number>();
  private disposed = false;

  constructor(
    readonly config: OptimizerConfig,
    variables: ParamTree | readonly tf.Variable[],
  ) {
    this.resolved = resolveOptimizerConfig(config);
    let entries: [string, tf.Variable][];
    if (Array.isArray(variables)) {
      entries = (variables as readonly tf.Variable[]).map((v) => {
        if (!(v instanceof tf.Variable)) throw new ConfigError('variables', 'tf.Variable instances', v);
        return [v.name, v];
      });
    } else {
      entries = [...flattenParams(variables as ParamTree)].filter(([, v]) => v.trainable);
    }
    if (entries.length === 0) throw new ConfigError('variables', 'at least one trainable variable', variables);
    this.variables = entries.map(([, v]) => v);
    this.names = entries.map(([name]) => name);
    entries.forEach(([name, v], i) => {
      if (this.byKey.has(v.name) && this.byKey.get(v.name) !== i) {
        throw new ConfigError('variables', 'each variable once', v.name);
      }
      this.byKey.set(name, i);
      this.byKey.set(v.name, i);
    });
    this.optimizer = createTfOptimizer(this.resolved, this.variables, this.names);
  }

  /** Updates applied so far; schedules are evaluated at this step. */
  get iterations(): number {
    return this.optimizer.iterations;
  }

  /** The learning rate the next update will use. */
  get learningRate(): number {
    return this.resolved.learningRate(this.iterations);
  }

  /** The momentum the next update will use (0 for kinds without one). */
  get momentum(): number {
    return this.resolved.momentum(this.iterations);
  }

  /**
   * Computes the gradients of `lossFn` with respect to exactly this group's variables, clips
   * them if configured, and applies one update. `lossFn` must be synchronous. Returns the loss
   * (a tensor the caller owns, not read back); the gradients are disposed.
   */
  minimize(lossFn: () => tf.Scalar): tf.Scalar {
    this.checkAlive();
    const { value, grads } = tf.variableGrads(lossFn, this.variables as tf.Variable[]);
    try {
      this.apply(this.variables.map((v) => grads[v.name] ?? null));
    } catch (error) {
      value.dispose();
      throw error;
    } finally {
      tf.dispose(Object.values(grads).filter((g) => g != null));
    }
    return value;
  }

  /**
   * Applies gradients computed elsewhere, e.g. contrastive-divergence statistics of an RBM
   * (pass the negative log-likelihood gradient: the update is `w ← w − lr · g` for SGD).
   * Keys are tree paths or engine names; variables without an entry are left alone this step.
   * The caller keeps ownership of `grads`.
   */
  applyGradients(grads: NamedGradients): void {
    this.checkAlive();
    const list: (tf.Tensor | null)[] = this.variables.map(() => null);
    const entries = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
    for (const [key, g] of entries) {
      const i = this.byKey.get(key);
      if (i === undefined) {
        throw new ConfigError('gradient key', `a variable of this group (${this.names.join(', ')})`, key);
      }
      if (list[i] !== null) throw new ConfigError('gradient key', 'one gradient per variable', key);
      const v = this.variables[i] as tf.Variable;
      if (!(g instanceof tf.Tensor)) throw new ConfigError(`gradient for ${key}`, 'a tensor', g);
      if (g.shape.join(',') !== v.shape.join(',')) throw new ShapeError(`gradient for ${key}`, v.shape, g.shape);
      list[i] = g;
    }
    this.apply(list);
  }

  /**
   * The optimizer state for a checkpoint: the step counter (`iter`) first, then the slot
   * variables in group order, named `<path>/<slot>`. Copies the caller owns.
   */
  async getWeights(): Promise<OptimizerWeight[]> {
    this.checkAlive();
    const [iter, ...slots] = await this.optimizer.getWeights();
    return [iter as OptimizerWeight, ...slots.map((s) => ({ name: s.name, tensor: tf.clone(s.tensor) }))];
  }

  /** Restores state from {@link getWeights} of an optimizer of the same kind over the same group. The caller keeps `weights`. */
  async setWeights(weights: OptimizerWeight[]): Promise<void> {
    this.checkAlive();
    const perVariable = slotsPerVariable(this.resolved.kind);
    const expected = 1 + perVariable * this.variables.length;
    if (weights.length !== expected || weights[0]?.name !== 'iter') {
      throw new CheckpointError(
        'optimizer state',
        `expected "iter" and ${perVariable} slot(s) for each of ${this.variables.length} variables ` +
          `(${expected} tensors) for a "${this.resolved.kind}" optimizer, got ${weights.length}`,
      );
    }
    weights.slice(1).forEach((w, j) => {
      const v = this.variables[j % this.variables.length] as tf.Variable;
      if (w.tensor.shape.join(',') !== v.shape.join(',')) {
        throw new CheckpointError(
          'optimizer state',
          `slot "${w.name}" has shape [${w.tensor.shape.join(', ')}], expected [${v.shape.join(', ')}] ` +
            `for ${this.names[j % this.variables.length]}`,
        );
      }
    });
    const old = slotVariables(this.optimizer, this.resolved.kind);
    await this.optimizer.setWeights(weights);
    tf.dispose(old);
  }

  /** Disposes the optimizer state (not the variables it optimizes). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeTfOptimizer(this.optimizer, this.resolved.kind);
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('optimizer', 'an optimizer that has not been disposed', 'disposed');
  }

  private apply(grads: (tf.Tensor | null)[]): void {
    const step = this.iterations;
    setHyperparameters(this.optimizer, this.resolved.kind, this.resolved.learningRate(step), this.resolved.momentum(step));
    const present = grads.flatMap((g, i) => (g ? [i] : []));
    const owned: tf.Tensor[] = [];
    let current = grads;
    try {
      const replace = (values: tf.Tensor[]) => {
        owned.push(...values);
        current = current.slice();
        present.forEach((i, k) => (current[i] = values[k] as tf.Tensor));
      };
      if (this.resolved.clipValue !== undefined && present.length > 0) {
        replace(clipByValue(present.map((i) => current[i] as tf.Tensor), this.resolved.clipValue));
      }
      if (this.resolved.clipNorm !== undefined && present.length > 0) {
        const { grads: clipped, norm } = clipByGlobalNorm(
          present.map((i) => current[i] as tf.Tensor),
          this.resolved.clipNorm,
        );
        norm.dispose();
        replace(clipped);
      }
      // tfjs types say tensor is non-null; its optimizers skip null entries, which keeps the
      // positions (and so the moments) of the other variables where they are.
      this.optimizer.applyGradients(
        this.variables.map((v, i) => ({ name: v.name, tensor: current[i] as tf.Tensor })),
      );
    } finally {
      tf.dispose(owned);
    }
  }
}

/** An optimizer for one parameter group (a tree's trainable leaves, or an explicit list). */
export function createOptimizer(
  config: OptimizerConfig,
  variables: ParamTree | readonly tf.Variable[],
): ParameterGroupOptimizer {
  return new ParameterGroupOptimizer(config, variables);
}
