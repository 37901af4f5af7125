import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@helmholtz/core';

/** The 30 distinct 4x4 bars-and-stripes images (MacKay 2003). */
export function barsAndStripes(): number[][] {
  const seen = new Map<string, number[]>();
  for (let mask = 0; mask < 16; mask++) {
    for (const vertical of [false, true]) {
      const image: number[] = [];
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) image.push((mask >> (vertical ? c : r)) & 1);
      seen.set(image.join(''), image);
    }
  }
  return [...seen.values()];
}

/**
 * Labelled 8x8 binary glyphs of 4 classes, each at a random position, with `noise` of the
 * pixels flipped: 0 a horizontal bar two rows thick, 1 a vertical bar two columns thick, 2 a
 * hollow 4x4 square, 3 a 4-pixel diagonal pair. Chance is 1/4.
 */
export function glyphs(n: number, seed: number, noise = 0.05): { x: tf.Tensor2D; labels: number[] } {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 4;
    const image = new Array<number>(64).fill(0);
    const set = (r: number, c: number): void => {
      if (r >= 0 && r < 8 && c >= 0 && c < 8) image[r * 8 + c] = 1;
    };
    if (label === 0) {
      const r = rng.int(7);
      for (let c = 0; c < 8; c++) for (const dr of [0, 1]) set(r + dr, c);
    } else if (label === 1) {
      const c = rng.int(7);
      for (let r = 0; r < 8; r++) for (const dc of [0, 1]) set(r, c + dc);
    } else if (label === 2) {
      const r0 = rng.int(5);
      const c0 = rng.int(5);
      for (let k = 0; k < 4; k++) {
        set(r0, c0 + k);
        set(r0 + 3, c0 + k);
        set(r0 + k, c0);
        set(r0 + k, c0 + 3);
      }
    } else {
      const r0 = rng.int(5);
      const c0 = rng.int(4);
      for (let k = 0; k < 4; k++) {
        set(r0 + k, c0 + k);
        set(r0 + k, c0 + k + 1);
      }
    }
    rows.push(image.map((p) => (rng.next() < noise ? 1 - p : p)));
    labels.push(label);
  }
  return { x: tf.tensor2d(rows), labels };
}

/** Reads a tensor into a float64 array. */
export async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}
