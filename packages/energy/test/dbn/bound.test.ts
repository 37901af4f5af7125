import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, Rng } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { DBN } from '../../src/dbn/dbn.js';
import { exactLogPartition } from '../../src/partition/exact.js';

const DATA = { dataset: 'tiny', split: 'all', binarization: 'none (binary)' };

// ---- A float64 oracle: every sum over hidden states written out in plain JS. ----

interface Layer {
  W: number[][]; // [below][above]
  b: number[]; // below
  c: number[]; // above
  logVariance?: number[];
}

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function logSumExp(xs: number[]): number {
  const max = Math.max(...xs);
  return max + Math.log(xs.reduce((s, x) => s + Math.exp(x - max), 0));
}

function states(n: number): number[][] {
  return Array.from({ length: 2 ** n }, (_, code) => Array.from({ length: n }, (_, i) => (code >> i) & 1));
}

/** Total input to the layer above from state u below (u/σ² for Gaussian units). */
function upLogits(layer: Layer, u: number[]): number[] {
  return layer.c.map((c, j) => c + u.reduce((s, ui, i) => s + (ui / (layer.logVariance ? Math.exp(layer.logVariance[i] as number) : 1)) * (layer.W[i]?.[j] as number), 0));
}

/** log p(u | h) of the layer below. */
function logDown(layer: Layer, u: number[], h: number[]): number {
  return u.reduce((s, ui, i) => {
    const a = (layer.b[i] as number) + h.reduce((t, hj, j) => t + hj * (layer.W[i]?.[j] as number), 0);
    if (layer.logVariance) {
      const z = layer.logVariance[i] as number;
      return s - 0.5 * ((ui - a) ** 2 / Math.exp(z) + z + Math.log(2 * Math.PI));
    }
    return s + ui * a - softplus(a);
  }, 0);
}

/** log of a factorial Bernoulli q(h) with these logits. */
function logFactorial(h: number[], logits: number[]): number {
  return h.reduce((s, hj, j) => s + hj * (logits[j] as number) - softplus(logits[j] as number), 0);
}

/** log p*(u) of the top RBM's visible layer: b·u + Σ softplus(c + uW) − log Z. */
function topLogMarginal(top: Layer, logZ: number, u: number[]): number {
  return u.reduce((s, ui, i) => s + ui * (top.b[i] as number), 0) + upLogits(top, u).reduce((s, a) => s + softplus(a), 0) - logZ;
}

function topLogZ(top: Layer): number {
  return logSumExp(states(top.b.length).map((u) => topLogMarginal(top, 0, u)));
}

/** Every path (h1, ..., h_{k−1}) with log p(v, path) and log q(path | v). */
function paths(layers: Layer[], v: number[]): { logJoint: number; logQ: number }[] {
  const top = layers[layers.length - 1] as Layer;
  const logZ = topLogZ(top);
  const out: { logJoint: number; logQ: number }[] = [];
  const walk = (i: number, below: number[], logJoint: number, logQ: number): void => {
    if (i === layers.length - 1) {
      out.push({ logJoint: logJoint + topLogMarginal(top, logZ, below), logQ });
      return;
    }
    const layer = layers[i] as Layer;
    const q = upLogits(layer, below);
    for (const h of states(layer.c.length)) walk(i + 1, h, logJoint + logDown(layer, below, h), logQ + logFactorial(h, q));
  };
  walk(0, v, 0, 0);
  return out;
}

function exactLogLikelihood(layers: Layer[], v: number[]): number {
  return logSumExp(paths(layers, v).map((p) => p.logJoint));
}

function exactVariationalBound(layers: Layer[], v: number[]): number {
  return paths(layers, v).reduce((s, p) => s + Math.exp(p.logQ) * (p.logJoint - p.logQ), 0);
}

