import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/**
 * A model's parameters: a tree of named `tf.Variable`s, whose inner nodes are objects or arrays
 * (a DBN's `layers: [rbm0, rbm1]`). The path of a leaf (`encoder/dense1/kernel`, `layers/0/W`)
 * is its stable name in checkpoints, whatever name the engine gave the variable.
 *
 * One variable may be reachable by several paths (tied weights): it is listed, counted, saved
 * and optimised once, under the first path in insertion order.
 */
export type ParamNode = tf.Variable | ParamTree | readonly ParamNode[];
export interface ParamTree {
  [name: string]: ParamNode;
}

const SEPARATOR = '/';

function isVariable(node: unknown): node is tf.Variable {
  return node instanceof tf.Variable;
}

function children(node: ParamTree | readonly ParamNode[]): [string, unknown][] {
  return Array.isArray(node) ? node.map((child, i) => [String(i), child]) : Object.entries(node);
}

function walk(
  node: ParamTree | readonly ParamNode[],
  prefix: string,
  visit: (path: string, v: tf.Variable) => void,
  ancestors: Set<object>,
): void {
  if (ancestors.has(node)) throw new ConfigError('parameter tree', 'a tree without cycles', `a cycle at "${prefix}"`);
  ancestors.add(node);
  for (const [key, child] of children(node)) {
    if (key.includes(SEPARATOR) || key.length === 0) {
      throw new ConfigError('parameter name', `a non-empty name without "${SEPARATOR}"`, key);
    }
    const path = prefix ? `${prefix}${SEPARATOR}${key}` : key;
    if (isVariable(child)) visit(path, child);
    else if (child !== null && typeof child === 'object' && !(child instanceof tf.Tensor)) {
      walk(child as ParamTree | readonly ParamNode[], path, visit, ancestors);
    } else {
      const got = child instanceof tf.Tensor ? 'a tensor that is not a tf.Variable' : child;
      throw new ConfigError(`parameter "${path}"`, 'a tf.Variable, an object or an array of them', got);
    }
  }
  ancestors.delete(node);
}

/**
 * Leaves of a tree keyed by their `/`-joined path, in a deterministic (insertion) order. A
 * variable reachable by several paths appears once, under the first; {@link paramAliases}
 * lists the others.
 */
export function flattenParams(tree: ParamTree | readonly ParamNode[], prefix = ''): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const seen = new Set<tf.Variable>();
  walk(tree, prefix, (path, v) => {
    if (seen.has(v)) return;
    seen.add(v);
    out.set(path, v);
  }, new Set());
  return out;
}

/**
 * Every path of the tree that reaches a variable already listed under an earlier path, mapped
 * to that first path (`{ 'decoder/kernel': 'encoder/kernel' }` for tied weights).
 */
export function paramAliases(tree: ParamTree | readonly ParamNode[]): Map<string, string> {
  const first = new Map<tf.Variable, string>();
  const aliases = new Map<string, string>();
  walk(tree, '', (path, v) => {
    const canonical = first.get(v);
    if (canonical === undefined) first.set(v, path);
    else aliases.set(path, canonical);
  }, new Set());
  return aliases;
}

/** The leaves under `path` (a `/`-joined prefix of leaf paths), keyed by their path below it. */
export function selectParams(leaves: Map<string, tf.Variable>, path: string): Map<string, tf.Variable> {
  const clean = path.replace(/^\/+|\/+$/g, '');
  if (!clean) return new Map(leaves);
  const out = new Map<string, tf.Variable>();
  for (const [p, v] of leaves) {
    if (p === clean) out.set('', v);
    else if (p.startsWith(`${clean}${SEPARATOR}`)) out.set(p.slice(clean.length + 1), v);
  }
  return out;
}

/** The trainable variables of a tree, each once, in the tree's order. */
export function trainableVariables(tree: ParamTree | readonly ParamNode[]): tf.Variable[] {
  return [...flattenParams(tree).values()].filter((v) => v.trainable);
}

/** Total number of scalar parameters in a tree. */
export function countParams(tree: ParamTree | readonly ParamNode[], onlyTrainable = false): number {
  let total = 0;
  for (const v of flattenParams(tree).values()) if (!onlyTrainable || v.trainable) total += v.size;
  return total;
}

/** Disposes every variable of a tree (after which the model cannot be used). */
export function disposeParams(tree: ParamTree | readonly ParamNode[]): void {
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
export function assignParams(tree: ParamTree | readonly ParamNode[], values: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
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
