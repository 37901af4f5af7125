/**
 * `pnpm bench`: the CD-1 step benchmark (../run.ts), then the CD-1 epoch benchmark of
 * @helmholtz/energy (speed.ts), one after the other so that neither disturbs the other's
 * timings. Both get the arguments; `--json FILE` gives the epoch benchmark FILE with
 * `.energy-speed` before its extension. BENCH_SKIP_ENERGY=1 runs the step benchmark alone.
 */
import { spawnSync } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const loader = import.meta.resolve('tsx');
const args = process.argv.slice(2).filter((a) => a !== '--');

function energyArgs(list: string[]): string[] {
  const out = [...list];
  const at = out.indexOf('--json');
  const file = at >= 0 ? out[at + 1] : undefined;
  if (file) {
    const ext = extname(file);
    out[at + 1] = `${ext ? file.slice(0, -ext.length) : file}.energy-speed${ext || '.json'}`;
  }
  return out;
}

function run(script: string, scriptArgs: string[]): number {
  const child = spawnSync(process.execPath, ['--import', loader, script, ...scriptArgs], { stdio: 'inherit', env: process.env });
  if (child.error) {
    console.error(`could not run ${script}: ${child.error.message}`);
    return 1;
  }
  return child.status ?? 1;
}

let status = run(join(HERE, '..', 'run.ts'), args);
if (process.env.BENCH_SKIP_ENERGY !== '1' && !args.includes('--help') && !args.includes('-h')) {
  console.log('');
  status = Math.max(status, run(join(HERE, 'speed.ts'), energyArgs(args)));
}
process.exit(status);
