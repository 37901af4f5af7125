import { ConfigError } from '@helmholtz/core';

/** Every value `initBackend` accepts. `auto` picks the first backend that works here. */
export const BACKEND_CHOICES = ['auto', 'node-gpu', 'node', 'node-webgpu', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** A choice that names one backend. */
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

/** Environment variable that replaces `'auto'` (and only `'auto'`) with a concrete choice. */
export const BACKEND_ENV_VAR = 'HELMHOLTZ_BACKEND';

export type Platform = 'node' | 'browser';

/** The order `auto` tries backends in, per platform. */
export const AUTO_ORDER: Readonly<Record<Platform, readonly ConcreteBackend[]>> = {
  node: ['node-gpu', 'node', 'node-webgpu', 'wasm', 'cpu'],
  browser: ['webgpu', 'webgl', 'wasm', 'cpu'],
};

/** Validates a backend name, e.g. from a CLI flag or a config file. */
export function parseBackendChoice(value: unknown, field = 'backend'): BackendChoice {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof text === 'string' && (BACKEND_CHOICES as readonly string[]).includes(text)) {
    return text as BackendChoice;
  }
  throw new ConfigError(field, `one of ${BACKEND_CHOICES.map((c) => `"${c}"`).join(', ')}`, value);
}

/**
 * The choice that applies: an explicit choice wins; `'auto'` gives way to HELMHOLTZ_BACKEND
 * when that is set to a non-empty value (which must itself be a valid choice).
 */
export function resolveChoice(
  choice: BackendChoice,
  env: Readonly<Record<string, string | undefined>> = processEnv(),
): { choice: BackendChoice; fromEnv: boolean } {
  const fromEnv = env[BACKEND_ENV_VAR]?.trim();
  if (choice !== 'auto' || !fromEnv) return { choice, fromEnv: false };
  return { choice: parseBackendChoice(fromEnv, BACKEND_ENV_VAR), fromEnv: true };
}

/** `process.env` where there is one; bundlers for browsers may leave `process` undefined. */
export function processEnv(): Readonly<Record<string, string | undefined>> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env ?? {};
}

/** Node when `process.versions.node` exists and there is no DOM window; otherwise a browser (or worker). */
export function detectPlatform(global: object = globalThis): Platform {
  const g = global as { process?: { versions?: { node?: string } }; window?: unknown };
  return typeof g.process?.versions?.node === 'string' && g.window === undefined ? 'node' : 'browser';
}
