import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  formatLikelihood,
  likelihoodEstimate,
  likelihoodFromPerExample,
  type LikelihoodEstimate,
  type LikelihoodProtocol,
} from '../../src/likelihood/index.js';

const iwaeProtocol: LikelihoodProtocol = {
  dataset: 'mnist',
  split: 'test',
  binarization: 'dynamic',
  examples: 10000,
  method: 'iwae',
  samples: 5000,
};

const valid: LikelihoodEstimate = { value: -84.55, kind: 'lower-bound', standardError: 0.21, protocol: iwaeProtocol };

/** The ConfigError `fn` throws, so its field can be checked. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('likelihoodEstimate', () => {
  it('returns a plain-JSON copy that survives JSON round trips unchanged, without undefined fields', () => {
    const withDetails = likelihoodEstimate({
      ...valid,
      interval: { low: -85, high: -84.1, level: 0.95 },
      protocol: { ...iwaeProtocol, details: { seed: 7, checkpoint: 'vae-epoch-3280', schedule: [1, 2, 3], nested: { ok: true } } },
      standardError: undefined,
    });
    expect(withDetails).not.toHaveProperty('standardError');
    expect(JSON.parse(JSON.stringify(withDetails))).toEqual(withDetails);
    // A copy: changing the input afterwards does not change the estimate.
    const protocol = { ...iwaeProtocol };
    const e = likelihoodEstimate({ ...valid, protocol });
    protocol.examples = 1;
    expect(e.protocol.examples).toBe(10000);
  });

  it('names the first bad field in a ConfigError', () => {
    const cases: [Partial<Record<string, unknown>>, string][] = [
      [{ value: Number.NaN }, 'value'],
      [{ value: -Infinity }, 'value'],
      [{ value: '-84' }, 'value'],
      [{ kind: 'bound' }, 'kind'],
      [{ standardError: -0.1 }, 'standardError'],
      [{ standardError: Infinity }, 'standardError'],
      [{ standardErorr: 0.2 }, 'likelihood estimate.standardErorr'],
      [{ interval: { low: -84, high: -83, level: 0.95 } }, 'interval'],
      [{ interval: { low: -85, high: -84, level: 95 } }, 'interval.level'],
      [{ interval: { low: -85, high: -84 } }, 'interval.level'],
      [{ protocol: { ...iwaeProtocol, examples: 0 } }, 'protocol.examples'],
      [{ protocol: { ...iwaeProtocol, examples: 10.5 } }, 'protocol.examples'],
      [{ protocol: { ...iwaeProtocol, dataset: '' } }, 'protocol.dataset'],
      [{ protocol: { ...iwaeProtocol, split: undefined } }, 'protocol.split'],
      [{ protocol: { ...iwaeProtocol, binarization: 3 } }, 'protocol.binarization'],
      [{ protocol: { ...iwaeProtocol, method: ' ' } }, 'protocol.method'],
      [{ protocol: { ...iwaeProtocol, samples: 0 } }, 'protocol.samples'],
      [{ protocol: { ...iwaeProtocol, chains: -3 } }, 'protocol.chains'],
      [{ protocol: { ...iwaeProtocol, temperatures: 1.5 } }, 'protocol.temperatures'],
      [{ protocol: { ...iwaeProtocol, details: { bandwidth: Number.NaN } } }, 'protocol.details.bandwidth'],
      [{ protocol: { ...iwaeProtocol, details: { when: new Date(0) } } }, 'protocol.details.when'],
      [{ protocol: { ...iwaeProtocol, details: [1, 2] } }, 'protocol.details'],
      [{ protocol: { ...iwaeProtocol, temperature: 1000 } }, 'protocol.temperature'],
      [{ protocol: 'mnist' }, 'protocol'],
    ];
    for (const [change, field] of cases) {
      const error = configError(() => likelihoodEstimate({ ...valid, ...change } as LikelihoodEstimate));
      expect(error.field, JSON.stringify(change)).toBe(field);
    }
    expect(() => likelihoodEstimate({ ...valid, kind: 'bound' as never })).toThrow(
      /expected one of 'exact', 'lower-bound', 'upper-bound', 'stochastic-estimate', got "bound"/,
    );
  });
});

describe('likelihoodFromPerExample', () => {
  it('gives the mean and the standard error sd/√n (divisor n − 1) of the values', () => {
    const values = Float64Array.from([-80, -90, -85, -88, -83]);
    const e = likelihoodFromPerExample(values, { kind: 'lower-bound', protocol: { ...iwaeProtocol, examples: undefined } });
    // mean −85.2; squared deviations 27.04 + 23.04 + 0.04 + 7.84 + 4.84 = 62.8; sd² = 15.7.
    expect(e.value).toBeCloseTo(-85.2, 12);
    expect(e.standardError).toBeCloseTo(Math.sqrt(15.7 / 5), 12);
    expect(e.protocol.examples).toBe(5);
    expect(e.kind).toBe('lower-bound');
  });

  it('has no standard error for one example, and refuses no values, non-finite values and a mismatched count', () => {
    const one = likelihoodFromPerExample([-3], { kind: 'exact', protocol: { ...iwaeProtocol, examples: 1, method: 'exact' } });
    expect(one).toEqual({ value: -3, kind: 'exact', protocol: { ...iwaeProtocol, examples: 1, method: 'exact' } });
    expect(configError(() => likelihoodFromPerExample([], { kind: 'exact', protocol: iwaeProtocol })).field).toBe('values');
    expect(configError(() => likelihoodFromPerExample([-1, Number.NaN], { kind: 'exact', protocol: iwaeProtocol })).field).toBe(
      'protocol.examples',
    );
    expect(
      configError(() => likelihoodFromPerExample([-1, -Infinity], { kind: 'exact', protocol: { ...iwaeProtocol, examples: 2 } })).field,
    ).toBe('values[1]');
  });
});

describe('formatLikelihood', () => {
  it('writes value, error, kind, method, data, binarization and count on one line', () => {
    expect(formatLikelihood(likelihoodEstimate(valid))).toBe(
      '-84.55 ± 0.21 nats (lower bound, iwae k=5000, mnist test, dynamic binarization, 10000 examples)',
    );
    const ais = likelihoodEstimate({
      value: -86.3421,
      kind: 'upper-bound',
      interval: { low: -86.5, high: -86.2, level: 0.95 },
      protocol: {
        dataset: 'mnist',
        split: 'test',
        binarization: 'fixed-stochastic (Salakhutdinov & Murray 2008)',
        examples: 10000,
        method: 'ais',
        chains: 100,
        temperatures: 14500,
      },
    });
    expect(formatLikelihood(ais, 3)).toBe(
      '-86.342 nats [-86.500, -86.200] 95% (upper bound, ais 100 chains 14500 temperatures, mnist test, ' +
        'fixed-stochastic (Salakhutdinov & Murray 2008) binarization, 10000 examples)',
    );
    const real = likelihoodEstimate({
      value: 1.25,
      kind: 'exact',
      protocol: { dataset: 'moons', split: 'test', binarization: 'none (real-valued)', examples: 500, method: 'exact' },
    });
    expect(formatLikelihood(real)).toBe('1.25 nats (exact, exact, moons test, not binarized (real-valued), 500 examples)');
  });
});
