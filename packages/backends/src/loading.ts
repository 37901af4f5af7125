/**
 * Loading optional backend packages: one injectable importer, modules the application preloaded,
 * and the classification of a failed import into "not installed", "not in this bundle" and
 * "installed but broken" (a native library that does not load), because each needs its own fix.
 */
import { ConfigError } from '@helmholtz/core';

/** Loads a module by specifier, like `import(specifier)`. Injectable so tests can fake failures. */
export type Importer = (specifier: string) => Promise<unknown>;

/**
 * A backend package the application imported itself, handed to `initBackend` so that it is used
 * instead of a dynamic import. `@helmholtz/backends/webgpu` exports one (`webgpu`); another
 * package is passed as `{ packageName: 'webgpu', module: await import('webgpu') }`.
 */
export interface PreloadedBackend {
  /** The package the module is, e.g. '@tensorflow/tfjs-backend-webgpu'. */
  readonly packageName: string;
  /** The module namespace object (what `import * as m from packageName` gives). */
  readonly module: unknown;
}

// Regular dependencies get literal imports, so a browser bundler emits each as its own lazy chunk
// and only the chosen backend is fetched.
const BUNDLED: Readonly<Record<string, () => Promise<unknown>>> = {
  '@tensorflow/tfjs-backend-cpu': () => import('@tensorflow/tfjs-backend-cpu'),
  '@tensorflow/tfjs-backend-wasm': () => import('@tensorflow/tfjs-backend-wasm'),
  '@tensorflow/tfjs-backend-webgl': () => import('@tensorflow/tfjs-backend-webgl'),
};

/**
 * Optional peers (tfjs-node, tfjs-node-gpu, webgpu, tfjs-backend-webgpu) are imported through a
 * specifier bundlers do not follow: a literal import of a package that is not installed would
 * fail the user's build. Browser apps that want webgpu pass `preloaded` (see PRELOAD_LINES).
 */
export const defaultImporter: Importer = (specifier) =>
  BUNDLED[specifier]?.() ?? import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

/** Node built-ins, imported only on the Node path so browser bundles never see them. */
export const importNodeBuiltin: Importer = (specifier) =>
  import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

/** Packages `preloaded` may name: the ones some backend imports. */
export const PRELOADABLE_PACKAGES = [
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-backend-webgl',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
] as const;

/** Checks `initBackend`'s `preloaded` option; a wrong entry is a ConfigError naming its index. */
export function validatePreloaded(value: unknown): readonly PreloadedBackend[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ConfigError('preloaded', "an array such as [webgpu] (import { webgpu } from '@helmholtz/backends/webgpu')", value);
  }
  value.forEach((entry: unknown, i) => {
    const e = entry as { packageName?: unknown; module?: unknown } | null;
    const name = typeof e === 'object' && e !== null ? e.packageName : undefined;
    if (typeof name !== 'string' || !(PRELOADABLE_PACKAGES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `preloaded[${i}].packageName`,
        `one of ${PRELOADABLE_PACKAGES.map((p) => `"${p}"`).join(', ')}`,
        typeof e === 'object' && e !== null ? name : entry,
      );
    }
    if (typeof e?.module !== 'object' || e.module === null) {
      throw new ConfigError(`preloaded[${i}].module`, `the module namespace of ${name} (import * as m from '${name}')`, e?.module);
    }
  });
  return value as readonly PreloadedBackend[];
}

/** An importer that answers preloaded packages from memory and the rest through `importer`. */
export function withPreloaded(importer: Importer, preloaded: readonly PreloadedBackend[]): Importer {
  if (preloaded.length === 0) return importer;
  const modules = new Map(preloaded.map((p) => [p.packageName, p.module]));
  return (specifier) => (modules.has(specifier) ? Promise.resolve(modules.get(specifier)) : importer(specifier));
}

/** The line an app adds so its bundle contains a package, and the name it then passes in `preloaded`. */
const PRELOAD_LINES: Readonly<Record<string, { line: string; value: string }>> = {
  '@tensorflow/tfjs-backend-webgpu': { line: "import { webgpu } from '@helmholtz/backends/webgpu'", value: 'webgpu' },
};

export type LoadFailureKind = 'not-installed' | 'not-bundled' | 'native' | 'error';

