/**
 * Temperature × depth scan (paper App. E, Fig. S1 and S2): one training per (T, depth) point,
 * each into its own run directory <dir>/T<T>-d<depth>/ (io/training-run.ts), run in a pool of
 * worker threads (tinypool) at most `jobs` at a time.
 *
 *   <dir>/scan.json            what was asked: temperatures, depths, the base configuration
 *   <dir>/T2.0-d1/ …           one run directory per point (config, checkpoint, metrics, summary)
 *   <dir>/scan.csv             T, depth, epochs, F, F_stderr, exact, rel_err, seconds
 *   <dir>/relerr-vs-T.svg|png  Fig. S1: relative error of F vs T, one line per depth, error bars
 *   <dir>/samples.svg|png      Fig. S2: generated configurations (tanh x), depth × temperature
 *
 * With several seeds (`seeds`, two or more) every (T, depth) is trained once per seed, into
 * <dir>/T<T>-d<depth>-s<seed>/; scan.csv then has a seed column (one row per run), and
 *   <dir>/scan-mean.csv        per (T, depth): mean relative error over the seeds, the standard
 *                              error of that mean (spread across seeds) and the best seed
 * (aggregate.ts); Fig. S1 and the best depth per T use the means, Fig. S2 the lowest seed's runs.
 * With no seed list or a single seed, everything is as without seeds (names, columns, figures).
 *
 * With a shard (shard.ts) only that shard's share of the points is trained, and instead of
 * scan.csv and the figures the shard writes
 *   <dir>/shard-<I>-of-<N>.json   the scan (all points, base configuration), this shard's points
 *                                 and their status: what `scan merge` (merge.ts) combines
 *   <dir>/shard-<I>-of-<N>.csv    this shard's rows of scan.csv
 * so that shards may share one directory (a cluster file system) or use one each.
 *
 * Re-running the same scan skips finished points (summary.json with the requested epochs) and
 * resumes interrupted ones from their checkpoints; a point whose directory holds a run with a
 * different configuration is refused before anything starts. A time budget (`maxSeconds`) or an
 * abort signal stops the running points after their current epoch, with a checkpoint, and
 * leaves the rest for the next run; the CSV and figures then cover the points finished so far.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { MessageChannel } from "node:worker_threads";
import Tinypool from "tinypool";
import type { Real } from "../engine/real.ts";
import { alloc } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { generate } from "../flow/flow.ts";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import { loadCheckpoint } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { isJsonObject, jsonDiff } from "../io/json.ts";
import { formatNumber, readMetrics } from "../io/metrics.ts";
import { writePlot } from "../io/plot.ts";
import type { ProgressMode, ProgressStream } from "../io/progress.ts";
import { createProgress, formatDuration } from "../io/progress.ts";
import { readRunConfig, runPaths, RunDirError } from "../io/rundir.ts";
import { loadTrainedRun } from "../io/training-run.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { validateTrainConfig } from "../train/trainer.ts";
import { seedStats, type SeedStats } from "./aggregate.ts";
import { relErrPlot, sampleGridPlot, type SampleGridCell } from "./figures.ts";
import type { PointMessage, PointOutcome, PointTask } from "./point-worker.ts";
import type { TemperatureGrid } from "./range.ts";
import { shardFileStem, shardPositions, type ResolvedShard } from "./shard.ts";

/** Critical temperature of the 2D Ising model (marked in Fig. S1). */
const T_C = 2 / Math.log(1 + Math.SQRT2);

export const SCAN_CSV_COLUMNS = ["T", "depth", "epochs", "F", "F_stderr", "exact", "rel_err", "seconds"] as const;
/** scan.csv of a scan over several seeds: one row per run. */
export const SCAN_SEEDS_CSV_COLUMNS = ["T", "depth", "seed", "epochs", "F", "F_stderr", "exact", "rel_err", "seconds"] as const;
/** scan-mean.csv: per (T, depth), statistics over the seeds (aggregate.ts). */
export const SCAN_MEAN_CSV_COLUMNS = ["T", "depth", "seeds", "stopped", "rel_err_mean", "rel_err_sem", "rel_err_sd", "best_seed", "best_rel_err", "exact"] as const;

