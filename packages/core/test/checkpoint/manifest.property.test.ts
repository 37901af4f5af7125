import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreFromArtifacts, toCheckpointArtifacts, type RestoreOptions } from '../../src/checkpoint/artifacts.js';
import { CHECKPOINT_FORMAT, joinWeightData, type JsonValue } from '../../src/checkpoint/format.js';
import { fromCheckpointFiles, MANIFEST_FILE, parseCheckpointJson, toCheckpointFiles } from '../../src/checkpoint/manifest.js';
import { directoryCheckpoint } from '../../src/checkpoint/node/directory.js';
import { CheckpointError, ConfigError, ShapeError } from '../../src/errors.js';
import { createVariable, disposeParams, flattenParams, type ParamTree } from '../../src/params/tree.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/*
 * Property tests: whatever bytes and JSON a checkpoint holds, loading it gives the saved values
 * or a typed error, never another exception, a hang, or a large allocation.
 *
 * The seed is fixed so CI runs the same cases every time (randomness is explicit here too);
 * FC_SEED=<n> explores other cases, FC_RUNS=<factor> scales the number of runs, FC_COLLECT=1
 * lists every distinct failure instead of stopping at the first, FC_REPORT=1 prints the time
 * and memory figures of each property.
 */
const SEED = Number(process.env['FC_SEED'] ?? 20261124);
const RUNS = Number(process.env['FC_RUNS'] ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * RUNS));
const MIB = 1024 * 1024;
/** What one case may add to the process's memory (rss and ArrayBuffers) over the property's start. */
const MEMORY_LIMIT = 64 * MIB;
/** What one case may take; the machine is shared, so this is far above the few ms a case takes. */
const CASE_LIMIT_MS = 1500;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function isTyped(e: unknown): boolean {
  return e instanceof CheckpointError || e instanceof ConfigError || e instanceof ShapeError;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `a thrown ${typeof e}: ${String(e)}`;
  const frames = (e.stack ?? '').split('\n').filter((l) => l.includes('/src/')).slice(0, 3);
  return `${e.constructor.name}: ${e.message}\n${frames.join('\n')}`;
}

/**
 * With FC_COLLECT=1 a violation is recorded instead of thrown, so one run lists every distinct
 * kind of failure (by message and source line) instead of stopping at the first.
 */
const collected = new Map<string, number>();
let collectContext = '';
function violation(message: string): void {
  if (!process.env['FC_COLLECT']) throw new Error(message);
  const key = `${collectContext}\n${message.replace(/\d+(\.\d+)?/g, 'N').replace(/leaf '.*?': .*/, 'leaf ...')}`.slice(0, 600);
  collected.set(key, (collected.get(key) ?? 0) + 1);
}

function expectTyped(e: unknown, what: string): void {
  if (!isTyped(e)) violation(`${what} threw something other than CheckpointError/ConfigError/ShapeError: ${describeError(e)}`);
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
async function settle<T>(fn: () => T | Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Checks after every case that neither rss nor ArrayBuffers grew by more than MEMORY_LIMIT over
 * the start of the property, and that the case was quick: a shape such as [2^31, 2^31] must be
 * refused from the manifest's numbers, before any buffer of that size exists.
 */
function resourceGuard() {
  const start = process.memoryUsage();
  let t0 = 0;
  const seen = { cases: 0, maxCaseMs: 0, maxRssMiB: 0, maxArrayBuffersMiB: 0 };
  return {
    seen,
    begin() {
      t0 = performance.now();
    },
    end(label: string) {
      const ms = performance.now() - t0;
      const now = process.memoryUsage();
      const rss = now.rss - start.rss;
      const buffers = now.arrayBuffers - start.arrayBuffers;
      seen.cases += 1;
      seen.maxCaseMs = Math.max(seen.maxCaseMs, ms);
      seen.maxRssMiB = Math.max(seen.maxRssMiB, rss / MIB);
      seen.maxArrayBuffersMiB = Math.max(seen.maxArrayBuffersMiB, buffers / MIB);
      if (buffers > MEMORY_LIMIT) throw new Error(`${label}: ArrayBuffers grew by ${(buffers / MIB).toFixed(1)} MiB`);
      if (rss > MEMORY_LIMIT) throw new Error(`${label}: rss grew by ${(rss / MIB).toFixed(1)} MiB`);
      if (ms > CASE_LIMIT_MS) throw new Error(`${label}: one case took ${ms.toFixed(0)} ms`);
    },
  };
}

const figures: Record<string, ReturnType<typeof resourceGuard>['seen']> = {};
afterAll(() => {
  if (process.env['FC_REPORT']) console.info(JSON.stringify(figures, null, 1));
  if (process.env['FC_COLLECT']) console.info([...collected].map(([k, n]) => `${n} x ${k}`).join('\n\n'));
});

// ---------------------------------------------------------------------------------------------
// Small random parameter trees of float32, int32 and bool variables.

type Dtype = 'float32' | 'int32' | 'bool';
interface LeafSpec {
  dtype: Dtype;
  shape: number[];
  values: number[];
  trainable: boolean;
}
type NodeSpec = { leaf: LeafSpec } | { dict: [string, LeafSpec][] } | { list: LeafSpec[] };
type TreeSpec = [string, NodeSpec][];

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const leafArb: fc.Arbitrary<LeafSpec> = fc
  .tuple(
    fc.constantFrom<Dtype>('float32', 'int32', 'bool'),
    fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).filter((s) => sizeOf(s) <= 12),
    fc.boolean(),
  )
  .chain(([dtype, shape, trainable]) => {
    const n = sizeOf(shape);
    const value =
      dtype === 'float32'
        ? fc.float() // NaN, ±Infinity and -0 included: a checkpoint stores them bit for bit
        : dtype === 'int32'
          ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
          : fc.integer({ min: 0, max: 1 });
    return fc.array(value, { minLength: n, maxLength: n }).map((values) => ({ dtype, shape, values, trainable }));
  });

// Keys a tree may use: anything without '/', including names that are special to objects.
const keyArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 4 }).filter((k) => !k.includes('/')),
  fc.constantFrom('W', 'bias', '__proto__', 'constructor', 'toString', '0', '..', ' '),
);

