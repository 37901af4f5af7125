import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../src/errors.js';
import { Rng } from '../src/random/rng.js';
import { expectNoLeaks, useBackend } from '../src/testing.js';
import { train } from '../src/train/loop.js';

/** What a ConfigError says it got. */
const got = (value: unknown) => new ConfigError('field', 'something', value).message.replace(/^.*?, got /s, '');

describe('ConfigError describes what came', () => {
  it('a tensor by dtype and shape, never its internals', async () => {
    await useBackend('cpu');
    const t = tf.zeros([2, 3]);
    const v = tf.variable(tf.zeros([4]), true, 'format/v');
    const i = tf.tensor1d([1, 2], 'int32');
    expect(got(t)).toBe('a float32 tensor of shape [2, 3]');
    expect(got(i)).toBe('an int32 tensor of shape [2]');
    expect(got(v)).toBe('a float32 variable "format/v" of shape [4]');
    expect(got(tf.scalar(1))).toBe('a float32 tensor of shape []');
    expect(got({ loss: t })).toBe('{ loss: a float32 tensor of shape [2, 3] }');
    tf.dispose([t, i, v]);
    expect(got(t)).toBe('a disposed float32 tensor of shape [2, 3]');
  });

  it('a training step that returns a bare tensor is named as one in the loop ConfigError', async () => {
    await useBackend('cpu');
    const error = await train({ epochs: 1, batches: () => [1], step: () => tf.scalar(3) as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/"step result": expected an object of named scalar losses, e\.g\. \{ loss \}, got a float32 tensor of shape \[\]$/);
    // What the old JSON dump showed: the engine's bookkeeping fields.
    expect(message).not.toMatch(/dataId|kept|isDisposedInternal|rankType/);
  });

  it('typed arrays by type and length, functions, class instances by class', () => {
    expect(got(new Float32Array(784))).toBe('Float32Array(784)');
    expect(got(new Uint8Array(3).subarray(1))).toBe('Uint8Array(2)');
    expect(got(new ArrayBuffer(16))).toBe('ArrayBuffer(16 bytes)');
    expect(got(() => 1)).toBe('a function');
    expect(got(class Foo {})).toBe('a function');
    class Sampler {}
    expect(got(new Sampler())).toBe('an instance of Sampler');
    expect(got(new Rng(1))).toBe('an instance of Rng');
    expect(got(Promise.resolve(1))).toBe('an instance of Promise');
    expect(got(new Map([[1, 2]]))).toBe('a Map of 1 entry');
    expect(got(new Set([1, 2]))).toBe('a Set of 2 items');
    expect(got(new TypeError('bad'))).toBe('a TypeError ("bad")');
    expect(got(new Date(0))).toBe('a Date (1970-01-01T00:00:00.000Z)');
  });

  it('NaN, Infinity, -0, bigint and undefined as themselves, also inside arrays and objects', () => {
    expect(got(Number.NaN)).toBe('NaN');
    expect(got(-Infinity)).toBe('-Infinity');
    expect(got([1, Number.NaN, Infinity, undefined])).toBe('[1, NaN, Infinity, undefined]');
    expect(got({ lr: Number.NaN, 'odd key': 1 })).toBe('{ lr: NaN, "odd key": 1 }');
    expect(got(5n)).toBe('5n');
    expect(got(undefined)).toBe('undefined');
    expect(got(null)).toBe('null');
    expect(got('adam')).toBe('"adam"');
  });

  it('long arrays, objects and strings are cut, nesting is bounded, cycles are named', () => {
    const long = Array.from({ length: 1000 }, (_, i) => i);
    expect(got(long)).toBe('[0, 1, 2, 3, 4, 5, 6, 7, ... (1000 items in all)]');
    const wide = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
    expect(got(wide)).toBe('{ k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, ... (20 keys in all) }');
    expect(got({ a: { b: { c: { d: 1 } } } })).toBe('{ a: { b: {... 1 key} } }');
    expect(got([[[1, 2]]])).toBe('[[[... 2 items]]]');
    expect(got('x'.repeat(300))).toBe(`"${'x'.repeat(80)}"... (300 characters)`);
    const cyclic: Record<string, unknown> = { name: 'node' };
    cyclic.self = cyclic;
    expect(got(cyclic)).toBe('{ name: "node", self: [circular] }');
    // Whatever the value, the message stays short.
    const deep = Array.from({ length: 50 }, () => ({ x: 'y'.repeat(70), z: [1, 2, 3] }));
    expect(got(deep).length).toBeLessThanOrEqual(200);
  });

  it('a value that throws when inspected still gives a message', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    expect(got(hostile)).toBe('[object Object]');
  });

  it('formatting a tensor makes and leaves no tensor', async () => {
    await useBackend('cpu');
    const t = tf.ones([3]);
    expectNoLeaks(() => got([t, { t }]));
    t.dispose();
  });
});

describe('ShapeError reads naturally', () => {
  it('a written-out shape is "expected shape [..]", a phrase stands on its own', () => {
    expect(new ShapeError('dense input', [null, 784], [32, 785]).message).toBe('dense input: expected shape [?, 784], got [32, 785]');
    expect(new ShapeError('grid', '[n, h, w, c]', [3]).message).toBe('grid: expected shape [n, h, w, c], got [3]');
    // Was "expected shape a tensor with an axis -3, got [2, 3]".
    expect(new ShapeError('logMeanExp x', 'a tensor with an axis -3', [2, 3], 'Axes run from -2 to 1.').message).toBe(
      'logMeanExp x: expected a tensor with an axis -3, got shape [2, 3]. Axes run from -2 to 1.',
    );
  });
});
