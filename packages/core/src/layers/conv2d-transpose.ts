import * as tf from '@tensorflow/tfjs-core';
import type { RngLike } from '../random/rng.js';
import { applyActivation } from './activations.js';
import { conv2dTransposeOp, type Padding } from '../fast/conv.js';
import { checkPadding, pair, type ConvForwardOptions } from './conv2d.js';
import type { Initializer, InitializerName } from './initializers.js';
import { initVariable, layerSetup, positiveInteger } from './params.js';
import { expectShape, layerNameOf } from './shape-check.js';

/**
 * A transposed ("fractionally strided") 2-D convolution, NHWC: kernel [kh, kw, filters,
 * inputChannels] (TensorFlow's layout: the adjoint of a conv2d from `filters` channels to
 * `inputChannels` channels with that same kernel), bias [filters] (optional).
 */
export type Conv2dTransposeParams = { kernel: tf.Variable; bias?: tf.Variable };

export interface Conv2dTransposeOptions {
  name: string;
  inputChannels: number;
  filters: number;
  kernelSize: number | [number, number];
  /** Kernel initializer; default 'glorotUniform'. Biases start at zero. */
  init?: InitializerName | Initializer;
  useBias?: boolean;
  rng: RngLike;
}

export function createConv2dTranspose(opts: Conv2dTransposeOptions): Conv2dTransposeParams {
  const rng = layerSetup(opts.name, opts.rng);
  const [kh, kw] = pair('kernelSize', opts.kernelSize);
  const shape = [kh, kw, positiveInteger('filters', opts.filters), positiveInteger('inputChannels', opts.inputChannels)];
  const kernel = initVariable(opts.name, 'kernel', shape, opts.init ?? 'glorotUniform', rng);
  if (opts.useBias === false) return { kernel };
  return { kernel, bias: initVariable(opts.name, 'bias', [opts.filters], 'zeros', rng) };
}

/**
 * Spatial output size of a transposed convolution, as Keras computes it (no output padding):
 * 'same' gives n·stride, 'valid' gives n·stride + max(kernel - stride, 0). Both are sizes
 * whose forward convolution has size n again, which makes the layer conv2d's adjoint.
 */
export function convTransposeOutputSize(n: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? n * stride : n * stride + Math.max(kernel - stride, 0);
}

/** activation(conv2dᵀ(x, kernel) + bias) for x of shape [batch, height, width, inputChannels]. */
export function conv2dTranspose(x: tf.Tensor4D, p: Conv2dTransposeParams, opts: ConvForwardOptions = {}): tf.Tensor4D {
  const [kh, kw, outC, inC] = p.kernel.shape as [number, number, number, number];
  expectShape(`conv2dTranspose '${layerNameOf(p.kernel)}' input`, x, [null, null, null, inC]);
  const [sh, sw] = pair('strides', opts.strides ?? 1);
  const padding = checkPadding(opts.padding ?? 'same');
  const outputShape: [number, number, number, number] = [
    x.shape[0],
    convTransposeOutputSize(x.shape[1], kh, sh, padding),
    convTransposeOutputSize(x.shape[2], kw, sw, padding),
    outC,
  ];
  return tf.tidy(() => {
    const z = conv2dTransposeOp(x, p.kernel as tf.Tensor4D, outputShape, [sh, sw], padding);
    return applyActivation(p.bias ? tf.add(z, p.bias) : z, opts.activation);
  });
}
