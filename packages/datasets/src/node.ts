// @helmholtz/datasets for Node: the browser-safe API plus loaders that read the file system.
export * from './common.js';
export { loadMnist } from './node/mnist.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES, type LoadFashionMnistOptions } from './node/fashion-mnist.js';
export { loadIdxFile } from './node/idx-file.js';
export { readMaybeGzip } from './node/read-bytes.js';
export { loadImageFolder, type ImageFolder, type LoadImageFolderOptions } from './node/image-folder.js';
export { readBytes } from './browser/read-bytes.js';