const nodeArb: fc.Arbitrary<NodeSpec> = fc.oneof(
  leafArb.map((leaf) => ({ leaf })),
  fc.uniqueArray(fc.tuple(keyArb, leafArb), { minLength: 1, maxLength: 3, selector: ([k]) => k }).map((dict) => ({ dict })),
  fc.array(leafArb, { minLength: 1, maxLength: 2 }).map((list) => ({ list })),
);

const treeArb: fc.Arbitrary<TreeSpec> = fc.uniqueArray(fc.tuple(keyArb, nodeArb), {
  minLength: 1,
  maxLength: 3,
  selector: ([k]) => k,
});

let variableTag = 0;
function buildTree(spec: TreeSpec, fresh: boolean): ParamTree {
  const tag = `prop${variableTag++}`;
  const leaf = (l: LeafSpec, path: string): tf.Variable => {
    const initial = fresh
      ? tf.zeros(l.shape, l.dtype)
      : tf.tensor(
          l.dtype === 'float32' ? Float32Array.from(l.values) : l.dtype === 'int32' ? Int32Array.from(l.values) : Uint8Array.from(l.values),
          l.shape,
          l.dtype,
        );
    return createVariable(initial, `${tag}/${path}`, l.trainable);
  };
  // Object.fromEntries makes '__proto__' an own key, as a JSON config would.
  return Object.fromEntries(
    spec.map(([k, node]) => [
      k,
      'leaf' in node
        ? leaf(node.leaf, k)
        : 'dict' in node
          ? Object.fromEntries(node.dict.map(([k2, l]) => [k2, leaf(l, `${k}/${k2}`)]))
          : node.list.map((l, i) => leaf(l, `${k}/${i}`)),
    ]),
  ) as ParamTree;
}

function readValues(tree: ParamTree): Map<string, number[]> {
  return new Map([...flattenParams(tree)].map(([path, v]) => [path, Array.from(v.dataSync() as ArrayLike<number>)]));
}

/** Equal value for value, NaN equal to NaN and -0 told from 0 (bit-exact for float32 data). */
function sameValues(a: Map<string, number[]>, b: Map<string, number[]>, labels = ['', 'against']): string | null {
  if (a.size !== b.size) return `${a.size} leaves against ${b.size}`;
  for (const [path, xs] of a) {
    const ys = b.get(path);
    if (!ys || ys.length !== xs.length || xs.some((x, i) => !Object.is(x, ys[i]))) {
      return `leaf '${path}': ${labels[0]}[${show(xs)}] ${labels[1]} [${ys ? show(ys) : 'nothing'}]`;
    }
  }
  return null;
}

const show = (xs: number[]) => xs.map((x) => (Object.is(x, -0) ? '-0' : String(x))).join(', ');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

interface Saved {
  expected: Map<string, number[]>;
  config: JsonValue;
  artifacts: tf.io.ModelArtifacts;
  data: Uint8Array;
  manifestText: string;
  shards: Map<string, Uint8Array>;
}

