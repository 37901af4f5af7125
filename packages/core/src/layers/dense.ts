import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../fast/matmul.js';
import type { RngLike } from '../random/rng.js';
import { applyActivation, type Activation, type ActivationName } from './activations.js';
import type { Initializer, InitializerName } from './initializers.js';
import { initVariable, layerSetup, positiveInteger } from './params.js';
import { expectShape, layerNameOf } from './shape-check.js';

/** A fully connected layer: kernel [inputs, units], bias [units] (absent when created with useBias: false). */
export type DenseParams = { kernel: tf.Variable; bias?: tf.Variable };

export interface DenseOptions {
  /** Prefix of the variable names, e.g. 'encoder/1' gives 'encoder/1/kernel'. */
  name: string;
  inputs: number;
  units: number;
  /** Kernel initializer; default 'glorotUniform'. Biases start at zero. */
  init?: InitializerName | Initializer;
  /** Default true. */
  useBias?: boolean;
  rng: RngLike;
}

export function createDense(opts: DenseOptions): DenseParams {
  const rng = layerSetup(opts.name, opts.rng);
  const inputs = positiveInteger('inputs', opts.inputs);
  const units = positiveInteger('units', opts.units);
  const kernel = initVariable(opts.name, 'kernel', [inputs, units], opts.init ?? 'glorotUniform', rng);
  if (opts.useBias === false) return { kernel };
  return { kernel, bias: initVariable(opts.name, 'bias', [units], 'zeros', rng) };
}

/** activation(x · kernel + bias) for x of shape [batch, inputs]. */
export function dense(x: tf.Tensor2D, p: DenseParams, act?: ActivationName | Activation): tf.Tensor2D {
  expectShape(`dense '${layerNameOf(p.kernel)}' input`, x, [null, p.kernel.shape[0]!]);
  return tf.tidy(() => {
    const z = matMul(x, p.kernel as tf.Tensor2D);
    return applyActivation(p.bias ? tf.add(z, p.bias) : z, act);
  });
}

/** Creates the bias of a layer tied to `tiedTo`: one entry per input of `tiedTo`, initialised to zero. */
export function createTiedDenseBias(opts: { name: string; tiedTo: DenseParams; rng?: RngLike }): tf.Variable {
  const rng = layerSetup(opts.name, opts.rng ?? 0);
  return initVariable(opts.name, 'bias', [opts.tiedTo.kernel.shape[0]!], 'zeros', rng);
}

/**
 * The transpose of a dense layer, sharing its kernel W [inputs, units]: activation(x · Wᵀ + bias)
 * for x of shape [batch, units], giving [batch, inputs]. Used by tied autoencoders and RBM-style
 * decoders; gradients flow into the shared kernel. The product goes through core's matMul,
 * which avoids the slow transposed kernel on wasm.
 */
export function tiedDense(
  x: tf.Tensor2D,
  tiedTo: DenseParams,
  bias?: tf.Variable,
  act?: ActivationName | Activation,
): tf.Tensor2D {
  const name = layerNameOf(tiedTo.kernel);
  expectShape(`tied dense (transpose of '${name}') input`, x, [null, tiedTo.kernel.shape[1]!]);
  if (bias) expectShape(`tied dense (transpose of '${name}') bias`, bias, [tiedTo.kernel.shape[0]!]);
  return tf.tidy(() => {
    const z = matMul(x, tiedTo.kernel as tf.Tensor2D, false, true);
    return applyActivation(bias ? tf.add(z, bias) : z, act);
  });
}
