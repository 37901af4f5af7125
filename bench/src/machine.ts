// The machine a benchmark ran on, for the header of its report: figures mean little without it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';

export interface Machine {
  cpu: string;
  logicalCores: number;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverage: number[];
  date: string;
  /** Versions of the workspace packages as the bench package resolves them. */
  packages: Record<string, string | null>;
}

function osName(): string {
  let pretty = '';
  try {
    pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // Not Linux, or a distribution without os-release: the kernel line below still says enough.
  }
  const kernel = `${os.type()} ${os.release()} ${os.arch()}`;
  return pretty ? `${pretty} (${kernel})` : kernel;
}

function cpuModel(): string {
  const models = [...new Set(os.cpus().map((c) => c.model.trim()))];
  return models.join(' + ') || 'unknown';
}

// package.json is read from the file system because export maps need not expose it: walk up
// from the resolved entry to the first package.json that bears the name (workspace packages
// resolve to their real path, outside node_modules).
function versionOf(name: string): string | null {
  const require = createRequire(import.meta.url);
  try {
    let dir = dirname(require.resolve(name));
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        // No package.json at this level: keep climbing.
      }
      const up = dirname(dir);
      if (up === dir) return null;
      dir = up;
    }
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    logicalCores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    node: process.version,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
    packages: Object.fromEntries(
      ['@helmholtz/core', '@helmholtz/backends', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'].map((n) => [n, versionOf(n)]),
    ),
  };
}
