/**
 * How good are @helmholtz/energy's models, measured as the literature measures them: the mean
 * log-likelihood of MNIST's 10,000 test digits (fixed stochastic binarization, Salakhutdinov &
 * Murray 2008) by annealed importance sampling, next to the published numbers for the same
 * setting. Rows: a 784x500 RBM trained with CD-1, the same with PCD, a DBN with two hidden
 * layers (variational lower bound with AIS for the top RBM) and, when @helmholtz/energy exports
 * one, a DBM.
 *
 *   pnpm --filter @helmholtz/bench energy-quality [--json FILE]
 *   BENCH_QUALITY_ROWS=rbm-cd,rbm-pcd BENCH_QUALITY_EPOCHS=1 BENCH_AIS_TEMPERATURES=1000 pnpm --filter @helmholtz/bench energy-quality
 *
 * Prints progress on stderr and the report (Markdown) on stdout. See ../../README.md.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import { ConfigError, type LikelihoodEstimate, type TrainingCallback } from '@helmholtz/core';
import * as energy from '@helmholtz/energy';
import { BernoulliRBM, DBN, dbnLogLikelihoodBound, fitDbn, fitRbm, meanFreeEnergy, rbmLogLikelihood, type RbmTrainerOptions } from '@helmholtz/energy';
import { describeMachine } from '../machine.js';
import { envInteger, envList, envNumber, packageVersion, progress, renderTable } from './harness.js';
import { loadBinaryMnist, type BinaryMnist } from './mnist.js';

const ROWS = ['rbm-cd', 'rbm-pcd', 'dbn', 'dbm'] as const;
type RowId = (typeof ROWS)[number];
const BINARIZATION = 'fixed-stochastic (Salakhutdinov & Murray 2008)';

interface Settings {
  rows: RowId[];
  train: number;
  test: number;
  epochs: number;
  layerEpochs: number;
  learningRate: number;
  batchSize: number;
  temperatures: number;
  runs: number;
  dbnLayers: number[];
  dbmLayers: number[];
  boundSamples: number;
  seed: number;
  threads: number;
  jsonFile: string | null;
}

/** The environment variables a row's command sets, with their values in this run. */
const ENV_OF: Record<string, (s: Settings) => string> = {
  BENCH_QUALITY_TRAIN: (s) => String(s.train),
  BENCH_QUALITY_EPOCHS: (s) => String(s.epochs),
  BENCH_QUALITY_LAYER_EPOCHS: (s) => String(s.layerEpochs),
  BENCH_QUALITY_LR: (s) => String(s.learningRate),
  BENCH_AIS_TEMPERATURES: (s) => String(s.temperatures),
  BENCH_AIS_RUNS: (s) => String(s.runs),
  BENCH_QUALITY_DBN: (s) => s.dbnLayers.join(','),
  BENCH_QUALITY_DBM: (s) => s.dbmLayers.join(','),
  BENCH_QUALITY_SEED: (s) => String(s.seed),
};

function layersFromEnv(name: string, fallback: number[]): number[] {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const sizes = raw.split(',').map((x) => Number(x.trim()));
  if (sizes.length !== 2 || !sizes.every((n) => Number.isInteger(n) && n > 0)) throw new ConfigError(name, 'two hidden layer sizes, e.g. 500,2000', raw);
  return sizes;
}

function parseSettings(argv: string[]): Settings {
  let jsonFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '--markdown') continue;
    if (arg === '--json') {
      const file = argv[++i];
      if (!file) throw new ConfigError('--json', 'a file name after --json', undefined);
      jsonFile = resolve(process.env.INIT_CWD ?? process.cwd(), file);
    } else throw new ConfigError('arguments', '--json FILE (the rest is set by environment variables, see bench/README.md)', arg);
  }
  const epochs = envInteger('BENCH_QUALITY_EPOCHS', 3);
  const train = envInteger('BENCH_QUALITY_TRAIN', 60_000);
  const test = envInteger('BENCH_QUALITY_TEST', 10_000);
  if (train > 60_000) throw new ConfigError('BENCH_QUALITY_TRAIN', 'at most 60000', train);
  if (test > 10_000) throw new ConfigError('BENCH_QUALITY_TEST', 'at most 10000', test);
  return {
    rows: (envList('BENCH_QUALITY_ROWS', ROWS) as RowId[] | null) ?? [...ROWS],
    train,
    test,
    epochs,
    layerEpochs: envInteger('BENCH_QUALITY_LAYER_EPOCHS', epochs),
    learningRate: envNumber('BENCH_QUALITY_LR', 0.05),
    batchSize: 100,
    temperatures: envInteger('BENCH_AIS_TEMPERATURES', 14_500, 2),
    runs: envInteger('BENCH_AIS_RUNS', 100),
    dbnLayers: layersFromEnv('BENCH_QUALITY_DBN', [500, 2000]),
    dbmLayers: layersFromEnv('BENCH_QUALITY_DBM', [500, 1000]),
    boundSamples: envInteger('BENCH_QUALITY_BOUND_SAMPLES', 10),
    seed: envInteger('BENCH_QUALITY_SEED', 1, 0),
    threads: envInteger('BENCH_THREADS', os.availableParallelism()),
    jsonFile,
  };
}

