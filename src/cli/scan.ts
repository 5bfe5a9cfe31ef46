/**
 * `neuralrg scan`: the temperature × depth study of App. E (Fig. S1, S2). One training per
 * (T, depth) point into <out>/T<T>-d<depth>/, at most --jobs at once in worker threads; finished
 * points are skipped and interrupted ones resumed, so re-running the command continues a scan.
 * Writes <out>/scan.csv, relerr-vs-T.svg|png (Fig. S1) and samples.svg|png (Fig. S2), and prints
 * the table of relative errors and, for each T, the best depth.
 *
 * --seeds a:b|a,b,c: every (T, depth) once per seed, into <out>/T<T>-d<depth>-s<seed>/; the table,
 * Fig. S1 and the best depth per T then use the mean over the seeds with its standard error across
 * seeds, and scan-mean.csv holds those statistics (one seed: as --seed, nothing changes).
 *
 * Sharded (--shard I/N, or SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX; scan/shard.ts): only the
 * shard's share of the points, and shard-<I>-of-<N>.json|csv instead of scan.csv and figures;
 * `neuralrg scan merge DIR...` (scan/merge.ts) then writes scan.csv and the figures.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { log2Int } from "../flow/config.ts";
import { mergeScan, type MergeResult } from "../scan/merge.ts";
import { runScan, type ScanResult } from "../scan/scan.ts";
import { aggregateSeeds, bestDepths, bestMeanDepths, hasSeeds, type ScanRow } from "../scan/table.ts";
import { MAX_SEEDS, parseDepthRange, parseSeedList, parseTemperatureRange } from "../scan/range.ts";
import { MAX_SHARDS, resolveShard, type ResolvedShard } from "../scan/shard.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { UsageError } from "./errors.ts";
import { floatOption, intOption, T_MAX, T_MIN } from "./options.ts";
import { probeNodeWebGpu, webgpuUnsupported } from "../gpu/node.ts";
import { addTrainOptions, runErrorAsUsage, trainConfigFromOptions, type TrainCliOptions } from "./train.ts";
import { resolveWorkers } from "../train/parallel.ts";

/** The temperatures of App. E. */
export const SCAN_DEFAULT_T = "2.0:2.7:0.1";

export interface ScanCliOptions extends Omit<
  TrainCliOptions,
  "T" | "depth" | "out" | "resume" | "overwrite" | "maxSeconds"
> {
  T: string;
  depth?: string;
  out?: string;
  jobs?: number;
  maxSeconds?: number;
  gridSamples: number;
  /** seed list (parseSeedList) */
  seeds?: string;
  /** I/N */
  shard?: string;
  shards?: number;
}

export interface ScanMergeCliOptions {
  out?: string;
  partial: boolean;
  gridSamples?: number;
  json: boolean;
}

function exp2(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : "n/a";
}

function relCell(r: ScanRow | undefined): string {
  if (!r || !Number.isFinite(r.rel_err)) return r?.status === "failed" ? "failed" : "–";
  const e = r.F_stderr / Math.abs(r.exact);
  const mark = r.status === "done" ? "" : "*";
  return `${exp2(r.rel_err)} ± ${Number.isFinite(e) ? e.toExponential(0) : "?"}${mark}`;
}

/** The exact free energy per temperature (those with one), after a blank line; nothing when none has one. */
function exactLines(labels: string[], rows: ScanRow[]): string[] {
  const exact = labels.flatMap((lab) => {
    const e = rows.find((r) => r.point.label === lab && Number.isFinite(r.exact))?.exact;
    return e !== undefined ? [`  T = ${lab}: ${e}`] : [];
  });
  return exact.length > 0 ? ["", "exact free energy -ln Z per temperature:", ...exact] : [];
}

