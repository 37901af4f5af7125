/**
 * The smallest complete Helmholtz app. It picks a backend, loads MNIST digits, trains a
 * tied-weight autoencoder (784 -> 64 -> 784) built from core's layers with core's training
 * loop, then writes what it learned as PNG files and a checkpoint, and reloads the checkpoint
 * to show that it restores the same model.
 *
 *   pnpm demo                                  (from the repository root)
 *   HELMHOLTZ_BACKEND=cpu pnpm demo            (any backend initBackend knows)
 *   DEMO_TRAIN=60000 DEMO_EPOCHS=10 pnpm demo  (bigger run)
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@helmholtz/backends';
import {
  Rng,
  binaryCrossEntropyFromLogits,
  checkpointEvery,
  createDense,
  createOptimizer,
  createTiedDenseBias,
  dense,
  disposeParams,
  filterGrid,
  imageGrid,
  loadCheckpoint,
  saveCheckpoint,
  tiedDense,
  train,
  type ParamTree,
} from '@helmholtz/core';
import { directoryCheckpoint, terminalProgress, writePng } from '@helmholtz/core/node';
import { binarize, describeProtocol, loadMnist, take, type Dataset } from '@helmholtz/datasets';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');
const SEED = Number(process.env.DEMO_SEED ?? 1);
const TRAIN_SIZE = Number(process.env.DEMO_TRAIN ?? 10_000);
const EPOCHS = Number(process.env.DEMO_EPOCHS ?? 5);
const BATCH = 100;
const HIDDEN = 64;

interface Autoencoder extends ParamTree {
  encoder: ReturnType<typeof createDense>;
  decoderBias: tf.Variable;
}

function createAutoencoder(rng: Rng): Autoencoder {
  const encoder = createDense({ name: 'encoder', inputs: 784, units: HIDDEN, rng });
  // The decoder reuses the encoder's kernel transposed (tied weights): half the parameters.
  return { encoder, decoderBias: createTiedDenseBias({ name: 'decoder', tiedTo: encoder }) };
}

/** Logits of the reconstruction; the loss works on logits for numerical stability. */
function reconstructLogits(model: Autoencoder, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tiedDense(dense(x, model.encoder, 'sigmoid'), model.encoder, model.decoderBias));
}

/** Mean binary cross-entropy per image (nats, summed over 784 pixels) over a whole dataset. */
async function reconstructionLoss(model: Autoencoder, data: Dataset): Promise<number> {
  let total = 0;
  let count = 0;
  for await (const batch of data.batches({ batchSize: 500 })) {
    const loss = tf.tidy(() =>
      tf.mul(binaryCrossEntropyFromLogits(reconstructLogits(model, batch.x), batch.x, 'mean'), 784),
    );
    total += (await loss.data())[0]! * batch.x.shape[0]!;
    count += batch.x.shape[0]!;
    tf.dispose([loss, batch.x, batch.y ?? []]);
  }
  return total / count;
}

async function main(): Promise<void> {
  const backend = await initBackend('auto');
  const skipped = backend.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  console.log(`backend: ${backend.name} on ${backend.platform}, ${backend.threads.count ?? '?'} thread(s)${skipped ? ` (skipped ${skipped})` : ''}`);
  await mkdir(OUT, { recursive: true });

  // Threshold binarization at 0.5: the protocol is recorded with the dataset.
  const trainSet = binarize(take(await loadMnist({ split: 'train' }), TRAIN_SIZE), { kind: 'threshold', threshold: 0.5 });
  const testSet = binarize(take(await loadMnist({ split: 'test' }), 1_000), { kind: 'threshold', threshold: 0.5 });
  console.log(`data: ${trainSet.size} training and ${testSet.size} test digits; ${describeProtocol(trainSet.protocol)}`);

  const rng = new Rng(SEED);
  const model = createAutoencoder(rng);
  const optimizer = createOptimizer({ kind: 'adam', learningRate: 3e-3 }, model);
  const before = await reconstructionLoss(model, testSet);

  const checkpointDir = join(OUT, 'checkpoint');
  const history = await train({
    epochs: EPOCHS,
    batches: (epoch) => trainSet.batches({ batchSize: BATCH, shuffle: true, seed: SEED, epoch }),
    step: (batch) => ({
      loss: optimizer.minimize(() =>
        tf.mul(binaryCrossEntropyFromLogits(reconstructLogits(model, batch.x), batch.x, 'mean'), 784),
      ),
    }),
    callbacks: [
      terminalProgress({ batchesPerEpoch: Math.ceil(trainSet.size / BATCH) }),
      checkpointEvery({
        epochs: EPOCHS,
        save: (epoch, _logs, { step }) =>
          saveCheckpoint(directoryCheckpoint(checkpointDir), {
            params: model,
            config: { hidden: HIDDEN, tied: true },
            optimizers: { adam: optimizer },
            metadata: { epoch, step },
          }).then(() => undefined),
      }),
    ],
  });
  const after = await reconstructionLoss(model, testSet);
  console.log(`test reconstruction loss (nats per image): ${before.toFixed(1)} before training, ${after.toFixed(1)} after ${history.epochs.length} epochs`);

  const first = await take(testSet, 16).toTensors();
  tf.dispose(first.y ?? []);
  const originals = first.x;
  const pictures = tf.tidy(() => {
    const x = originals;
    const reconstructions = tf.sigmoid(reconstructLogits(model, x));
    // Row pairs: 8 originals above their 8 reconstructions.
    const rows = [0, 8].flatMap((start) => [tf.slice(x, [start, 0], [8, 784]), tf.slice(reconstructions, [start, 0], [8, 784])]);
    return {
      reconstructions: imageGrid(tf.reshape(tf.concat(rows, 0), [32, 28, 28, 1]) as tf.Tensor4D, { columns: 8 }),
      filters: filterGrid(model.encoder.kernel as tf.Tensor2D, { height: 28, width: 28, columns: 8 }),
    };
  });
  await writePng(join(OUT, 'reconstructions.png'), pictures.reconstructions);
  await writePng(join(OUT, 'filters.png'), pictures.filters);
  tf.dispose([originals, pictures.reconstructions, pictures.filters]);

  // A fresh model restored from the checkpoint reconstructs exactly as the trained one.
  const restored = createAutoencoder(new Rng(SEED + 1));
  await loadCheckpoint(directoryCheckpoint(checkpointDir), { params: restored, config: { hidden: HIDDEN, tied: true } });
  const restoredLoss = await reconstructionLoss(restored, testSet);
  console.log(`restored from ${checkpointDir}: test loss ${restoredLoss.toFixed(1)}`);
  if (restoredLoss !== after) throw new Error(`the restored model differs: ${restoredLoss} vs ${after}`);

  console.log(`wrote ${join(OUT, 'reconstructions.png')} and ${join(OUT, 'filters.png')}`);
  optimizer.dispose();
  disposeParams(model);
  disposeParams(restored);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
