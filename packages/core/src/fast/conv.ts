import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';

export type Padding = 'same' | 'valid';

type Strides = [number, number];
type Shape4 = [number, number, number, number];

/**
 * Backends on which a convolution's gradients run on the forward Conv2D kernel rather than their
 * own kernels (measured 2026-11, 2 cores, tfjs 4.22, 4x4 kernels, stride 2, 'valid'):
 * - filter gradient: wasm registers no Conv2DBackpropFilter; cpu's took 6.9 s where a dilated
 *   Conv2D did the same work in 0.12 s ([4, 18, 18, 64] → 128).
 * - input gradient: wasm's Conv2DBackpropInput is a plain loop: 2.3-2.9 s where XNNPACK's Conv2D
 *   does the forward pass in 0.15-0.2 s ([64, 32, 32, 64] → 128); cpu's is as fast as its Conv2D.
 * GPU backends keep their own kernels (not measured here).
 */
const FILTER_GRADIENT_BY_CONV2D = new Set(['wasm', 'cpu']);
const INPUT_GRADIENT_BY_CONV2D = new Set(['wasm']);

/** Which kernel computes each gradient of a convolution on a backend. */
export interface ConvGradientKernels {
  /** ∂/∂x: the backend's Conv2DBackpropInput, or stride-1 Conv2Ds, one per output phase. */
  input: 'Conv2DBackpropInput' | 'Conv2D';
  /** ∂/∂W: the backend's Conv2DBackpropFilter, or one Conv2D dilated by the stride. */
  filter: 'Conv2DBackpropFilter' | 'Conv2D';
}

/** The kernels the active backend (or `backend`) uses for a convolution's gradients. */
export function convGradientKernels(backend: string = tf.getBackend()): ConvGradientKernels {
  const missing = (kernel: string) => tf.getKernel(kernel, backend) === undefined;
  return {
    input: INPUT_GRADIENT_BY_CONV2D.has(backend) || missing('Conv2DBackpropInput') ? 'Conv2D' : 'Conv2DBackpropInput',
    filter: FILTER_GRADIENT_BY_CONV2D.has(backend) || missing('Conv2DBackpropFilter') ? 'Conv2D' : 'Conv2DBackpropFilter',
  };
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

function padForSame(x: tf.Tensor4D, kh: number, kw: number, strides: Strides): tf.Tensor4D {
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

function validOutputSize(n: number, kernel: number, stride: number): number {
  return Math.floor((n - kernel) / stride) + 1;
}

// ---------------------------------------------------------------------------------------------
// The three maps below are the partial derivatives of one trilinear form of a 'valid' NHWC
// convolution, T(x, W, y) = <conv(x, W), y>:
//   convValid(x, W)           = ∂T/∂y,
//   convInputGrad(y, W)       = ∂T/∂x   (the transposed convolution),
//   convFilterGrad(x, y)      = ∂T/∂W.
// Each is bilinear, so the gradient of each is again made of the other two; giving every one of
// them a custom gradient built from the three closes the family under differentiation, to any
// order, on every backend. tfjs's own gradients do not: Conv2DBackpropFilter has no registered
// gradient anywhere, and wasm lacks the kernel itself, so a gradient penalty (WGAN-GP, R1) failed
// there. The forward value of each map uses the fastest kernel the backend has.
// ---------------------------------------------------------------------------------------------

/** conv(x, W), 'valid': y[b, p, q, o] = Σ x[b, p·sh + i, q·sw + j, c] W[i, j, c, o]. */
function convValid(x: tf.Tensor4D, w: tf.Tensor4D, strides: Strides): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, kernel, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, kernel]);
    return {
      value: tf.conv2d(input, kernel, strides, 'valid'),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        // Both are computed even when only one is needed (a customGrad cannot tell which input
        // the tape wants): the first layer of a network pays one unused transposed convolution.
        return [convInputGrad(dy, sw, strides, sx.shape), convFilterGrad(sx, dy, strides, sw.shape)];
      },
    };
  });
  return op(x, w);
}

