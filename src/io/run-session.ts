/**
 * A writer's session on a run directory (train, fit): validate a resume before touching the disk,
 * take the lock, open the directory, restore from a checkpoint that fits the config, and leave no
 * trace when the run is refused.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { CheckpointError, loadCheckpoint, type Checkpoint } from "./checkpoint.ts";
import type { JsonObject } from "./json.ts";
import { acquireRunLock, LockError, removeStaleTempFiles, type RunLock } from "./lock.ts";
import { openRunDir, readRunConfig, resumeConflicts, RunDirError, runPaths, type RunPaths } from "./rundir.ts";

/** A run-directory path that is clearly a mistake (empty, NUL bytes). */
function checkDirArgument(dir: string): void {
  if (typeof dir !== "string" || dir.trim() === "")
    throw new RunDirError(`run directory "${dir}" is invalid: give a non-empty path`);
  if (dir.includes("\0"))
    throw new RunDirError(`run directory ${JSON.stringify(dir)} is invalid: it contains a NUL byte`);
}

/** File-system errors while setting up the run directory (permissions, a file in the way, ...) as one-line RunDirErrors. */
function setupError(dir: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === "string" && /^E[A-Z]+$/.test(e.code) && !(err instanceof RunDirError)) {
    return new RunDirError(
      `cannot use run directory ${dir}: ${e.code} (${e.syscall ?? "fs"}${e.path ? ` ${e.path}` : ""})`,
    );
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
    for (const name of readdirSync(dir))
      if (name !== ".lock") rmSync(join(dir, name), { recursive: true, force: true });
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
    throw new RunDirError(
      `cannot resume ${paths.dir}: the checkpoint was made with a different config (${conflicts.slice(0, 5).join(", ")})`,
    );
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
  req: RunDirRequest,
  setup: (paths: RunPaths) => S,
  body: (paths: RunPaths, s: S) => Promise<T>,
): Promise<T> {
  checkDirArgument(req.dir);
  const paths0 = runPaths(req.dir);
  if (existsSync(paths0.dir) && !statSync(paths0.dir).isDirectory()) {
    throw new RunDirError(`run directory ${paths0.dir} exists and is not a directory`);
  }
  if (req.resume) {
    if (!existsSync(paths0.config)) throw new RunDirError(`cannot resume: ${paths0.dir} holds no run (no config.json)`);
    const conflicts = resumeConflicts(readRunConfig(paths0), req.config);
    if (conflicts.length > 0)
      throw new RunDirError(`cannot resume ${paths0.dir}: its config differs in ${conflicts.slice(0, 5).join(", ")}`);
  }
  // directories this call creates are removed again if it is refused
  const createdRoot = firstMissingAncestor(paths0.dir);
  let lock: RunLock;
  try {
    lock = acquireRunLock(paths0.dir);
  } catch (err) {
    // a LockError means another writer holds the directory: what we created, it now uses (its
    // plots/ may be empty for a moment), so removing empty directories would pull them from under it
    if (createdRoot !== null && !(err instanceof LockError)) removeEmptyTree(createdRoot);
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