/** Table of relative errors over several seeds (rows T, columns depth: mean ± standard error across seeds), best depth (by the mean) and best run per T. */
function formatSeedsTable(rows: ScanRow[]): string[] {
  const agg = aggregateSeeds(rows);
  const labels = [...new Set(agg.map((a) => a.label))];
  const depths = [...new Set(agg.map((a) => a.depth))].sort((a, b) => a - b);
  const nSeeds = Math.max(...agg.map((a) => a.seeds.length));
  const lines: string[] = [];
  lines.push(
    `relative error of the variational free energy (F - exact)/|exact|: mean over the ${nSeeds} seeds ± standard error of that mean (spread across seeds), [finished seeds]; rows T, columns depth`,
  );
  const w = 26;
  lines.push(["T".padEnd(8), ...depths.map((d) => `depth ${d}`.padEnd(w))].join("").trimEnd());
  for (const lab of labels) {
    const cells = depths.map((d) => {
      const a = agg.find((x) => x.label === lab && x.depth === d);
      let cell: string;
      if (!a || a.stats.n === 0)
        cell = rows.some((r) => r.point.label === lab && r.point.depth === d && r.status === "failed") ? "failed" : "–";
      else {
        cell = `${exp2(a.stats.mean)} ± ${Number.isFinite(a.stats.sem) ? a.stats.sem.toExponential(0) : "?"} [${a.stats.n}/${a.seeds.length}]${a.stopped > 0 ? "*" : ""}`;
      }
      return cell.padEnd(w);
    });
    lines.push([lab.padEnd(8), ...cells].join("").trimEnd());
  }
  if (agg.some((a) => a.stopped > 0)) lines.push("(* = a seed stopped before the requested epochs)");
  if (agg.some((a) => a.stats.n === 1)) lines.push("(± ? = one finished seed: no spread to estimate)");
  lines.push("");
  lines.push("best depth per temperature (lowest mean over the seeds):");
  for (const b of bestMeanDepths(agg)) {
    lines.push(
      `  T = ${b.label}: depth ${b.depth}, mean relative error ${exp2(b.relErr)} ± ${Number.isFinite(b.relErrStdErr) ? b.relErrStdErr.toExponential(1) : "?"} over ${b.seeds} seeds`,
    );
  }
  lines.push("");
  lines.push("best single run per temperature (the lowest of all seeds: a selected run, not an estimate):");
  for (const lab of labels) {
    const best = agg
      .filter((a) => a.label === lab && a.stats.best)
      .reduce<(typeof agg)[number] | null>((x, y) => (!x || y.stats.best!.relErr < x.stats.best!.relErr ? y : x), null);
    if (best) {
      const b = best.stats.best!;
      lines.push(
        `  T = ${lab}: depth ${best.depth}, seed ${b.seed}, relative error ${exp2(b.relErr)} ± ${Number.isFinite(b.relErrStdErr) ? b.relErrStdErr.toExponential(1) : "?"}`,
      );
    }
  }
  return [...lines, ...exactLines(labels, rows)];
}

/** Table of relative errors (rows T, columns depth) and the best depth per T (over several seeds: formatSeedsTable). */
export function formatScanTable(rows: ScanRow[]): string[] {
  if (hasSeeds(rows)) return formatSeedsTable(rows);
  const labels = [...new Set(rows.map((r) => r.point.label))];
  const depths = [...new Set(rows.map((r) => r.point.depth))].sort((a, b) => a - b);
  const lines: string[] = [];
  lines.push(
    "relative error of the variational free energy (F - exact)/|exact| ± standard error; rows T, columns depth",
  );
  const w = 20;
  lines.push(["T".padEnd(8), ...depths.map((d) => `depth ${d}`.padEnd(w))].join("").trimEnd());
  for (const lab of labels) {
    const cells = depths.map((d) => relCell(rows.find((r) => r.point.label === lab && r.point.depth === d)).padEnd(w));
    lines.push([lab.padEnd(8), ...cells].join("").trimEnd());
  }
  if (rows.some((r) => r.status !== "done" && Number.isFinite(r.rel_err)))
    lines.push("(* = stopped before the requested epochs)");
  lines.push("");
  lines.push("best depth per temperature:");
  for (const b of bestDepths(rows)) {
    lines.push(
      `  T = ${b.label}: depth ${b.depth}, relative error ${exp2(b.relErr)} ± ${Number.isFinite(b.relErrStdErr) ? b.relErrStdErr.toExponential(1) : "?"}`,
    );
  }
  return [...lines, ...exactLines(labels, rows)];
}