/** ∂<conv(x, W), y>/∂x for x of shape `xShape`: the transposed convolution of y. */
function convInputGrad(y: tf.Tensor4D, w: tf.Tensor4D, strides: Strides, xShape: Shape4): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [dy, kernel, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([dy, kernel]);
    return {
      value: transposedConvValue(dy, kernel, strides, xShape),
      gradFunc: (g: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sy, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        // <convᵀ(y, W), g> = T(g, W, y).
        return [convValid(g, sw, strides), convFilterGrad(g, sy, strides, sw.shape)];
      },
    };
  });
  return op(y, w);
}

/** ∂<conv(x, W), y>/∂W for a kernel of shape `wShape`. */
function convFilterGrad(x: tf.Tensor4D, y: tf.Tensor4D, strides: Strides, wShape: Shape4): tf.Tensor4D {
  const op = tf.customGrad<tf.Tensor4D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, dy, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, dy]);
    return {
      value: filterGradientValue(input, dy, strides, wShape),
      gradFunc: (g: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        // <F(x, y), G> = T(x, G, y).
        return [convInputGrad(sy, g, strides, sx.shape), convValid(sx, g, strides)];
      },
    };
  });
  return op(x, y);
}

/** Value of the transposed 'valid' convolution (no autodiff: it runs inside a customGrad). */
function transposedConvValue(y: tf.Tensor4D, w: tf.Tensor4D, strides: Strides, xShape: Shape4): tf.Tensor4D {
  if (convGradientKernels().input === 'Conv2DBackpropInput') return tf.conv2dTranspose(y, w, xShape, strides, 'valid');
  return tf.tidy(() => transposedConvByPhases(y, w, strides, xShape));
}

/**
 * The transposed convolution as sh·sw stride-1 convolutions, one per output phase (the
 * "sub-pixel" form, Shi et al. 2016, sec. 2.2): x[q·s + r] = Σ_m y[q − m] · W[r + m·s], a full
 * correlation of y with the kernel taps r, r + s, ... flipped. Unlike inserting zeros between the
 * rows of y, it does no multiplications by zero, and each piece runs on XNNPACK's Conv2D.
 */
function transposedConvByPhases(y: tf.Tensor4D, w: tf.Tensor4D, strides: Strides, xShape: Shape4): tf.Tensor4D {
  const [batch, height, width, inC] = xShape;
  const [kh, kw, , outC] = w.shape;
  const [sh, sw] = strides;
  const [, ph, pw] = y.shape;
  const rows = Math.ceil(height / sh);
  const cols = Math.ceil(width / sw);
  const taps = (k: number, phase: number, s: number) => (phase < k ? Math.ceil((k - phase) / s) : 0);
  // Kernel taps as rows of [kh·kw, outC, inC], channels already swapped: one gather per phase
  // then picks its taps in flipped order (wasm's StridedSlice and Reverse cost 4x as much).
  const byTap = tf.reshape(tf.transpose(w, [0, 1, 3, 2]), [kh * kw, outC, inC]);
  const phase = (r: number, t: number): tf.Tensor4D => {
    const m = taps(kh, r, sh);
    const n = taps(kw, t, sw);
    if (m === 0 || n === 0) return tf.zeros([batch, rows, cols, inC]);
    const indices: number[] = [];
    for (let a = m - 1; a >= 0; a--) for (let b = n - 1; b >= 0; b--) indices.push((r + a * sh) * kw + t + b * sw);
    const kernel = tf.reshape(tf.gather(byTap, tf.tensor1d(indices, 'int32')), [m, n, outC, inC]) as tf.Tensor4D;
    const padded = tf.pad(y, [
      [0, 0],
      [m - 1, rows - ph],
      [n - 1, cols - pw],
      [0, 0],
    ]);
    return tf.conv2d(padded, kernel, 1, 'valid');
  };
  const interleaved: tf.Tensor4D[] = [];
  for (let r = 0; r < sh; r++) {
    const byColumn: tf.Tensor4D[] = [];
    for (let t = 0; t < sw; t++) byColumn.push(phase(r, t));
    // Stacking phases on a new axis after the one they interleave, then merging the two, puts
    // phase t at columns t, t + s, t + 2s, ...
    interleaved.push(sw === 1 ? byColumn[0]! : (tf.reshape(tf.stack(byColumn, 3), [batch, rows, cols * sw, inC]) as tf.Tensor4D));
  }
  const full =
    sh === 1 ? interleaved[0]! : (tf.reshape(tf.stack(interleaved, 2), [batch, rows * sh, cols * sw, inC]) as tf.Tensor4D);
  if (rows * sh === height && cols * sw === width) return full;
  return tf.slice(full, [0, 0, 0, 0], [batch, height, width, inC]);
}

