import { describe, expect, it } from 'vitest';
import { ConfigError, createSchedule, scheduleValue, type ScheduleConfig } from '../../src/index.js';

describe('schedules', () => {
  it('a number is a constant schedule', () => {
    const s = createSchedule(0.1);
    expect([0, 1, 1000].map(s)).toEqual([0.1, 0.1, 0.1]);
    expect(scheduleValue({ kind: 'constant', value: 3 }, 99)).toBe(3);
  });

  it('exponential decay equals initial · rate^(step/decaySteps), floored with staircase', () => {
    const smooth: ScheduleConfig = { kind: 'exponential', initial: 0.1, decayRate: 0.5, decaySteps: 10 };
    for (const step of [0, 5, 10, 25]) expect(scheduleValue(smooth, step)).toBeCloseTo(0.1 * 0.5 ** (step / 10), 12);
    const stairs: ScheduleConfig = { ...smooth, staircase: true };
    expect(scheduleValue(stairs, 9)).toBeCloseTo(0.1, 12);
    expect(scheduleValue(stairs, 10)).toBeCloseTo(0.05, 12);
    expect(scheduleValue(stairs, 25)).toBeCloseTo(0.025, 12);
  });

  it('step decay multiplies by factor every `every` steps', () => {
    const s = createSchedule({ kind: 'step', initial: 1, factor: 0.1, every: 100 });
    expect(s(0)).toBe(1);
    expect(s(99)).toBe(1);
    expect(s(100)).toBeCloseTo(0.1, 12);
    expect(s(250)).toBeCloseTo(0.01, 12);
  });

  it('inverse-time decay equals initial / (1 + rate · step / decaySteps)', () => {
    const s = createSchedule({ kind: 'inverseTime', initial: 0.2, decayRate: 0.5, decaySteps: 4 });
    expect(s(0)).toBeCloseTo(0.2, 12);
    expect(s(8)).toBeCloseTo(0.2 / 2, 12);
    expect(s(40)).toBeCloseTo(0.2 / 6, 12);
  });

  it('linear ramp goes 0.5 → 0.9 over N steps and then stays (momentum ramp)', () => {
    const s = createSchedule({ kind: 'linear', from: 0.5, to: 0.9, steps: 20 });
    expect(s(0)).toBeCloseTo(0.5, 12);
    expect(s(5)).toBeCloseTo(0.6, 12);
    expect(s(10)).toBeCloseTo(0.7, 12);
    expect(s(20)).toBeCloseTo(0.9, 12);
    expect(s(1000)).toBeCloseTo(0.9, 12);
  });

  it('cosine annealing hits initial, midpoint and final exactly', () => {
    const s = createSchedule({ kind: 'cosine', initial: 1, final: 0.1, steps: 100 });
    expect(s(0)).toBeCloseTo(1, 12);
    expect(s(50)).toBeCloseTo(0.55, 12);
    expect(s(25)).toBeCloseTo(0.1 + 0.9 * (1 + Math.cos(Math.PI / 4)) / 2, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
    expect(s(500)).toBeCloseTo(0.1, 12);
  });

  it('piecewise switches value at each boundary (Hinton: momentum 0.5 then 0.9)', () => {
    const s = createSchedule({ kind: 'piecewise', boundaries: [5, 10], values: [0.5, 0.7, 0.9] });
    expect([0, 4, 5, 9, 10, 100].map(s)).toEqual([0.5, 0.5, 0.7, 0.7, 0.9, 0.9]);
  });

  it('rejects bad configs with a ConfigError naming the field', () => {
    expect(() => createSchedule(Number.NaN, 'learningRate')).toThrow(ConfigError);
    expect(() => createSchedule({ kind: 'linear', from: 0.5, to: 0.9, steps: 0 }, 'momentum')).toThrow(
      /"momentum\.steps"/,
    );
    expect(() => createSchedule({ kind: 'piecewise', boundaries: [1], values: [1] })).toThrow(ConfigError);
    expect(() => createSchedule({ kind: 'piecewise', boundaries: [5, 2], values: [1, 2, 3] })).toThrow(/increasing/);
    expect(() => createSchedule({ kind: 'nope' } as unknown as ScheduleConfig)).toThrow(/"schedule\.kind"/);
  });
});
