/**
 * Side by side: one CD-1 epoch of a 784x500 Bernoulli RBM on binarized MNIST (60,000 examples,
 * batch 100, learning rate 0.1, momentum 0.5, weight cost 0.0002) with @helmholtz/energy's
 * trainer on the default Node backend, with the same computation in plain tfjs and in
 * PyTorch (1 thread and default threads).
 *
 *   pnpm --filter @helmholtz/bench energy-speed [--markdown] [--json FILE]
 *   BENCH_EPOCH_EXAMPLES=6000 BENCH_EPOCH_ROUNDS=3 pnpm --filter @helmholtz/bench energy-speed
 *
 * Every engine is a long-lived child process; in each round every engine trains one epoch (or
 * the BENCH_EPOCH_EXAMPLES subset of one, scaled to a full epoch) in an order that rotates from
 * round to round; the report gives medians and ratios. See ../../README.md.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@helmholtz/core';
import { describeMachine } from '../machine.js';
import { median } from '../stats.js';
import type { EpochSettings, Variant } from './epoch-variants.js';
import {
  EngineProcess,
  envInteger,
  envList,
  firstLine,
  ForeignLoad,
  packageVersion,
  processNanoseconds,
  progress,
  renderTable,
  seconds,
  type EngineLaunch,
  type Reply,
} from './harness.js';
import { loadBinaryMnist, writeDataFile } from './mnist.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCH_ROOT = join(HERE, '..', '..');
const INSTALL_TORCH = 'apt-get install python3-torch libopenblas0-pthread python3-numpy python3-threadpoolctl';
const ONE_THREAD_ENV = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
/** How far each engine's ‖W − W0‖ and reconstruction error may be from the median of all (see the README). */
const CHECK_TOLERANCE = 0.1;
const CHECK_ROWS = 1000;
const TARGET = 2;

const SETTINGS: EpochSettings = { visible: 784, hidden: 500, batch: 100, learningRate: 0.1, momentum: 0.5, weightDecay: 0.0002, seed: 1 };

interface EngineSpec {
  id: string;
  label: string;
  python?: boolean;
  launch(settings: Settings): EngineLaunch;
}

interface Settings {
  rounds: number;
  epochExamples: number;
  warmup: number;
  threads: number;
  python: string;
  engineIds: string[] | null;
  markdown: boolean;
  jsonFile: string | null;
}

function nodeEngine(variant: Variant, threads: number): EngineSpec['launch'] {
  const loader = import.meta.resolve('tsx');
  return () => ({ file: process.execPath, args: ['--import', loader, join(HERE, 'epoch-engine.ts'), variant, String(threads)], env: process.env, cwd: BENCH_ROOT });
}

function torchEngine(one: boolean): EngineSpec['launch'] {
  return (s) => ({
    file: s.python,
    args: [join(HERE, '..', 'peers', 'rbm_epoch.py'), one ? '1' : 'default'],
    env: one ? { ...process.env, ...ONE_THREAD_ENV } : process.env,
    cwd: BENCH_ROOT,
  });
}

const OURS = 'trainer-n';
const TORCH_ONE = 'torch-1';
const TORCH_DEFAULT = 'torch';

function engines(threads: number): EngineSpec[] {
  const n = `${threads} thread${threads === 1 ? '' : 's'}`;
  return [
    { id: OURS, label: `@helmholtz/energy trainer, wasm ${n}`, launch: nodeEngine('trainer', threads) },
    { id: 'trainer-1', label: '@helmholtz/energy trainer, wasm 1 thread', launch: nodeEngine('trainer', 1) },
    { id: 'fit-n', label: `@helmholtz/energy fitRbm, wasm ${n}`, launch: nodeEngine('fit', threads) },
    { id: 'tfjs-n', label: `tfjs as a user writes it, wasm ${n}`, launch: nodeEngine('tfjs', threads) },
    { id: 'layout-n', label: `column layout (what a fast path could do), wasm ${n}`, launch: nodeEngine('layout', threads) },
    { id: 'ref-n', label: `rbm-step.ts 'helmholtz' step (SGD only), wasm ${n}`, launch: nodeEngine('ref', threads) },
    { id: TORCH_ONE, label: 'PyTorch 1 thread', python: true, launch: torchEngine(true) },
    { id: TORCH_DEFAULT, label: 'PyTorch default threads', python: true, launch: torchEngine(false) },
  ];
}

