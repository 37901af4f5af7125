// Backends are registered here, in tests only: the package itself never imports one.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
