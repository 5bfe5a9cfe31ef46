/**
 * Run directories: one directory holds a run's config, checkpoint, metrics, samples,
 * plots and report, so that every figure can be regenerated from it. A lock file keeps a second
 * writer out.
 *
 *   <dir>/config.json      the run configuration (JSON object)
 *   <dir>/checkpoint.json  latest checkpoint (see checkpoint.ts)
 *   <dir>/metrics.csv      one row per epoch (see metrics.ts)
 *   <dir>/samples/         sample files
 *   <dir>/plots/           SVG/PNG figures
 *   <dir>/report.html      report
 *   <dir>/.lock            {pid, hostname, startedAt, token} while a writer is active
 */
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomic, writeJsonAtomic } from "./atomic.ts";
import { CheckpointError, loadCheckpoint, type Checkpoint } from "./checkpoint.ts";
import { isJsonObject, jsonDiff, type JsonObject } from "./json.ts";

export interface RunPaths {
  dir: string;
  config: string;
  checkpoint: string;
  metrics: string;
  samples: string;
  plots: string;
  report: string;
  lock: string;
}

/** Paths inside a run directory (nothing is created). */
export function runPaths(dir: string): RunPaths {
  const d = resolve(dir);
  return {
    dir: d,
    config: join(d, "config.json"),
    checkpoint: join(d, "checkpoint.json"),
    metrics: join(d, "metrics.csv"),
    samples: join(d, "samples"),
    plots: join(d, "plots"),
    report: join(d, "report.html"),
    lock: join(d, ".lock"),
  };
}

/** Path of a plot file, e.g. plotPath(paths, "training", "svg") → <dir>/plots/training.svg. */
export function plotPath(paths: RunPaths, name: string, ext: "svg" | "png" | "json"): string {
  return join(paths.plots, `${name}.${ext}`);
}

/**
 * `mkdir -p`, one level at a time. (Node 20's `mkdirSync(p, { recursive: true })` never returns
 * when mkdir fails with ENOENT under an existing parent, e.g. below /proc; this throws instead.)
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** A run directory that cannot be used as asked; the message is one line. */
export class RunDirError extends Error {
  override readonly name = "RunDirError";
}

/**
 * - "new": start a run. The directory may be absent or empty, or hold the same config but no
 *   checkpoint/metrics yet. A different config, or an existing run's results, are refused.
 * - "resume": continue the run in the directory; it must already hold config.json. The
 *   config given may differ (e.g. more epochs): the differing keys are returned, the stored
 *   config.json is left as it is (call writeRunConfig to update it).
 * - "overwrite": start over, deleting the previous checkpoint and metrics.
 */
export type RunMode = "new" | "resume" | "overwrite";

export interface OpenedRunDir {
  paths: RunPaths;
  resumed: boolean;
  /** The config stored in the directory (equal to the given one unless resuming). */
  storedConfig: JsonObject;
  /** Dotted keys where the given config differs from the stored one (only when resuming). */
  configChanges: string[];
}