/** Saves a tree made from `spec` (then disposes it): the reference every mutated copy is compared with. */
async function save(spec: TreeSpec, config: JsonValue, metadata: JsonValue, shardBytes: number): Promise<Saved> {
  const params = buildTree(spec, false);
  try {
    const expected = readValues(params);
    const artifacts = await toCheckpointArtifacts({
      params,
      config,
      state: metadata,
      metadata: { epoch: 1, step: 7, note: metadata },
    });
    const { manifest, shards } = toCheckpointFiles(artifacts, shardBytes);
    return {
      expected,
      config,
      artifacts,
      data: new Uint8Array(joinWeightData(artifacts.weightData)).slice(),
      manifestText: JSON.stringify(manifest),
      shards: new Map(shards.map((s) => [s.path, s.bytes.slice()])),
    };
  } finally {
    disposeParams(params);
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of a saved checkpoint's manifest and shards.

const DIMS: unknown[] = [-1, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, 1.5, NaN, Infinity, -0, '2', null, 0, 1];
const SHAPES: unknown[] = [[2 ** 31, 2 ** 31], [1e300], [1e300, 0], [2 ** 31, 2 ** 31, 0], [1e300, 1e300, 0], [-1, -1], []];
const SPECIAL_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'model.json', '...', ' ', 'x\u00e9.bin', '.hidden'];

type Mutation =
  | { op: 'shape'; at: number; shape: unknown }
  | { op: 'dtype'; at: number; dtype: unknown }
  | { op: 'name'; at: number; name: unknown }
  | { op: 'group'; at: number; group: unknown }
  | { op: 'path'; at: number; path: unknown }
  | { op: 'renameShard'; at: number; to: string; moveChecksum: boolean }
  | { op: 'formatVersion'; value: unknown }
  | { op: 'checksum'; how: unknown }
  | { op: 'shardChecksums'; at: number; how: unknown }
  | { op: 'field'; field: string; value: unknown }
  | { op: 'record'; value: unknown }
  | { op: 'format'; value: unknown }
  | { op: 'structure'; how: unknown }
  | { op: 'truncate'; at: number; cut: number }
  | { op: 'extend'; at: number; bytes: Uint8Array }
  | { op: 'flip'; at: number; pos: number; mask: number }
  | { op: 'swapShards'; at: number; other: number }
  | { op: 'dropShard'; at: number }
  | { op: 'extraShard'; name: string; bytes: Uint8Array };

const DELETE = '<delete>';
const at = fc.nat({ max: 50 });
const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>;
const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 9 });
const hexDigits = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 9 });

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('shape' as const),
    at,
    shape: fc.oneof(
      fc.array(fc.constantFrom(...DIMS), { minLength: 1, maxLength: 3 }),
      fc.constantFrom(...SHAPES, 'grow', 'shrink', DELETE),
      fc.anything(),
    ),
  }),
  fc.record({
    op: fc.constant('dtype' as const),
    at,
    dtype: fc.constantFrom<unknown>('float32', 'int32', 'bool', 'float16', 'string', 'complex64', '', null, 5, DELETE),
  }),
  fc.record({
    op: fc.constant('name' as const),
    at,
    name: fc.oneof(fc.constantFrom<unknown>('<dup>', '', 'a/b', '..', '../x', '<suffix>', null, 5, DELETE), fc.string({ maxLength: 4 })),
  }),
  fc.record({ op: fc.constant('group' as const), at, group: fc.constantFrom<unknown>('optimizer', 'model', DELETE, '', 5, null, 'other') }),
  fc.record({
    op: fc.constant('path' as const),
    at,
    path: fc.oneof(
      fc.constantFrom<unknown>('../x.bin', '/etc/passwd', 'a/b', 'a\\b', '.', '..', '', './', '<dot-slash>', '<dup>', '<drop>', '<reverse>', null, 7),
      fc.constantFrom(...SPECIAL_NAMES, 'missing.bin'),
    ),
  }),
  fc.record({ op: fc.constant('renameShard' as const), at, to: fc.constantFrom(...SPECIAL_NAMES, 'renamed.bin'), moveChecksum: fc.boolean() }),
  fc.record({
    op: fc.constant('formatVersion' as const),
    // 1 weighs most: a record that claims version 1 is one whose checksum no longer counts.
    value: fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, fc.constantFrom<unknown>(0, -1, 1.5, 3, '2', null, DELETE, 2, 1e300, true, NaN)),
  }),
  fc.record({
    op: fc.constant('checksum' as const),
    how: fc.oneof(fc.constantFrom<unknown>(DELETE, 'wrong', 'upper', 'md5', 5, null, {}, []), fc.anything()),
  }),
  fc.record({
    op: fc.constant('shardChecksums' as const),
    at,
    how: fc.oneof(fc.constantFrom<unknown>(DELETE, 'wrong', 'upper', 'dropEntry', 'md5', 5, null), fc.anything()),
  }),
  fc.record({
    op: fc.constant('field' as const),
    field: fc.constantFrom('config', 'state', 'metadata', 'optimizers', 'createdAt', 'kind'),
    value: fc.oneof(json, fc.constant(DELETE)),
  }),
  fc.record({ op: fc.constant('record' as const), value: fc.oneof(fc.anything(), fc.constant(DELETE)) }),
  fc.record({ op: fc.constant('format' as const), value: fc.oneof(fc.constantFrom<unknown>('tfjs-graph-model', 'layers-model', DELETE), fc.anything()) }),
  fc.record({
    op: fc.constant('structure' as const),
    how: fc.oneof(
      fc.constantFrom<unknown>('splitGroup', 'dupGroup', 'noGroups', 'nullGroup'),
      fc.record({ weightsManifest: fc.anything() }),
      fc.record({ weights: fc.anything() }),
      fc.record({ paths: fc.anything() }),
      fc.record({ checksums: fc.anything() }),
      fc.record({ weights: fc.array(fc.oneof(fc.anything(), fc.record({ name: fc.string(), shape: fc.anything(), dtype: fc.string() }))) }),
    ),
  }),
  fc.record({ op: fc.constant('truncate' as const), at, cut: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('extend' as const), at, bytes: smallBytes }),
  fc.record({ op: fc.constant('flip' as const), at, pos: fc.nat({ max: 200 }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('swapShards' as const), at, other: at }),
  fc.record({ op: fc.constant('dropShard' as const), at }),
  fc.record({ op: fc.constant('extraShard' as const), name: fc.constantFrom(...SPECIAL_NAMES, 'extra.bin'), bytes: smallBytes }),
);

/** For FC_COLLECT's listing: the mutations of a case in short. */
const summary = (mutations: Mutation[]) => JSON.stringify(mutations.map((m) => Object.values(m))).slice(0, 200);

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

function groupsOf(m: unknown): Obj[] {
  const groups = isObj(m) && Array.isArray(m['weightsManifest']) ? (m['weightsManifest'] as unknown[]) : [];
  return groups.filter(isObj);
}

function specsOf(m: unknown): Obj[] {
  return groupsOf(m).flatMap((g) => (Array.isArray(g['weights']) ? (g['weights'] as unknown[]).filter(isObj) : []));
}

function pathListsOf(m: unknown): unknown[][] {
  return groupsOf(m)
    .map((g) => g['paths'])
    .filter((p): p is unknown[] => Array.isArray(p));
}

function recordOf(m: unknown): Obj | null {
  const meta = isObj(m) ? m['userDefinedMetadata'] : undefined;
  const record = isObj(meta) ? meta['helmholtz'] : undefined;
  return isObj(record) ? record : null;
}

function shardChecksumsOf(m: unknown): Obj | null {
  const c = isObj(m) ? m['checksums'] : undefined;
  return isObj(c) && isObj(c['shards']) ? c['shards'] : null;
}

function set(target: Obj, key: string, value: unknown): void {
  if (value === DELETE) delete target[key];
  else target[key] = value;
}

