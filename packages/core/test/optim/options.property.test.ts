import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { createOptimizer, createSchedule, lossAndGradients, scheduleValue, type OptimizerConfig, type ScheduleConfig } from '../../src/optim/index.js';
import { useBackend } from '../../src/testing.js';

/** Values of every type a JSON config or a careless caller could hold. */
const anyValue = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 0.5, 0.9, 0.999, 1, 1e-8, 2 ** 53),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
  fc.constantFrom(null, undefined),
  fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);

/** Mostly sensible numbers, so that many configs get past validation and are stepped. */
const plausible = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 0.99, noNaN: true }) },
  { weight: 1, arbitrary: anyValue },
);

/** A schedule with only its kind's fields (values mostly sensible), or anything at all. */
const SCHEDULE_FIELDS: Record<string, string[]> = {
  constant: ['value'],
  exponential: ['initial', 'decayRate', 'decaySteps', 'staircase'],
  step: ['initial', 'factor', 'every'],
  inverseTime: ['initial', 'decayRate', 'decaySteps'],
  linear: ['from', 'to', 'steps'],
  cosine: ['initial', 'steps', 'final'],
  piecewise: ['boundaries', 'values'],
};
const scheduleField: Record<string, fc.Arbitrary<unknown>> = {
  value: plausible,
  initial: plausible,
  decayRate: fc.oneof(fc.double({ min: 0.1, max: 2, noNaN: true }), anyValue),
  decaySteps: fc.oneof(fc.integer({ min: -1, max: 5 }), anyValue),
  staircase: fc.oneof(fc.boolean(), anyValue),
  factor: plausible,
  every: fc.oneof(fc.integer({ min: -1, max: 5 }), anyValue),
  from: plausible,
  to: fc.oneof(plausible, fc.constant(-0.5)),
  steps: fc.oneof(fc.integer({ min: -1, max: 5 }), anyValue),
  final: plausible,
  boundaries: fc.oneof(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }).map((a) => a.sort((p, q) => p - q)), anyValue),
  values: fc.oneof(fc.array(plausible, { minLength: 1, maxLength: 4 }), anyValue),
};
const schedule = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...Object.keys(SCHEDULE_FIELDS)).chain((kind) =>
      fc.record(
        { kind: fc.constant(kind), ...Object.fromEntries(SCHEDULE_FIELDS[kind]!.map((f) => [f, scheduleField[f]!])) } as Record<string, fc.Arbitrary<unknown>>,
        { requiredKeys: ['kind', ...SCHEDULE_FIELDS[kind]!.filter((f) => f !== 'final' && f !== 'staircase' && f !== 'decaySteps')] },
      ),
    ),
  },
  // A misspelt key: refused, not ignored.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exponential'), initial: plausible, decayRate: plausible, decaySteps: plausible, stairCase: anyValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('warmup', 3, null, 'constant'), value: anyValue, steps: anyValue }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: anyValue },
);

const KIND_FIELDS: Record<string, string[]> = {
  sgd: [],
  momentum: ['momentum', 'nesterov'],
  adam: ['beta1', 'beta2', 'epsilon'],
  rmsprop: ['momentum', 'decay', 'epsilon'],
};
const COMMON_FIELDS = ['clipNorm', 'clipValue', 'weightDecay', 'decoupledWeightDecay', 'excludeBiasesFromDecay'];
const field: Record<string, fc.Arbitrary<unknown>> = {
  learningRate: fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 2, arbitrary: schedule }),
  momentum: fc.oneof(plausible, schedule),
  nesterov: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyValue }),
  beta1: plausible,
  beta2: plausible,
  epsilon: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1e-7, 1e-3) }, { weight: 1, arbitrary: anyValue }),
  decay: plausible,
  clipNorm: fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0.1, max: 5, noNaN: true }) }, { weight: 1, arbitrary: anyValue }),
  clipValue: fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0.1, max: 5, noNaN: true }) }, { weight: 1, arbitrary: anyValue }),
  weightDecay: plausible,
  decoupledWeightDecay: plausible,
  excludeBiasesFromDecay: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyValue }),
};
const ALL_FIELDS = Object.keys(field);