/** Read <dir>/config.json. */
export function readRunConfig(paths: RunPaths): JsonObject {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(paths.config, "utf8"));
  } catch (err) {
    throw new RunDirError(`run config ${paths.config} cannot be read: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!isJsonObject(doc)) throw new RunDirError(`run config ${paths.config} is not a JSON object`);
  return doc;
}

export function writeRunConfig(paths: RunPaths, config: JsonObject): void {
  writeJsonAtomic(paths.config, config);
}

/** Create or reopen a run directory according to `mode` (see RunMode). */
export function openRunDir(dir: string, config: JsonObject, mode: RunMode = "new"): OpenedRunDir {
  const paths = runPaths(dir);
  if (existsSync(paths.dir) && !statSync(paths.dir).isDirectory()) {
    throw new RunDirError(`run directory ${paths.dir} exists and is not a directory`);
  }
  const hasConfig = existsSync(paths.config);
  const hasResults = existsSync(paths.checkpoint) || existsSync(paths.metrics);

  if (mode === "resume") {
    if (!hasConfig) throw new RunDirError(`cannot resume: ${paths.dir} holds no run (no config.json)`);
    const stored = readRunConfig(paths);
    makeDirs(paths.plots);
    makeDirs(paths.samples);
    return { paths, resumed: true, storedConfig: stored, configChanges: jsonDiff(stored, config) };
  }

  if (mode === "new" && existsSync(paths.dir)) {
    if (hasConfig) {
      const diff = jsonDiff(readRunConfig(paths), config);
      if (diff.length > 0) {
        const shown = diff.slice(0, 5).join(", ") + (diff.length > 5 ? `, … (${diff.length} keys)` : "");
        throw new RunDirError(
          `run directory ${paths.dir} already holds a run with a different config (differs in ${shown}); resume it, overwrite it, or choose another directory`,
        );
      }
      if (hasResults) {
        throw new RunDirError(`run directory ${paths.dir} already holds results of this run; resume it, overwrite it, or choose another directory`);
      }
    } else if (readdirSync(paths.dir).some((f) => f !== "plots" && f !== "samples" && !f.startsWith("."))) {
      throw new RunDirError(`run directory ${paths.dir} exists, is not empty and holds no config.json; choose another directory`);
    }
  }

  if (mode === "overwrite") {
    rmSync(paths.checkpoint, { force: true });
    rmSync(paths.metrics, { force: true });
  }
  makeDirs(paths.plots);
  makeDirs(paths.samples);
  writeRunConfig(paths, config);
  return { paths, resumed: false, storedConfig: config, configChanges: [] };
}

// ---------------------------------------------------------------------------------------------
// Lock file

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
        if (attempt >= 2) throw new LockError(`run directory ${paths.dir}: could not take the lock ${paths.lock} (contended); try again`);
      }
      const holder = readLock(paths.lock);
      if (holder === "absent") continue;
      if (holder === "unparsable") {
        throw new LockError(`run directory ${paths.dir} is locked by an unreadable lock file ${paths.lock}; delete it if no run is active`);
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

// ---------------------------------------------------------------------------------------------
// A writer's session on a run directory (train, fit)

/** Differences between a stored and a requested run config that forbid resuming (`epochs` may grow). */
export function resumeConflicts(stored: JsonObject, requested: JsonObject): string[] {
  return jsonDiff({ ...stored, epochs: 0 }, { ...requested, epochs: 0 });
}

/** A run-directory path that is clearly a mistake (empty, NUL bytes). */
function checkDirArgument(dir: string): void {
  if (typeof dir !== "string" || dir.trim() === "") throw new RunDirError(`run directory "${dir}" is invalid: give a non-empty path`);
  if (dir.includes("\0")) throw new RunDirError(`run directory ${JSON.stringify(dir)} is invalid: it contains a NUL byte`);
}

/** File-system errors while setting up the run directory (permissions, a file in the way, ...) as one-line RunDirErrors. */
function setupError(dir: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === "string" && /^E[A-Z]+$/.test(e.code) && !(err instanceof RunDirError)) {
    return new RunDirError(`cannot use run directory ${dir}: ${e.code} (${e.syscall ?? "fs"}${e.path ? ` ${e.path}` : ""})`);
  }
  return err;
}

/** The outermost directory of `dir` that does not exist yet (what creating `dir` would create), or null. */
function firstMissingAncestor(dir: string): string | null {
  if (existsSync(dir)) return null;
  let d = dir;
  for (;;) {
    const parent = dirname(d);
    if (parent === d || existsSync(parent)) return d;
    d = parent;
  }
}

/** Remove `root` and the directories below it as long as they hold no files (never removes a file). */
function removeEmptyTree(root: string): void {
  const visit = (d: string): boolean => {
    let empty = true;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory() && visit(p)) continue;
      empty = false;
    }
    if (empty) rmSync(d, { recursive: true });
    return empty;
  };
  try {
    visit(root);
  } catch {
    /* best effort */
  }
}

/** Delete everything but the lock in a run directory this call created (setup failed while we held its lock). */
function clearCreatedRunDir(dir: string): void {
  try {
    for (const name of readdirSync(dir)) if (name !== ".lock") rmSync(join(dir, name), { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/**
 * Load a run's checkpoint for resuming or rolling back, refusing one that is well-formed but
 * unusable: made with a different config (RunDirError), non-finite parameters, an invalid Adam
 * state or a degenerate (all-zero) RNG state (CheckpointError).
 */
export function loadResumableCheckpoint(paths: RunPaths, config: JsonObject): Checkpoint<JsonObject> {
  const ck = loadCheckpoint(paths.checkpoint);
  const conflicts = resumeConflicts(ck.config, config);
  if (conflicts.length > 0) {
    throw new RunDirError(`cannot resume ${paths.dir}: the checkpoint was made with a different config (${conflicts.slice(0, 5).join(", ")})`);
  }
  const bad = (detail: string): CheckpointError => new CheckpointError(paths.checkpoint, "invalid", detail);
  if (!allFinite(ck.params)) throw bad("holds non-finite parameters (NaN or Infinity)");
  if (!allFinite(ck.optimiser.m) || !allFinite(ck.optimiser.v) || ck.optimiser.v.some((x) => x < 0)) {
    throw bad("holds an invalid optimiser state (non-finite moments or a negative second moment)");
  }
  if (ck.rng.every((w) => w === 0)) throw bad("holds a degenerate RNG state (all zero)");
  return ck;
}

export interface RunDirRequest {
  dir: string;
  /** the run's config (config.json) */
  config: JsonObject;
  /** continue the run in `dir` (its config may differ only in `epochs`) */
  resume?: boolean;
  /** discard a previous run's results in `dir` */
  overwrite?: boolean;
}

/**
 * Run a writer on a run directory: validate a resume before touching the disk, take the lock,
 * open the directory (openRunDir), clear stale temp files, then `setup(paths)` (restore state,
 * open metrics, write config/provenance) and `body(paths, setup's result)`, releasing the lock at
 * the end. Anything refused before `body` starts leaves no trace: directories this call created
 * are removed again (a refused setup empties the directory under the lock first), and
 * file-system errors become one-line RunDirErrors.
 */
export async function withRunDir<S, T>(
  req: RunDirRequest, setup: (paths: RunPaths) => S, body: (paths: RunPaths, s: S) => Promise<T>,
): Promise<T> {
  checkDirArgument(req.dir);
  const paths0 = runPaths(req.dir);
  if (existsSync(paths0.dir) && !statSync(paths0.dir).isDirectory()) {
    throw new RunDirError(`run directory ${paths0.dir} exists and is not a directory`);
  }
  if (req.resume) {
    if (!existsSync(paths0.config)) throw new RunDirError(`cannot resume: ${paths0.dir} holds no run (no config.json)`);
    const conflicts = resumeConflicts(readRunConfig(paths0), req.config);
    if (conflicts.length > 0) throw new RunDirError(`cannot resume ${paths0.dir}: its config differs in ${conflicts.slice(0, 5).join(", ")}`);
  }
  // directories this call creates are removed again if it is refused
  const createdRoot = firstMissingAncestor(paths0.dir);
  let lock: RunLock;
  try {
    lock = acquireRunLock(paths0.dir);
  } catch (err) {
    if (createdRoot !== null) removeEmptyTree(createdRoot);
    throw setupError(paths0.dir, err);
  }
  let started = false;
  try {
    let paths: RunPaths;
    let s: S;
    try {
      paths = openRunDir(req.dir, req.config, req.resume ? "resume" : req.overwrite ? "overwrite" : "new").paths;
      removeStaleTempFiles(paths.dir);
      s = setup(paths);
    } catch (err) {
      if (createdRoot !== null) clearCreatedRunDir(paths0.dir);
      throw setupError(paths0.dir, err);
    }
    started = true;
    return await body(paths, s);
  } finally {
    lock.release();
    if (!started && createdRoot !== null) removeEmptyTree(createdRoot);
  }
}
