/**
 * Loading optional backend packages: one injectable importer, and the classification of a
 * failed import into "not installed" and "installed but broken" (a native library that does not
 * load), because the two need different fixes.
 */

/** Loads a module by specifier, like `import(specifier)`. Injectable so tests can fake failures. */
export type Importer = (specifier: string) => Promise<unknown>;

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
 * fail the user's build. Browser apps that want webgpu import its package themselves.
 */
export const defaultImporter: Importer = (specifier) =>
  BUNDLED[specifier]?.() ?? import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

/** Node built-ins, imported only on the Node path so browser bundles never see them. */
export const importNodeBuiltin: Importer = (specifier) =>
  import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

export type LoadFailureKind = 'not-installed' | 'native' | 'error';

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
 * Sorts an import failure: `not-installed` only when the module that is missing is `pkg` itself
 * (Node's MODULE_NOT_FOUND / ERR_MODULE_NOT_FOUND naming it, Vite's "Could not resolve", a
 * browser's "Failed to resolve module specifier"); a missing or unloadable `.node` binary or
 * shared library is `native`; anything else is `error`.
 */
export function classifyImportError(pkg: string, error: unknown): LoadFailure {
  const err = error as { code?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  const code = typeof err?.code === 'string' ? err.code : '';
  const detail = message.split('\n')[0] ?? message;
  const name = escapeRegExp(pkg);
  const namesPkg = new RegExp(`(module|package|specifier|resolve) ['"]${name}['"]`, 'i').test(message);
  const notFound =
    ((code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && namesPkg) ||
    new RegExp(`Could not resolve ['"]${name}['"]|Failed to resolve module specifier ['"]${name}['"]`, 'i').test(
      message,
    );
  if (notFound) return { kind: 'not-installed', pkg, detail };
  if (code === 'ERR_DLOPEN_FAILED' || NATIVE_PATTERNS.test(message)) return { kind: 'native', pkg, detail };
  return { kind: 'error', pkg, detail };
}

/** The reason half of an unavailable-backend message. */
export function describeFailure(failure: LoadFailure): string {
  switch (failure.kind) {
    case 'not-installed':
      return `${failure.pkg} is not installed (module not found)`;
    case 'native':
      return `${failure.pkg} is installed but its native library failed to load (${failure.detail})`;
    default:
      return `${failure.pkg} failed to load (${failure.detail})`;
  }
}

/** The fix half: what to install or repair. */
export function fixFor(failure: LoadFailure): string {
  if (failure.kind === 'not-installed') return `Install it: npm install ${failure.pkg}`;
  if (failure.kind === 'native') {
    return `Reinstall ${failure.pkg} (its install script fetches the native library) and check that the system libraries it names exist`;
  }
  return `Check that ${failure.pkg} matches @tensorflow/tfjs-core's version and reinstall it`;
}

export type ImportResult<T> = { ok: true; module: T } | { ok: false; failure: LoadFailure };

/** Imports `pkg` without throwing. */
export async function tryImport<T = unknown>(importer: Importer, pkg: string): Promise<ImportResult<T>> {
  try {
    return { ok: true, module: (await importer(pkg)) as T };
  } catch (error) {
    return { ok: false, failure: classifyImportError(pkg, error) };
  }
}