const config = fc.oneof(
  {
    // A kind with its own fields: many of these get past validation and are stepped.
    weight: 6,
    arbitrary: fc.constantFrom(...Object.keys(KIND_FIELDS)).chain((kind) =>
      fc.record(
        { kind: fc.constant(kind), ...Object.fromEntries(['learningRate', ...KIND_FIELDS[kind]!, ...COMMON_FIELDS].map((f) => [f, field[f]!])) } as Record<string, fc.Arbitrary<unknown>>,
        { requiredKeys: ['kind', 'learningRate'] },
      ),
    ),
  },
  {
    // Any field with any kind, unknown kinds and keys included.
    weight: 1,
    arbitrary: fc.record(
      {
        kind: fc.constantFrom('sgd', 'momentum', 'adam', 'rmsprop', 'adagrad', '', 'constructor', 7, null),
        ...Object.fromEntries(ALL_FIELDS.map((f) => [f, field[f]!])),
        clipnorm: anyValue,
      },
      { requiredKeys: ['kind'] },
    ),
  },
  { weight: 1, arbitrary: anyValue },
);

const isTyped = (e: unknown) => e instanceof ConfigError || e instanceof ShapeError;

function tapeIsClean(): boolean {
  const state = tf.engine().state;
  return state.gradientDepth === 0 && (state.activeTape?.length ?? 0) === 0;
}

