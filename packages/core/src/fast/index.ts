export { matMul, prefersExplicitTranspose } from './matmul.js';
