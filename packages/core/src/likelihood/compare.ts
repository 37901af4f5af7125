import { ConfigError } from '../errors.js';
import { likelihoodEstimate, type LikelihoodEstimate, type LikelihoodKind } from './estimate.js';

/** The verdict of {@link compareLikelihoods}. */
export interface LikelihoodComparison {
  /** True when the two numbers measure the same thing and may be set side by side. */
  comparable: boolean;
  /** Why not, one line per difference that makes them incomparable (empty when comparable). */
  reasons: string[];
  /** What to keep in mind even when comparable: different methods, bounds, missing errors. */
  caveats: string[];
}

function checked(which: 'a' | 'b', e: LikelihoodEstimate): LikelihoodEstimate {
  try {
    return likelihoodEstimate(e);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${which}.${error.field}`, error.expected, error.received);
    throw error;
  }
}

const quote = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));

/** Which way result `which` may be off; null for an exact value. */
function errorDirection(which: 'a' | 'b', kind: LikelihoodKind): string | null {
  if (kind === 'lower-bound') return `${which} is a lower bound: its true log-likelihood may be higher, so the comparison can only understate ${which}`;
  if (kind === 'upper-bound') return `${which} is an upper bound: its true log-likelihood may be lower, so the comparison can only overstate ${which}`;
  if (kind === 'stochastic-estimate') return `${which} is a stochastic estimate: its error may go either way`;
  return null;
}

/**
 * Says whether two likelihood results can be compared, and what to keep in mind when they can.
 *
 * Not comparable (a reason each): a different dataset, split, binarization or number of
 * examples (the numbers then measure different tasks: dynamically binarized MNIST scores
 * several nats apart from a fixed binarization), or a lower bound against an upper bound (each
 * errs towards the other's side by an unknown amount, so their gap says nothing reliable).
 *
 * Comparable with caveats: different methods (or the same method with different samples,
 * chains or temperatures), a bound against an exact value or an estimate (saying which way the
 * bound errs), two bounds of the same direction (their gaps differ, so the difference of bounds
 * is not a bound on the difference), a non-exact result without a standard error. Standard
 * errors over the same test examples are correlated: for a significance test, compare per-example
 * values pairwise rather than combining the two errors.
 *
 * A lower bound against an upper bound is not comparable, unless the lower bound is the larger:
 * then the order of the two models is settled (a caveat says so) though the gap is not.
 *
 * Both inputs are validated as by {@link likelihoodEstimate} (errors name `a.` or `b.` fields).
 */
export function compareLikelihoods(a: LikelihoodEstimate, b: LikelihoodEstimate): LikelihoodComparison {
  const x = checked('a', a);
  const y = checked('b', b);
  const reasons: string[] = [];
  const caveats: string[] = [];
  for (const key of ['dataset', 'split', 'binarization', 'examples'] as const) {
    if (x.protocol[key] !== y.protocol[key]) reasons.push(`${key}: ${quote(x.protocol[key])} vs ${quote(y.protocol[key])}`);
  }
  const bounds = new Set([x.kind, y.kind]);
  if (bounds.has('lower-bound') && bounds.has('upper-bound')) {
    const [lower, upper] = x.kind === 'lower-bound' ? [x, y] : [y, x];
    if (lower.value > upper.value) {
      // true(lower's model) ≥ lower > upper ≥ true(upper's model): the order is settled.
      caveats.push(
        `kind: a lower bound (${lower.value}) above an upper bound (${upper.value}) settles which model is better ` +
          '(in expectation, for stochastic bounds), but not by how much',
      );
    } else {
      reasons.push(
        `kind: ${quote(x.kind)} vs ${quote(y.kind)}: a lower bound and an upper bound err in opposite directions by unknown amounts`,
      );
    }
  }

  if (x.protocol.method !== y.protocol.method) {
    caveats.push(`method: ${quote(x.protocol.method)} vs ${quote(y.protocol.method)}`);
  } else {
    for (const key of ['samples', 'chains', 'temperatures'] as const) {
      if (x.protocol[key] !== y.protocol[key]) {
        caveats.push(`${key}: ${x.protocol[key] ?? 'not given'} vs ${y.protocol[key] ?? 'not given'} (same method, different effort)`);
      }
    }
  }
  if (x.kind === y.kind && (x.kind === 'lower-bound' || x.kind === 'upper-bound')) {
    const word = x.kind === 'lower-bound' ? 'lower' : 'upper';
    caveats.push(`both are ${word} bounds: each may miss its model's true value by a different gap, so their difference is not a bound on the true difference`);
  } else if (x.kind !== y.kind && !(bounds.has('lower-bound') && bounds.has('upper-bound'))) {
    for (const [which, e] of [['a', x], ['b', y]] as const) {
      const direction = errorDirection(which, e.kind);
      if (direction) caveats.push(direction);
    }
  }
  for (const [which, e] of [['a', x], ['b', y]] as const) {
    if (e.kind !== 'exact' && e.standardError === undefined && e.interval === undefined) {
      caveats.push(`${which} has no standard error: whether the difference exceeds its noise cannot be judged`);
    }
  }
  return { comparable: reasons.length === 0, reasons, caveats };
}
