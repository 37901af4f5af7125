/**
 * Side by side: one RBM CD-1 training step (784 visible, 500 hidden, binary, SGD) at batch 100
 * and 256, and the product [256,784]·[784,500], on Helmholtz's wasm backend (1 thread and all
 * cores), on tfjs-wasm as a user sets it up, and on PyTorch and numpy (1 thread and default).
 *
 *   pnpm bench [--markdown] [--json FILE]     from the repository root (builds first)
 *   BENCH_ROUNDS=3 BENCH_CASES=cd1-256 BENCH_ENGINES=helmholtz-n,torch-1 pnpm bench
 *
 * Every engine is a long-lived child process (its own thread settings, start-up not timed).
 * In each round every engine runs each case once, in an order that rotates from round to round,
 * so that drift and noise fall on everyone alike; the tables give medians and ratios. See
 * ../README.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@helmholtz/core';
import {
  CASES,
  CHECK_COLS,
  CHECK_INNER,
  CHECK_ROWS,
  checkWeight,
  operandA,
  operandB,
  productChecksums,
  type CaseName,
  type Checksums,
  type Command,
  type WeightsCheck,
} from './engine.js';
import { describeMachine, type Machine } from './machine.js';
import { median, quantile } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WARMUP = 3;
const PRODUCT_FLOPS = 2 * 256 * 784 * 500;
const CHECKSUM_TOLERANCE = 1e-3;
/** ‖W_T − W_0‖ of each engine may differ from the median of all by this much (see README). */
const MOVED_TOLERANCE = 0.1;
// Settling before each timed run: quiet means under 10% of a core over a window.
const SETTLE_WINDOW_MS = 5;
const SETTLE_LIMIT_MS = 1000;
const SETTLE_FALLBACK_MS = 150;
/** Cores used by other processes during a round above which the round is run again. */
const BACKGROUND_LIMIT = 0.1;
const REQUEST_TIMEOUT_MS = 300_000;
const INSTALL_PEERS = 'apt-get install python3-torch libopenblas0-pthread python3-numpy python3-threadpoolctl';

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  rounds: number;
  /** Runs back to back per timing (a timing is their mean): steps follow each other in training. */
  repeat: number;
  cases: CaseName[];
  engineIds: string[] | null;
  python: string;
  threads: number;
  markdown: boolean;
  jsonFile: string | null;
}

function listFromEnv(name: string, allowed: readonly string[]): string[] | null {
  const raw = process.env[name]?.trim();
  if (!raw) return null;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((i) => !allowed.includes(i));
  if (unknown.length > 0) throw new ConfigError(name, `a comma list of ${allowed.join(', ')}`, raw);
  return items;
}

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, 'a positive integer', raw);
  return n;
}

const USAGE = `usage: pnpm bench [--markdown] [--json FILE]
env: BENCH_ROUNDS (default 21), BENCH_REPEAT (back-to-back runs per timing, default 10), BENCH_CASES (${CASES.join(',')}),
     BENCH_ENGINES (ids below), BENCH_PYTHON (default /usr/bin/python3),
     BENCH_THREADS (threads of helmholtz-n; default os.availableParallelism()),
     BENCH_SETTLE=0 (do not wait for idle thread pools between runs)`;

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
      // pnpm runs the script in bench/: a relative name means where the user typed the command.
      jsonFile = resolve(process.env.INIT_CWD ?? process.cwd(), file);
    } else if (arg === '--help' || arg === '-h') {
      console.log(`${USAGE}\nengines: ${ENGINES(os.availableParallelism()).map((e) => `${e.id} (${e.label})`).join(', ')}`);
      process.exit(0);
    } else throw new ConfigError('arguments', '--markdown, --json FILE or --help', arg);
  }
  const threads = positiveInteger('BENCH_THREADS', os.availableParallelism());
  return {
    rounds: positiveInteger('BENCH_ROUNDS', 21),
    repeat: positiveInteger('BENCH_REPEAT', 10),
    cases: (listFromEnv('BENCH_CASES', CASES) as CaseName[] | null) ?? [...CASES],
    engineIds: listFromEnv('BENCH_ENGINES', ENGINES(threads).map((e) => e.id)),
    python: process.env.BENCH_PYTHON || '/usr/bin/python3',
    threads,
    markdown,
    jsonFile,
  };
}

// ---------------------------------------------------------------------------------------------
// Engines

interface EngineSpec {
  id: string;
  label: string;
  /** The Python library the engine needs, for the probe that skips engines whose peer is absent. */
  python?: 'torch' | 'numpy';
  spawn(settings: Settings): { file: string; args: string[]; env: NodeJS.ProcessEnv };
}

const ONE_THREAD_ENV = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