/** One scan point's row in the `--json` output. */
function pointJson(r: ScanRow) {
  return {
    T: r.point.T,
    depth: r.point.depth,
    ...(r.point.seed !== undefined ? { seed: r.point.seed } : {}),
    dir: r.point.dir,
    status: r.status,
    epochs: r.epochs,
    F: r.F,
    F_stderr: r.F_stderr,
    exact: r.exact,
    rel_err: r.rel_err,
    seconds: r.seconds,
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

/**
 * The results part of the `--json` output of scan and scan merge: the points, the best depth per
 * T, over several seeds the statistics per (T, depth) (scan-mean.csv), and the files written.
 */
function resultsJson(r: {
  rows: ScanRow[];
  csv: string;
  figures: string[];
  meanCsv?: string;
}): Record<string, unknown> {
  const mean = hasSeeds(r.rows)
    ? aggregateSeeds(r.rows).map((a) => ({
        T: a.T,
        depth: a.depth,
        seeds: a.seeds,
        finished: a.stats.n,
        rel_err_mean: a.stats.mean,
        rel_err_sem: a.stats.sem,
        rel_err_sd: a.stats.sd,
        best_seed: a.stats.best?.seed ?? null,
        best_rel_err: a.stats.best?.relErr ?? null,
        exact: a.exact,
      }))
    : undefined;
  return {
    points: r.rows.map(pointJson),
    best: bestDepths(r.rows),
    ...(mean ? { mean } : {}),
    ...(r.meanCsv !== undefined ? { meanCsv: r.meanCsv } : {}),
    csv: r.csv,
    figures: r.figures,
  };
}

/** The plain-text report of a scan (or of one shard): counts, table, best depths, files written. */
export function formatScanReport(result: ScanResult): string[] {
  const rows = result.rows;
  const lines: string[] = [];
  const done = rows.filter((r) => r.status === "done").length;
  lines.push(`scan directory: ${result.dir}`);
  if (result.shard)
    lines.push(
      `shard ${result.shard.index}/${result.shard.count} (${result.shard.source}): ${rows.length} of the scan's ${result.shard.totalPoints} points`,
    );
  lines.push(
    `points: ${rows.length} (${done} finished; this run trained ${result.trained} and skipped ${result.skipped} already finished)` +
      (result.complete ? "" : `; ${rows.length - done} unfinished: run the same command again to continue`),
  );
  lines.push("");
  if (rows.length > 0) lines.push(...formatScanTable(rows), "");
  lines.push(`wrote ${result.csv}`);
  if (result.meanCsv) lines.push(`wrote ${result.meanCsv}`);
  if (result.shard) lines.push(`wrote ${result.shard.manifest}`);
  for (const f of result.figures) lines.push(`wrote ${f}`);
  if (result.shard)
    lines.push(
      `when all ${result.shard.count} shards have finished: neuralrg scan merge ${result.dir} (or the shards' directories with --out DIR)`,
    );
  return lines;
}

/** The plain-text report of a merge. */
export function formatMergeReport(r: MergeResult): string[] {
  const done = r.rows.filter((x) => x.status === "done").length;
  const lines: string[] = [];
  lines.push(`merged ${r.found.length} of ${r.shards} shards into ${r.dir}`);
  for (const l of r.found)
    lines.push(
      `  shard ${l.manifest.shard}/${r.shards}: ${l.path} (${l.manifest.assigned.length} points, ${l.manifest.source})`,
    );
  if (r.missingShards.length > 0)
    lines.push(`  missing shards: ${r.missingShards.map((s) => `${s}/${r.shards}`).join(", ")}`);
  lines.push(`points: ${r.rows.length} (${done} finished)`);
  for (const u of r.unfinished) lines.push(`  unfinished ${u.name}: ${u.reason}`);
  lines.push("");
  lines.push(...formatScanTable(r.rows), "");
  lines.push(`wrote ${r.csv}`);
  if (r.meanCsv) lines.push(`wrote ${r.meanCsv}`);
  for (const f of r.figures) lines.push(`wrote ${f}`);
  return lines;
}

/** Run a scan from CLI options; `interrupted` is true when Ctrl-C (SIGINT) or SIGTERM stopped it. */
export async function scanFromOptions(
  ctx: CliContext,
  o: ScanCliOptions,
): Promise<ScanResult & { interrupted: boolean }> {
  const maxDepth = log2Int(o.L);
  let temperatures, depths: number[];
  let seeds: number[] | undefined;
  try {
    temperatures = parseTemperatureRange(o.T, "T", { min: T_MIN, max: T_MAX });
    depths = parseDepthRange(o.depth ?? `1..${maxDepth}`, maxDepth);
    seeds = o.seeds !== undefined ? parseSeedList(o.seeds) : undefined;
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const configFor = (T: number, depth: number): TrainConfig =>
    trainConfigFromOptions({ ...o, T, depth, resume: false, overwrite: false });
  try {
    const first = configFor(temperatures.values[0], depths[0]);
    // --backend webgpu: refused settings and a missing package or adapter stop the scan before it writes anything
    if (o.backend === "webgpu") {
      const why = webgpuUnsupported(first, o.workers === "auto" ? 1 : o.workers);
      if (why !== null) throw new UsageError(why);
      const gpu = probeNodeWebGpu();
      if (!gpu.available) throw new UsageError(gpu.reason);
      ctx.err(`WebGPU adapter: ${gpu.adapter}\n`);
    }
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const dir = o.out ?? `runs/scan-L${o.L}-${o.layout}`;
  let shard: ResolvedShard | null;
  try {
    shard = resolveShard({ shard: o.shard, shards: o.shards, env: process.env });
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }

  // Ctrl-C or SIGTERM: stop the running points after their current epoch (with checkpoints);
  // a second signal quits at once.
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    ctx.err(`${signal}: stopping after the current epoch of each running point (again to quit at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await runScan({
      dir,
      temperatures,
      depths,
      configFor,
      jobs: o.jobs,
      savePeriod: o.savePeriod,
      evalSamples: o.evalSamples,
      // auto: the cores left to each of the --jobs points trained at once
      workers:
        o.backend === "webgpu"
          ? o.workers === "auto"
            ? 1
            : o.workers
          : resolveWorkers(
              o.workers,
              o.batch,
              o.L * o.L,
              Math.max(1, Math.floor(availableParallelism() / (o.jobs ?? availableParallelism()))),
            ),
      backend: o.backend,
      maxSeconds: o.maxSeconds,
      signal: controller.signal,
      progress: o.progress,
      progressStream: { write: (t: string) => (ctx.err(t), true), isTTY: ctx.errIsTTY },
      log: (l) => ctx.err(l + "\n"),
      gridSamples: o.gridSamples,
      ...(seeds ? { seeds } : {}),
      ...(shard ? { shard } : {}),
    });
    if (o.json) {
      printJson(ctx, {
        dir: result.dir,
        complete: result.complete,
        ...(result.shard ? { shard: result.shard } : {}),
        trained: result.trained,
        skipped: result.skipped,
        ...resultsJson(result),
      });
    } else {
      for (const line of formatScanReport(result)) println(ctx, line);
    }
    return { ...result, interrupted: controller.signal.aborted };
  } catch (err) {
    throw runErrorAsUsage(err);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("scan")
    .description(
      "temperature × depth study (App. E, Fig. S1/S2): one training per (T, depth) point (per seed with --seeds) in its own run directory, in parallel; re-run to continue",
    )
    .option("--T <range>", `temperatures: a:b:step (ends included), a list a,b,c, or one value`, SCAN_DEFAULT_T)
    .option("--depth <range>", "depths: a..b, a list a,b,c, or one value (default 1..log2(L))");
  addTrainOptions(cmd, { L: 16, epochs: 1000 }, ["T", "depth", "out", "resume", "overwrite", "max-seconds", "json"]);
  cmd
    .option(
      "--out <dir>",
      "scan directory (default runs/scan-L<L>-<layout>); points go to <dir>/T<T>-d<depth>/ (T<T>-d<depth>-s<seed>/ with --seeds)",
    )
    .option(
      "--jobs <n>",
      `points trained at once, each in its own worker thread (default: the number of cores, here ${availableParallelism()})`,
      intOption("jobs", 1, 256),
    )
    .option(
      "--max-seconds <s>",
      "wall-time budget of the whole scan: then running points stop with a checkpoint, the rest wait for the next run",
      floatOption("max-seconds", { min: 0, exclusiveMin: true }),
    )
    .option(
      "--grid-samples <n>",
      "configurations per point in the sample grid (Fig. S2); 0 = no grid",
      intOption("grid-samples", 0, 16),
      1,
    )
    .option(
      "--seeds <list>",
      `seeds, a:b (ends included) or a,b,c (at most ${MAX_SEEDS}): each (T, depth) once per seed into <dir>/T<T>-d<depth>-s<seed>/; table, Fig. S1 and best depth use the mean over seeds ± its standard error across seeds, scan-mean.csv holds them (default: the single --seed)`,
    )
    .option(
      "--shard <I/N>",
      "run only shard I of N (0 ≤ I < N) of the points and write shard-I-of-N.json|csv for `scan merge`; default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set",
    )
    .option(
      "--shards <n>",
      "number of shards N when the index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (default: NEURALRG_SHARDS, else SLURM_ARRAY_TASK_COUNT)",
      intOption("shards", 1, MAX_SHARDS),
    )
    .option("--json", "print the results as JSON", false)
    .action(async (o: ScanCliOptions, command: Command) => {
      if (o.seeds !== undefined && command.getOptionValueSource("seed") === "cli") {
        throw new UsageError(
          `--seed = ${o.seed} and --seeds = ${o.seeds} cannot be given together: list every seed in --seeds`,
        );
      }
      const r = await scanFromOptions(ctx, o);
      if (r.rows.some((x) => x.status === "failed")) ctx.exitCode = 1;
      else if (r.interrupted) ctx.exitCode = 130;
    });
  // `scan merge` must see its own --out, not the scan's: parse scan's options before it only
  cmd.enablePositionalOptions();
  cmd
    .command("merge")
    .configureHelp({ sortOptions: false, showGlobalOptions: false }) // scan's options do not apply here
    .description(
      "combine the shards of a sharded scan (shard-I-of-N.json in each DIR: one shared directory or one per shard) into scan.csv and the figures of the whole scan",
    )
    .argument("<dir...>", "directories holding the shards' manifests and run directories")
    .option("--out <dir>", "directory for scan.csv and the figures (default: DIR when only one is given)")
    .option(
      "--partial",
      "merge what is there even when shards are missing or points unfinished (they are listed)",
      false,
    )
    .option(
      "--grid-samples <n>",
      "configurations per point in the sample grid (default: as the shards ran); 0 = no grid",
      intOption("grid-samples", 0, 16),
    )
    .option("--json", "print the results as JSON", false)
    .action(async (dirs: string[], o: ScanMergeCliOptions) => {
      if (o.out === undefined && new Set(dirs.map((d) => resolve(d))).size > 1) {
        throw new UsageError(
          `${dirs.length} shard directories given: name the directory for the merged results with --out DIR`,
        );
      }
      // a MergeError (mismatched shards, missing shards or points) exits 1 with its one-line message
      const r = await mergeScan({ dirs, out: o.out, partial: o.partial, gridSamples: o.gridSamples });
      if (o.json) {
        printJson(ctx, {
          dir: r.dir,
          shards: r.shards,
          manifests: r.found.map((l) => l.path),
          missingShards: r.missingShards,
          complete: r.complete,
          unfinished: r.unfinished,
          ...resultsJson(r),
        });
      } else {
        for (const line of formatMergeReport(r)) println(ctx, line);
      }
    });
}