/** Applies a mutation to a parsed manifest and its shard files, in place; a no-op where it does not fit. */
function mutate(m: Obj, shards: Map<string, Uint8Array>, mutation: Mutation): void {
  const specs = specsOf(m);
  const names = [...shards.keys()];
  switch (mutation.op) {
    case 'shape': {
      const spec = pick(specs, mutation.at);
      if (!spec) return;
      const shape = spec['shape'];
      if (mutation.shape === 'grow') spec['shape'] = Array.isArray(shape) ? [...(shape as unknown[]), 1] : [1];
      else if (mutation.shape === 'shrink') spec['shape'] = Array.isArray(shape) ? shape.slice(1) : [];
      else set(spec, 'shape', structuredClone(mutation.shape));
      return;
    }
    case 'dtype': {
      const spec = pick(specs, mutation.at);
      if (spec) set(spec, 'dtype', mutation.dtype);
      return;
    }
    case 'name': {
      const spec = pick(specs, mutation.at);
      if (!spec) return;
      if (mutation.name === '<dup>') spec['name'] = pick(specs, mutation.at + 1)?.['name'];
      else if (mutation.name === '<suffix>') spec['name'] = `${String(spec['name'])}/x`;
      else set(spec, 'name', mutation.name);
      return;
    }
    case 'group': {
      const spec = pick(specs, mutation.at);
      if (spec) set(spec, 'group', mutation.group);
      return;
    }
    case 'path': {
      const paths = pick(pathListsOf(m), mutation.at);
      if (!paths) return;
      const i = paths.length === 0 ? 0 : mutation.at % paths.length;
      if (mutation.path === '<dot-slash>') paths[i] = `./${String(paths[i])}`;
      else if (mutation.path === '<dup>') paths.push(paths[i]);
      else if (mutation.path === '<drop>') paths.splice(i, 1);
      else if (mutation.path === '<reverse>') paths.reverse();
      else paths[i] = mutation.path;
      return;
    }
    case 'renameShard': {
      // A user renames a shard file and edits the manifest's paths to match.
      const from = pick(names, mutation.at);
      if (from === undefined || shards.has(mutation.to)) return;
      shards.set(mutation.to, shards.get(from)!);
      shards.delete(from);
      for (const paths of pathListsOf(m)) paths.forEach((p, i) => p === from && (paths[i] = mutation.to));
      const sums = shardChecksumsOf(m);
      if (sums && mutation.moveChecksum && Object.hasOwn(sums, from)) {
        sums[mutation.to] = sums[from];
        delete sums[from];
      }
      return;
    }
    case 'formatVersion': {
      const record = recordOf(m);
      if (record) set(record, 'formatVersion', mutation.value);
      return;
    }
    case 'checksum': {
      const record = recordOf(m);
      if (!record) return;
      const c = record['checksum'];
      const digest = isObj(c) && typeof c['weightData'] === 'string' ? c['weightData'] : '00000000';
      if (mutation.how === 'wrong') record['checksum'] = { algorithm: 'crc32', weightData: flipHexDigit(digest) };
      else if (mutation.how === 'upper') record['checksum'] = { algorithm: 'crc32', weightData: digest.toUpperCase() };
      else if (mutation.how === 'md5') record['checksum'] = { algorithm: 'md5', weightData: digest };
      else set(record, 'checksum', structuredClone(mutation.how));
      return;
    }
    case 'shardChecksums': {
      const sums = shardChecksumsOf(m);
      const key = pick(Object.keys(sums ?? {}), mutation.at);
      const c = m['checksums'];
      if (mutation.how === DELETE) delete m['checksums'];
      else if (mutation.how === 'md5' && isObj(c)) c['algorithm'] = 'md5';
      else if (sums && key !== undefined && typeof sums[key] === 'string') {
        const digest = sums[key] as string;
        if (mutation.how === 'wrong') sums[key] = flipHexDigit(digest);
        else if (mutation.how === 'upper') sums[key] = digest.toUpperCase();
        else if (mutation.how === 'dropEntry') delete sums[key];
        else sums[key] = structuredClone(mutation.how);
      }
      return;
    }
    case 'field': {
      const record = recordOf(m);
      if (record) set(record, mutation.field, structuredClone(mutation.value));
      return;
    }
    case 'record': {
      const meta = m['userDefinedMetadata'];
      if (isObj(meta)) set(meta, 'helmholtz', structuredClone(mutation.value));
      return;
    }
    case 'format':
      set(m, 'format', structuredClone(mutation.value));
      return;
    case 'structure': {
      const how = mutation.how;
      const groups = m['weightsManifest'];
      const first = groupsOf(m)[0];
      if (how === 'splitGroup' && first && Array.isArray(first['weights']) && Array.isArray(groups)) {
        const weights = first['weights'] as unknown[];
        const half = Math.ceil(weights.length / 2);
        groups.push({ paths: [], weights: weights.splice(half) });
      } else if (how === 'dupGroup' && first && Array.isArray(groups)) groups.push(structuredClone(first));
      else if (how === 'noGroups') m['weightsManifest'] = [];
      else if (how === 'nullGroup' && Array.isArray(groups)) groups.push(null);
      else if (isObj(how)) {
        const [[key, value]] = Object.entries(how) as [[string, unknown]];
        if (key === 'weightsManifest' || key === 'checksums') m[key] = structuredClone(value);
        else if (first) first[key] = structuredClone(value);
      }
      return;
    }
    case 'truncate': {
      const name = pick(names, mutation.at);
      if (name !== undefined) shards.set(name, shards.get(name)!.slice(0, -mutation.cut));
      return;
    }
    case 'extend': {
      const name = pick(names, mutation.at);
      if (name !== undefined) shards.set(name, concat(shards.get(name)!, mutation.bytes));
      return;
    }
    case 'flip': {
      const name = pick(names, mutation.at);
      const bytes = name === undefined ? undefined : shards.get(name)!.slice();
      if (!bytes || bytes.byteLength === 0) return;
      const i = mutation.pos % bytes.byteLength;
      bytes[i] = bytes[i]! ^ mutation.mask;
      shards.set(name!, bytes);
      return;
    }
    case 'swapShards': {
      const a = pick(names, mutation.at);
      const b = pick(names, mutation.other);
      if (a === undefined || b === undefined) return;
      const bytes = shards.get(a)!;
      shards.set(a, shards.get(b)!);
      shards.set(b, bytes);
      return;
    }
    case 'dropShard': {
      const name = pick(names, mutation.at);
      if (name !== undefined) shards.delete(name);
      return;
    }
    case 'extraShard':
      if (!shards.has(mutation.name)) shards.set(mutation.name, mutation.bytes);
      return;
  }
}

