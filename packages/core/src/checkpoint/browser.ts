import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import type { CheckpointHandler } from './handlers.js';

function handlerFor(url: string, kind: 'save' | 'load'): tf.io.IOHandler {
  const handlers = kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url);
  const handler = handlers[0];
  if (!handler) {
    throw new CheckpointError(url, `TensorFlow.js has no ${kind} handler for it here (it runs only in a browser)`);
  }
  return handler;
}

function requireGlobal(name: 'indexedDB' | 'document', location: string, fix: string): void {
  if ((globalThis as Record<string, unknown>)[name] === undefined) {
    throw new CheckpointError(location, `${name} is not available in this environment (browsers only). ${fix}`);
  }
}

const NODE_FIX = 'In Node use directoryCheckpoint() from "@helmholtz/core/node", or memoryCheckpoint().';

/**
 * A checkpoint in the browser's IndexedDB under `name` (tfjs's `indexeddb://name` store:
 * list and delete with `tf.io.listModels()` / `tf.io.removeModel('indexeddb://name')`).
 * Saving replaces the previous checkpoint of that name in one IndexedDB transaction.
 */
export function indexedDbCheckpoint(name: string): CheckpointHandler {
  const location = `indexeddb://${name}`;
  return {
    location,
    async save(artifacts) {
      requireGlobal('indexedDB', location, NODE_FIX);
      return handlerFor(location, 'save').save!(artifacts);
    },
    async load() {
      requireGlobal('indexedDB', location, NODE_FIX);
      return handlerFor(location, 'load').load!();
    },
  };
}

/**
 * Saves a checkpoint as two browser downloads, `<name>.json` and `<name>.weights.bin` (the
 * same format with one shard). Load them back with
 * `loadCheckpoint(tf.io.browserFiles([jsonFile, weightsFile]), ...)` from an `<input type=file>`.
 */
export function downloadCheckpoint(name: string): CheckpointHandler {
  const location = `downloads://${name}`;
  return {
    location,
    async save(artifacts) {
      requireGlobal('document', location, NODE_FIX);
      // tfjs registers the downloads:// router in the module that defines tf.io.browserFiles.
      // Vite 8's bundler (rolldown) drops that module when none of its exports is used, despite
      // tfjs-core's sideEffects list; using one keeps the registration in every bundle.
      if (typeof tf.io.browserFiles !== 'function') {
        throw new CheckpointError(location, 'this build of @tensorflow/tfjs-core has no tf.io.browserFiles, so no downloads:// handler');
      }
      return handlerFor(location, 'save').save!(artifacts);
    },
  };
}
