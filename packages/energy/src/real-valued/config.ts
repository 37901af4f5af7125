import { ConfigError } from '@helmholtz/core';

/** Validates an optional picture shape of `visible` values (`[height, width]` or `[height, width, channels]`). */
export function imageShapeOf(field: string, shape: unknown, visible: number): number[] {
  const ok =
    Array.isArray(shape) &&
    (shape.length === 2 || shape.length === 3) &&
    shape.every((d) => Number.isInteger(d) && d > 0) &&
    (shape as number[]).reduce((a, b) => a * b, 1) === visible;
  if (!ok) throw new ConfigError(field, `[height, width] or [height, width, channels] with ${visible} elements in all`, shape);
  return [...(shape as number[])];
}

/** Validates an optional standard deviation of initial weights (0 allowed: all-zero weights). */
export function initialScaleOf(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ConfigError(field, 'a finite number >= 0', value);
  return value;
}