function readLayers(dbn: DBN): Layer[] {
  return dbn.rbms.map((rbm) => {
    const flat = Array.from(rbm.params.weights.dataSync());
    const layer: Layer = {
      W: Array.from({ length: rbm.visible }, (_, i) => flat.slice(i * rbm.hidden, (i + 1) * rbm.hidden)),
      b: Array.from(rbm.params.visibleBias.dataSync()),
      c: Array.from(rbm.params.hiddenBias.dataSync()),
    };
    if (rbm.params.logVariance) layer.logVariance = Array.from(rbm.params.logVariance.dataSync());
    return layer;
  });
}

function randomDbn(config: ConstructorParameters<typeof DBN>[0], seed: number): DBN {
  const dbn = new DBN({ initialScale: 1, seed, ...config });
  const rng = new Rng(seed + 100);
  tf.tidy(() => {
    for (const rbm of dbn.rbms) {
      rbm.params.visibleBias.assign(rng.normalTensor([rbm.visible], 0, 0.7));
      rbm.params.hiddenBias.assign(rng.normalTensor([rbm.hidden], 0, 0.7));
    }
  });
  return dbn;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('DBN variational bound against enumeration', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['2 hidden layers, 5-4-3', [5, 4, 3]],
    ['3 hidden layers, 4-3-3-2', [4, 3, 3, 2]],
  ])('%s: the estimate matches the exact bound, lies below the exact log p(v), and the importance-weighted one closes the gap', async (_name, sizes) => {
    const dbn = randomDbn({ layers: sizes as number[] }, 3);
    const layers = readLayers(dbn);
    const V = sizes[0] as number;
    const all = states(V);
    // The oracle is a distribution: p(v) sums to 1 over every visible state.
    expect(logSumExp(all.map((v) => exactLogLikelihood(layers, v)))).toBeCloseTo(0, 10);
    const exact = mean(all.map((v) => exactLogLikelihood(layers, v)));
    const exactBound = mean(all.map((v) => exactVariationalBound(layers, v)));
    const x = tf.tensor2d(all);
    const variational = await dbn.logLikelihood(x, { data: DATA, rng: 1, samples: 1000 });
    const weighted = await dbn.logLikelihood(x, { data: DATA, rng: 2, samples: 1000, bound: 'importance-weighted' });
    console.log(`${sizes.join('-')}: exact ${exact.toFixed(4)}, exact bound ${exactBound.toFixed(4)}, estimate ${variational.value.toFixed(4)}, importance-weighted ${weighted.value.toFixed(4)}`);
    expect(exact - exactBound).toBeGreaterThan(0.05); // a real gap, which the checks below can see
    expect(Math.abs(variational.value - exactBound)).toBeLessThan(0.03);
    expect(variational.value).toBeLessThan(exact);
    expect(weighted.value).toBeGreaterThan(exactBound + 0.5 * (exact - exactBound));
    expect(weighted.value).toBeLessThan(exact + 0.01);
    expect(variational.kind).toBe('lower-bound');
    expect(variational.protocol).toMatchObject({ ...DATA, examples: all.length, method: 'dbn-variational-bound', samples: 1000 });
    expect(variational.protocol.details).toMatchObject({ logZMethod: 'exact', bound: 'variational' });
    expect(weighted.protocol.method).toBe('dbn-importance-weighted-bound');
    tf.dispose(x);
    dbn.dispose();
  });

  it('a Gaussian bottom layer: the bound lies below the exact log density and matches the exact bound', async () => {
    const dbn = randomDbn({ layers: [3, 4, 3], visibleType: 'gaussian', learnVariance: true }, 5);
    tf.tidy(() => dbn.rbms[0]?.params.logVariance?.assign(tf.tensor1d([-0.5, 0.2, 0.4])));
    const layers = readLayers(dbn);
    const rows = Array.from({ length: 20 }, (_, i) => [Math.sin(i), Math.cos(1.3 * i), (i % 5) / 2 - 1]);
    const exact = mean(rows.map((v) => exactLogLikelihood(layers, v)));
    const exactBound = mean(rows.map((v) => exactVariationalBound(layers, v)));
    const x = tf.tensor2d(rows);
    const estimate = await dbn.logLikelihood(x, { data: { ...DATA, binarization: 'none (real-valued)' }, rng: 3, samples: 1000 });
    console.log(`gaussian 3-4-3: exact ${exact.toFixed(4)}, exact bound ${exactBound.toFixed(4)}, estimate ${estimate.value.toFixed(4)}`);
    expect(exactBound).toBeLessThan(exact);
    expect(Math.abs(estimate.value - exactBound)).toBeLessThan(0.04);
    expect(estimate.value).toBeLessThan(exact);
    tf.dispose(x);
    dbn.dispose();
  });

  it('a one-RBM DBN gives its exact log-likelihood; a given log Z is used as it is', async () => {
    const dbn = randomDbn({ layers: [4, 3] }, 7);
    const layers = readLayers(dbn);
    const all = states(4);
    const x = tf.tensor2d(all);
    const single = await dbn.logLikelihood(x, { data: DATA });
    const logZ = topLogZ(layers[0] as Layer);
    const exact = mean(all.map((v) => topLogMarginal(layers[0] as Layer, logZ, v)));
    expect(single.kind).toBe('exact');
    expect(single.value).toBeCloseTo(exact, 4);
    const shifted = await dbn.logLikelihood(x, { data: DATA, partition: logZ + 1 });
    expect(shifted.value).toBeCloseTo(exact - 1, 4);
    expect(shifted.protocol.details).toMatchObject({ logZMethod: 'given' });
    tf.dispose(x);
    dbn.dispose();
  });

  it('with AIS for the top RBM the estimate is close to the exact-log-Z one and labelled a stochastic estimate', async () => {
    const dbn = randomDbn({ layers: [5, 4, 3] }, 9);
    const x = tf.tensor2d(states(5));
    const exactZ = await dbn.logLikelihood(x, { data: DATA, rng: 4, samples: 200 });
    const annealed = await dbn.logLikelihood(x, { data: DATA, rng: 4, samples: 200, partition: 'ais', ais: { temperatures: 2000, runs: 200 } });
    expect(annealed.kind).toBe('stochastic-estimate');
    expect(annealed.protocol).toMatchObject({ temperatures: 2000, chains: 200 });
    // The two share every draw of the bound; only log Z differs.
    const logZ = await exactLogPartition(dbn.top);
    const aisLogZ = (annealed.protocol.details as { logZ: number }).logZ;
    expect(Math.abs(aisLogZ - logZ)).toBeLessThan(0.05);
    expect(Math.abs(annealed.value - exactZ.value)).toBeLessThan(0.3);
    tf.dispose(x);
    dbn.dispose();
  });

  it('leaves no tensor behind and refuses bad options', async () => {
    const dbn = randomDbn({ layers: [5, 4, 3] }, 11);
    const x = tf.tensor2d(states(5).slice(0, 8));
    await dbn.logLikelihood(x, { data: DATA, samples: 2 });
    await withNoLeaks(async () => {
      await dbn.logLikelihood(x, { data: DATA, samples: 5, chunkSize: 3 });
      await dbn.logLikelihood(x, { data: DATA, samples: 5, bound: 'importance-weighted' });
    });
    await expect(dbn.logLikelihood(x, { data: DATA, samples: 0 })).rejects.toThrow(ConfigError);
    await expect(dbn.logLikelihood(x, { data: DATA, bound: 'tight' as never })).rejects.toThrow(ConfigError);
    await expect(dbn.logLikelihood(x, { data: DATA, partition: Number.NaN })).rejects.toThrow(ConfigError);
    // Binary units: grey levels are refused (a Gaussian bottom takes them, see above).
    const grey = tf.fill([3, 5], 0.5) as tf.Tensor2D;
    await expect(withNoLeaks(() => dbn.logLikelihood(grey, { data: DATA }).catch((e: unknown) => e))).resolves.toBeInstanceOf(DataError);
    grey.dispose();
    tf.dispose(x);
    dbn.dispose();
  });
});