function flipHexDigit(digest: string): string {
  const first = digest[0] === '0' ? '1' : '0';
  return first + digest.slice(1);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** Whether the record carries a CRC-32 of the weight data that a loader can check. */
function recordChecksumPresent(m: unknown): boolean {
  const c = recordOf(m)?.['checksum'];
  return isObj(c) && c['algorithm'] === 'crc32' && typeof c['weightData'] === 'string';
}

const restoreChoice = fc.constantFrom<'ignoreConfig' | 'config'>('ignoreConfig', 'config');
function restoreOptions(params: ParamTree, choice: 'ignoreConfig' | 'config', config: JsonValue): RestoreOptions {
  return choice === 'ignoreConfig' ? { params, ignoreConfig: true, location: 'prop' } : { params, config, location: 'prop' };
}

const checkpointCase = fc.record({
  tree: treeArb,
  config: json,
  metadata: json,
  shardBytes: fc.integer({ min: 1, max: 48 }),
  choice: restoreChoice,
});

/** Reads mutated checkpoint files the way every loader does: parse the text, join the shards. */
function fromFiles(text: string, shards: Map<string, Uint8Array>): tf.io.ModelArtifacts {
  return fromCheckpointFiles(parseCheckpointJson(text, 'prop'), shards, 'prop');
}

/**
 * Loads into a fresh tree of the saved shapes and checks the two promises of a load: what
 * loads is exactly what was saved (corrupt data loads only where no checksum covers it), and
 * what is refused leaves every variable as it was.
 */
async function checkLoadOutcome(
  saved: Saved,
  spec: TreeSpec,
  load: () => Promise<tf.io.ModelArtifacts>,
  finalManifest: unknown,
  choice: 'ignoreConfig' | 'config',
  check: { typed: boolean; values: boolean },
): Promise<void> {
  const fresh = buildTree(spec, true);
  try {
    const before = readValues(fresh);
    let loadedData: Uint8Array | null = null;
    const result = await settle(async () => {
      const artifacts = await load();
      loadedData = new Uint8Array(joinWeightData(artifacts.weightData));
      return restoreFromArtifacts(artifacts, restoreOptions(fresh, choice, saved.config));
    });
    const after = readValues(fresh);
    if (!result.ok) {
      if (check.typed) expectTyped(result.error, 'loading a mutated checkpoint');
      if (!check.values) return;
      const changed = sameValues(before, after, ['held ', 'before the load, now']);
      if (changed) violation(`a refused checkpoint changed the model: ${changed} (${describeError(result.error)})`);
      return;
    }
    if (!check.values) return;
    if (!sameBytes(loadedData!, saved.data)) {
      if (recordChecksumPresent(finalManifest)) {
        violation('weight data that differs from the saved data loaded, although the manifest holds its CRC-32');
      }
      return; // no checksum covers it (format version 1): loading it unverified is the documented contract
    }
    const wrong = sameValues(saved.expected, after, ['saved ', 'loaded']);
    if (wrong) violation(`a mutated checkpoint loaded with values other than the saved ones: ${wrong}`);
  } finally {
    disposeParams(fresh);
  }
}

// ---------------------------------------------------------------------------------------------

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'helmholtz-ckpt-prop-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A name the file system can hold inside one directory (the manifest may list any string). */
function writable(name: string): boolean {
  return name.length > 0 && name.length < 200 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && name !== MANIFEST_FILE;
}

/** `directoryCheckpoint(dir).load()`: the handler always has load (IOHandler types it optional). */
const loadDirectory = (dir: string) => directoryCheckpoint(dir).load!();

let caseDir = 0;
async function withCheckpointDir<T>(text: string, shards: Map<string, Uint8Array>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(root, `case-${caseDir++}`);
  await mkdir(dir);
  try {
    await writeFile(join(dir, MANIFEST_FILE), text);
    for (const [name, bytes] of shards) if (writable(name)) await writeFile(join(dir, name), bytes);
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('checkpoint manifests: arbitrary text and JSON', () => {
  const manifestLike = fc.record(
    {
      format: fc.oneof(fc.constant(CHECKPOINT_FORMAT), fc.anything()),
      weightsManifest: fc.oneof(
        fc.array(
          fc.record(
            {
              paths: fc.oneof(
                { weight: 4, arbitrary: fc.array(fc.constantFrom('a.bin', 'b.bin', './a.bin', 'constructor'), { maxLength: 3 }) },
                { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom('../a.bin', '', '.', 'a/b'), fc.anything()), { maxLength: 3 }) },
                { weight: 1, arbitrary: fc.anything() },
              ),
              weights: fc.oneof(
                fc.array(
                  fc.oneof(
                    fc.record(
                      {
                        name: fc.oneof(fc.constantFrom('w', 'v'), fc.anything()),
                        shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constantFrom(...DIMS)), { maxLength: 3 }), fc.anything()),
                        dtype: fc.oneof(fc.constantFrom('float32', 'int32', 'bool', 'string'), fc.anything()),
                        group: fc.oneof(fc.constantFrom('model', 'optimizer'), fc.anything()),
                        quantization: fc.anything(),
                      },
                      { requiredKeys: ['name', 'shape', 'dtype'] },
                    ),
                    fc.constantFrom(null, undefined, 0, '', []),
                    fc.anything(),
                  ),
                  { maxLength: 3 },
                ),
                fc.anything(),
              ),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 2 },
        ),
        fc.anything(),
      ),
      userDefinedMetadata: fc.oneof(
        fc.record(
          {
            helmholtz: fc.oneof(
              fc.record(
                {
                  formatVersion: fc.constantFrom<unknown>(1, 2, 3, 0, '1', null, 1.5),
                  config: fc.anything(),
                  state: fc.anything(),
                  metadata: fc.anything(),
                  optimizers: fc.anything(),
                  checksum: fc.oneof(fc.record({ algorithm: fc.constantFrom('crc32', 'md5'), weightData: fc.oneof(hexDigits, fc.anything()) }), fc.anything()),
                },
                { requiredKeys: ['formatVersion'] },
              ),
              fc.anything(),
            ),
          },
          { requiredKeys: [] },
        ),
        fc.anything(),
      ),
      checksums: fc.oneof(
        fc.record({ algorithm: fc.constantFrom('crc32', 'md5'), shards: fc.oneof(fc.dictionary(fc.string(), fc.oneof(hexDigits, fc.anything())), fc.anything()) }),
        fc.anything(),
      ),
    },
    { requiredKeys: ['weightsManifest'] },
  );
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
    fc.anything().map((v) => {
      try {
        return JSON.stringify(v) ?? String(v);
      } catch {
        return String(v);
      }
    }),
    manifestLike.map((v) => JSON.stringify(v) ?? ''),
  );
  const shardFiles = fc.dictionary(fc.constantFrom('a.bin', 'b.bin', 'constructor', '__proto__'), fc.uint8Array({ maxLength: 12 }), {
    noNullPrototype: true,
  });

  it('any model.json text parses to a manifest or a CheckpointError, and any manifest loads or is refused with a typed error', async () => {
    await useBackend('cpu');
    const guard = resourceGuard();
    const target = { w: tf.variable(tf.zeros([2]), true, 'prop-text/w'), v: tf.variable(tf.zeros([1], 'int32'), true, 'prop-text/v') };
    try {
      await withNoLeaks(async () => {
        await fc.assert(
          fc.asyncProperty(text, shardFiles, async (json, files) => {
            guard.begin();
            const parsed = await settle(() => parseCheckpointJson(json, 'prop'));
            if (!parsed.ok) {
              expect(parsed.error).toBeInstanceOf(CheckpointError);
            } else {
              const shards = new Map(Object.entries(files));
              const loaded = await settle(async () =>
                restoreFromArtifacts(fromCheckpointFiles(parsed.value, shards, 'prop'), { params: target, ignoreConfig: true }),
              );
              if (!loaded.ok) expectTyped(loaded.error, 'loading an arbitrary manifest');
            }
            guard.end('arbitrary model.json');
          }),
          { numRuns: runs(2000), seed: SEED },
        );
      }, 'arbitrary model.json');
    } finally {
      tf.dispose([target.w, target.v]);
      figures['arbitrary text'] = guard.seen;
    }
  });

  // Found: weightSpecs that is not an array, a null entry in it, or weightData that is not
  // ArrayBuffers threw a TypeError or RangeError (artifacts.ts, format.ts).
  it('arbitrary artifacts from any handler (memory, IndexedDB) load or are refused with a typed error', async () => {
    await useBackend('cpu');
    const guard = resourceGuard();
    const spec = fc.oneof(
      fc.record(
        {
          name: fc.oneof(fc.constantFrom('w', 'v'), fc.anything()),
          shape: fc.oneof(fc.array(fc.constantFrom(...DIMS), { maxLength: 3 }), fc.constantFrom(...SHAPES), fc.anything()),
          dtype: fc.oneof(fc.constantFrom('float32', 'int32', 'bool'), fc.anything()),
          group: fc.oneof(fc.constantFrom('model', 'optimizer'), fc.anything()),
        },
        { requiredKeys: ['name', 'shape', 'dtype'] },
      ),
      fc.anything(),
    );
    const artifacts = fc.record(
      {
        format: fc.oneof(fc.constant(CHECKPOINT_FORMAT), fc.anything()),
        weightSpecs: fc.oneof(fc.array(spec, { maxLength: 3 }), fc.anything()),
        weightData: fc.oneof(
          fc.uint8Array({ maxLength: 16 }).map((b) => b.slice().buffer),
          fc.array(fc.uint8Array({ maxLength: 8 }).map((b) => b.slice().buffer), { maxLength: 3 }),
          fc.anything(),
        ),
        userDefinedMetadata: fc.oneof(
          fc.record({
            helmholtz: fc.oneof(
              fc.record({
                formatVersion: fc.constantFrom<unknown>(1, 2, 3, 0, null),
                config: fc.anything(),
                state: fc.anything(),
                metadata: fc.anything(),
                optimizers: fc.anything(),
                checksum: fc.anything(),
              }),
              fc.anything(),
            ),
          }),
          fc.anything(),
        ),
      },
      { requiredKeys: [] },
    );
    const target = { w: tf.variable(tf.zeros([2]), true, 'prop-art/w'), v: tf.variable(tf.zeros([1], 'int32'), true, 'prop-art/v') };
    try {
      await withNoLeaks(async () => {
        await fc.assert(
          fc.asyncProperty(artifacts, async (a) => {
            guard.begin();
            const loaded = await settle(() => restoreFromArtifacts(a as tf.io.ModelArtifacts, { params: target, ignoreConfig: true }));
            if (!loaded.ok) expectTyped(loaded.error, 'restoring arbitrary artifacts');
            guard.end('arbitrary artifacts');
          }),
          { numRuns: runs(800), seed: SEED + 1 },
        );
      }, 'arbitrary artifacts');
    } finally {
      tf.dispose([target.w, target.v]);
      figures['arbitrary artifacts'] = guard.seen;
    }
  });
});

