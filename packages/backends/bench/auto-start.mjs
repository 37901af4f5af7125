/**
 * What the quiet probe costs: `initBackend('auto')` in fresh Node processes, timed inside each,
 * with the probe in a child process (the default) and in-process (`allowSoftwareAdapter: true`,
 * which loads Dawn directly, as auto did before). Interleaved rounds, medians.
 *
 *   pnpm --filter @helmholtz/backends build && node packages/backends/bench/auto-start.mjs [rounds]
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
const rounds = Number(process.argv[2] ?? 9);
const script = (options) => `
const { initBackend } = await import(${JSON.stringify(entry)});
const t = performance.now();
const b = await initBackend('auto', { env: {}, ...${JSON.stringify(options)} });
process.stdout.write(JSON.stringify({ ms: performance.now() - t, name: b.name }) + '\\n', () => process.exit(0));`;
const modes = { 'child-process probe (default)': {}, 'in-process probe (allowSoftwareAdapter)': { allowSoftwareAdapter: true } };
const times = Object.fromEntries(Object.keys(modes).map((m) => [m, []]));
const picked = {};
for (let r = 0; r < rounds; r++) {
  for (const [mode, options] of Object.entries(modes)) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script(options)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const { ms, name } = JSON.parse(out.trim().split('\n').pop());
    times[mode].push(ms);
    picked[mode] = name;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}, ${rounds} interleaved rounds`);
for (const mode of Object.keys(modes)) console.log(`${mode}: median ${median(times[mode]).toFixed(0)} ms, picked ${picked[mode]}`);
