/**
 * One Node engine of the side-by-side benchmark, run by run.ts as a long-lived child process:
 *
 *   node --import tsx src/engine.ts helmholtz <threads>   initBackend('wasm', { threads }), variant 'helmholtz'
 *   node --import tsx src/engine.ts tfjs                  tfjs-backend-wasm as a user sets it up, variant 'plain'
 *
 * Commands arrive as JSON lines on stdin; replies leave as JSON lines on fd 3, so whatever tfjs
 * or Emscripten print on stdout cannot break the protocol (run.ts keeps stdout and stderr and
 * shows them after the tables). The Python peer (peers/rbm_step.py) speaks the same protocol.
 *
 * The module also exports the deterministic product operands and their checksums, which run.ts
 * uses for its float64 reference: one definition for both sides of the comparison.
 */
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { Tensor2D } from '@tensorflow/tfjs-core';

export const CASES = ['cd1-100', 'cd1-256', 'product-256'] as const;
export type CaseName = (typeof CASES)[number];

export type Command =
  | { cmd: 'info' }
  | { cmd: 'setup'; case: CaseName; warmup: number }
  | { cmd: 'time'; case: CaseName; repeat?: number }
  | { cmd: 'check'; case: CaseName }
  | { cmd: 'verify' }
  | { cmd: 'dispose'; case: CaseName }
  | { cmd: 'quit' };

/** Reply to `check` for a CD case: the weights after every step this engine took. */
export interface WeightsCheck {
  finite: boolean;
  steps: number;
  /** ‖W_T − W_0‖_F after `steps` steps: a statistic every correct CD-1 step reproduces in expectation. */
  moved: number;
}

/** Reply to `verify`: checksums of the deterministic product (see productChecksums). */
export interface Checksums {
  sumSquares: number;
  weighted: number;
  /** The elements at checkSample(t), t = 0 .. CHECK_SAMPLES − 1. */
  samples: number[];
}

// The product checked on every engine: [256,784]·[784,500] on operands that a formula gives,
// so that Node, PyTorch and numpy build identical inputs without passing them around.
export const CHECK_ROWS = 256;
export const CHECK_INNER = 784;
export const CHECK_COLS = 500;
export const operandA = (i: number, k: number): number => Math.sin(i * 7 + k * 3) / 8;
export const operandB = (k: number, j: number): number => Math.cos(k * 5 + j * 11) / 8;
// Integer weights in −2..2: a transposed or shuffled result changes the weighted sum even when
// the sum of squares (a permutation invariant) stays.
export const checkWeight = (i: number, j: number): number => ((i * 7 + j * 13) % 5) - 2;
// Elements compared one by one, spread over rows and columns.
export const CHECK_SAMPLES = 97;
export const checkSample = (t: number): [number, number] => [(t * 37) % CHECK_ROWS, (t * 101 + 13) % CHECK_COLS];

/** Sum of squares, weighted sum and sampled elements of a row-major [CHECK_ROWS, CHECK_COLS] product, in float64. */
export function productChecksums(c: ArrayLike<number>): Checksums {
  let sumSquares = 0;
  let weighted = 0;
  for (let i = 0; i < CHECK_ROWS; i++) {
    for (let j = 0; j < CHECK_COLS; j++) {
      const x = c[i * CHECK_COLS + j]!;
      sumSquares += x * x;
      weighted += x * checkWeight(i, j);
    }
  }
  const samples = Array.from({ length: CHECK_SAMPLES }, (_, t) => {
    const [i, j] = checkSample(t);
    return c[i * CHECK_COLS + j]!;
  });
  return { sumSquares, weighted, samples };
}

/** The operands as float32, row-major. */
export function checkOperands(): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(CHECK_ROWS * CHECK_INNER);
  const b = new Float32Array(CHECK_INNER * CHECK_COLS);
  for (let i = 0; i < CHECK_ROWS; i++) for (let k = 0; k < CHECK_INNER; k++) a[i * CHECK_INNER + k] = operandA(i, k);
  for (let k = 0; k < CHECK_INNER; k++) for (let j = 0; j < CHECK_COLS; j++) b[k * CHECK_COLS + j] = operandB(k, j);
  return { a, b };
}

