export { Rng, toRng, type RngLike, type RngState } from './rng.js';
export {
  createDeviceRandom,
  DeviceRandom,
  DEVICE_RANDOM_BITS,
  DEVICE_RANDOM_COMPONENTS,
  type DeviceRandomOptions,
  type DeviceRandomState,
} from './device-random.js';
