import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { ConfigError, NonFiniteLossError, ShapeError } from '../../src/errors.js';
import { createVariable } from '../../src/params/tree.js';
import type { EpochLogs, Logs, TrainHistory } from '../../src/train/callbacks.js';
import { checkpointEvery } from '../../src/train/checkpoint-every.js';
import { earlyStopping } from '../../src/train/early-stopping.js';
import { train, type StepContext, type TrainOptions } from '../../src/train/loop.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/*
 * Property tests of `train`'s contract over arbitrary options, step results and callbacks:
 * every run resolves with a TrainHistory that matches what the steps returned, or rejects with
 * a typed error (or the error a user function threw), never a TypeError from inside the loop, a
 * hang, a leaked tensor, or a message that prints tensor internals.
 *
 * A case is a plain-data plan (printed by fast-check when it fails); the harness turns it into
 * options, functions and tensors, runs it, and checks the outcome against the plan.
 * The seed is fixed so CI runs the same cases every time. FC_SEED=<n> explores other cases,
 * FC_RUNS=<factor> scales the number of runs, FC_COLLECT=1 lists every distinct failure (with an
 * example plan) instead of stopping at the first, FC_REPORT=1 prints how the runs ended.
 */
const SEED = Number(process.env['FC_SEED'] ?? 20261124);
const RUNS = Number(process.env['FC_RUNS'] ?? 1);
/** batches() calls and steps beyond which a run counts as runaway (the plans ask for far fewer). */
const EPOCH_GUARD = 8;
const STEP_GUARD = 80;
/** A run that takes longer than this is a hang (a run of the plans here takes a few ms). */
const RUN_TIMEOUT_MS = 3000;

const collected = new Map<string, { count: number; example: string }>();
let currentCase = '';
function violation(message: string): void {
  if (!process.env['FC_COLLECT']) throw new Error(message);
  const key = message.replace(/\d+(\.\d+)?(e[+-]\d+)?/g, 'N').slice(0, 300);
  const entry = collected.get(key) ?? { count: 0, example: currentCase };
  entry.count += 1;
  collected.set(key, entry);
}
const seen = { runs: 0, resolved: 0, rejected: 0, byError: {} as Record<string, number>, maxRunMs: 0 };
afterAll(() => {
  if (process.env['FC_REPORT']) console.info(JSON.stringify(seen, null, 1));
  if (process.env['FC_COLLECT']) console.info([...collected].map(([k, { count, example }]) => `${count} x ${k}\n  e.g. ${example}`).join('\n\n'));
});

/** Marks a field left out of the options object (distinct from one set to undefined). */
const OMIT = '<omit>';
type Maybe<T> = T | typeof OMIT;

/** What user code (steps, callbacks, batches) throws on purpose; the loop must pass it on as is. */
class UserError extends Error {
  constructor(readonly where: string) {
    super(`thrown by the test's ${where}`);
  }
}
/** Thrown by the harness when a run goes on past the guards. */
class Runaway extends Error {}

// ---------------------------------------------------------------------------------------------
// Plans.

const weirdNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 1e300, Number.MIN_VALUE, -(2 ** 31)),
  fc.double(),
);
const junk = fc.oneof(fc.anything(), fc.constantFrom<unknown>(null, undefined, true, false, '1', '', [], {}, [1], { aborted: true }));
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });

/** What one step returns (or does). */
type StepReturn =
  | { t: 'number'; v: number }
  | { t: 'scalar'; dtype: 'float32' | 'int32' | 'bool' | 'string'; v: number }
  | { t: 'several'; a: number; b: number; c: number }
  | { t: 'vector' }
  | { t: 'disposed' }
  | { t: 'bareTensor' }
  | { t: 'bareNumber' }
  | { t: 'tensorArray' }
  | { t: 'epochName' }
  | { t: 'nestedTensor' }
  | { t: 'junk'; v: unknown }
  | { t: 'junkLoss'; v: unknown }
  | { t: 'throws' }
  | { t: 'rejects' };
type StepPlan =
  | { kind: 'notFunction'; value: unknown }
  | { kind: 'script'; returns: StepReturn[]; async: boolean; stopAt: number | null; stopReason: unknown; abortAt: number | null };
type BatchItem = 'number' | 'tensor' | 'nested' | { junk: unknown };
type BatchesPlan =
  | { kind: 'list'; form: 'array' | 'generator' | 'async'; perEpoch: number; item: BatchItem; throwAt: number | null }
  | { kind: 'returns'; value: unknown }
  | { kind: 'promise' }
  | { kind: 'throws' }
  | { kind: 'notFunction'; value: unknown };
type ValidationReturn =
  | { t: 'metrics'; metrics: [string, number][] }
  | { t: 'tensor' }
  | { t: 'tensorMetric' }
  | { t: 'stringMetric' }
  | { t: 'junk'; v: unknown }
  | { t: 'throws' };
type ValidationPlan = { kind: 'notFunction'; value: unknown } | { kind: 'fn'; returns: ValidationReturn[] };
const HOOKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd', 'onTrainError'] as const;
type HookPlan = 'noop' | 'throws' | 'async' | { stop: unknown } | { notFunction: unknown };
type EntryPlan =
  | { kind: 'hooks'; hooks: Partial<Record<(typeof HOOKS)[number], HookPlan>> }
  | { kind: 'junkEntry'; value: unknown }
  | { kind: 'early'; options: unknown }
  | { kind: 'every'; options: unknown; save: 'ok' | 'throws' | { junk: unknown } };
type CallbacksPlan = { kind: 'junk'; value: unknown } | { kind: 'list'; entries: EntryPlan[] };
type SignalPlan = 'preAborted' | 'live' | { junk: unknown };
type KeepPlan = 'valid' | 'validWithOptimizer' | { params: unknown } | { optimizers: unknown } | { junk: unknown };
interface Plan {
  epochs: unknown;
  initialEpoch: unknown;
  initialStep: unknown;
  readEvery: unknown;
  batches: BatchesPlan;
  step: StepPlan;
  validation: Maybe<ValidationPlan>;
  callbacks: Maybe<CallbacksPlan>;
  signal: Maybe<SignalPlan>;
  disposeBatch: unknown;
  keepLastGood: Maybe<KeepPlan>;
}

