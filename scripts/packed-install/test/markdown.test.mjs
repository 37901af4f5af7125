// node --test scripts/packed-install/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fencedBlocks, runnableBlocks, installCommands, importedPackages, parsePackageArg } from '../lib/markdown.mjs';

const README = [
  '# pkg', //                                    1
  '',
  '```sh',
  'npm install @helmholtz/core @tensorflow/tfjs-core # and a backend',
  'pnpm add -D webgpu@^0.6 && pnpm build',
  '```',
  '',
  '```ts',
  "import { Rng } from '@helmholtz/core';",
  '```',
  '', //                                         11
  '```ts no-run',
  'const x = fragment;',
  '```',
  '',
  '- a list item:',
  '',
  '  ```js',
  "  const fs = require('node:fs');",
  '    indented(); // deeper than the fence',
  '  ```', //                                    21
  '',
  '````md',
  '```ts',
  'not a block: inside a longer fence',
  '```',
  '````',
  '',
  'inline ```ts``` is not a fence',
  '```python',
  'print(1)',
  '```',
];

test('blocks carry the line of their opening fence, their language and extra words', () => {
  const blocks = fencedBlocks(README.join('\n'));
  assert.deepEqual(
    blocks.map((b) => [b.line, b.lang, b.words]),
    [
      [3, 'sh', []],
      [8, 'ts', []],
      [12, 'ts', ['no-run']],
      [18, 'js', []],
      [23, 'md', []],
      [30, 'python', []],
    ],
  );
});

test('an indented fence removes its own indentation from the content, no more', () => {
  const js = fencedBlocks(README.join('\n')).find((b) => b.lang === 'js');
  assert.equal(js.code, "const fs = require('node:fs');\n  indented(); // deeper than the fence");
});

test('a fence nested in a longer fence is content, not a block', () => {
  const md = fencedBlocks(README.join('\n')).find((b) => b.lang === 'md');
  assert.equal(md.code, '```ts\nnot a block: inside a longer fence\n```');
});

test('no-run blocks are skipped and other languages are not run', () => {
  const { run, skipped } = runnableBlocks(README.join('\n'));
  assert.deepEqual(run.map((b) => b.line), [8, 18]);
  assert.deepEqual(skipped.map((b) => b.line), [12]);
});

test('install commands list their packages and stop at comments and &&', () => {
  assert.deepEqual(installCommands(README.join('\n')), [
    {
      line: 4,
      command: 'npm install @helmholtz/core @tensorflow/tfjs-core',
      packages: [
        { name: '@helmholtz/core', spec: 'latest' },
        { name: '@tensorflow/tfjs-core', spec: 'latest' },
      ],
    },
    { line: 5, command: 'pnpm add -D webgpu@^0.6', packages: [{ name: 'webgpu', spec: '^0.6' }] },
  ]);
  assert.deepEqual(parsePackageArg('@scope/name@^1.2'), { name: '@scope/name', spec: '^1.2' });
});

test('imported packages: bare specifiers of imports, re-exports, dynamic imports and requires', () => {
  const code = [
    "import * as tf from '@tensorflow/tfjs-core';",
    "import '@tensorflow/tfjs-backend-cpu';",
    "import type { Dataset } from '@helmholtz/datasets/node';",
    "import {\n  a,\n  b,\n} from 'multi-line';",
    "export { c } from 're-exported';",
    "const d = await import('dynamic');",
    "const fs = require('node:fs'); const e = require('cjs-pkg/sub');",
    "import { f } from './local.js';",
    "// import { g } from 'commented-out';",
    "const url = 'https://example.org/x'; // a URL is not a comment start",
  ].join('\n');
  assert.deepEqual(importedPackages(code).sort(), [
    '@helmholtz/datasets',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-core',
    'cjs-pkg',
    'dynamic',
    'multi-line',
    're-exported',
  ]);
});
