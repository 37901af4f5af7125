import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';

/**
 * The file operations a checkpoint directory needs. Tests pass a wrapper that fails part
 * way to prove that a crash never leaves a half checkpoint under the final name.
 */
export interface CheckpointFileSystem {
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** Writes a file and flushes it to disk (fsync) before resolving. */
  writeFileDurably(path: string, data: Uint8Array): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or directory tree; no error if it is absent. */
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /**
   * What is at `path` itself (a link is not followed): a directory, a symbolic link, a file
   * (anything else), or nothing (null).
   */
  stat(path: string): Promise<{ kind: 'directory' | 'symlink' | 'file'; modifiedMs: number } | null>;
  /**
   * Creates a file only if nothing is at `path` (one atomic step: `open(path, 'wx')`), writes
   * `data` to it and resolves true; resolves false if something was already there.
   */
  createExclusive(path: string, data: Uint8Array): Promise<boolean>;
  /** Sets a path's modification time to now (a lock's heartbeat). */
  touch(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Flushes a directory's entries (new names, renames) to disk where the platform allows. */
  syncDirectory(path: string): Promise<void>;
}

/** {@link CheckpointFileSystem} on `node:fs/promises`. */
export const nodeFileSystem: CheckpointFileSystem = {
  async mkdir(path, options) {
    await mkdir(path, options);
  },
  async writeFileDurably(path, data) {
    const handle = await open(path, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  rename,
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  },
  async stat(path) {
    try {
      const s = await lstat(path);
      return { kind: s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'file', modifiedMs: s.mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  },
  async createExclusive(path, data) {
    let handle;
    try {
      handle = await open(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
    return true;
  },
  async touch(path) {
    const now = new Date();
    await utimes(path, now, now);
  },
  readdir,
  async syncDirectory(path) {
    // Windows cannot open a directory for fsync; there the rename itself is the best we get.
    let handle;
    try {
      handle = await open(path, 'r');
      await handle.sync();
    } catch {
      // best effort
    } finally {
      await handle?.close();
    }
  },
};
