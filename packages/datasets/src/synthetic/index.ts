// Synthetic data sets: pure JavaScript, seeded, the same in Node and browsers.
export { barsAndStripes, isBarsOrStripes, type BarsAndStripes, type BarsAndStripesOptions } from './bars-and-stripes.js';
export { type GaussianMixture } from './gaussian-mixture.js';
export { ringOfGaussians, type RingOfGaussiansOptions } from './ring-of-gaussians.js';
export { gridOfGaussians, type GridOfGaussiansOptions } from './grid-of-gaussians.js';
export { planeIn3d, type PlaneIn3d, type PlaneIn3dOptions } from './plane-in-3d.js';
export { swissRoll, type SwissRoll, type SwissRollOptions } from './swiss-roll.js';
export { noisySines, type NoisySines, type NoisySinesOptions } from './noisy-sines.js';