type Weighted<T> = { weight: number; arbitrary: fc.Arbitrary<T> };
/** fc.oneof over the alternatives that weigh something (wild alternatives weigh 0 in tame plans). */
function oneof<T>(...alternatives: Weighted<T>[]): fc.Arbitrary<T> {
  return fc.oneof(...alternatives.filter((a) => a.weight > 0));
}

/**
 * Plans of two kinds: tame ones, whose every option is valid and whose steps return valid
 * losses (NaN now and then), so that most runs go through and their histories are checked;
 * and wild ones, where any option, return value or callback may be anything.
 */
function plans(wild: boolean) {
  const w = wild ? 1 : 0;
  const count = (min: number, max: number) =>
    oneof<unknown>({ weight: 10, arbitrary: fc.integer({ min, max }) }, { weight: w, arbitrary: weirdNumber }, { weight: w, arbitrary: junk });
  const maybe = <T>(arb: fc.Arbitrary<T>, omitWeight = 1): fc.Arbitrary<Maybe<T>> =>
    fc.oneof({ weight: omitWeight, arbitrary: fc.constant(OMIT) }, { weight: 2, arbitrary: arb });
  const lossNumber = oneof<number>({ weight: 12, arbitrary: finite }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) });

  const stepReturn = oneof<StepReturn>(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('number' as const), v: lossNumber }) },
    {
      weight: 6,
      arbitrary: fc.oneof(
        fc.record({ t: fc.constant('scalar' as const), dtype: fc.constant('float32' as const), v: lossNumber }),
        fc.record({ t: fc.constant('scalar' as const), dtype: fc.constant('int32' as const), v: fc.integer({ min: -1000, max: 1000 }) }),
        fc.record({ t: fc.constant('scalar' as const), dtype: fc.constant('bool' as const), v: fc.integer({ min: 0, max: 1 }) }),
      ),
    },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('several' as const), a: finite, b: finite, c: fc.integer({ min: -1000, max: 1000 }) }) },
    {
      weight: 3 * w,
      arbitrary: fc.oneof(
        fc.record({ t: fc.constant('scalar' as const), dtype: fc.constant('string' as const), v: finite }),
        fc.constantFrom<StepReturn>(
          { t: 'vector' },
          { t: 'disposed' },
          { t: 'bareTensor' },
          { t: 'bareNumber' },
          { t: 'tensorArray' },
          { t: 'epochName' },
          { t: 'nestedTensor' },
          { t: 'throws' },
          { t: 'rejects' },
        ),
        fc.record({ t: fc.constant('junk' as const), v: junk }),
        fc.record({ t: fc.constant('junkLoss' as const), v: junk }),
      ),
    },
  );
  const stopReason = oneof<unknown>({ weight: 3, arbitrary: fc.constantFrom<unknown>(OMIT, undefined, 'enough') }, { weight: 2 * w, arbitrary: junk });
  const stepPlan = oneof<StepPlan>(
    { weight: w, arbitrary: fc.record({ kind: fc.constant('notFunction' as const), value: junk }) },
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('script' as const),
        returns: fc.array(stepReturn, { minLength: 1, maxLength: 4 }),
        async: fc.boolean(),
        stopAt: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 8 }) }),
        stopReason,
        abortAt: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 8 }) }),
      }),
    },
  );

  const batchesPlan = oneof<BatchesPlan>(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant('list' as const),
        form: fc.constantFrom('array' as const, 'generator' as const, 'async' as const),
        perEpoch: fc.integer({ min: 0, max: 4 }),
        item: oneof<BatchItem>({ weight: 3, arbitrary: fc.constantFrom<BatchItem>('number', 'tensor', 'nested') }, { weight: w, arbitrary: fc.record({ junk }) }),
        throwAt: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 3 }) }),
      }),
    },
    { weight: w, arbitrary: fc.record({ kind: fc.constant('returns' as const), value: junk }) },
    { weight: w, arbitrary: fc.constantFrom<BatchesPlan>({ kind: 'promise' }, { kind: 'throws' }) },
    { weight: w, arbitrary: fc.record({ kind: fc.constant('notFunction' as const), value: junk }) },
  );

  const validationReturn = oneof<ValidationReturn>(
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('metrics' as const),
        metrics: fc.array(fc.tuple(fc.constantFrom('val_loss', 'loss', 'epoch', 'acc'), lossNumber), { maxLength: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant<ValidationReturn>({ t: 'throws' }) },
    { weight: 2 * w, arbitrary: fc.constantFrom<ValidationReturn>({ t: 'tensor' }, { t: 'tensorMetric' }, { t: 'stringMetric' }) },
    { weight: w, arbitrary: fc.record({ t: fc.constant('junk' as const), v: junk }) },
  );
  const validationPlan = oneof<ValidationPlan>(
    { weight: w, arbitrary: fc.record({ kind: fc.constant('notFunction' as const), value: junk }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('fn' as const), returns: fc.array(validationReturn, { minLength: 1, maxLength: 3 }) }) },
  );

  const hookPlan = oneof<HookPlan>(
    { weight: 6, arbitrary: fc.constantFrom<HookPlan>('noop', 'async') },
    { weight: 1, arbitrary: fc.constant<HookPlan>('throws') },
    { weight: 1, arbitrary: fc.record({ stop: stopReason }) },
    { weight: w, arbitrary: fc.record({ notFunction: junk }) },
  );
  const earlyOptions = oneof<unknown>(
    {
      weight: 8,
      arbitrary: fc.record(
        {
          monitor: oneof<unknown>(
            { weight: 6, arbitrary: fc.constantFrom('loss', 'val_loss', 'a', 'epoch') },
            { weight: 1, arbitrary: fc.constantFrom('missing', 'constructor', 'toString', '__proto__', '') },
            { weight: w, arbitrary: junk },
          ),
          patience: count(0, 2),
          minDelta: oneof<unknown>({ weight: 4, arbitrary: fc.constantFrom(0, 0.1, 10) }, { weight: w, arbitrary: weirdNumber }, { weight: w, arbitrary: junk }),
          mode: oneof<unknown>({ weight: 6, arbitrary: fc.constantFrom('min', 'max') }, { weight: w, arbitrary: junk }),
        },
        { requiredKeys: [] },
      ),
    },
    { weight: w, arbitrary: junk },
  );
  const everyOptions = oneof<unknown>(
    {
      weight: 8,
      arbitrary: fc.record(
        { epochs: count(1, 3), atEnd: oneof<unknown>({ weight: 4, arbitrary: fc.boolean() }, { weight: w, arbitrary: junk }) },
        { requiredKeys: ['epochs'] },
      ),
    },
    { weight: w, arbitrary: junk },
  );
  const entryPlan = oneof<EntryPlan>(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('hooks' as const),
        hooks: fc.record(Object.fromEntries(HOOKS.map((h) => [h, hookPlan])) as Record<(typeof HOOKS)[number], fc.Arbitrary<HookPlan>>, {
          requiredKeys: [],
        }),
      }),
    },
    { weight: w, arbitrary: fc.record({ kind: fc.constant('junkEntry' as const), value: junk }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('early' as const), options: earlyOptions }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('every' as const),
        options: everyOptions,
        save: oneof<'ok' | 'throws' | { junk: unknown }>(
          { weight: 6, arbitrary: fc.constant('ok' as const) },
          { weight: 1, arbitrary: fc.constant('throws' as const) },
          { weight: w, arbitrary: fc.record({ junk }) },
        ),
      }),
    },
  );
  const callbacksPlan = oneof<CallbacksPlan>(
    { weight: w, arbitrary: fc.record({ kind: fc.constant('junk' as const), value: junk }) },
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('list' as const), entries: fc.array(entryPlan, { maxLength: 3 }) }) },
  );

  const plan: fc.Arbitrary<Plan> = fc
    .record({
      epochs: count(0, 3),
      initialEpoch: maybe(count(0, 2), 3),
      initialStep: maybe(count(0, 5)),
      readEvery: maybe(count(1, 3)),
      batches: batchesPlan,
      step: stepPlan,
      validation: maybe(validationPlan, 2),
      callbacks: maybe(callbacksPlan),
      signal: maybe(oneof<SignalPlan>({ weight: 2, arbitrary: fc.constantFrom<SignalPlan>('preAborted', 'live') }, { weight: w, arbitrary: fc.record({ junk }) }), 3),
      disposeBatch: maybe(oneof<unknown>({ weight: 4, arbitrary: fc.boolean() }, { weight: w, arbitrary: junk }), 2),
      keepLastGood: maybe(
        oneof<KeepPlan>(
          { weight: 4, arbitrary: fc.constantFrom<KeepPlan>('valid', 'validWithOptimizer') },
          { weight: w, arbitrary: fc.record({ params: junk }) },
          { weight: w, arbitrary: fc.record({ optimizers: junk }) },
          { weight: w, arbitrary: fc.record({ junk }) },
        ),
        3,
      ),
    })
    // A tame plan that resumes gives the step count it resumes from, as a resume must.
    .map((p) => (!wild && p.initialEpoch !== OMIT && (p.initialEpoch as number) > 0 && p.initialStep === OMIT ? { ...p, initialStep: 0 } : p));
  return { plan, earlyOptions, everyOptions };
}
const tame = plans(false);
const wild = plans(true);

