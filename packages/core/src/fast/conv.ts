import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matmul.js';

export type Padding = 'same' | 'valid';

/**
 * Whether the active backend lacks the kernel for a convolution's filter gradient.
 * tfjs-backend-wasm 4.22 registers Conv2D and Conv2DBackpropInput but not
 * Conv2DBackpropFilter, so autodiff through any conv layer's kernel fails there.
 */
function lacksFilterGradientKernel(): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) === undefined;
}

/**
 * TensorFlow's 'same' padding for one spatial axis: the total that makes the output
 * ceil(n / stride), split with the extra row or column at the end.
 */
export function samePadding(n: number, kernel: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(n / stride) - 1) * stride + kernel - n, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function padForSame(x: tf.Tensor4D, kh: number, kw: number, strides: [number, number]): tf.Tensor4D {
  const [top, bottom] = samePadding(x.shape[1], kh, strides[0]);
  const [left, right] = samePadding(x.shape[2], kw, strides[1]);
  if (top + bottom + left + right === 0) return x;
  return tf.pad(x, [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]);
}

/**
 * ∂<conv2d(x, W), dy>/∂W for a kernel of shape [kh, kw, inC, outC], NHWC, without the
 * Conv2DBackpropFilter kernel: for every kernel position (i, j), the strided window of the
 * padded input that tap saw, as a [batch·oh·ow, inC] matrix, times dy as [batch·oh·ow, outC].
 * kh·kw small products: fine for the 3x3-5x5 kernels generative models use.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernelShape: readonly number[],
  strides: [number, number],
  padding: Padding,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, inC, outC] = kernelShape as [number, number, number, number];
    const xp = padding === 'same' ? padForSame(x, kh, kw, strides) : x;
    const [batch, oh, ow] = dy.shape;
    const [sh, sw] = strides;
    const dy2d = tf.reshape(dy, [batch * oh * ow, outC]) as tf.Tensor2D;
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = tf.stridedSlice(
          xp,
          [0, i, j, 0],
          [batch, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, inC],
          [1, sh, sw, 1],
        );
        taps.push(matMul(tf.reshape(window, [batch * oh * ow, inC]) as tf.Tensor2D, dy2d, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, inC, outC]) as tf.Tensor4D;
  });
}

/**
 * tf.conv2d, correct and differentiable on every backend:
 * - 'same' padding is applied explicitly (tf.pad, then a 'valid' convolution). tfjs-backend-wasm
 *   4.22 returns wrong values (often zeros) for some 'same' convolutions whose padding total is
 *   zero, e.g. a 1x2 kernel with stride 2 on an 8x8 input; its 'valid' convolution is correct.
 *   The result is the same number for number on every backend.
 * - Where the backend lacks Conv2DBackpropFilter (wasm), the kernel gradient is computed by
 *   {@link conv2dFilterGradient}.
 */
export function conv2dOp(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: [number, number], padding: Padding): tf.Tensor4D {
  return tf.tidy(() => {
    const input = padding === 'same' ? padForSame(x, kernel.shape[0], kernel.shape[1], strides) : x;
    return validConv2d(input, kernel, strides);
  });
}

function validConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: [number, number]): tf.Tensor4D {
  if (!lacksFilterGradientKernel()) return tf.conv2d(x, kernel, strides, 'valid');
  const withGradient = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, w]);
    return {
      value: tf.conv2d(input, w, strides, 'valid'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [si, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [
          tf.conv2dTranspose(dy, sw, si.shape, strides, 'valid'),
          conv2dFilterGradient(si, dy, sw.shape, strides, 'valid'),
        ];
      },
    };
  });
  return withGradient(x, kernel);
}

/**
 * tf.conv2dTranspose (the adjoint of conv2d with the same kernel [kh, kw, outC, inC]), with a
 * filter gradient that works on backends lacking Conv2DBackpropFilter.
 */
export function conv2dTransposeOp(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  outputShape: [number, number, number, number],
  strides: [number, number],
  padding: Padding,
): tf.Tensor4D {
  if (!lacksFilterGradientKernel()) return tf.conv2dTranspose(x, kernel, outputShape, strides, padding);
  const withGradient = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, w]);
    return {
      value: tf.conv2dTranspose(input, w, outputShape, strides, padding),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [si, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        // y = convᵀ(x, W), so <y, dy> = <x, conv(dy, W)>: the roles of input and output swap.
        return [conv2dOp(dy, sw, strides, padding), conv2dFilterGradient(dy, si, sw.shape, strides, padding)];
      },
    };
  });
  return withGradient(x, kernel);
}
