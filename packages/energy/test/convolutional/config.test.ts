import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '@helmholtz/core';
import { useBackend } from '@helmholtz/core/testing';
import { ConvolutionalRBM } from '../../src/convolutional/model.js';
import type { ConvolutionalRbmConfig } from '../../src/convolutional/config.js';
import { ConvolutionalRbmTrainer, fitConvolutionalRbm, type ConvolutionalRbmTrainerOptions } from '../../src/convolutional/training.js';

const GOOD: ConvolutionalRbmConfig = { imageShape: [6, 6, 1], filters: 2, filterSize: 3, poolSize: 2 };

describe('convolutional RBM config', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('fills in the defaults and saves [height, width] images as [height, width, 1]', () => {
    const model = new ConvolutionalRBM({ imageShape: [6, 8], filters: 3, filterSize: 3 });
    expect(model.config).toEqual({ imageShape: [6, 8, 1], filters: 3, filterSize: 3, poolSize: 2, visibleUnits: 'binary', seed: 0, initialScale: 0.01 });
    expect(model.detectionShape).toEqual([4, 6, 3]);
    expect(model.poolingShape).toEqual([2, 3, 3]);
    expect(model.params.filters.shape).toEqual([3, 3, 1, 3]);
    // The saved config rebuilds the same model config.
    const again = new ConvolutionalRBM(JSON.parse(JSON.stringify(model.config)) as ConvolutionalRbmConfig);
    expect(again.config).toEqual(model.config);
    model.dispose();
    again.dispose();
  });

  it.each<[string, unknown, RegExp]>([
    ['a filter larger than the image', { ...GOOD, filterSize: 7 }, /filterSize.*at most the image's height and width \(6 x 6\)/],
    ['a pool size that does not divide the detection layer', { ...GOOD, poolSize: 3 }, /poolSize.*divisor of the detection layer's height and width \(4 x 4/],
    ['an unknown field', { ...GOOD, pool: 2 }, /convolutional-rbm\.pool".*known fields/],
    ['visibleStd on binary units', { ...GOOD, visibleStd: 0.5 }, /visibleStd.*binary visible units/],
    ['an unknown kind of visible unit', { ...GOOD, visibleUnits: 'poisson' }, /visibleUnits.*'binary' or 'gaussian'/],
    ['a non-positive standard deviation', { ...GOOD, visibleUnits: 'gaussian', visibleStd: 0 }, /visibleStd.*> 0/],
    ['zero filters', { ...GOOD, filters: 0 }, /filters.*positive integer/],
    ['a fractional filter size', { ...GOOD, filterSize: 2.5 }, /filterSize.*positive integer/],
    ['a one-dimensional image', { ...GOOD, imageShape: [36] }, /imageShape.*\[height, width\]/],
    ['an empty channel axis', { ...GOOD, imageShape: [6, 6, 0] }, /imageShape/],
    ['a negative initial scale', { ...GOOD, initialScale: -1 }, /initialScale.*>= 0/],
    ['no config at all', null, /config object/],
  ])('rejects %s with a ConfigError that says what was expected', (_, config, message) => {
    const build = () => new ConvolutionalRBM(config as ConvolutionalRbmConfig);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });

  it.each<[string, ConvolutionalRbmTrainerOptions, RegExp]>([
    ['zero Gibbs steps', { gibbsSteps: 0 }, /gibbsSteps.*positive integer/],
    ['a sparsity target of 1', { sparsity: { target: 1, cost: 1 } }, /sparsity\.target.*strictly between 0 and 1/],
    ['a sparsity cost of 0', { sparsity: { target: 0.1, cost: 0 } }, /sparsity\.cost.*> 0/],
    ['a running-average decay, which this regulariser has not', { sparsity: { target: 0.1, cost: 1, decay: 0.9 } as never }, /sparsity\.decay/],
    ['a negative weight decay', { weightDecay: -1 }, /weightDecay.*>= 0/],
    ['an unknown option', { method: 'pcd' } as never, /trainer\.method/],
  ])('the trainer rejects %s with a ConfigError', (_, options, message) => {
    const model = new ConvolutionalRBM(GOOD);
    const build = () => new ConvolutionalRbmTrainer(model, options);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
    model.dispose();
  });

  it('refuses wrongly shaped images and hidden states with ShapeErrors, and bad sample options with ConfigErrors', async () => {
    const model = new ConvolutionalRBM(GOOD);
    const flat = tf.zeros([2, 36]) as unknown as tf.Tensor4D;
    const wrongSize = tf.zeros([2, 6, 5, 1]) as tf.Tensor4D;
    const hidden = tf.zeros([2, 3, 3, 2]) as tf.Tensor4D;
    const images = tf.zeros([2, 6, 6, 1]) as tf.Tensor4D;
    expect(() => model.freeEnergy(flat)).toThrow(ShapeError);
    expect(() => model.hiddenProbabilities(wrongSize)).toThrow(/\[null,6,6,1\]|images as \[n, height, width, channels\]/);
    expect(() => model.visibleMean(hidden)).toThrow(ShapeError);
    expect(() => model.visibleMean(hidden)).toThrow(/detection layer \[n, H − f \+ 1, W − f \+ 1, filters\]/);
    expect(() => model.energy(images, tf.zeros([3, 4, 4, 2]) as tf.Tensor4D)).toThrow(/one detection state per image/);
    expect(() => model.sample(0, { rng: 1 })).toThrow(ConfigError);
    expect(() => model.sample(3, { rng: 1, start: images })).toThrow(ShapeError);
    expect(() => model.sample(2, { rng: 1, output: 'probabilities' as never })).toThrow(/'sample' or 'mean'/);
    await expect(fitConvolutionalRbm(model, images, { epochs: 1, batchSize: 0 })).rejects.toThrow(ConfigError);
    await expect(fitConvolutionalRbm(model, wrongSize, { epochs: 1 })).rejects.toThrow(ShapeError);
    tf.dispose([flat, wrongSize, hidden, images]);
    model.dispose();
  });
});
