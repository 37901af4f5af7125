// Float64 oracles for a convolutional RBM with probabilistic max-pooling, written from the
// definitions in plain loops: nothing here shares code with the model.

/** A model's numbers, read back as plain arrays. */
export interface PlainCrbm {
  height: number;
  width: number;
  channels: number;
  filters: number;
  filterSize: number;
  poolSize: number;
  /** [f, f, C, K] row-major. */
  weights: Float64Array;
  visibleBias: Float64Array;
  hiddenBias: Float64Array;
  /** null for binary visible units, else σ. */
  gaussianStd: number | null;
}

/** An image [H, W, C] and a detection state [H', W', K], row-major. */
export type Image = Float64Array;
export type Detection = Float64Array;

export function detectionSize(m: PlainCrbm): [number, number] {
  return [m.height - m.filterSize + 1, m.width - m.filterSize + 1];
}

const w = (m: PlainCrbm, a: number, b: number, c: number, k: number) => m.weights[((a * m.filterSize + b) * m.channels + c) * m.filters + k]!;

/** I(h_ij^k) = b_k + Σ_abc s(v)_{i+a, j+b, c} W_abck, as [H', W', K]. */
export function inputs(m: PlainCrbm, v: Image): Float64Array {
  const [dh, dw] = detectionSize(m);
  const scale = m.gaussianStd === null ? 1 : 1 / m.gaussianStd ** 2;
  const out = new Float64Array(dh * dw * m.filters);
  for (let i = 0; i < dh; i++)
    for (let j = 0; j < dw; j++)
      for (let k = 0; k < m.filters; k++) {
        let sum = m.hiddenBias[k]!;
        for (let a = 0; a < m.filterSize; a++)
          for (let b = 0; b < m.filterSize; b++)
            for (let c = 0; c < m.channels; c++) sum += scale * v[((i + a) * m.width + (j + b)) * m.channels + c]! * w(m, a, b, c, k);
        out[(i * dw + j) * m.filters + k] = sum;
      }
  return out;
}

/** c_c + Σ_k Σ_ij h_ij^k W_{x−i, y−j, c, k}, as [H, W, C]: the full convolution written out. */
export function visibleInputs(m: PlainCrbm, h: Detection): Float64Array {
  const [dh, dw] = detectionSize(m);
  const out = new Float64Array(m.height * m.width * m.channels);
  for (let x = 0; x < m.height; x++)
    for (let y = 0; y < m.width; y++)
      for (let c = 0; c < m.channels; c++) {
        let sum = m.visibleBias[c]!;
        for (let i = 0; i < dh; i++)
          for (let j = 0; j < dw; j++) {
            const a = x - i;
            const b = y - j;
            if (a < 0 || b < 0 || a >= m.filterSize || b >= m.filterSize) continue;
            for (let k = 0; k < m.filters; k++) sum += h[(i * dw + j) * m.filters + k]! * w(m, a, b, c, k);
          }
        out[(x * m.width + y) * m.channels + c] = sum;
      }
  return out;
}

/** E(v, h) of an allowed state. */
export function energy(m: PlainCrbm, v: Image, h: Detection): number {
  const I = inputs(m, v);
  let e = 0;
  for (let t = 0; t < h.length; t++) e -= h[t]! * I[t]!;
  for (let t = 0; t < v.length; t++) {
    const c = m.visibleBias[t % m.channels]!;
    e += m.gaussianStd === null ? -c * v[t]! : (v[t]! - c) ** 2 / (2 * m.gaussianStd ** 2);
  }
  return e;
}

/** The pooling blocks as lists of indices into a detection state. */
export function blocks(m: PlainCrbm): number[][] {
  const [dh, dw] = detectionSize(m);
  const p = m.poolSize;
  const out: number[][] = [];
  for (let bi = 0; bi < dh / p; bi++)
    for (let bj = 0; bj < dw / p; bj++)
      for (let k = 0; k < m.filters; k++) {
        const members: number[] = [];
        for (let di = 0; di < p; di++) for (let dj = 0; dj < p; dj++) members.push(((bi * p + di) * dw + (bj * p + dj)) * m.filters + k);
        out.push(members);
      }
  return out;
}

/** Every detection state with at most one unit on per block: (p² + 1)^blocks of them. */
export function allowedStates(m: PlainCrbm): Detection[] {
  const [dh, dw] = detectionSize(m);
  const bs = blocks(m);
  const states: Detection[] = [];
  const choice = new Array<number>(bs.length).fill(0);
  for (;;) {
    const h = new Float64Array(dh * dw * m.filters);
    bs.forEach((members, b) => {
      if (choice[b]! > 0) h[members[choice[b]! - 1]!] = 1;
    });
    states.push(h);
    let b = 0;
    while (b < bs.length && choice[b] === bs[b]!.length) choice[b++] = 0;
    if (b === bs.length) return states;
    choice[b]!++;
  }
}

export function logSumExp(xs: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) max = Math.max(max, xs[i]!);
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += Math.exp(xs[i]! - max);
  return max + Math.log(sum);
}

/** p(h | v) by enumeration: each detection unit's marginal and each block's probability of being all off. */
export function posterior(m: PlainCrbm, v: Image): { detection: Float64Array; poolingOff: Float64Array; freeEnergy: number } {
  const states = allowedStates(m);
  const logWeights = states.map((h) => -energy(m, v, h));
  const logZ = logSumExp(logWeights);
  const detection = new Float64Array(states[0]!.length);
  const bs = blocks(m);
  const poolingOff = new Float64Array(bs.length);
  states.forEach((h, s) => {
    const p = Math.exp(logWeights[s]! - logZ);
    for (let t = 0; t < h.length; t++) detection[t]! += p * h[t]!;
    bs.forEach((members, b) => {
      if (members.every((t) => h[t] === 0)) poolingOff[b]! += p;
    });
  });
  return { detection, poolingOff, freeEnergy: -logZ };
}

/** Every binary image of the model's size. */
export function allBinaryImages(m: PlainCrbm): Image[] {
  const d = m.height * m.width * m.channels;
  const out: Image[] = [];
  for (let code = 0; code < 2 ** d; code++) {
    const v = new Float64Array(d);
    for (let t = 0; t < d; t++) v[t] = (code >> t) & 1;
    out.push(v);
  }
  return out;
}
