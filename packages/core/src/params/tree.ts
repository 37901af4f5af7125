import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/**
 * A model's parameters: a tree of named `tf.Variable`s, whose inner nodes are objects or arrays
 * (a DBN's `layers: [rbm0, rbm1]`). The path of a leaf (`encoder/dense1/kernel`, `layers/0/W`)
 * is its stable name in checkpoints, whatever name the engine gave the variable. Entries that
 * are `undefined` (an absent optional bias) are skipped.
 *
 * One variable may be reachable by several paths (tied weights): it is listed, counted, saved
 * and optimised once, under the first path in insertion order, and any of its paths finds it
 * when loading, assigning or restoring optimizer state.
 */
export type ParamNode = tf.Variable | ParamTree | readonly ParamNode[] | undefined;
export interface ParamTree {
  [name: string]: ParamNode;
}

/**
 * What functions that walk a parameter tree accept: any object or array whose leaves are
 * `tf.Variable`s, including a model's own interface (`interface RbmParams { W: tf.Variable; ... }`),
 * which TypeScript would not accept as an index-signature `ParamTree`. The walk checks at run
 * time that every leaf is a variable and throws a `ConfigError` naming the path of one that is not.
 */
export type ParamContainer = object;

const SEPARATOR = '/';

function isVariable(node: unknown): node is tf.Variable {
  return node instanceof tf.Variable;
}

function children(node: object): [string, unknown][] {
  return Array.isArray(node) ? node.map((child, i) => [String(i), child]) : Object.entries(node);
}

function walk(node: object, prefix: string, visit: (path: string, v: tf.Variable) => void, ancestors: Set<object>): void {
  if (isVariable(node)) throw new ConfigError('parameter tree', 'an object or array of variables, not a single variable', node.name);
  if (ancestors.has(node)) throw new ConfigError('parameter tree', 'a tree without cycles', `a cycle at "${prefix}"`);
  ancestors.add(node);
  for (const [key, child] of children(node)) {
    if (child === undefined) continue;
    if (key.includes(SEPARATOR) || key.length === 0) {
      throw new ConfigError('parameter name', `a non-empty name without "${SEPARATOR}"`, key);
    }
    const path = prefix ? `${prefix}${SEPARATOR}${key}` : key;
    if (isVariable(child)) visit(path, child);
    else if (child !== null && typeof child === 'object' && !(child instanceof tf.Tensor)) {
      walk(child, path, visit, ancestors);
    } else {
      const got = child instanceof tf.Tensor ? 'a tensor that is not a tf.Variable' : child;
      throw new ConfigError(`parameter "${path}"`, 'a tf.Variable, an object or an array of them', got);
    }
  }
  ancestors.delete(node);
}

/**
 * Leaves of a tree keyed by their `/`-joined path, in a deterministic (insertion) order. A
 * variable reachable by several paths appears once, under the first; {@link paramPaths}
 * gives all of them.
 */
export function flattenParams(tree: ParamContainer, prefix = ''): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const seen = new Set<tf.Variable>();
  walk(tree, prefix, (path, v) => {
    if (seen.has(v)) return;
    seen.add(v);
    out.set(path, v);
  }, new Set());
  return out;
}

/** Every path of every variable of the tree, the first one first (tied weights have several). */
export function paramPaths(tree: ParamContainer, prefix = ''): Map<tf.Variable, string[]> {
  const out = new Map<tf.Variable, string[]>();
  walk(tree, prefix, (path, v) => {
    const list = out.get(v);
    if (list) list.push(path);
    else out.set(v, [path]);
  }, new Set());
  return out;
}

/**
 * Every path of the tree that reaches a variable already listed under an earlier path, mapped
 * to that first path (`{ 'decoder/kernel': 'encoder/kernel' }` for tied weights).
 */
export function paramAliases(tree: ParamContainer): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const [first, ...others] of paramPaths(tree).values()) for (const p of others) aliases.set(p, first!);
  return aliases;
}

/**
 * The node at a `/`-joined path of a tree (`'layers/0'`): a subtree, a variable, or undefined
 * when the path leads nowhere.
 */
export function subtreeAt(tree: ParamContainer, path: string): object | undefined {
  let node: unknown = tree;
  for (const key of path.split(SEPARATOR).filter((k) => k.length > 0)) {
    if (node === null || typeof node !== 'object' || isVariable(node)) return undefined;
    node = Array.isArray(node) ? (/^\d+$/.test(key) ? node[Number(key)] : undefined) : (node as Record<string, unknown>)[key];
  }
  return node !== null && typeof node === 'object' ? node : undefined;
}

/** The trainable variables of a tree, each once, in the tree's order. */
export function trainableVariables(tree: ParamContainer): tf.Variable[] {
  return [...flattenParams(tree).values()].filter((v) => v.trainable);
}

/** Total number of scalar parameters in a tree. */
export function countParams(tree: ParamContainer, onlyTrainable = false): number {
  let total = 0;
  for (const v of flattenParams(tree).values()) if (!onlyTrainable || v.trainable) total += v.size;
  return total;
}

/** Disposes every variable of a tree (after which the model cannot be used). */
export function disposeParams(tree: ParamContainer): void {
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
 * Assigns values to a tree's variables by path (any path of a tied variable). Every path must
 * exist and every shape must match, checked for all entries before any is assigned; the caller
 * keeps ownership of `values`.
 */
export function assignParams(tree: ParamContainer, values: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
  const byPath = new Map<string, tf.Variable>();
  for (const [v, paths] of paramPaths(tree)) for (const p of paths) byPath.set(p, v);
  const entries = values instanceof Map ? [...values.entries()] : Object.entries(values);
  const targets = entries.map(([path, value]): [tf.Variable, tf.Tensor] => {
    const target = byPath.get(path);
    if (!target) {
      throw new ConfigError('parameter path', `one of ${[...byPath.keys()].join(', ')}`, path);
    }
    if (!(value instanceof tf.Tensor)) throw new ConfigError(`value for ${path}`, 'a tensor', value);
    if (target.shape.join(',') !== value.shape.join(',')) {
      throw new ConfigError(`shape of ${path}`, `[${target.shape.join(', ')}]`, `[${value.shape.join(', ')}]`);
    }
    return [target, value];
  });
  for (const [target, value] of targets) {
    tf.tidy(() => target.assign(value.dtype === target.dtype ? value : tf.cast(value, target.dtype)));
  }
}