/** Value of the filter gradient (no autodiff: it runs inside a customGrad). */
function filterGradientValue(x: tf.Tensor4D, dy: tf.Tensor4D, strides: Strides, wShape: Shape4): tf.Tensor4D {
  if (convGradientKernels().filter === 'Conv2DBackpropFilter') {
    const attrs = { strides, pad: 'valid', dataFormat: 'NHWC', filterShape: wShape };
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    // dW[i, j, c, o] = Σ_{b,p,q} x[b, i + p·sh, j + q·sw, c] dy[b, p, q, o]: a convolution of x
    // with dy as its kernel, dilated by the stride, in which the batch is the summed channel
    // axis and x's channels are the batch. One XNNPACK call instead of kh·kw strided slices, and
    // faster than cpu's Conv2DBackpropFilter (bench/conv-gradients.bench.ts).
    const [kh, kw, inC, outC] = wShape;
    const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const z = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', strides);
    // Rows past the last full window are not taps: keep the first kh × kw.
    const taps = z.shape[1] === kh && z.shape[2] === kw ? z : tf.slice(z, [0, 0, 0, 0], [inC, kh, kw, outC]);
    return tf.transpose(taps, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

// ---------------------------------------------------------------------------------------------
// Public ops: padding on top of the three 'valid' maps.
// ---------------------------------------------------------------------------------------------

/** Checks the strides and padding every public op takes. */
function checkStridesAndPadding(what: string, strides: unknown, padding: unknown): void {
  if (padding !== 'same' && padding !== 'valid') throw new ConfigError(`${what} padding`, "'same' or 'valid'", padding);
  if (!Array.isArray(strides) || strides.length !== 2 || !strides.every((s) => Number.isInteger(s) && s > 0)) {
    throw new ConfigError(`${what} strides`, 'two positive integers [sh, sw]', strides);
  }
}

/** Checks what conv2d and its filter gradient take: NHWC x, a kernel [kh, kw, inC, ·], strides and padding. */
function checkConvArgs(what: string, x: tf.Tensor, kernelShape: readonly number[], strides: unknown, padding: unknown): void {
  checkStridesAndPadding(what, strides, padding);
  if (kernelShape.length !== 4 || !kernelShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`${what} kernel`, '[kh, kw, inChannels, outChannels]', [...kernelShape]);
  }
  if (x.rank !== 4 || x.shape[3] !== kernelShape[2]) {
    throw new ShapeError(`${what} input`, [null, null, null, kernelShape[2]!], x.shape, 'NHWC with the kernel\'s input channels');
  }
  if (padding === 'valid' && (x.shape[1]! < kernelShape[0]! || x.shape[2]! < kernelShape[1]!)) {
    throw new ShapeError(`${what} input`, `[?, >=${kernelShape[0]}, >=${kernelShape[1]}, ${kernelShape[2]}]`, x.shape, "'valid' padding needs an input at least as large as the kernel");
  }
}

/**
 * tf.conv2d, correct and differentiable to any order on every backend:
 * - 'same' padding is applied explicitly (tf.pad, then a 'valid' convolution). tfjs-backend-wasm
 *   4.22 returns wrong values (often zeros) for some 'same' convolutions whose padding total is
 *   zero, e.g. a 1x2 kernel with stride 2 on an 8x8 input; its 'valid' convolution is correct.
 *   The result is the same number for number on every backend.
 * - The input and filter gradients are themselves differentiable (gradient penalties), and run
 *   on the fastest kernel the backend has (see {@link convGradientKernels}): on wasm, XNNPACK's.
 */
export function conv2dOp(x: tf.Tensor4D, kernel: tf.Tensor4D, strides: [number, number], padding: Padding): tf.Tensor4D {
  checkConvArgs('conv2d', x, kernel.shape, strides, padding);
  return tf.tidy(() => {
    const input = padding === 'same' ? padForSame(x, kernel.shape[0], kernel.shape[1], strides) : x;
    return convValid(input, kernel, strides);
  });
}

/**
 * tf.conv2dTranspose (the adjoint of conv2d with the same kernel [kh, kw, outC, inC]) for x of
 * shape [batch, h, w, inC], where h and w are what conv2d with `padding` makes of `outputShape`.
 * Differentiable to any order on every backend, like {@link conv2dOp}.
 */
export function conv2dTransposeOp(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  outputShape: [number, number, number, number],
  strides: [number, number],
  padding: Padding,
): tf.Tensor4D {
  checkStridesAndPadding('conv2dTranspose', strides, padding);
  const [batch, height, width, outC] = outputShape;
  const [kh, kw, kernelOutC, inC] = kernel.shape;
  const [sh, sw] = strides;
  const size = (n: number, k: number, s: number) => (padding === 'same' ? Math.ceil(n / s) : validOutputSize(n, k, s));
  const want: Shape4 = [batch, size(height, kh, sh), size(width, kw, sw), inC];
  if (x.rank !== 4 || x.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      'conv2dTranspose input',
      want,
      x.shape,
      `a ${padding} convolution with strides [${sh}, ${sw}] maps the output shape ${JSON.stringify(outputShape)} to it`,
    );
  }
  if (kernelOutC !== outC) {
    throw new ShapeError('conv2dTranspose kernel', [kh, kw, outC, inC], kernel.shape, `the output shape has ${outC} channels`);
  }
  return tf.tidy(() => {
    if (padding === 'valid') return convInputGrad(x, kernel, strides, outputShape);
    // Adjoint of "pad, then 'valid' convolution": transposed convolution, then crop.
    const [top, bottom] = samePadding(height, kh, sh);
    const [left, right] = samePadding(width, kw, sw);
    const padded: Shape4 = [batch, height + top + bottom, width + left + right, outC];
    const full = convInputGrad(x, kernel, strides, padded);
    if (top + bottom + left + right === 0) return full;
    return tf.slice(full, [0, top, left, 0], outputShape);
  });
}

/**
 * ∂<conv2d(x, W), dy>/∂W for a kernel of shape [kh, kw, inC, outC], NHWC: the gradient that
 * autodiff through {@link conv2dOp} gives the kernel, itself differentiable in x and dy.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  kernelShape: readonly number[],
  strides: [number, number],
  padding: Padding,
): tf.Tensor4D {
  checkConvArgs('conv2dFilterGradient', x, kernelShape, strides, padding);
  const shape = [...kernelShape] as Shape4;
  const [sh, sw] = strides;
  const out = (n: number, k: number, st: number) => (padding === 'same' ? Math.ceil(n / st) : validOutputSize(n, k, st));
  const want = [x.shape[0], out(x.shape[1], shape[0], sh), out(x.shape[2], shape[1], sw), shape[3]];
  if (dy.rank !== 4 || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError('conv2dFilterGradient dy', want, dy.shape, `the output of a ${padding} convolution of x ${JSON.stringify(x.shape)} with strides [${sh}, ${sw}]`);
  }
  return tf.tidy(() => {
    const input = padding === 'same' ? padForSame(x, shape[0], shape[1], strides) : x;
    return convFilterGrad(input, dy, strides, shape);
  });
}
