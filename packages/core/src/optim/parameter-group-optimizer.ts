import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import { paramPaths, type ParamContainer } from '../params/tree.js';
import { clipByGlobalNorm, clipByValue } from './clipping.js';
import { checkStepHyperparameters, resolveOptimizerConfig, type OptimizerConfig, type ResolvedOptimizerConfig } from './config.js';
import { lossAndGradients, type LossWithAux, type MinimizeResult } from './loss-and-gradients.js';
import { applyRule, SLOT_NAMES } from './update-rules.js';

/** One tensor of an optimizer's state: `iter`, or a slot named `<parameter path>/<slot>`. */
export interface OptimizerWeight {
  name: string;
  tensor: tf.Tensor;
}

/** Gradients keyed by a variable's tree path (`encoder/dense1/kernel`) or its engine name. */
export type NamedGradients = Record<string, tf.Tensor> | Map<string, tf.Tensor>;

/** Name of the step counter in {@link ParameterGroupOptimizer.getWeights} (tf.train's name for it). */
export const STEP_WEIGHT_NAME = 'iter';

/**
 * An optimizer bound to one parameter group: a fixed set of variables, each known by a stable
 * name (its tree path, or its engine name when built from a list).
 *
 * The optimizer's state is data keyed like the parameters, as in Optax: for every parameter
 * path, its slots (`encoder/kernel/m`, `encoder/kernel/v` for Adam) and one step counter. A
 * checkpoint restores it by name, so a tree whose keys come in another order gets the right
 * moments, and a slot that matches no parameter is refused by name. The update rules are
 * core's own (src/optim/update-rules.ts), written to agree with tf.train's.
 *
 * Every update touches only this group's variables, so a GAN's generator optimizer can never
 * move the discriminator. Per update, in this order: gradients are clipped by value, then by
 * global norm; `weightDecay` adds λ·w; `decoupledWeightDecay` shrinks w by lr·λ·w; then the
 * kind's rule. Learning rate and momentum may follow schedules of {@link iterations}.
 */
export class ParameterGroupOptimizer {
  /** The group, in the order of {@link names}. */
  readonly variables: readonly tf.Variable[];
  /** Stable names of the variables: their tree paths (positions '0', '1', ... for an array). */
  readonly names: readonly string[];
  private readonly resolved: ResolvedOptimizerConfig;
  private readonly slotNames: readonly string[];
  /** slots[i][s]: slot `slotNames[s]` of variable i. */
  private readonly slots: tf.Variable[][];
  /** Every path of each variable (several for tied weights), the first being its name. */
  private readonly paths: readonly (readonly string[])[];
  private readonly byName = new Map<string, number>();
  private readonly byEngineName = new Map<string, number>();
  private step = 0;
  private disposed = false;

  constructor(
    readonly config: OptimizerConfig,
    variables: ParamContainer,
  ) {
    this.resolved = resolveOptimizerConfig(config);
    if (variables === null || typeof variables !== 'object') {
      throw new ConfigError('variables', 'a parameter tree or an array of variables', variables);
    }
    // Every container is a tree: an array's variables are named by position ('0', '1', ...), so
    // the names (and the checkpointed state) do not depend on engine names, which change from
    // one model instance to the next. A tied variable is listed once.
    const paths = [...paramPaths(variables)].filter(([v]) => v.trainable);
    if (paths.length === 0) throw new ConfigError('variables', 'at least one trainable variable', variables);
    const disposed = paths.filter(([v]) => v.isDisposed).map(([, p]) => p[0]!);
    if (disposed.length) throw new ConfigError('variables', 'variables that are still alive (these are disposed)', disposed);
    this.variables = paths.map(([v]) => v);
    this.names = paths.map(([, p]) => p[0]!);
    this.paths = paths.map(([, p]) => p);
    paths.forEach(([v, ps], i) => {
      for (const p of ps) this.byName.set(p, i);
      this.byEngineName.set(v.name, i);
    });
    this.slotNames = SLOT_NAMES[this.resolved.kind];
    // Slots are made up front, so the first update does not change tf.memory().numTensors.
    this.slots = this.variables.map((v) =>
      this.slotNames.map(() => tf.tidy(() => tf.variable(tf.zerosLike(v), false))),
    );
  }

  /** Updates applied so far; schedules are evaluated at this step. */
  get iterations(): number {
    return this.step;
  }

  /** The learning rate the next update will use. */
  get learningRate(): number {
    return this.resolved.learningRate(this.step);
  }

  /** The momentum the next update will use (0 for kinds without one). */
  get momentum(): number {
    return this.resolved.momentum(this.step);
  }

