#!/usr/bin/env node
// Size budgets for the packages' browser entries: `pnpm size`.
//
// The budgets live in .size-limit.json, in size-limit's own format, so `size-limit` reads the
// same file where it runs. It does not run here: size-limit 14 needs Node >= 22.19
// (fs/promises glob, Array.fromAsync) and the project supports Node 20. This script measures
// the same way with the esbuild the workspace already has: bundle each entry for the browser
// with every export kept, minify, leave out the `ignore` packages, gzip at level 9, and subtract
// what an empty module costs under the same settings, so an entry with no code measures 0 B.
//
//   node scripts/size-report.mjs                 check every budget; exit 1 if one is exceeded
//   node scripts/size-report.mjs --json          the figures as JSON on stdout
//   node scripts/size-report.mjs --config FILE   another config (same format)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EMPTY = 'size-report:empty';

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { config: resolve(ROOT, '.size-limit.json'), json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--config' && argv[i + 1]) args.config = resolve(argv[++i]);
    else throw new UsageError(`unknown argument "${a}"; expected --json or --config FILE`);
  }
  return args;
}

// size-limit's units: kB is 1000 bytes, KiB 1024.
function parseLimit(text) {
  const m = /^(\d+(?:\.\d+)?) *(?:([kmg])?(i)?b)$/i.exec(String(text).trim());
  if (!m) return null;
  const power = m[2] ? 'kmg'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * (m[3] ? 1024 : 1000) ** power);
}

function formatBytes(n) {
  return n < 1000 ? `${n} B` : `${(n / 1000).toFixed(2)} kB`;
}

function readChecks(configPath) {
  if (!existsSync(configPath)) throw new UsageError(`no config at ${configPath}`);
  const checks = JSON.parse(readFileSync(configPath, 'utf8'));
  if (!Array.isArray(checks) || checks.length === 0) {
    throw new UsageError(`${configPath}: expected a non-empty array of checks`);
  }
  const base = dirname(configPath);
  return checks.map((c, i) => {
    const where = `${configPath}, check ${i} (${c.name ?? 'unnamed'})`;
    // Only the subset of size-limit's options whose meaning this script reproduces: anything
    // else would be silently measured differently from what the config says.
    const known = new Set(['name', 'path', 'import', 'ignore', 'limit', 'gzip']);
    const unknown = Object.keys(c).filter((k) => !known.has(k));
    if (unknown.length) {
      throw new UsageError(`${where}: options ${unknown.join(', ')} are not supported here; use ${[...known].join(', ')}`);
    }
    if (typeof c.path !== 'string' || /[*?[\]{}!]/.test(c.path)) {
      throw new UsageError(`${where}: "path" must be one file, no glob; got ${JSON.stringify(c.path)}`);
    }
    if (c.gzip !== true) throw new UsageError(`${where}: set "gzip": true; budgets here are minified + gzipped`);
    if (c.import !== undefined && c.import !== '*') {
      throw new UsageError(`${where}: "import" must be "*" (the whole public surface) or absent`);
    }
    const limit = parseLimit(c.limit);
    if (limit === null) throw new UsageError(`${where}: "limit" must read like "12.5 kB"; got ${JSON.stringify(c.limit)}`);
    return { name: c.name ?? c.path, file: resolve(base, c.path), ignore: c.ignore ?? [], limit };
  });
}

// Every export stays (`import *` then use it), as when an application imports the whole surface.
async function gzippedBundle(entryContents, ignore) {
  const result = await esbuild.build({
    stdin: { contents: entryContents, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    minify: true,
    treeShaking: true,
    external: ignore,
    logLevel: 'silent',
    plugins: [
      {
        name: 'empty-module',
        setup(build) {
          build.onResolve({ filter: /^size-report:empty$/ }, () => ({ path: EMPTY, namespace: 'empty' }));
          build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
        },
      },
    ],
  });
  return gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
}

const entryFor = (specifier) => `import * as all from ${JSON.stringify(specifier)};\nconsole.log(all);\n`;

async function measure(check, baseline) {
  if (!existsSync(check.file)) {
    const pkg = relative(ROOT, check.file).split('/').slice(0, 2).join('/');
    throw new UsageError(`${check.name}: ${relative(ROOT, check.file)} does not exist; build first (pnpm build, or pnpm --filter ./${pkg} build)`);
  }
  try {
    return (await gzippedBundle(entryFor(check.file), check.ignore)) - baseline;
  } catch (err) {
    const detail = (err.errors ?? []).map((e) => `  ${e.location?.file ?? ''}:${e.location?.line ?? ''} ${e.text}`).join('\n');
    throw new UsageError(
      `${check.name}: the browser bundle of ${relative(ROOT, check.file)} failed:\n${detail || err.message}\n` +
        // esbuild names the import that failed; where such an import belongs:
        'A Node built-in belongs in the package\'s node entry, not in what browsers load; a peer ' +
        'dependency the entry may import goes into the check\'s "ignore" list.',
    );
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const checks = readChecks(args.config);
  const baseline = await gzippedBundle(entryFor(EMPTY), []);
  const rows = [];
  for (const check of checks) {
    const size = await measure(check, baseline);
    rows.push({ name: check.name, path: relative(ROOT, check.file), size, limit: check.limit, passed: size <= check.limit });
  }
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(`${'entry'.padEnd(w)}  ${'min+gz'.padStart(9)}  ${'budget'.padStart(9)}`);
    for (const r of rows) {
      const mark = r.passed ? '' : `  OVER by ${formatBytes(r.size - r.limit)}`;
      console.log(`${r.name.padEnd(w)}  ${formatBytes(r.size).padStart(9)}  ${formatBytes(r.limit).padStart(9)}${mark}`);
    }
  }
  const over = rows.filter((r) => !r.passed);
  if (over.length) {
    console.error(
      `\nsize: ${over.length} budget(s) exceeded: ${over.map((r) => r.name).join(', ')}.\n` +
        'Shrink the entry, or if the growth is wanted, raise its "limit" in .size-limit.json in the same change and say why.',
    );
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof UsageError ? `size: ${err.message}` : err);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
