import { hostname } from 'node:os';
import { CheckpointError } from '../../errors.js';
import type { CheckpointFileSystem } from './file-system.js';

/** Who holds a checkpoint directory's lock, as written in the lock file. */
export interface LockOwner {
  pid: number;
  host: string;
  token: string;
  /** ISO 8601 time the lock was taken. */
  since: string;
}

export interface DirectoryLockOptions {
  /** How long to wait for another save to finish before giving up (ms). */
  timeoutMs: number;
  /**
   * A lock whose file has not been touched for this long is stale (its holder died or hangs).
   * The holder touches it every `staleMs / 4`, so a live save never goes stale.
   */
  staleMs: number;
}

const POLL_MS = 25;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(bytes: Uint8Array): LockOwner | null {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string') return o as LockOwner;
  } catch {
    // a lock file cut short by a kill between create and write
  }
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

let tokens = 0;

/** A held lock: `release()` removes it and stops its heartbeat; it is idempotent. */
export interface HeldLock {
  readonly owner: LockOwner;
  /** Whether the lock file still names this holder (a holder that hung past staleMs may have lost it). */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Locks a checkpoint directory for one save: a lock file created exclusively beside it
 * (`.<name>.lock`) that names its holder. Another save waits for it; a lock whose holder is
 * a dead process on this host, or that nobody has touched for `staleMs` (a holder on another
 * host, a pid reused), is stale and taken over.
 *
 * Taking over renames the lock aside and puts it back if what was moved is not the lock that
 * was judged stale (a fresh one taken in between). What remains is a window of a few
 * milliseconds in which a third save can slip in during that put-back; a save therefore checks
 * that it still holds the lock before it swaps directories.
 */
export async function lockDirectory(
  fs: CheckpointFileSystem,
  lockPath: string,
  location: string,
  options: DirectoryLockOptions,
): Promise<HeldLock> {
  tokens += 1;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    token: `${process.pid}-${Date.now().toString(36)}-${tokens}`,
    since: new Date().toISOString(),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(owner));
  const deadline = Date.now() + options.timeoutMs;
  let lastHolder: LockOwner | null = null;
  for (;;) {
    if (await fs.createExclusive(lockPath, bytes)) break;
    let seen: Uint8Array;
    try {
      seen = await fs.readFile(lockPath);
    } catch (e) {
      // Released between our attempt and the read: try again at once.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    // The age of what was read, so a lock released and taken again in between looks fresh.
    const held = await fs.stat(lockPath);
    if (held === null) continue;
    const holder = parseOwner(seen);
    lastHolder = holder ?? lastHolder;
    const dead = holder !== null && holder.host === owner.host && !isAlive(holder.pid);
    const age = Date.now() - held.modifiedMs;
    // An unreadable lock file older than a second is one whose writer died right after creating it.
    const broken = holder === null && age > 1000;
    if (dead || broken || age > options.staleMs) {
      const aside = `${lockPath}.stale-${owner.token}`;
      try {
        await fs.rename(lockPath, aside);
      } catch {
        continue; // someone else took it over first
      }
      // What was moved may be a fresh lock taken after the read: then it goes back.
      const moved = await fs.readFile(aside).catch(() => null);
      if (moved !== null && !sameBytes(moved, seen)) await fs.createExclusive(lockPath, moved).catch(() => false);
      await fs.remove(aside).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = lastHolder
        ? `process ${lastHolder.pid} on ${lastHolder.host} (since ${lastHolder.since})`
        : 'another process';
      throw new CheckpointError(
        location,
        `another save to this checkpoint, by ${who}, still holds ${lockPath} after ${options.timeoutMs} ms; ` +
          'nothing was written. If no save is running, delete that file',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }

  const heartbeat = setInterval(() => {
    fs.touch(lockPath).catch(() => undefined);
  }, Math.max(10, Math.floor(options.staleMs / 4)));
  // A lock must not keep a script alive on its own.
  heartbeat.unref?.();
  let released = false;
  return {
    owner,
    async stillHeld() {
      const holder = parseOwner(await fs.readFile(lockPath).catch(() => new Uint8Array()));
      return !released && holder?.token === owner.token;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only our own lock is removed: a holder that hung past staleMs may have lost it.
      const holder = parseOwner(await fs.readFile(lockPath).catch(() => new Uint8Array()));
      if (holder?.token === owner.token) await fs.remove(lockPath).catch(() => undefined);
    },
  };
}
