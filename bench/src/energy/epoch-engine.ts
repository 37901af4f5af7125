/**
 * A Node engine of the epoch benchmark, run by speed.ts as a long-lived child process:
 *
 *   node --import tsx src/energy/epoch-engine.ts <variant> <threads>
 *
 * with a variant of epoch-variants.ts, on `initBackend('wasm', { threads })` from
 * @helmholtz/backends (the default Node backend where tfjs-node is absent). Commands arrive as
 * JSON lines on stdin, replies leave on fd 3 (as in ../engine.ts):
 *
 *   {"cmd":"info"}
 *   {"cmd":"setup","data":FILE,"examples":60000,"epochExamples":60000,"warmup":5,"checkRows":1000,...EpochSettings}
 *   {"cmd":"epoch","round":r}   → {"ms","steps"}  (rows: the first epochExamples of a permutation drawn from seed and round)
 *   {"cmd":"check"}             → {"steps","finite","moved","reconstruction"}
 *   {"cmd":"quit"}
 */
import { readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@helmholtz/core';
import { createRunner, meanFieldError, VARIANTS, type EpochRunner, type EpochSettings, type Variant } from './epoch-variants.js';

interface Setup extends EpochSettings {
  data: string;
  examples: number;
  epochExamples: number;
  warmup: number;
  /** Rows of the mean-field reconstruction check (the first ones of the data). */
  checkRows: number;
}

function reply(message: object): void {
  writeSync(3, `${JSON.stringify(message)}\n`);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** The rows of one round: the first `take` of a permutation of all rows; the same in every Node engine. */
function roundRows(seed: number, round: number, examples: number, take: number): Int32Array {
  // Round −1 is the warm-up.
  return new Rng(seed * 7919 + 13 + round + 1).permutation(examples).slice(0, take);
}

async function main(variant: string, threadsArg: string | undefined): Promise<void> {
  if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`variant must be one of ${VARIANTS.join(', ')}, got '${variant}'`);
  const threads = Number(threadsArg);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got '${threadsArg}'`);
  const { initBackend } = await import('@helmholtz/backends');
  const backend = await initBackend('wasm', { threads });
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { version_wasm?: string };

  let runner: EpochRunner | null = null;
  let setup: Setup | null = null;
  let data: tf.Tensor2D | null = null;
  let start: Float32Array | null = null;
  let steps = 0;

  const handle = async (c: Record<string, unknown>): Promise<object> => {
    switch (c.cmd) {
      case 'info':
        return {
          runtime: `Node ${process.version}`,
          backend: { name: backend.name, threads: backend.threads },
          versions: { 'tfjs-core': tf.version_core, 'tfjs-backend-wasm': wasm.version_wasm ?? null },
        };
      case 'setup': {
        setup = c as unknown as Setup;
        const bytes = readFileSync(setup.data);
        if (bytes.length !== setup.examples * setup.visible) {
          throw new Error(`${setup.data} holds ${bytes.length} bytes, expected ${setup.examples} x ${setup.visible}`);
        }
        data = tf.tensor2d(Float32Array.from(bytes), [setup.examples, setup.visible]);
        runner = createRunner(variant as Variant, data, setup);
        start = Float32Array.from(runner.weights());
        if (setup.warmup > 0) {
          runner.prepare(roundRows(setup.seed, -1, setup.examples, setup.warmup * setup.batch));
          steps += await runner.run();
        }
        return { tensors: tf.memory().numTensors };
      }
      case 'epoch': {
        if (!runner || !setup) throw new Error('epoch before setup');
        runner.prepare(roundRows(setup.seed, Number(c.round), setup.examples, setup.epochExamples));
        const t0 = performance.now();
        const n = await runner.run();
        const ms = performance.now() - t0;
        steps += n;
        return { ms, steps: n };
      }
      case 'check': {
        if (!runner || !data || !start || !setup) throw new Error('check before setup');
        const w = runner.weights();
        let finite = true;
        let moved = 0;
        for (let i = 0; i < w.length; i++) {
          if (!Number.isFinite(w[i]!)) finite = false;
          moved += (w[i]! - start[i]!) ** 2;
        }
        const params = runner.params();
        let reconstruction: number | null = null;
        if (params) {
          const rows = tf.slice(data, [0, 0], [Math.min(setup.checkRows, data.shape[0]), data.shape[1]]);
          reconstruction = meanFieldError(params, rows);
          tf.dispose([rows, params.w, params.b, params.c]);
        }
        return { steps, finite, moved: Math.sqrt(moved), reconstruction, tensors: tf.memory().numTensors };
      }
      case 'quit':
        return {};
      default:
        throw new Error(`unknown command ${JSON.stringify(c.cmd)}`);
    }
  };

  reply({ ok: true, ready: true });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let command: Record<string, unknown>;
    try {
      command = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      reply({ ok: false, error: `not JSON: ${messageOf(e)}` });
      continue;
    }
    try {
      reply({ ok: true, ...(await handle(command)) });
    } catch (e) {
      reply({ ok: false, error: messageOf(e) });
    }
    if (command.cmd === 'quit') break;
  }
  // The wasm thread pool's workers would keep the process alive.
  process.exit(0);
}

main(process.argv[2] ?? '', process.argv[3]).catch((e: unknown) => {
  try {
    reply({ ok: false, error: messageOf(e) });
  } finally {
    process.exit(1);
  }
});
