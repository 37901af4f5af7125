// The public surface of @helmholtz/core. Each area keeps its own list in its index file.
import './gradients.js';
export * from './errors.js';
export * from './random/index.js';
export * from './fast/index.js';
export * from './params/index.js';
export * from './checkpoint/index.js';
export * from './layers/index.js';
export * from './losses/index.js';
export * from './optim/index.js';
export * from './train/index.js';
export * from './image/index.js';
export * from './probability/index.js';
export * from './likelihood/index.js';
export * from './model/index.js';
