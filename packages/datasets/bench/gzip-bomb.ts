/**
 * A gzip bomb against the readers: a ~1 MB gzip of a valid 10^9-byte IDX file
 * (uint8 [1000, 1000, 1000]). Each reader runs in its own child process so that its peak
 * resident memory is its own. The peer is what the readers did before they were bounded:
 * `zlib.gunzipSync` of the whole file, then parse.
 *
 *   pnpm --filter @helmholtz/datasets bench:bomb
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync, createGzip } from 'node:zlib';

const [mode, file] = process.argv.slice(2);

if (mode === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'helmholtz-bomb-'));
  const path = join(dir, 'bomb.idx.gz');
  const header = Buffer.from([0, 0, 8, 3, 0, 0, 3, 0xe8, 0, 0, 3, 0xe8, 0, 0, 3, 0xe8]);
  const chunk = Buffer.alloc(1 << 20);
  async function* body() {
    yield header;
    for (let i = 0; i < Math.floor(1e9 / chunk.length); i++) yield chunk;
    yield Buffer.alloc(1e9 % chunk.length);
  }
  await pipeline(Readable.from(body()), createGzip({ level: 9 }), createWriteStream(path));
  console.log(`bomb: ${statSync(path).size} bytes of gzip, 1000000016 bytes inflated`);
  const self = fileURLToPath(import.meta.url);
  for (const reader of ['gunzipSync (unbounded peer)', 'loadIdxFile (Node)', 'readBytes + parseIdx (browser reader)']) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', self, reader, path], { encoding: 'utf8' });
    console.log(run.stdout.trim() || run.stderr.trim());
  }
  rmSync(dir, { recursive: true, force: true });
} else {
  const { parseIdx } = await import('../src/idx.js');
  const { loadIdxFile } = await import('../src/node/idx-file.js');
  const { readBytes } = await import('../src/browser/read-bytes.js');
  const started = performance.now();
  let outcome: string;
  try {
    if (mode.startsWith('gunzipSync')) {
      const bytes = new Uint8Array(gunzipSync(readFileSync(file!)));
      const idx = parseIdx(bytes, file!, { maxBytes: 2 ** 31 });
      outcome = `loaded [${idx.shape.join(', ')}]`;
    } else if (mode.startsWith('loadIdxFile')) {
      const idx = await loadIdxFile(file!);
      outcome = `loaded [${idx.shape.join(', ')}]`;
    } else {
      const blob = new File([readFileSync(file!)], 'bomb.idx.gz');
      const { bytes, where } = await readBytes(blob, 'images', { format: 'idx' });
      const idx = parseIdx(bytes, where);
      outcome = `loaded [${idx.shape.join(', ')}]`;
    }
  } catch (e) {
    outcome = `refused: ${(e as Error).name}`;
  }
  const ms = performance.now() - started;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  console.log(`${mode}: ${outcome} in ${ms.toFixed(0)} ms, peak RSS ${peakMb.toFixed(0)} MB (modules loaded)`);
}