function nodeEngine(kind: 'helmholtz' | 'tfjs', threads?: number): EngineSpec['spawn'] {
  // tsx's loader is resolved here so the child finds it wherever it is started from.
  const loader = import.meta.resolve('tsx');
  return () => ({
    file: process.execPath,
    args: ['--import', loader, join(HERE, 'engine.ts'), kind, ...(threads === undefined ? [] : [String(threads)])],
    env: process.env,
  });
}

function pythonEngine(lib: 'torch' | 'numpy', one: boolean): EngineSpec['spawn'] {
  return (settings) => ({
    file: settings.python,
    args: [join(HERE, 'peers', 'rbm_step.py'), lib, one ? '1' : 'default'],
    env: one ? { ...process.env, ...ONE_THREAD_ENV } : process.env,
  });
}

const OURS = 'helmholtz-n';
const PEER_ONE = 'torch-1';
const PEER_DEFAULT = 'torch';

function ENGINES(threads: number): EngineSpec[] {
  return [
    { id: 'helmholtz-1', label: 'helmholtz wasm, 1 thread', spawn: nodeEngine('helmholtz', 1) },
    {
      id: OURS,
      label: `helmholtz wasm, ${threads} thread${threads === 1 ? '' : 's'}`,
      spawn: nodeEngine('helmholtz', threads),
    },
    { id: 'tfjs-wasm', label: 'tfjs-wasm as a user writes it', spawn: nodeEngine('tfjs') },
    { id: PEER_ONE, label: 'PyTorch 1 thread', python: 'torch', spawn: pythonEngine('torch', true) },
    { id: PEER_DEFAULT, label: 'PyTorch default threads', python: 'torch', spawn: pythonEngine('torch', false) },
    { id: 'numpy-1', label: 'numpy 1 thread', python: 'numpy', spawn: pythonEngine('numpy', true) },
    { id: 'numpy', label: 'numpy default threads', python: 'numpy', spawn: pythonEngine('numpy', false) },
  ];
}

type Reply = { ok: true } & Record<string, unknown>;

/** A child process that answers one JSON command at a time on fd 3. */
class EngineProcess {
  /** The last lines the child printed on stdout and stderr (tfjs and Emscripten notices, errors). */
  readonly printed: string[] = [];
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  private exit: string | null = null;