const USAGE = `usage: pnpm --filter @helmholtz/bench energy-speed [--markdown] [--json FILE]
env: BENCH_EPOCH_ROUNDS (default 3), BENCH_EPOCH_EXAMPLES (examples per timed epoch, default 60000; a subset is scaled to a full epoch),
     BENCH_EPOCH_WARMUP (untimed updates first, default 5), BENCH_EPOCH_ENGINES (ids below), BENCH_THREADS (default os.availableParallelism()),
     BENCH_PYTHON (default /usr/bin/python3)`;

function parseSettings(argv: string[]): Settings {
  let markdown = false;
  let jsonFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (arg === '--markdown') markdown = true;
    else if (arg === '--json') {
      const file = argv[++i];
      if (!file) throw new ConfigError('--json', 'a file name after --json', undefined);
      jsonFile = resolve(process.env.INIT_CWD ?? process.cwd(), file);
    } else if (arg === '--help' || arg === '-h') {
      console.log(`${USAGE}\nengines: ${engines(os.availableParallelism()).map((e) => `${e.id} (${e.label})`).join('; ')}`);
      process.exit(0);
    } else throw new ConfigError('arguments', '--markdown, --json FILE or --help', arg);
  }
  const threads = envInteger('BENCH_THREADS', os.availableParallelism());
  const epochExamples = envInteger('BENCH_EPOCH_EXAMPLES', 60_000, SETTINGS.batch);
  if (epochExamples > 60_000) throw new ConfigError('BENCH_EPOCH_EXAMPLES', `an integer in [${SETTINGS.batch}, 60000]`, epochExamples);
  return {
    rounds: envInteger('BENCH_EPOCH_ROUNDS', 3),
    epochExamples,
    warmup: envInteger('BENCH_EPOCH_WARMUP', 5, 0),
    threads,
    python: process.env.BENCH_PYTHON || '/usr/bin/python3',
    engineIds: envList('BENCH_EPOCH_ENGINES', engines(threads).map((e) => e.id)),
    markdown,
    jsonFile,
  };
}