// ---------------------------------------------------------------------------------------------
// What the loop promises about each option.

const isCount = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const given = (v: unknown) => v !== OMIT && v !== undefined && v !== null;

/** The first option `train` must refuse with a ConfigError before it runs anything, or null. */
function firstInvalidOption(plan: Plan): string | null {
  if (!isCount(plan.epochs, 0)) return 'epochs';
  const initialEpoch = given(plan.initialEpoch) ? plan.initialEpoch : 0;
  if (!isCount(initialEpoch, 0)) return 'initialEpoch';
  if ((initialEpoch as number) > 0 && (plan.initialStep === OMIT || plan.initialStep === undefined)) return 'initialStep';
  if (given(plan.initialStep) && !isCount(plan.initialStep, 0)) return 'initialStep';
  if (given(plan.readEvery) && !isCount(plan.readEvery, 1)) return 'readEvery';
  if (plan.batches.kind === 'notFunction') return 'batches';
  if (plan.step.kind === 'notFunction') return 'step';
  if (plan.validation !== OMIT && plan.validation.kind === 'notFunction' && plan.validation.value !== undefined) return 'validation';
  const keep = plan.keepLastGood;
  if (keep !== OMIT && keep !== 'valid' && keep !== 'validWithOptimizer') {
    if ('junk' in keep && keep.junk === undefined) return null;
    if ('junk' in keep || 'params' in keep) return 'keepLastGood';
    const optimizers = keep.optimizers;
    if (optimizers === undefined || optimizers === null) return null;
    const list = Array.isArray(optimizers) ? optimizers : typeof optimizers === 'object' ? Object.values(optimizers as object) : null;
    if (list === null || list.length > 0) return 'keepLastGood.optimizers';
  }
  return null;
}

function earlyStoppingValid(options: unknown): boolean {
  if (options === undefined) return true;
  if (options === null || typeof options !== 'object') return false;
  const o = options as Record<string, unknown>;
  const monitor = o['monitor'] ?? 'loss';
  const patience = o['patience'] ?? 0;
  const minDelta = o['minDelta'] ?? 0;
  const mode = o['mode'] ?? 'min';
  return (
    typeof monitor === 'string' &&
    monitor !== '' &&
    isCount(patience, 0) &&
    typeof minDelta === 'number' &&
    Number.isFinite(minDelta) &&
    minDelta >= 0 &&
    (mode === 'min' || mode === 'max')
  );
}

function checkpointEveryValid(options: unknown, save: unknown): boolean {
  if (options === null || typeof options !== 'object') return false;
  return isCount((options as Record<string, unknown>)['epochs'], 1) && typeof save === 'function';
}

function hasTensorInternals(message: string): boolean {
  return /dataId|"kept"|isDisposedInternal|rankType/.test(message);
}

// ---------------------------------------------------------------------------------------------
// The harness.

interface EverySaves {
  every: number;
  atEnd: boolean;
  saves: { epoch: number; logs: EpochLogs; step: number }[];
}