function reply(message: object): void {
  writeSync(3, `${JSON.stringify(message)}\n`);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

async function main(kind: string, threadsArg: string | undefined): Promise<void> {
  if (kind !== 'helmholtz' && kind !== 'tfjs') throw new Error(`engine kind must be 'helmholtz' or 'tfjs', got '${kind}'`);
  const tf = await import('@tensorflow/tfjs-core');
  const { matMul } = await import('@helmholtz/core');
  const step = await import('./rbm-step.js');

  let backend: Record<string, unknown>;
  if (kind === 'helmholtz') {
    const threads = Number(threadsArg);
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got '${threadsArg}'`);
    const { initBackend, describeBackend } = await import('@helmholtz/backends');
    // Where threads cannot run the backend falls back to one: the header shows describeBackend().threads.
    await initBackend('wasm', { threads });
    const d = describeBackend();
    backend = { name: d?.name ?? tf.getBackend(), threadsAsked: threads, threads: d?.threads ?? null };
  } else {
    // What a tfjs user writes: the side-effect import registers 'wasm', setBackend starts it.
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
    await tf.ready();
    backend = { name: tf.getBackend(), threadsAsked: null, threads: null };
  }
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { version_wasm?: string; getThreadsCount?: () => number };
  const variant = kind === 'helmholtz' ? 'helmholtz' : 'plain';
  const product = kind === 'helmholtz' ? matMul : (a: Tensor2D, b: Tensor2D): Tensor2D => tf.matMul(a, b);

  interface CdState {
    kind: 'cd';
    step: ReturnType<typeof step.createCdStep>;
    start: Float32Array;
    steps: number;
  }
  interface ProductState {
    kind: 'product';
    product: ReturnType<typeof step.createProduct>;
  }
  const states = new Map<CaseName, CdState | ProductState>();

  const build = (name: CaseName): CdState | ProductState => {
    const [what, size] = name.split('-') as [string, string];
    const batch = Number(size);
    if (what === 'cd1') {
      const s = step.createCdStep(variant, batch, 0);
      return { kind: 'cd', step: s, start: Float32Array.from(s.weights()), steps: 0 };
    }
    return { kind: 'product', product: step.createProduct(batch, 0) };
  };
  const runOnce = (s: CdState | ProductState): void => {
    if (s.kind === 'cd') {
      s.step.run();
      s.steps++;
    } else {
      s.product.run();
    }
  };
  const stateOf = (name: CaseName): CdState | ProductState => {
    const s = states.get(name);
    if (!s) throw new Error(`case '${name}' was not set up`);
    return s;
  };

  const handle = (c: Command): object => {
    switch (c.cmd) {
      case 'info':
        return {
          runtime: `Node ${process.version}`,
          backend,
          variant,
          wasmThreadsCount: wasm.getThreadsCount?.() ?? null,
          versions: { 'tfjs-core': tf.version_core, 'tfjs-backend-wasm': wasm.version_wasm ?? null },
        };
      case 'setup': {
        if (!(CASES as readonly string[]).includes(c.case)) throw new Error(`unknown case '${c.case}'`);
        if (states.has(c.case)) handle({ cmd: 'dispose', case: c.case });
        const s = build(c.case);
        states.set(c.case, s);
        for (let i = 0; i < c.warmup; i++) runOnce(s);
        return {};
      }
      case 'time': {
        const s = stateOf(c.case);
        const repeat = c.repeat ?? 1;
        const t0 = performance.now();
        for (let i = 0; i < repeat; i++) runOnce(s);
        return { ms: (performance.now() - t0) / repeat };
      }
      case 'check': {
        const s = stateOf(c.case);
        if (s.kind !== 'cd') return {};
        const w = s.step.weights();
        let finite = true;
        let moved = 0;
        for (let i = 0; i < w.length; i++) {
          const x = w[i]!;
          if (!Number.isFinite(x)) finite = false;
          const d = x - s.start[i]!;
          moved += d * d;
        }
        const check: WeightsCheck = { finite, steps: s.steps, moved: Math.sqrt(moved) };
        return check;
      }
      case 'verify': {
        const { a, b } = checkOperands();
        const ta = tf.tensor2d(a, [CHECK_ROWS, CHECK_INNER]);
        const tb = tf.tensor2d(b, [CHECK_INNER, CHECK_COLS]);
        const out = product(ta, tb);
        const sums = productChecksums(out.dataSync());
        tf.dispose([ta, tb, out]);
        return sums;
      }
      case 'dispose': {
        const s = states.get(c.case);
        if (s?.kind === 'cd') s.step.dispose();
        else s?.product.dispose();
        states.delete(c.case);
        return { tensors: tf.memory().numTensors };
      }
      case 'quit':
        return {};
    }
  };

  reply({ ok: true, ready: true });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let command: Command;
    try {
      command = JSON.parse(line) as Command;
    } catch (e) {
      reply({ ok: false, error: `not JSON: ${messageOf(e)}` });
      continue;
    }
    try {
      reply({ ok: true, ...handle(command) });
    } catch (e) {
      reply({ ok: false, error: messageOf(e) });
    }
    if (command.cmd === 'quit') break;
  }
  // wasm thread-pool workers would keep the process alive.
  process.exit(0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2] ?? '', process.argv[3]).catch((e: unknown) => {
    try {
      reply({ ok: false, error: messageOf(e) });
    } finally {
      process.exit(1);
    }
  });
}
