import { ConfigError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { BACKEND_CHOICES, detectPlatform, parseBackendChoice, resolveChoice } from '../src/choice.js';

describe('backend choice', () => {
  it('accepts every documented choice, case- and space-insensitively', () => {
    for (const choice of BACKEND_CHOICES) expect(parseBackendChoice(` ${choice.toUpperCase()} `)).toBe(choice);
  });

  it('rejects an unknown name with a ConfigError that lists the valid ones', () => {
    let error: unknown;
    try {
      parseBackendChoice('tpu');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('"tpu"');
    for (const choice of BACKEND_CHOICES) expect(message).toContain(`"${choice}"`);
  });

  it('HELMHOLTZ_BACKEND replaces auto and nothing else', () => {
    expect(resolveChoice('auto', { HELMHOLTZ_BACKEND: 'cpu' })).toEqual({ choice: 'cpu', fromEnv: true });
    expect(resolveChoice('wasm', { HELMHOLTZ_BACKEND: 'cpu' })).toEqual({ choice: 'wasm', fromEnv: false });
    expect(resolveChoice('auto', { HELMHOLTZ_BACKEND: '' })).toEqual({ choice: 'auto', fromEnv: false });
    expect(resolveChoice('auto', {})).toEqual({ choice: 'auto', fromEnv: false });
  });

  it('an invalid HELMHOLTZ_BACKEND is a ConfigError naming the variable', () => {
    expect(() => resolveChoice('auto', { HELMHOLTZ_BACKEND: 'gpu' })).toThrow(ConfigError);
    expect(() => resolveChoice('auto', { HELMHOLTZ_BACKEND: 'gpu' })).toThrow(/HELMHOLTZ_BACKEND/);
  });

  it('detects Node from process.versions.node without a window, and a browser otherwise', () => {
    expect(detectPlatform()).toBe('node');
    expect(detectPlatform({ process: { versions: { node: '20.0.0' } } })).toBe('node');
    expect(detectPlatform({ process: { versions: { node: '20.0.0' } }, window: {} })).toBe('browser');
    expect(detectPlatform({ window: {}, navigator: {} })).toBe('browser');
  });
});
