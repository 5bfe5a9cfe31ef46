/**
 * Planning a temperature × depth scan (App. E): its points, their run directories and
 * configurations, the scan's definition (scan.json), and the state of each point on disk.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadCheckpoint } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { isJsonObject, jsonDiff, plainJson } from "../io/json.ts";
import { readMetrics } from "../io/metrics.ts";
import { readRunConfig, runPaths, RunDirError } from "../io/rundir.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { validateTrainConfig } from "../train/trainer.ts";
import type { TemperatureGrid } from "./range.ts";
import type { PointStatus, ScanRow } from "./table.ts";

export interface ScanPoint {
  T: number;
  /** T as written in names and tables, e.g. "2.0" */
  label: string;
  depth: number;
  /** the seed, in a scan over several seeds (absent otherwise; the run's seed is config.seed) */
  seed?: number;
  /** run directory (absolute) */
  dir: string;
  config: TrainConfig;
}

/** What a scan is: its grid and base configuration (scan.json, and `scan` in shard manifests). */
export type ScanDefinition = JsonObject & {
  temperatures: number[];
  labels: string[];
  depths: number[];
  /** seeds, ascending, of a scan over several seeds (absent for one seed: config.seed) */
  seeds?: number[];
  /** run-directory names of all points, temperature-major, then depth, then seed */
  points: string[];
  /** the configuration of the point (first T, deepest depth, first seed); the others differ in T, depth and seed (pointConfig) */
  config: JsonObject;
};

/** The configuration of the point (T, depth[, seed]) of a scan whose base configuration is `base`. */
export function pointConfig(base: TrainConfig, T: number, depth: number, seed?: number): TrainConfig {
  const target = base.target.kind === "ising" ? { ...base.target, T } : base.target;
  return { ...base, target, flow: { ...base.flow, depth }, ...(seed !== undefined ? { seed } : {}) };
}

/** The seed dimension of a seed list: the seeds when there are two or more, else none. */
function scanSeeds(seeds: readonly number[] | undefined): number[] | undefined {
  return seeds !== undefined && seeds.length > 1 ? [...seeds].sort((a, b) => a - b) : undefined;
}

/** The definition of a planned scan (points from planScan, in its order). */
export function scanDefinition(
  temperatures: TemperatureGrid,
  depths: number[],
  points: ScanPoint[],
  seeds?: readonly number[],
): ScanDefinition {
  const ref = points.find((p) => p.T === temperatures.values[0] && p.depth === depths[depths.length - 1]) ?? points[0];
  const dim = scanSeeds(seeds);
  return {
    temperatures: [...temperatures.values],
    labels: [...temperatures.labels],
    depths: [...depths],
    ...(dim ? { seeds: dim } : {}),
    points: points.map(pointName),
    config: plainJson(ref.config),
  };
}

/** A shard's manifest (shard-<I>-of-<N>.json). */
export interface ShardManifest extends JsonObject {
  format: "neuralrg-scan-shard";
  version: 1;
  shard: number;
  shards: number;
  /** where the shard index came from (--shard, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX) */
  source: string;
  scan: ScanDefinition;
  /** run-directory names of this shard's points */
  assigned: string[];
  /** status of each assigned point when the shard last ran */
  status: Record<string, string>;
  /** configurations per point of the sample figure (Fig. S2), for the merge */
  gridSamples: number;
  gridSeed: number;
  /** ISO time of writing */
  written: string;
}

/** The run directory name of a point: T<label>-d<depth>, or T<label>-d<depth>-s<seed> in a scan over several seeds. */
export function pointDirName(label: string, depth: number, seed?: number): string {
  return seed === undefined ? `T${label}-d${depth}` : `T${label}-d${depth}-s${seed}`;
}

/** The run directory name of a point (pointDirName). */
export function pointName(p: { label: string; depth: number; seed?: number }): string {
  return pointDirName(p.label, p.depth, p.seed);
}

/**
 * The points of a scan, temperature-major, then depth, then seed, with their run configurations
 * (validated). `seeds`: see ScanOptions.
 */
export function planScan(
  dir: string,
  temperatures: TemperatureGrid,
  depths: number[],
  configFor: (T: number, depth: number) => TrainConfig,
  seeds?: readonly number[],
): ScanPoint[] {
  const root = resolve(dir);
  const dim = scanSeeds(seeds);
  const only = seeds !== undefined && seeds.length === 1 ? seeds[0] : undefined;
  const points: ScanPoint[] = [];
  temperatures.values.forEach((T, i) => {
    const label = temperatures.labels[i];
    for (const depth of depths) {
      const base = configFor(T, depth);
      for (const seed of dim ?? [undefined]) {
        const s = seed ?? only;
        const config = s !== undefined ? { ...base, seed: s } : base;
        validateTrainConfig(config);
        points.push({
          T,
          label,
          depth,
          ...(seed !== undefined ? { seed } : {}),
          dir: join(root, pointDirName(label, depth, seed)),
          config,
        });
      }
    }
  });
  return points;
}

function readSummary(dir: string): JsonObject | null {
  const path = join(dir, "summary.json");
  if (!existsSync(path)) return null;
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    return isJsonObject(v) ? v : null;
  } catch {
    return null;
  }
}

function num(v: unknown): number {
  return typeof v === "number" ? v : Number.NaN;
}

/** Where a point stands on disk; throws RunDirError when its directory holds a different run. */
export function pointState(p: ScanPoint): { status: "done" | "partial" | "new"; epoch: number } {
  const paths = runPaths(p.dir);
  if (!existsSync(paths.config)) return { status: "new", epoch: 0 };
  const stored = readRunConfig(paths);
  const diff = jsonDiff(
    { ...stored, epochs: 0 },
    { ...(JSON.parse(JSON.stringify(p.config)) as JsonObject), epochs: 0 },
  );
  if (diff.length > 0) {
    const shown = diff.slice(0, 5).join(", ") + (diff.length > 5 ? `, … (${diff.length} keys)` : "");
    throw new RunDirError(
      `scan point ${paths.dir} holds a run with a different configuration (differs in ${shown}); choose another scan directory with --out`,
    );
  }
  if (!existsSync(paths.checkpoint)) return { status: "partial", epoch: 0 };
  const epoch = loadCheckpoint(paths.checkpoint).epoch;
  const summary = readSummary(p.dir);
  // done: a summary of the checkpointed state (not of an earlier stop) with the requested epochs
  if (summary && num(summary.epochs) === epoch && epoch >= p.config.epochs) return { status: "done", epoch };
  return { status: "partial", epoch: Math.min(epoch, p.config.epochs) };
}

function trainingSeconds(dir: string): number {
  const path = runPaths(dir).metrics;
  if (!existsSync(path)) return Number.NaN;
  try {
    return readMetrics(path).rows.reduce((s, r) => s + (Number.isFinite(r.seconds) ? r.seconds : 0), 0);
  } catch {
    return Number.NaN;
  }
}

/** The row of a point from its run directory (summary.json, metrics.csv). */
export function rowOf(p: ScanPoint, status: PointStatus, error?: string): ScanRow {
  const s = readSummary(p.dir);
  return {
    point: p,
    status,
    epochs: s ? num(s.epochs) : Number.NaN,
    F: s ? num(s.F) : Number.NaN,
    F_stderr: s ? num(s.F_stderr) : Number.NaN,
    exact: s ? num(s.exact) : Number.NaN,
    rel_err: s ? num(s.rel_err) : Number.NaN,
    seconds: trainingSeconds(p.dir),
    ...(error !== undefined ? { error } : {}),
  };
}
