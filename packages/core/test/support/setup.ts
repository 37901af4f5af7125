// Backends are registered here, in tests only: the library itself never imports one.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../../dist/index.js';
