/**
 * Peak tensor memory of an IWAE-style evaluation (batch 100, 32 latent dimensions, 16 pixels,
 * k = 5,000 importance samples) with core's chunked `importanceWeightedLogMean` at two chunk
 * sizes, against `logMeanExp` over all k log-weights at once. Peak bytes from `tf.profile`.
 *
 *   cd packages/core && npx tsx bench/importance-weighting.bench.ts     (after pnpm build)
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  bernoulliLogDensity,
  diagonalGaussianLogDensity,
  importanceWeightedLogMean,
  logMeanExp,
  matMul,
  reparameterize,
  Rng,
  standardNormalLogDensity,
} from '@helmholtz/core';

const BATCH = 100;
const LATENT = 32;
const PIXELS = 16;
const K = 5000;

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const rng = new Rng(1);
  const x = tf.tidy(() => tf.cast(tf.less(rng.uniform([BATCH, PIXELS]), 0.3), 'float32'));
  const mean = rng.normalTensor([BATCH, LATENT], 0, 0.1);
  const logVar = tf.fill([BATCH, LATENT], -1);
  const W = rng.normalTensor([LATENT, PIXELS], 0, 0.1);
  // log w = log p(x|z) + log p(z) − log q(z|x) for `count` samples: [count, batch].
  const logWeights = (count: number) => {
    const z = reparameterize(mean, logVar, rng, { samples: count });
    const logits = tf.reshape(matMul(tf.reshape(z, [count * BATCH, LATENT]) as tf.Tensor2D, W), [count, BATCH, PIXELS]);
    return tf.sub(tf.add(bernoulliLogDensity(x, logits), standardNormalLogDensity(z)), diagonalGaussianLogDensity(z, mean, logVar));
  };
  const rows: string[] = [];
  for (const chunkSize of [250, 1000]) {
    const started = performance.now();
    const info = await tf.profile(async () => {
      const r = importanceWeightedLogMean({ total: K, chunkSize, logWeights: (_start, count) => logWeights(count) });
      await r.logMean.data();
      tf.dispose([r.logMean, r.effectiveSampleSize, r.standardError]);
    });
    rows.push(`importanceWeightedLogMean, chunkSize ${chunkSize}: peak ${(info.peakBytes / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }
  const started = performance.now();
  const info = await tf.profile(async () => {
    const all = tf.tidy(() => logMeanExp(logWeights(K), 0));
    await all.data();
    all.dispose();
  });
  rows.push(`logMeanExp over all ${K} at once: peak ${(info.peakBytes / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(2)} s`);
  console.log(`wasm, batch ${BATCH}, latent ${LATENT}, ${PIXELS} pixels, k = ${K}`);
  for (const r of rows) console.log(r);
  tf.dispose([x, mean, logVar, W]);
}

await main();