describe.each(TEST_BACKENDS)('mutated checkpoints on %s', (backend) => {
  const mutated = fc.record({ saved: checkpointCase, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) });

  /** Saves a generated checkpoint, mutates its manifest and shards, and checks how it loads. */
  const mutatedProperty = (check: { typed: boolean; values: boolean }, label: string, seed: number) => async () => {
    await useBackend(backend);
    const guard = resourceGuard();
    try {
      await fc.assert(
        fc.asyncProperty(mutated, async ({ saved: c, mutations }) => {
          await withNoLeaks(async () => {
            guard.begin();
            const saved = await save(c.tree, c.config, c.metadata, c.shardBytes);
            const manifest = JSON.parse(saved.manifestText) as Obj;
            const shards = new Map(saved.shards);
            for (const mutation of mutations) mutate(manifest, shards, mutation);
            collectContext = summary(mutations);
            const text = JSON.stringify(manifest);
            await checkLoadOutcome(saved, c.tree, async () => fromFiles(text, shards), manifest, c.choice, check);
            guard.end(label);
          }, label);
        }),
        { numRuns: runs(800), seed },
      );
    } finally {
      figures[`${label} ${backend}`] = guard.seen;
    }
  };

  // Found: a null entry in a group's weights threw a TypeError (format.ts).
  it('a mutated manifest or shard gives the loaded checkpoint or a typed error', mutatedProperty({ typed: true, values: false }, 'mutated checkpoint', SEED + 2));

  // Found: a record whose formatVersion read 1 skipped its own CRC-32, so swapped or corrupted
  // shards loaded silently (artifacts.ts verifyChecksum). Untyped errors are the other
  // property's business: here only the values count.
  it(
    'a mutated checkpoint that loads holds exactly the saved values, and one refused changes nothing',
    mutatedProperty({ typed: false, values: true }, 'mutated checkpoint values', SEED + 3),
  );

  it('a checkpoint whose weight shapes are hostile (2^31 x 2^31, 1e300, NaN) is refused before any large allocation', async () => {
    await useBackend(backend);
    const guard = resourceGuard();
    const hostile = fc.oneof(
      fc.constantFrom<unknown[]>([2 ** 31, 2 ** 31], [2 ** 32, 2 ** 32], [1e300], [1e300, 1e300], [2 ** 53, 2 ** 53], [2 ** 31, 4], [2 ** 30]),
      fc.array(fc.constantFrom<unknown>(2 ** 31, 2 ** 32, 1e300, 2 ** 53, Infinity, NaN, -1), { minLength: 1, maxLength: 4 }),
    );
    try {
      await fc.assert(
        fc.asyncProperty(checkpointCase, hostile, fc.nat(), fc.constantFrom('direct', 'files'), async (c, shape, which, route) => {
          await withNoLeaks(async () => {
            guard.begin();
            const saved = await save(c.tree, c.config, c.metadata, c.shardBytes);
            const fresh = buildTree(c.tree, true);
            try {
              let outcome: Settled<unknown>;
              if (route === 'direct') {
                // As a handler holding objects (memoryCheckpoint, IndexedDB) would hand them over.
                const specs = structuredClone(saved.artifacts.weightSpecs ?? []);
                const spec = pick(specs, which);
                if (spec) spec.shape = shape as number[];
                outcome = await settle(() =>
                  restoreFromArtifacts({ ...saved.artifacts, weightSpecs: specs }, restoreOptions(fresh, c.choice, saved.config)),
                );
              } else {
                const manifest = JSON.parse(saved.manifestText) as Obj;
                const spec = pick(specsOf(manifest), which);
                if (spec) spec['shape'] = shape;
                outcome = await settle(async () =>
                  restoreFromArtifacts(fromFiles(JSON.stringify(manifest), saved.shards), restoreOptions(fresh, c.choice, saved.config)),
                );
              }
              expect(outcome.ok).toBe(false);
              if (!outcome.ok) expect(outcome.error, describeError(outcome.error)).toBeInstanceOf(CheckpointError);
            } finally {
              disposeParams(fresh);
            }
            guard.end('hostile shape');
          }, 'hostile shape');
        }),
        { numRuns: runs(150), seed: SEED + 4 },
      );
    } finally {
      figures[`hostile shapes ${backend}`] = guard.seen;
    }
  });
});

