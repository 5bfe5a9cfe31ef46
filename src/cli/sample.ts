/**
 * `neuralrg sample --run DIR --method mis|iw|hmc-latent|hmc-physical`: sample the target of a
 * trained run with its flow and write the results into the run directory (the files are listed
 * in sample/results.ts; the samplers run in sample/drivers.ts).
 *
 * Methods: mis = Metropolised independence sampler (v1 Eq. 6); iw = importance weighting
 * (Ẑ = mean π/q); hmc-latent = HMC on U(z) of Eq. (6); hmc-physical = HMC on −ln π(x).
 * The options and the printing are shared with `neuralrg hmc` (cli/hmc.ts).
 */
import type { Command } from "commander";
import { createFlow } from "../flow/flow.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { plotPath, RunDirError } from "../io/rundir.ts";
import type { ProgressMode } from "../present/progress.ts";
import {
  defaultWarmup,
  deviationSigma,
  prepareSampling,
  runChains,
  runImportance,
  SAMPLE_METHODS,
  SamplingSetupError,
  type ChainRun,
  type LoadedRun,
  type SampleMethod,
} from "../sample/drivers.ts";
import type { SpinEstimator } from "../sample/observables.ts";
import { paretoVerdict } from "../sample/pareto.ts";
import { jnum, writeChainResults, writeImportanceResults } from "../sample/results.ts";
import type { KernelName } from "../kernels/wasm.ts";
import { loadTrainedRun, type TrainedRun } from "../train/run.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, UsageError } from "./errors.ts";
import { floatOption, intOption, parseTemperature } from "./options.ts";

/** Options shared by `sample` and `hmc`. */
export interface SamplingCliOptions {
  run: string;
  /** MCMC: production steps per chain; iw: number of samples */
  n: number;
  chains?: number;
  seed: number;
  warmup?: number;
  leapfrogSteps: number;
  stepSize: number;
  targetAccept?: number;
  stepJitter: number;
  symmetrize: "auto" | "on" | "off";
  estimator: SpinEstimator;
  T?: number;
  init: "normal" | "flow";
  referenceS?: number;
  /** Wolff cluster MC sweeps for reference values of |m| and S where enumeration is impossible */
  referenceSweeps?: number;
  /** block-layer kernel for the flow (results agree up to rounding) */
  kernel: KernelName;
  progress: ProgressMode;
  json: boolean;
}

