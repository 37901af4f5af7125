import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadCheckpoint, indexedDbCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/index.js';
import { CheckpointError } from '../../src/errors.js';
import { flattenParams } from '../../src/params/index.js';
import { useBackend } from '../../src/testing.js';
import { disposeModel, snapshot, tinyModel } from './fixtures.js';

describe('browser checkpoint targets outside a browser', () => {
  it('indexedDbCheckpoint says IndexedDB is absent and what to use instead, on save and on load', async () => {
    await useBackend('cpu');
    const model = tinyModel(1);
    const handler = indexedDbCheckpoint('rbm-mnist');
    expect(handler.location).toBe('indexeddb://rbm-mnist');
    const saveError = await saveCheckpoint(handler, { params: model.params, config: model.config }).catch((e: unknown) => e);
    expect(saveError).toBeInstanceOf(CheckpointError);
    expect((saveError as Error).message).toBe(
      'checkpoint indexeddb://rbm-mnist: indexedDB is not available in this environment (browsers only). ' +
        'In Node use directoryCheckpoint() from "@helmholtz/core/node", or memoryCheckpoint().',
    );
    await expect(loadCheckpoint(handler, { params: model.params, config: model.config })).rejects.toThrow(/indexedDB is not available/);
    disposeModel(model);
  });

  it('downloadCheckpoint needs a document and cannot load', async () => {
    await useBackend('cpu');
    const model = tinyModel(1);
    const handler = downloadCheckpoint('rbm');
    await expect(saveCheckpoint(handler, { params: model.params, config: model.config })).rejects.toThrow(
      /checkpoint downloads:\/\/rbm: document is not available/,
    );
    await expect(loadCheckpoint(handler, { params: model.params, config: model.config })).rejects.toThrow(/expected a tfjs IOHandler with a load\(\) method, got one with methods save/);
    disposeModel(model);
  });
});

/**
 * The smallest DOM tfjs's downloads handler and browserFiles loader touch: anchors whose
 * click captures the Blob behind their object URL, and a FileReader over Node's Blob.
 */
function shimBrowser(): { downloads: Map<string, Blob>; restore: () => void } {
  const downloads = new Map<string, Blob>();
  const urls = new Map<string, Blob>();
  const g = globalThis as Record<string, unknown>;
  const saved = { document: g['document'], window: g['window'], MouseEvent: g['MouseEvent'], FileReader: g['FileReader'] };
  g['document'] = {
    createElement: () => ({
      download: '',
      href: '',
      dispatchEvent(this: { download: string; href: string }) {
        downloads.set(this.download, urls.get(this.href)!);
        return true;
      },
    }),
  };
  g['window'] = {
    URL: {
      createObjectURL: (blob: Blob) => {
        const url = `blob:${urls.size}`;
        urls.set(url, blob);
        return url;
      },
    },
  };
  g['MouseEvent'] = class {};
  g['FileReader'] = class {
    onload: ((e: { target: { result: unknown } }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    readAsText(blob: Blob) {
      void blob.text().then((result) => this.onload?.({ target: { result } }));
    }
    readAsArrayBuffer(blob: Blob) {
      void blob.arrayBuffer().then((result) => this.onload?.({ target: { result } }));
    }
  };
  const wasBrowser = tf.env().getBool('IS_BROWSER');
  tf.env().set('IS_BROWSER', true);
  return {
    downloads,
    restore: () => {
      tf.env().set('IS_BROWSER', wasBrowser);
      Object.assign(g, saved);
    },
  };
}

describe('browser downloads with a shimmed DOM', () => {
  let restore = () => {};
  afterEach(() => restore());

  it('downloadCheckpoint files load back through tf.io.browserFiles with config and metadata', async () => {
    await useBackend('cpu');
    const shim = shimBrowser();
    restore = shim.restore;
    const a = tinyModel(1);
    const b = tinyModel(2);
    await saveCheckpoint(downloadCheckpoint('rbm'), { params: a.params, config: a.config, metadata: { epoch: 4 } });
    expect([...shim.downloads.keys()]).toEqual(['rbm.json', 'rbm.weights.bin']);
    const files = [...shim.downloads].map(([name, blob]) => new File([blob], name));
    const restored = await loadCheckpoint(tf.io.browserFiles(files), { params: b.params, config: b.config });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    expect(restored).toMatchObject({ config: a.config, metadata: { epoch: 4 } });
    disposeModel(a);
    disposeModel(b);
  });

  it('a changed byte in the downloaded weights is refused on load through tf.io.browserFiles', async () => {
    await useBackend('cpu');
    const shim = shimBrowser();
    restore = shim.restore;
    const a = tinyModel(1);
    const b = tinyModel(2);
    await saveCheckpoint(downloadCheckpoint('rbm'), { params: a.params, config: a.config });
    const bytes = new Uint8Array(await shim.downloads.get('rbm.weights.bin')!.arrayBuffer());
    bytes[5] = bytes[5]! ^ 0x40; // one bit of the first kernel value's exponent byte
    const files = [new File([shim.downloads.get('rbm.json')!], 'rbm.json'), new File([bytes], 'rbm.weights.bin')];
    const before = snapshot(b.params, flattenParams);
    await expect(loadCheckpoint(tf.io.browserFiles(files), { params: b.params, config: b.config })).rejects.toThrow(
      /the weight data is corrupt: its CRC-32 is [0-9a-f]{8}, the manifest recorded "[0-9a-f]{8}"/,
    );
    expect(snapshot(b.params, flattenParams)).toEqual(before);
    disposeModel(a);
    disposeModel(b);
  });
});