  constructor(readonly spec: EngineSpec, settings: Settings) {
    const { file, args, env } = spec.spawn(settings);
    this.child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env, cwd: join(HERE, '..') });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      createInterface({ input: stream as Readable }).on('line', (line) => {
        if (!line.trim()) return;
        this.printed.push(line);
        if (this.printed.length > 200) this.printed.shift();
      });
    }
    createInterface({ input: this.child.stdio[3] as Readable }).on('line', (line) => {
      this.lines.push(line);
      this.wake?.();
    });
    this.child.on('error', (e) => this.ended(`could not be started (${e.message})`));
    this.child.on('exit', (code, signal) => this.ended(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    // A child that exits early closes its stdin: the error surfaces through `exit`, not here.
    this.child.stdin?.on('error', () => undefined);
  }

  private ended(why: string): void {
    this.exit ??= why;
    this.wake?.();
  }

  private async nextLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.exit) throw new Error(`${this.spec.label} ${this.exit}${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.spec.label} did not answer within ${timeoutMs / 1000} s${this.tail()}`);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, left);
        this.wake = () => {
          clearTimeout(timer);
          done();
        };
      });
      this.wake = null;
    }
  }

  private tail(): string {
    const last = this.printed.slice(-8);
    return last.length ? `; it printed:\n    ${last.join('\n    ')}` : '';
  }

  private async read(timeoutMs: number): Promise<Reply> {
    const line = await this.nextLine(timeoutMs);
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${this.spec.label} answered something that is not JSON: ${line.slice(0, 200)}`);
    }
    if (message.ok !== true) throw new Error(String(message.error ?? 'failed without saying why').trim());
    return message as Reply;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ready(): Promise<Reply> {
    return this.read(REQUEST_TIMEOUT_MS);
  }

  request(command: Command): Promise<Reply> {
    if (this.exit) return Promise.reject(new Error(`${this.spec.label} ${this.exit}${this.tail()}`));
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    return this.read(REQUEST_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    if (!this.exit) {
      try {
        await this.request({ cmd: 'quit' });
      } catch {
        // Exiting is what we asked for.
      }
    }
    if (!this.exit && this.child.exitCode === null) this.child.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Python peers: which of them can run here

interface PythonProbe {
  present: { torch: boolean; numpy: boolean };
  problem: string | null;
}

function probePython(python: string): PythonProbe {
  const code = 'import importlib.util, json; print(json.dumps({m: importlib.util.find_spec(m) is not None for m in ("torch", "numpy")}))';
  const run = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : (run.stderr || `exit code ${run.status}`).trim().split('\n').pop();
    return { present: { torch: false, numpy: false }, problem: `${python} cannot be run (${why})` };
  }
  try {
    const present = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as PythonProbe['present'];
    return { present, problem: null };
  } catch {
    return { present: { torch: false, numpy: false }, problem: `${python} did not answer the probe: ${run.stdout.slice(0, 200)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// The run

interface EngineResult {
  spec: EngineSpec;
  info: Record<string, unknown> | null;
  /** Why the engine stopped, when it did (it drops out of the remaining rounds). */
  failed: string | null;
  timings: Partial<Record<CaseName, number[]>>;
  weights: Partial<Record<CaseName, WeightsCheck>>;
  checksums: Checksums | null;
}


function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(70)}\r`);
}

async function startEngines(settings: Settings, notes: string[]): Promise<{ live: EngineProcess[]; results: EngineResult[] }> {
  let specs = ENGINES(settings.threads);
  if (settings.engineIds) specs = specs.filter((s) => settings.engineIds!.includes(s.id));
  if (specs.some((s) => s.python)) {
    const probe = probePython(settings.python);
    const missing = (['torch', 'numpy'] as const).filter((lib) => specs.some((s) => s.python === lib) && !probe.present[lib]);
    if (probe.problem) {
      notes.push(`Python peers skipped: ${probe.problem}. Set BENCH_PYTHON to a Python 3 with torch and numpy (Debian: ${INSTALL_PEERS}).`);
    } else if (missing.length > 0) {
      notes.push(
        `${missing.map((m) => (m === 'torch' ? 'PyTorch' : 'numpy')).join(' and ')} not installed for ${settings.python}: ` +
          `skipping those engines (Debian: ${INSTALL_PEERS}; or set BENCH_PYTHON).`,
      );
    }
    specs = specs.filter((s) => !s.python || (!probe.problem && probe.present[s.python]));
  }

  const live: EngineProcess[] = [];
  const results: EngineResult[] = [];
  for (const spec of specs) {
    progress(`starting ${spec.label}`);
    const engine = new EngineProcess(spec, settings);
    const result: EngineResult = { spec, info: null, failed: null, timings: {}, weights: {}, checksums: null };
    try {
      await engine.ready();
      result.info = await engine.request({ cmd: 'info' });
      live.push(engine);
      results.push(result);
    } catch (e) {
      notes.push(`${spec.label} did not start: ${firstLine(e)}`);
      await engine.close();
    }
  }
  return { live, results };
}

interface RoundRecord {
  /** Engine ids in the order they ran. */
  order: string[];
  /** Cores other processes used meanwhile (null where /proc cannot tell). */
  background: number | null;
  /** Whether other processes took more than BACKGROUND_LIMIT cores meanwhile. */
  disturbed: boolean;
  /** False for a disturbed round that was run again. */
  kept: boolean;
}

/** CPU time (ns) used so far by every thread of these processes; null where /proc cannot tell. */
function cpuNanoseconds(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return null;
    }
    for (const task of tasks) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  }
  return total;
}

/** Busy CPU time of the whole machine (ns) from /proc/stat (in USER_HZ ticks, 100 on Linux); null elsewhere. */
function machineBusyNanoseconds(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
    return ((user + nice + system + irq + softirq) * 1e9) / 100;
  } catch {
    return null;
  }
}

/** CPU used by processes other than this one and its engines, in cores, averaged over a span. */
class BackgroundLoad {
  private readonly pids: number[];
  private readonly start: { busy: number; ours: number } | null;
  private readonly wallStart: number;

  constructor(pids: number[]) {
    this.pids = pids;
    this.start = this.sample();
    this.wallStart = performance.now();
  }

  private sample(): { busy: number; ours: number } | null {
    const busy = machineBusyNanoseconds();
    const engines = cpuNanoseconds(this.pids);
    if (busy === null || engines === null) return null;
    const self = process.cpuUsage();
    return { busy, ours: engines + (self.user + self.system) * 1e3 };
  }

  /** Null where /proc cannot tell, or an engine exited meanwhile (its time would count as foreign). */
  measure(): { cores: number; cpuMs: number } | null {
    const end = this.sample();
    if (!this.start || !end) return null;
    const foreign = Math.max(0, end.busy - this.start.busy - (end.ours - this.start.ours));
    return { cores: foreign / ((performance.now() - this.wallStart) * 1e6), cpuMs: foreign / 1e6 };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Waits until no engine is using the CPU. OpenBLAS's pthreads keep spinning about 100 ms after a
 * product (measured: a whole core), so the engine after PyTorch or numpy would otherwise run
 * on one core fewer. A training loop reuses those spinning threads for its next step; timing
 * each engine on an idle machine is the fair comparison.
 */
async function settle(engines: EngineProcess[]): Promise<void> {
  const pids = engines.map((e) => e.pid).filter((p): p is number => p !== undefined);
  let before = cpuNanoseconds(pids);
  if (before === null) {
    await sleep(SETTLE_FALLBACK_MS);
    return;
  }
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  while (performance.now() < deadline) {
    await sleep(SETTLE_WINDOW_MS);
    const now = cpuNanoseconds(pids);
    if (now === null) return;
    if (now - before < SETTLE_WINDOW_MS * 1e6 * 0.1) return;
    before = now;
  }
}

async function runAll(
  settings: Settings,
  live: EngineProcess[],
  results: EngineResult[],
): Promise<RoundRecord[]> {
  const resultOf = (e: EngineProcess): EngineResult => results.find((r) => r.spec === e.spec)!;
  const fail = async (e: EngineProcess, error: unknown): Promise<void> => {
    resultOf(e).failed = firstLine(error);
    await e.close();
  };
  const running = (): EngineProcess[] => live.filter((e) => !resultOf(e).failed);

  for (const engine of running()) {
    for (const c of settings.cases) {
      progress(`setting up ${c} on ${engine.spec.label}`);
      try {
        await engine.request({ cmd: 'setup', case: c, warmup: WARMUP });
      } catch (e) {
        await fail(engine, e);
        break;
      }
    }
  }

  // A round during which other processes took more than BACKGROUND_LIMIT cores is thrown away
  // and run again, up to `rounds` times in all; after that disturbed rounds are kept, and the
  // report warns.
  const rounds: RoundRecord[] = [];
  let redone = 0;
  while (rounds.filter((r) => r.kept).length < settings.rounds) {
    const kept = rounds.filter((r) => r.kept).length;
    progress(`round ${kept + 1}/${settings.rounds}${redone ? ` (${redone} disturbed, run again)` : ''}`);
    const engines = running();
    if (engines.length === 0) break;
    const shift = rounds.length % engines.length;
    const rotated = [...engines.slice(shift), ...engines.slice(0, shift)];
    const load = new BackgroundLoad(engines.flatMap((e) => (e.pid === undefined ? [] : [e.pid])));
    const timings: { engine: EngineProcess; c: CaseName; ms: number }[] = [];
    for (const c of settings.cases) {
      for (const engine of rotated) {
        if (resultOf(engine).failed) continue;
        if (process.env.BENCH_SETTLE !== '0') await settle(running());
        try {
          const { ms } = (await engine.request({ cmd: 'time', case: c, repeat: settings.repeat })) as Reply & { ms: number };
          timings.push({ engine, c, ms });
        } catch (e) {
          await fail(engine, e);
        }
      }
    }
    const measured = load.measure();
    const background = measured?.cores ?? null;
    // /proc/stat counts in 10 ms ticks: a couple of stray ticks must not condemn a short round.
    const disturbed = measured !== null && measured.cores > BACKGROUND_LIMIT && measured.cpuMs > 30;
    const keep = !disturbed || redone >= settings.rounds;
    if (!keep) redone++;
    else for (const t of timings) (resultOf(t.engine).timings[t.c] ??= []).push(t.ms);
    rounds.push({ order: rotated.map((e) => e.spec.id), background, disturbed, kept: keep });
  }

  for (const engine of running()) {
    progress(`checking ${engine.spec.label}`);
    const result = resultOf(engine);
    try {
      for (const c of settings.cases) {
        if (c.startsWith('cd1-')) result.weights[c] = (await engine.request({ cmd: 'check', case: c })) as Reply & WeightsCheck;
        await engine.request({ cmd: 'dispose', case: c });
      }
      result.checksums = (await engine.request({ cmd: 'verify' })) as Reply & Checksums;
    } catch (e) {
      await fail(engine, e);
    }
  }
  await Promise.all(live.map((e) => e.close()));
  progress('');
  return rounds;
}

/** The checked product in float64, as the engines' checksums are. */
function referenceChecksums(): Checksums {
  const a = new Float64Array(CHECK_ROWS * CHECK_INNER);
  const b = new Float64Array(CHECK_INNER * CHECK_COLS);
  // Rounded to float32 first: the engines multiply float32 operands.
  for (let i = 0; i < CHECK_ROWS; i++) for (let k = 0; k < CHECK_INNER; k++) a[i * CHECK_INNER + k] = Math.fround(operandA(i, k));
  for (let k = 0; k < CHECK_INNER; k++) for (let j = 0; j < CHECK_COLS; j++) b[k * CHECK_COLS + j] = Math.fround(operandB(k, j));
  const c = new Float64Array(CHECK_ROWS * CHECK_COLS);
  for (let i = 0; i < CHECK_ROWS; i++) {
    for (let k = 0; k < CHECK_INNER; k++) {
      const x = a[i * CHECK_INNER + k]!;
      const row = i * CHECK_COLS;
      const offset = k * CHECK_COLS;
      for (let j = 0; j < CHECK_COLS; j++) c[row + j]! += x * b[offset + j]!;
    }
  }
  return productChecksums(c);
}

/**
 * The largest of the checksums' relative errors. Each is scaled by what float32 rounding cannot
 * approach but any wrong element reaches: the sum of squares by itself; the weighted sum and the
 * sampled elements by the root mean square element (times √Σw² for the weighted sum).
 */
function checksumError(got: Checksums, ref: Checksums): number {
  let sumW2 = 0;
  for (let i = 0; i < CHECK_ROWS; i++) for (let j = 0; j < CHECK_COLS; j++) sumW2 += checkWeight(i, j) ** 2;
  const rms = Math.sqrt(ref.sumSquares / (CHECK_ROWS * CHECK_COLS));
  const errors = [
    Math.abs(got.sumSquares - ref.sumSquares) / ref.sumSquares,
    Math.abs(got.weighted - ref.weighted) / (rms * Math.sqrt(sumW2)),
    ...ref.samples.map((x, t) => Math.abs((got.samples?.[t] ?? NaN) - x) / rms),
  ];
  return errors.every(Number.isFinite) ? Math.max(...errors) : Infinity;
}

// ---------------------------------------------------------------------------------------------
// The report

interface Table {
  title: string;
  head: string[];
  rows: string[][];
  /** Columns aligned right (numbers). */
  right: boolean[];
  notes: string[];
}

function renderTable(t: Table, markdown: boolean): string {
  if (markdown) {
    const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
    const rule = `|${t.right.map((r) => (r ? ' ---: ' : ' --- ')).join('|')}|`;
    return [`**${t.title}**`, '', line(t.head), rule, ...t.rows.map(line), '', ...t.notes.map((n) => `${n}  `)].join('\n');
  }
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (t.right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [t.title, line(t.head), widths.map((w) => '-'.repeat(w)).join('   '), ...t.rows.map(line), ...t.notes.map((n) => `  ${n}`)].join('\n');
}

const CASE_TITLES: Record<CaseName, string> = {
  'cd1-100': 'CD-1 step, batch 100 (784 visible x 500 hidden, binary units, SGD)',
  'cd1-256': 'CD-1 step, batch 256 (784 visible x 500 hidden, binary units, SGD)',
  'product-256': 'Product [256,784]·[784,500] (2·256·784·500 = 200.7 MFLOP)',
};

const fmt = (x: number, digits = 1): string => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));
const ratio = (x: number): string => `${x.toFixed(2)}x`;

interface Summary {
  medians: Partial<Record<CaseName, Record<string, { ms: number; p25: number; p75: number; gflops?: number; rounds: number }>>>;
  checksumErrors: Record<string, number | null>;
  /** Per CD case: ‖W_T − W_0‖ of each engine relative to the median of all engines (0 = equal). */
  movedDeviation: Partial<Record<CaseName, Record<string, number>>>;
  targets: { target: string; status: 'pass' | 'miss' | 'n/a'; value: string }[];
}

function summarise(settings: Settings, results: EngineResult[], reference: Checksums): Summary {
  const medians: Summary['medians'] = {};
  for (const c of settings.cases) {
    const perEngine: NonNullable<Summary['medians'][CaseName]> = {};
    for (const r of results) {
      const t = r.timings[c];
      if (!t?.length) continue;
      const ms = median(t);
      perEngine[r.spec.id] = {
        ms,
        p25: quantile(t, 0.25),
        p75: quantile(t, 0.75),
        rounds: t.length,
        ...(c.startsWith('product') ? { gflops: PRODUCT_FLOPS / (ms * 1e6) } : {}),
      };
    }
    medians[c] = perEngine;
  }

  const checksumErrors = Object.fromEntries(results.map((r) => [r.spec.id, r.checksums ? checksumError(r.checksums, reference) : null]));

  const movedDeviation: Summary['movedDeviation'] = {};
  for (const c of settings.cases.filter((c) => c.startsWith('cd1-'))) {
    const checks = results.flatMap((r) => (r.weights[c]?.finite ? [{ id: r.spec.id, ...r.weights[c] }] : []));
    // Only engines that took the same number of steps are comparable (a failed one took fewer).
    const steps = median(checks.map((x) => x.steps));
    const comparable = checks.filter((x) => x.steps === steps);
    if (comparable.length < 2) continue;
    const mid = median(comparable.map((x) => x.moved));
    movedDeviation[c] = Object.fromEntries(comparable.map((x) => [x.id, x.moved / mid - 1]));
  }

  const targets: Summary['targets'] = [];
  const ours = results.find((r) => r.spec.id === OURS);
  const oursLabel = ours?.spec.label ?? 'helmholtz wasm, all cores';
  const healthy = (c: CaseName): string | null => {
    if (!settings.cases.includes(c)) return `${c} not run (BENCH_CASES)`;
    if (!ours) return `${oursLabel} not run`;
    if (!medians[c]?.[OURS]) return `${oursLabel} has no timings${ours.failed ? ` (${ours.failed})` : ''}`;
    if (c.startsWith('cd1-') && ours.weights[c]?.finite === false) return 'its weights are not finite';
    return null;
  };
  for (const c of ['cd1-100', 'cd1-256'] as const) {
    for (const [peer, bound, name] of [
      [PEER_ONE, 2, 'PyTorch 1 thread'],
      [PEER_DEFAULT, 2.5, 'PyTorch default threads'],
    ] as const) {
      const target = `CD-1 step at batch ${c.slice(4)} within ${bound}x of ${name}`;
      const problem = healthy(c);
      const peerMs = medians[c]?.[peer]?.ms;
      if (problem && !problem.startsWith('its weights')) targets.push({ target, status: 'n/a', value: problem });
      else if (problem) targets.push({ target, status: 'miss', value: problem });
      else if (peerMs === undefined) targets.push({ target, status: 'n/a', value: `${name} not run` });
      else {
        const x = medians[c]![OURS]!.ms / peerMs;
        targets.push({ target, status: x <= bound ? 'pass' : 'miss', value: ratio(x) });
      }
    }
  }
  {
    const target = 'product [256,784]·[784,500] at 35 GFLOP/s or more';
    const problem = healthy('product-256');
    const gflops = medians['product-256']?.[OURS]?.gflops;
    const wrong = (checksumErrors[OURS] ?? 0) > CHECKSUM_TOLERANCE;
    if (problem || gflops === undefined) targets.push({ target, status: 'n/a', value: problem ?? 'no timings' });
    else if (wrong) targets.push({ target, status: 'miss', value: 'its product disagrees with the reference' });
    else targets.push({ target, status: gflops >= 35 ? 'pass' : 'miss', value: `${gflops.toFixed(1)} GFLOP/s` });
  }
  return { medians, checksumErrors, movedDeviation, targets };
}

interface LoadSummary {
  /** Mean cores used by other processes over the rounds kept; null where unknown. */
  mean: number | null;
  redone: number;
  disturbedKept: number;
}

function loadSummary(rounds: RoundRecord[]): LoadSummary {
  const kept = rounds.filter((r) => r.kept);
  const known = kept.flatMap((r) => (r.background === null ? [] : [r.background]));
  return {
    mean: known.length ? known.reduce((a, b) => a + b, 0) / known.length : null,
    redone: rounds.length - kept.length,
    disturbedKept: kept.filter((r) => r.disturbed).length,
  };
}

function threadsLine(r: EngineResult): string {
  const info = r.info ?? {};
  const backend = info.backend as { name?: string; threadsAsked?: number | null; threads?: { count: number | null; note: string } | null } | undefined;
  if (backend) {
    const parts = [`tfjs backend ${backend.name}`];
    if (backend.threads) parts.push(`threads ${backend.threads.count ?? '?'} (${backend.threads.note})`);
    else parts.push(`XNNPACK threads ${String(info.wasmThreadsCount ?? '?')}`);
    const count = backend.threads?.count;
    if (backend.threadsAsked && count != null && count < backend.threadsAsked) {
      parts.push(`ASKED FOR ${backend.threadsAsked}: runs on ${count}`);
    }
    return parts.join(', ');
  }
  const versions = Object.entries((info.versions ?? {}) as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`);
  const env = Object.entries((info.env ?? {}) as Record<string, string | null>)
    .filter(([, v]) => v != null)
    .map(([k, v]) => `${k}=${v}`);
  const blas = Array.isArray(info.blas)
    ? (info.blas as Record<string, unknown>[])
        .map((b) => `${String(b.internal_api)}${b.version ? ` ${String(b.version)}` : ''} ${String(b.num_threads)} thread(s)`)
        .join(', ') || 'threadpoolctl sees no BLAS or OpenMP library'
    : String(info.blas ?? '');
  return [...versions, env.length ? env.join(' ') : 'thread variables unset', `threadpoolctl: ${blas}`].join('; ');
}

