import * as tf from '@tensorflow/tfjs-core';

/**
 * Typed errors shared by every Helmholtz package. Each message states what was
 * expected, what came, and (where there is one) what to do about it.
 */

/** Where an error carries the names of its classes (see {@link HelmholtzError}). */
const ERROR_BRANDS = Symbol.for('@helmholtz/core:error-classes');

type Branded = { [ERROR_BRANDS]?: readonly string[] };

/**
 * The base of every Helmholtz error.
 *
 * `instanceof` works across copies of this module: an app that loads both the ESM and the CJS
 * build (an ESM app requiring a CJS dependency) has two `ShapeError` classes, and a plain
 * prototype check would say an error thrown by one is not an instance of the other. Each error
 * therefore carries the literal names of its class chain under a `Symbol.for` key shared by
 * every copy, and `instanceof` checks that brand. The same literal names are the errors'
 * `name`, so a minified build still prints `ShapeError: ...`, not `tt: ...`.
 *
 * A subclass declares its literal name: `static readonly errorName = 'MyError'`.
 */
export class HelmholtzError extends Error {
  static readonly errorName: string = 'HelmholtzError';

  constructor(message: string) {
    super(message);
    const names: string[] = [];
    for (let c = new.target as unknown; c && c !== Error && c !== Object; c = Object.getPrototypeOf(c)) {
      const own = Object.prototype.hasOwnProperty.call(c, 'errorName') ? (c as { errorName: string }).errorName : undefined;
      if (own) names.push(own);
    }
    // A subclass without its own errorName is named by its class (mangled in a minified build:
    // declare errorName) and is recognised across copies only as its nearest branded ancestor.
    const ownName = Object.prototype.hasOwnProperty.call(new.target, 'errorName');
    this.name = ownName ? names[0]! : new.target.name || names[0] || 'HelmholtzError';
    Object.defineProperty(this, ERROR_BRANDS, { value: Object.freeze(names), enumerable: false });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const brands = (value as Branded | null | undefined)?.[ERROR_BRANDS];
    const own = Object.prototype.hasOwnProperty.call(this, 'errorName') ? (this as unknown as { errorName: string }).errorName : undefined;
    return Array.isArray(brands) && own !== undefined && brands.includes(own);
  }
}

function describeShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** A tensor whose shape (or rank) is not the one an operation needs. */
export class ShapeError extends HelmholtzError {
  static override readonly errorName: string = 'ShapeError';

  constructor(
    readonly what: string,
    readonly expected: readonly (number | null)[] | string,
    readonly received: readonly number[],
    hint?: string,
  ) {
    // A written-out shape reads "expected shape [?, 784]"; a phrase ("a tensor with an axis 3")
    // reads on its own, and the received value is then named a shape.
    const phrase = typeof expected === 'string' && !expected.startsWith('[');
    const want = typeof expected === 'string' ? expected : describeShape(expected);
    const head = phrase ? `expected ${want}, got shape` : `expected shape ${want}, got`;
    super(`${what}: ${head} ${describeShape(received)}${hint ? `. ${hint}` : ''}`);
  }
}

/** A model, optimizer, loop or loader configuration that cannot work. */
export class ConfigError extends HelmholtzError {
  static override readonly errorName: string = 'ConfigError';

  constructor(
    readonly field: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`invalid config "${field}": expected ${expected}, got ${formatValue(received)}`);
  }
}

/** A checkpoint that cannot be written or read back. */
export class CheckpointError extends HelmholtzError {
  static override readonly errorName: string = 'CheckpointError';

  constructor(
    readonly location: string,
    readonly problem: string,
  ) {
    super(`checkpoint ${location}: ${problem}`);
  }
}

/** A TensorFlow.js backend that was asked for and cannot be used. */
export class BackendUnavailableError extends HelmholtzError {
  static override readonly errorName: string = 'BackendUnavailableError';

  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`backend "${backend}" is unavailable: ${reason}. ${fix}`);
  }
}

/** Input data that is malformed: a corrupt file, a NaN pixel, a label out of range. */
export class DataError extends HelmholtzError {
  static override readonly errorName: string = 'DataError';

  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

/** What the training loop knows about a {@link NonFiniteLossError} beyond the value. */
export interface NonFiniteLossDetails {
  /** `'validation'` for a metric of train's `validation` hook, which belongs to an epoch, not a batch. Default `'loss'`. */
  source?: 'loss' | 'validation';
  /**
   * Present when the loop put the model back to a state it had kept (train's `keepLastGood`):
   * the step count of that state, and which state it is in words, for the message.
   */
  restored?: { step: number; state: string };
}

/** A loss or metric that became NaN or infinite during training. */
export class NonFiniteLossError extends HelmholtzError {
  static override readonly errorName: string = 'NonFiniteLossError';

  /** A training loss (read back after its step) or a validation metric (computed after its epoch). */
  readonly source: 'loss' | 'validation';
  /**
   * `'restored'`: the variables and optimizer state are those kept at {@link restoredStep};
   * `'unchanged'`: they hold whatever the steps that ran left, which may be NaN.
   */
  readonly modelState: 'restored' | 'unchanged';
  /** Steps taken (as `TrainingControl.step` counts them) in the restored state; null when unchanged. */
  readonly restoredStep: number | null;

