import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { compareLikelihoods, likelihoodEstimate, type LikelihoodEstimate } from '../../src/likelihood/index.js';

const iwae: LikelihoodEstimate = likelihoodEstimate({
  value: -84.55,
  kind: 'lower-bound',
  standardError: 0.21,
  protocol: { dataset: 'mnist', split: 'test', binarization: 'dynamic', examples: 10000, method: 'iwae', samples: 5000 },
});

function variant(e: LikelihoodEstimate, change: Partial<LikelihoodEstimate>, protocol: Partial<LikelihoodEstimate['protocol']> = {}) {
  return likelihoodEstimate({ ...e, ...change, protocol: { ...e.protocol, ...protocol } });
}

describe('compareLikelihoods', () => {
  it('two results of one protocol, method and effort are comparable; the only caveat is that both are lower bounds', () => {
    const other = variant(iwae, { value: -85.1, standardError: 0.2 });
    const verdict = compareLikelihoods(iwae, other);
    expect(verdict.comparable).toBe(true);
    expect(verdict.reasons).toEqual([]);
    expect(verdict.caveats).toEqual([
      "both are lower bounds: each may miss its model's true value by a different gap, so their difference is not a bound on the true difference",
    ]);
  });

  it('refuses a different dataset, split, binarization or number of examples, saying exactly what differs', () => {
    const other = variant(iwae, {}, { dataset: 'fashion-mnist', split: 'validation', binarization: 'threshold 0.5', examples: 1000 });
    const verdict = compareLikelihoods(iwae, other);
    expect(verdict.comparable).toBe(false);
    expect(verdict.reasons).toEqual([
      "dataset: 'mnist' vs 'fashion-mnist'",
      "split: 'test' vs 'validation'",
      "binarization: 'dynamic' vs 'threshold 0.5'",
      'examples: 10000 vs 1000',
    ]);
    // One difference alone is enough.
    const fixed = variant(iwae, {}, { binarization: 'fixed-stochastic (Salakhutdinov & Murray 2008)' });
    expect(compareLikelihoods(fixed, iwae)).toMatchObject({
      comparable: false,
      reasons: ["binarization: 'fixed-stochastic (Salakhutdinov & Murray 2008)' vs 'dynamic'"],
    });
  });

  it('refuses a lower bound against an upper bound above it, in either order', () => {
    const ais = variant(iwae, { kind: 'upper-bound', value: -83.1 }, { method: 'ais', samples: undefined, chains: 100, temperatures: 14500 });
    for (const [a, b] of [[iwae, ais], [ais, iwae]] as const) {
      const verdict = compareLikelihoods(a, b);
      expect(verdict.comparable).toBe(false);
      expect(verdict.reasons).toHaveLength(1);
      expect(verdict.reasons[0]).toMatch(/^kind: '(lower|upper)-bound' vs '(upper|lower)-bound': a lower bound and an upper bound err in opposite directions/);
      expect(verdict.caveats).toContain(`method: '${a.protocol.method}' vs '${b.protocol.method}'`);
    }
  });

  it('a lower bound above an upper bound settles the order: comparable, with a caveat, in either order', () => {
    const ais = variant(iwae, { kind: 'upper-bound', value: -90 }, { method: 'ais', samples: undefined, chains: 100, temperatures: 14500 });
    expect(iwae.value).toBeGreaterThan(-90);
    for (const [a, b] of [[iwae, ais], [ais, iwae]] as const) {
      const verdict = compareLikelihoods(a, b);
      expect(verdict.comparable).toBe(true);
      expect(verdict.reasons).toEqual([]);
      expect(verdict.caveats.some((c) => /settles which model is better/.test(c))).toBe(true);
    }
  });

  it('compares a bound with an exact value or an estimate, saying which way the bound errs', () => {
    const exact = variant(iwae, { kind: 'exact', standardError: undefined, value: -84.1 }, { method: 'exact', samples: undefined });
    const lower = compareLikelihoods(iwae, exact);
    expect(lower.comparable).toBe(true);
    expect(lower.caveats).toEqual([
      "method: 'iwae' vs 'exact'",
      'a is a lower bound: its true log-likelihood may be higher, so the comparison can only understate a',
    ]);
    const upper = variant(iwae, { kind: 'upper-bound' }, { method: 'ais', samples: undefined, chains: 100 });
    const parzen = variant(iwae, { kind: 'stochastic-estimate', standardError: undefined }, { method: 'parzen', samples: 10000 });
    const verdict = compareLikelihoods(parzen, upper);
    expect(verdict.comparable).toBe(true);
    expect(verdict.caveats).toEqual([
      "method: 'parzen' vs 'ais'",
      'a is a stochastic estimate: its error may go either way',
      'b is an upper bound: its true log-likelihood may be lower, so the comparison can only overstate b',
      'a has no standard error: whether the difference exceeds its noise cannot be judged',
    ]);
  });

  it('notes the same method run with different effort, and is silent about missing errors of exact values', () => {
    const small = variant(iwae, { value: -85.3 }, { samples: 50 });
    expect(compareLikelihoods(small, iwae).caveats).toContain('samples: 50 vs 5000 (same method, different effort)');
    const exactA = variant(iwae, { kind: 'exact', standardError: undefined }, { method: 'exact', samples: undefined });
    const exactB = variant(exactA, { value: -90 });
    expect(compareLikelihoods(exactA, exactB)).toEqual({ comparable: true, reasons: [], caveats: [] });
  });

  it('validates both inputs, naming the side in the error', () => {
    const broken = { ...iwae, value: Number.NaN };
    let caught: unknown;
    try {
      compareLikelihoods(iwae, broken);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).field).toBe('b.value');
  });
});
