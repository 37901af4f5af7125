/**
 * The first place where `value` would not come back unchanged from a JSON round trip, as
 * `config.rates[2] is NaN`, or null when it would. `JSON.stringify` is lossy without a word:
 * NaN and Infinity become null, a Date a string, a Map `{}`, a function or an undefined array
 * entry vanishes or turns null, so a config written that way rebuilds a different model.
 * Undefined object fields are accepted: they are dropped, and a missing field reads back as
 * undefined.
 */
export function firstNonJson(value: unknown, path: string, ancestors: object[] = []): string | null {
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return `${path} is a ${typeof value}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `${path} is ${value}`;
  if (value === undefined || value === null || typeof value !== 'object') return null;
  if (ancestors.includes(value)) return `${path} refers back to an enclosing object (a cycle)`;
  const inside = [...ancestors, value];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) return `${path}[${i}] is undefined`;
      const d = firstNonJson(value[i], `${path}[${i}]`, inside);
      if (d) return d;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return `${path} is a ${(value as object).constructor?.name || 'non-plain object'}`;
  }
  for (const [k, v] of Object.entries(value)) {
    const d = firstNonJson(v, `${path}.${k}`, inside);
    if (d) return d;
  }
  return null;
}