export interface LoadFailure {
  kind: LoadFailureKind;
  /** The package that was imported. */
  pkg: string;
  /** First line of the underlying error. */
  detail: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const NATIVE_PATTERNS =
  /\.node\b|dlopen|shared object|undefined symbol|invalid ELF|wrong ELF|NODE_MODULE_VERSION|compiled against a different|libtensorflow|\.so(\.\d+)*\b|\.dylib\b|\.dll\b/i;

/**
 * Sorts an import failure. The module that is missing must be `pkg` itself (not a file or a
 * dependency inside it) for either of the first two kinds:
 * - in Node, `not-installed`: MODULE_NOT_FOUND / ERR_MODULE_NOT_FOUND naming it, or a bundler's
 *   "Could not resolve";
 * - in a browser, `not-bundled`: a page resolves bare specifiers only through an import map or
 *   the bundler, so Chromium's "Failed to resolve module specifier", Firefox's "was a bare
 *   specifier, but was not remapped", Safari's "does not resolve to a valid URL" and Vite's "Failed
 *   to resolve import" mean the bundle does not contain it, whether or not it is installed.
 * A missing or unloadable `.node` binary or shared library is `native`; anything else is `error`.
 */
export function classifyImportError(pkg: string, error: unknown, platform: 'node' | 'browser'): LoadFailure {
  const err = error as { code?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  const code = typeof err?.code === 'string' ? err.code : '';
  const detail = message.split('\n')[0] ?? message;
  const name = escapeRegExp(pkg);
  const q = `['"“”‘’]`;
  const namesPkg = new RegExp(`(module|package|specifier|resolve) ${q}${name}${q}`, 'i').test(message);
  const unresolved = new RegExp(
    [
      `Could not resolve ${q}${name}${q}`,
      `Failed to resolve (module specifier|import) ${q}${name}${q}`,
      `specifier ${q}${name}${q} was a bare specifier`,
      `Error resolving module specifier ${q}${name}${q}`,
      `Module name, ${q}${name}${q} does not resolve`,
    ].join('|'),
    'i',
  ).test(message);
  const nodeNotFound = (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && namesPkg;
  if (platform === 'browser' && (unresolved || nodeNotFound)) return { kind: 'not-bundled', pkg, detail };
  if (nodeNotFound || unresolved) return { kind: 'not-installed', pkg, detail };
  if (code === 'ERR_DLOPEN_FAILED' || NATIVE_PATTERNS.test(message)) return { kind: 'native', pkg, detail };
  return { kind: 'error', pkg, detail };
}

/** The reason half of an unavailable-backend message. */
export function describeFailure(failure: LoadFailure): string {
  switch (failure.kind) {
    case 'not-installed':
      return `${failure.pkg} is not installed (module not found)`;
    case 'not-bundled':
      return (
        `${failure.pkg} is imported at run time, and this bundle cannot load it: ${failure.detail} ` +
        '(a bundler includes an optional package only when the app imports it statically)'
      );
    case 'native':
      return `${failure.pkg} is installed but its native library failed to load (${failure.detail})`;
    default:
      return `${failure.pkg} failed to load (${failure.detail})`;
  }
}

/** The fix half: what to install, import or repair. */
export function fixFor(failure: LoadFailure): string {
  switch (failure.kind) {
    case 'not-installed':
      return `Install it: npm install ${failure.pkg}`;
    case 'not-bundled': {
      const known = PRELOAD_LINES[failure.pkg];
      const add = known
        ? `add \`${known.line}\` to your app and pass \`{ preloaded: [${known.value}] }\` to initBackend`
        : `add \`import * as backend from '${failure.pkg}'\` to your app and pass ` +
          `\`{ preloaded: [{ packageName: '${failure.pkg}', module: backend }] }\` to initBackend`;
      return `To include it in the bundle, ${add} (and npm install ${failure.pkg} if your app does not depend on it yet)`;
    }
    case 'native':
      return `Reinstall ${failure.pkg} (its install script fetches the native library) and check that the system libraries it names exist`;
    default:
      return `Check that ${failure.pkg} matches @tensorflow/tfjs-core's version and reinstall it`;
  }
}

export type ImportResult<T> = { ok: true; module: T } | { ok: false; failure: LoadFailure };

/** Imports `pkg` without throwing. */
export async function tryImport<T = unknown>(
  importer: Importer,
  pkg: string,
  platform: 'node' | 'browser',
): Promise<ImportResult<T>> {
  try {
    return { ok: true, module: (await importer(pkg)) as T };
  } catch (error) {
    return { ok: false, failure: classifyImportError(pkg, error, platform) };
  }
}
