export { Rng, toRng, type RngLike, type RngState } from './rng.js';