function report(
  settings: Settings,
  machine: Machine,
  results: EngineResult[],
  summary: Summary,
  notes: string[],
  printedByEngines: string[],
  load: LoadSummary,
): { text: string; checksPass: boolean } {
  const md = settings.markdown;
  const out: string[] = [];
  const node = results.find((r) => r.info?.backend);
  const nodeVersions = (node?.info?.versions ?? {}) as Record<string, string | null>;
  const python = results.find((r) => r.spec.python);
  const pythonVersions = Object.assign(
    {},
    ...results.filter((r) => r.spec.python).map((r) => (r.info?.versions ?? {}) as Record<string, unknown>),
  ) as Record<string, unknown>;
  const pkg = machine.packages;
  const header: [string, string][] = [
    ['machine', `${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB, ${machine.os}`],
    [
      'load',
      `load average ${machine.loadAverage.join(' ')} at the start; ` +
        (load.mean === null
          ? 'load from other processes during the rounds unknown (no /proc, or an engine exited)'
          : `other processes used ${load.mean.toFixed(2)} cores on average during the rounds kept`) +
        (load.redone ? `; ${load.redone} disturbed round${load.redone > 1 ? 's' : ''} run again` : ''),
    ],
    [
      'node',
      `${machine.node}; tfjs-core ${nodeVersions['tfjs-core'] ?? pkg['@tensorflow/tfjs-core'] ?? '?'}, ` +
        `tfjs-backend-wasm ${nodeVersions['tfjs-backend-wasm'] ?? pkg['@tensorflow/tfjs-backend-wasm'] ?? '?'}, ` +
        `@helmholtz/core ${pkg['@helmholtz/core'] ?? '?'}, @helmholtz/backends ${pkg['@helmholtz/backends'] ?? '?'}`,
    ],
    [
      'python',
      python
        ? `${settings.python}: ${String(python.info?.runtime ?? '?')}` +
          ('torch' in pythonVersions ? `, torch ${String(pythonVersions.torch)}` : '') +
          ('numpy' in pythonVersions ? `, numpy ${String(pythonVersions.numpy)}` : '')
        : 'no Python peer ran',
    ],
    ['date', machine.date],
    [
      'method',
      `${settings.rounds} rounds; each round times every engine once per case (${settings.repeat} back-to-back runs, as in training; the mean of them), engine order rotating; ` +
        `${WARMUP} warm-up runs; a round during which other processes used more than ${BACKGROUND_LIMIT} cores is run again; medians`,
    ],
  ];
  const title = 'Helmholtz side-by-side benchmark (issue 9: a faster Node engine)';
  if (md) {
    out.push(`### ${title}`, '', ...header.map(([k, v]) => `- ${k}: ${v}`), '- engines:');
    for (const r of results) out.push(`  - ${r.spec.label} (\`${r.spec.id}\`): ${threadsLine(r)}`);
  } else {
    out.push(title, '', ...header.map(([k, v]) => `${k.padEnd(8)} ${v}`), 'engines');
    for (const r of results) out.push(`  ${r.spec.label} [${r.spec.id}]: ${threadsLine(r)}`);
  }
  for (const n of notes) out.push(md ? `- note: ${n}` : `note: ${n}`);
  out.push('');

  const has = (id: string): boolean => results.some((r) => r.spec.id === id);
  for (const c of settings.cases) {
    const medians = summary.medians[c] ?? {};
    const product = c.startsWith('product');
    const peers = ([PEER_ONE, PEER_DEFAULT] as const).filter(has);
    const head = ['engine', 'median ms', 'p25–p75 ms', ...(product ? ['GFLOP/s'] : [])];
    head.push(...peers.map((p) => (p === PEER_ONE ? 'vs PyTorch 1 thread' : 'vs PyTorch default')));
    const rows: string[][] = [];
    const tableNotes: string[] = [];
    for (const r of results) {
      const m = medians[r.spec.id];
      if (!m) {
        rows.push([r.spec.label, r.failed ? 'failed' : '–', '', ...(product ? [''] : []), ...peers.map(() => '')]);
        if (r.failed) tableNotes.push(`${r.spec.label}: ${r.failed}`);
        continue;
      }
      const flag = r.weights[c]?.finite === false ? ' (weights NaN!)' : '';
      const row = [`${r.spec.label}${flag}`, fmt(m.ms, 2), `${fmt(m.p25, 2)}–${fmt(m.p75, 2)}`];
      if (product) row.push(m.gflops!.toFixed(1));
      for (const p of peers) {
        const peer = medians[p];
        row.push(peer ? ratio(m.ms / peer.ms) : '–');
      }
      if (r.failed) tableNotes.push(`${r.spec.label} stopped after ${m.rounds} rounds: ${r.failed}`);
      rows.push(row);
    }
    if (peers.length) tableNotes.push('ratio = engine time / PyTorch time (below 1: faster than PyTorch)');
    out.push(renderTable({ title: CASE_TITLES[c], head, rows, right: head.map((_, i) => i > 0), notes: tableNotes }, md), '');
  }

  const oursLabel = results.find((r) => r.spec.id === OURS)?.spec.label ?? 'helmholtz wasm, all cores';
  out.push(md ? `**Targets of issue 9** (ours: ${oursLabel})` : `Targets of issue 9 (ours: ${oursLabel})`, '');
  for (const t of summary.targets) {
    const status = t.status.toUpperCase().padEnd(4);
    out.push(md ? `- ${status} ${t.target}: ${t.value}` : `  ${status}  ${t.target}: ${t.value}`);
  }
  out.push('');

  // Sanity: a step that produced NaN, or a product that is wrong, must not pass as fast.
  const cdCases = settings.cases.filter((c) => c.startsWith('cd1-'));
  const checkHead = ['engine', 'product vs float64', ...cdCases.map((c) => `‖W_T−W_0‖ ${c}`), 'verdict'];
  const checkRows: string[][] = [];
  let allGood = true;
  for (const r of results) {
    const problems: string[] = [];
    const err = summary.checksumErrors[r.spec.id];
    const productCell = err == null ? '–' : err.toExponential(1);
    if (err == null && !r.failed) problems.push('no checksum');
    if (err != null && err > CHECKSUM_TOLERANCE) problems.push('product wrong');
    const cells = cdCases.map((c) => {
      const w = r.weights[c];
      if (!w) return '–';
      if (!w.finite) {
        problems.push(`${c} weights not finite`);
        return 'NaN/Inf';
      }
      const dev = summary.movedDeviation[c]?.[r.spec.id];
      if (dev !== undefined && Math.abs(dev) > MOVED_TOLERANCE) problems.push(`${c} moved ${ratio(1 + dev)} the median`);
      return `${w.moved.toFixed(4)}${dev === undefined ? '' : ` (${dev >= 0 ? '+' : ''}${(dev * 100).toFixed(1)}%)`}`;
    });
    if (problems.length) allGood = false;
    if (r.failed) problems.push(`failed: ${r.failed}`);
    checkRows.push([r.spec.label, productCell, ...cells, problems.length ? problems.join('; ') : 'ok']);
  }
  const steps = results.map((r) => r.weights[cdCases[0]!]?.steps).find((s) => s !== undefined);
  out.push(
    renderTable(
      {
        title: 'Checks',
        head: checkHead,
        rows: checkRows,
        right: checkHead.map((_, i) => i > 0 && i < checkHead.length - 1),
        notes: [
          `product vs float64: relative error of checksums of [256,784]·[784,500] on operands sin(7i+3k)/8, cos(5k+11j)/8 (must be ≤ ${CHECKSUM_TOLERANCE})`,
          ...(cdCases.length
            ? [
                `‖W_T−W_0‖: how far the weights moved in the ${steps ?? '?'} steps each engine took, vs the median of all engines ` +
                  `(every correct CD-1 step gives the same in expectation; must be within ${MOVED_TOLERANCE * 100}%); weights must stay finite`,
              ]
            : []),
          allGood
            ? 'all checks pass'
            : 'SOME CHECKS FAIL: the timings of those engines do not measure the step described (exit code 1)',
        ],
      },
      md,
    ),
  );

  if (printedByEngines.length) {
    out.push('', md ? '<details><summary>What the engines printed</summary>\n\n```' : 'What the engines printed (stdout and stderr):');
    out.push(...printedByEngines);
    if (md) out.push('```\n</details>');
  }
  return { text: out.join('\n'), checksPass: allGood };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const machine = describeMachine();
  const notes: string[] = [];
  const { live, results } = await startEngines(settings, notes);
  const cleanup = (): void => {
    for (const e of live) void e.close();
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const rounds = await runAll(settings, live, results);
  const reference = referenceChecksums();
  const summary = summarise(settings, results, reference);

  // Repeated lines (a notice per kernel, say) are shown once with a count.
  const printed: string[] = [];
  for (const engine of live) {
    const counts = new Map<string, number>();
    for (const line of engine.printed) counts.set(line, (counts.get(line) ?? 0) + 1);
    for (const [line, n] of counts) printed.push(`[${engine.spec.id}] ${line.slice(0, 300)}${n > 1 ? ` (x${n})` : ''}`);
  }
  const load = loadSummary(rounds);
  if (load.disturbedKept > 0) {
    notes.push(
      `${load.disturbedKept} of the ${settings.rounds} rounds kept were disturbed by other processes (more than ${BACKGROUND_LIMIT} cores; ` +
        'the re-runs were used up): the timings are unreliable; rerun on a quiet machine before quoting them.',
    );
  }
  const { text, checksPass } = report(settings, machine, results, summary, notes, printed, load);
  console.log(text);
  // A failed check means some figure above is not what it claims to be: scripts should notice.
  if (!checksPass) process.exitCode = 1;

  if (settings.jsonFile) {
    const json = {
      machine,
      settings: { rounds: settings.rounds, warmup: WARMUP, cases: settings.cases, python: settings.python, threads: settings.threads },
      notes,
      engines: results.map((r) => ({ id: r.spec.id, label: r.spec.label, info: r.info, failed: r.failed })),
      rounds,
      timings: Object.fromEntries(settings.cases.map((c) => [c, Object.fromEntries(results.map((r) => [r.spec.id, r.timings[c] ?? []]))])),
      medians: summary.medians,
      checks: {
        reference,
        checksums: Object.fromEntries(results.map((r) => [r.spec.id, r.checksums])),
        checksumErrors: summary.checksumErrors,
        weights: Object.fromEntries(results.map((r) => [r.spec.id, r.weights])),
        movedDeviation: summary.movedDeviation,
      },
      targets: summary.targets,
      printed,
    };
    writeFileSync(settings.jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nraw timings and medians written to ${settings.jsonFile}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