/** Published test log-likelihoods on MNIST with the same binarization, for the rows' models: [short, full citation]. */
const PUBLISHED: Record<RowId, [string, string]> = {
  'rbm-cd': [
    '−125.53 (SM08, CD-1)',
    'Salakhutdinov & Murray (2008), table 2: RBM with 500 hidden units trained with CD-1 ("CD1(25)"): −125.53 on the test digits; CD-3: −105.50; CD-25 (steps raised during training): −86.34. AIS estimates.',
  ],
  'rbm-pcd': ['– (SM08 best RBM of this size, CD-25: −86.34)', 'Salakhutdinov & Murray (2008) train with CD only; their best 500-hidden RBM (CD-25) reaches −86.34.'],
  dbn: [
    '−86.22 (SM08, bound)',
    'Salakhutdinov & Murray (2008): DBN with hidden layers of 500 and 2000 units, greedily trained, top RBM with CD-25: variational lower bound −86.22 on the test digits (log Z of the top RBM by AIS).',
  ],
  dbm: [
    '−84.62 (SH09)',
    'Salakhutdinov & Hinton (2009): DBM with hidden layers of 500 and 1000 units, greedy pre-training then variational learning: −84.62 on the test digits (AIS estimate of log Z, variational lower bound on log p(x)).',
  ],
};

interface Row {
  id: RowId;
  model: string;
  training: string;
  evaluation: string;
  estimate: LikelihoodEstimate | null;
  /** Mean log p of the first 10,000 training digits with the same log Z (RBM rows). */
  trainValue: number | null;
  published: string;
  trainSeconds: number;
  evalSeconds: number;
  skipped: string | null;
  command: string;
}

function epochLogger(what: string): TrainingCallback {
  let t0 = 0;
  return {
    onEpochBegin: () => {
      t0 = performance.now();
    },
    onEpochEnd: (epoch, logs) => {
      const shown = Object.entries(logs)
        .filter(([k]) => k !== 'epoch')
        .map(([k, v]) => `${k}=${v.toPrecision(4)}`)
        .join(' ');
      progress(`${what}: epoch ${epoch + 1} (${((performance.now() - t0) / 1000).toFixed(1)} s) ${shown}`);
    },
  };
}

function aisProgress(what: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    if (done === total || performance.now() - last > 5000) {
      last = performance.now();
      progress(`${what}: AIS ${done}/${total} temperatures`);
    }
  };
}

