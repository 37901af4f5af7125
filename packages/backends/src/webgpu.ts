/**
 * `@helmholtz/backends/webgpu`: @tensorflow/tfjs-backend-webgpu imported by name, so that a
 * bundler (Vite, esbuild, webpack) puts it in the app's bundle. The main entry cannot do this
 * itself: the package is an optional peer, and a literal import of it would break every build
 * (and every Node process) that lacks it. Browser apps pass the value to initBackend:
 *
 *   import { initBackend } from '@helmholtz/backends';
 *   import { webgpu } from '@helmholtz/backends/webgpu';
 *   await initBackend('webgpu', { preloaded: [webgpu] }); // or 'auto'
 *
 * In a browser with navigator.gpu the package registers its backend as it is evaluated. In Node
 * it registers nothing (there is no navigator.gpu then): use initBackend('node-webgpu') there,
 * which imports it after installing Dawn, and do not import this entry first.
 */
import * as tfjsBackendWebgpu from '@tensorflow/tfjs-backend-webgpu';
import type { PreloadedBackend } from './loading.js';

export type { PreloadedBackend } from './loading.js';

/** The preloaded @tensorflow/tfjs-backend-webgpu module, for `initBackend(choice, { preloaded: [webgpu] })`. */
export const webgpu: PreloadedBackend = Object.freeze({
  packageName: '@tensorflow/tfjs-backend-webgpu',
  module: tfjsBackendWebgpu,
});
