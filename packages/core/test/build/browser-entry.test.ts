import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const NODE_ONLY = new Set([...builtinModules, 'cli-progress']);

/** Modules a built file loads statically, following its relative imports (shared chunks). */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  const found = new Set<string>();
  if (seen.has(file)) return found;
  seen.add(file);
  const code = readFileSync(file, 'utf8');
  // Static imports and requires only: a dynamic import() may sit behind a runtime check.
  for (const [, specifier] of code.matchAll(/(?:\bfrom\s*|^\s*import\s*|\brequire\(\s*)["']([^"']+)["']/gm)) {
    if (specifier!.startsWith('.')) for (const m of staticImports(join(dirname(file), specifier!), seen)) found.add(m);
    else found.add(specifier!.replace(/^node:/, ''));
  }
  return found;
}

describe('the browser-safe main entry', () => {
  it.each(['index.js', 'index.cjs'])('%s loads no Node module (the Node-only parts live in ./node)', (file) => {
    const modules = [...staticImports(join(DIST, file))];
    expect(modules).toContain('@tensorflow/tfjs-core');
    expect(modules.filter((m) => NODE_ONLY.has(m))).toEqual([]);
  });

  it('the scan does find Node modules where they are (node.js)', () => {
    expect([...staticImports(join(DIST, 'node.js'))]).toEqual(expect.arrayContaining(['cli-progress']));
  });
});
