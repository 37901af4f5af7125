/**
 * What the energy benchmarks share: engines as child processes that answer JSON lines on fd 3,
 * the CPU time other programs take meanwhile, settings from the environment, and tables in
 * text or Markdown. The engines' protocol is the one of ../engine.ts (see ../../README.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ConfigError } from '@helmholtz/core';

// ---------------------------------------------------------------------------------------------
// Settings from the environment

/** A positive integer from `process.env[name]`, or `fallback` when unset; anything else is a ConfigError. */
export function envInteger(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, `an integer >= ${min}`, raw);
  return n;
}

/** A finite number > 0 from the environment. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(name, 'a finite number > 0', raw);
  return n;
}

/** A comma list whose items must be among `allowed`; null when unset. */
export function envList(name: string, allowed: readonly string[]): string[] | null {
  const raw = process.env[name]?.trim();
  if (!raw) return null;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((i) => !allowed.includes(i));
  if (unknown.length > 0) throw new ConfigError(name, `a comma list of ${allowed.join(', ')} (unknown: ${unknown.join(', ')})`, raw);
  return items;
}

// ---------------------------------------------------------------------------------------------
// Engines

export type Reply = { ok: true } & Record<string, unknown>;

export interface EngineLaunch {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * A long-lived child process answering one JSON command at a time on fd 3; stdout and stderr
 * are kept (the last 200 lines) to show after the report.
 */
export class EngineProcess {
  readonly printed: string[] = [];
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  private exit: string | null = null;

  constructor(
    readonly label: string,
    launch: EngineLaunch,
    private readonly timeoutMs: number,
  ) {
    this.child = spawn(launch.file, launch.args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: launch.env, cwd: launch.cwd });
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
    this.child.stdin?.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  private ended(why: string): void {
    this.exit ??= why;
    this.wake?.();
  }

  private tail(): string {
    const last = this.printed.slice(-8);
    return last.length ? `; it printed:\n    ${last.join('\n    ')}` : '';
  }

  private async nextLine(): Promise<string> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.exit) throw new Error(`${this.label} ${this.exit}${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label} did not answer within ${this.timeoutMs / 1000} s${this.tail()}`);
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

  private async read(): Promise<Reply> {
    const line = await this.nextLine();
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${this.label} answered something that is not JSON: ${line.slice(0, 200)}`);
    }
    if (message.ok !== true) throw new Error(String(message.error ?? 'failed without saying why').trim());
    return message as Reply;
  }

  /** The first reply, `{ ok: true, ready: true }`, once the engine has loaded its libraries. */
  ready(): Promise<Reply> {
    return this.read();
  }

  request(command: Record<string, unknown>): Promise<Reply> {
    if (this.exit) return Promise.reject(new Error(`${this.label} ${this.exit}${this.tail()}`));
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
    return this.read();
  }

  async close(): Promise<void> {
    if (!this.exit) {
      try {
        await this.request({ cmd: 'quit' });
      } catch {
        // Exiting is what was asked for.
      }
    }
    if (!this.exit && this.child.exitCode === null) this.child.kill();
  }
}

export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

/** Progress on stderr, overwritten in place on a terminal, one line each otherwise (CI logs). */
export function progress(text: string): void {
  if (!text) {
    if (process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(78)}\r`);
    return;
  }
  if (process.stderr.isTTY) process.stderr.write(`\r${text.slice(0, 78).padEnd(78)}\r`);
  else process.stderr.write(`${text}\n`);
}

// ---------------------------------------------------------------------------------------------
// Load from other programs

/** CPU time (ns) of these processes, all threads, from /proc; null where /proc cannot tell. */
export function processNanoseconds(pids: number[]): number | null {
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
        // A thread that ended between the listing and the read.
      }
    }
  }
  return total;
}

/** Busy time of the whole machine (ns), from /proc/stat's ticks (USER_HZ = 100). */
function machineNanoseconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return ((user + nice + system + irq + softirq + steal) * 1e9) / 100;
  } catch {
    return null;
  }
}

/**
 * The cores that programs other than this harness and `pids` kept busy over a span: the
 * caveat every timing on a shared machine needs. Null off Linux.
 */
export class ForeignLoad {
  private readonly start: { busy: number; ours: number } | null;
  private readonly t0 = performance.now();

  constructor(private readonly pids: number[]) {
    this.start = this.sample();
  }

  private sample(): { busy: number; ours: number } | null {
    const busy = machineNanoseconds();
    const engines = processNanoseconds(this.pids);
    if (busy === null || engines === null) return null;
    const self = process.cpuUsage();
    return { busy, ours: engines + (self.user + self.system) * 1e3 };
  }

  /** Mean cores used by others since construction. */
  cores(): number | null {
    const end = this.sample();
    if (!this.start || !end) return null;
    const foreign = Math.max(0, end.busy - this.start.busy - (end.ours - this.start.ours));
    return foreign / ((performance.now() - this.t0) * 1e6);
  }
}

// ---------------------------------------------------------------------------------------------
// Versions and tables

/** The version of an installed package, read from its package.json (walking up from its entry); null if absent. */
export function packageVersion(name: string, from: string = import.meta.url): string | null {
  const require = createRequire(from);
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return null;
  }
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? null;
    } catch {
      // No package.json at this level.
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  /** Right-aligned columns (numbers). */
  right: boolean[];
  notes?: string[];
}

export function renderTable(t: Table, markdown: boolean): string {
  const notes = t.notes ?? [];
  if (markdown) {
    const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
    const rule = `|${t.right.map((r) => (r ? ' ---: ' : ' --- ')).join('|')}|`;
    return [`**${t.title}**`, '', line(t.head), rule, ...t.rows.map(line), '', ...notes.map((n) => `${n}  `)].join('\n');
  }
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (t.right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('   ').trimEnd();
  return [t.title, line(t.head), widths.map((w) => '-'.repeat(w)).join('   '), ...t.rows.map(line), ...notes.map((n) => `  ${n}`)].join('\n');
}

/** Seconds as the reports print them: 3 significant digits, at most 2 decimals. */
export function seconds(s: number): string {
  if (s >= 100) return s.toFixed(0);
  if (s >= 10) return s.toFixed(1);
  return s.toFixed(2);
}
