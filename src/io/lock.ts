/**
 * One writer per run directory: <dir>/.lock holds {pid, hostname, startedAt, token} while a
 * writer is active; a lock whose process is gone (same host) is stale and cleared. And the
 * leftovers of writers that were killed mid-write: atomic-write temp files and lock temp files.
 */
import { linkSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomic } from "./atomic.ts";
import { isJsonObject } from "./json.ts";
import { makeDirs, runPaths } from "./rundir.ts";

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Remove the lock if it is still ours. Idempotent. */
  release(): void;
}

export class LockError extends Error {
  override readonly name = "LockError";
  constructor(
    message: string,
    readonly holder?: LockInfo,
  ) {
    super(message);
  }
}

function readLock(path: string): LockInfo | "absent" | "unparsable" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw err;
  }
  try {
    const v: unknown = JSON.parse(text);
    if (
      isJsonObject(v) &&
      typeof v.pid === "number" &&
      typeof v.hostname === "string" &&
      typeof v.startedAt === "string" &&
      typeof v.token === "string"
    ) {
      return { pid: v.pid, hostname: v.hostname, startedAt: v.startedAt, token: v.token };
    }
  } catch {
    /* fall through */
  }
  return "unparsable";
}

/** True when a process with this pid exists on this machine (EPERM counts as alive). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function describe(info: LockInfo): string {
  return `pid ${info.pid} on ${info.hostname} since ${info.startedAt}`;
}

/**
 * Take the run directory's lock. The lock file is created with its content in one step
 * (written to a temp file, then hard-linked into place, which fails if the lock exists), so a
 * reader never sees a half-written lock. A lock whose process is no longer alive on this host is
 * stale and is cleared; a live lock, or one from another host, is refused with LockError.
 * The lock is released by release() and, as a fallback, when the process exits.
 */
export function acquireRunLock(dir: string): RunLock {
  const paths = runPaths(dir);
  makeDirs(paths.dir);
  const info: LockInfo = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  const tmp = `${paths.lock}.${info.token}.tmp`;
  writeFileAtomic(tmp, JSON.stringify(info) + "\n");
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, paths.lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (attempt >= 2)
          throw new LockError(
            `run directory ${paths.dir}: could not take the lock ${paths.lock} (contended); try again`,
          );
      }
      const holder = readLock(paths.lock);
      if (holder === "absent") continue;
      if (holder === "unparsable") {
        throw new LockError(
          `run directory ${paths.dir} is locked by an unreadable lock file ${paths.lock}; delete it if no run is active`,
        );
      }
      if (holder.hostname !== info.hostname) {
        throw new LockError(
          `run directory ${paths.dir} is locked by ${describe(holder)} (another host: cannot check it; delete ${paths.lock} if that run is gone)`,
          holder,
        );
      }
      if (pidAlive(holder.pid)) {
        throw new LockError(`run directory ${paths.dir} is in use by ${describe(holder)}`, holder);
      }
      clearStaleLock(paths.lock, holder);
    }
  } finally {
    rmSync(tmp, { force: true });
  }

  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener("exit", release);
    const now = readLock(paths.lock);
    if (typeof now === "object" && now.token === info.token) rmSync(paths.lock, { force: true });
  };
  process.once("exit", release);
  return { path: paths.lock, info, release };
}

/**
 * Remove a stale lock. It is first renamed aside (atomic), then checked to be the very lock
 * judged stale; if another process replaced it in between, it is put back and we give up.
 */
function clearStaleLock(lockPath: string, stale: LockInfo): void {
  const aside = `${lockPath}.stale.${randomBytes(6).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const moved = readLock(aside);
  if (typeof moved === "object" && moved.token !== stale.token) {
    try {
      linkSync(aside, lockPath);
    } catch {
      /* someone else holds it now; they win */
    }
    rmSync(aside, { force: true });
    throw new LockError(`run directory lock ${lockPath} changed hands while clearing a stale lock; try again`, moved);
  }
  rmSync(aside, { force: true });
}

// ---------------------------------------------------------------------------------------------
// Leftovers of killed writers

/** Temp-file names of atomic.ts: `.<name>.<pid>.<12 hex>.tmp`. */
const ATOMIC_TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** Lock temp files (`.lock.<token>.tmp`) and stale locks renamed aside (`.lock.stale.<hex>`). */
const LOCK_LEFTOVER_RE = /^\.lock\.(?:[0-9a-f]{16}\.tmp|stale\.[0-9a-f]{12})$/;

/**
 * Remove temporary files left in a run directory (and its plots/) by writers that were killed
 * mid-write: atomic-write temp files whose process is gone, and lock leftovers older than a
 * minute. Call while holding the run's lock. Returns the removed paths. Best effort.
 */
export function removeStaleTempFiles(dir: string, now: number = Date.now()): string[] {
  const paths = runPaths(dir);
  const removed: string[] = [];
  for (const d of [paths.dir, paths.plots]) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(d, name);
      const m = ATOMIC_TEMP_RE.exec(name);
      let stale = false;
      if (m && !LOCK_LEFTOVER_RE.test(name)) stale = Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
      else if (d === paths.dir && LOCK_LEFTOVER_RE.test(name)) {
        try {
          stale = now - statSync(p).mtimeMs > 60_000;
        } catch {
          stale = false;
        }
      }
      if (!stale) continue;
      try {
        rmSync(p, { force: true });
        removed.push(p);
      } catch {
        /* best effort */
      }
    }
  }
  return removed;
}
