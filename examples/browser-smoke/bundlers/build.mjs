// The two bundler set-ups the driver checks besides Vite, written as a user of the packages
// would write them: esbuild's JS API and webpack 5's Node API, each with its defaults otherwise.
// Both tools are the workspace root's dev dependencies; a missing one is a failure, not a skip.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, 'entry.js');

/** Imports a bundler, saying what to do when it is not installed. */
async function load(name) {
  try {
    return await import(name);
  } catch (error) {
    throw new Error(`cannot import ${name} (${error.message.split('\n')[0]}): it is a dev dependency of the workspace root; run pnpm install`);
  }
}

/** esbuild: one ES module, `bundle.js`, next to a copy of index.html in `outDir`. Returns its warnings. */
export async function bundleWithEsbuild(outDir) {
  const esbuild = await load('esbuild');
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    outfile: join(outDir, 'bundle.js'),
    logLevel: 'silent',
  });
  await copyFile(join(HERE, 'index.html'), join(outDir, 'index.html'));
  return result.warnings.map((w) => `${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`);
}

/** webpack 5: `bundle.js` (and any chunks) next to a copy of index.html in `outDir`. Returns its warnings. */
export async function bundleWithWebpack(outDir) {
  const { default: webpack } = await load('webpack');
  await mkdir(outDir, { recursive: true });
  const stats = await new Promise((ok, ko) => {
    webpack(
      {
        mode: 'production',
        target: 'web',
        entry: ENTRY,
        output: { path: outDir, filename: 'bundle.js' },
        // tfjs is large by nature; the size hints would only be noise here.
        performance: { hints: false },
        // Terser over tfjs takes about 15 s on CI's two cores and checks nothing this test is
        // about (resolution, the exports map, chunks, tree shaking): production mode otherwise.
        optimization: { minimize: false },
        infrastructureLogging: { level: 'error' },
      },
      (error, result) => (error ? ko(error) : ok(result)),
    );
  });
  const { errors = [], warnings = [] } = stats.toJson({ all: false, errors: true, warnings: true });
  if (errors.length) throw new Error(`webpack failed:\n${errors.map((e) => e.message).join('\n')}`);
  await copyFile(join(HERE, 'index.html'), join(outDir, 'index.html'));
  return warnings.map((w) => w.message);
}
