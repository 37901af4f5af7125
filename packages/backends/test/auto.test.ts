import { describe, expect, it } from 'vitest';
import { pickFirstAvailable, type Attempt } from '../src/auto.js';
import type { ConcreteBackend } from '../src/choice.js';

function fake(results: Record<string, string | true>, calls: string[]): Attempt<string>[] {
  return Object.entries(results).map(([name, result]) => ({
    name: name as ConcreteBackend,
    run: async () => {
      calls.push(name);
      if (result === 'throw') throw new Error(`${name} exploded`);
      return result === true ? { ok: true as const, value: `${name}-value` } : { ok: false as const, reason: result };
    },
  }));
}

describe("auto's choice among candidates", () => {
  it('picks the first that works, records why earlier ones were skipped, and tries no later one', async () => {
    const calls: string[] = [];
    const result = await pickFirstAvailable(
      fake({ 'node-gpu': 'not installed', node: 'native library failed', 'node-webgpu': 'software adapter', wasm: true, cpu: true }, calls),
    );
    expect(result.picked).toEqual({ name: 'wasm', value: 'wasm-value' });
    expect(result.skipped).toEqual([
      { backend: 'node-gpu', reason: 'not installed' },
      { backend: 'node', reason: 'native library failed' },
      { backend: 'node-webgpu', reason: 'software adapter' },
    ]);
    expect(calls).toEqual(['node-gpu', 'node', 'node-webgpu', 'wasm']);
  });

  it('the first candidate working skips nothing', async () => {
    const calls: string[] = [];
    const result = await pickFirstAvailable(fake({ webgpu: true, webgl: true }, calls));
    expect(result).toEqual({ picked: { name: 'webgpu', value: 'webgpu-value' }, skipped: [] });
    expect(calls).toEqual(['webgpu']);
  });

  it('a throwing candidate is skipped with its message; none working gives no pick', async () => {
    const calls: string[] = [];
    const result = await pickFirstAvailable(fake({ webgpu: 'throw', webgl: 'no context' }, calls));
    expect(result.picked).toBeNull();
    expect(result.skipped).toEqual([
      { backend: 'webgpu', reason: 'webgpu exploded' },
      { backend: 'webgl', reason: 'no context' },
    ]);
  });
});
