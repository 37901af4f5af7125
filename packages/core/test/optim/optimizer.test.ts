import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  ConfigError,
  createOptimizer,
  createVariable,
  disposeParams,
  type OptimizerConfig,
  type ParamTree,
  ShapeError,
} from '../../src/index.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';

function values(v: tf.Tensor): number[] {
  return Array.from(v.dataSync());
}

function tree(prefix: string, w: number[], b: number[]): ParamTree {
  return {
    W: createVariable(tf.tensor1d(w), `${prefix}/W`),
    b: createVariable(tf.tensor1d(b), `${prefix}/b`),
  };
}

describe.each(TEST_BACKENDS)('ParameterGroupOptimizer on %s', (backend) => {
  it('applyGradients with pseudo-gradients equals w − lr·g for SGD, keyed by path or engine name', async () => {
    await useBackend(backend);
    const params = tree('rbm', [1, 2, 3], [0.5]);
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.1 }, params);
    const gW = tf.tensor1d([1, -2, 0.5]);
    const gb = tf.tensor1d([4]);
    expectNoLeaks(() => opt.applyGradients({ W: gW, [(params.b as tf.Variable).name]: gb }));
    expectAllClose(params.W as tf.Variable, [0.9, 2.2, 2.95], 1e-6);
    expectAllClose(params.b as tf.Variable, [0.1], 1e-6);
    // A variable without a gradient stays where it is.
    expectNoLeaks(() => opt.applyGradients(new Map([['W', gW]])));
    expectAllClose(params.W as tf.Variable, [0.8, 2.4, 2.9], 1e-6);
    expectAllClose(params.b as tf.Variable, [0.1], 1e-6);
    expect(opt.iterations).toBe(2);
    tf.dispose([gW, gb]);
    opt.dispose();
    disposeParams(params);
  });

  it('minimize moves only its own group: a generator step leaves the discriminator unchanged', async () => {
    await useBackend(backend);
    const generator = tree('gen', [1, 1], [0]);
    const discriminator = tree('disc', [2, -1], [0.3]);
    const opt = createOptimizer({ kind: 'adam', learningRate: 0.05 }, generator);
    const before = { W: values(discriminator.W as tf.Variable), b: values(discriminator.b as tf.Variable) };
    const genBefore = values(generator.W as tf.Variable);
    // The loss depends on both groups, as a GAN's generator loss does.
    const lossFn = () =>
      tf.sum(
        tf.square(
          tf.add(tf.mul(generator.W as tf.Variable, discriminator.W as tf.Variable), tf.add(generator.b as tf.Variable, discriminator.b as tf.Variable)),
        ),
      ) as tf.Scalar;
    for (let i = 0; i < 3; i++) {
      const loss = expectNoLeaks(() => {
        const l = opt.minimize(lossFn);
        l.dispose();
        return l;
      });
      expect(loss.isDisposed).toBe(true);
    }
    expect(values(discriminator.W as tf.Variable)).toEqual(before.W);
    expect(values(discriminator.b as tf.Variable)).toEqual(before.b);
    expect(values(generator.W as tf.Variable)).not.toEqual(genBefore);
    opt.dispose();
    disposeParams(generator);
    disposeParams(discriminator);
  });

  it('minimize returns the loss before the update, owned by the caller', async () => {
    await useBackend(backend);
    const w = createVariable(tf.scalar(3), 'quadratic/w');
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.25 }, [w]);
    const before = tf.memory().numTensors;
    const loss = opt.minimize(() => tf.square(w) as tf.Scalar);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(loss.dataSync()[0]).toBeCloseTo(9, 5);
    // d(w²)/dw = 6: w = 3 − 0.25·6.
    expect(w.dataSync()[0]).toBeCloseTo(1.5, 5);
    loss.dispose();
    opt.dispose();
    w.dispose();
  });

  it('momentum follows v ← m_t·v + g, w ← w − lr_t·v with a momentum ramp and a decaying rate', async () => {
    await useBackend(backend);
    const w = createVariable(tf.tensor1d([1, -1]), 'momentum/w');
    const config: OptimizerConfig = {
      kind: 'momentum',
      learningRate: { kind: 'step', initial: 0.1, factor: 0.5, every: 2 },
      momentum: { kind: 'linear', from: 0.5, to: 0.9, steps: 2 },
    };
    const opt = createOptimizer(config, [w]);
    const grads = [
      [1, 2],
      [0.5, -1],
      [-2, 0.25],
      [1, 1],
    ];
    let ref = [1, -1];
    let vel = [0, 0];
    for (const [t, g] of grads.entries()) {
      const m = 0.5 + 0.4 * Math.min(t / 2, 1);
      const lr = 0.1 * 0.5 ** Math.floor(t / 2);
      expect(opt.momentum).toBeCloseTo(m, 12);
      expect(opt.learningRate).toBeCloseTo(lr, 12);
      vel = vel.map((v, i) => m * v + (g[i] as number));
      ref = ref.map((x, i) => x - lr * (vel[i] as number));
      const gt = tf.tensor1d(g);
      expectNoLeaks(() => opt.applyGradients({ [w.name]: gt }));
      gt.dispose();
      expectAllClose(w, ref, 1e-5);
    }
    opt.dispose();
    w.dispose();
  });

  it('adam with exponential learning-rate decay matches the textbook update (Kingma & Ba 2015, Alg. 1)', async () => {
    await useBackend(backend);
    const w = createVariable(tf.tensor1d([0.5, -0.3, 2]), 'adam/w');
    const lrConfig = { kind: 'exponential', initial: 0.01, decayRate: 0.5, decaySteps: 1 } as const;
    const opt = createOptimizer({ kind: 'adam', learningRate: lrConfig, beta1: 0.8, beta2: 0.99, epsilon: 1e-8 }, [w]);
    const gs = [
      [1, -1, 0.5],
      [0.2, 0.3, -4],
      [-1, 2, 1],
    ];
    let ref = [0.5, -0.3, 2];
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    for (const [t, g] of gs.entries()) {
      const lr = 0.01 * 0.5 ** t;
      m = m.map((x, i) => 0.8 * x + 0.2 * (g[i] as number));
      v = v.map((x, i) => 0.99 * x + 0.01 * (g[i] as number) ** 2);
      const mHat = m.map((x) => x / (1 - 0.8 ** (t + 1)));
      const vHat = v.map((x) => x / (1 - 0.99 ** (t + 1)));
      ref = ref.map((x, i) => x - (lr * (mHat[i] as number)) / (Math.sqrt(vHat[i] as number) + 1e-8));
      const gt = tf.tensor1d(g);
      opt.applyGradients({ [w.name]: gt });
      gt.dispose();
      expectAllClose(w, ref, 1e-5);
    }
    opt.dispose();
    w.dispose();
  });

  it('rmsprop matches ms ← ρ·ms + (1−ρ)g², w ← w − lr·g/sqrt(ms + ε)', async () => {
    await useBackend(backend);
    const w = createVariable(tf.tensor1d([1, 2]), 'rmsprop/w');
    const opt = createOptimizer({ kind: 'rmsprop', learningRate: 0.01, decay: 0.9, epsilon: 1e-6 }, [w]);
    let ref = [1, 2];
    let ms = [0, 0];
    for (const g of [
      [1, -2],
      [3, 0.5],
    ]) {
      ms = ms.map((x, i) => 0.9 * x + 0.1 * (g[i] as number) ** 2);
      ref = ref.map((x, i) => x - (0.01 * (g[i] as number)) / Math.sqrt((ms[i] as number) + 1e-6));
      const gt = tf.tensor1d(g);
      opt.applyGradients({ [w.name]: gt });
      gt.dispose();
      expectAllClose(w, ref, 1e-5);
    }
    opt.dispose();
    w.dispose();
  });

  it('clipNorm caps the global norm of the update; clipValue clamps each element', async () => {
    await useBackend(backend);
    const params = tree('clip', [0, 0], [0]);
    const byNorm = createOptimizer({ kind: 'sgd', learningRate: 1, clipNorm: 1 }, params);
    // Global norm of (3, 0) and (4) is 5: the update is g / 5.
    const gW = tf.tensor1d([3, 0]);
    const gb = tf.tensor1d([4]);
    expectNoLeaks(() => byNorm.applyGradients({ W: gW, b: gb }));
    expectAllClose(params.W as tf.Variable, [-0.6, 0], 1e-6);
    expectAllClose(params.b as tf.Variable, [-0.8], 1e-6);
    const byValue = createOptimizer({ kind: 'sgd', learningRate: 1, clipValue: 0.5 }, params);
    expectNoLeaks(() => byValue.applyGradients({ W: gW, b: gb }));
    expectAllClose(params.W as tf.Variable, [-1.1, 0], 1e-6);
    expectAllClose(params.b as tf.Variable, [-1.3], 1e-6);
    tf.dispose([gW, gb]);
    byNorm.dispose();
    byValue.dispose();
    disposeParams(params);
  });

  it.each(['sgd', 'momentum', 'adam', 'rmsprop'] as const)(
    '%s allocates its state up front: updates keep numTensors, dispose releases all of it',
    async (kind) => {
      await useBackend(backend);
      const params = tree(`alloc-${kind}`, [1, 2], [3]);
      const start = tf.memory().numTensors;
      const opt = createOptimizer({ kind, learningRate: { kind: 'cosine', initial: 0.1, steps: 5 } }, params);
      const g = tf.ones([2]);
      const afterCreate = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) opt.applyGradients({ W: g });
      for (let i = 0; i < 5; i++) opt.minimize(() => tf.sum(tf.square(params.b as tf.Variable)) as tf.Scalar).dispose();
      expect(tf.memory().numTensors).toBe(afterCreate);
      opt.dispose();
      g.dispose();
      expect(tf.memory().numTensors).toBe(start);
      disposeParams(params);
    },
  );

  it('getWeights/setWeights restore Adam state: the restored optimizer continues identically', async () => {
    await useBackend(backend);
    const a = tree('ckptA', [1, -1], [0.5]);
    const b = tree('ckptB', [1, -1], [0.5]);
    const config: OptimizerConfig = { kind: 'adam', learningRate: { kind: 'inverseTime', initial: 0.1, decayRate: 1 } };
    const optA = createOptimizer(config, a);
    const optB = createOptimizer(config, b);
    const loss = (p: ParamTree) => () =>
      tf.sum(tf.square(tf.sub(p.W as tf.Variable, tf.tensor1d([3, 4])))) as tf.Scalar;
    for (let i = 0; i < 3; i++) optA.minimize(loss(a)).dispose();
    // Bring B's parameters and optimizer state to A's.
    (b.W as tf.Variable).assign(a.W as tf.Variable);
    (b.b as tf.Variable).assign(a.b as tf.Variable);
    const before = tf.memory().numTensors;
    const weights = await optA.getWeights();
    expect(weights.map((w) => w.name)).toEqual(['iter', 'W/m', 'W/v', 'b/m', 'b/v']);
    await optB.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
    expect(tf.memory().numTensors).toBe(before);
    expect(optB.iterations).toBe(3);
    expect(optB.learningRate).toBeCloseTo(0.1 / 4, 12);
    for (let i = 0; i < 2; i++) {
      optA.minimize(loss(a)).dispose();
      optB.minimize(loss(b)).dispose();
    }
    expect(values(b.W as tf.Variable)).toEqual(values(a.W as tf.Variable));
    const fresh = await optA.getWeights();
    await expect(optB.setWeights(fresh.slice(0, 3))).rejects.toThrow(CheckpointError);
    tf.dispose(fresh.map((w) => w.tensor));
    optA.dispose();
    optB.dispose();
    disposeParams(a);
    disposeParams(b);
  });

  it('rejects gradients for variables outside the group, and of the wrong shape', async () => {
    await useBackend(backend);
    const mine = tree('mine', [1, 2], [0]);
    const other = createVariable(tf.tensor1d([1, 2]), 'other/W');
    const opt = createOptimizer({ kind: 'momentum', learningRate: 0.1 }, mine);
    const g = tf.ones([2]);
    const wrong = tf.ones([3]);
    expect(() => opt.applyGradients({ [other.name]: g })).toThrow(ConfigError);
    expect(() => opt.applyGradients({ [other.name]: g })).toThrow(/W, b/);
    expect(() => opt.applyGradients({ W: wrong })).toThrow(ShapeError);
    expect(opt.iterations).toBe(0);
    tf.dispose([g, wrong, other]);
    opt.dispose();
    disposeParams(mine);
  });
});

describe('optimizer config validation', () => {
  it('names the bad field in a ConfigError', () => {
    const w = tf.variable(tf.zeros([1]), true, 'validation/w');
    const bad: [OptimizerConfig, RegExp][] = [
      [{ kind: 'adagrad' as never, learningRate: 0.1 }, /"kind"/],
      [{ kind: 'sgd', learningRate: 0.1, momentum: 0.9 }, /"momentum".*kind "momentum"/],
      [{ kind: 'adam', learningRate: 0.1, beta1: 1 }, /"beta1"/],
      [{ kind: 'adam', learningRate: -1 as never, clipNorm: 0 }, /"clipNorm"/],
      [{ kind: 'rmsprop', learningRate: { kind: 'linear', from: 1, to: 0, steps: -1 } }, /"learningRate\.steps"/],
    ];
    for (const [config, message] of bad) {
      expect(() => createOptimizer(config, [w])).toThrow(ConfigError);
      expect(() => createOptimizer(config, [w])).toThrow(message);
    }
    expect(() => createOptimizer({ kind: 'sgd', learningRate: 0.1 }, [])).toThrow(/at least one trainable/);
    w.dispose();
  });
});
