/**
 * `neuralrg scan`: the temperature × depth study of App. E (Fig. S1, S2). One training per
 * (T, depth) point into <out>/T<T>-d<depth>/, at most --jobs at once in worker threads; finished
 * points are skipped and interrupted ones resumed, so re-running the command continues a scan.
 * Writes <out>/scan.csv, relerr-vs-T.svg|png (Fig. S1) and samples.svg|png (Fig. S2), and prints
 * the table of relative errors and, for each T, the best depth.
 */
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { log2Int } from "../flow/config.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { LockError, RunDirError } from "../io/rundir.ts";
import { bestDepths, runScan, type ScanResult, type ScanRow } from "../scan/scan.ts";
import { parseDepthRange, parseTemperatureRange } from "../scan/range.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { UsageError } from "./errors.ts";
import { floatOption, intOption } from "./options.ts";
import { addTrainOptions, trainConfigFromOptions, type TrainCliOptions } from "./train.ts";

/** The temperatures of App. E. */
export const SCAN_DEFAULT_T = "2.0:2.7:0.1";

export interface ScanCliOptions extends Omit<TrainCliOptions, "T" | "depth" | "out" | "resume" | "overwrite" | "maxSeconds"> {
  T: string;
  depth?: string;
  out?: string;
  jobs?: number;
  maxSeconds?: number;
  gridSamples: number;
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

/** The plain-text report: table of relative errors (rows T, columns depth) and best depth per T. */
export function formatScanReport(result: ScanResult): string[] {
  const rows = result.rows;
  const labels = [...new Set(rows.map((r) => r.point.label))];
  const depths = [...new Set(rows.map((r) => r.point.depth))].sort((a, b) => a - b);
  const lines: string[] = [];
  const done = rows.filter((r) => r.status === "done").length;
  lines.push(`scan directory: ${result.dir}`);
  lines.push(
    `points: ${rows.length} (${done} finished; this run trained ${result.trained} and skipped ${result.skipped} already finished)` +
      (result.complete ? "" : `; ${rows.length - done} unfinished: run the same command again to continue`),
  );
  lines.push("");
  lines.push("relative error of the variational free energy (F - exact)/|exact| ± standard error; rows T, columns depth");
  const w = 20;
  lines.push(["T".padEnd(8), ...depths.map((d) => `depth ${d}`.padEnd(w))].join("").trimEnd());
  for (const lab of labels) {
    const cells = depths.map((d) => relCell(rows.find((r) => r.point.label === lab && r.point.depth === d)).padEnd(w));
    lines.push([lab.padEnd(8), ...cells].join("").trimEnd());
  }
  if (rows.some((r) => r.status !== "done" && Number.isFinite(r.rel_err))) lines.push("(* = stopped before the requested epochs)");
  lines.push("");
  lines.push("best depth per temperature:");
  for (const b of bestDepths(rows)) {
    lines.push(`  T = ${b.label}: depth ${b.depth}, relative error ${exp2(b.relErr)} ± ${Number.isFinite(b.relErrStdErr) ? b.relErrStdErr.toExponential(1) : "?"}`);
  }
  lines.push("");
  lines.push(`wrote ${result.csv}`);
  for (const f of result.figures) lines.push(`wrote ${f}`);
  return lines;
}

/** Run a scan from CLI options; `interrupted` is true when Ctrl-C (SIGINT) or SIGTERM stopped it. */
export async function scanFromOptions(ctx: CliContext, o: ScanCliOptions): Promise<ScanResult & { interrupted: boolean }> {
  const maxDepth = log2Int(o.L);
  let temperatures, depths: number[];
  try {
    temperatures = parseTemperatureRange(o.T);
    depths = parseDepthRange(o.depth ?? `1..${maxDepth}`, maxDepth);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const configFor = (T: number, depth: number): TrainConfig => trainConfigFromOptions({ ...o, T, depth, resume: false, overwrite: false });
  try {
    configFor(temperatures.values[0], depths[0]);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const dir = o.out ?? `runs/scan-L${o.L}-${o.layout}`;

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
      workers: o.workers,
      maxSeconds: o.maxSeconds,
      signal: controller.signal,
      progress: o.progress,
      progressStream: { write: (t: string) => (ctx.err(t), true), isTTY: ctx.errIsTTY },
      log: (l) => ctx.err(l + "\n"),
      gridSamples: o.gridSamples,
    });
    if (o.json) {
      printJson(ctx, {
        dir: result.dir,
        complete: result.complete,
        trained: result.trained,
        skipped: result.skipped,
        points: result.rows.map((r) => ({
          T: r.point.T, depth: r.point.depth, dir: r.point.dir, status: r.status, epochs: r.epochs, F: r.F, F_stderr: r.F_stderr,
          exact: r.exact, rel_err: r.rel_err, seconds: r.seconds, ...(r.error !== undefined ? { error: r.error } : {}),
        })),
        best: bestDepths(result.rows),
        csv: result.csv,
        figures: result.figures,
      });
    } else {
      for (const line of formatScanReport(result)) println(ctx, line);
    }
    return { ...result, interrupted: controller.signal.aborted };
  } catch (err) {
    if (err instanceof RangeError || err instanceof RunDirError || err instanceof CheckpointError || err instanceof LockError) {
      throw new UsageError(err.message);
    }
    throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("scan")
    .description("temperature × depth study (App. E, Fig. S1/S2): one training per (T, depth) point in its own run directory, in parallel; re-run to continue")
    .option("--T <range>", `temperatures: a:b:step (ends included), a list a,b,c, or one value`, SCAN_DEFAULT_T)
    .option("--depth <range>", "depths: a..b, a list a,b,c, or one value (default 1..log2(L))");
  addTrainOptions(cmd, { L: 16, epochs: 1000 }, ["T", "depth", "out", "resume", "overwrite", "max-seconds", "json"]);
  cmd
    .option("--out <dir>", "scan directory (default runs/scan-L<L>-<layout>); points go to <dir>/T<T>-d<depth>/")
    .option("--jobs <n>", `points trained at once, each in its own worker thread (default: the number of cores, here ${availableParallelism()})`, intOption("jobs", 1, 256))
    .option("--max-seconds <s>", "wall-time budget of the whole scan: then running points stop with a checkpoint, the rest wait for the next run", floatOption("max-seconds", { min: 0, exclusiveMin: true }))
    .option("--grid-samples <n>", "configurations per point in the sample grid (Fig. S2); 0 = no grid", intOption("grid-samples", 0, 16), 1)
    .option("--json", "print the results as JSON", false)
    .action(async (o: ScanCliOptions) => {
      const r = await scanFromOptions(ctx, o);
      if (r.rows.some((x) => x.status === "failed")) ctx.exitCode = 1;
      else if (r.interrupted) ctx.exitCode = 130;
    });
}
