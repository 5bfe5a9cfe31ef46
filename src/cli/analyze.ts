/**
 * `neuralrg analyze --run DIR`: the renormalisation-group analysis of a trained run
 * (Fig. 4, v1 Fig. 4 and S2–S4): collective variables per scale, gradient response of the
 * top-level latents, KSG mutual information between latent and between physical variables, and
 * latent wander. Results (JSON) and figures (SVG + PNG) go to DIR/analysis/ (analysis/run.ts).
 */
import type { Command } from "commander";
import { ANALYSES, analyzeRun, type AnalysisIndex, type AnalysisName } from "../analysis/run.ts";
import { SampleFileError, type SampleSource } from "../analysis/samples.ts";
import { SIGN_MODES, type SignMode } from "../analysis/posterior.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { isJsonObject } from "../io/json.ts";
import type { ProgressMode } from "../present/progress.ts";
import { RunDirError } from "../io/rundir.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, parseIntOption, UsageError } from "./errors.ts";
import { intOption } from "./options.ts";

export interface AnalyzeCliOptions {
  run: string;
  samples: number;
  k: number;
  seed: number;
  what: AnalysisName[];
  source: string;
  misSteps: number;
  workers: number;
  sign: SignMode | "auto";
  wanderScale?: number | "all";
  wanderSites?: string;
  progress: ProgressMode;
  json: boolean;
}

/** "all" or a comma-separated list of analyses. */
export function parseWhat(v: string): AnalysisName[] {
  if (v === "all") return [...ANALYSES];
  const items = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0 || !items.every((s) => (ANALYSES as readonly string[]).includes(s))) {
    throw invalidOption("what", v, `all or a comma-separated list of ${ANALYSES.join(", ")}`);
  }
  return [...new Set(items)] as AnalysisName[];
}

/** Latent components as site indices "5,12" or lattice coordinates "i:j,i:j". */
export function parseSites(v: string, L: number): number[] {
  const out: number[] = [];
  for (const item of v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+):(\d+)$/.exec(item);
    const site = m ? Number(m[1]) * L + Number(m[2]) : /^\d+$/.test(item) ? Number(item) : NaN;
    if (!Number.isInteger(site) || site < 0 || site >= L * L || (m && (Number(m[1]) >= L || Number(m[2]) >= L))) {
      throw invalidOption(
        "wander-sites",
        v,
        `a comma-separated list of site indices 0..${L * L - 1} or coordinates i:j with 0 ≤ i, j < ${L}`,
      );
    }
    out.push(site);
  }
  if (out.length === 0) throw invalidOption("wander-sites", v, "a non-empty list of sites");
  return out;
}

function sourceOf(o: AnalyzeCliOptions): SampleSource {
  if (o.source === "mis") return { kind: "mis", steps: o.misSteps };
  if (o.source === "flow") return { kind: "flow" };
  return { kind: "file", path: o.source };
}

function oneLineMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/** Run the analysis; problems with the run directory, sample file or options are UsageErrors (exit 2). */
export async function analyzeFromOptions(ctx: CliContext, o: AnalyzeCliOptions): Promise<AnalysisIndex> {
  let wanderSites: number[] | undefined;
  let index: AnalysisIndex;
  try {
    if (o.wanderSites !== undefined) {
      // the lattice size is needed to parse i:j; read it from the run (errors below are usage errors too)
      const { loadTrainedRun } = await import("../train/run.ts");
      wanderSites = parseSites(o.wanderSites, loadTrainedRun(o.run).config.flow.L);
    }
    index = await analyzeRun({
      dir: o.run,
      samples: o.samples,
      k: o.k,
      seed: o.seed,
      what: o.what,
      source: sourceOf(o),
      sign: o.sign,
      wanderScale: o.wanderScale,
      wanderSites,
      workers: o.workers,
      progress: o.progress,
      // on a terminal the progress bar draws on process.stderr; otherwise plain lines go through ctx.err
      stream: ctx.errIsTTY ? undefined : { write: (t: string) => (ctx.err(t), true), isTTY: false },
      log: (line) => ctx.err(line + "\n"),
    });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (
      err instanceof RunDirError ||
      err instanceof CheckpointError ||
      err instanceof SampleFileError ||
      err instanceof RangeError
    ) {
      throw new UsageError(`cannot analyze --run ${o.run}: ${oneLineMessage(err)}`);
    }
    throw err;
  }
  if (o.json) printJson(ctx, index.results);
  else printAnalysis(ctx, index);
  return index;
}

