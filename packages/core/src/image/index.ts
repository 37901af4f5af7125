// Image helpers: sample grids, filter pictures and PNG encoding (browser-safe).
export { imageGrid, type ImageGridOptions, type ImageRange } from './grid.js';
export { filterGrid, type FilterGridOptions } from './filters.js';
export { toUint8Pixels, type PixelImage } from './pixels.js';
export { decodePng, encodePng } from './png.js';