export interface SampleCliOptions extends SamplingCliOptions {
  method: SampleMethod;
  /** iw: samples per batch */
  batch: number;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Load a trained run for sampling; every problem with the directory or the options is a UsageError (exit 2). */
export function loadForSampling(
  o: Pick<SamplingCliOptions, "run" | "T" | "symmetrize" | "estimator" | "referenceS" | "referenceSweeps"> & {
    kernel?: KernelName;
  },
): LoadedRun {
  let run: TrainedRun;
  try {
    run = loadTrainedRun(o.run);
    if (o.kernel !== undefined) run = { ...run, model: createFlow(run.config.flow, o.kernel) };
  } catch (err) {
    if (err instanceof RunDirError || err instanceof CheckpointError || err instanceof RangeError) {
      throw new UsageError(`cannot sample from --run ${o.run}: ${oneLineMessage(err)}`);
    }
    throw err;
  }
  try {
    return prepareSampling(run, o);
  } catch (err) {
    if (err instanceof SamplingSetupError) throw new UsageError(err.message);
    throw err;
  }
}

function oneLineMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

// ---------------------------------------------------------------------------------------------
// Reporting

/**
 * The Pareto k̂ line: the value and what a heavy tail of w = π/q means for importance weighting
 * (`iw`: the estimate and its error bars) or for the independence sampler (`mis`: sticky chains).
 */
function paretoText(k: number, use: "iw" | "mis"): string {
  const v = paretoVerdict(k);
  if (v === "n/a") return `n/a (too few ${use === "iw" ? "samples" : "proposals"})`;
  const value = k === -Infinity ? "−∞ (bounded weights)" : k.toFixed(2);
  if (use === "mis") {
    return v === "good"
      ? `${value}: light tail, no sticky chains expected`
      : `${value}: heavy tail: chains stick at rare high-weight states; τ_int grows with the run length, run much longer than τ_int`;
  }
  if (v === "good") return `${value}: < 0.5, the weights have finite variance and the error bars hold`;
  if (v === "slow") return `${value}: in [0.5, 0.7], infinite variance: converges slowly, error bars too small`;
  return `${value}: > 0.7, UNRELIABLE: q misses part of π's mass; −ln Ẑ, the observables and their error bars are not trustworthy at this n (more samples or a better flow)`;
}

function fmt(e: { mean: number; error: number }): string {
  const d =
    e.error > 0 && Number.isFinite(e.error) ? Math.max(1, Math.min(10, 1 - Math.floor(Math.log10(e.error)))) : 6;
  return `${e.mean.toFixed(d)} ± ${Number.isFinite(e.error) ? e.error.toFixed(d) : "?"}`;
}

export function printChainRun(ctx: CliContext, loaded: LoadedRun, r: ChainRun): void {
  const head = `${r.method}: ${r.nchains} chains × ${r.steps} steps (+${r.warmup} warm-up), ${r.seconds.toFixed(1)} s`;
  println(ctx, head);
  println(
    ctx,
    `  acceptance ${r.acceptance.toFixed(4)}${r.stepSize !== null ? `   step size ${r.stepSize.toPrecision(4)}` : ""}`,
  );
  if (r.proposalParetoK !== null)
    println(ctx, `  Pareto k̂ of the proposals' weights ${paretoText(r.proposalParetoK, "mis")}`);
  for (const k of loaded.observables.names) {
    const e = r.summary[k];
    if (!e) continue;
    const ex = loaded.observables.exact[k];
    const exErr = loaded.observables.exactError[k];
    const dev = deviationSigma(e.mean, e.error, ex, exErr);
    const exText =
      ex !== null && ex !== undefined
        ? `   ${exErr ? `reference ${fmt({ mean: ex, error: exErr })}` : `exact ${ex.toFixed(6)}`}${dev !== null ? ` (${dev.toFixed(1)}σ)` : ""}`
        : "";
    const why = [
      !e.tau.reliable ? "no τ window" : "",
      e.rhat >= 1.1 ? "R̂" : "",
      Math.abs(e.drift) >= 3 ? `drift ${e.drift.toFixed(1)}σ` : "",
    ].filter(Boolean);
    const warn = why.length ? `   NOT THERMALISED (${why.join(", ")})` : "";
    println(
      ctx,
      `  ${k.padEnd(7)} ${fmt(e)}   τ_int ${e.tau.tau.toFixed(1)}   ESS ${e.ess.toFixed(0)}   R̂ ${Number.isFinite(e.rhat) ? e.rhat.toFixed(3) : "-"}${exText}${warn}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The command

/** The chain settings of `sample` and `hmc` from their options (chains default to the training batch). */
export function chainSettings(o: SamplingCliOptions, batch: number, method: SampleMethod) {
  return {
    nchains: o.chains ?? batch,
    steps: o.n,
    warmup: o.warmup ?? defaultWarmup(method, o.n),
    seed: o.seed,
    leapfrogSteps: o.leapfrogSteps,
    stepSize: o.stepSize,
    targetAccept: o.targetAccept,
    stepJitter: o.stepJitter,
    init: o.init,
    progress: o.progress,
  };
}

export function validateCommon(o: SamplingCliOptions, method: SampleMethod): void {
  if (o.targetAccept !== undefined && (method === "mis" || method === "iw")) {
    throw new UsageError(`--target-accept applies to the HMC methods only, not --method ${method}`);
  }
}

export async function sampleFromOptions(ctx: CliContext, o: SampleCliOptions): Promise<JsonObject> {
  validateCommon(o, o.method);
  const loaded = loadForSampling(o);
  const { run } = loaded;
  const base = `${o.method}`;
  if (o.method === "iw") {
    const r = runImportance(loaded, o.n, o.batch, o.seed, o.progress);
    const summary = await writeImportanceResults(loaded, r, base, { n: o.n, seed: o.seed });
    const e = r.estimate;
    const exact = loaded.target.exactNegLogZ ?? null;
    if (o.json) printJson(ctx, summary);
    else {
      println(ctx, `iw: ${o.n} samples, ${r.seconds.toFixed(1)} s (results in ${run.paths.samples}/${base}.json)`);
      println(
        ctx,
        `  -ln Z (importance weighted) ${fmt({ mean: e.negLogZ, error: e.error })}   ESS ${e.ess.toFixed(1)} (${(100 * e.essFraction).toFixed(2)}%)`,
      );
      println(ctx, `  Pareto k̂ of the weights     ${paretoText(e.paretoK, "iw")}`);
      println(ctx, `  variational F               ${fmt({ mean: e.variationalF, error: e.variationalFError })}`);
      if (exact !== null) println(ctx, `  exact -ln Z                 ${exact.toFixed(6)}`);
      for (const k of loaded.observables.names) {
        const ex = loaded.observables.exact[k];
        const exErr = loaded.observables.exactError[k];
        const exText =
          ex === null || ex === undefined
            ? ""
            : exErr
              ? `   reference ${fmt({ mean: ex, error: exErr })}`
              : `   exact ${ex.toFixed(6)}`;
        println(ctx, `  ${k.padEnd(7)} ${fmt(r.observables[k])}${exText}`);
      }
    }
    return summary;
  }

  const r = runChains(loaded, o.method, chainSettings(o, run.config.batch, o.method));
  const hmcExtra: JsonObject =
    o.method === "mis"
      ? {}
      : {
          leapfrog_steps: o.leapfrogSteps,
          step_size_initial: o.stepSize,
          target_accept: jnum(o.targetAccept),
          step_jitter: o.stepJitter,
          ...(o.method === "hmc-physical" ? { init: o.init } : {}),
        };
  const summary = await writeChainResults(loaded, r, base, { seed: o.seed, ...hmcExtra });
  if (o.json) printJson(ctx, summary);
  else {
    printChainRun(ctx, loaded, r);
    println(
      ctx,
      `results in ${run.paths.samples}/${base}.json, trace plot ${plotPath(run.paths, `${base}-trace`, "svg")}`,
    );
  }
  return summary;
}

/** Options shared by `sample` and `hmc`. */
export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--run <dir>", "run directory of a trained flow (with checkpoint.json)")
    .option(
      "--chains <n>",
      "parallel chains (default: the run's training batch, as the original)",
      intOption("chains", 1, 1 << 20),
    )
    .option("--seed <n>", "random seed", intOption("seed", 0, 4294967295), 1)
    .option(
      "--warmup <n>",
      "extra steps before the production steps, excluded from the statistics (default: 0 for mis, n/5 for HMC)",
      intOption("warmup", 0, 1e9),
    )
    .option("--leapfrog-steps <n>", "HMC: leapfrog steps per trajectory", intOption("leapfrog-steps", 1, 10000), 10)
    .option("--step-size <x>", "HMC: leapfrog step size", floatOption("step-size", { min: 0, exclusiveMin: true }), 0.2)
    .option(
      "--target-accept <p>",
      "HMC: adapt the step size during warm-up toward this acceptance (e.g. 0.7), then freeze it",
      floatOption("target-accept", { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    )
    .option(
      "--step-jitter <j>",
      "HMC: random per-trajectory step size ε(1 + j·U(−1,1)), in [0, 1)",
      floatOption("step-jitter", { min: 0, max: 1, exclusiveMax: true }),
      0,
    )
    .option(
      "--symmetrize <mode>",
      "use q_sym (Eq. S4): auto (as trained, if the target is Z2-symmetric), on, off",
      (v) => parseChoiceOption("symmetrize", v, ["auto", "on", "off"] as const),
      "auto",
    )
    .option(
      "--estimator <kind>",
      "Ising observables: improved (tanh x, Rao–Blackwellised) or spins (draw s ∼ π(s|x))",
      (v) => parseChoiceOption("estimator", v, ["improved", "spins"] as const),
      "improved",
    )
    .option(
      "--T <t>",
      "sample the relaxed Ising target at this temperature instead of the run's (the flow stays a valid proposal)",
      parseTemperature,
    )
    .option(
      "--init <kind>",
      "hmc-physical start: normal (x ∼ N(0,1)) or flow (x ∼ q)",
      (v) => parseChoiceOption("init", v, ["normal", "flow"] as const),
      "normal",
    )
    .option(
      "--reference-s <S>",
      "reference value of S drawn as the exact line when no exact value is computable (L > 4)",
      floatOption("reference-s", { min: 0, max: 1 }),
    )
    .option(
      "--reference-sweeps <n>",
      "Ising, L > 4: compute reference values of <|m|> and S by Wolff cluster Monte Carlo with this many sweeps (e.g. 200000; seconds at L = 16) and report deviations in σ of both error bars",
      intOption("reference-sweeps", 100, 1e8),
    )
    .option(
      "--kernel <k>",
      "flow kernel: wasm (SIMD, fast) or js; results agree up to rounding",
      (v) => parseChoiceOption("kernel", v, ["wasm", "js"] as const),
      "wasm",
    )
    .option(
      "--progress <mode>",
      "auto, tty, plain or off",
      (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const),
      "auto",
    )
    .option("--json", "print the summary as JSON", false);
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("sample")
    .description(
      "sample a trained run's target with its flow: Metropolised independence sampler (mis), importance weights (iw), HMC in latent (Eq. 6) or physical space; writes results into the run directory",
    );
  cmd.requiredOption("--method <m>", `one of ${SAMPLE_METHODS.join(", ")}`, (v) =>
    parseChoiceOption("method", v, SAMPLE_METHODS),
  );
  cmd.requiredOption("--n <n>", "MCMC: production steps per chain; iw: number of samples", intOption("n", 1, 1e9));
  addSamplingOptions(cmd);
  cmd.option("--batch <n>", "iw: samples per batch drawn from the flow", intOption("batch", 1, 1 << 20), 512);
  cmd.action(async (o: SampleCliOptions) => {
    if (o.method === "iw" && o.n < 2) throw invalidOption("n", o.n, "an integer >= 2 for --method iw");
    await sampleFromOptions(ctx, o);
  });
}
