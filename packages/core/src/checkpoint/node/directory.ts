import { basename, dirname, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError } from '../../errors.js';
import { checksumOf } from '../checksum.js';
import { CHECKPOINT_FORMAT, DEFAULT_SHARD_BYTES, type CheckpointJson } from '../format.js';
import type { CheckpointHandler } from '../handlers.js';
import {
  fromCheckpointFiles,
  MANIFEST_FILE,
  parseCheckpointJson,
  safeShardName,
  toCheckpointFiles,
} from '../manifest.js';
import { lockDirectory, type HeldLock } from './directory-lock.js';
import { nodeFileSystem, type CheckpointFileSystem } from './file-system.js';

export interface DirectoryCheckpointOptions {
  /** Largest shard in bytes (default 4 MiB, as tfjs). */
  shardBytes?: number;
  /** File operations to use (default `node:fs/promises`). */
  fileSystem?: CheckpointFileSystem;
  /**
   * Replace whatever is at the path: a file, a directory of other files, a checkpoint
   * directory holding files of its own. Default false: a save replaces only a Helmholtz
   * checkpoint directory (or an empty one) and refuses anything else.
   */
  overwrite?: boolean;
  /** How long a save waits for another save to the same directory to finish (default 60 000 ms). */
  lockTimeoutMs?: number;
  /**
   * A lock untouched for this long is taken over (default 30 000 ms). A live save touches its
   * lock every quarter of it; a dead process on this host loses its lock at once.
   */
  staleLockMs?: number;
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function checkOptionalInteger(field: string, value: unknown, min: number): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < min)) {
    throw new ConfigError(`directoryCheckpoint.${field}`, `an integer >= ${min}`, value);
  }
}

/** Saves queued per directory in this process, so they take the file lock one at a time. */
const queues = new Map<string, Promise<unknown>>();

function serialise<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return run;
}

/** A missing file while reading: maybe a swap in flight or interrupted, worth one more look. */
class MissingFile extends Error {
  constructor(readonly error: CheckpointError) {
    super(error.message);
  }
}

/**
 * A checkpoint directory in Node: `model.json` plus `group1-shardKofN.bin` files.
 *
 * What a save guarantees:
 * - It replaces only a Helmholtz checkpoint directory (one whose `model.json` says so and that
 *   holds nothing but that manifest and its shards) or an empty directory; a file or any other
 *   directory is refused with a {@link CheckpointError} unless `overwrite: true`.
 * - It is atomic: the files are written and fsynced in a sibling temporary directory
 *   (`.<name>.tmp-*`), which is then renamed to the final name; an existing checkpoint is
 *   first renamed aside (`.<name>.old-*`) and removed once the new one is in place (POSIX
 *   rename cannot replace a non-empty directory). A kill at any moment leaves under the final
 *   name either the previous checkpoint or the new one, never a mix; a kill between the two
 *   renames leaves the final name empty, and the next save or load puts the previous
 *   checkpoint back.
 * - Saves to one directory are serialised: in one process by a queue, across processes by a
 *   lock file (`.<name>.lock`) naming its holder; a lock left by a dead process is taken over.
 * - Each save first removes what interrupted saves left behind (temporary and set-aside
 *   directories).
 *
 * A load verifies the CRC-32 of every shard recorded in the manifest (format version 2), and
 * of the whole weight data, before anything is assigned.
 */
