// Everything that runs the same in Node and in browsers.
export { Dataset, oneHotLabels, type Batch, type BatchOptions, type DatasetInit, type DatasetValues, type ValueMapping } from './dataset.js';
export { describeProtocol, type Binarization, type DatasetProtocol, type ValueRange } from './protocol.js';
export { binarize, filterClasses, labelledPerClass, scale, splitValidation, take } from './transforms.js';
export { parseIdx, isGzip, type IdxArray, type IdxType, type ParseIdxOptions } from './idx.js';
export { DEFAULT_MAX_BYTES } from './max-bytes.js';
export type { ReadOptions } from './read-limits.js';
export { datasetFromIdx, type IdxPairSource } from './idx-dataset.js';
export { fashionMnistSplit, identicalGroups, FASHION_TEST_PER_CLASS, FASHION_SPLIT_VERSION } from './fashion-split.js';
export { fnv1a } from './hash.js';
export * from './synthetic/index.js';
export type { LoadMnistOptions, MnistSplit } from './load-options.js';
export type { ByteSource } from './browser/read-bytes.js';
