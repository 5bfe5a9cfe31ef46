/**
 * `neuralrg report --run DIR`: one HTML page for a run (analysis/report.ts): configuration,
 * training curve, samples, sampler results and the analysis figures (computed when missing).
 */
import type { Command } from "commander";
import { writeReport } from "../analysis/report.ts";
import { SampleFileError } from "../analysis/samples.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { MetricsError } from "../io/metrics.ts";
import type { ProgressMode } from "../present/progress.ts";
import { RunDirError } from "../io/rundir.ts";
import { println, type CliContext } from "./command.ts";
import { parseChoiceOption, UsageError } from "./errors.ts";
import { intOption } from "./options.ts";

export interface ReportCliOptions {
  run: string;
  analyze: boolean;
  samples: number;
  seed: number;
  inline: boolean;
  progress: ProgressMode;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("report")
    .description(
      "write DIR/report.html: config, training curve, samples, sampler results and the RG analysis figures (computing the analysis when missing)",
    )
    .requiredOption("--run <dir>", "run directory of a trained flow (with checkpoint.json)")
    .option("--no-analyze", "do not compute a missing analysis (show what exists)")
    .option("--samples <n>", "physical configurations for a computed analysis", intOption("samples", 2, 1e7), 1000)
    .option("--seed <n>", "random seed (sample grid and analysis)", intOption("seed", 0, 4294967295), 1)
    .option("--inline", "embed the figures in the HTML file (one portable file) instead of referencing them", false)
    .option(
      "--progress <mode>",
      "auto, tty, plain or off",
      (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const),
      "auto",
    )
    .action(async (o: ReportCliOptions) => {
      try {
        const r = await writeReport({
          dir: o.run,
          analyze: o.analyze,
          samples: o.samples,
          seed: o.seed,
          inline: o.inline,
          progress: o.progress,
          // on a terminal the progress bar draws on process.stderr; otherwise plain lines go through ctx.err
          stream: ctx.errIsTTY ? undefined : { write: (t: string) => (ctx.err(t), true), isTTY: false },
          log: (line) => ctx.err(line + "\n"),
        });
        println(ctx, `wrote ${r.path} (${r.figures.length} figures)`);
      } catch (err) {
        if (
          err instanceof RunDirError ||
          err instanceof CheckpointError ||
          err instanceof SampleFileError ||
          err instanceof MetricsError ||
          err instanceof RangeError
        ) {
          throw new UsageError(
            `cannot report on --run ${o.run}: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`,
          );
        }
        throw err;
      }
    });
}
