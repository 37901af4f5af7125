import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/**
 * A model's parameters: a tree of named `tf.Variable`s. The path of a leaf
 * (`encoder/dense1/kernel`) is its stable name in checkpoints, whatever name the
 * engine gave the variable.
 */
export interface ParamTree {
  [name: string]: tf.Variable | ParamTree;
}

const SEPARATOR = '/';

function isVariable(node: unknown): node is tf.Variable {
  return node instanceof tf.Variable;
}

/** Leaves of a tree keyed by their `/`-joined path, in a deterministic (insertion) order. */
export function flattenParams(tree: ParamTree, prefix = ''): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [key, node] of Object.entries(tree)) {
    if (key.includes(SEPARATOR)) throw new ConfigError('parameter name', `a name without "${SEPARATOR}"`, key);
    const path = prefix ? `${prefix}${SEPARATOR}${key}` : key;
    if (isVariable(node)) out.set(path, node);
    else for (const [p, v] of flattenParams(node, path)) out.set(p, v);
  }
  return out;
}

/** The trainable variables of a tree, in a fixed order (optimizers key their state by position). */
export function trainableVariables(tree: ParamTree): tf.Variable[] {
  return [...flattenParams(tree).values()].filter((v) => v.trainable);
}

/** Total number of scalar parameters in a tree. */
export function countParams(tree: ParamTree, onlyTrainable = false): number {
  let total = 0;
  for (const v of flattenParams(tree).values()) if (!onlyTrainable || v.trainable) total += v.size;
  return total;
}

/** Disposes every variable of a tree (after which the model cannot be used). */
export function disposeParams(tree: ParamTree): void {
  for (const v of flattenParams(tree).values()) v.dispose();
}

/**
 * Creates a variable from `initial` (which it takes ownership of and disposes), under a
 * name that is unique in the engine: tfjs refuses two variables with one name, and two
 * instances of a model would otherwise collide.
 */
export function createVariable(initial: tf.Tensor, name: string, trainable = true): tf.Variable {
  const registered = tf.engine().registeredVariables;
  let unique = name;
  for (let i = 1; registered[unique] !== undefined; i++) unique = `${name}_${i}`;
  const v = tf.variable(initial, trainable, unique);
  initial.dispose();
  return v;
}

/**
 * Assigns values to a tree's variables by path. Every path must exist and every shape
 * must match; the caller keeps ownership of `values`.
 */
export function assignParams(tree: ParamTree, values: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
  const leaves = flattenParams(tree);
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
  for (const [path, value] of entries) {
    const target = leaves.get(path);
    if (!target) {
      throw new ConfigError('parameter path', `one of ${[...leaves.keys()].join(', ')}`, path);
    }
    if (target.shape.join(',') !== value.shape.join(',')) {
      throw new ConfigError(`shape of ${path}`, `[${target.shape.join(', ')}]`, `[${value.shape.join(', ')}]`);
    }
    tf.tidy(() => target.assign(value.dtype === target.dtype ? value : tf.cast(value, target.dtype)));
  }
}
