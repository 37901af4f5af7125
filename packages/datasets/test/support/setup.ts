// Tests run on the backends a Node application would use; gradients are not needed here.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