  /**
   * The optimizer's slots keyed by `<parameter name>/<slot>` (the live variables, not copies):
   * inspect them, do not dispose them.
   */
  slotVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.names.forEach((name, i) => this.slotNames.forEach((slot, s) => out.set(`${name}/${slot}`, this.slots[i]![s]!)));
    return out;
  }

  /**
   * Computes the gradients of `fn` with respect to exactly this group's variables and applies
   * one update. `fn` must be synchronous and return the loss (a scalar), or an object with the
   * loss under `loss` and any auxiliary values beside it (`{ loss, reconstruction, kl }`).
   * Returns the same kind of thing, every tensor owned by the caller and read from before the
   * update; the gradients are disposed. If `fn` throws, or returns something that is not a live
   * scalar loss with tensor or number aux values (ShapeError, ConfigError), nothing is updated
   * and no tensor is left behind, not even those tfjs's tape keeps for the backward pass.
   */
  minimize(fn: () => tf.Tensor): tf.Scalar;
  minimize<A extends LossWithAux>(fn: () => A): MinimizeResult<A>;
  minimize(fn: () => tf.Tensor | LossWithAux): tf.Scalar | MinimizeResult<LossWithAux>;
  minimize(fn: () => tf.Tensor | LossWithAux): tf.Scalar | MinimizeResult<LossWithAux> {
    this.checkAlive();
    const { loss, aux, grads } = lossAndGradients(fn as () => LossWithAux, this.variables);
    try {
      this.apply(grads);
    } catch (error) {
      tf.dispose([loss, ...Object.values(aux ?? {}).filter((a): a is tf.Tensor => a instanceof tf.Tensor)]);
      throw error;
    } finally {
      tf.dispose(grads.filter((g): g is tf.Tensor => g !== null));
    }
    return aux === null ? loss : ({ ...aux, loss } as unknown as MinimizeResult<LossWithAux>);
  }

  /**
   * Applies gradients computed elsewhere, e.g. contrastive-divergence statistics of an RBM
   * (pass the negative log-likelihood gradient: the update is `w ← w − lr · g` for SGD).
   * Keys are tree paths (any path of a tied variable); an engine name is accepted where it is no
   * other variable's path, and a key that is one variable's path and another's engine name is a
   * ConfigError. Variables without an entry are left alone this step (their slots too); an
   * empty set is a ConfigError (it would count a step that changed nothing). The caller keeps
   * ownership of `grads`.
   */
  applyGradients(grads: NamedGradients): void {
    this.checkAlive();
    const list: (tf.Tensor | null)[] = this.variables.map(() => null);
    const entries = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
    if (entries.length === 0) {
      throw new ConfigError('gradients', `at least one gradient for a variable of this group (${this.names.join(', ')})`, grads);
    }
    for (const [key, g] of entries) {
      const i = this.indexOf(key);
      if (list[i] !== null) throw new ConfigError('gradient key', `one gradient per variable (${this.names[i]} twice)`, key);
      const v = this.variables[i] as tf.Variable;
      if (!(g instanceof tf.Tensor)) throw new ConfigError(`gradient for ${key}`, 'a tensor', g);
      if (g.isDisposed) throw new ConfigError(`gradient for ${key}`, 'a tensor that is still alive', g);
      if (g.shape.join(',') !== v.shape.join(',')) throw new ShapeError(`gradient for ${key}`, v.shape, g.shape);
      list[i] = g;
    }
    this.apply(list);
  }

  /** The variable a gradient key names: a path, or an engine name that is no other variable's path. */
  private indexOf(key: string): number {
    const byPath = this.byName.get(key);
    const byEngine = this.byEngineName.get(key);
    if (byPath !== undefined && byEngine !== undefined && byPath !== byEngine) {
      throw new ConfigError(
        'gradient key',
        `an unambiguous name: "${key}" is the path of ${this.names[byPath]} and the engine name of ${this.names[byEngine]}; key gradients by path`,
        key,
      );
    }
    const i = byPath ?? byEngine;
    if (i === undefined) throw new ConfigError('gradient key', `a variable of this group (${this.names.join(', ')})`, key);
    return i;
  }

  /**
   * The optimizer state for a checkpoint: the step counter (`iter`) first, then every slot,
   * named `<parameter name>/<slot>`. Copies the caller owns.
   */
  async getWeights(): Promise<OptimizerWeight[]> {
    this.checkAlive();
    return [
      { name: STEP_WEIGHT_NAME, tensor: tf.scalar(this.step, 'int32') },
      ...[...this.slotVariables()].map(([name, v]) => ({ name, tensor: tf.clone(v) })),
    ];
  }

  /**
   * Checks state from {@link getWeights} against this optimizer without changing anything:
   * throws {@link CheckpointError} naming the first missing, unknown or misshapen entry.
   */
  validateWeights(weights: readonly OptimizerWeight[]): void {
    this.checkAlive();
    this.match(weights);
  }

  /**
   * Restores state from {@link getWeights} of an optimizer of the same kind over parameters of
   * the same names and shapes, matched by name (never by position). Everything is checked
   * before anything changes. The caller keeps `weights`.
   */
  async setWeights(weights: readonly OptimizerWeight[]): Promise<void> {
    this.checkAlive();
    const { step, slots } = this.match(weights);
    tf.tidy(() => {
      for (const [variable, tensor] of slots) variable.assign(tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32'));
    });
    this.step = step;
  }

  /** Disposes the optimizer state (not the variables it optimizes). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const list of this.slots) tf.dispose(list);
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('optimizer', 'an optimizer that has not been disposed', 'disposed');
  }

  private match(weights: readonly OptimizerWeight[]): { step: number; slots: [tf.Variable, tf.Tensor][] } {
    const fail = (problem: string) => {
      throw new CheckpointError('optimizer state', `${problem} (a "${this.resolved.kind}" optimizer over ${this.names.length} parameters)`);
    };
    const byName = new Map<string, tf.Tensor>();
    for (const w of weights) {
      if (byName.has(w.name)) fail(`entry "${w.name}" appears twice`);
      byName.set(w.name, w.tensor);
    }
    const iter = byName.get(STEP_WEIGHT_NAME);
    if (!iter || iter.size !== 1) fail(`expected a scalar "${STEP_WEIGHT_NAME}" step counter, found ${iter ? `shape [${iter.shape}]` : 'none'}`);
    const step = Math.round((iter as tf.Tensor).dataSync()[0] as number);
    if (!(step >= 0)) fail(`expected a step counter >= 0, found ${step}`);
    const slots: [tf.Variable, tf.Tensor][] = [];
    const used = new Set<string>([STEP_WEIGHT_NAME]);
    this.variables.forEach((variable, i) => {
      this.slotNames.forEach((slot, s) => {
        // A tied variable's state may have been saved under any of its paths.
        const name = (this.paths[i] as readonly string[]).map((p) => `${p}/${slot}`).find((n) => byName.has(n));
        const t = name === undefined ? undefined : byName.get(name);
        if (!t) {
          fail(`no slot "${this.names[i]}/${slot}" for parameter "${this.names[i]}"; the state holds ${listNames([...byName.keys()])}`);
        } else if (t.shape.join(',') !== variable.shape.join(',')) {
          fail(`slot "${name}" has shape [${t.shape.join(', ')}], the parameter has [${variable.shape.join(', ')}]`);
        } else {
          used.add(name!);
          slots.push([(this.slots[i] as tf.Variable[])[s] as tf.Variable, t]);
        }
      });
    });
    const unknown = [...byName.keys()].filter((n) => !used.has(n));
    if (unknown.length) fail(`entries ${listNames(unknown)} match no parameter of this optimizer (${listNames(this.names)})`);
    return { step, slots };
  }

  private apply(grads: (tf.Tensor | null)[]): void {
    const present = grads.flatMap((g, i) => (g ? [i] : []));
    if (present.length === 0) {
      this.step += 1;
      return;
    }
    const disposed = this.names.filter((_, i) => (this.variables[i] as tf.Variable).isDisposed);
    if (disposed.length) throw new ConfigError('variables', 'variables that are still alive (these are disposed)', disposed);
    const r = this.resolved;
    const hp = {
      learningRate: r.learningRate(this.step),
      momentum: r.momentum(this.step),
      t: this.step + 1,
      epsilon: r.epsilon ?? tf.backend().epsilon(),
    };
    checkStepHyperparameters(hp.learningRate, hp.momentum, this.step);
    tf.tidy(() => {
      let current = present.map((i) => grads[i] as tf.Tensor);
      if (r.clipValue !== undefined) current = clipByValue(current, r.clipValue);
      if (r.clipNorm !== undefined) current = clipByGlobalNorm(current, r.clipNorm).grads;
      present.forEach((i, k) => {
        const w = this.variables[i] as tf.Variable;
        const decays = !(r.excludeBiasesFromDecay && w.rank <= 1);
        let g = current[k] as tf.Tensor;
        if (decays && r.weightDecay > 0) g = tf.add(g, tf.mul(w, r.weightDecay));
        let value: tf.Tensor = w;
        if (decays && r.decoupledWeightDecay > 0) value = tf.mul(w, 1 - hp.learningRate * r.decoupledWeightDecay);
        const slots = this.slots[i] as tf.Variable[];
        const next = applyRule(r, hp, value, g, slots);
        w.assign(next.value);
        next.slots.forEach((s, j) => (slots[j] as tf.Variable).assign(s));
      });
    });
    this.step += 1;
  }
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 8).map((n) => `"${n}"`).join(', ');
  return names.length > 8 ? `${shown}, ... (${names.length} in all)` : shown || '(none)';
}

/**
 * An optimizer for one parameter group: the trainable leaves of a tree, or of an array of
 * variables (named by position: '0', '1', ...).
 */
export function createOptimizer(config: OptimizerConfig, variables: ParamContainer): ParameterGroupOptimizer {
  return new ParameterGroupOptimizer(config, variables);
}