async function runPlan(plan: Plan): Promise<void> {
  const before = tf.memory().numTensors;
  const userErrors = new Set<unknown>();
  const userError = (where: string) => {
    const e = new UserError(where);
    userErrors.add(e);
    return e;
  };
  const batchTensors: tf.Tensor[] = [];
  const stepBatches: unknown[] = [];
  const ownTensors: tf.Tensor[] = []; // made by the harness and never given to the loop to own
  const variables: tf.Variable[] = [];
  /** Expected logs of each step that returned valid losses, by epoch, as the loop reads them back. */
  const stepLogs = new Map<number, Logs[]>();
  const validationLogs = new Map<number, Logs>();
  const stepsByEpoch = new Map<number, number>();
  /** Everything in the plan that may stop the run early (counted whether or not it fires). */
  let stopSources = 0;
  /** The stop the step requested, once it has. */
  let stepStop: { reason: unknown } | null = null;
  let nonFiniteGiven = false;
  let stringGiven = false;
  let nonScalarGiven = false;
  let runaway = false;

  // -- callbacks (built first: their factories validate their own options)
  const everies: EverySaves[] = [];
  let early: { monitor: string; patience: number; minDelta: number; mode: string } | null = null;
  let earlyCount = 0;
  let callbacks: unknown = OMIT;
  if (plan.callbacks !== OMIT) {
    if (plan.callbacks.kind === 'junk') callbacks = plan.callbacks.value;
    else {
      const list: unknown[] = [];
      for (const entry of plan.callbacks.entries) {
        if (entry.kind === 'junkEntry') list.push(entry.value);
        else if (entry.kind === 'hooks') {
          const cb: Record<string, unknown> = {};
          for (const [name, hook] of Object.entries(entry.hooks)) {
            if (hook === 'noop') cb[name] = () => undefined;
            else if (hook === 'async') cb[name] = async () => undefined;
            else if (hook === 'throws') cb[name] = () => {
              throw userError(`callback ${name}`);
            };
            else if ('stop' in hook) {
              if (name !== 'onTrainError') stopSources += 1;
              cb[name] = (...args: unknown[]) => {
                const control = args.find((a) => a !== null && typeof a === 'object' && 'stop' in (a as object)) as
                  | { stop(reason?: unknown): void }
                  | undefined;
                control?.stop(hook.stop);
              };
            } else cb[name] = hook.notFunction;
          }
          list.push(cb);
        } else if (entry.kind === 'early') {
          const made = construct(() => earlyStopping(entry.options as Parameters<typeof earlyStopping>[0]), 'earlyStopping', entry.options);
          if (made === null) return finish(before, variables, ownTensors, batchTensors);
          if (earlyStoppingValid(entry.options)) {
            const o = (entry.options ?? {}) as Record<string, unknown>;
            early = {
              monitor: (o['monitor'] ?? 'loss') as string,
              patience: (o['patience'] ?? 0) as number,
              minDelta: (o['minDelta'] ?? 0) as number,
              mode: (o['mode'] ?? 'min') as string,
            };
          }
          earlyCount += 1;
          list.push(made);
        } else {
          const record: EverySaves = { every: 0, atEnd: false, saves: [] };
          const save =
            entry.save === 'ok'
              ? (epoch: number, logs: EpochLogs, progress: { step: number }) => {
                  record.saves.push({ epoch, logs: { ...logs }, step: progress.step });
                }
              : entry.save === 'throws'
                ? () => {
                    throw userError('checkpointEvery save');
                  }
                : entry.save.junk;
          const options =
            entry.options !== null && typeof entry.options === 'object' && !Array.isArray(entry.options)
              ? { ...(entry.options as object), save }
              : entry.options;
          const made = construct(() => checkpointEvery(options as Parameters<typeof checkpointEvery>[0]), 'checkpointEvery', options);
          if (made === null) return finish(before, variables, ownTensors, batchTensors);
          if (!checkpointEveryValid(options, save)) violation(`checkpointEvery accepted invalid options ${show(options)}`);
          record.every = (options as { epochs: number }).epochs;
          record.atEnd = Boolean((options as { atEnd?: unknown }).atEnd);
          everies.push(record);
          list.push(made);
        }
      }
      callbacks = list;
    }
  }

  // -- signal
  let controller: AbortController | null = null;
  let signal: unknown = OMIT;
  if (plan.signal !== OMIT) {
    if (plan.signal === 'preAborted' || plan.signal === 'live') {
      controller = new AbortController();
      if (plan.signal === 'preAborted') {
        controller.abort();
        stopSources += 1;
      }
      signal = controller.signal;
    } else {
      signal = plan.signal.junk;
      if ((signal as { aborted?: unknown } | null | undefined)?.aborted) stopSources += 1;
    }
  }

  // -- batches
  let batchesCalls = 0;
  const makeItem = (item: BatchItem, epoch: number, i: number): unknown => {
    if (item === 'number') return epoch * 10 + i;
    if (item === 'tensor') {
      const t = tf.scalar(i);
      batchTensors.push(t);
      return t;
    }
    if (item === 'nested') {
      const x = tf.tensor1d([i, epoch]);
      const y = tf.scalar(i);
      batchTensors.push(x, y);
      return { x, y: [y], i };
    }
    return item.junk;
  };
  let batches: unknown;
  const bp = plan.batches;
  if (bp.kind === 'notFunction') batches = bp.value;
  else {
    batches = (epoch: number) => {
      batchesCalls += 1;
      if (batchesCalls > EPOCH_GUARD) {
        runaway = true;
        throw new Runaway(`more than ${EPOCH_GUARD} epochs`);
      }
      if (bp.kind === 'returns') return bp.value;
      if (bp.kind === 'promise') return Promise.resolve([1, 2]);
      if (bp.kind === 'throws') throw userError('batches');
      const { form, perEpoch, item, throwAt } = bp;
      if (form === 'array') return Array.from({ length: perEpoch }, (_, i) => makeItem(item, epoch, i));
      if (form === 'generator') {
        return (function* () {
          for (let i = 0; i < perEpoch; i++) {
            if (i === throwAt) throw userError('batches generator');
            yield makeItem(item, epoch, i);
          }
        })();
      }
      return (async function* () {
        for (let i = 0; i < perEpoch; i++) {
          await Promise.resolve();
          if (i === throwAt) throw userError('batches async generator');
          yield makeItem(item, epoch, i);
        }
      })();
    };
  }

  // -- step
  let stepCalls = 0;
  let step: unknown;
  const sp = plan.step;
  if (sp.kind === 'notFunction') step = sp.value;
  else {
    if (sp.stopAt !== null) stopSources += 1;
    if (sp.abortAt !== null && controller) stopSources += 1;
    step = (batch: unknown, ctx: StepContext) => {
      const index = stepCalls++;
      if (stepCalls > STEP_GUARD) {
        runaway = true;
        throw new Runaway(`more than ${STEP_GUARD} steps`);
      }
      stepBatches.push(batch);
      stepsByEpoch.set(ctx.epoch, (stepsByEpoch.get(ctx.epoch) ?? 0) + 1);
      if (index === sp.stopAt) {
        stepStop = { reason: sp.stopReason };
        if (sp.stopReason === OMIT) ctx.stop();
        else ctx.stop(sp.stopReason as string);
      }
      if (index === sp.abortAt) controller?.abort();
      const r = sp.returns[index % sp.returns.length]!;
      const value = makeStepReturn(r, ctx.epoch);
      return sp.async ? Promise.resolve(value) : value;
    };
  }
  const makeStepReturn = (r: StepReturn, epoch: number): unknown => {
    const expect = (logs: Logs) => {
      if (Object.values(logs).some((v) => !Number.isFinite(v))) nonFiniteGiven = true;
      const list = stepLogs.get(epoch) ?? [];
      list.push(logs);
      stepLogs.set(epoch, list);
    };
    switch (r.t) {
      case 'number':
        expect({ loss: r.v });
        return { loss: r.v };
      case 'scalar':
        if (r.dtype === 'string') {
          stringGiven = true;
          return { loss: tf.scalar(String(r.v)) };
        }
        expect({ loss: r.dtype === 'float32' ? Math.fround(r.v) : r.dtype === 'bool' ? (r.v ? 1 : 0) : r.v });
        return { loss: tf.scalar(r.dtype === 'bool' ? r.v === 1 : r.v, r.dtype) };
      case 'several':
        expect({ a: Math.fround(r.a), b: r.b, c: r.c });
        return { a: tf.scalar(r.a), b: r.b, c: tf.scalar(r.c, 'int32') };
      case 'vector':
        nonScalarGiven = true;
        return { loss: tf.tensor1d([1, 2]) };
      case 'disposed': {
        const t = tf.scalar(1);
        t.dispose();
        return { loss: t };
      }
      case 'bareTensor':
        return tf.scalar(1);
      case 'bareNumber':
        return 1;
      case 'tensorArray':
        return [tf.scalar(1)];
      case 'epochName':
        return { epoch: tf.scalar(1) };
      case 'nestedTensor':
        return { loss: { value: tf.scalar(1) } };
      case 'junk':
        // An object of numbers is a valid result: if the run resolves, its numbers are the losses.
        if (r.v !== null && typeof r.v === 'object' && !Array.isArray(r.v)) {
          expect(Object.fromEntries(Object.entries(r.v).filter((e): e is [string, number] => typeof e[1] === 'number')));
        }
        return r.v;
      case 'junkLoss':
        if (typeof r.v === 'number') expect({ loss: r.v });
        return { loss: r.v };
      case 'throws':
        throw userError('step');
      case 'rejects':
        return Promise.reject(userError('step (rejected promise)'));
    }
  };

  // -- validation
  let validationCalls = 0;
  let validation: unknown = OMIT;
  let nonFiniteValidation = false;
  const vp = plan.validation;
  if (vp !== OMIT) {
    if (vp.kind === 'notFunction') validation = vp.value;
    else {
      validation = (epoch: number) => {
        const r = vp.returns[validationCalls++ % vp.returns.length]!;
        switch (r.t) {
          case 'metrics': {
            const logs: Logs = {};
            for (const [k, v] of r.metrics) {
              if (k === 'epoch') continue;
              logs[k] = v;
            }
            if (Object.values(logs).some((v) => !Number.isFinite(v))) nonFiniteValidation = true;
            validationLogs.set(epoch, logs);
            return Object.fromEntries(r.metrics);
          }
          case 'tensor': {
            const t = tf.scalar(0.5);
            ownTensors.push(t);
            return t;
          }
          case 'tensorMetric': {
            const t = tf.scalar(0.5);
            ownTensors.push(t);
            return { val_loss: t };
          }
          case 'stringMetric':
            return { val_loss: '0.5' };
          case 'junk':
            // An object of numbers is a valid result: if the run resolves, they are the metrics.
            if (r.v !== null && typeof r.v === 'object' && !Array.isArray(r.v)) {
              const logs = Object.fromEntries(Object.entries(r.v).filter((e): e is [string, number] => typeof e[1] === 'number' && e[0] !== 'epoch'));
              if (Object.values(logs).some((v) => !Number.isFinite(v))) nonFiniteValidation = true;
              validationLogs.set(epoch, logs);
            }
            return r.v;
          case 'throws':
            throw userError('validation');
        }
      };
    }
  }

  // -- keepLastGood
  let keepLastGood: unknown = OMIT;
  let keepValid = false;
  const kp = plan.keepLastGood;
  if (kp !== OMIT) {
    const params = () => {
      const w = createVariable(tf.zeros([2]), 'options-property/w');
      const n = createVariable(tf.zeros([1], 'int32'), 'options-property/n', false);
      variables.push(w, n);
      return { w, inner: { n } };
    };
    if (kp === 'valid') {
      keepLastGood = { params: params() };
      keepValid = true;
    } else if (kp === 'validWithOptimizer') {
      const optimizer = { getWeights: async () => [], setWeights: async () => undefined, validateWeights: () => undefined };
      keepLastGood = { params: params(), optimizers: { opt: optimizer } };
      keepValid = true;
    } else if ('params' in kp) keepLastGood = { params: kp.params };
    else if ('optimizers' in kp) {
      keepLastGood = { params: params(), optimizers: kp.optimizers };
      keepValid = firstInvalidOption(plan) === null;
    } else keepLastGood = kp.junk === undefined ? OMIT : kp.junk;
  }

  const options: Record<string, unknown> = { epochs: plan.epochs, batches, step };
  const fields: [string, unknown][] = [
    ['initialEpoch', plan.initialEpoch],
    ['initialStep', plan.initialStep],
    ['readEvery', plan.readEvery],
    ['validation', validation],
    ['callbacks', callbacks],
    ['signal', signal],
    ['disposeBatch', plan.disposeBatch],
    ['keepLastGood', keepLastGood],
  ];
  for (const [k, v] of fields) if (v !== OMIT) options[k] = v;

  // -- run, with a wall-clock limit on top of the guards
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS);
  });
  let outcome: { ok: true; history: TrainHistory } | { ok: false; error: unknown };
  try {
    const raced = await Promise.race([train(options as unknown as TrainOptions<unknown>).then((h) => ({ ok: true as const, history: h })), timeout]);
    if (raced === 'timeout') {
      violation(`train did not settle within ${RUN_TIMEOUT_MS} ms`);
      return;
    }
    outcome = raced;
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - t0;
  seen.runs += 1;
  seen.maxRunMs = Math.max(seen.maxRunMs, ms);

  // -- what was given to the loop to dispose must be disposed; what was not must be alive
  const loopDisposesBatches = plan.disposeBatch === OMIT || plan.disposeBatch === undefined || plan.disposeBatch === null || Boolean(plan.disposeBatch);
  const handed = new Set<tf.Tensor>();
  for (const b of stepBatches) for (const t of tensorsIn(b)) handed.add(t);
  for (const t of handed) {
    if (loopDisposesBatches && !t.isDisposed) violation('a batch tensor given to step was not disposed (disposeBatch is on)');
    if (!loopDisposesBatches && t.isDisposed) violation('a batch tensor was disposed although disposeBatch is off');
  }

  if (outcome.ok) {
    seen.resolved += 1;
    checkHistory(outcome.history);
  } else {
    seen.rejected += 1;
    checkRejection(outcome.error);
  }
  finish(before, variables, ownTensors, batchTensors);

  function checkRejection(error: unknown): void {
    const name = error instanceof Error ? error.constructor.name : typeof error;
    seen.byError[name] = (seen.byError[name] ?? 0) + 1;
    const invalid = firstInvalidOption(plan);
    if (invalid !== null) {
      // A bad parameter tree is named by the tree walker ("parameter ..."), not by the option.
      const fieldOk = error instanceof ConfigError && (error.field.startsWith(invalid) || invalid.startsWith('keepLastGood'));
      if (!fieldOk) {
        violation(`option "${invalid}" is invalid (${show((plan as unknown as Record<string, unknown>)[invalid.split('.')[0]!])}): expected a ConfigError for it, got ${describeError(error)}`);
      }
      return;
    }
    if (userErrors.has(error)) return;
    if (error instanceof Runaway) {
      const first = given(plan.initialEpoch) ? (plan.initialEpoch as number) : 0;
      if ((plan.epochs as number) - first <= EPOCH_GUARD && stepCalls <= STEP_GUARD) violation(`a run of ${plan.epochs as number} epochs ran away: ${error.message}`);
      if (!runaway) violation('Runaway out of nowhere');
      return;
    }
    if (!(error instanceof ConfigError || error instanceof ShapeError || error instanceof NonFiniteLossError)) {
      violation(`train rejected with something other than a typed error or the user's own: ${describeError(error)}`);
      return;
    }
    if (hasTensorInternals(error.message)) violation(`an error message prints tensor internals: ${error.constructor.name}: ${error.message.slice(0, 160)}`);
    if (error instanceof NonFiniteLossError) {
      if (typeof error.value !== 'number' || Number.isFinite(error.value)) {
        violation(`NonFiniteLossError for a value that is not a non-finite number: ${show(error.value)} (${error.message.slice(0, 80)})`);
      }
      if (!nonFiniteGiven && !nonFiniteValidation && !stringGiven) violation(`NonFiniteLossError although every loss and metric was finite: ${error.message.slice(0, 120)}`);
      const expected = keepValid ? 'restored' : 'unchanged';
      if (error.modelState !== expected) violation(`NonFiniteLossError.modelState is ${error.modelState}, expected ${expected}`);
    }
    if (error instanceof ShapeError && !nonScalarGiven) violation(`ShapeError although no step returned a non-scalar: ${error.message}`);
  }

  function checkHistory(history: TrainHistory): void {
    const invalid = firstInvalidOption(plan);
    if (invalid !== null) {
      violation(`option "${invalid}" is invalid (${show((plan as unknown as Record<string, unknown>)[invalid.split('.')[0]!])}), yet train resolved`);
      return;
    }
    if (typeof history.reason !== 'string' || history.reason === '') violation(`history.reason is ${show(history.reason)}, not a string`);
    if (history.stoppedEarly !== (history.reason !== 'completed')) violation(`stoppedEarly ${history.stoppedEarly} with reason ${show(history.reason)}`);
    if (stepStop) {
      const { reason } = stepStop as { reason: unknown };
      const asked = reason === OMIT ? '' : show(reason);
      if (!history.stoppedEarly) violation(`the step called stop(${asked}), yet history says ${show(history.reason)}`);
      const expected = typeof reason === 'string' && reason !== OMIT && reason !== '' ? reason : 'stop requested';
      if (stopSources === 1 && history.reason !== expected) violation(`stop(${asked}) gave reason ${show(history.reason)}, expected ${show(expected)}`);
    }
    const first = given(plan.initialEpoch) ? (plan.initialEpoch as number) : 0;
    const total = Math.max(0, (plan.epochs as number) - first);
    const epochs = history.epochs.map((e) => e.epoch);
    if (epochs.some((e, i) => e !== first + i)) violation(`history epochs ${show(epochs)} do not count up from ${first}`);
    if (epochs.length > total) violation(`${epochs.length} epochs logged, ${total} asked for`);
    if (stopSources === 0 && earlyCount === 0 && epochs.length !== total) violation(`${epochs.length} epochs logged, ${total} asked for, and nothing stopped the run`);
    // The step counter goes on from initialStep, one per step that ran.
    let steps = given(plan.initialStep) ? (plan.initialStep as number) : 0;
    for (let i = 0; i < stepCalls; i++) steps++;
    if (history.steps !== steps) violation(`history.steps is ${history.steps}, expected ${steps}`);
    // Each epoch's metrics: the mean of its steps' losses in step order, then the validation metrics.
    for (const logs of history.epochs) {
      const expected: Record<string, number> = { epoch: logs.epoch };
      const sums = new Map<string, { sum: number; count: number }>();
      for (const l of stepLogs.get(logs.epoch) ?? []) {
        for (const [k, v] of Object.entries(l)) {
          const s = sums.get(k) ?? { sum: 0, count: 0 };
          s.sum += v;
          s.count += 1;
          sums.set(k, s);
        }
      }
      for (const [k, s] of sums) expected[k] = s.sum / s.count;
      Object.assign(expected, validationLogs.get(logs.epoch) ?? {});
      if (!sameLogs(logs, expected)) violation(`epoch ${logs.epoch} logged ${show(logs)}, expected ${show(expected)}`);
    }
    // Early stopping (when it alone can stop the run): Keras's rule, replayed on the logs.
    if (early && earlyCount === 1 && stopSources === 0) {
      const { monitor, patience, minDelta, mode } = early;
      const sign = mode === 'min' ? 1 : -1;
      let best = sign * Infinity;
      let wait = 0;
      let stopAfter: number | null = null;
      for (const logs of history.epochs) {
        if (!Object.hasOwn(logs, monitor)) {
          violation(`earlyStopping watched "${monitor}", which the epoch logs ${show(logs)} do not have, and raised nothing`);
          return;
        }
        const value = logs[monitor]!;
        if (sign * value < sign * best - minDelta) {
          best = value;
          wait = 0;
        } else if (++wait >= patience) {
          stopAfter = logs.epoch;
          break;
        }
      }
      const last = history.epochs[history.epochs.length - 1];
      if (stopAfter !== null && (last?.epoch !== stopAfter || !history.reason.startsWith('early stopping'))) {
        violation(`early stopping should have ended the run after epoch ${stopAfter}; it ended after ${show(last?.epoch)} (${history.reason})`);
      }
      if (stopAfter === null && history.stoppedEarly) violation(`the run stopped early (${history.reason}) where early stopping would not`);
    }
    // Checkpoints: every `every`-th whole epoch, with the step count at its end, and the last one with atEnd.
    for (const record of everies) {
      const ran = history.epochs.map((e) => e.epoch);
      const stepAt = (epoch: number) => {
        let s = given(plan.initialStep) ? (plan.initialStep as number) : 0;
        for (let e = first; e <= epoch; e++) s += stepsByEpoch.get(e) ?? 0;
        return s;
      };
      for (const save of record.saves) {
        const periodic = (save.epoch + 1) % record.every === 0;
        const last = save.epoch === ran[ran.length - 1];
        if (!periodic && !(record.atEnd && last)) violation(`checkpointEvery(${record.every}) saved epoch ${save.epoch}`);
        if (!ran.includes(save.epoch)) violation(`checkpointEvery saved epoch ${save.epoch}, which did not run`);
        if (save.step !== stepAt(save.epoch)) violation(`checkpointEvery saved epoch ${save.epoch} with step ${save.step}, expected ${stepAt(save.epoch)}`);
      }
      const savedEpochs = record.saves.map((s) => s.epoch);
      if (new Set(savedEpochs).size !== savedEpochs.length) violation(`checkpointEvery saved an epoch twice: ${show(savedEpochs)}`);
      if (stopSources === 0 && earlyCount === 0) {
        const want = ran.filter((e) => (e + 1) % record.every === 0);
        const lastRan = ran[ran.length - 1];
        if (record.atEnd && lastRan !== undefined && !want.includes(lastRan)) want.push(lastRan);
        if (show(savedEpochs) !== show(want)) violation(`checkpointEvery(${record.every}, atEnd ${record.atEnd}) saved ${show(savedEpochs)}, expected ${show(want)}`);
      }
    }
  }
}

