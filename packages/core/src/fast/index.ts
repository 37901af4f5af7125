export { matMul, prefersExplicitTranspose } from './matmul.js';
export { conv2dOp, conv2dTransposeOp, conv2dFilterGradient, samePadding, convGradientKernels, type ConvGradientKernels } from './conv.js';
export { gatherRows } from './gather-rows.js';
export { sampleBernoulliWith, BERNOULLI_KERNEL } from './sample-bernoulli.js';
export { transpose2d, TRANSPOSE_KERNEL } from './transpose.js';
export { addScaledDifference, rowSumDifference, ADD_SCALED_DIFFERENCE_KERNEL, ROW_SUM_DIFFERENCE_KERNEL } from './contrastive.js';
export { addRowBias, ADD_ROW_BIAS_KERNEL } from './add-bias.js';