  constructor(
    readonly metric: string,
    readonly value: number,
    readonly epoch: number,
    /** The batch whose step returned the loss; null for a validation metric. */
    readonly batch: number | null,
    details: NonFiniteLossDetails = {},
  ) {
    const source = details.source ?? 'loss';
    const what =
      source === 'validation'
        ? `validation metric "${metric}" became ${value} after epoch ${epoch}`
        : `loss "${metric}" became ${value} at epoch ${epoch}, batch ${batch}`;
    const state = details.restored
      ? `The model was restored to its state after ${details.restored.step} steps (${details.restored.state}).`
      : `The model holds the values the last ${source === 'validation' ? 'epoch' : 'steps'} left, which may be NaN ` +
        '(pass keepLastGood to train to restore the last finite state).';
    const fix =
      source === 'validation'
        ? 'Check the validation data and the metric for NaN (a log of 0, a division by 0), or lower the learning rate.'
        : 'Lower the learning rate, clip gradients, or check the input data for NaN.';
    super(`${what}: expected a finite number. ${state} ${fix}`);
    this.source = source;
    this.modelState = details.restored ? 'restored' : 'unchanged';
    this.restoredStep = details.restored ? details.restored.step : null;
  }
}

/** How much of a received value an error message shows. */
const FORMAT_LIMITS = { items: 8, depth: 2, string: 80, total: 200 };

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function describeTensor(t: tf.Tensor): string {
  const disposed = t.isDisposed ? 'disposed ' : '';
  const kind = t instanceof tf.Variable ? `variable "${t.name}"` : 'tensor';
  return withArticle(`${disposed}${t.dtype} ${kind} of shape ${describeShape(t.shape)}`);
}

function formatKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
}

function more(shown: number, total: number, unit: string): string[] {
  return total > shown ? [`... (${count(total, unit)} in all)`] : [];
}

/** A value as a message shows it: literals as written, everything else by what it is. */
function formatAt(value: unknown, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case 'string': {
      const cut = value.length > FORMAT_LIMITS.string;
      return cut ? `${JSON.stringify(value.slice(0, FORMAT_LIMITS.string))}... (${count(value.length, 'character')})` : JSON.stringify(value);
    }
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  const object = value as object;
  // Before its fields are walked: a tensor's fields are engine internals (ids, data handles).
  if (object instanceof tf.Tensor) return describeTensor(object);
  if (ArrayBuffer.isView(object)) {
    const length = (object as { length?: number }).length ?? object.byteLength;
    return `${object.constructor?.name ?? 'TypedArray'}(${length})`;
  }
  if (object instanceof ArrayBuffer) return `ArrayBuffer(${object.byteLength} bytes)`;
  if (seen.has(object)) return '[circular]';
  const proto = Object.getPrototypeOf(object) as { constructor?: { name?: string } } | null;
  const className = proto?.constructor?.name;
  if (Array.isArray(object)) {
    if (depth >= FORMAT_LIMITS.depth) return object.length === 0 ? '[]' : `[... ${count(object.length, 'item')}]`;
    seen.add(object);
    const items = object.slice(0, FORMAT_LIMITS.items).map((v) => formatAt(v, depth + 1, seen));
    seen.delete(object);
    return `[${[...items, ...more(items.length, object.length, 'item')].join(', ')}]`;
  }
  if (proto === null || proto === Object.prototype || className === 'Object') {
    const keys = Object.keys(object);
    if (keys.length === 0) return '{}';
    if (depth >= FORMAT_LIMITS.depth) return `{... ${count(keys.length, 'key')}}`;
    seen.add(object);
    const fields = keys.slice(0, FORMAT_LIMITS.items).map((k) => `${formatKey(k)}: ${formatAt((object as Record<string, unknown>)[k], depth + 1, seen)}`);
    seen.delete(object);
    return `{ ${[...fields, ...more(fields.length, keys.length, 'key')].join(', ')} }`;
  }
  if (object instanceof Error) return `${withArticle(object.name || 'Error')} (${formatAt(object.message, FORMAT_LIMITS.depth, seen)})`;
  if (object instanceof Map) return `a Map of ${count(object.size, 'entry', 'entries')}`;
  if (object instanceof Set) return `a Set of ${count(object.size, 'item')}`;
  if (object instanceof Date) return `a Date (${Number.isNaN(object.getTime()) ? 'invalid' : object.toISOString()})`;
  if (object instanceof RegExp) return String(object);
  return className ? `an instance of ${className}` : Object.prototype.toString.call(object);
}

/**
 * A received value for an error message: literals (strings quoted, NaN and Infinity as
 * themselves), tensors by dtype and shape, typed arrays by length, class instances by class,
 * and arrays and objects cut after a few entries, so a message never dumps a tensor's internals.
 */
export function formatValue(value: unknown): string {
  let text: string;
  try {
    text = formatAt(value, 0, new Set());
  } catch {
    // A getter or proxy that throws on inspection.
    return Object.prototype.toString.call(value);
  }
  return text.length > FORMAT_LIMITS.total ? `${text.slice(0, FORMAT_LIMITS.total - 3)}...` : text;
}
