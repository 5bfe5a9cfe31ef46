/**
 * `neuralrg hmc --run DIR`: HMC in latent space (Eq. 6) and in physical space (−ln π, Eq. 7)
 * side by side with the same chains, steps, leapfrog settings and seed (Fig. 3b). Writes
 *
 *   samples/hmc-compare.json       both summaries (acceptance, observables ± error, τ_int, ESS, R̂)
 *   samples/hmc-compare-trace.csv  per step: acceptance and chain-averaged observables of both
 *   plots/hmc-compare.svg|png      trace of the main observable (S for Ising), latent vs physical,
 *                                  with the exact value as a line
 */
import type { Command } from "commander";
import type { JsonObject } from "../io/json.ts";
import { plotPath } from "../io/rundir.ts";
import { defaultWarmup, runChains } from "../sample/drivers.ts";
import { writeHmcComparison } from "../sample/results.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { intOption } from "./options.ts";
import {
  addSamplingOptions,
  loadForSampling,
  chainSettings,
  printChainRun,
  type SamplingCliOptions,
  validateCommon,
} from "./sample.ts";

export async function hmcCompareFromOptions(ctx: CliContext, o: SamplingCliOptions): Promise<JsonObject> {
  validateCommon(o, "hmc-latent");
  const loaded = loadForSampling(o);
  const { run } = loaded;
  const settings = chainSettings(o, run.config.batch, "hmc-latent");
  const latent = runChains(loaded, "hmc-latent", { ...settings, progressLabel: "latent HMC step" });
  const physical = runChains(loaded, "hmc-physical", { ...settings, progressLabel: "physical HMC step" });

  const common: JsonObject = {
    seed: o.seed,
    leapfrog_steps: o.leapfrogSteps,
    step_size_initial: o.stepSize,
    step_jitter: o.stepJitter,
    target_accept: o.targetAccept ?? null,
    physical_init: o.init,
  };
  const summary = await writeHmcComparison(loaded, latent, physical, common);
  const plot = plotPath(run.paths, "hmc-compare", "svg");
  if (o.json) printJson(ctx, summary);
  else {
    printChainRun(ctx, loaded, latent);
    printChainRun(ctx, loaded, physical);
    println(ctx, `results in ${run.paths.samples}/hmc-compare.json, trace plot ${plot}`);
  }
  return summary;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("hmc")
    .description(
      "HMC in latent space (Eq. 6) and in physical space side by side with the same steps (Fig. 3b); writes traces, summaries and a plot into the run directory",
    );
  cmd.requiredOption("--n <n>", "production HMC trajectories per chain", intOption("n", 1, 1e9));
  addSamplingOptions(cmd);
  cmd.action(async (o: SamplingCliOptions) => {
    await hmcCompareFromOptions(ctx, o);
  });
}