function commandOf(s: Settings, id: RowId, vars: string[]): string {
  const env = [`BENCH_QUALITY_ROWS=${id}`, ...vars.map((v) => `${v}=${ENV_OF[v]!(s)}`)];
  return `${env.join(' ')} pnpm --filter @helmholtz/bench energy-quality`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const seconds = (since: number): number => (performance.now() - since) / 1000;

async function rbmRow(s: Settings, method: 'cd' | 'pcd', train: tf.Tensor2D, test: tf.Tensor2D): Promise<Row> {
  const id: RowId = method === 'cd' ? 'rbm-cd' : 'rbm-pcd';
  const rbm = new BernoulliRBM({ visible: 784, hidden: 500, seed: s.seed, imageShape: [28, 28] });
  const updates = s.epochs * Math.ceil(train.shape[0] / s.batchSize);
  const options: RbmTrainerOptions = {
    method,
    ...(method === 'pcd' ? { chains: 100 } : {}),
    learningRate: { kind: 'linear', from: s.learningRate, to: 0, steps: updates },
    weightDecay: 0.0002,
  };
  const t0 = performance.now();
  const { trainer } = await fitRbm(rbm, train, { ...options, epochs: s.epochs, batchSize: s.batchSize, seed: s.seed, callbacks: [epochLogger(id)] });
  trainer.dispose();
  const trainSeconds = seconds(t0);
  const t1 = performance.now();
  try {
    const estimate = await rbmLogLikelihood(rbm, test, {
      method: 'ais',
      temperatures: s.temperatures,
      runs: s.runs,
      baseRateFrom: train,
      rng: s.seed + 10,
      data: { dataset: 'mnist', split: 'test', binarization: BINARIZATION },
    });
    const logZ = estimate.protocol.details?.logZ as number;
    const trainRows = tf.slice(train, [0, 0], [Math.min(10_000, train.shape[0]), 784]);
    const trainValue = -(await meanFreeEnergy(rbm, trainRows)) - logZ;
    trainRows.dispose();
    return {
      id,
      model: `RBM 784-500 (${method === 'cd' ? 'CD-1' : 'PCD'})`,
      training:
        `${method === 'cd' ? 'CD-1' : 'PCD-1, 100 chains'}, ${plural(s.epochs, 'epoch')} of ${train.shape[0]} digits, batch ${s.batchSize}, ` +
        `lr ${s.learningRate} → 0 linear, momentum 0.5 (0.9 after 5 epochs), weight cost 0.0002, visible biases from the data`,
      evaluation: `AIS, ${s.temperatures} temperatures (SM08 spacing), ${s.runs} runs, base rates from the training digits; log Z = ${logZ.toFixed(2)}`,
      estimate,
      trainValue,
      published: PUBLISHED[id][0],
      trainSeconds,
      evalSeconds: seconds(t1),
      skipped: null,
      command: commandOf(s, id, ['BENCH_QUALITY_TRAIN', 'BENCH_QUALITY_EPOCHS', 'BENCH_QUALITY_LR', 'BENCH_AIS_TEMPERATURES', 'BENCH_AIS_RUNS', 'BENCH_QUALITY_SEED']),
    };
  } finally {
    rbm.dispose();
  }
}

async function dbnRow(s: Settings, train: tf.Tensor2D, test: tf.Tensor2D): Promise<Row> {
  const [h1, h2] = s.dbnLayers as [number, number];
  const dbn = new DBN({ layers: [784, h1, h2], seed: s.seed, imageShape: [28, 28] });
  const updates = s.layerEpochs * Math.ceil(train.shape[0] / s.batchSize);
  const t0 = performance.now();
  try {
    await fitDbn(dbn, train, {
      epochs: s.layerEpochs,
      batchSize: s.batchSize,
      seed: s.seed,
      method: 'pcd',
      chains: 100,
      learningRate: { kind: 'linear', from: s.learningRate, to: 0, steps: updates },
      weightDecay: 0.0002,
      callbacks: (layer) => [epochLogger(`dbn layer ${layer + 1}`)],
    });
    const trainSeconds = seconds(t0);
    const t1 = performance.now();
    progress(`dbn: AIS on the top RBM ${h1}x${h2} and the bound`);
    const estimate = await dbnLogLikelihoodBound(dbn, test, {
      data: { dataset: 'mnist', split: 'test', binarization: BINARIZATION },
      rng: s.seed + 20,
      bound: 'variational',
      samples: s.boundSamples,
      partition: 'ais',
      ais: { temperatures: s.temperatures, runs: s.runs, onProgress: aisProgress('dbn top RBM') },
    });
    return {
      id: 'dbn',
      model: `DBN 784-${h1}-${h2}`,
      training:
        `greedy, each RBM PCD-1 with 100 chains, ${plural(s.layerEpochs, 'epoch')} of ${train.shape[0]} digits, batch ${s.batchSize}, lr ${s.learningRate} → 0 linear, ` +
        'momentum 0.5 (0.9 after 5 epochs), weight cost 0.0002; the upper RBM on the lower one\'s p(h | v)',
      evaluation:
        `variational lower bound (SM08 eq. 14), ${s.boundSamples} draws of q(h | x) per digit; log Z of the top RBM by AIS, ${s.temperatures} temperatures, ${s.runs} runs ` +
        `(log Z = ${(estimate.protocol.details?.logZ as number).toFixed(2)})`,
      estimate,
      trainValue: null,
      published: PUBLISHED.dbn[0],
      trainSeconds,
      evalSeconds: seconds(t1),
      skipped: null,
      command: commandOf(s, 'dbn', ['BENCH_QUALITY_TRAIN', 'BENCH_QUALITY_LAYER_EPOCHS', 'BENCH_QUALITY_DBN', 'BENCH_QUALITY_LR', 'BENCH_AIS_TEMPERATURES', 'BENCH_AIS_RUNS', 'BENCH_QUALITY_SEED']),
    };
  } finally {
    dbn.dispose();
  }
}

/**
 * The DBM row, run when @helmholtz/energy exports the DBM and its functions (they were being
 * written alongside this benchmark); otherwise the row says which are missing. Greedy
 * pre-training with the weight doubling/halving of Salakhutdinov & Hinton (2009), then
 * variational learning (mean-field positive phase, persistent chains), then the mean-field
 * variational bound with log Z by AIS on the DBM.
 */
async function dbmRow(s: Settings, train: tf.Tensor2D, test: tf.Tensor2D): Promise<Row> {
  const exports = energy as unknown as Record<string, unknown>;
  const missing = ['DBM', 'pretrainDbm', 'fitDbm', 'dbmLogLikelihoodBound'].filter((name) => typeof exports[name] !== 'function');
  const [h1, h2] = s.dbmLayers as [number, number];
  const base: Row = {
    id: 'dbm',
    model: `DBM 784-${h1}-${h2}`,
    training: '',
    evaluation: '',
    estimate: null,
    trainValue: null,
    published: PUBLISHED.dbm[0],
    trainSeconds: 0,
    evalSeconds: 0,
    skipped: null,
    command: commandOf(s, 'dbm', ['BENCH_QUALITY_TRAIN', 'BENCH_QUALITY_LAYER_EPOCHS', 'BENCH_QUALITY_DBM', 'BENCH_AIS_TEMPERATURES', 'BENCH_AIS_RUNS', 'BENCH_QUALITY_SEED']),
  };
  if (missing.length) return { ...base, skipped: `@helmholtz/energy does not export ${missing.join(', ')}: no DBM row` };
  const dbm = new energy.DBM({ layers: [784, h1, h2], seed: s.seed, imageShape: [28, 28] });
  try {
    const t0 = performance.now();
    await energy.pretrainDbm(dbm, train, { epochs: s.layerEpochs, batchSize: s.batchSize, seed: s.seed, callbacks: [epochLogger('dbm pre-training')] });
    const { trainer } = await energy.fitDbm(dbm, train, { epochs: s.layerEpochs, batchSize: s.batchSize, seed: s.seed, callbacks: [epochLogger('dbm')] });
    trainer.dispose();
    const trainSeconds = seconds(t0);
    const t1 = performance.now();
    progress('dbm: AIS on the DBM and the mean-field bound');
    const estimate = await energy.dbmLogLikelihoodBound(dbm, test, {
      data: { dataset: 'mnist', split: 'test', binarization: BINARIZATION },
      rng: s.seed + 30,
      partition: 'ais',
      ais: { temperatures: s.temperatures, runs: s.runs, baseRateFrom: train, onProgress: aisProgress('dbm') },
    });
    return {
      ...base,
      training:
        `pretrainDbm (CD-1 RBMs with doubled/halved weights, lr 0.05, ${plural(s.layerEpochs, 'epoch')} each), then fitDbm (variational learning, 100 persistent chains, ` +
        `lr 0.005 → 0 linear, ${plural(s.layerEpochs, 'epoch')}), batch ${s.batchSize}, ${train.shape[0]} digits`,
      evaluation:
        `mean-field variational lower bound; log Z of the DBM by AIS, ${s.temperatures} temperatures, ${s.runs} runs, base rates from the training digits ` +
        `(log Z = ${(estimate.protocol.details?.logZ as number).toFixed(2)})`,
      estimate,
      trainSeconds,
      evalSeconds: seconds(t1),
    };
  } catch (e) {
    return { ...base, skipped: `the DBM row failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  } finally {
    dbm.dispose();
  }
}

function minutes(secondsTaken: number): string {
  return secondsTaken >= 90 ? `${(secondsTaken / 60).toFixed(1)} min` : `${secondsTaken.toFixed(0)} s`;
}

async function main(): Promise<void> {
  const s = parseSettings(process.argv.slice(2));
  const machine = describeMachine();
  const backend = await initBackend('wasm', { threads: s.threads });
  progress('loading MNIST');
  const trainSet: BinaryMnist = await loadBinaryMnist('train');
  const testSet: BinaryMnist = await loadBinaryMnist('test');
  const toTensor = (m: BinaryMnist, n: number): tf.Tensor2D => tf.tensor2d(Float32Array.from(m.bytes.subarray(0, n * 784)), [n, 784]);
  const train = toTensor(trainSet, s.train);
  const test = toTensor(testSet, s.test);
  const rows: Row[] = [];
  const started = performance.now();
  for (const id of s.rows) {
    progress(`${id}: training`);
    if (id === 'rbm-cd' || id === 'rbm-pcd') rows.push(await rbmRow(s, id === 'rbm-cd' ? 'cd' : 'pcd', train, test));
    else if (id === 'dbn') rows.push(await dbnRow(s, train, test));
    else rows.push(await dbmRow(s, train, test));
    const last = rows[rows.length - 1]!;
    progress(last.skipped ? `${id}: skipped (${last.skipped})` : `${id}: ${last.estimate!.value.toFixed(2)} nats, ${minutes(last.trainSeconds + last.evalSeconds)}`);
  }
  tf.dispose([train, test]);
  progress('');

  const out: string[] = [];
  out.push('### MNIST test log-likelihood (issue 10: @helmholtz/energy)', '');
  out.push(
    `- machine: ${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB, ${machine.os}; load average ${machine.loadAverage.join(' ')} at the start`,
    `- node ${machine.node}, tfjs-core ${tf.version_core}, @helmholtz/energy ${packageVersion('@helmholtz/energy') ?? '?'}; backend ${backend.name} (${backend.threads.note})`,
    `- data: ${trainSet.protocol}; ${s.train} training digits, the first ${s.test} of the ${testSet.size} test digits (same binarization, its own draws)`,
    `- date ${machine.date}; all rows ${minutes(seconds(started))}`,
    '',
  );
  // The mean log-probability of binary data cannot exceed 0: a positive estimate means log Z was
  // grossly underestimated (AIS far from converged) or a bug, and the row must not be quoted.
  const impossible = rows.filter((r) => r.estimate && !(r.estimate.value <= 0));
  if (impossible.length) process.exitCode = 1;
  const head = ['model', 'test log-likelihood (nats)', 'train', 'published, same setting', 'time (train + eval)'];
  const tableRows = rows.map((r) => [
    r.model,
    r.skipped
      ? `skipped: ${r.skipped}`
      : `${r.estimate!.value.toFixed(2)} ± ${(r.estimate!.standardError ?? NaN).toFixed(2)} (${r.estimate!.kind})${impossible.includes(r) ? ' IMPOSSIBLE (> 0)' : ''}`,
    r.trainValue === null ? '–' : r.trainValue.toFixed(2),
    r.published,
    r.skipped ? '–' : `${minutes(r.trainSeconds)} + ${minutes(r.evalSeconds)}`,
  ]);
  out.push(
    renderTable(
      {
        title: 'Results',
        head,
        rows: tableRows,
        right: [false, true, true, false, true],
        notes: [
          '± is the standard error: the spread over test digits and the AIS error of log Z, in quadrature. An estimate that uses AIS for log Z is ' +
            'optimistic in expectation (log Z is underestimated); a short schedule makes it more so',
          ...(impossible.length
            ? [`IMPOSSIBLE: a mean log-probability of binary data above 0 (${impossible.map((r) => r.model).join(', ')}): log Z is grossly underestimated or something is wrong; do not quote it (exit code 1)`]
            : []),
          ...rows.map((r) => `${r.model}: ${PUBLISHED[r.id][1]}`),
        ],
      },
      true,
    ),
    '',
  );
  const protocolRows = rows.filter((r) => !r.skipped).map((r) => [r.model, r.training, r.evaluation, `\`${r.command}\``]);
  if (protocolRows.length) {
    out.push(renderTable({ title: 'Protocol and command of each row', head: ['model', 'training', 'evaluation', 'command'], rows: protocolRows, right: [false, false, false, false] }, true), '');
  }
  for (const r of rows.filter((x) => x.skipped)) out.push(`- ${r.model}: ${r.skipped}`);
  console.log(out.join('\n'));

  if (s.jsonFile) {
    writeFileSync(
      s.jsonFile,
      `${JSON.stringify({ machine, settings: s, backend: { name: backend.name, threads: backend.threads }, data: trainSet.protocol, rows }, null, 2)}\n`,
    );
    console.log(`\nresults written to ${s.jsonFile}`);
  }
}

main()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((e: unknown) => {
    progress('');
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  });
