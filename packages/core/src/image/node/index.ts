// Node-only image output (file system).
export { writePng } from './write-png.js';