describe('optimizer options and minimize arguments, generated', () => {
  let w: tf.Variable;
  let b: tf.Variable;
  let x: tf.Tensor;
  beforeAll(async () => {
    await useBackend('cpu');
    w = tf.tidy(() => tf.variable(tf.tensor2d([0.5, -1, 2, 1], [2, 2]), true, 'options-property/w'));
    b = tf.tidy(() => tf.variable(tf.tensor1d([0.1, -0.2]), true, 'options-property/b'));
    x = tf.tensor2d([1, 2, -1, 0.5, 0, 3], [3, 2]);
  });
  afterAll(() => tf.dispose([w, b, x]));
  const reset = () => {
    tf.tidy(() => {
      w.assign(tf.tensor2d([0.5, -1, 2, 1], [2, 2]));
      b.assign(tf.tensor1d([0.1, -0.2]));
    });
  };
  const quadratic = () => tf.mean(tf.square(tf.add(tf.matMul(x, w), b)));

  it('createOptimizer: a working optimizer that steps, or a ConfigError; never another error, never a leak', () => {
    let working = 0;
    fc.assert(
      fc.property(config, (cfg) => {
        reset();
        const before = tf.memory().numTensors;
        let opt: ReturnType<typeof createOptimizer> | undefined;
        try {
          opt = createOptimizer(cfg as unknown as OptimizerConfig, { w, b });
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          expect(tf.memory().numTensors).toBe(before);
          return;
        }
        working += 1;
        // What was accepted is usable: no misspelt key was ignored, the first step's values are sane.
        const c = cfg as Record<string, unknown>;
        const schedules = [c.learningRate, c.momentum].filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null);
        expect('clipnorm' in c || schedules.some((v) => 'stairCase' in v)).toBe(false);
        expect(Number.isFinite(opt.learningRate) && opt.learningRate >= 0).toBe(true);
        expect(opt.momentum >= 0 && opt.momentum <= 1).toBe(true);
        // Schedules are checked at every step they reach: a later step may still be refused.
        for (let step = 0; step < 3; step++) {
          try {
            opt.minimize(quadratic).dispose();
          } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
          }
        }
        opt.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(tapeIsClean()).toBe(true);
      }),
      { numRuns: 2000, seed: 20261124 },
    );
    // The generator is only useful if it reaches both outcomes often.
    expect(working).toBeGreaterThan(200);
    expect(working).toBeLessThan(1900);
  });

  /** What a loss function may return, sensible or not. */
  const lossResult = fc.oneof(
    fc.constantFrom(
      'scalar', 'scalar', 'nonScalar', 'number', 'nan', 'nanTensor', 'int32', 'string', 'null', 'undefined', 'array',
      'promise', 'disposed', 'unrelated', 'input', 'throw', 'throwAfterOps', 'noLoss', 'variable', 'tensorInArray',
    ),
  );
  const auxValue = fc.oneof(
    fc.constantFrom('tensor', 'input', 'variable', 'disposed', 'nanTensor'),
    anyValue,
  );

  it('minimize: each loss function gives a step, or a ConfigError or ShapeError (or its own error); no leak, the tape clean', () => {
    class Own extends Error {}
    const opt = createOptimizer({ kind: 'adam', learningRate: 0.01 }, { w, b });
    let worked = 0;
    fc.assert(
      fc.property(
        lossResult,
        fc.option(fc.dictionary(fc.constantFrom('kl', 'rec', 'acc', 'loss2'), auxValue, { maxKeys: 3 }), { nil: undefined }),
        fc.boolean(),
        (kind, aux, passNonFunction) => {
          reset();
          const before = tf.memory().numTensors;
          const made = (): unknown => {
            switch (kind) {
              case 'scalar': return quadratic();
              case 'nonScalar': return tf.matMul(x, w);
              case 'number': return 3;
              case 'nan': return Number.NaN;
              case 'nanTensor': return tf.mul(quadratic(), Number.NaN);
              case 'int32': return tf.sum(tf.cast(tf.mul(w, 10), 'int32'));
              case 'string': return 'loss';
              case 'null': return null;
              case 'undefined': return undefined;
              case 'array': return [quadratic()];
              case 'promise': return Promise.resolve(1);
              case 'disposed': { const l = quadratic(); l.dispose(); return l; }
              case 'unrelated': return tf.sum(x);
              case 'input': return x;
              case 'throw': throw new Own('before any op');
              case 'throwAfterOps': quadratic(); throw new Own('after ops');
              case 'noLoss': return { kl: quadratic() };
              case 'variable': return w;
              default: return [tf.scalar(1)];
            }
          };
          const auxTensor = (v: unknown): unknown => {
            switch (v) {
              case 'tensor': return tf.mul(w, 2);
              case 'input': return x;
              case 'variable': return b;
              case 'disposed': { const t = tf.mul(b, 1); t.dispose(); return t; }
              case 'nanTensor': return tf.fill([2], Number.NaN);
              default: return v;
            }
          };
          const fn = () => {
            const result = made();
            if (aux === undefined) return result;
            const extra = Object.fromEntries(Object.entries(aux).map(([k, v]) => [k, auxTensor(v)]));
            return result instanceof tf.Tensor ? { loss: result, ...extra } : result;
          };
          try {
            const out = opt.minimize((passNonFunction && kind === 'string' ? 'not a function' : fn) as never) as unknown;
            worked += 1;
            const tensors = out instanceof tf.Tensor ? [out] : Object.values(out as object).filter((v) => v instanceof tf.Tensor);
            for (const t of tensors as tf.Tensor[]) {
              expect(t === w || t === b || t === x).toBe(false);
              t.dispose();
            }
          } catch (e) {
            if (!isTyped(e) && !(e instanceof Own)) throw e;
          }
          expect(tf.memory().numTensors).toBe(before);
          expect(tapeIsClean()).toBe(true);
          expect(w.isDisposed || b.isDisposed || x.isDisposed).toBe(false);
        },
      ),
      { numRuns: 1000, seed: 42 },
    );
    expect(worked).toBeGreaterThan(50);
    opt.dispose();
  });

  it('lossAndGradients: any variables argument gives gradients or a ConfigError, and no leak', () => {
    const frozen = tf.tidy(() => tf.variable(tf.zeros([2]), false, 'options-property/frozen'));
    const pool: unknown[] = [w, b, frozen, x, null, 3, 'w'];
    fc.assert(
      fc.property(fc.oneof(fc.subarray(pool), anyValue), (variables) => {
        const before = tf.memory().numTensors;
        try {
          const { loss, grads } = lossAndGradients(quadratic, variables as tf.Variable[]);
          tf.dispose([loss, ...grads.filter((g): g is tf.Tensor => g !== null)]);
        } catch (e) {
          if (!isTyped(e)) throw e;
        }
        expect(tf.memory().numTensors).toBe(before);
        expect(tapeIsClean()).toBe(true);
      }),
      { numRuns: 300, seed: 7 },
    );
    frozen.dispose();
  });
});

