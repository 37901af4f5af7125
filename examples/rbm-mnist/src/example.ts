/**
 * The example's work, as a function the command (main.ts) and the test call: train a Bernoulli
 * RBM with PCD on binarized MNIST, picture what it learned, measure its test log-likelihood by
 * AIS, and save a checkpoint that resumes training.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend, type BackendDescription } from '@helmholtz/backends';
import { encodePng, filterGrid, imageGrid, Rng, type LikelihoodEstimate } from '@helmholtz/core';
import { directoryCheckpoint, terminalProgress } from '@helmholtz/core/node';
import { binarize, describeProtocol, loadMnist, take, type Dataset } from '@helmholtz/datasets';
import {
  BernoulliRBM,
  fitRbm,
  loadRbmTraining,
  meanFreeEnergy,
  rbmLogLikelihood,
  saveRbmTraining,
  type RbmTrainerOptions,
} from '@helmholtz/energy';
import type { ExampleSettings } from './settings.js';

/** The binarization of the published RBM likelihoods (Salakhutdinov & Murray 2008): each pixel on with probability its intensity, drawn once. */
const BINARIZATION = { kind: 'fixed-stochastic', seed: 1 } as const;
const BINARIZATION_NAME = 'fixed-stochastic (Salakhutdinov & Murray 2008)';
const VALIDATION = 1000;
const GRID_COLUMNS = 10;

export interface ExampleResult {
  backend: string;
  /** Seconds spent training, in AIS, in sampling, in all. */
  seconds: { training: number; ais: number; sampling: number; total: number };
  /** The AIS estimate of the mean test log-likelihood, with its protocol. */
  testLogLikelihood: LikelihoodEstimate;
  /** The same log Z with the first min(train, 10,000) training digits: the gap to the test value is the overfitting. */
  trainLogLikelihood: number;
  /** Per-epoch logs of the training loop (reconstruction error, pseudo-likelihood, free-energy gap). */
  epochs: Record<string, number>[];
  /** Whether the saved checkpoint gives back the same model: free energies of test digits equal to the last bit. */
  checkpointRestored: boolean;
  files: string[];
}

async function toMatrix(ds: Dataset): Promise<tf.Tensor2D> {
  const { x, y } = await ds.toTensors();
  tf.dispose(y ?? []);
  return x;
}

function rowsAsImages(rows: tf.Tensor2D, limit: number): tf.Tensor3D {
  return tf.tidy(() => {
    const n = Math.min(limit, rows.shape[0]);
    const shown = tf.slice(rows, [0, 0], [n, rows.shape[1]]);
    return imageGrid(tf.reshape(shown, [n, 28, 28, 1]) as tf.Tensor4D, { columns: GRID_COLUMNS });
  });
}

async function writePicture(path: string, picture: tf.Tensor3D): Promise<void> {
  try {
    await writeFile(path, await encodePng(picture));
  } finally {
    picture.dispose();
  }
}

/**
 * Ten Gibbs chains of the model, one per row, each started from the first test digit of a class
 * (0 to 9), pictured every `steps / 10` steps: E[v | h] after steps/10, 2·steps/10, ..., steps.
 * Chains started from noise mostly fall into the same few modes (the 0s) and stay there for
 * thousands of steps; chains from digits show both what the model generates and how slowly it mixes.
 */
function gibbsChains(rbm: BernoulliRBM, test: tf.Tensor2D, labels: Int32Array | undefined, steps: number, seed: number): tf.Tensor3D {
  const firsts: number[] = [];
  for (let c = 0; c < GRID_COLUMNS; c++) {
    const at = labels ? labels.indexOf(c) : -1;
    firsts.push(at >= 0 ? at : Math.min(c, test.shape[0] - 1));
  }
  const rng = new Rng(seed);
  const interval = Math.max(1, Math.round(steps / GRID_COLUMNS));
  const snapshots: tf.Tensor2D[] = [];
  let current = tf.gather(test, firsts) as tf.Tensor2D;
  for (let k = 0; k < GRID_COLUMNS; k++) {
    const state = rbm.gibbs(current, interval, rng);
    tf.dispose([current, state.hidden]);
    current = state.visible;
    snapshots.push(state.visibleMean);
  }
  current.dispose();
  return tf.tidy(() => {
    // [chains, times, 784]: chain i's snapshots become row i of the grid.
    const tiles = tf.reshape(tf.stack(snapshots, 1), [GRID_COLUMNS * GRID_COLUMNS, 28, 28, 1]) as tf.Tensor4D;
    tf.dispose(snapshots);
    return imageGrid(tiles, { columns: GRID_COLUMNS });
  });
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 100) / 10;
}

