import { describe, expect, it } from 'vitest';
import { classifyImportError, describeFailure, fixFor } from '../src/loading.js';

const PKG = '@tensorflow/tfjs-node';

function codeError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

describe('classifying a failed import', () => {
  it('the package itself missing is "not installed" (CJS, ESM, Vite and browser wordings)', () => {
    const cases = [
      codeError(`Cannot find module '${PKG}'\nRequire stack:\n- /app/x.js`, 'MODULE_NOT_FOUND'),
      codeError(`Cannot find package '${PKG}' imported from /app/x.js`, 'ERR_MODULE_NOT_FOUND'),
      new Error(`Could not resolve "${PKG}" imported by "@helmholtz/backends". Is it installed?`),
      new TypeError(`Failed to resolve module specifier "${PKG}". Relative references must start with "./".`),
    ];
    for (const error of cases) expect(classifyImportError(PKG, error).kind).toBe('not-installed');
  });

  it('another module missing inside an installed package is not "not installed"', () => {
    const dependency = codeError(`Cannot find module 'some-dependency'\nRequire stack:\n- /app/node_modules/${PKG}/dist/index.js`, 'MODULE_NOT_FOUND');
    expect(classifyImportError(PKG, dependency).kind).toBe('error');
    const prefix = codeError(`Cannot find module '${PKG}-extra'`, 'MODULE_NOT_FOUND');
    expect(classifyImportError(PKG, prefix).kind).not.toBe('not-installed');
  });

  it('a missing or unloadable native binary is "native"', () => {
    const binding = codeError(
      `Cannot find module '/app/node_modules/${PKG}/lib/napi-v8/tfjs_binding.node'`,
      'MODULE_NOT_FOUND',
    );
    const dlopen = codeError('libtensorflow.so.2: cannot open shared object file: No such file or directory', 'ERR_DLOPEN_FAILED');
    const symbol = new Error('/app/tfjs_binding.node: undefined symbol: TF_NewStatus');
    for (const error of [binding, dlopen, symbol]) expect(classifyImportError(PKG, error).kind).toBe('native');
  });

  it('messages say what failed and what to do', () => {
    const missing = classifyImportError(PKG, codeError(`Cannot find module '${PKG}'`, 'MODULE_NOT_FOUND'));
    expect(describeFailure(missing)).toBe(`${PKG} is not installed (module not found)`);
    expect(fixFor(missing)).toContain(`npm install ${PKG}`);
    const native = classifyImportError(PKG, codeError('libtensorflow.so.2: cannot open shared object file', 'ERR_DLOPEN_FAILED'));
    expect(describeFailure(native)).toContain('native library failed to load (libtensorflow.so.2');
    expect(fixFor(native)).toContain(`Reinstall ${PKG}`);
  });
});
