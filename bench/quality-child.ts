/**
 * One run of bench/quality.ts in its own process, so that process.cpuUsage() (all threads of
 * this process, worker threads included) is this run's CPU time alone. Trains one recipe at one
 * lattice size and seed until `budget` CPU seconds of training are spent, evaluates the relative
 * error of F on fresh samples at CPU fractions 1/32 … 1 of the budget (evaluation time is not
 * counted), and at the end also −ln Ẑ by importance sampling with its Pareto k̂ and the MIS
 * acceptance. Prints one JSON line.
 *   node bin/run-ts.mjs bench/quality-child.ts <recipe> <L> <seed> <budget_cpu_s>
 */
import { Rng } from "../src/engine/rng.ts";
import { makeTarget } from "../src/targets/registry.ts";
import { flowDensity } from "../src/sample/density.ts";
import { importanceSample } from "../src/sample/importance.ts";
import { runMis } from "../src/sample/mis.ts";
import { ParallelObjective } from "../src/train/parallel.ts";
import { batchAt } from "../src/train/schedule.ts";
import type { TrainerState } from "../src/train/trainer.ts";
import { createTrainer, evaluateF, trainEpoch, trainEpochParallel } from "../src/train/trainer.ts";
import { RECIPES, recipeConfig } from "./quality-recipes.ts";

const [name, Ls, seeds, budgets] = process.argv.slice(2);
const recipe = RECIPES[name];
if (!recipe) throw new RangeError(`recipe ${name} is unknown: accepted values are ${Object.keys(RECIPES).join(", ")}`);
const L = Number(Ls);
const seed = Number(seeds);
const budget = Number(budgets);
const workers = recipe.workers ?? 1;
const target = makeTarget(recipeConfig(recipe, L, seed, 1).target);
const exact = target.exactNegLogZ as number;
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function epochOf(state: TrainerState, pool: ParallelObjective | null): Promise<void> {
  if (pool) await trainEpochParallel(state, pool);
  else trainEpoch(state);
}

// Calibration (not counted): CPU seconds per epoch at the first batch size, on a throwaway trainer,
// so that the recipe's schedules can run over the epochs that fit into the budget.
const cal = createTrainer(recipeConfig(recipe, L, seed + 1000, 1000), target);
const calPool = workers > 1 ? await ParallelObjective.create(cal.config, workers) : null;
await epochOf(cal, calPool);
const nCal = 4;
const c0 = cpu();
for (let i = 0; i < nCal; i++) await epochOf(cal, calPool);
const perEpoch = (cpu() - c0) / nCal;
await calPool?.close();
const b0 = recipe.config.batch ?? 512;
const bF = recipe.config.batchFinal;
// epochs E with Σ_e perEpoch·batchAt(e)/b0 ≈ budget (cost ∝ batch)
const costOf = (E: number, perEpoch0: number): number => {
  let s = 0;
  for (let e = 0; e < E; e++) s += batchAt(b0, bF, e, E) / b0;
  return s * perEpoch0;
};
/** the largest E with costOf(E, perEpoch) ≤ budget */
function planEpochs(perEpoch0: number): number {
  let lo = 1;
  let hi = Math.max(2, Math.ceil((budget / perEpoch0) * 2));
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (costOf(mid, perEpoch0) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}
const epochs = planEpochs(perEpoch);

const config = recipeConfig(recipe, L, seed, epochs);
const state = createTrainer(config, target);
const pool = workers > 1 ? await ParallelObjective.create(config, workers) : null;
const fractions = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1];
const curve: { cpu_s: number; epoch: number; rel_err: number; rel_err_se: number }[] = [];
let trainCpu = 0;
let next = 0;
// re-planned once, from the CPU time per epoch measured between 1/32 and 1/8 of the budget
// (the calibration's first epochs run partly unoptimised code); the schedules follow config.epochs
let mark: { cpu: number; units: number } | null = null;
let units = 0;
let replanned = false;
const evalSeed = (k: number): number => (seed * 1_000_003 + 7919 * (k + 1)) >>> 0;
while (state.epoch < config.epochs && trainCpu < budget) {
  const t = cpu();
  units += batchAt(b0, bF, state.epoch, config.epochs) / b0;
  await epochOf(state, pool);
  trainCpu += cpu() - t;
  if (mark === null && trainCpu >= budget / 32) mark = { cpu: trainCpu, units };
  else if (mark !== null && !replanned && trainCpu >= budget / 8 && units > mark.units) {
    config.epochs = Math.max(state.epoch + 1, planEpochs((trainCpu - mark.cpu) / (units - mark.units)));
    replanned = true;
  }
  while (next < fractions.length - 1 && trainCpu >= fractions[next] * budget) {
    const ev = evaluateF(state, 1024, evalSeed(next));
    curve.push({
      cpu_s: trainCpu,
      epoch: state.epoch,
      rel_err: (ev.F - exact) / Math.abs(exact),
      rel_err_se: ev.stdErr / Math.abs(exact),
    });
    next++;
  }
}
await pool?.close();
const ev = evaluateF(state, 4096, evalSeed(100));
const relErr = (ev.F - exact) / Math.abs(exact);
curve.push({ cpu_s: trainCpu, epoch: state.epoch, rel_err: relErr, rel_err_se: ev.stdErr / Math.abs(exact) });
const density = flowDensity(state.model, state.params, { symmetrize: config.symmetrize });
const is = importanceSample(density, target, { n: 4096, batchSize: 512, rng: Rng.fromSeed(evalSeed(101)) });
const mis = runMis(density, target, { nchains: 64, nsteps: 64, rng: Rng.fromSeed(evalSeed(102)) });
process.stdout.write(
  JSON.stringify({
    recipe: name,
    L,
    seed,
    budget_cpu_s: budget,
    workers,
    epochs_planned: config.epochs,
    epochs: state.epoch,
    cpu_s_per_epoch_start: perEpoch,
    train_cpu_s: trainCpu,
    exact,
    F: ev.F,
    F_stderr: ev.stdErr,
    rel_err: relErr,
    rel_err_se: ev.stdErr / Math.abs(exact),
    is_neg_log_z: is.negLogZ,
    is_error: is.error,
    is_sigmas_from_exact: (is.negLogZ - exact) / is.error,
    pareto_k: is.paretoK,
    ess_fraction: is.essFraction,
    mis_acceptance: mis.acceptance,
    curve,
  }) + "\n",
);