function probeTorch(python: string): string | null {
  const run = spawnSync(python, ['-c', 'import importlib.util as u; print(u.find_spec("torch") is not None and u.find_spec("numpy") is not None)'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.error || run.status !== 0) return `${python} cannot be run (${run.error?.message ?? (run.stderr || `exit code ${run.status}`).trim().split('\n').pop()})`;
  return run.stdout.trim().endsWith('True') ? null : `PyTorch (with numpy) is not installed for ${python}`;
}

interface Result {
  spec: EngineSpec;
  engine: EngineProcess;
  info: Record<string, unknown> | null;
  failed: string | null;
  /**
   * Per timed epoch (or subset): wall milliseconds, updates, cores other programs used meanwhile,
   * and the CPU milliseconds the engine's own threads used (what a 1-thread engine's time would
   * be on a quiet machine, near enough: contention stretches wall time, not the work).
   */
  runs: { ms: number; steps: number; foreign: number | null; cpuMs: number | null }[];
  check: { steps: number; finite: boolean; moved: number; reconstruction: number | null } | null;
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const machine = describeMachine();
  const notes: string[] = [];
  const fullSteps = Math.ceil(60_000 / SETTINGS.batch);

  progress('loading MNIST');
  const mnist = await loadBinaryMnist('train');
  const file = writeDataFile(mnist.bytes);
  let specs = engines(settings.threads);
  if (settings.engineIds) specs = specs.filter((s) => settings.engineIds!.includes(s.id));
  if (specs.some((s) => s.python)) {
    const problem = probeTorch(settings.python);
    if (problem) {
      notes.push(`PyTorch engines skipped: ${problem} (Debian: ${INSTALL_TORCH}; or set BENCH_PYTHON).`);
      specs = specs.filter((s) => !s.python);
    }
  }

  const results: Result[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(results.map((r) => r.engine.close()));
    file.remove();
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });

  const setup = { cmd: 'setup', data: file.path, examples: mnist.size, epochExamples: settings.epochExamples, warmup: settings.warmup, checkRows: CHECK_ROWS, ...SETTINGS };
  try {
    for (const spec of specs) {
      progress(`starting ${spec.label}`);
      // An epoch of the slowest engine takes minutes: the timeout is generous.
      const engine = new EngineProcess(spec.label, spec.launch(settings), 1_800_000);
      const result: Result = { spec, engine, info: null, failed: null, runs: [], check: null };
      try {
        await engine.ready();
        result.info = await engine.request({ cmd: 'info' });
        await engine.request(setup);
        results.push(result);
      } catch (e) {
        notes.push(`${spec.label} did not start: ${firstLine(e)}`);
        await engine.close();
      }
    }

    for (let round = 0; round < settings.rounds; round++) {
      const live = results.filter((r) => !r.failed);
      const shift = round % Math.max(1, live.length);
      const order = [...live.slice(shift), ...live.slice(0, shift)];
      for (const r of order) {
        progress(`round ${round + 1}/${settings.rounds}: ${r.spec.label}`);
        const load = new ForeignLoad(results.flatMap((x) => (x.engine.pid === undefined || !x.engine.alive ? [] : [x.engine.pid])));
        const own = r.engine.pid === undefined ? null : processNanoseconds([r.engine.pid]);
        try {
          const reply = (await r.engine.request({ cmd: 'epoch', round })) as Reply & { ms: number; steps: number };
          const ownAfter = r.engine.pid === undefined ? null : processNanoseconds([r.engine.pid]);
          const cpuMs = own === null || ownAfter === null ? null : (ownAfter - own) / 1e6;
          r.runs.push({ ms: reply.ms, steps: reply.steps, foreign: load.cores(), cpuMs });
        } catch (e) {
          r.failed = firstLine(e);
          await r.engine.close();
        }
      }
    }
    for (const r of results.filter((x) => !x.failed)) {
      progress(`checking ${r.spec.label}`);
      try {
        r.check = (await r.engine.request({ cmd: 'check' })) as Reply & NonNullable<Result['check']>;
      } catch (e) {
        r.failed = firstLine(e);
      }
    }
  } finally {
    progress('');
    await cleanup();
  }

  // Per engine: the median of its per-update times, scaled to the updates of a full epoch.
  const summary = new Map<string, { epochS: number; minS: number; maxS: number; stepMs: number; foreign: number | null; cpuS: number | null }>();
  for (const r of results) {
    if (!r.runs.length) continue;
    const perStep = r.runs.map((x) => x.ms / x.steps);
    const loads = r.runs.flatMap((x) => (x.foreign === null ? [] : [x.foreign]));
    const cpu = r.runs.flatMap((x) => (x.cpuMs === null ? [] : [x.cpuMs / x.steps]));
    summary.set(r.spec.id, {
      cpuS: cpu.length ? (median(cpu) * fullSteps) / 1000 : null,
      stepMs: median(perStep),
      epochS: (median(perStep) * fullSteps) / 1000,
      minS: (Math.min(...perStep) * fullSteps) / 1000,
      maxS: (Math.max(...perStep) * fullSteps) / 1000,
      foreign: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : null,
    });
  }

  const md = settings.markdown;
  const out: string[] = [];
  const node = results.find((r) => !r.spec.python && r.info);
  const torch = results.find((r) => r.spec.python && r.info);
  const nodeVersions = (node?.info?.versions ?? {}) as Record<string, string | null>;
  const backend = node?.info?.backend as { name?: string; threads?: { count?: number | null; note?: string } } | undefined;
  const torchVersions = (torch?.info?.versions ?? {}) as Record<string, unknown>;
  const subset = settings.epochExamples < 60_000;
  const steps = Math.ceil(settings.epochExamples / SETTINGS.batch);
  const header: [string, string][] = [
    ['machine', `${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB, ${machine.os}`],
    ['load', `load average ${machine.loadAverage.join(' ')} at the start; the "others" column is the mean number of cores other programs kept busy during each engine's epochs`],
    [
      'node',
      `${machine.node}; tfjs-core ${nodeVersions['tfjs-core'] ?? '?'}, tfjs-backend-wasm ${nodeVersions['tfjs-backend-wasm'] ?? '?'}, ` +
        `@helmholtz/energy ${packageVersion('@helmholtz/energy') ?? '?'}, @helmholtz/core ${packageVersion('@helmholtz/core') ?? '?'}, ` +
        `@helmholtz/backends ${packageVersion('@helmholtz/backends') ?? '?'}; backend ${backend?.name ?? '?'}` +
        (backend?.threads ? ` (${backend.threads.note ?? `${backend.threads.count} threads`})` : ''),
    ],
    [
      'python',
      torch
        ? `${settings.python}: ${String(torch.info?.runtime)}, torch ${String(torchVersions.torch)}; ` +
          results
            .filter((r) => r.spec.python && r.info)
            .map((r) => `${r.spec.id}: torch threads ${String((r.info!.versions as Record<string, unknown>)['torch threads'])}, ${blasLine(r.info!.blas)}`)
            .join('; ')
        : 'PyTorch did not run',
    ],
    ['data', `${mnist.protocol}; ${mnist.size} examples`],
    [
      'model',
      `BernoulliRBM ${SETTINGS.visible}x${SETTINGS.hidden}, CD-1, batch ${SETTINGS.batch}, learning rate ${SETTINGS.learningRate}, momentum ${SETTINGS.momentum}, ` +
        `weight cost ${SETTINGS.weightDecay} (the trainer's default), float32`,
    ],
    [
      'method',
      `${settings.rounds} rounds, engine order rotating; ${settings.warmup} untimed updates first; each timing is one epoch` +
        (subset
          ? ` SUBSET: ${settings.epochExamples} examples (${steps} updates) per timing, scaled x${(fullSteps / steps).toFixed(2)} to the ${fullSteps} updates of a full epoch`
          : ` of ${fullSteps} updates`) +
        '; medians',
    ],
    ['date', machine.date],
  ];
  const title = 'One CD-1 epoch of a 784x500 RBM on MNIST (issue 10: @helmholtz/energy)';
  if (md) out.push(`### ${title}`, '', ...header.map(([k, v]) => `- ${k}: ${v}`));
  else out.push(title, '', ...header.map(([k, v]) => `${k.padEnd(8)} ${v}`));
  for (const n of notes) out.push(md ? `- note: ${n}` : `note: ${n}`);
  out.push('');

  const peerIds = [TORCH_ONE, TORCH_DEFAULT].filter((id) => summary.has(id));
  const head = ['engine', subset ? 'epoch s (scaled)' : 'epoch s', 'min–max s', 'ms/update', ...peerIds.map((p) => (p === TORCH_ONE ? 'vs PyTorch 1 thread' : 'vs PyTorch default')), 'CPU s', 'others (cores)'];
  const rows = results.map((r) => {
    const s = summary.get(r.spec.id);
    if (!s) return [r.spec.label, r.failed ? 'failed' : '–', '', '', ...peerIds.map(() => ''), '', ''];
    return [
      r.spec.label,
      seconds(s.epochS),
      `${seconds(s.minS)}–${seconds(s.maxS)}`,
      s.stepMs.toFixed(2),
      ...peerIds.map((p) => `${(s.epochS / summary.get(p)!.epochS).toFixed(2)}x`),
      s.cpuS === null ? '?' : seconds(s.cpuS),
      s.foreign === null ? '?' : s.foreign.toFixed(2),
    ];
  });
  const tableNotes = [
    ...(peerIds.length ? ['ratio = engine time / PyTorch time (below 1: faster than PyTorch)'] : []),
    'CPU s: CPU time of the engine\'s own threads per epoch (median): for a 1-thread engine, about its wall time on a quiet machine; others (cores): ' +
      'what other programs used meanwhile',
    ...results.filter((r) => r.failed).map((r) => `${r.spec.label} failed: ${r.failed}`),
  ];
  out.push(renderTable({ title: `One epoch (${fullSteps} updates of batch ${SETTINGS.batch})`, head, rows, right: head.map((_, i) => i > 0), notes: tableNotes }, md), '');

  // The issue's target, and where our trainer stands against the faster layouts.
  const ours = summary.get(OURS);
  const lines: string[] = [];
  for (const p of peerIds) {
    const x = ours ? ours.epochS / summary.get(p)!.epochS : NaN;
    const name = p === TORCH_ONE ? 'PyTorch 1 thread' : 'PyTorch default threads';
    lines.push(`${!ours ? 'N/A ' : x <= TARGET ? 'PASS' : 'MISS'} trainer epoch within ${TARGET}x of ${name}: ${ours ? `${x.toFixed(2)}x` : 'not run'}`);
  }
  for (const [id, what] of [
    ['ref-n', "rbm-step.ts's 'helmholtz' step (SGD only, no momentum or weight cost, no batch gather)"],
    ['layout-n', 'the same computation in the column layout'],
    ['tfjs-n', 'plain tfjs'],
  ] as const) {
    const other = summary.get(id);
    if (!ours || !other) continue;
    const d = ours.stepMs - other.stepMs;
    lines.push(
      `trainer update ${ours.stepMs.toFixed(2)} ms vs ${what} ${other.stepMs.toFixed(2)} ms: ` +
        `${d >= 0 ? '+' : ''}${d.toFixed(2)} ms (${(ours.stepMs / other.stepMs).toFixed(2)}x)`,
    );
  }
  const fit = summary.get('fit-n');
  if (ours && fit) lines.push(`fitRbm over the trainer's step: ${(fit.stepMs - ours.stepMs >= 0 ? '+' : '') + (fit.stepMs - ours.stepMs).toFixed(2)} ms per update (core's loop, batches)`);
  if (lines.length) out.push(md ? '**Targets and gaps**' : 'Targets and gaps', '', ...lines.map((l) => (md ? `- ${l}` : `  ${l}`)), '');

  // Checks: every engine that runs the described update moves W alike and reconstructs alike.
  const comparable = results.filter((r) => r.check && r.spec.id !== 'ref-n' && r.check.finite);
  const movedMedian = comparable.length >= 2 ? median(comparable.map((r) => r.check!.moved)) : null;
  const reconMedian = comparable.length >= 2 ? median(comparable.flatMap((r) => (r.check!.reconstruction === null ? [] : [r.check!.reconstruction]))) : null;
  let allGood = true;
  const checkRows = results.map((r) => {
    const c = r.check;
    if (!c) {
      allGood = false;
      return [r.spec.label, '–', '–', '–', r.failed ? `failed: ${r.failed}` : 'no check'];
    }
    const problems: string[] = [];
    if (!c.finite) problems.push('weights not finite');
    const dev = (x: number, m: number | null): string => (m === null ? '' : ` (${x >= m ? '+' : ''}${((x / m - 1) * 100).toFixed(1)}%)`);
    if (r.spec.id !== 'ref-n') {
      if (movedMedian !== null && Math.abs(c.moved / movedMedian - 1) > CHECK_TOLERANCE) problems.push('W moved unlike the others');
      if (reconMedian !== null && c.reconstruction !== null && Math.abs(c.reconstruction / reconMedian - 1) > CHECK_TOLERANCE) problems.push('reconstructs unlike the others');
    }
    if (problems.length) allGood = false;
    const comparableRow = r.spec.id !== 'ref-n';
    return [
      r.spec.label,
      String(c.steps),
      `${c.moved.toFixed(3)}${comparableRow ? dev(c.moved, movedMedian) : ''}`,
      c.reconstruction === null ? '–' : `${c.reconstruction.toFixed(2)}${dev(c.reconstruction, reconMedian)}`,
      problems.length ? problems.join('; ') : comparableRow ? 'ok' : 'not comparable (another update)',
    ];
  });
  out.push(
    renderTable(
      {
        title: 'Checks',
        head: ['engine', 'updates', '‖W − W0‖', 'reconstruction error', 'verdict'],
        rows: checkRows,
        right: [false, true, true, true, false],
        notes: [
          `‖W − W0‖ after all updates, and the mean-field reconstruction error Σ(x − E[v|p(h|x)])² on the first ${CHECK_ROWS} training digits: ` +
            `each within ${CHECK_TOLERANCE * 100}% of the median of the engines (a wrong sign, scale or statistic moves them much more)`,
          allGood ? 'all checks pass' : 'SOME CHECKS FAIL: those timings do not measure the update described (exit code 1)',
        ],
      },
      md,
    ),
  );
  const printed = results.flatMap((r) => {
    const counts = new Map<string, number>();
    for (const line of r.engine.printed) counts.set(line, (counts.get(line) ?? 0) + 1);
    return [...counts].map(([line, n]) => `[${r.spec.id}] ${line.slice(0, 300)}${n > 1 ? ` (x${n})` : ''}`);
  });
  if (printed.length) {
    out.push('', md ? '<details><summary>What the engines printed</summary>\n\n```' : 'What the engines printed (stdout and stderr):', ...printed);
    if (md) out.push('```\n</details>');
  }
  console.log(out.join('\n'));
  if (!allGood) process.exitCode = 1;

  if (settings.jsonFile) {
    const json = {
      machine,
      settings: { ...settings, model: SETTINGS, fullEpochUpdates: fullSteps },
      data: mnist.protocol,
      notes,
      engines: results.map((r) => ({ id: r.spec.id, label: r.spec.label, info: r.info, failed: r.failed, runs: r.runs, check: r.check, summary: summary.get(r.spec.id) ?? null })),
      targetsAndGaps: lines,
      printed,
    };
    writeFileSync(settings.jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nraw timings written to ${settings.jsonFile}`);
  }
}

function blasLine(blas: unknown): string {
  if (!Array.isArray(blas)) return String(blas ?? '?');
  return (blas as Record<string, unknown>[]).map((b) => `${String(b.internal_api)} ${String(b.version ?? '')} ${String(b.num_threads)} thread(s)`.replace(/\s+/g, ' ')).join(', ') || 'none seen';
}

main().catch((e: unknown) => {
  progress('');
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