describe('checkpoint directories with generated files', () => {
  // Found: a shard named "constructor", "toString" or "__proto__" found a "checksum" on
  // Object.prototype and threw a TypeError (directory.ts readFiles).
  it('directoryCheckpoint(dir).load() of generated model.json and shard files loads the saved values or refuses with a typed error', async () => {
    await useBackend('cpu');
    const guard = resourceGuard();
    const generated = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('mutated' as const), saved: checkpointCase, mutations: fc.array(mutationArb, { maxLength: 3 }) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('arbitrary' as const),
          text: fc.oneof(fc.json(), fc.string()),
          files: fc.dictionary(fc.constantFrom(...SPECIAL_NAMES.filter((n) => n !== MANIFEST_FILE), 'group1-shard1of1.bin'), fc.uint8Array({ maxLength: 12 }), {
            noNullPrototype: true,
          }),
        }),
      },
    );
    const target = { w: tf.variable(tf.zeros([2]), true, 'prop-dir/w') };
    try {
      await fc.assert(
        fc.asyncProperty(generated, async (g) => {
          await withNoLeaks(async () => {
            guard.begin();
            if (g.kind === 'arbitrary') {
              await withCheckpointDir(g.text, new Map(Object.entries(g.files)), async (dir) => {
                const loaded = await settle(async () =>
                  restoreFromArtifacts(await loadDirectory(dir), { params: target, ignoreConfig: true }),
                );
                if (!loaded.ok) expectTyped(loaded.error, 'directoryCheckpoint(dir).load() of arbitrary files');
              });
            } else {
              const c = g.saved;
              const saved = await save(c.tree, c.config, c.metadata, c.shardBytes);
              const manifest = JSON.parse(saved.manifestText) as Obj;
              const shards = new Map(saved.shards);
              for (const mutation of g.mutations) mutate(manifest, shards, mutation);
              collectContext = `directory: ${summary(g.mutations)}`;
              await withCheckpointDir(JSON.stringify(manifest), shards, (dir) =>
                checkLoadOutcome(saved, c.tree, () => loadDirectory(dir), manifest, c.choice, { typed: true, values: true }),
              );
            }
            guard.end('checkpoint directory');
          }, 'checkpoint directory');
        }),
        { numRuns: runs(400), seed: SEED + 5 },
      );
    } finally {
      target.w.dispose();
      figures['directories'] = guard.seen;
    }
  });
});

