import { basename, dirname, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../../errors.js';
import { DEFAULT_SHARD_BYTES } from '../format.js';
import type { CheckpointHandler } from '../handlers.js';
import {
  fromCheckpointFiles,
  MANIFEST_FILE,
  parseCheckpointJson,
  safeShardName,
  toCheckpointFiles,
} from '../manifest.js';
import { nodeFileSystem, type CheckpointFileSystem } from './file-system.js';

export interface DirectoryCheckpointOptions {
  /** Largest shard in bytes (default 4 MiB, as tfjs). */
  shardBytes?: number;
  /** File operations to use (default `node:fs/promises`). */
  fileSystem?: CheckpointFileSystem;
}

let sequence = 0;
function uniqueSuffix(): string {
  sequence += 1;
  return `${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function wrap(e: unknown, location: string, action: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const error = new CheckpointError(location, `${action}: ${e instanceof Error ? e.message : String(e)}`);
  (error as Error & { cause?: unknown }).cause = e;
  return error;
}

/**
 * A checkpoint directory in Node: `model.json` plus `group1-shardKofN.bin` files.
 *
 * Saving is atomic: the files are written and fsynced in a sibling temporary directory
 * (`.<name>.tmp-*`), then renamed to the final name. An existing checkpoint is first renamed
 * aside (`.<name>.old-*`) and removed only once the new one is in place, because POSIX
 * rename cannot replace a non-empty directory. A failed save removes its temporary
 * directory and leaves the previous checkpoint where it was; a crash leaves at worst a
 * stray `.tmp-*`/`.old-*` sibling, never a half checkpoint under the final name.
 */
export function directoryCheckpoint(path: string, options: DirectoryCheckpointOptions = {}): CheckpointHandler {
  const fs = options.fileSystem ?? nodeFileSystem;
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  const dir = resolve(path);
  const parent = dirname(dir);
  const name = basename(dir);
  const location = dir;

  async function save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const { manifest, shards } = toCheckpointFiles(artifacts, shardBytes);
    const temp = join(parent, `.${name}.tmp-${uniqueSuffix()}`);
    try {
      await fs.mkdir(parent, { recursive: true });
      await fs.mkdir(temp);
      for (const shard of shards) await fs.writeFileDurably(join(temp, shard.path), shard.bytes);
      // The manifest goes last: a directory with a model.json has all its shards.
      await fs.writeFileDurably(join(temp, MANIFEST_FILE), new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
      await fs.syncDirectory(temp);
    } catch (e) {
      await fs.remove(temp).catch(() => undefined);
      throw wrap(e, location, 'writing the checkpoint failed; the previous checkpoint is unchanged');
    }

    let aside: string | null = null;
    try {
      if (await fs.exists(dir)) {
        aside = join(parent, `.${name}.old-${uniqueSuffix()}`);
        await fs.rename(dir, aside);
      }
      await fs.rename(temp, dir);
    } catch (e) {
      if (aside !== null && !(await fs.exists(dir).catch(() => true))) {
        await fs.rename(aside, dir).catch(() => undefined);
      }
      await fs.remove(temp).catch(() => undefined);
      throw wrap(e, location, 'replacing the checkpoint failed; the previous checkpoint is unchanged');
    }
    await fs.syncDirectory(parent);
    // The new checkpoint is in place: failing to delete the old one costs disk, not data.
    if (aside !== null) await fs.remove(aside).catch(() => undefined);
    const bytes = shards.reduce((s, x) => s + x.bytes.byteLength, 0);
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
        weightDataBytes: bytes,
      },
    };
  }

  async function interruptedSaveHint(): Promise<string> {
    const entries = await fs.readdir(parent).catch(() => [] as string[]);
    const old = entries.filter((e) => e.startsWith(`.${name}.old-`)).sort();
    const last = old[old.length - 1];
    return last ? `; a save was interrupted while swapping: the previous checkpoint is at ${join(parent, last)}` : '';
  }

  async function load(): Promise<tf.io.ModelArtifacts> {
    let text: string;
    try {
      text = new TextDecoder().decode(await fs.readFile(join(dir, MANIFEST_FILE)));
    } catch (e) {
      if (errorCode(e) === 'ENOENT') {
        throw new CheckpointError(location, `no ${MANIFEST_FILE} found in the directory${await interruptedSaveHint()}`);
      }
      throw wrap(e, location, `reading ${MANIFEST_FILE} failed`);
    }
    const manifest = parseCheckpointJson(text, location);
    const shards = new Map<string, Uint8Array>();
    for (const group of manifest.weightsManifest) {
      for (const p of group.paths) {
        const file = safeShardName(p, location);
        try {
          shards.set(file, await fs.readFile(join(dir, file)));
        } catch (e) {
          if (errorCode(e) === 'ENOENT') {
            throw new CheckpointError(location, `shard '${file}' listed in ${MANIFEST_FILE} is missing`);
          }
          throw wrap(e, location, `reading shard '${file}' failed`);
        }
      }
    }
    return fromCheckpointFiles(manifest, shards, location);
  }

  return { location, save, load };
}
