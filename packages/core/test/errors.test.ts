import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, HelmholtzError, ShapeError } from '../src/errors.js';
import { TensorLeakError } from '../src/testing/leaks.js';

class CustomError extends ConfigError {
  static override readonly errorName: string = 'CustomError';
}

describe('error classes', () => {
  it('carry literal names and their class chain, so instanceof is exact', () => {
    const custom = new CustomError('field', 'x', 1);
    expect(custom.name).toBe('CustomError');
    expect(custom).toBeInstanceOf(CustomError);
    expect(custom).toBeInstanceOf(ConfigError);
    expect(custom).toBeInstanceOf(HelmholtzError);
    expect(custom).toBeInstanceOf(Error);
    expect(custom instanceof ShapeError).toBe(false);
    expect(new ConfigError('f', 'x', 1) instanceof CustomError).toBe(false);
    expect(new TensorLeakError(1, 2, 'x').name).toBe('TensorLeakError');
    // A plain object carrying a look-alike name is no Helmholtz error.
    expect({ name: 'CheckpointError' } instanceof CheckpointError).toBe(false);
  });
});

describe('brand checks', () => {
  it('an Rng is an instance of a subclass only when it was made by that subclass', async () => {
    const { Rng } = await import('../src/random/rng.js');
    class SeededTwice extends Rng {}
    expect(new SeededTwice(1)).toBeInstanceOf(Rng);
    expect(new Rng(1) instanceof SeededTwice).toBe(false);
  });

  it('an error subclass without its own errorName is named by its class', () => {
    class Unnamed extends ShapeError {}
    const e = new Unnamed('x', [1], [2]);
    expect(e.name).toBe('Unnamed');
    expect(e).toBeInstanceOf(ShapeError);
  });
});
