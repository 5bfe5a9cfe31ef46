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
import { relErrPlot, sampleGridPlot, type SampleGridCell } from "./figures.ts";
import type { PointMessage, PointOutcome, PointTask } from "./point-worker.ts";
import type { TemperatureGrid } from "./range.ts";
import { shardFileStem, shardPositions, type ResolvedShard } from "./shard.ts";

/** Critical temperature of the 2D Ising model (marked in Fig. S1). */
const T_C = 2 / Math.log(1 + Math.SQRT2);

export const SCAN_CSV_COLUMNS = ["T", "depth", "epochs", "F", "F_stderr", "exact", "rel_err", "seconds"] as const;

export interface ScanOptions {
  /** the scan directory */
  dir: string;
  temperatures: TemperatureGrid;
  /** depths, ascending */
  depths: number[];
  /** the training configuration of one point */
  configFor: (T: number, depth: number) => TrainConfig;
  /** points trained at once (default: the number of cores) */
  jobs?: number;
  /** epochs between checkpoints */
  savePeriod: number;
  /** fresh samples for each point's final F (default 4 × batch) */
  evalSamples?: number;
  /** worker threads per point for its loss and gradient (default 1) */
  workers?: number;
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
  /** when sharded: the shard, the number of points of the whole scan and the manifest path */
  shard?: ResolvedShard & { totalPoints: number; manifest: string };
}

/** What a scan is: its grid and base configuration (scan.json, and `scan` in shard manifests). */
export interface ScanDefinition extends JsonObject {
  temperatures: number[];
  labels: string[];
  depths: number[];
  /** run-directory names of all points, temperature-major */
  points: string[];
  /** the configuration of the point (first T, deepest depth); the others differ in T and depth (pointConfig) */
  config: JsonObject;
}

/** The configuration of the point (T, depth) of a scan whose base configuration is `base`. */
export function pointConfig(base: TrainConfig, T: number, depth: number): TrainConfig {
  const target = base.target.kind === "ising" ? { ...base.target, T } : base.target;
  return { ...base, target, flow: { ...base.flow, depth } };
}

function plainJson(v: unknown): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}