/**
 * Runs the example with `settings`, printing progress through `log`. Leaves no tensor behind;
 * the backend is started (initBackend('auto'), or HELMHOLTZ_BACKEND) unless one is running.
 */
export async function runExample(settings: ExampleSettings, log: (line: string) => void = console.log): Promise<ExampleResult> {
  const started = performance.now();
  const backend: BackendDescription = describeBackend() ?? (await initBackend('auto'));
  const skipped = backend.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  log(`backend: ${backend.name} on ${backend.platform}, ${backend.threads.count ?? '?'} thread(s)${skipped ? ` (skipped ${skipped})` : ''}`);
  await mkdir(settings.out, { recursive: true });

  // Taking before binarizing is cheap, and gives the same bits: a digit's draw depends only on
  // the seed and its position in the source.
  const trainSource = await loadMnist({ split: 'train' });
  const trainSet = binarize(take(trainSource, settings.train), BINARIZATION);
  const validationSet = binarize(trainSource.select(Int32Array.from({ length: VALIDATION }, (_, i) => trainSource.size - VALIDATION + i), `last ${VALIDATION}`), BINARIZATION);
  const testSet = binarize(take(await loadMnist({ split: 'test' }), settings.test), BINARIZATION);
  log(`data: ${trainSet.size} training, ${validationSet.size} validation and ${testSet.size} test digits; ${describeProtocol(trainSet.protocol)}`);

  const train = await toMatrix(trainSet);
  const validation = await toMatrix(validationSet);
  const test = await toMatrix(testSet);
  const rbm = new BernoulliRBM({ visible: 784, hidden: settings.hidden, seed: settings.seed, imageShape: [28, 28] });
  const updates = settings.epochs * Math.ceil(train.shape[0] / settings.batchSize);
  const trainerOptions: RbmTrainerOptions = {
    method: 'pcd',
    chains: settings.chains,
    // Tieleman (2008): PCD's chains follow the model best when the rate falls to zero by the end.
    learningRate: { kind: 'linear', from: settings.learningRate, to: settings.finalLearningRate, steps: updates },
    weightDecay: 0.0002,
  };
  const files: string[] = [];
  let trainer: Awaited<ReturnType<typeof fitRbm>>['trainer'] | null = null;
  try {
    log(
      `training: BernoulliRBM 784x${settings.hidden}, PCD-1 with ${settings.chains} persistent chains, ${settings.epochs} epoch(s) of ` +
        `${Math.ceil(train.shape[0] / settings.batchSize)} updates (batch ${settings.batchSize}), learning rate ${settings.learningRate} → ` +
        `${settings.finalLearningRate} (linear), momentum 0.5 then 0.9 after 5 epochs, weight cost 0.0002`,
    );
    const t0 = performance.now();
    const fitted = await fitRbm(rbm, train, {
      ...trainerOptions,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      seed: settings.seed,
      validation,
      callbacks: [terminalProgress({ batchesPerEpoch: Math.ceil(train.shape[0] / settings.batchSize), logEvery: 0 })],
    });
    trainer = fitted.trainer;
    const trainingSeconds = seconds(t0);
    log(`trained in ${trainingSeconds} s`);

    // Pictures: what the hidden units detect, where the persistent chains are, and what the model generates.
    const t1 = performance.now();
    const filtersPath = join(settings.out, 'filters.png');
    const shown = Math.min(settings.filters, settings.hidden);
    await writePicture(
      filtersPath,
      tf.tidy(() => filterGrid(tf.slice(rbm.params.weights, [0, 0], [784, shown]), { height: 28, width: 28, columns: Math.min(GRID_COLUMNS, shown) })),
    );
    const particlesPath = join(settings.out, 'negative-particles.png');
    await writePicture(particlesPath, rowsAsImages(trainer.chains!, 100));
    const samplesPath = join(settings.out, 'samples.png');
    await writePicture(samplesPath, gibbsChains(rbm, test, testSet.labels, settings.sampleSteps, settings.seed + 2));
    files.push(filtersPath, particlesPath, samplesPath);
    const samplingSeconds = seconds(t1);

    // The test log-likelihood by AIS, the protocol of Salakhutdinov & Murray (2008): base-rate
    // model from the training digits, their temperature schedule (the default 14,500), 100 runs.
    log(`AIS: ${settings.aisTemperatures} inverse temperatures, ${settings.aisRuns} runs, base rates from the training digits`);
    const t2 = performance.now();
    const estimate = await rbmLogLikelihood(rbm, test, {
      method: 'ais',
      temperatures: settings.aisTemperatures,
      runs: settings.aisRuns,
      baseRateFrom: train,
      rng: settings.seed + 3,
      data: { dataset: 'mnist', split: 'test', binarization: BINARIZATION_NAME },
    });
    const aisSeconds = seconds(t2);
    const logZ = estimate.protocol.details?.logZ as number;
    const trainRows = Math.min(10_000, train.shape[0]);
    const trainSubset = tf.slice(train, [0, 0], [trainRows, 784]);
    const trainLogLikelihood = -(await meanFreeEnergy(rbm, trainSubset)) - logZ;
    trainSubset.dispose();
    log(
      `test log-likelihood: ${estimate.value.toFixed(2)} ± ${(estimate.standardError ?? NaN).toFixed(2)} nats (${estimate.protocol.examples} test digits; ` +
        `log Z = ${logZ.toFixed(2)}; train ${trainLogLikelihood.toFixed(2)} on ${trainRows} training digits; AIS took ${aisSeconds} s)`,
    );

    // A checkpoint that resumes training (parameters, momentum, persistent chains, generator),
    // read back at once to show that it gives back the same model.
    const checkpointDir = join(settings.out, 'checkpoint');
    const steps = updates;
    await saveRbmTraining(directoryCheckpoint(checkpointDir), trainer, { epoch: settings.epochs, step: steps });
    const restored = await loadRbmTraining(directoryCheckpoint(checkpointDir), trainerOptions);
    const probe = tf.slice(test, [0, 0], [Math.min(100, test.shape[0]), 784]);
    const [before, after] = [rbm.freeEnergy(probe), restored.model.freeEnergy(probe)];
    const [a, b] = [await before.data(), await after.data()];
    const checkpointRestored = a.length === b.length && a.every((x, i) => x === b[i]);
    tf.dispose([probe, before, after]);
    restored.trainer.dispose();
    restored.model.dispose();
    log(`checkpoint: ${checkpointDir} (${checkpointRestored ? 'reloaded: the same free energies, bit for bit' : 'RELOADED MODEL DIFFERS'})`);
    files.push(checkpointDir);

    const result: ExampleResult = {
      backend: `${backend.name} (${backend.threads.count ?? '?'} threads)`,
      seconds: { training: trainingSeconds, ais: aisSeconds, sampling: samplingSeconds, total: seconds(started) },
      testLogLikelihood: estimate,
      trainLogLikelihood,
      epochs: fitted.history.epochs.map((e) => ({ ...e })),
      checkpointRestored,
      files,
    };
    const jsonPath = join(settings.out, 'likelihood.json');
    const { out: _out, ...recorded } = settings;
    await writeFile(
      jsonPath,
      `${JSON.stringify(
        {
          testLogLikelihood: estimate,
          trainLogLikelihood: { value: trainLogLikelihood, examples: trainRows, note: 'the same log Z as the test value' },
          model: { kind: rbm.kind, config: rbm.config },
          training: { ...trainerOptions, epochs: settings.epochs, batchSize: settings.batchSize, examples: train.shape[0], updates, validation: `last ${VALIDATION} training digits` },
          data: trainSet.protocol,
          settings: recorded,
          backend: result.backend,
          seconds: result.seconds,
          history: result.epochs,
        },
        null,
        2,
      )}\n`,
    );
    files.push(jsonPath);
    if (!checkpointRestored) throw new Error('the checkpoint did not give back the trained model');
    return result;
  } finally {
    trainer?.dispose();
    rbm.dispose();
    tf.dispose([train, validation, test]);
  }
}
