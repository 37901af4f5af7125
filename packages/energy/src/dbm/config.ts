import { ConfigError } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';

export const DBM_KIND = 'dbm';

/** Config of a {@link DBM}. Plain JSON: it is saved with the model and rebuilds it. */
export interface DbmConfig {
  /**
   * Layer sizes from the data up, `[visible, h1, h2, ..., hL]`, with at least two hidden layers
   * (one hidden layer is an RBM: use `BernoulliRBM`). All units are binary.
   */
  layers: number[];
  /** Seed of the initial weights and of the initial persistent chains (default 0). */
  seed?: number;
  /** Standard deviation of the initial weights, N(0, initialScale²) (default 0.01). */
  initialScale?: number;
  /**
   * Number of persistent fantasy particles, the negative phase of training (default 100, as
   * Salakhutdinov & Hinton 2009 used). Their state of every layer is part of the model's `state`
   * and of its checkpoints.
   */
  chains?: number;
  /**
   * Centre every layer (Montavon & Müller 2012): the energy uses x − o for each layer's state x,
   * with offsets o kept in the model's state and moved towards the data's mean activations
   * during training. The distribution a set of parameters defines is the same as an uncentred
   * DBM's with other biases; what changes is the gradient, which is better conditioned. Default false.
   */
  centering?: boolean;
  /** Shape of one visible vector as an image, for pictures only (e.g. `[28, 28]`). */
  imageShape?: number[];
}

const DBM_KEYS = ['layers', 'seed', 'initialScale', 'chains', 'centering', 'imageShape'];

/** Validates a DBM config; returns a copy with only the fields given. */
export function validateDbmConfig(config: DbmConfig): DbmConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(DBM_KIND, 'a config object { layers: [visible, h1, h2, ...] }', config);
  }
  rejectUnknownKeys(DBM_KIND, config, DBM_KEYS);
  const layers = config.layers;
  if (!Array.isArray(layers) || layers.length < 3) {
    throw new ConfigError(
      `${DBM_KIND}.layers`,
      'an array [visible, h1, h2, ...] with at least two hidden layers, e.g. [784, 500, 1000] (one hidden layer is an RBM: use BernoulliRBM)',
      layers,
    );
  }
  const out: DbmConfig = { layers: layers.map((size, i) => positiveInteger(`${DBM_KIND}.layers[${i}]`, size)) };
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${DBM_KIND}.seed`, config.seed);
  if (config.initialScale !== undefined) {
    const s = config.initialScale;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw new ConfigError(`${DBM_KIND}.initialScale`, 'a finite number >= 0', s);
    out.initialScale = s;
  }
  if (config.chains !== undefined) out.chains = positiveInteger(`${DBM_KIND}.chains`, config.chains);
  if (config.centering !== undefined) {
    if (typeof config.centering !== 'boolean') throw new ConfigError(`${DBM_KIND}.centering`, 'true or false', config.centering);
    out.centering = config.centering;
  }
  if (config.imageShape !== undefined) {
    const shape = config.imageShape;
    const size = out.layers[0] as number;
    const ok =
      Array.isArray(shape) &&
      (shape.length === 2 || shape.length === 3) &&
      shape.every((d) => Number.isInteger(d) && d > 0) &&
      shape.reduce((a, b) => a * b, 1) === size;
    if (!ok) throw new ConfigError(`${DBM_KIND}.imageShape`, `[height, width] or [height, width, channels] with ${size} elements in all`, shape);
    out.imageShape = [...shape];
  }
  return out;
}
