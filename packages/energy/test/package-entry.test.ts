import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { expectMatchingEntryPoints } from '@helmholtz/core/testing';

describe('@helmholtz/energy entry points', () => {
  it('import and require resolve through the exports map to builds with the same names, the public models among them', async () => {
    const esm = (await import('@helmholtz/energy')) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)('@helmholtz/energy') as Record<string, unknown>;
    const names = expectMatchingEntryPoints(esm, cjs);
    const models = ['BernoulliRBM', 'GaussianBernoulliRBM', 'DBN', 'DBM', 'FullyVisibleBoltzmannMachine', 'ConditionalRBM', 'ConvolutionalRBM', 'MeanCovarianceRBM', 'SpikeAndSlabRBM'];
    for (const name of [...models, 'exactLogPartition', 'ais', 'annealedImportanceSampling', 'raise', 'likelihoodSandwich', 'fitRbm', 'energyModels']) expect(names).toContain(name);
    // Every model kind loads through the factory map.
    expect(Object.keys(esm.energyModels as object).sort()).toEqual(['bernoulli-rbm', 'conditional-rbm', 'convolutional-rbm', 'dbm', 'dbn', 'dbn-autoencoder', 'dbn-classifier', 'fvbm', 'gaussian-bernoulli-rbm', 'mean-covariance-rbm', 'spike-and-slab-rbm']);
  });
});
