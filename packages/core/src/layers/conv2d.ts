import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import type { RngLike } from '../random/rng.js';
import { applyActivation, type Activation, type ActivationName } from './activations.js';
import { conv2dOp, type Padding } from '../fast/conv.js';
import type { Initializer, InitializerName } from './initializers.js';
import { initVariable, layerSetup, positiveInteger } from './params.js';
import { expectShape, layerNameOf } from './shape-check.js';

export type { Padding } from '../fast/conv.js';

/** A 2-D convolution, NHWC: kernel [kh, kw, inputChannels, filters], bias [filters] (optional). */
export type Conv2dParams = { kernel: tf.Variable; bias?: tf.Variable };

export interface Conv2dOptions {
  name: string;
  inputChannels: number;
  filters: number;
  /** A square size or [height, width]. */
  kernelSize: number | [number, number];
  /** Kernel initializer; default 'glorotUniform'. Biases start at zero. */
  init?: InitializerName | Initializer;
  useBias?: boolean;
  rng: RngLike;
}

export interface ConvForwardOptions {
  /** Default 1. */
  strides?: number | [number, number];
  /** Default 'same'. */
  padding?: Padding;
  activation?: ActivationName | Activation;
}

export function pair(field: string, value: number | [number, number]): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  return [positiveInteger(field, a), positiveInteger(field, b)];
}

export function checkPadding(padding: string): Padding {
  if (padding !== 'same' && padding !== 'valid') throw new ConfigError('padding', "'same' or 'valid'", padding);
  return padding;
}

export function createConv2d(opts: Conv2dOptions): Conv2dParams {
  const rng = layerSetup(opts.name, opts.rng);
  const [kh, kw] = pair('kernelSize', opts.kernelSize);
  const shape = [kh, kw, positiveInteger('inputChannels', opts.inputChannels), positiveInteger('filters', opts.filters)];
  const kernel = initVariable(opts.name, 'kernel', shape, opts.init ?? 'glorotUniform', rng);
  if (opts.useBias === false) return { kernel };
  return { kernel, bias: initVariable(opts.name, 'bias', [opts.filters], 'zeros', rng) };
}

/**
 * Spatial output size of a convolution, as TensorFlow computes it:
 * 'same' gives ceil(n / stride), 'valid' gives ceil((n - k + 1) / stride).
 */
export function convOutputSize(n: number, kernel: number, stride: number, padding: Padding): number {
  return padding === 'same' ? Math.ceil(n / stride) : Math.ceil((n - kernel + 1) / stride);
}

/** activation(conv2d(x, kernel) + bias) for x of shape [batch, height, width, inputChannels]. */
export function conv2d(x: tf.Tensor4D, p: Conv2dParams, opts: ConvForwardOptions = {}): tf.Tensor4D {
  const what = `conv2d '${layerNameOf(p.kernel)}' input`;
  const [kh, kw, inC] = p.kernel.shape as [number, number, number, number];
  expectShape(what, x, [null, null, null, inC]);
  const strides = pair('strides', opts.strides ?? 1);
  const padding = checkPadding(opts.padding ?? 'same');
  if (padding === 'valid' && (x.shape[1] < kh || x.shape[2] < kw)) {
    throw new ShapeError(what, `[?, >=${kh}, >=${kw}, ${inC}]`, x.shape, "'valid' padding needs an input at least as large as the kernel");
  }
  return tf.tidy(() => {
    const z = conv2dOp(x, p.kernel as tf.Tensor4D, strides, padding);
    return applyActivation(p.bias ? tf.add(z, p.bias) : z, opts.activation);
  });
}

