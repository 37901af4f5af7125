/**
 * Typed errors shared by every Helmholtz package. Each message states what was
 * expected, what came, and (where there is one) what to do about it.
 */

export class HelmholtzError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

function describeShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** A tensor whose shape (or rank) is not the one an operation needs. */
export class ShapeError extends HelmholtzError {
  constructor(
    readonly what: string,
    readonly expected: readonly (number | null)[] | string,
    readonly received: readonly number[],
    hint?: string,
  ) {
    const want = typeof expected === 'string' ? expected : describeShape(expected);
    super(`${what}: expected shape ${want}, got ${describeShape(received)}${hint ? `. ${hint}` : ''}`);
  }
}

/** A model, optimizer, loop or loader configuration that cannot work. */
export class ConfigError extends HelmholtzError {
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
  constructor(
    readonly location: string,
    readonly problem: string,
  ) {
    super(`checkpoint ${location}: ${problem}`);
  }
}

/** A TensorFlow.js backend that was asked for and cannot be used. */
export class BackendUnavailableError extends HelmholtzError {
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
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

/** A loss or metric that became NaN or infinite during training. */
export class NonFiniteLossError extends HelmholtzError {
  constructor(
    readonly metric: string,
    readonly value: number,
    readonly epoch: number,
    readonly batch: number,
  ) {
    super(
      `loss "${metric}" became ${value} at epoch ${epoch}, batch ${batch}: expected a finite number. ` +
        'Lower the learning rate, clip gradients, or check the input data for NaN.',
    );
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    const text = JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
