import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  ConfigError,
  createOptimizer,
  createVariable,
  disposeParams,
  lossAndGradientsOf,
  type ParamTree,
} from '../../src/index.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';

const values = (v: tf.Tensor) => Array.from(v.dataSync());

function pair(prefix: string, order: 'Wb' | 'bW'): ParamTree & { W: tf.Variable; b: tf.Variable } {
  const W = createVariable(tf.tensor1d([1, -1, 2]), `${prefix}/W`);
  const b = createVariable(tf.tensor1d([0.5]), `${prefix}/b`);
  return (order === 'Wb' ? { W, b } : { b, W }) as ParamTree & { W: tf.Variable; b: tf.Variable };
}

const lossOf = (p: { W: tf.Variable; b: tf.Variable }) => () =>
  tf.add(tf.sum(tf.square(tf.sub(p.W, tf.tensor1d([3, 4, 5])))), tf.sum(tf.square(tf.sub(p.b, 2)))) as tf.Scalar;

describe.each(TEST_BACKENDS)('optimizer state keyed by parameter path on %s', (backend) => {
  it('a tree whose keys come in another order gets each parameter its own Adam moments', async () => {
    await useBackend(backend);
    const a = pair('keyedA', 'Wb');
    const b = pair('keyedB', 'bW');
    const optA = createOptimizer({ kind: 'adam', learningRate: 0.1 }, a);
    const optB = createOptimizer({ kind: 'adam', learningRate: 0.1 }, b);
    for (let i = 0; i < 4; i++) optA.minimize(lossOf(a)).dispose();
    b.W.assign(a.W);
    b.b.assign(a.b);
    const weights = await optA.getWeights();
    await optB.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
    // By position, W's [3] moments would have landed on b's [1] slot (or been refused): by name
    // every slot is where it belongs, and both optimizers continue identically.
    expect(values(optB.slotVariables().get('W/m')!)).toEqual(values(optA.slotVariables().get('W/m')!));
    for (let i = 0; i < 3; i++) {
      optA.minimize(lossOf(a)).dispose();
      optB.minimize(lossOf(b)).dispose();
    }
    expectAllClose(b.W, values(a.W), 1e-6);
    expectAllClose(b.b, values(a.b), 1e-6);
    [optA, optB].forEach((o) => o.dispose());
    disposeParams(a);
    disposeParams(b);
  });

  it('state for other parameter names is refused with a CheckpointError naming the path, changing nothing', async () => {
    await useBackend(backend);
    const a = pair('renameA', 'Wb');
    const other = { kernel: createVariable(tf.tensor1d([1, -1, 2]), 'renameB/kernel'), b: createVariable(tf.tensor1d([0]), 'renameB/b') };
    const optA = createOptimizer({ kind: 'adam', learningRate: 0.1 }, a);
    const optB = createOptimizer({ kind: 'adam', learningRate: 0.1 }, other);
    optA.minimize(lossOf(a)).dispose();
    const weights = await optA.getWeights();
    const before = values(optB.slotVariables().get('b/m')!);
    await expect(optB.setWeights(weights)).rejects.toThrow(CheckpointError);
    await expect(optB.setWeights(weights)).rejects.toThrow(/no slot "kernel\/m" for parameter "kernel"/);
    expect(() => optB.validateWeights(weights)).toThrow(/"W\/m"/);
    expect(optB.iterations).toBe(0);
    expect(values(optB.slotVariables().get('b/m')!)).toEqual(before);
    // A slot of the wrong shape names the slot and both shapes.
    const renamed = weights.map((w) => ({ name: w.name.replace(/^W\//, 'kernel/').replace(/^b\//, 'b/'), tensor: w.tensor }));
    const bad = renamed.map((w) => (w.name === 'b/v' ? { name: w.name, tensor: tf.zeros([2]) } : w));
    expect(() => optB.validateWeights(bad)).toThrow(/slot "b\/v" has shape \[2\], the parameter has \[1\]/);
    expect(() => optB.validateWeights(renamed)).not.toThrow();
    tf.dispose([...weights.map((w) => w.tensor), bad.find((w) => w.name === 'b/v')!.tensor]);
    [optA, optB].forEach((o) => o.dispose());
    disposeParams(a);
    disposeParams(other);
  });

  it('a path equal to another variable\'s engine name is no false "each variable once" error, and an ambiguous key is refused (bug 9)', async () => {
    await useBackend(backend);
    // Tree paths cross the engine names: path vy.name leads to vx, path vx.name to vy.
    const vx = createVariable(tf.tensor1d([1]), 'collide_x');
    const vy = createVariable(tf.tensor1d([2]), 'collide_y');
    const vz = createVariable(tf.tensor1d([3]), 'collide_z');
    const tree: ParamTree = { [vy.name]: vx, [vx.name]: vy, z: vz };
    const opt = createOptimizer({ kind: 'sgd', learningRate: 1 }, tree);
    expect(opt.names).toEqual([vy.name, vx.name, 'z']);
    const g = tf.tensor1d([0.5]);
    // Which variable the caller meant cannot be known: refused, nothing moves.
    expect(() => opt.applyGradients({ [vy.name]: g })).toThrow(/unambiguous name.*key gradients by path/);
    expect(opt.iterations).toBe(0);
    // A path that is no engine name, or an engine name that is no path, is unambiguous.
    opt.applyGradients({ z: g });
    opt.applyGradients({ [vz.name]: g });
    expectAllClose(vz, [2], 1e-7);
    expectAllClose(vx, [1], 1e-7);
    g.dispose();
    opt.dispose();
    tf.dispose([vx, vy, vz]);
  });

  it('an array of variables is a tree named by position, so its state restores into another instance', async () => {
    await useBackend(backend);
    const first = [createVariable(tf.tensor1d([1, 2]), 'arrayOpt/w'), createVariable(tf.tensor1d([3]), 'arrayOpt/b')];
    const second = [createVariable(tf.tensor1d([1, 2]), 'arrayOpt/w'), createVariable(tf.tensor1d([3]), 'arrayOpt/b')];
    expect(second[0]!.name).not.toBe(first[0]!.name); // engine names differ between instances
    const a = createOptimizer({ kind: 'adam', learningRate: 0.1 }, first);
    const b = createOptimizer({ kind: 'adam', learningRate: 0.1 }, second);
    expect(a.names).toEqual(['0', '1']);
    a.minimize(() => tf.add(tf.sum(tf.square(first[0]!)), tf.sum(first[1]!))).dispose();
    const weights = await a.getWeights();
    expect(weights.map((w) => w.name)).toEqual(['iter', '0/m', '0/v', '1/m', '1/v']);
    await b.setWeights(weights);
    expect(b.iterations).toBe(1);
    // lossAndGradientsOf names the same array's gradients the same way.
    const { loss, grads } = lossAndGradientsOf(() => tf.sum(second[0]!), second);
    expect([...grads.keys()]).toEqual(['0']);
    b.applyGradients(grads);
    tf.dispose([loss, ...grads.values(), ...weights.map((w) => w.tensor)]);
    [a, b].forEach((o) => o.dispose());
    tf.dispose([...first, ...second]);
  });

  it('a loss that no variable of the group reaches is an error that leaks nothing', async () => {
    await useBackend(backend);
    const mine = { w: createVariable(tf.tensor1d([1]), 'noPath/w') };
    const other = createVariable(tf.tensor1d([2]), 'noPath/other');
    const opt = createOptimizer({ kind: 'sgd', learningRate: 1 }, mine);
    const before = tf.memory().numTensors;
    expect(() => opt.minimize(() => ({ loss: tf.sum(other), twice: tf.mul(other, 2) }))).toThrow(/connection|encloses/);
    expect(() => opt.minimize(() => tf.sum(other))).toThrow();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => opt.applyGradients({})).toThrow(/at least one gradient/);
    expect(opt.iterations).toBe(0);
    opt.dispose();
    tf.dispose([mine.w, other]);
  });

  it('a variable reachable by two paths (tied weights) is optimised once per step, and its state restores whatever the key order', async () => {
    await useBackend(backend);
    const kernel = createVariable(tf.tensor1d([1, 1]), 'tied/kernel');
    const tree: ParamTree = { encoder: { kernel }, decoder: { kernel } };
    const opt = createOptimizer({ kind: 'adam', learningRate: 0.5 }, tree);
    expect(opt.names).toEqual(['encoder/kernel']);
    opt.minimize(() => tf.sum(kernel)).dispose();
    expectAllClose(kernel, [0.5, 0.5], 1e-6);
    // The same model with its keys in the other order: the tied kernel's first path is now
    // decoder/kernel, and the state saved as encoder/kernel/* still finds it.
    const kernel2 = createVariable(tf.tensor1d([1, 1]), 'tied/kernel');
    const reordered = createOptimizer({ kind: 'adam', learningRate: 0.5 }, { decoder: { kernel: kernel2 }, encoder: { kernel: kernel2 } });
    expect(reordered.names).toEqual(['decoder/kernel']);
    const weights = await opt.getWeights();
    await reordered.setWeights(weights);
    expect(values(reordered.slotVariables().get('decoder/kernel/m')!)).toEqual(values(opt.slotVariables().get('encoder/kernel/m')!));
    // Gradients may be keyed by either path.
    const g = tf.ones([2]);
    reordered.applyGradients({ 'encoder/kernel': g });
    expect(reordered.iterations).toBe(2);
    g.dispose();
    tf.dispose(weights.map((w) => w.tensor));
    [opt, reordered].forEach((o) => o.dispose());
    tf.dispose([kernel, kernel2]);
  });
});

describe('parameter types', () => {
  it('a model\'s own interfaces fit: params without an index signature, optional leaves left undefined', () => {
    interface DenseParams {
      kernel: tf.Variable;
      bias?: tf.Variable;
    }
    interface RbmParams {
      W: tf.Variable;
      layers: readonly DenseParams[];
    }
    const W = createVariable(tf.zeros([2, 2]), 'types/W');
    const kernel = createVariable(tf.zeros([2]), 'types/kernel');
    const params: RbmParams = { W, layers: [{ kernel, bias: undefined }] };
    const opt = createOptimizer({ kind: 'sgd', learningRate: 1 }, params);
    expect(opt.names).toEqual(['W', 'layers/0/kernel']);
    // A loss function typed as a union of the two forms picks the union overload.
    const either = (withAux: boolean): (() => tf.Tensor | { loss: tf.Tensor; extra: tf.Tensor }) =>
      withAux ? () => ({ loss: tf.sum(W), extra: tf.sum(kernel) }) : () => tf.sum(W);
    const out = opt.minimize(either(false));
    tf.dispose(out as tf.Tensor);
    opt.dispose();
    tf.dispose([W, kernel]);
  });
});

describe.each(TEST_BACKENDS)('weight decay on %s', (backend) => {
  it('weightDecay adds λ·w to the gradient: SGD shrinks by (1 − lr·λ) with a zero loss gradient', async () => {
    await useBackend(backend);
    const p = { W: createVariable(tf.tensor2d([[2, -4]]), 'wd/W'), bias: createVariable(tf.tensor1d([1]), 'wd/bias') };
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.1, weightDecay: 0.5, excludeBiasesFromDecay: true }, p);
    const zeroW = tf.zeros([1, 2]);
    const zeroB = tf.zeros([1]);
    for (let i = 0; i < 3; i++) expectNoLeaks(() => opt.applyGradients({ W: zeroW, bias: zeroB }));
    expectAllClose(p.W, [2 * 0.95 ** 3, -4 * 0.95 ** 3], 1e-6);
    expectAllClose(p.bias, [1], 1e-7); // a rank-1 parameter is left undecayed
    tf.dispose([zeroW, zeroB]);
    opt.dispose();
    disposeParams(p);
  });

  it('weight decay under Adam is rescaled by the moments; decoupled decay is not (AdamW)', async () => {
    await useBackend(backend);
    // With zero loss gradient, coupled L2 makes Adam's step ≈ lr·sign(w) (the moments normalise
    // λ·w away), while AdamW shrinks w by exactly lr·λ·w: the two must differ in kind.
    const coupled = { W: createVariable(tf.tensor1d([100, 0.01]), 'adamL2/W') };
    const decoupled = { W: createVariable(tf.tensor1d([100, 0.01]), 'adamW/W') };
    const optL2 = createOptimizer({ kind: 'adam', learningRate: 0.001, weightDecay: 0.1 }, coupled);
    const optW = createOptimizer({ kind: 'adam', learningRate: 0.001, decoupledWeightDecay: 0.1 }, decoupled);
    const zero = tf.zeros([2]);
    optL2.applyGradients({ W: zero });
    optW.applyGradients({ W: zero });
    // Adam's first step is lr·g/(|g| + ε') ≈ lr for any g ≠ 0.
    expectAllClose(coupled.W, [100 - 0.001, 0.01 - 0.001], 1e-4);
    // AdamW: w·(1 − lr·λ), and the rule itself sees a zero gradient.
    expectAllClose(decoupled.W, [100 * (1 - 0.0001), 0.01 * (1 - 0.0001)], 1e-6);
    zero.dispose();
    [optL2, optW].forEach((o) => o.dispose());
    disposeParams(coupled);
    disposeParams(decoupled);
  });
});

describe.each(TEST_BACKENDS)('minimize with auxiliary values on %s', (backend) => {
  it('returns the loss and aux values (before the update) without tf.keep, leaking nothing', async () => {
    await useBackend(backend);
    const p = { w: createVariable(tf.tensor1d([3]), 'aux/w') };
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.25 }, p);
    const start = tf.memory().numTensors;
    const out = opt.minimize(() => {
      const reconstruction = tf.sum(tf.square(p.w)) as tf.Scalar;
      const kl = tf.sum(tf.abs(p.w)) as tf.Scalar;
      return { loss: tf.add(reconstruction, kl) as tf.Scalar, reconstruction, kl, weight: p.w, beta: 1 };
    });
    expect(out.loss.dataSync()[0]).toBeCloseTo(12, 5);
    expect(out.reconstruction.dataSync()[0]).toBeCloseTo(9, 5);
    expect(out.kl.dataSync()[0]).toBeCloseTo(3, 5);
    expect(out.beta).toBe(1);
    // An aux value that is the variable itself comes back as a copy: disposing it is safe.
    expect(out.weight).not.toBe(p.w);
    expect(values(out.weight)).toEqual([3]);
    // d/dw (w² + |w|) = 2w + 1 = 7; w ← 3 − 0.25·7.
    expectAllClose(p.w, [1.25], 1e-6);
    tf.dispose([out.loss, out.reconstruction, out.kl, out.weight]);
    expect(tf.memory().numTensors).toBe(start);
    expect(p.w.isDisposed).toBe(false);
    opt.dispose();
    disposeParams(p);
  });

  it('lossAndGradientsOf keys gradients by tree path and leaves the variables alone', async () => {
    await useBackend(backend);
    const p = { layers: [{ W: createVariable(tf.tensor1d([1, 2]), 'lg/0/W') }, { W: createVariable(tf.tensor1d([3]), 'lg/1/W') }] };
    const { loss, aux, grads } = lossAndGradientsOf(() => tf.add(tf.sum(tf.square(p.layers[0]!.W)), tf.sum(p.layers[1]!.W)) as tf.Scalar, p);
    expect(aux).toBeNull();
    expect([...grads.keys()]).toEqual(['layers/0/W', 'layers/1/W']);
    expect(values(grads.get('layers/0/W')!)).toEqual([2, 4]);
    expect(values(grads.get('layers/1/W')!)).toEqual([1]);
    expect(loss.dataSync()[0]).toBe(8);
    tf.dispose([loss, ...grads.values()]);
    disposeParams(p);
  });
});

describe('optimizer options', () => {
  it('an unknown option is a ConfigError that lists the valid ones (bug 6)', () => {
    const w = tf.variable(tf.zeros([1]), true, 'options/w');
    expect(() => createOptimizer({ kind: 'adam', learningRate: 0.1, clipnorm: 1 } as never, [w])).toThrow(ConfigError);
    expect(() => createOptimizer({ kind: 'adam', learningRate: 0.1, clipnorm: 1 } as never, [w])).toThrow(
      /"clipnorm".*learningRate, clipNorm, clipValue, weightDecay, decoupledWeightDecay, excludeBiasesFromDecay, beta1, beta2, epsilon/,
    );
    expect(() => createOptimizer({ kind: 'sgd', learningRate: 0.1, weightDecay: -1 }, [w])).toThrow(/"weightDecay"/);
    expect(() => createOptimizer({ kind: 'sgd', learningRate: 0.1, weightDecay: 1e-4, decoupledWeightDecay: 1e-2 }, [w])).not.toThrow();
    w.dispose();
  });
});