/** The definition of a planned scan (points from planScan, in its order). */
export function scanDefinition(temperatures: TemperatureGrid, depths: number[], points: ScanPoint[]): ScanDefinition {
  const ref = points.find((p) => p.T === temperatures.values[0] && p.depth === depths[depths.length - 1]) ?? points[0];
  return {
    temperatures: [...temperatures.values],
    labels: [...temperatures.labels],
    depths: [...depths],
    points: points.map((p) => pointDirName(p.label, p.depth)),
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

/** The run directory name of a point: T<label>-d<depth>. */
export function pointDirName(label: string, depth: number): string {
  return `T${label}-d${depth}`;
}

/** The points of a scan, temperature-major, with their run configurations (validated). */
export function planScan(dir: string, temperatures: TemperatureGrid, depths: number[], configFor: (T: number, depth: number) => TrainConfig): ScanPoint[] {
  const root = resolve(dir);
  const points: ScanPoint[] = [];
  temperatures.values.forEach((T, i) => {
    for (const depth of depths) {
      const config = configFor(T, depth);
      validateTrainConfig(config);
      points.push({ T, label: temperatures.labels[i], depth, dir: join(root, pointDirName(temperatures.labels[i], depth)), config });
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

/** scan.csv text: one line per point that has a summary. */
export function formatScanCsv(rows: ScanRow[]): string {
  let out = SCAN_CSV_COLUMNS.join(",") + "\n";
  for (const r of rows) {
    if (!Number.isFinite(r.epochs)) continue;
    out += [r.point.label, String(r.point.depth), ...[r.epochs, r.F, r.F_stderr, r.exact, r.rel_err, r.seconds].map(formatNumber)].join(",") + "\n";
  }
  return out;
}

/** For each temperature, the depth with the lowest relative error among points with a result. */
export function bestDepths(rows: ScanRow[]): { label: string; T: number; depth: number; relErr: number; relErrStdErr: number }[] {
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
export async function writeScanOutputs(dir: string, points: ScanPoint[], rows: ScanRow[], opts: { gridSamples?: number; gridSeed?: number } = {}): Promise<{ csv: string; figures: string[] }> {
  const root = resolve(dir);
  const csv = join(root, "scan.csv");
  writeFileAtomic(csv, formatScanCsv(rows));
  const figures: string[] = [];
  const withResult = rows.filter((r) => Number.isFinite(r.rel_err));
  if (withResult.length === 0) return { csv, figures };
  const L = points[0].config.flow.L;
  const layout = points[0].config.flow.layout;
  const svg1 = await relErrPlot(
    withResult.map((r) => ({ T: r.point.T, depth: r.point.depth, relErr: r.rel_err, relErrStdErr: r.F_stderr / Math.abs(r.exact) })),
    { Tc: T_C, title: `Relative error of the variational free energy, ${L}×${L} relaxed Ising, ${layout}` },
  );
  figures.push(...writePlot(join(root, "relerr-vs-T"), svg1));
  const perCell = opts.gridSamples ?? 1;
  if (perCell > 0) {
    const labels = [...new Set(points.map((p) => p.label))];
    const depths = [...new Set(points.map((p) => p.depth))].sort((a, b) => a - b);
    const cells = depths.map((d) =>
      labels.map((lab) => {
        const p = points.find((q) => q.label === lab && q.depth === d);
        return p ? pointSamples(p, perCell, opts.gridSeed ?? 1) : null;
      }),
    );
    const svg2 = sampleGridPlot({
      cells,
      rowLabels: depths.map((d) => `depth ${d}`),
      colLabels: labels.map((l) => `T = ${l}`),
      L,
      perCell,
      title: `Generated configurations, tanh(x), ${L}×${L}`,
    });
    figures.push(...writePlot(join(root, "samples"), svg2));
  }
  return { csv, figures };
}

/** Run (or continue) a scan; see the module comment. */
export async function runScan(opts: ScanOptions): Promise<ScanResult> {
  const root = resolve(opts.dir);
  const jobs = opts.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new RangeError(`jobs = ${jobs} is invalid: jobs must be an integer in 1..256`);
  if (!Number.isInteger(opts.savePeriod) || opts.savePeriod < 1) throw new RangeError(`save-period = ${opts.savePeriod} is invalid: it must be an integer ≥ 1`);
  if (opts.maxSeconds !== undefined && !(opts.maxSeconds > 0)) throw new RangeError(`max-seconds = ${opts.maxSeconds} is invalid: it must be a number > 0`);
  const log = opts.log ?? (() => {});
  const all = planScan(root, opts.temperatures, opts.depths, opts.configFor);
  if (all.length === 0) throw new RangeError("the scan has no points");
  const definition = scanDefinition(opts.temperatures, opts.depths, all);
  const shard = opts.shard;
  if (shard) {
    // merge rebuilds each point's configuration from the base one: refuse what it could not
    const base = definition.config as unknown as TrainConfig;
    for (const p of all) {
      const diff = jsonDiff(plainJson(pointConfig(base, p.T, p.depth)), plainJson(p.config));
      if (diff.length > 0) throw new RangeError(`cannot shard this scan: point ${pointDirName(p.label, p.depth)} differs from the base configuration in more than T and depth (${diff.join(", ")})`);
    }
  }
  // this run's points: all, or the shard's share
  const points = shard ? shardPositions(all, shard).map((i) => all[i]) : all;
  if (shard) {
    log(
      `shard ${shard.index}/${shard.count} (${shard.source}): ${points.length} of ${all.length} points` +
        (points.length > 0 ? `: ${points.map((p) => pointDirName(p.label, p.depth)).join(", ")}` : " (more shards than points)"),
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
              progress.log(`${pointDirName(p.label, p.depth)}: ${m.line}`);
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
                progress.log(`${pointDirName(p.label, p.depth)} failed: ${e.message.split("\n")[0]}`);
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
    writeFileAtomic(csv, formatScanCsv(rows));
    const manifest: ShardManifest = {
      format: "neuralrg-scan-shard",
      version: 1,
      shard: shard.index,
      shards: shard.count,
      source: shard.source,
      scan: definition,
      assigned: points.map((p) => pointDirName(p.label, p.depth)),
      status: Object.fromEntries(rows.map((r) => [pointDirName(r.point.label, r.point.depth), r.status])),
      gridSamples: opts.gridSamples ?? 1,
      gridSeed: opts.gridSeed ?? 1,
      written: new Date().toISOString(),
    };
    writeJsonAtomic(`${stem}.json`, manifest);
    return { dir: root, rows, trained, skipped, complete, csv, figures: [], shard: { ...shard, totalPoints: all.length, manifest: `${stem}.json` } };
  }
  const { csv, figures } = await writeScanOutputs(root, points, rows, { gridSamples: opts.gridSamples, gridSeed: opts.gridSeed });
  return { dir: root, rows, trained, skipped, complete, csv, figures };
}