export function directoryCheckpoint(path: string, options: DirectoryCheckpointOptions = {}): CheckpointHandler {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError('directoryCheckpoint path', 'a non-empty string', path);
  checkOptionalInteger('lockTimeoutMs', options.lockTimeoutMs, 0);
  checkOptionalInteger('staleLockMs', options.staleLockMs, 1);
  if (options.overwrite !== undefined && typeof options.overwrite !== 'boolean') {
    throw new ConfigError('directoryCheckpoint.overwrite', 'true or false', options.overwrite);
  }
  const fs = options.fileSystem ?? nodeFileSystem;
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  const overwrite = options.overwrite ?? false;
  const lockOptions = { timeoutMs: options.lockTimeoutMs ?? 60_000, staleMs: options.staleLockMs ?? 30_000 };
  const dir = resolve(path);
  const parent = dirname(dir);
  const name = basename(dir);
  const location = dir;
  const lockPath = join(parent, `.${name}.lock`);
  const leftover = new RegExp(`^\\.${escapeRegExp(name)}\\.(tmp|old)-\\d+-[0-9a-z]+-\\d+$`);
  const staleLock = new RegExp(`^\\.${escapeRegExp(name)}\\.lock\\.stale-`);

  async function lock(): Promise<HeldLock> {
    try {
      return await lockDirectory(fs, lockPath, location, lockOptions);
    } catch (e) {
      throw wrap(e, location, 'locking the checkpoint for the save failed; nothing was written');
    }
  }

  async function createdAt(candidate: string): Promise<string | null> {
    try {
      const json = parseCheckpointJson(new TextDecoder().decode(await fs.readFile(join(candidate, MANIFEST_FILE))), candidate);
      return json.userDefinedMetadata?.helmholtz?.createdAt ?? '';
    } catch {
      return null;
    }
  }

  /**
   * With the lock held: if the final name is empty because a swap was interrupted, puts the
   * set-aside checkpoint back. Returns the names of the interrupted saves' directories.
   */
  async function restoreInterruptedSwap(): Promise<{ temps: string[]; olds: string[] }> {
    const entries = await fs.readdir(parent).catch(() => [] as string[]);
    const temps: string[] = [];
    const olds: string[] = [];
    for (const entry of entries) {
      const m = leftover.exec(entry);
      if (m) (m[1] === 'tmp' ? temps : olds).push(join(parent, entry));
    }
    if (olds.length > 0 && (await fs.stat(dir)) === null) {
      let best: { path: string; at: string } | null = null;
      for (const candidate of olds) {
        const at = await createdAt(candidate);
        if (at !== null && (best === null || at > best.at)) best = { path: candidate, at };
      }
      if (best !== null) {
        await fs.rename(best.path, dir);
        await fs.syncDirectory(parent);
        olds.splice(olds.indexOf(best.path), 1);
      }
    }
    return { temps, olds };
  }

  /** With the lock held: removes what interrupted saves left (no other save is running). */
  async function removeLeftovers(): Promise<void> {
    const { temps, olds } = await restoreInterruptedSwap();
    // A set-aside copy is only garbage once a checkpoint is in place.
    const removable = (await fs.stat(dir)) === null ? temps : [...temps, ...olds];
    const entries = await fs.readdir(parent).catch(() => [] as string[]);
    for (const entry of entries) if (staleLock.test(entry)) removable.push(join(parent, entry));
    for (const p of removable) await fs.remove(p).catch(() => undefined);
  }

  /** Refuses to replace anything that is not a Helmholtz checkpoint, unless `overwrite`. */
  async function checkReplaceable(): Promise<void> {
    const found = await fs.stat(dir);
    if (found === null || overwrite) return;
    const fix = 'nothing was written (choose another path, or pass overwrite: true to replace it)';
    if (found.kind === 'symlink') {
      throw new CheckpointError(
        location,
        `the path is a symbolic link; a save would replace the link, not what it points to; ${fix}. ` +
          'To update the checkpoint it points to, save to that path',
      );
    }
    if (found.kind !== 'directory') throw new CheckpointError(location, `a file is at this path, not a checkpoint directory; ${fix}`);
    const entries = await fs.readdir(dir);
    if (entries.length === 0) return;
    let manifest: CheckpointJson | null = null;
    if (entries.includes(MANIFEST_FILE)) {
      try {
        manifest = parseCheckpointJson(new TextDecoder().decode(await fs.readFile(join(dir, MANIFEST_FILE))), location);
      } catch {
        manifest = null;
      }
    }
    if (manifest === null || manifest.format !== CHECKPOINT_FORMAT) {
      throw new CheckpointError(
        location,
        `the directory is not a Helmholtz checkpoint (it holds ${listEntries(entries)}) and a save would delete it; ${fix}`,
      );
    }
    const own = new Set([MANIFEST_FILE, ...manifest.weightsManifest.flatMap((g) => g.paths.map((p) => safeShardName(p, location)))]);
    const foreign = entries.filter((e) => !own.has(e));
    if (foreign.length > 0) {
      throw new CheckpointError(
        location,
        `the checkpoint directory also holds ${listEntries(foreign)}, which is not part of the checkpoint and a save would delete; ${fix}`,
      );
    }
  }

  async function writeAndSwap(
    manifest: CheckpointJson,
    shards: { path: string; bytes: Uint8Array }[],
    held: HeldLock,
  ): Promise<void> {
    const temp = join(parent, `.${name}.tmp-${uniqueSuffix()}`);
    try {
      await fs.mkdir(temp);
      for (const shard of shards) await fs.writeFileDurably(join(temp, shard.path), shard.bytes);
      // The manifest goes last: a directory with a model.json has all its shards.
      await fs.writeFileDurably(join(temp, MANIFEST_FILE), new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
      await fs.syncDirectory(temp);
    } catch (e) {
      await fs.remove(temp).catch(() => undefined);
      throw wrap(e, location, 'writing the checkpoint failed; the previous checkpoint is unchanged');
    }

    if (!(await held.stillHeld())) {
      await fs.remove(temp).catch(() => undefined);
      throw new CheckpointError(
        location,
        `another save took over this checkpoint's lock (${lockPath}) while this one was writing; nothing was replaced`,
      );
    }
    let aside: string | null = null;
    try {
      if ((await fs.stat(dir)) !== null) {
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
    // The new checkpoint is in place: failing to delete the old one costs disk, not data (the
    // next save removes it).
    if (aside !== null) await fs.remove(aside).catch(() => undefined);
  }

  async function save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const { manifest, shards } = toCheckpointFiles(artifacts, shardBytes);
    await serialise(dir, async () => {
      try {
        await fs.mkdir(parent, { recursive: true });
      } catch (e) {
        throw wrap(e, location, `creating the parent directory ${parent} failed; nothing was written`);
      }
      const held = await lock();
      try {
        await removeLeftovers();
        await checkReplaceable();
        await writeAndSwap(manifest, shards, held);
      } finally {
        await held.release();
      }
    });
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

  async function readManifestText(): Promise<string> {
    try {
      return new TextDecoder().decode(await fs.readFile(join(dir, MANIFEST_FILE)));
    } catch (e) {
      if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') {
        throw new MissingFile(new CheckpointError(location, `no ${MANIFEST_FILE} found in the directory`));
      }
      throw wrap(e, location, `reading ${MANIFEST_FILE} failed`);
    }
  }

  /**
   * Reads the manifest and its shards, then the manifest again: a save that swapped the
   * directory in between (another process saving while this one loads) changes it, and the
   * read starts over instead of reporting a mix of two checkpoints as corrupt.
   */
  async function readFiles(): Promise<tf.io.ModelArtifacts> {
    const ATTEMPTS = 5;
    for (let attempt = 1; ; attempt++) {
      const text = await readManifestText();
      let artifacts: tf.io.ModelArtifacts | undefined;
      let failure: unknown;
      try {
        artifacts = await readShards(text);
      } catch (e) {
        failure = e;
      }
      const again = await readManifestText().catch(() => null);
      if (again === text) {
        if (failure !== undefined) throw failure;
        return artifacts!;
      }
      if (attempt === ATTEMPTS) {
        throw new CheckpointError(location, `the checkpoint was replaced during each of ${ATTEMPTS} reads (saves in quick succession); load again`);
      }
    }
  }

  async function readShards(text: string): Promise<tf.io.ModelArtifacts> {
    const manifest = parseCheckpointJson(text, location);
    const shards = new Map<string, Uint8Array>();
    for (const group of manifest.weightsManifest) {
      for (const p of group.paths) {
        const file = safeShardName(p, location);
        let bytes: Uint8Array;
        try {
          bytes = await fs.readFile(join(dir, file));
        } catch (e) {
          if (errorCode(e) === 'ENOENT') {
            throw new MissingFile(new CheckpointError(location, `shard '${file}' listed in ${MANIFEST_FILE} is missing`));
          }
          throw wrap(e, location, `reading shard '${file}' failed`);
        }
        shards.set(file, bytes);
      }
    }
    // Sizes first (fromCheckpointFiles names the weights a short shard cuts), then contents.
    const artifacts = fromCheckpointFiles(manifest, shards, location);
    for (const [file, bytes] of shards) {
      const sums = manifest.checksums?.shards;
      const recorded = sums && Object.hasOwn(sums, file) ? sums[file] : undefined;
      if (recorded === undefined) continue;
      const actual = checksumOf(bytes);
      if (actual !== recorded.toLowerCase()) {
        throw new CheckpointError(
          location,
          `shard '${file}' is corrupt: its CRC-32 is ${actual}, ${MANIFEST_FILE} recorded ${recorded}; nothing was loaded`,
        );
      }
    }
    return artifacts;
  }

  async function load(): Promise<tf.io.ModelArtifacts> {
    try {
      return await readFiles();
    } catch (e) {
      if (!(e instanceof MissingFile)) throw e;
      // The final name may be empty because a swap is in flight (wait for it) or was
      // interrupted (put the set-aside checkpoint back); either way, under the lock.
      const entries = await fs.readdir(parent).catch(() => [] as string[]);
      const swapping = entries.some((x) => leftover.test(x) || x === basename(lockPath));
      if (!swapping) throw e.error;
      let held: HeldLock;
      try {
        held = await lockDirectory(fs, lockPath, location, lockOptions);
      } catch (lockError) {
        const old = entries.filter((x) => x.startsWith(`.${name}.old-`)).sort();
        const hint = old.length ? `; a save was interrupted while swapping: the previous checkpoint is at ${join(parent, old[old.length - 1]!)}` : '';
        throw new CheckpointError(location, `${e.error.problem}${hint} (${(lockError as Error).message})`);
      }
      try {
        await restoreInterruptedSwap();
      } finally {
        await held.release();
      }
      try {
        return await readFiles();
      } catch (again) {
        throw again instanceof MissingFile ? again.error : again;
      }
    }
  }

  return { location, save, load };
}

function listEntries(entries: string[]): string {
  const shown = entries.slice(0, 5).map((e) => `'${e}'`).join(', ');
  return entries.length > 5 ? `${shown} and ${entries.length - 5} more` : shown;
}