/** Builds a callback from arbitrary options: it returns one or throws a ConfigError, nothing else. */
function construct<T>(make: () => T, what: string, options: unknown): T | null {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof ConfigError)) violation(`${what}(${show(options)}) threw ${describeError(error)}`);
    else if (hasTensorInternals(error.message)) violation(`${what} error prints tensor internals: ${error.message}`);
    return null;
  }
}

function finish(before: number, variables: tf.Variable[], ownTensors: tf.Tensor[], batchTensors: tf.Tensor[]): void {
  tf.dispose(variables);
  tf.dispose(ownTensors);
  tf.dispose(batchTensors);
  const after = tf.memory().numTensors;
  if (after !== before) violation(`tf.memory().numTensors went from ${before} to ${after}`);
}

function tensorsIn(value: unknown, out: tf.Tensor[] = [], depth = 0): tf.Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (value !== null && typeof value === 'object' && depth < 4) for (const v of Object.values(value)) tensorsIn(v, out, depth + 1);
  return out;
}

function sameLogs(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && Object.is(a[k], b[k]));
}

function show(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 160);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${show(error)}`;
  const frame = (error.stack ?? '').split('\n').find((l) => l.includes('/src/'));
  return `${error.constructor.name}: ${error.message.slice(0, 160)}${frame ? ` ${frame.trim()}` : ''}`;
}

// ---------------------------------------------------------------------------------------------

describe.each(TEST_BACKENDS)('train over arbitrary options on %s', (backend) => {
  // Found bugs, each with its own regression test below: callbacks, batches results, string or
  // disposed loss tensors and keepLastGood.params null ended in TypeErrors or tfjs errors;
  // stop(reason) kept any value as the reason and ignored stop(null); earlyStopping read a
  // monitor such as "toString" from Object.prototype.
  it('resolves with a history that matches the steps, or rejects with a typed error, without leaks or hangs', async () => {
    await useBackend(backend);
    await fc.assert(
      fc.asyncProperty(fc.oneof(tame.plan, wild.plan), async (plan) => {
        if (process.env['FC_COLLECT']) currentCase = fc.stringify(plan);
        await runPlan(plan);
      }),
      { numRuns: Math.round(1500 * RUNS), seed: SEED + (backend === 'cpu' ? 0 : 1) },
    );
  });
});

describe('callback factories over arbitrary options', () => {
  // Found: earlyStopping(null) and checkpointEvery(null) threw TypeErrors, and earlyStopping(5)
  // took its defaults silently.
  it('earlyStopping and checkpointEvery return a callback or throw a ConfigError for any options', () => {
    fc.assert(
      fc.property(fc.oneof(wild.earlyOptions, junk), wild.everyOptions, fc.oneof(fc.constant(() => undefined), junk), (early, every, save) => {
        const stopper = construct(() => earlyStopping(early as Parameters<typeof earlyStopping>[0]), 'earlyStopping', early);
        if ((stopper !== null) !== earlyStoppingValid(early)) violation(`earlyStopping(${show(early)}) ${stopper ? 'accepted' : 'refused'} it`);
        const options = every !== null && typeof every === 'object' && !Array.isArray(every) ? { ...(every as object), save } : every;
        const saver = construct(() => checkpointEvery(options as Parameters<typeof checkpointEvery>[0]), 'checkpointEvery', options);
        if ((saver !== null) !== checkpointEveryValid(options, save)) violation(`checkpointEvery(${show(options)}) ${saver ? 'accepted' : 'refused'} it`);
      }),
      { numRuns: Math.round(500 * RUNS), seed: SEED + 2 },
    );
  });
});

// Shrunk counterexamples of the properties above, one per bug, so each reads on its own. Each
// Regression tests, one per bug the properties found (shrunk counterexamples).
describe('train and its callbacks refuse what the properties found with a typed error', () => {
  const run = { epochs: 1, batches: () => [1], step: () => ({ loss: 1 }) };
  const refused = async (options: object, type: abstract new (...args: never[]) => Error = ConfigError) => {
    await withNoLeaks(async () => {
      const outcome = await train({ ...run, ...options } as TrainOptions<unknown>).then(
        (history) => ({ history }),
        (error: unknown) => ({ error }),
      );
      if (!('error' in outcome)) throw new Error(`train resolved (${show(outcome.history)})`);
      if (!(outcome.error instanceof type)) throw new Error(`expected a ${type.name}, got ${describeError(outcome.error)}`);
      if (hasTensorInternals((outcome.error as Error).message)) throw new Error(`message prints tensor internals: ${(outcome.error as Error).message}`);
    }, 'refused run');
  };

  it('callbacks that are not an array of objects of functions: ConfigError, not a TypeError (loop.ts emit)', async () => {
    await useBackend('cpu');
    for (const callbacks of [5, {}, [null], [undefined], [{ onEpochEnd: 5 }], [{ onTrainBegin: 'x' }]]) await refused({ callbacks });
  });

  it('batches(epoch) returning something not iterable: ConfigError, not a TypeError (loop.ts for await)', async () => {
    await useBackend('cpu');
    for (const value of [5, null, undefined, {}, Promise.resolve([1])]) await refused({ batches: () => value });
  });

  it('a string scalar loss: ConfigError, not a NonFiniteLossError for "0.5" nor tfjs cast error (loop.ts checkLosses)', async () => {
    await useBackend('cpu');
    await refused({ step: () => ({ loss: tf.scalar('0.5') }) });
    await refused({ step: () => ({ loss: tf.scalar('0.5'), other: tf.scalar(1) }) });
  });

  it('a disposed loss tensor: ConfigError, not tfjs "Tensor is disposed" (loop.ts checkLosses)', async () => {
    await useBackend('cpu');
    const disposed = () => {
      const t = tf.scalar(1);
      t.dispose();
      return t;
    };
    await refused({ step: () => ({ loss: disposed() }) });
    await refused({ step: () => ({ loss: disposed(), other: tf.scalar(1) }) });
  });

  it('stop(reason) with no usable reason still stops, with a string reason (loop.ts stop)', async () => {
    await useBackend('cpu');
    for (const reason of [null, 5, '', {}]) {
      const outcome = await train({
        epochs: 3,
        batches: () => [1, 2],
        step: (_: number, ctx: StepContext) => {
          ctx.stop(reason as string);
          return { loss: 1 };
        },
      }).then(
        (history) => ({ history }),
        (error: unknown) => ({ error }),
      );
      if ('error' in outcome) {
        if (!(outcome.error instanceof ConfigError)) throw new Error(`stop(${show(reason)}): ${describeError(outcome.error)}`);
        continue;
      }
      const { stoppedEarly, reason: said, epochs } = outcome.history;
      if (!stoppedEarly || typeof said !== 'string' || said === '' || epochs.length !== 1) {
        throw new Error(`stop(${show(reason)}) gave ${show(outcome.history)}`);
      }
    }
  });

  it('keepLastGood: { params: null }: ConfigError, not a TypeError (last-good.ts / tree.ts children)', async () => {
    await useBackend('cpu');
    await refused({ keepLastGood: { params: null } });
  });

  it('earlyStopping and checkpointEvery given null or a non-object: ConfigError, not a TypeError nor silent defaults', () => {
    const factories: [string, (o: unknown) => unknown][] = [
      ['earlyStopping', (o) => earlyStopping(o as Parameters<typeof earlyStopping>[0])],
      ['checkpointEvery', (o) => checkpointEvery(o as Parameters<typeof checkpointEvery>[0])],
    ];
    for (const [name, make] of factories) {
      for (const options of [null, 5, 'loss', true]) {
        let error: unknown = null;
        try {
          make(options);
        } catch (e) {
          error = e;
        }
        if (!(error instanceof ConfigError)) throw new Error(`${name}(${show(options)}): ${error ? describeError(error) : 'accepted'}`);
      }
    }
  });

  it('earlyStopping watching "toString" when the logs have only "loss": ConfigError (early-stopping.ts logs[monitor])', async () => {
    await useBackend('cpu');
    for (const monitor of ['toString', 'constructor', '__proto__']) await refused({ epochs: 3, callbacks: [earlyStopping({ monitor })] });
  });
});
