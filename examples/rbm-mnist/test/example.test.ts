// The example end to end with tiny settings (500 digits, one epoch, a short AIS), so that CI
// runs what `pnpm demo` runs and checks what it writes; and its settings' validation.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@helmholtz/backends';
import { ConfigError } from '@helmholtz/core';
import { runExample, type ExampleResult } from '../src/example.js';
import { DEFAULTS, settingsFromEnv } from '../src/settings.js';

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(path: string): [number, number] {
  const bytes = readFileSync(path);
  expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

const TINY = {
  RBM_TRAIN: '500',
  RBM_EPOCHS: '1',
  RBM_TEST: '300',
  RBM_AIS_TEMPERATURES: '200',
  RBM_AIS_RUNS: '16',
  RBM_SAMPLE_STEPS: '20',
};

describe('rbm-mnist with tiny settings', () => {
  let out: string;
  let result: ExampleResult;
  let leaked: number;
  const lines: string[] = [];

  beforeAll(async () => {
    await initBackend('auto');
    out = mkdtempSync(join(os.tmpdir(), 'rbm-mnist-test-'));
    const before = tf.memory().numTensors;
    result = await runExample(settingsFromEnv({ ...TINY, RBM_OUT: out }), (line) => lines.push(line));
    leaked = tf.memory().numTensors - before;
  });

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('writes the three pictures as 10x10 grids of 28x28 tiles', () => {
    // 10 tiles of 28 pixels and 11 one-pixel borders each way.
    for (const name of ['filters.png', 'negative-particles.png', 'samples.png']) {
      expect(pngSize(join(out, name))).toEqual([291, 291]);
    }
  });

  it('reports the AIS test log-likelihood with its protocol, in likelihood.json too', () => {
    const estimate = result.testLogLikelihood;
    expect(estimate.kind).toBe('stochastic-estimate');
    expect(estimate.protocol).toMatchObject({
      dataset: 'mnist',
      split: 'test',
      binarization: 'fixed-stochastic (Salakhutdinov & Murray 2008)',
      examples: 300,
      method: 'ais',
      temperatures: 200,
      chains: 16,
    });
    // A probability mass function: log p ≤ 0; a model barely trained is far better than uniform
    // bits (−784 ln 2 = −543.4) since its visible biases start at the data's base rates.
    expect(estimate.value).toBeLessThan(0);
    expect(estimate.value).toBeGreaterThan(-400);
    expect(estimate.standardError).toBeGreaterThan(0);
    expect(Number.isFinite(result.trainLogLikelihood)).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'likelihood.json'), 'utf8')) as Record<string, unknown>;
    expect(json.testLogLikelihood).toEqual(JSON.parse(JSON.stringify(estimate)));
    expect(json.training).toMatchObject({ method: 'pcd', chains: 100, epochs: 1, examples: 500, updates: 5 });
    expect(lines.some((l) => l.startsWith('test log-likelihood: '))).toBe(true);
  });

  it('logs the monitors of every epoch', () => {
    expect(result.epochs).toHaveLength(1);
    for (const key of ['reconstructionError', 'pseudoLikelihood', 'freeEnergyGap', 'updateReconstructionError']) {
      expect(Number.isFinite(result.epochs[0]![key])).toBe(true);
    }
  });

  it('saves a checkpoint that gives back the same model, and leaves no tensor behind', () => {
    expect(result.checkpointRestored).toBe(true);
    expect(existsSync(join(out, 'checkpoint'))).toBe(true);
    expect(leaked).toBe(0);
  });
});

describe('settingsFromEnv', () => {
  it('takes the defaults, and ./out in the working folder', () => {
    const s = settingsFromEnv({}, []);
    expect(s).toMatchObject(DEFAULTS);
    expect(s.out).toBe(join(process.cwd(), 'out'));
  });

  it('reads every variable and resolves --out from where the command was typed', () => {
    const s = settingsFromEnv({ RBM_EPOCHS: '7', RBM_LEARNING_RATE: '0.02', INIT_CWD: '/somewhere' }, ['--out', 'pictures']);
    expect(s.epochs).toBe(7);
    expect(s.learningRate).toBe(0.02);
    expect(s.out).toBe('/somewhere/pictures');
  });

  it('refuses values out of range, naming the variable', () => {
    expect(() => settingsFromEnv({ RBM_TRAIN: '60000' })).toThrow(ConfigError);
    expect(() => settingsFromEnv({ RBM_TRAIN: '60000' })).toThrow(/RBM_TRAIN/);
    expect(() => settingsFromEnv({ RBM_EPOCHS: '1.5' })).toThrow(/RBM_EPOCHS/);
    expect(() => settingsFromEnv({ RBM_LEARNING_RATE: '0' })).toThrow(/RBM_LEARNING_RATE/);
    expect(() => settingsFromEnv({ RBM_FINAL_LEARNING_RATE: '1' })).toThrow(/RBM_FINAL_LEARNING_RATE/);
    expect(() => settingsFromEnv({}, ['--epochs', '3'])).toThrow(/arguments/);
  });
});
