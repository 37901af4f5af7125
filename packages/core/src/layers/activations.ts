import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/** An elementwise nonlinearity; returns a new tensor the caller owns. */
export type Activation = (x: tf.Tensor) => tf.Tensor;

export type ActivationName = 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'selu' | 'sigmoid' | 'tanh' | 'softplus';

/** Default negative slope of {@link leakyRelu}: 0.2, the DCGAN convention (Radford et al. 2016, sec. 3). */
export const LEAKY_RELU_ALPHA = 0.2;

/**
 * An activation whose gradient is computed from its input by differentiable ops, so it has
 * correct derivatives of every order. tfjs 4.22's own gradients of sigmoid, tanh and elu read
 * the op's saved output, which the engine keeps as a copy off the tape: a second derivative
 * (a gradient penalty: WGAN-GP, R1) silently loses their curvature term. Its leakyRelu and selu
 * gradients compare with `Greater`, which has no gradient, so a second derivative throws.
 */
function fromInputGradient(forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor) => tf.Tensor): Activation {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return { value: forward(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, derivative(saved[0] as tf.Tensor)) };
  });
  return (x) => op(x);
}

// tf.step(x) is 1 for x > 0 and 0 otherwise, with a zero gradient: the indicator the
// derivatives below need, differentiable again.
const sigmoid: Activation = fromInputGradient(tf.sigmoid, (x) =>
  tf.tidy(() => {
    const s = sigmoid(x);
    return tf.mul(s, tf.sub(1, s));
  }),
);
const tanh: Activation = fromInputGradient(tf.tanh, (x) => tf.tidy(() => tf.sub(1, tf.square(tanh(x)))));
// For x ≤ 0, elu(x) + 1 = e^x: the derivative reuses elu, so it is differentiable again.
const elu: Activation = fromInputGradient(tf.elu, (x) =>
  tf.tidy(() => {
    const positive = tf.step(x);
    return tf.add(positive, tf.mul(tf.sub(1, positive), tf.add(elu(x), 1)));
  }),
);
// Klambauer et al. 2017: selu(x) = scale·x for x > 0, scale·alpha·(e^x − 1) otherwise (tfjs's constants).
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
const selu: Activation = fromInputGradient(tf.selu, (x) =>
  tf.tidy(() => {
    const positive = tf.step(x);
    return tf.mul(tf.add(positive, tf.mul(tf.sub(1, positive), tf.mul(tf.add(elu(x), 1), SELU_ALPHA))), SELU_SCALE);
  }),
);
const softplus: Activation = fromInputGradient(tf.softplus, (x) => sigmoid(x));
const leakyReluOps = new Map<number, Activation>();

/**
 * max(x, alpha·x) for alpha in [0, 1]; differentiable to every order (tf.leakyRelu's own
 * gradient is not differentiable again in tfjs 4.22).
 */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha = LEAKY_RELU_ALPHA): T {
  let op = leakyReluOps.get(alpha);
  if (!op) {
    op = fromInputGradient(
      (t) => tf.leakyRelu(t, alpha),
      (t) => tf.tidy(() => tf.add(tf.mul(tf.step(t), 1 - alpha), alpha)),
    );
    leakyReluOps.set(alpha, op);
  }
  return op(x) as T;
}

// elu uses alpha = 1. linear clones so that every activation returns a tensor the caller owns.
// Every activation has derivatives of every order, on every backend (see fromInputGradient).
const TABLE: Record<ActivationName, Activation> = {
  linear: (x) => tf.clone(x),
  relu: (x) => tf.relu(x),
  leakyRelu: (x) => leakyRelu(x),
  elu,
  selu,
  sigmoid,
  tanh,
  softplus,
};

/** Every activation name, in a fixed order. */
export const ACTIVATION_NAMES = Object.keys(TABLE) as ActivationName[];

/**
 * The activation function for a name, or `fn` itself when given a function (so layers accept
 * `'leakyRelu'` or `(x) => leakyRelu(x, 0.1)` alike).
 */
export function activation(nameOrFn: ActivationName | Activation = 'linear'): Activation {
  if (typeof nameOrFn === 'function') return nameOrFn;
  const fn = TABLE[nameOrFn];
  if (!fn) throw new ConfigError('activation', `one of ${ACTIVATION_NAMES.join(', ')} or a function`, nameOrFn);
  return fn;
}

/** Applies `act` to `x`; 'linear' returns `x` unchanged (for use inside a tidy, not a clone). */
export function applyActivation<T extends tf.Tensor>(x: T, act: ActivationName | Activation | undefined): T {
  if (act === undefined || act === 'linear') return x;
  return activation(act)(x) as T;
}
