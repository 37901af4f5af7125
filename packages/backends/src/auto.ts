import type { ConcreteBackend } from './choice.js';

export type AttemptResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Attempt<T> {
  name: ConcreteBackend;
  run: () => Promise<AttemptResult<T>>;
}

export interface SkippedBackend {
  backend: ConcreteBackend;
  reason: string;
}

export interface Pick<T> {
  picked: { name: ConcreteBackend; value: T } | null;
  skipped: SkippedBackend[];
}

/**
 * `auto`'s rule: try the candidates in order, one at a time, and stop at the first that works,
 * recording why each earlier one was skipped. Later candidates are never tried: trying one can
 * cost a native library load or a GPU device.
 */
export async function pickFirstAvailable<T>(attempts: readonly Attempt<T>[]): Promise<Pick<T>> {
  const skipped: SkippedBackend[] = [];
  for (const attempt of attempts) {
    let result: AttemptResult<T>;
    try {
      result = await attempt.run();
    } catch (error) {
      result = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (result.ok) return { picked: { name: attempt.name, value: result.value }, skipped };
    skipped.push({ backend: attempt.name, reason: result.reason });
  }
  return { picked: null, skipped };
}
