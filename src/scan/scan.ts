/**
 * Temperature × depth scan (paper App. E, Fig. S1 and S2): one training per (T, depth) point,
 * each into its own run directory <dir>/T<T>-d<depth>/ (train/run.ts), run in a pool of
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
import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { MessageChannel } from "node:worker_threads";
import Tinypool from "tinypool";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import { jsonDiff, plainJson } from "../io/json.ts";
import type { ProgressMode, ProgressStream } from "../present/progress.ts";
import { createProgress, formatDuration } from "../present/progress.ts";
import { runPaths } from "../io/rundir.ts";
import type { TrainConfig } from "../train/trainer.ts";
import type { PointMessage, PointOutcome, PointTask } from "./point-worker.ts";
import type { TemperatureGrid } from "./range.ts";
import { shardFileStem, shardPositions, type ResolvedShard } from "./shard.ts";
import { writeScanOutputs } from "./outputs.ts";
import {
  planScan,
  pointConfig,
  pointName,
  pointState,
  rowOf,
  scanDefinition,
  type ScanPoint,
  type ShardManifest,
} from "./plan.ts";
import { formatScanCsv, type ScanRow } from "./table.ts";

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

/** Run (or continue) a scan; see the module comment. */
export async function runScan(opts: ScanOptions): Promise<ScanResult> {
  const root = resolve(opts.dir);
  const jobs = opts.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256)
    throw new RangeError(`jobs = ${jobs} is invalid: jobs must be an integer in 1..256`);
  if (!Number.isInteger(opts.savePeriod) || opts.savePeriod < 1)
    throw new RangeError(`save-period = ${opts.savePeriod} is invalid: it must be an integer ≥ 1`);
  if (opts.maxSeconds !== undefined && !(opts.maxSeconds > 0))
    throw new RangeError(`max-seconds = ${opts.maxSeconds} is invalid: it must be a number > 0`);
  if (opts.seeds !== undefined) {
    const seeds = opts.seeds;
    if (seeds.length === 0 || seeds.some((x, i) => !Number.isSafeInteger(x) || x < 0 || seeds.indexOf(x) !== i)) {
      throw new RangeError(
        `seeds = ${seeds.join(",") || "(none)"} is invalid: seeds must be one or more distinct integers ≥ 0`,
      );
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
      if (diff.length > 0)
        throw new RangeError(
          `cannot shard this scan: point ${pointName(p)} differs from the base configuration in more than T, depth and seed (${diff.join(", ")})`,
        );
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
    log(
      `${left} of ${points.length} points unfinished (${why}); run the same command again to continue (elapsed ${formatDuration((Date.now() - started) / 1000)})`,
    );
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
    return {
      dir: root,
      rows,
      trained,
      skipped,
      complete,
      csv,
      figures: [],
      shard: { ...shard, totalPoints: all.length, manifest: `${stem}.json` },
    };
  }
  const { csv, figures, meanCsv } = await writeScanOutputs(root, points, rows, {
    gridSamples: opts.gridSamples,
    gridSeed: opts.gridSeed,
  });
  return { dir: root, rows, trained, skipped, complete, csv, figures, ...(meanCsv ? { meanCsv } : {}) };
}
