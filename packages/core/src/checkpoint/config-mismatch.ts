import { formatValue } from '../errors.js';

/**
 * The first difference between a model's config and the one a checkpoint was saved with,
 * as `config.layers[1].units: expected 500, found 200`, or `null` when they agree. Meant as
 * the `validateConfig` of {@link restoreFromArtifacts}:
 * `validateConfig: (saved) => configMismatch(model.config, saved)`.
 *
 * `expected` is compared in its JSON form (undefined fields dropped), since that is what
 * the checkpoint stored.
 */
export function configMismatch(expected: unknown, found: unknown, path = 'config'): string | null {
  const normalised = expected === undefined ? null : (JSON.parse(JSON.stringify(expected)) as unknown);
  return firstDifference(normalised, found, path);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function firstDifference(a: unknown, b: unknown, path: string): string | null {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return `${path}: expected ${formatValue(a)}, found ${formatValue(b)}`;
  if (ka === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return `${path}: expected ${x.length} entries, found ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const d = firstDifference(x[i], y[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (ka === 'object') {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    for (const key of Object.keys(x)) {
      if (!(key in y)) return `${path}.${key}: expected ${formatValue(x[key])}, found nothing`;
      const d = firstDifference(x[key], y[key], `${path}.${key}`);
      if (d) return d;
    }
    for (const key of Object.keys(y)) {
      if (!(key in x)) return `${path}.${key}: expected nothing, found ${formatValue(y[key])}`;
    }
    return null;
  }
  return Object.is(a, b) ? null : `${path}: expected ${formatValue(a)}, found ${formatValue(b)}`;
}
