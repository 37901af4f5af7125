import { DataError } from '@helmholtz/core';
import { Dataset } from './dataset.js';
import { parseIdx } from './idx.js';

export interface IdxPairSource {
  /** Dataset name, e.g. 'mnist'. */
  name: string;
  /** Where the bytes came from, written into the protocol. */
  source: string;
  /** Split description, written into the protocol. */
  split: string;
  numClasses: number;
  imagesLabel: string;
  labelsLabel: string;
  /** The largest file accepted, in bytes (default 256 MiB); see `parseIdx`. */
  maxBytes?: number;
}

/**
 * A labelled image dataset from an IDX image file (uint8 `[n, h, w]`) and an IDX label file
 * (uint8 `[n]`), as MNIST and Fashion-MNIST ship. Values are delivered in [0, 1] (byte / 255).
 */
export function datasetFromIdx(images: Uint8Array, labels: Uint8Array, info: IdxPairSource): Dataset {
  const img = parseIdx(images, info.imagesLabel, { maxBytes: info.maxBytes });
  const lab = parseIdx(labels, info.labelsLabel, { maxBytes: info.maxBytes });
  if (img.type !== 'uint8' || img.shape.length !== 3) {
    throw new DataError(info.imagesLabel, `expected uint8 images [n, height, width], found ${img.type} [${img.shape.join(', ')}]`);
  }
  if (lab.type !== 'uint8' || lab.shape.length !== 1) {
    throw new DataError(info.labelsLabel, `expected uint8 labels [n], found ${lab.type} [${lab.shape.join(', ')}]`);
  }
  const [n, h, w] = img.shape as [number, number, number];
  if (lab.shape[0] !== n) {
    throw new DataError(info.labelsLabel, `expected ${n} labels (one per image in ${info.imagesLabel}), found ${lab.shape[0]}`);
  }
  const labelValues = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = lab.data[i]!;
    if (l >= info.numClasses) {
      throw new DataError(info.labelsLabel, `label ${i} is ${l}, expected an integer in [0, ${info.numClasses - 1}]`);
    }
    labelValues[i] = l;
  }
  return new Dataset({
    name: info.name,
    values: img.data as Uint8Array,
    featureShape: [h, w, 1],
    labels: labelValues,
    numClasses: info.numClasses,
    mapping: { scale: 1 / 255, offset: 0 },
    protocol: { source: info.source, split: info.split, range: '[0,1]', binarization: { kind: 'none' } },
  });
}