function printAnalysis(ctx: CliContext, a: AnalysisIndex): void {
  const s = a.samples;
  println(ctx, `analysis of ${a.run} (epoch ${a.epoch})`);
  println(
    ctx,
    `  samples: ${String(s.source)}${typeof s.acceptance === "number" ? `, acceptance ${s.acceptance.toFixed(3)}` : ""}; sign: ${String(s.sign_mode)}`,
  );
  const r = a.results;
  if (isJsonObject(r.response) && Array.isArray(r.response.latents)) {
    println(ctx, `  gradient response over ${String(r.response.samples)} samples (Fig. 4a):`);
    for (const q of r.response.latents) {
      if (!isJsonObject(q)) continue;
      const c = Array.isArray(q.centre)
        ? q.centre.map((v) => (Math.abs(Number(v)) < 0.05 ? 0 : Number(v)).toFixed(1)).join(", ")
        : "?";
      println(
        ctx,
        `    z(${String(q.i)},${String(q.j)}) scale ${String(q.scale)}: Σ E[∂z/∂x] ${Number(q.total).toFixed(3)}, centre (${c}), share in L/2 box ${Number(q.locality).toFixed(2)}, ‖std‖/‖mean‖ ${Number(q.nonlinearity).toFixed(3)}`,
      );
    }
  }
  if (isJsonObject(r.mi) && isJsonObject(r.mi.latent) && isJsonObject(r.mi.physical)) {
    const f = (v: unknown) => (typeof v === "number" ? v.toPrecision(3) : "?");
    println(
      ctx,
      `  mutual information (KSG k = ${String(r.mi.k)}, nats; Fig. 4b/4c): mean off-diagonal latent ${f(r.mi.latent.mean_off_diagonal)} vs physical ${f(r.mi.physical.mean_off_diagonal)} (ratio ${f(r.mi.ratio_mean_latent_to_physical)}); nearest neighbours latent ${f(r.mi.latent.mean_nearest_neighbour)} vs physical ${f(r.mi.physical.mean_nearest_neighbour)}`,
    );
  }
  if (isJsonObject(r.wander)) {
    const eff = isJsonObject(r.wander.mean_effective_sites_by_scale) ? r.wander.mean_effective_sites_by_scale : {};
    const byScale = Object.entries(eff)
      .map(([sc, v]) => `scale ${sc}: ${Number(v).toFixed(1)}`)
      .join(", ");
    println(
      ctx,
      `  latent wander: ${String(r.wander.flips)} components flipped; effective number of changed sites ${byScale}`,
    );
  }
  println(ctx, `  wrote ${a.figures.length} figures (SVG + PNG) and JSON to ${a.run}/analysis/`);
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("analyze")
    .description(
      "RG analysis of a trained run (Fig. 4, v1 Fig. 4, S2–S4): collective variables, gradient response, KSG mutual information, latent wander; writes JSON and figures into DIR/analysis/",
    )
    .requiredOption("--run <dir>", "run directory of a trained flow (with checkpoint.json)")
    .option("--samples <n>", "physical configurations x ∼ π to analyse", intOption("samples", 2, 1e7), 1000)
    .option("--k <k>", "neighbours of the KSG mutual-information estimator", intOption("k", 1, 100), 3)
    .option("--seed <n>", "random seed", intOption("seed", 0, 4294967295), 1)
    .option("--what <list>", `all, or a comma-separated list of ${ANALYSES.join(", ")}`, parseWhat, [...ANALYSES])
    .option(
      "--source <s>",
      "where x comes from: mis (final states of MIS chains, v1 Eq. 6), flow (x ∼ q), or a JSON file of configurations (e.g. samples/mis-states.json)",
      "mis",
    )
    .option("--mis-steps <n>", "MIS steps per chain for --source mis", intOption("mis-steps", 0, 1e6), 10)
    .option(
      "--sign <mode>",
      "sign of x before inferring z (Eq. S5): auto, sample (η ∼ p(η|x)), map (most probable η), none",
      (v) => parseChoiceOption("sign", v, ["auto", ...SIGN_MODES] as const),
      "auto",
    )
    .option(
      "--wander-scale <s>",
      "latent wander: flip every component of this scale (0..depth) or all (default: all for N ≤ 64, else the top three scales)",
      (v) => (v === "all" ? "all" : parseIntOption("wander-scale", v, 0, 64)),
    )
    .option(
      "--wander-sites <list>",
      "latent wander: components to flip, as site indices (5,12) or coordinates (i:j,i:j)",
    )
    .option(
      "--workers <n>",
      "worker threads for the mutual-information matrices (2 uses both cores of a 2-core machine)",
      intOption("workers", 1, 64),
      1,
    )
    .option(
      "--progress <mode>",
      "auto, tty, plain or off",
      (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const),
      "auto",
    )
    .option("--json", "print the results summary as JSON", false)
    .action(async (o: AnalyzeCliOptions) => {
      await analyzeFromOptions(ctx, o);
    });
}
