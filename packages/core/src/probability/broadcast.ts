import { ShapeError } from '../errors.js';

/** True when a tensor of shape `small` broadcasts to `big` without changing `big` (NumPy rules). */
export function broadcastsTo(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  const offset = big.length - small.length;
  return small.every((d, i) => d === 1 || d === big[i + offset]);
}

/**
 * The shape that `shapes` broadcast to under NumPy's rules (align on the right; a size of 1
 * stretches), or a {@link ShapeError} naming the operation and the shapes that clash.
 */
export function broadcastShape(what: string, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    shape.forEach((d, i) => {
      const current = out[i + offset] as number;
      if (d === current || d === 1) return;
      if (current !== 1) {
        const listed = shapes.map((s) => `[${s.join(', ')}]`).join(', ');
        throw new ShapeError(what, 'shapes that broadcast together', shape, `The shapes are ${listed}; each axis, aligned on the right, must be equal or 1`);
      }
      out[i + offset] = d;
    });
  }
  return out;
}
