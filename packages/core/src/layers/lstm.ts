import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../fast/matmul.js';
import { createVariable } from '../params/tree.js';
import type { RngLike } from '../random/rng.js';
import type { Initializer, InitializerName } from './initializers.js';
import { initVariable, layerSetup, positiveInteger } from './params.js';
import { expectShape, layerNameOf } from './shape-check.js';

/**
 * An LSTM layer (Hochreiter & Schmidhuber 1997, with forget gate, as Keras): kernel
 * [inputs, 4·units], recurrentKernel [units, 4·units], bias [4·units]. The 4·units axis holds
 * the gates in Keras' order: input i, forget f, candidate c (g), output o, `units` columns each.
 */
export type LstmParams = { kernel: tf.Variable; recurrentKernel: tf.Variable; bias: tf.Variable };

export interface LstmOptions {
  name: string;
  inputs: number;
  units: number;
  /** Input kernel initializer; default 'glorotUniform'. */
  init?: InitializerName | Initializer;
  /** Recurrent kernel initializer; default 'orthogonal' (Keras' default). */
  recurrentInit?: InitializerName | Initializer;
  rng: RngLike;
}

export function createLstm(opts: LstmOptions): LstmParams {
  const rng = layerSetup(opts.name, opts.rng);
  const inputs = positiveInteger('inputs', opts.inputs);
  const u = positiveInteger('units', opts.units);
  const kernel = initVariable(opts.name, 'kernel', [inputs, 4 * u], opts.init ?? 'glorotUniform', rng);
  const recurrentKernel = initVariable(opts.name, 'recurrentKernel', [u, 4 * u], opts.recurrentInit ?? 'orthogonal', rng);
  // Forget-gate bias 1 (Jozefowicz et al. 2015): the cell starts by remembering.
  const initialBias = tf.tidy(() => tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])]));
  const bias = createVariable(initialBias, `${opts.name}/bias`);
  return { kernel, recurrentKernel, bias };
}

export interface LstmState {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
}

export interface LstmForwardOptions {
  /** Output every step's h ([batch, time, units]) instead of only the last ([batch, units]). Default false. */
  returnSequences?: boolean;
  /** Initial hidden and cell states [batch, units]; default zeros. */
  initialState?: LstmState;
}

export interface LstmResult extends LstmState {
  /** [batch, time, units] with returnSequences, else [batch, units] (equal to h). */
  output: tf.Tensor;
}

/**
 * Runs the LSTM over x [batch, time, features]. Per step, z = x_t·W + h·U + b split into
 * (i, f, g, o); c ← σ(f)·c + σ(i)·tanh(g); h ← σ(o)·tanh(c). Every tensor returned is the caller's.
 */
export function lstm(x: tf.Tensor3D, p: LstmParams, opts: LstmForwardOptions = {}): LstmResult {
  const name = layerNameOf(p.kernel);
  const [inputs, fourU] = p.kernel.shape as [number, number];
  const u = fourU / 4;
  expectShape(`lstm '${name}' input`, x, [null, null, inputs]);
  const [batch, time] = x.shape;
  if (opts.initialState) {
    expectShape(`lstm '${name}' initial h`, opts.initialState.h, [batch, u]);
    expectShape(`lstm '${name}' initial c`, opts.initialState.c, [batch, u]);
  }
  return tf.tidy(() => {
    // The input projection of every step in one product, then one slice per step.
    const projected = tf.add(
      tf.reshape(matMul(tf.reshape(x, [batch * time, inputs]) as tf.Tensor2D, p.kernel as tf.Tensor2D), [
        batch,
        time,
        fourU,
      ]),
      p.bias,
    );
    const steps = time > 0 ? (tf.unstack(projected, 1) as tf.Tensor2D[]) : [];
    let h: tf.Tensor2D = opts.initialState ? opts.initialState.h : tf.zeros([batch, u]);
    let c: tf.Tensor2D = opts.initialState ? opts.initialState.c : tf.zeros([batch, u]);
    const outputs: tf.Tensor2D[] = [];
    for (const xt of steps) {
      const z = tf.add(xt, matMul(h, p.recurrentKernel as tf.Tensor2D));
      const [i, f, g, o] = tf.split(z, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      outputs.push(h);
    }
    const output = opts.returnSequences
      ? time > 0
        ? tf.stack(outputs, 1)
        : tf.zeros([batch, 0, u])
      : tf.clone(h);
    // Clones so that the caller owns h and c even when they are the initial state it passed.
    return { output, h: tf.clone(h), c: tf.clone(c) };
  });
}