export interface ScanOptions {
  /** the scan directory */
  dir: string;
  temperatures: TemperatureGrid;
  /** depths, ascending */
  depths: number[];
  /** the training configuration of one point */
  configFor: (T: number, depth: number) => TrainConfig;
  /**
   * seeds, ascending: with two or more, each (T, depth) is trained once per seed (the seed
   * replacing configFor's) into T<T>-d<depth>-s<seed>/; a single seed replaces configFor's seed
   * and changes nothing else; absent: configFor's seed (see the module comment)
   */
  seeds?: number[];
  /** points trained at once (default: the number of cores) */
  jobs?: number;
  /** epochs between checkpoints */
  savePeriod: number;
  /** fresh samples for each point's final F (default 4 × batch) */
  evalSamples?: number;
  /** worker threads per point for its loss and gradient (default 1) */
  workers?: number;
  /** where each point's loss and gradient are computed (training-run.ts; default cpu) */
  backend?: "cpu" | "webgpu";
  /** wall-time budget of the whole scan in seconds: afterwards, points stop with a checkpoint */
  maxSeconds?: number;
  /** stop the running points after their current epoch (with a checkpoint) and start no more */
  signal?: AbortSignal;
  progress?: ProgressMode;
  /** where progress goes (default stderr) */
  progressStream?: ProgressStream;
  /** one-line messages */
  log?: (line: string) => void;
  /** configurations per point in Fig. S2 (default 1; 0 = no sample figure) */
  gridSamples?: number;
  /** seed of the latent vectors of Fig. S2 (the same z for every point) */
  gridSeed?: number;
  /** called when a point has finished (or stopped) training */
  onPointEnd?: (point: ScanPoint, outcome: PointOutcome | Error) => void;
  /** train only this shard's share of the points and write its manifest (see the module comment) */
  shard?: ResolvedShard;
}

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

export type PointStatus = "done" | "partial" | "new" | "failed";

export interface ScanRow {
  point: ScanPoint;
  status: PointStatus;
  /** epochs of the stored summary (NaN without one) */
  epochs: number;
  F: number;
  F_stderr: number;
  exact: number;
  rel_err: number;
  /** training wall time summed over the epochs in metrics.csv */
  seconds: number;
  error?: string;
}

export interface ScanResult {
  dir: string;
  /** the points of this run (of its shard, when sharded) */
  rows: ScanRow[];
  /** points trained (or continued) by this call without error (possibly stopped early) */
  trained: number;
  /** points found finished and skipped */
  skipped: number;
  /** true when every point (of the shard) is done */
  complete: boolean;
  /** scan.csv, or the shard's shard-<I>-of-<N>.csv */
  csv: string;
  /** figure files written (SVG and PNG; none for a shard) */
  figures: string[];
  /** scan-mean.csv, in a scan over several seeds (not for a shard) */
  meanCsv?: string;
  /** when sharded: the shard, the number of points of the whole scan and the manifest path */
  shard?: ResolvedShard & { totalPoints: number; manifest: string };
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

function plainJson(v: unknown): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}

/** The seed dimension of a seed list: the seeds when there are two or more, else none. */
function scanSeeds(seeds: readonly number[] | undefined): number[] | undefined {
  return seeds !== undefined && seeds.length > 1 ? [...seeds].sort((a, b) => a - b) : undefined;
}

