#!/usr/bin/env node
// Checks every package.json against the rules of shared/ARCHITECTURE.md that a lint rule on
// source files cannot see: what each package may depend on, tfjs-core as a peer, dual exports.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const MODEL_PACKAGES = new Set(['energy', 'autoencoders', 'adversarial', 'autoregressive']);
const ALLOWED_RUNTIME_DEPS = {
  model: ['@helmholtz/core'],
  eval: ['@helmholtz/core', '@helmholtz/datasets'],
};
const BACKEND_PACKAGE = /^@tensorflow\/tfjs-(backend-|node)|^webgpu$|^@tensorflow\/tfjs$/;

const problems = [];
const dirs = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  const where = `packages/${dir}/package.json`;
  const runtime = Object.keys(pkg.dependencies ?? {});
  if (!pkg.peerDependencies?.['@tensorflow/tfjs-core']) problems.push(`${where}: @tensorflow/tfjs-core must be a peer dependency`);
  if (runtime.includes('@tensorflow/tfjs-core')) problems.push(`${where}: @tensorflow/tfjs-core must not be a runtime dependency (two copies split the kernel registry)`);
  if (dir !== 'backends') {
    const backendDeps = [...runtime, ...Object.keys(pkg.peerDependencies ?? {})].filter((d) => BACKEND_PACKAGE.test(d));
    if (backendDeps.length) problems.push(`${where}: only @helmholtz/backends may depend on a backend, found ${backendDeps.join(', ')}`);
  }
  const allowed = MODEL_PACKAGES.has(dir) ? ALLOWED_RUNTIME_DEPS.model : dir === 'eval' ? ALLOWED_RUNTIME_DEPS.eval : null;
  if (allowed) {
    const helmholtz = runtime.filter((d) => d.startsWith('@helmholtz/'));
    const extra = helmholtz.filter((d) => !allowed.includes(d));
    if (extra.length) problems.push(`${where}: may depend on ${allowed.join(', ')} only among @helmholtz packages, found ${extra.join(', ')}`);
  }
  for (const [key, entry] of Object.entries(pkg.exports ?? {})) {
    if (key === './package.json') continue;
    const ok = entry?.import?.types && entry?.import?.default && entry?.require?.types && entry?.require?.default;
    const conditional = entry && typeof entry === 'object' && (entry.node || entry.browser);
    if (!ok && !conditional) problems.push(`${where}: export "${key}" needs import and require conditions, each with its own types`);
  }
  if (pkg.sideEffects === undefined) problems.push(`${where}: declare "sideEffects" (false, or the files that have them)`);
  if (!pkg.files?.includes('dist')) problems.push(`${where}: "files" must include dist`);
}

if (problems.length) {
  console.error(`package graph: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`package graph: ${dirs.length} packages follow the dependency rules`);
