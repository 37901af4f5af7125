#!/usr/bin/env node
// The packed-install test: what a user gets from `npm install` / `pnpm add`, not what the
// workspace links. It packs every publishable package, installs the tarballs into fresh apps
// outside the repository (npm, and pnpm with a strict, unhoisted node_modules), and in each app
// loads every entry point by import and by require, type-checks a small app under node16,
// nodenext and bundler resolution, checks that a newer core next to older dependents is
// installed once, and runs every JavaScript/TypeScript block of the READMEs.
//
//   node scripts/packed-install/run.mjs [--keep] [--cold] [--snippet-timeout=SECONDS]
//
// Needs built dists (runs `pnpm build`, turbo-cached, when one is missing) and the npm registry
// (for the tfjs packages). Everything is written under one temporary directory, removed at the
// end unless --keep. The package managers use their usual caches unless --cold; nothing else is
// kept between runs, and the installed @helmholtz files are compared with the tarballs, so a
// cache cannot hand back an old build. Exits 1 when any check fails.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importedPackages, installCommands, runnableBlocks } from './lib/markdown.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const FIXTURES = path.join(HERE, 'fixtures');
// The workspace's TypeScript and tsx, started through node itself: pnpm's node_modules/.bin
// shims export NODE_PATH=<workspace>/node_modules/.pnpm/node_modules, which would let a snippet
// resolve any package of the workspace that its app never installed.
const workspaceRequire = createRequire(path.join(ROOT, 'package.json'));
function workspaceBin(pkg, name) {
  const manifestPath = workspaceRequire.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  return path.join(path.dirname(manifestPath), typeof bin === 'string' ? bin : bin[name]);
}
const TSC = workspaceBin('typescript', 'tsc');
const TSX = workspaceBin('tsx', 'tsx');
const args = new Set(process.argv.slice(2));
const KEEP = args.has('--keep');
// --cold: npm's cache and pnpm's store inside the temporary directory, as on a fresh machine.
const COLD = args.has('--cold');
const SNIPPET_TIMEOUT_MS = 1000 * Number(process.argv.find((a) => a.startsWith('--snippet-timeout='))?.split('=')[1] ?? 120);
const CONCURRENCY = Math.max(2, Math.min(4, os.availableParallelism()));
// The one-copy test installs these with bumped versions: core one patch ahead of the others.
const BUMPED_VERSION = '0.1.0';
const BUMPED_CORE_VERSION = '0.1.1';
const ONE_COPY_DEPENDENTS = ['@helmholtz/energy', '@helmholtz/datasets'];

const started = Date.now();
const results = []; // { section, name, ok, ms, detail, info }
const failures = [];

// ---------------------------------------------------------------------------------------------
// Processes