/** The definition of a planned scan (points from planScan, in its order). */
export function scanDefinition(temperatures: TemperatureGrid, depths: number[], points: ScanPoint[], seeds?: readonly number[]): ScanDefinition {
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
  dir: string, temperatures: TemperatureGrid, depths: number[], configFor: (T: number, depth: number) => TrainConfig, seeds?: readonly number[],
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
        points.push({ T, label, depth, ...(seed !== undefined ? { seed } : {}), dir: join(root, pointDirName(label, depth, seed)), config });
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
  const diff = jsonDiff({ ...stored, epochs: 0 }, { ...(JSON.parse(JSON.stringify(p.config)) as JsonObject), epochs: 0 });
  if (diff.length > 0) {
    const shown = diff.slice(0, 5).join(", ") + (diff.length > 5 ? `, … (${diff.length} keys)` : "");
    throw new RunDirError(`scan point ${paths.dir} holds a run with a different configuration (differs in ${shown}); choose another scan directory with --out`);
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

/** True when the rows are those of a scan over several seeds. */
export function hasSeeds(rows: readonly ScanRow[]): boolean {
  return rows.some((r) => r.point.seed !== undefined);
}

/** scan.csv text: one line per point that has a summary (with a seed column in a scan over several seeds). */
export function formatScanCsv(rows: ScanRow[], seeded = hasSeeds(rows)): string {
  let out = (seeded ? SCAN_SEEDS_CSV_COLUMNS : SCAN_CSV_COLUMNS).join(",") + "\n";
  for (const r of rows) {
    if (!Number.isFinite(r.epochs)) continue;
    const key = [r.point.label, String(r.point.depth), ...(seeded ? [String(r.point.seed ?? r.point.config.seed)] : [])];
    out += [...key, ...[r.epochs, r.F, r.F_stderr, r.exact, r.rel_err, r.seconds].map(formatNumber)].join(",") + "\n";
  }
  return out;
}

/** Statistics over the seeds of one (T, depth) of a scan. */
export interface SeedAggregate {
  label: string;
  T: number;
  depth: number;
  /** seeds of the scan at this (T, depth), finished or not */
  seeds: number[];
  stats: SeedStats;
  /** seeds in the mean whose run stopped before its requested epochs (time budget, interruption) */
  stopped: number;
  /** exact free energy (NaN when no run has one) */
  exact: number;
}

/** Per (T, depth), in the rows' order: mean relative error over the seeds, its standard error across seeds, the best seed. */
export function aggregateSeeds(rows: readonly ScanRow[]): SeedAggregate[] {
  const groups = new Map<string, ScanRow[]>();
  for (const r of rows) {
    const key = `${r.point.label}\u0000${r.point.depth}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.values()].map((list) => {
    const p = list[0].point;
    const runs = list.map((r) => ({ seed: r.point.seed ?? r.point.config.seed, relErr: r.rel_err, relErrStdErr: r.F_stderr / Math.abs(r.exact) }));
    const exact = list.find((r) => Number.isFinite(r.exact))?.exact ?? Number.NaN;
    const stopped = list.filter((r) => r.status !== "done" && Number.isFinite(r.rel_err)).length;
    return { label: p.label, T: p.T, depth: p.depth, seeds: runs.map((r) => r.seed), stats: seedStats(runs), stopped, exact };
  });
}

/** scan-mean.csv text: one line per (T, depth) with at least one finished seed. */
export function formatMeanCsv(rows: ScanRow[]): string {
  let out = SCAN_MEAN_CSV_COLUMNS.join(",") + "\n";
  for (const a of aggregateSeeds(rows)) {
    if (a.stats.n === 0) continue;
    const s = a.stats;
    out += [a.label, String(a.depth), String(s.n), String(a.stopped), ...[s.mean, s.sem, s.sd].map(formatNumber), String(s.best!.seed), formatNumber(s.best!.relErr), formatNumber(a.exact)].join(",") + "\n";
  }
  return out;
}

export interface BestDepth {
  label: string;
  T: number;
  depth: number;
  /** relative error of that depth: over several seeds, the mean over its finished seeds */
  relErr: number;
  /** its standard error: of F on fresh samples over |exact|, or over several seeds, of the mean across seeds */
  relErrStdErr: number;
  /** over several seeds: the number of finished seeds behind the mean */
  seeds?: number;
}

/** For each temperature, the depth with the lowest mean over the seeds (aggregateSeeds) among those with a finished seed. */
export function bestMeanDepths(agg: readonly SeedAggregate[]): BestDepth[] {
  const out = new Map<string, BestDepth>();
  for (const a of agg) {
    if (a.stats.n === 0) continue;
    const prev = out.get(a.label);
    if (!prev || a.stats.mean < prev.relErr) out.set(a.label, { label: a.label, T: a.T, depth: a.depth, relErr: a.stats.mean, relErrStdErr: a.stats.sem, seeds: a.stats.n });
  }
  return [...out.values()].sort((a, b) => a.T - b.T);
}

/**
 * For each temperature, the depth with the lowest relative error among points with a result;
 * in a scan over several seeds, the lowest mean over the seeds.
 */
export function bestDepths(rows: ScanRow[]): BestDepth[] {
  if (hasSeeds(rows)) return bestMeanDepths(aggregateSeeds(rows));
  const byT = new Map<string, ScanRow[]>();
  for (const r of rows) {
    if (!Number.isFinite(r.rel_err)) continue;
    const list = byT.get(r.point.label) ?? [];
    list.push(r);
    byT.set(r.point.label, list);
  }
  const out = [];
  for (const [label, list] of byT) {
    const best = list.reduce((a, b) => (b.rel_err < a.rel_err ? b : a));
    out.push({ label, T: best.point.T, depth: best.point.depth, relErr: best.rel_err, relErrStdErr: best.F_stderr / Math.abs(best.exact) });
  }
  return out.sort((a, b) => a.T - b.T);
}

/** A few configurations x = g(z) of a trained point (sign-flipped at random for q_sym), as tanh x. */
function pointSamples(p: ScanPoint, count: number, seed: number): SampleGridCell | null {
  if (!existsSync(runPaths(p.dir).checkpoint)) return null;
  const run = loadTrainedRun(p.dir);
  const N = run.model.nvars;
  const rng = Rng.fromSeed(seed);
  const z: Real = alloc(run.config.dtype, count * N);
  rng.fillNormal(z);
  const { x } = generate(run.model, run.params, z, count);
  const images: Float64Array[] = [];
  for (let b = 0; b < count; b++) {
    const sign = run.config.symmetrize && rng.uniform() < 0.5 ? -1 : 1;
    images.push(Float64Array.from(x.subarray(b * N, (b + 1) * N), (v) => Math.tanh(sign * v)));
  }
  return { images };
}

/** Write scan.csv and the two figures from what is on disk; returns the figure paths. */
export async function writeScanOutputs(
  dir: string, points: ScanPoint[], rows: ScanRow[], opts: { gridSamples?: number; gridSeed?: number } = {},
): Promise<{ csv: string; figures: string[]; meanCsv?: string }> {
  const root = resolve(dir);
  const seeded = points.some((p) => p.seed !== undefined);
  const csv = join(root, "scan.csv");
  writeFileAtomic(csv, formatScanCsv(rows, seeded));
  const meanCsv = seeded ? join(root, "scan-mean.csv") : undefined;
  if (meanCsv) writeFileAtomic(meanCsv, formatMeanCsv(rows));
  const figures: string[] = [];
  const withResult = rows.filter((r) => Number.isFinite(r.rel_err));
  if (withResult.length === 0) return { csv, figures, ...(meanCsv ? { meanCsv } : {}) };
  const L = points[0].config.flow.L;
  const layout = points[0].config.flow.layout;
  const title = `Relative error of the variational free energy, ${L}×${L} relaxed Ising, ${layout}`;
  const nSeeds = new Set(points.map((p) => p.seed)).size;
  const svg1 = seeded
    ? await relErrPlot(
      aggregateSeeds(rows).filter((a) => a.stats.n > 0).map((a) => ({ T: a.T, depth: a.depth, relErr: a.stats.mean, relErrStdErr: a.stats.sem })),
      { Tc: T_C, title, subtitle: `mean over ${nSeeds} seeds; error bars: standard error of the mean (spread across seeds)` },
    )
    : await relErrPlot(
      withResult.map((r) => ({ T: r.point.T, depth: r.point.depth, relErr: r.rel_err, relErrStdErr: r.F_stderr / Math.abs(r.exact) })),
      { Tc: T_C, title },
    );
  figures.push(...writePlot(join(root, "relerr-vs-T"), svg1));
  const perCell = opts.gridSamples ?? 1;
  if (perCell > 0) {
    const labels = [...new Set(points.map((p) => p.label))];
    const depths = [...new Set(points.map((p) => p.depth))].sort((a, b) => a - b);
    // over several seeds: the runs of the lowest seed
    const firstSeed = seeded ? Math.min(...points.map((p) => p.seed ?? Infinity)) : undefined;
    const cells = depths.map((d) =>
      labels.map((lab) => {
        const p = points.find((q) => q.label === lab && q.depth === d && q.seed === firstSeed);
        return p ? pointSamples(p, perCell, opts.gridSeed ?? 1) : null;
      }),
    );
    const svg2 = sampleGridPlot({
      cells,
      rowLabels: depths.map((d) => `depth ${d}`),
      colLabels: labels.map((l) => `T = ${l}`),
      L,
      perCell,
      title: `Generated configurations, tanh(x), ${L}×${L}${seeded ? `, runs of seed ${firstSeed}` : ""}`,
    });
    figures.push(...writePlot(join(root, "samples"), svg2));
  }
  return { csv, figures, ...(meanCsv ? { meanCsv } : {}) };
}

/** Run (or continue) a scan; see the module comment. */
export async function runScan(opts: ScanOptions): Promise<ScanResult> {
  const root = resolve(opts.dir);
  const jobs = opts.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new RangeError(`jobs = ${jobs} is invalid: jobs must be an integer in 1..256`);
  if (!Number.isInteger(opts.savePeriod) || opts.savePeriod < 1) throw new RangeError(`save-period = ${opts.savePeriod} is invalid: it must be an integer ≥ 1`);
  if (opts.maxSeconds !== undefined && !(opts.maxSeconds > 0)) throw new RangeError(`max-seconds = ${opts.maxSeconds} is invalid: it must be a number > 0`);
  if (opts.seeds !== undefined) {
    const seeds = opts.seeds;
    if (seeds.length === 0 || seeds.some((x, i) => !Number.isSafeInteger(x) || x < 0 || seeds.indexOf(x) !== i)) {
      throw new RangeError(`seeds = ${seeds.join(",") || "(none)"} is invalid: seeds must be one or more distinct integers ≥ 0`);
    }
  }
  const log = opts.log ?? (() => {});
  const all = planScan(root, opts.temperatures, opts.depths, opts.configFor, opts.seeds);
  if (all.length === 0) throw new RangeError("the scan has no points");
  const definition = scanDefinition(opts.temperatures, opts.depths, all, opts.seeds);
  const shard = opts.shard;
  if (shard) {
    // merge rebuilds each point's configuration from the base one: refuse what it could not
    const base = definition.config as unknown as TrainConfig;
    for (const p of all) {
      const diff = jsonDiff(plainJson(pointConfig(base, p.T, p.depth, p.seed)), plainJson(p.config));
      if (diff.length > 0) throw new RangeError(`cannot shard this scan: point ${pointName(p)} differs from the base configuration in more than T, depth and seed (${diff.join(", ")})`);
    }
  }
  // this run's points: all, or the shard's share
  const points = shard ? shardPositions(all, shard).map((i) => all[i]) : all;
  if (shard) {
    log(
      `shard ${shard.index}/${shard.count} (${shard.source}): ${points.length} of ${all.length} points` +
        (points.length > 0 ? `: ${points.map(pointName).join(", ")}` : " (more shards than points)"),
    );
  }
  // Check every point before starting any (a different run in a point's directory is refused).
  const states = points.map((p) => pointState(p));

  mkdirSync(root, { recursive: true });
  writeJsonAtomic(join(root, "scan.json"), definition);

  const todo = points.filter((_, i) => states[i].status !== "done");
  const skipped = points.length - todo.length;
  if (skipped > 0) log(`${skipped} of ${points.length} points already finished: skipped`);
  const resumed = todo.filter((p) => states[points.indexOf(p)].epoch > 0).length;
  if (resumed > 0) log(`${resumed} interrupted point(s) resume from their checkpoints`);

  // epochs done per point (a resumed point restarts from its checkpoint's epoch)
  const current = points.map((p, i) => (states[i].status === "done" ? p.config.epochs : states[i].epoch));
  const totalEpochs = points.reduce((s, p) => s + p.config.epochs, 0);
  const sum = (): number => current.reduce((a, b) => a + b, 0);
  let pointsDone = skipped;
  const progress = createProgress({
    total: totalEpochs,
    start: sum(),
    unit: "epoch",
    mode: opts.progress ?? "auto",
    stream: opts.progressStream,
    fields: [
      { key: "points", label: "points", format: (v) => `${v}/${points.length}` },
      { key: "running", label: "running", format: (v) => String(v) },
    ],
  });
  const errors = new Map<ScanPoint, string>();
  const started = Date.now();
  const deadline = opts.maxSeconds !== undefined ? started + opts.maxSeconds * 1000 : Infinity;
  const stopped = (): boolean => opts.signal?.aborted === true || Date.now() >= deadline;
  let trained = 0;

  if (todo.length > 0 && !stopped()) {
    const pool = new Tinypool({
      filename: new URL("./worker-entry.mjs", import.meta.url).href,
      minThreads: 0,
      maxThreads: Math.min(jobs, todo.length),
      isolateWorkers: true,
    });
    const running = new Map<ScanPoint, { stop: () => void }>();
    const onAbort = (): void => {
      for (const r of running.values()) r.stop();
    };
    opts.signal?.addEventListener("abort", onAbort);
    try {
      await new Promise<void>((resolveAll) => {
        const queue = [...todo];
        const launchMore = (): void => {
          while (running.size < jobs && queue.length > 0 && !stopped()) start(queue.shift()!);
          if (running.size === 0) resolveAll();
        };
        const start = (p: ScanPoint): void => {
          const i = points.indexOf(p);
          const { port1, port2 } = new MessageChannel();
          port2.on("message", (m: PointMessage) => {
            if (m.type === "epoch") {
              current[i] = Math.min(m.epoch, p.config.epochs);
              progress.update(sum(), { points: pointsDone, running: running.size });
            } else {
              progress.log(`${pointName(p)}: ${m.line}`);
            }
          });
          const stopShared = new SharedArrayBuffer(4);
          const stopFlag = new Int32Array(stopShared);
          if (opts.signal?.aborted) Atomics.store(stopFlag, 0, 1);
          const task: PointTask = {
            dir: p.dir,
            config: p.config,
            resume: existsSync(runPaths(p.dir).config),
            savePeriod: opts.savePeriod,
            evalSamples: opts.evalSamples,
            workers: opts.workers,
            ...(opts.backend ? { backend: opts.backend } : {}),
            ...(deadline !== Infinity ? { deadline } : {}),
            port: port1,
            stopFlag: stopShared,
          };
          running.set(p, { stop: () => Atomics.store(stopFlag, 0, 1) });
          pool
            .run(task, { transferList: [port1] })
            .then(
              (out: PointOutcome) => {
                trained++;
                if (out.epochs >= p.config.epochs) pointsDone++;
                opts.onPointEnd?.(p, out);
              },
              (err: unknown) => {
                const e = err instanceof Error ? err : new Error(String(err));
                errors.set(p, e.message.split("\n")[0]);
                progress.log(`${pointName(p)} failed: ${e.message.split("\n")[0]}`);
                opts.onPointEnd?.(p, e);
              },
            )
            .finally(() => {
              port2.close();
              running.delete(p);
              progress.update(sum(), { points: pointsDone, running: running.size });
              launchMore();
            });
          progress.update(sum(), { points: pointsDone, running: running.size });
        };
        launchMore();
      });
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      progress.stop();
      await pool.destroy();
    }
  } else {
    progress.update(sum(), { points: pointsDone, running: 0 });
    progress.stop();
  }

  const rows = points.map((p) => {
    const err = errors.get(p);
    if (err !== undefined) return rowOf(p, "failed", err);
    const s = pointState(p);
    return rowOf(p, s.status === "done" ? "done" : existsSync(runPaths(p.dir).config) ? "partial" : "new");
  });
  const complete = rows.every((r) => r.status === "done");
  if (!complete) {
    const left = rows.filter((r) => r.status !== "done").length;
    const why = errors.size > 0 ? `${errors.size} failed` : opts.signal?.aborted ? "stopped" : "time budget reached";
    log(`${left} of ${points.length} points unfinished (${why}); run the same command again to continue (elapsed ${formatDuration((Date.now() - started) / 1000)})`);
  }
  if (shard) {
    const stem = join(root, shardFileStem(shard));
    const csv = `${stem}.csv`;
    writeFileAtomic(csv, formatScanCsv(rows, definition.seeds !== undefined));
    const manifest: ShardManifest = {
      format: "neuralrg-scan-shard",
      version: 1,
      shard: shard.index,
      shards: shard.count,
      source: shard.source,
      scan: definition,
      assigned: points.map(pointName),
      status: Object.fromEntries(rows.map((r) => [pointName(r.point), r.status])),
      gridSamples: opts.gridSamples ?? 1,
      gridSeed: opts.gridSeed ?? 1,
      written: new Date().toISOString(),
    };
    writeJsonAtomic(`${stem}.json`, manifest);
    return { dir: root, rows, trained, skipped, complete, csv, figures: [], shard: { ...shard, totalPoints: all.length, manifest: `${stem}.json` } };
  }
  const { csv, figures, meanCsv } = await writeScanOutputs(root, points, rows, { gridSamples: opts.gridSamples, gridSeed: opts.gridSeed });
  return { dir: root, rows, trained, skipped, complete, csv, figures, ...(meanCsv ? { meanCsv } : {}) };
}
