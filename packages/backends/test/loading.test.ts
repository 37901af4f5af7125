import { ConfigError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import {
  classifyImportError,
  describeFailure,
  fixFor,
  tryImport,
  validatePreloaded,
  withPreloaded,
  type Importer,
} from '../src/loading.js';

const PKG = '@tensorflow/tfjs-node';
const WEBGPU = '@tensorflow/tfjs-backend-webgpu';

function codeError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

/** What each runtime says when a page imports a bare specifier its bundle does not contain. */
const unresolvedInAPage = (pkg: string): Error[] => [
  // Chromium (seen in Vite dev and Vite build pages, single quotes) and its older double-quoted form
  new TypeError(`Failed to resolve module specifier '${pkg}'`),
  new TypeError(`Failed to resolve module specifier "${pkg}". Relative references must start with either "/", "./", or "../".`),
  // Firefox
  new TypeError(`The specifier “${pkg}” was a bare specifier, but was not remapped to anything. Relative module specifiers must start with “./”, “../” or “/”.`),
  new TypeError(`Error resolving module specifier “${pkg}”. Relative module specifiers must start with “./”, “../” or “/”.`),
  // Safari
  new TypeError(`Module name, '${pkg}' does not resolve to a valid URL.`),
  // Vite's dev server, when its import analysis cannot find the package
  new Error(`Failed to resolve import "${pkg}" from "src/main.ts". Does the file exist?`),
  // Vite 8's build, which replaces an optional peer it cannot find by a module that throws this
  new Error(`Could not resolve "${pkg}" imported by "@helmholtz/backends". Is it installed?`),
];

describe('classifying a failed import in Node', () => {
  it('the package itself missing is "not installed" (CJS, ESM and bundler wordings)', () => {
    const cases = [
      codeError(`Cannot find module '${PKG}'\nRequire stack:\n- /app/x.js`, 'MODULE_NOT_FOUND'),
      codeError(`Cannot find package '${PKG}' imported from /app/x.js`, 'ERR_MODULE_NOT_FOUND'),
      new Error(`Could not resolve "${PKG}" imported by "@helmholtz/backends". Is it installed?`),
    ];
    for (const error of cases) expect(classifyImportError(PKG, error, 'node').kind).toBe('not-installed');
  });

  it('another module missing inside an installed package is not "not installed"', () => {
    const dependency = codeError(`Cannot find module 'some-dependency'\nRequire stack:\n- /app/node_modules/${PKG}/dist/index.js`, 'MODULE_NOT_FOUND');
    expect(classifyImportError(PKG, dependency, 'node').kind).toBe('error');
    const prefix = codeError(`Cannot find module '${PKG}-extra'`, 'MODULE_NOT_FOUND');
    expect(classifyImportError(PKG, prefix, 'node').kind).not.toBe('not-installed');
  });

  it('a missing or unloadable native binary is "native"', () => {
    const binding = codeError(
      `Cannot find module '/app/node_modules/${PKG}/lib/napi-v8/tfjs_binding.node'`,
      'MODULE_NOT_FOUND',
    );
    const dlopen = codeError('libtensorflow.so.2: cannot open shared object file: No such file or directory', 'ERR_DLOPEN_FAILED');
    const symbol = new Error('/app/tfjs_binding.node: undefined symbol: TF_NewStatus');
    for (const error of [binding, dlopen, symbol]) expect(classifyImportError(PKG, error, 'node').kind).toBe('native');
  });

  it('messages say what failed and what to do', () => {
    const missing = classifyImportError(PKG, codeError(`Cannot find module '${PKG}'`, 'MODULE_NOT_FOUND'), 'node');
    expect(describeFailure(missing)).toBe(`${PKG} is not installed (module not found)`);
    expect(fixFor(missing)).toContain(`npm install ${PKG}`);
    const native = classifyImportError(PKG, codeError('libtensorflow.so.2: cannot open shared object file', 'ERR_DLOPEN_FAILED'), 'node');
    expect(describeFailure(native)).toContain('native library failed to load (libtensorflow.so.2');
    expect(fixFor(native)).toContain(`Reinstall ${PKG}`);
  });
});

describe('classifying a failed import in a browser bundle', () => {
  it.each(unresolvedInAPage(WEBGPU).map((e) => [e.message.slice(0, 60), e]))(
    'an unresolved bare specifier means "not in this bundle", never "not installed": %s',
    (_, error) => {
      const failure = classifyImportError(WEBGPU, error, 'browser');
      expect(failure.kind).toBe('not-bundled');
      const reason = describeFailure(failure);
      expect(reason).toContain('this bundle cannot load it: ');
      expect(reason).toContain(error.message.split('\n')[0]);
      expect(`${reason} ${fixFor(failure)}`).not.toContain('not installed');
    },
  );

  it('the fix for tfjs-backend-webgpu is the one line that puts it in the bundle', () => {
    const failure = classifyImportError(WEBGPU, unresolvedInAPage(WEBGPU)[0], 'browser');
    expect(fixFor(failure)).toContain("add `import { webgpu } from '@helmholtz/backends/webgpu'` to your app");
    expect(fixFor(failure)).toContain('`{ preloaded: [webgpu] }`');
  });

  it('a package without a subpath of its own gets the generic preloaded form', () => {
    const failure = classifyImportError('webgpu', new TypeError("Failed to resolve module specifier 'webgpu'"), 'browser');
    expect(failure.kind).toBe('not-bundled');
    expect(fixFor(failure)).toContain("import * as backend from 'webgpu'");
    expect(fixFor(failure)).toContain("preloaded: [{ packageName: 'webgpu', module: backend }]");
  });

  it('a bundled package that throws while it is evaluated is an error of that package, not of the bundle', () => {
    const failure = classifyImportError(WEBGPU, new TypeError("Cannot read properties of undefined (reading 'requestAdapter')"), 'browser');
    expect(failure.kind).toBe('error');
    // Another specifier failing to resolve (a dependency inside the package) is not about WEBGPU.
    const inner = classifyImportError(WEBGPU, new TypeError("Failed to resolve module specifier '@webgpu/types'"), 'browser');
    expect(inner.kind).toBe('error');
  });
});

describe('preloaded modules', () => {
  const module = { marker: 'preloaded' };
  const failing: Importer = async (specifier) => {
    throw new TypeError(`Failed to resolve module specifier '${specifier}'`);
  };

  it('a preloaded package is answered from memory; the others still go to the importer', async () => {
    const importer = withPreloaded(failing, [{ packageName: WEBGPU, module }]);
    await expect(tryImport(importer, WEBGPU, 'browser')).resolves.toEqual({ ok: true, module });
    const other = await tryImport(importer, '@tensorflow/tfjs-node', 'browser');
    expect(other).toMatchObject({ ok: false, failure: { kind: 'not-bundled' } });
  });

  it('entries are checked: a wrong package name or a missing module is a ConfigError naming the entry', () => {
    expect(validatePreloaded(undefined)).toEqual([]);
    expect(() => validatePreloaded({ packageName: WEBGPU, module })).toThrow(ConfigError);
    expect(() => validatePreloaded([{ packageName: '@tensorflow/tfjs-backend-webgpux', module }])).toThrow(
      /invalid config "preloaded\[0\]\.packageName": expected one of "@tensorflow\/tfjs-backend-webgpu"/,
    );
    expect(() => validatePreloaded([{ packageName: WEBGPU, module }, { packageName: WEBGPU }])).toThrow(
      /"preloaded\[1\]\.module": expected the module namespace of @tensorflow\/tfjs-backend-webgpu/,
    );
  });
});