/** Runs a command; never rejects. The whole process group is killed on timeout. */
function run(cmd, argv, { cwd, env, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(cmd, argv, { cwd, env: env ?? childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${error.message}`, ms: Date.now() - t0, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : code, stdout, stderr, ms: Date.now() - t0, timedOut });
    });
  });
}

// Children run as a user's would: no backend forced from the environment, no extra module
// search path, no update notices.
function childEnv(extra = {}) {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
  delete env.HELMHOLTZ_BACKEND;
  delete env.NODE_PATH;
  return env;
}

async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function record(section, name, ok, ms, detail = '', info = '') {
  const r = { section, name, ok, ms, detail, info };
  results.push(r);
  if (!ok) failures.push(r);
  const mark = ok ? 'ok  ' : 'FAIL';
  console.log(`${mark} ${section}: ${name} (${(ms / 1000).toFixed(1)} s)${info ? ` ${info}` : ''}`);
  if (!ok && detail) console.log(indent(detail, 6));
  return ok;
}

function indent(text, n) {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

// ---------------------------------------------------------------------------------------------
// Packages and tarballs

function publishablePackages() {
  const dir = path.join(ROOT, 'packages');
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'package.json')))
    .map((d) => ({ dir: path.join(dir, d), manifest: readJson(path.join(dir, d, 'package.json')) }))
    .filter((p) => !p.manifest.private)
    .map((p) => ({ ...p, name: p.manifest.name, version: p.manifest.version }));
}

/** Files named by a package's exports map (and main/module/types) that its dist lacks. */
function missingBuildOutputs(pkg) {
  const targets = new Set();
  const walk = (v) => {
    if (typeof v === 'string') targets.add(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(pkg.manifest.exports);
  for (const k of ['main', 'module', 'types']) if (pkg.manifest[k]) targets.add(pkg.manifest[k]);
  return [...targets].filter((t) => !t.includes('*') && !fs.existsSync(path.join(pkg.dir, t)));
}

// A dist older than its sources is packed as it is; say so rather than test stale code silently.
function staleDist(pkg) {
  const newest = (dir) => {
    let max = 0;
    if (!fs.existsSync(dir)) return max;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) max = Math.max(max, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
    }
    return max;
  };
  const src = newest(path.join(pkg.dir, 'src'));
  const dist = newest(path.join(pkg.dir, 'dist'));
  return dist > 0 && src > dist;
}

async function pack(pkg, dest) {
  const r = await run('pnpm', ['pack', '--json', '--pack-destination', dest], { cwd: pkg.dir });
  if (r.code !== 0) throw new Error(`pnpm pack in ${pkg.dir} failed:\n${tail(r.stderr || r.stdout)}`);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  return json.filename;
}

async function untar(tarball, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const r = await run('tar', ['-xzf', tarball, '-C', dir]);
  if (r.code !== 0) throw new Error(`tar -xzf ${tarball} failed: ${r.stderr}`);
  return path.join(dir, 'package');
}

async function tarPackage(packageDir, tarball) {
  const r = await run('tar', ['-czf', tarball, '-C', path.dirname(packageDir), 'package']);
  if (r.code !== 0) throw new Error(`tar -czf ${tarball} failed: ${r.stderr}`);
  return tarball;
}

function fileHashes(dir) {
  const out = new Map();
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath ?? e.path, e.name);
    out.set(path.relative(dir, full), createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Apps

/**
 * Writes a fresh app whose dependencies are `deps` (name → spec). Every @helmholtz package,
 * including those only reached transitively, is forced to its local tarball: by `overrides`
 * (npm: a reference to the direct dependency) and `pnpm.overrides` (the tarball path). Without
 * them a package manager would look for @helmholtz/core@^x in the registry.
 */
function writeApp(dir, pm, deps, { overrides = true, cacheRoot } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  if (cacheRoot) {
    const rc = pm === 'npm' ? `cache=${path.join(cacheRoot, 'npm-cache')}\n` : `store-dir=${path.join(cacheRoot, 'pnpm-store')}\ncache-dir=${path.join(cacheRoot, 'pnpm-cache')}\n`;
    fs.writeFileSync(path.join(dir, '.npmrc'), rc);
  }
  const manifest = { name: `helmholtz-packed-install-${path.basename(dir)}`, version: '0.0.0', private: true, type: 'module', dependencies: deps };
  const local = Object.keys(deps).filter((n) => n.startsWith('@helmholtz/'));
  if (overrides && pm === 'npm') manifest.overrides = Object.fromEntries(local.map((n) => [n, `$${n}`]));
  if (overrides && pm === 'pnpm') manifest.pnpm = { overrides: Object.fromEntries(local.map((n) => [n, deps[n]])) };
  writeJson(path.join(dir, 'package.json'), manifest);
  if (pm === 'pnpm') {
    // A strict layout: only direct dependencies are visible from the app, nothing is hoisted,
    // and missing peers are not filled in behind the app's back.
    fs.writeFileSync(path.join(dir, 'pnpm-workspace.yaml'), 'hoist: false\npublicHoistPattern: []\nautoInstallPeers: false\n');
  }
}

async function install(dir, pm) {
  const argv =
    pm === 'npm'
      ? ['install', '--no-audit', '--no-fund', '--loglevel=error']
      : // CI=true makes pnpm default to --frozen-lockfile, which fails without a lockfile.
        ['install', '--no-frozen-lockfile', '--reporter=append-only'];
  return run(pm, argv, { cwd: dir, timeoutMs: 600_000 });
}

/** Checks that each installed @helmholtz package holds exactly the files of its tarball. */
function installedMatchesPacked(appDir, packed) {
  const problems = [];
  for (const p of packed) {
    const installed = path.join(appDir, 'node_modules', p.name);
    if (!fs.existsSync(installed)) {
      problems.push(`${p.name}: not in node_modules`);
      continue;
    }
    const got = fileHashes(fs.realpathSync(installed));
    for (const [file, hash] of p.hashes) {
      if (got.get(file) !== hash) problems.push(`${p.name}: ${file} ${got.has(file) ? 'differs from' : 'missing, present in'} the tarball`);
    }
  }
  return problems;
}

function entryPointSpecs(appDir, names) {
  const specs = [];
  for (const name of names) {
    const manifest = readJson(path.join(appDir, 'node_modules', name, 'package.json'));
    for (const key of Object.keys(manifest.exports ?? { '.': null })) {
      if (key !== './package.json') specs.push(key === '.' ? name : `${name}/${key.slice(2)}`);
    }
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------
// Checks inside an app

async function smoke(app, kind) {
  for (const f of ['exercise.cjs', 'smoke.mjs', 'smoke.cjs']) fs.copyFileSync(path.join(FIXTURES, f), path.join(app.dir, f));
  const r = await run(process.execPath, [kind === 'ESM' ? 'smoke.mjs' : 'smoke.cjs'], { cwd: app.dir, timeoutMs: 120_000 });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('ok: '));
  const ok = r.code === 0 && lines.length > 0;
  const notes = lines.filter((l) => l.startsWith('ok: not loaded')).map((l) => `; ${l.slice(4)}`);
  record(app.pm, `${kind} import of every entry point + dense/grad/batch/PNG`, ok, r.ms, ok ? '' : tail(`${r.stdout}\n${r.stderr}`), ok ? `(${lines.length} checks${notes.join('')})` : '');
  return ok;
}

const TSC_MODES = {
  node16: { module: 'node16', moduleResolution: 'node16', cjs: true, skipLibCheck: true },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', cjs: true, skipLibCheck: true },
  bundler: { module: 'esnext', moduleResolution: 'bundler', cjs: false, skipLibCheck: true },
  // The same as node16 with the declaration files checked too: errors in @helmholtz's own
  // declarations fail; errors in third-party ones are listed (tfjs-core 4.22's hash_util.d.ts
  // names the global `Long` of @types/long, visible only where a package manager hoists it).
  'node16 + lib check': { module: 'node16', moduleResolution: 'node16', cjs: true, skipLibCheck: false },
};

function writeTypeFixtures(app) {
  const dir = path.join(app.dir, 'types');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(path.join(FIXTURES, 'types'))) fs.copyFileSync(path.join(FIXTURES, 'types', f), path.join(dir, f));
  // Every entry point of every installed package, so one added later is type-checked too.
  const specs = entryPointSpecs(app.dir, app.local);
  const body = specs.map((s, i) => `import * as e${i} from '${s}';`).join('\n');
  const list = `export const entryPoints: readonly object[] = [${specs.map((_, i) => `e${i}`).join(', ')}];\n`;
  fs.writeFileSync(path.join(dir, 'entry-points.mts'), `${body}\n${list}`);
  fs.writeFileSync(path.join(dir, 'entry-points.cts'), `${body}\n${list}`);
  return dir;
}

async function typecheck(app, mode) {
  const m = TSC_MODES[mode];
  const dir = path.join(app.dir, 'types');
  const files = ['ok.mts', 'bad.mts', 'entry-points.mts', ...(m.cjs ? ['ok.cts', 'bad.cts', 'entry-points.cts'] : [])];
  const config = `tsconfig.${mode.replace(/[^a-z0-9]+/g, '-')}.json`;
  writeJson(path.join(dir, config), {
    compilerOptions: { module: m.module, moduleResolution: m.moduleResolution, target: 'es2022', strict: true, skipLibCheck: m.skipLibCheck, noEmit: true },
    files,
  });
  const expected = new Map(); // "abs:line:code" → false until seen
  for (const f of files) {
    fs.readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const mark = /\/\/ @expect (TS\d+)/.exec(line);
        if (mark) expected.set(`${path.join(dir, f)}:${i + 1}:${mark[1]}`, false);
      });
  }
  const r = await run(process.execPath, [TSC, '-p', path.join(dir, config), '--pretty', 'false'], { cwd: app.dir, timeoutMs: 180_000 });
  const unexpected = [];
  const thirdParty = [];
  for (const line of r.stdout.split('\n')) {
    const e = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (!e) continue;
    const file = path.resolve(app.dir, e[1]);
    const key = `${file}:${e[2]}:${e[4]}`;
    if (expected.has(key) && !expected.get(key)) expected.set(key, true);
    else if (file.includes(`${path.sep}node_modules${path.sep}`) && !/@helmholtz[/+]/.test(file)) thirdParty.push(line.replace(app.dir + path.sep, ''));
    else unexpected.push(line.replace(app.dir + path.sep, ''));
  }
  const missed = [...expected].filter(([, seen]) => !seen).map(([k]) => `expected error not reported: ${path.relative(app.dir, k)}`);
  const crashed = r.code !== 0 && r.code !== 1 && r.code !== 2 ? [`tsc exited ${r.code}: ${tail(r.stderr)}`] : [];
  const problems = [...crashed, ...unexpected, ...missed];
  const ok = problems.length === 0 && (thirdParty.length === 0 || !m.skipLibCheck);
  const info = `(${expected.size} deliberate errors caught${thirdParty.length ? `; ${thirdParty.length} errors in third-party declarations, not counted` : ''})`;
  record(app.pm, `tsc --noEmit, ${mode}`, ok, r.ms, problems.join('\n'), info);
  if (thirdParty.length) console.log(indent(thirdParty.slice(0, 6).join('\n'), 6));
  return ok;
}

async function oneCopy(app) {
  const r = await run(process.execPath, ['one-copy.mjs', BUMPED_CORE_VERSION, ...ONE_COPY_DEPENDENTS], { cwd: app.dir, timeoutMs: 60_000 });
  let ok = r.code === 0;
  let detail = tail(`${r.stdout}\n${r.stderr}`, 20);
  let info = '';
  if (ok && app.pm === 'npm') {
    // npm's own view of the tree agrees: every @helmholtz/core node is the one at the top.
    const ls = await run('npm', ['ls', '@helmholtz/core', '--all', '--json'], { cwd: app.dir });
    const versions = [];
    const walk = (node) => {
      for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
        if (name === '@helmholtz/core') versions.push(`${dep.version}${dep.deduped ? ' (deduped)' : ''}`);
        walk(dep);
      }
    };
    walk(JSON.parse(ls.stdout || '{}'));
    const distinct = new Set(versions.map((v) => v.split(' ')[0]));
    ok = ls.code === 0 && distinct.size === 1 && distinct.has(BUMPED_CORE_VERSION);
    info = `(npm ls: ${versions.join(', ')})`;
    if (!ok) detail = `npm ls @helmholtz/core:\n${tail(ls.stdout + ls.stderr, 30)}`;
  }
  if (ok && app.pm === 'pnpm') {
    // pnpm reached core through the override; check that the dependents' own ranges accept it,
    // so the override only spared a registry lookup and did not hide a version conflict.
    const bad = ONE_COPY_DEPENDENTS.filter((n) => {
      const range = readJson(path.join(app.dir, 'node_modules', n, 'package.json')).dependencies['@helmholtz/core'];
      return !satisfiesCaret(BUMPED_CORE_VERSION, range);
    });
    ok = bad.length === 0;
    info = '(dependents\u2019 ranges accept the installed core)';
    if (!ok) detail = `ranges of ${bad.join(', ')} do not accept @helmholtz/core ${BUMPED_CORE_VERSION}`;
  }
  record(app.pm, `one copy of core ${BUMPED_CORE_VERSION} under ${ONE_COPY_DEPENDENTS.join(' and ')} ${BUMPED_VERSION}`, ok, r.ms, ok ? '' : detail, info);
  return ok;
}

/** `^a.b.c` (the form pnpm pack writes for workspace:^) accepts `version`. */
function satisfiesCaret(version, range) {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range ?? '');
  if (!m) return false;
  const [a, b, c] = m.slice(1).map(Number);
  const [x, y, z] = version.split('.').map(Number);
  if (a > 0) return x === a && (y > b || (y === b && z >= c));
  if (b > 0) return x === 0 && y === b && z >= c;
  return x === 0 && y === 0 && z === c;
}

// ---------------------------------------------------------------------------------------------
// README snippets

function collectReadmes() {
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'packages')).map((d) => path.join('packages', d, 'README.md'))];
  return files.filter((f) => fs.existsSync(path.join(ROOT, f))).map((f) => ({ file: f, text: fs.readFileSync(path.join(ROOT, f), 'utf8') }));
}

function snippetFileName(block) {
  const ts = block.lang === 'ts' || block.lang === 'typescript';
  if (ts) return 'snippet.mts';
  // A JavaScript block that only requires is a CommonJS script; anything else runs as ESM.
  const cjs = /\brequire\s*\(/.test(block.code) && !/^\s*(import|export)\b/m.test(block.code);
  return cjs ? 'snippet.cjs' : 'snippet.mjs';
}

/** The first error line of a failed run, with the snippet line it points at mapped to the README. */
function describeFailure(r, block, file) {
  if (r.timedOut) return `timed out after ${SNIPPET_TIMEOUT_MS / 1000} s`;
  const lines = `${r.stderr}\n${r.stdout}`.split('\n');
  const i = lines.findIndex((l) => /^\s*(?:Uncaught )?(?:[\w$.]*(?:Error|Exception)|Error)(?: \[[^\]]+\])?:/.test(l) || /^\s*[\w$.]*Error \[/.test(l));
  const message = i >= 0 ? lines.slice(i, i + 3).filter((l) => l.trim() && !/^\s+at /.test(l)).join(' | ') : tail(r.stderr || r.stdout, 4);
  // Node's first report of a throw is `<path>/snippet.mts:LINE`, stack frames `...:LINE:COL)`.
  const at = new RegExp(`${file.replace('.', '\\.')}:(\\d+)`).exec(`${r.stderr}\n${r.stdout}`);
  const where = at ? ` (snippet line ${at[1]}, README line ${block.line + Number(at[1])})` : '';
  return `${message.slice(0, 600)}${where}`;
}

async function runSnippet(app, item) {
  const dir = path.join(app.dir, 'snippets', item.id);
  fs.mkdirSync(dir, { recursive: true });
  const file = snippetFileName(item.block);
  fs.writeFileSync(path.join(dir, file), `${item.block.code}\n`);
  const r = file.endsWith('.mts')
    ? await run(process.execPath, [TSX, file], { cwd: dir, timeoutMs: SNIPPET_TIMEOUT_MS })
    : await run(process.execPath, [file], { cwd: dir, timeoutMs: SNIPPET_TIMEOUT_MS });
  const problems = [];
  if (r.code !== 0) problems.push(describeFailure(r, item.block, file));
  if (item.unlisted.length) {
    problems.push(`${r.code === 0 ? 'ran, but ' : ''}imports ${item.unlisted.join(', ')}, which no README install line lists (with pnpm it would not resolve)`);
  }
  const ok = problems.length === 0;
  record('snippets', `${item.readme}:${item.block.line}`, ok, r.ms, problems.join('\n'));
  return { ...item, ok, code: r.code, ms: r.ms, problems };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const packages = publishablePackages();
  const missing = packages.flatMap((p) => missingBuildOutputs(p).map((f) => `${p.name}: ${f}`));
  if (missing.length) {
    console.log(`building (missing: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}): pnpm build`);
    const b = await run('pnpm', ['build'], { cwd: ROOT, timeoutMs: 900_000 });
    if (b.code !== 0) throw new Error(`pnpm build failed:\n${tail(b.stdout + b.stderr, 30)}`);
    const still = packages.flatMap((p) => missingBuildOutputs(p).map((f) => `${p.name}: ${f}`));
    if (still.length) throw new Error(`after pnpm build, exports still point at missing files: ${still.join(', ')}`);
  }
  const stale = packages.filter(staleDist).map((p) => p.name);
  if (stale.length) console.log(`warning: dist older than src in ${stale.join(', ')}: the tarballs hold the old build (run pnpm build)`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'helmholtz-packed-install-'));
  console.log(`working in ${tmp}${KEEP ? ' (kept)' : ''}`);
  try {
    await runAll(tmp, packages);
  } finally {
    if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function runAll(tmp, packages) {
  // 1. Pack, and unpack to know what each tarball holds.
  let t0 = Date.now();
  const tarballDir = path.join(tmp, 'tarballs');
  fs.mkdirSync(tarballDir);
  const packed = await pool(packages, CONCURRENCY, async (p) => {
    const tarball = await pack(p, tarballDir);
    const unpacked = await untar(tarball, path.join(tmp, 'unpacked', path.basename(tarball, '.tgz')));
    return { ...p, tarball, unpacked, hashes: fileHashes(unpacked) };
  });
  record('pack', `${packed.length} tarballs: ${packed.map((p) => `${p.name}@${p.version}`).join(', ')}`, true, Date.now() - t0);

  // 2. What the READMEs tell a user to install, and their runnable blocks.
  const readmes = collectReadmes();
  const listed = new Map(); // name → spec
  const installLines = [];
  const snippets = [];
  const skipped = [];
  for (const { file, text } of readmes) {
    for (const c of installCommands(text)) {
      installLines.push(`${file}:${c.line}: ${c.command}`);
      for (const p of c.packages) if (!listed.has(p.name)) listed.set(p.name, p.spec);
    }
    const { run: blocks, skipped: noRun } = runnableBlocks(text);
    for (const b of noRun) skipped.push(`${file}:${b.line}`);
    for (const block of blocks) snippets.push({ readme: file, block, id: `${file.replace(/[/\\]/g, '_')}-L${block.line}` });
  }
  const builtins = new Set(builtinModules);
  for (const s of snippets) s.unlisted = importedPackages(s.block.code).filter((n) => !builtins.has(n) && !listed.has(n));

  // 3. The apps.
  const coreManifest = packed.find((p) => p.name === '@helmholtz/core').manifest;
  const tfRange = coreManifest.peerDependencies['@tensorflow/tfjs-core'];
  const tfjs = {
    '@tensorflow/tfjs-core': tfRange,
    '@tensorflow/tfjs-backend-cpu': tfRange,
    '@tensorflow/tfjs-backend-wasm': tfRange,
  };
  const local = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]));
  const extras = Object.fromEntries(
    [...listed].filter(([name]) => !name.startsWith('@helmholtz/') && !(name in tfjs)).map(([name, spec]) => [name, spec]),
  );
  const unknownLocal = [...listed.keys()].filter((n) => n.startsWith('@helmholtz/') && !(n in local));
  if (unknownLocal.length) record('readmes', 'install lines name only packages of this repository', false, 0, `not in packages/: ${unknownLocal.join(', ')}`);

  // The one-copy apps: every package bumped to 0.1.0, core to 0.1.1, dependents' ranges to ^0.1.0.
  const bumpedDir = path.join(tmp, 'bumped');
  const bumped = {};
  for (const name of ['@helmholtz/core', ...ONE_COPY_DEPENDENTS]) {
    const p = packed.find((q) => q.name === name);
    const dir = await untar(p.tarball, path.join(bumpedDir, path.basename(p.tarball, '.tgz')));
    const manifest = readJson(path.join(dir, 'package.json'));
    manifest.version = name === '@helmholtz/core' ? BUMPED_CORE_VERSION : BUMPED_VERSION;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) if (dep.startsWith('@helmholtz/')) manifest[field][dep] = `^${BUMPED_VERSION}`;
    }
    writeJson(path.join(dir, 'package.json'), manifest);
    bumped[name] = `file:${await tarPackage(dir, path.join(bumpedDir, `${name.slice(1).replace('/', '-')}-${manifest.version}.tgz`))}`;
  }

  const apps = [
    { pm: 'npm', dir: path.join(tmp, 'npm-app'), deps: { ...local, ...tfjs, ...extras }, role: 'main' },
    { pm: 'pnpm', dir: path.join(tmp, 'pnpm-app'), deps: { ...local, ...tfjs }, role: 'main' },
    // npm without overrides: its own semver dedupe must place one core (the registry has no
    // @helmholtz packages, so a failed dedupe is a 404, not a foreign download).
    { pm: 'npm', dir: path.join(tmp, 'npm-one-copy'), deps: { ...bumped, '@tensorflow/tfjs-core': tfRange }, role: 'one-copy', overrides: false },
    { pm: 'pnpm', dir: path.join(tmp, 'pnpm-one-copy'), deps: { ...bumped, '@tensorflow/tfjs-core': tfRange }, role: 'one-copy' },
  ];
  for (const app of apps) {
    app.local = Object.keys(app.deps).filter((n) => n.startsWith('@helmholtz/'));
    writeApp(app.dir, app.pm, app.deps, { overrides: app.overrides !== false, cacheRoot: COLD ? path.join(tmp, 'caches') : undefined });
  }
  await pool(apps, CONCURRENCY, async (app) => {
    const r = await install(app.dir, app.pm);
    app.installed = r.code === 0;
    const what = app.role === 'main' ? `install ${Object.keys(app.deps).length} packages` : 'install the one-copy app';
    record(app.pm, what, app.installed, r.ms, app.installed ? '' : tail(r.stderr + r.stdout, 25));
    if (app.installed && app.role === 'main') {
      const problems = installedMatchesPacked(app.dir, packed);
      app.installed = record(app.pm, 'installed @helmholtz packages are byte-identical to the tarballs', problems.length === 0, 0, problems.slice(0, 10).join('\n'));
    }
  });

  // 4. Checks in the apps, then the snippets (in the npm app: the README install lines are npm's).
  t0 = Date.now();
  const jobs = [];
  for (const app of apps.filter((a) => a.installed)) {
    if (app.role === 'one-copy') {
      fs.copyFileSync(path.join(FIXTURES, 'one-copy.mjs'), path.join(app.dir, 'one-copy.mjs'));
      jobs.push(() => oneCopy(app));
      continue;
    }
    writeTypeFixtures(app);
    jobs.push(() => smoke(app, 'ESM'), () => smoke(app, 'CJS'));
    for (const mode of Object.keys(TSC_MODES)) jobs.push(() => typecheck(app, mode));
  }
  await pool(jobs, CONCURRENCY, (job) => job());

  const npmApp = apps.find((a) => a.pm === 'npm' && a.role === 'main');
  let snippetResults = [];
  if (npmApp.installed) snippetResults = await pool(snippets, CONCURRENCY, (item) => runSnippet(npmApp, item));
  else record('snippets', 'not run: the npm app did not install', false, 0);

  // 5. Summary.
  const total = (Date.now() - started) / 1000;
  console.log('\n=== packed-install summary');
  for (const pm of ['npm', 'pnpm']) {
    const mine = results.filter((r) => r.section === pm);
    const cell = (test) => {
      const rs = mine.filter((r) => test(r.name));
      return rs.length === 0 ? 'not run' : rs.every((r) => r.ok) ? 'ok' : 'FAIL';
    };
    const seconds = (test) => `${(mine.filter((r) => test(r.name)).reduce((sum, r) => sum + r.ms, 0) / 1000).toFixed(1)} s`;
    const isInstall = (n) => n.startsWith('install');
    const modes = Object.keys(TSC_MODES).map((m) => `${m} ${cell((n) => n === `tsc --noEmit, ${m}`)}`);
    console.log(
      `${pm.padEnd(5)} install ${cell(isInstall)} (${seconds(isInstall)}), packed files ${cell((n) => n.includes('byte-identical'))}, ` +
        `ESM ${cell((n) => n.startsWith('ESM'))}, CJS ${cell((n) => n.startsWith('CJS'))}, tsc: ${modes.join(', ')}, ` +
        `one copy ${cell((n) => n.startsWith('one copy'))} (checks ${seconds((n) => !isInstall(n))})`,
    );
  }
  const passed = snippetResults.filter((s) => s.ok).length;
  const snippetSeconds = (snippetResults.reduce((sum, s) => sum + s.ms, 0) / 1000).toFixed(1);
  console.log(
    `snippets (npm app): ${snippetResults.length} run, ${passed} passed, ${snippetResults.length - passed} failed; ${skipped.length} skipped as no-run (${snippetSeconds} s)`,
  );
  console.log(`install lines read from the READMEs:\n${indent(installLines.join('\n') || '(none)', 2)}`);
  if (Object.keys(extras).length) console.log(`  so the npm app also installs: ${Object.entries(extras).map(([n, s]) => `${n}@${s}`).join(', ')}`);
  if (skipped.length) console.log(`skipped (no-run):\n${indent(skipped.join('\n'), 2)}`);
  const failedSnippets = snippetResults.filter((s) => !s.ok);
  if (failedSnippets.length) {
    console.log('failing README blocks:');
    for (const s of failedSnippets) console.log(`  ${s.readme}:${s.block.line}\n${indent(s.problems.join('\n'), 4)}`);
  }
  const otherFailures = failures.filter((f) => f.section !== 'snippets');
  if (otherFailures.length) console.log(`failed checks: ${otherFailures.map((f) => `${f.section}: ${f.name}`).join('; ')}`);
  console.log(`time: ${total.toFixed(1)} s (checks and snippets ${((Date.now() - t0) / 1000).toFixed(1)} s, concurrency ${CONCURRENCY})`);
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
