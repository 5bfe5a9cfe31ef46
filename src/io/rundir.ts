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
 *   <dir>/.lock            {pid, hostname, startedAt, token} while a writer is active (lock.ts)
 *
 * A writer's session on the directory (lock, resume checks, cleanup): run-session.ts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeJsonAtomic } from "./atomic.ts";
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
        throw new RunDirError(
          `run directory ${paths.dir} already holds results of this run; resume it, overwrite it, or choose another directory`,
        );
      }
    } else if (readdirSync(paths.dir).some((f) => f !== "plots" && f !== "samples" && !f.startsWith("."))) {
      throw new RunDirError(
        `run directory ${paths.dir} exists, is not empty and holds no config.json; choose another directory`,
      );
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

/** Differences between a stored and a requested run config that forbid resuming (`epochs` may grow). */
export function resumeConflicts(stored: JsonObject, requested: JsonObject): string[] {
  return jsonDiff({ ...stored, epochs: 0 }, { ...requested, epochs: 0 });
}