describe('options that used to fall through silently', () => {
  it('schedules: misspelt keys, holes, a non-boolean staircase, a step that is no number', () => {
    const lr = (schedule: unknown) => createSchedule(schedule as ScheduleConfig, 'learningRate');
    // `stairCase` was ignored: the schedule decayed smoothly with no word.
    expect(() => lr({ kind: 'exponential', initial: 1, decayRate: 0.5, decaySteps: 2, stairCase: true })).toThrow(
      /"learningRate\.stairCase": expected a known option; a "exponential" schedule takes initial, decayRate, decaySteps, staircase/,
    );
    // A hole was skipped by forEach, and the schedule returned undefined at that step.
    expect(() => lr({ kind: 'piecewise', boundaries: [2, 4], values: [1, , 3] })).toThrow(/"learningRate\.values\[1\]"/);
    expect(() => lr({ kind: 'exponential', initial: 1, decayRate: 0.5, decaySteps: 2, staircase: 'yes' })).toThrow(/"learningRate\.staircase": expected a boolean/);
    expect(() => lr([0.1])).toThrow(ConfigError);
    expect(() => scheduleValue(0.1, Number.NaN)).toThrow(/"step"/);
    expect(scheduleValue({ kind: 'exponential', initial: 1, decayRate: 0.5, decaySteps: 2, staircase: true }, 3)).toBe(0.5);
  });

  it('a learning rate below 0 or not finite and a momentum outside [0, 1] are refused, at creation or at the step they reach', async () => {
    await useBackend('cpu');
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2]), true, 'options/steps/w'));
    const loss = () => tf.sum(tf.square(w));
    expect(() => createOptimizer({ kind: 'sgd', learningRate: -0.1 }, [w])).toThrow(/"learningRate": expected a finite number >= 0 at every step \(step 0\), got -0\.1/);
    expect(() => createOptimizer({ kind: 'momentum', learningRate: 0.1, momentum: 1.5 }, [w])).toThrow(/"momentum"/);
    // 0.1 → -0.1 over 2 steps: step 2 would climb the loss.
    const opt = createOptimizer({ kind: 'sgd', learningRate: { kind: 'linear', from: 0.1, to: -0.1, steps: 2 } }, [w]);
    const before = tf.memory().numTensors;
    opt.minimize(loss).dispose();
    opt.minimize(loss).dispose(); // step 1: learning rate 0
    const kept = Array.from(w.dataSync());
    expect(() => opt.minimize(loss)).toThrow(/"learningRate": expected a finite number >= 0 at every step \(step 2\), got -0\.1/);
    expect(Array.from(w.dataSync())).toEqual(kept);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    // Growing without bound: Infinity is refused at the step that reaches it.
    const growing = createOptimizer({ kind: 'sgd', learningRate: { kind: 'exponential', initial: 1, decayRate: 1e300, decaySteps: 1 } }, [w]);
    growing.minimize(loss).dispose();
    growing.minimize(loss).dispose();
    expect(() => growing.minimize(loss)).toThrow(/step 2\), got Infinity/);
    growing.dispose();
    w.dispose();
  });

  it('disposed variables and gradients are ConfigErrors, not tfjs errors from deep inside', async () => {
    await useBackend('cpu');
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2]), true, 'options/disposed/w'));
    const gone = tf.tidy(() => tf.variable(tf.tensor1d([1]), true, 'options/disposed/gone'));
    gone.dispose();
    expect(() => createOptimizer({ kind: 'adam', learningRate: 0.1 }, { w, gone })).toThrow(/"variables": expected variables that are still alive \(these are disposed\), got \["gone"\]/);
    const opt = createOptimizer({ kind: 'adam', learningRate: 0.1 }, { w });
    const g = tf.ones([2]);
    g.dispose();
    expect(() => opt.applyGradients({ w: g })).toThrow(/"gradient for w": expected a tensor that is still alive/);
    const before = tf.memory().numTensors;
    w.dispose();
    expect(() => opt.minimize(() => tf.sum(w))).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before - 1);
    opt.dispose();
  });
});
