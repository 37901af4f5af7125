import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  assignParams,
  ConfigError,
  countParams,
  createVariable,
  flattenParams,
  paramAliases,
  paramPaths,
  subtreeAt,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe.each(TEST_BACKENDS)('parameter trees on %s', (backend) => {
  it('arrays nest, tied variables count once, undefined leaves are skipped', async () => {
    await useBackend(backend);
    const kernel = createVariable(tf.zeros([3, 2]), 'treeTest/kernel');
    const b0 = createVariable(tf.zeros([2]), 'treeTest/b0');
    const tree = { layers: [{ W: kernel, bias: b0 }, { W: kernel, bias: undefined }] };
    expect([...flattenParams(tree).keys()]).toEqual(['layers/0/W', 'layers/0/bias']);
    expect(countParams(tree)).toBe(8);
    expect([...paramAliases(tree)]).toEqual([['layers/1/W', 'layers/0/W']]);
    expect(paramPaths(tree).get(kernel)).toEqual(['layers/0/W', 'layers/1/W']);
    expect(subtreeAt(tree, 'layers/1')).toBe(tree.layers[1]);
    expect(subtreeAt(tree, 'layers/1/W')).toBe(kernel);
    expect(subtreeAt(tree, 'layers/7')).toBeUndefined();
    expect(() => flattenParams({ a: tf.zeros([1]) } as never)).toThrow(/parameter "a".*a tensor that is not a tf.Variable/);
    tf.dispose([kernel, b0]);
  });

  it('assignParams takes any path of a tied variable and checks every entry before assigning any', async () => {
    await useBackend(backend);
    const kernel = createVariable(tf.zeros([2]), 'assign/kernel');
    const a = createVariable(tf.zeros([1]), 'assign/a');
    const tree = { encoder: { kernel }, decoder: { kernel }, a };
    const five = tf.tensor1d([5]);
    const pair = tf.tensor1d([1, 2]);
    expect(() => assignParams(tree, { a: five, nope: pair })).toThrow(ConfigError);
    expect(values(a)).toEqual([0]);
    expect(() => assignParams(tree, { a: five, 'decoder/kernel': five })).toThrow(/shape of decoder\/kernel/);
    expect(values(a)).toEqual([0]);
    assignParams(tree, { a: five, 'decoder/kernel': pair });
    expect(values(kernel)).toEqual([1, 2]);
    expect(values(a)).toEqual([5]);
    tf.dispose([kernel, a, five, pair]);
  });
});
