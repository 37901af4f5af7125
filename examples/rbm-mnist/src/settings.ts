import { resolve } from 'node:path';
import { ConfigError } from '@helmholtz/core';

/** What the example does, every field from an environment variable (see the README). */
export interface ExampleSettings {
  /** Output folder. */
  out: string;
  /** Training digits, the first of MNIST's training set (at most 59,000: the last 1,000 are the validation digits). */
  train: number;
  epochs: number;
  hidden: number;
  batchSize: number;
  /** Learning rate at the first update; it falls linearly to `finalLearningRate` at the last. */
  learningRate: number;
  finalLearningRate: number;
  /** Persistent chains of PCD. */
  chains: number;
  /** Test digits the log-likelihood averages over (the first of MNIST's test set). */
  test: number;
  aisTemperatures: number;
  aisRuns: number;
  /** Gibbs steps of the ten chains of samples.png (pictured every tenth of them). */
  sampleSteps: number;
  seed: number;
  /** Filters shown in filters.png (the first ones). */
  filters: number;
}

export const DEFAULTS: Omit<ExampleSettings, 'out'> = {
  train: 59_000,
  epochs: 5,
  hidden: 500,
  batchSize: 100,
  learningRate: 0.05,
  finalLearningRate: 0,
  chains: 100,
  test: 10_000,
  aisTemperatures: 14_500,
  aisRuns: 100,
  sampleSteps: 1000,
  seed: 1,
  filters: 100,
};

/** Environment variable of each setting. */
export const ENV: Record<keyof ExampleSettings, string> = {
  out: 'RBM_OUT',
  train: 'RBM_TRAIN',
  epochs: 'RBM_EPOCHS',
  hidden: 'RBM_HIDDEN',
  batchSize: 'RBM_BATCH',
  learningRate: 'RBM_LEARNING_RATE',
  finalLearningRate: 'RBM_FINAL_LEARNING_RATE',
  chains: 'RBM_CHAINS',
  test: 'RBM_TEST',
  aisTemperatures: 'RBM_AIS_TEMPERATURES',
  aisRuns: 'RBM_AIS_RUNS',
  sampleSteps: 'RBM_SAMPLE_STEPS',
  seed: 'RBM_SEED',
  filters: 'RBM_FILTERS',
};

const LIMITS: Partial<Record<keyof ExampleSettings, [number, number]>> = {
  train: [1, 59_000],
  test: [1, 10_000],
  aisTemperatures: [2, 10_000_000],
  filters: [1, 100_000],
};

function integer(key: keyof ExampleSettings, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(ENV[key], `an integer from ${min} to ${max}`, raw);
  return n;
}

/**
 * Settings from the environment, defaults for what is unset. `--out DIR` on the command line
 * wins over RBM_OUT; a relative folder is taken from the directory the command was typed in
 * (pnpm runs scripts in the package folder and passes the original one as INIT_CWD).
 */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, argv: string[] = []): ExampleSettings {
  const settings: Record<string, number | string> = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const raw = env[ENV[key]];
    if (raw === undefined || raw.trim() === '') continue;
    if (key === 'learningRate' || key === 'finalLearningRate') {
      const x = Number(raw);
      if (!Number.isFinite(x) || x < 0 || (key === 'learningRate' && x === 0)) throw new ConfigError(ENV[key], key === 'learningRate' ? 'a number > 0' : 'a number >= 0', raw);
      settings[key] = x;
    } else {
      const [min, max] = LIMITS[key] ?? [key === 'seed' ? 0 : 1, 1_000_000_000];
      settings[key] = integer(key, raw, min, max);
    }
  }
  let out = env[ENV.out]?.trim() || '';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') continue;
    if (argv[i] === '--out') {
      const dir = argv[++i];
      if (!dir) throw new ConfigError('--out', 'a folder after --out', undefined);
      out = dir;
    } else {
      throw new ConfigError('arguments', '--out DIR (everything else is set by environment variables, see the README)', argv[i]);
    }
  }
  const base = env.INIT_CWD ?? process.cwd();
  const resolved = { ...settings, out: out ? resolve(base, out) : resolve(process.cwd(), 'out') } as ExampleSettings;
  if (resolved.finalLearningRate > resolved.learningRate) {
    throw new ConfigError(ENV.finalLearningRate, `a rate no larger than ${ENV.learningRate} (${resolved.learningRate})`, resolved.finalLearningRate);
  }
  return resolved;
}