describe.each(TEST_BACKENDS)('manifest edits the checksum does not cover, on %s', (backend) => {
  // Found: the CRC-32 covered the weight data, not the weight specs that cut it into variables,
  // so reordering the specs of one group loaded every variable with bytes of another, silently
  // (the record now carries checksum.weightSpecs too).
  it('reordered weight specs never load values other than the saved ones', async () => {
    await useBackend(backend);
    await fc.assert(
      fc.asyncProperty(checkpointCase, async (c) => {
        await withNoLeaks(async () => {
          const saved = await save(c.tree, c.config, c.metadata, c.shardBytes);
          const manifest = JSON.parse(saved.manifestText) as Obj;
          for (const g of groupsOf(manifest)) (g['weights'] as unknown[]).reverse();
          collectContext = 'reordered';
          await checkLoadOutcome(saved, c.tree, async () => fromFiles(JSON.stringify(manifest), saved.shards), manifest, c.choice, { typed: true, values: true });
        }, 'reordered specs');
      }),
      { numRuns: runs(50), seed: SEED + 6 },
    );
  });
});

// Shrunk counterexamples of the properties above, one per bug, so each reads on its own. Each
// Regression tests, one per bug the properties found (shrunk counterexamples).
describe('checkpoint loaders refuse what the properties found with a typed error', () => {
  const tree: TreeSpec = [['w', { leaf: { dtype: 'float32', shape: [2], values: [1.5, -2], trainable: true } }]];
  const refused = async (what: string, fn: () => unknown) => {
    const outcome = await settle(fn);
    if (outcome.ok) throw new Error(`${what}: loaded`);
    if (!(outcome.error instanceof CheckpointError)) throw new Error(`${what}: expected a CheckpointError, got ${describeError(outcome.error)}`);
  };

  it('a weight entry that is null in model.json: CheckpointError, not a TypeError (format.ts weightByteLength)', async () => {
    await useBackend('cpu');
    const saved = await save(tree, {}, {}, 64);
    const manifest = JSON.parse(saved.manifestText) as Obj;
    groupsOf(manifest)[0]!['weights'] = [null];
    await refused('weights: [null]', () => fromFiles(JSON.stringify(manifest), saved.shards));
  });

  it('artifacts whose weightSpecs or weightData have the wrong types: CheckpointError, not a TypeError or RangeError (artifacts.ts, format.ts joinWeightData)', async () => {
    await useBackend('cpu');
    const saved = await save(tree, {}, {}, 64);
    const target = buildTree(tree, true);
    try {
      const cases: [string, Partial<tf.io.ModelArtifacts>][] = [
        ['weightSpecs: [null]', { weightSpecs: [null] as never }],
        ['weightSpecs: {}', { weightSpecs: {} as never }],
        ['weightData: 5', { weightData: 5 as never }],
        ['weightData: [null]', { weightData: [null] as never }],
        ['weightData: [5]', { weightData: [5] as never }],
      ];
      for (const [what, change] of cases) {
        await refused(what, () => restoreFromArtifacts({ ...saved.artifacts, ...change }, { params: target, ignoreConfig: true }));
      }
    } finally {
      disposeParams(target);
    }
  });

  it('a shard file named "constructor" with no entry in checksums.shards: loads or CheckpointError, not a TypeError (directory.ts readFiles)', async () => {
    await useBackend('cpu');
    for (const name of ['constructor', 'toString', '__proto__']) {
      const saved = await save(tree, {}, {}, 64);
      const manifest = JSON.parse(saved.manifestText) as Obj;
      const shards = new Map(saved.shards);
      mutate(manifest, shards, { op: 'renameShard', at: 0, to: name, moveChecksum: false });
      await withCheckpointDir(JSON.stringify(manifest), shards, (dir) =>
        checkLoadOutcome(saved, tree, () => loadDirectory(dir), manifest, 'ignoreConfig', { typed: true, values: true }),
      );
    }
  });

  it('a record that says format version 1 but carries a CRC-32 does not load corrupted weight data (artifacts.ts verifyChecksum)', async () => {
    await useBackend('cpu');
    const saved = await save(tree, {}, {}, 64);
    const manifest = JSON.parse(saved.manifestText) as Obj;
    const shards = new Map(saved.shards);
    mutate(manifest, shards, { op: 'formatVersion', value: 1 });
    mutate(manifest, shards, { op: 'flip', at: 0, pos: 0, mask: 1 });
    const target = buildTree(tree, true);
    try {
      await refused('format version 1, a flipped byte', () =>
        restoreFromArtifacts(fromFiles(JSON.stringify(manifest), shards), { params: target, ignoreConfig: true }),
      );
    } finally {
      disposeParams(target);
    }
  });
});
