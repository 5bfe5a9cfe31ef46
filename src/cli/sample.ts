/**
 * `neuralrg sample --run DIR --method mis|iw|hmc-latent|hmc-physical`: sample the target of a
 * trained run with its flow (SPEC §4) and write results into the run directory:
 *
 *   samples/<method>.json        summary: acceptance, observables ± error (τ_int, binning,
 *                                chain spread), τ_int, ESS, R̂, exact values where known;
 *                                for iw also −ln Ẑ ± error, ESS and the variational F
 *   samples/<method>-trace.csv   per step: mean acceptance, step size, chain-averaged observables
 *                                (iw: per sample: log-weight and observables)
 *   samples/<method>-states.json final states of all chains (MCMC methods)
 *   plots/<method>-trace.svg|png trace of the main observable with the exact value as a line
 *                                (iw: running −ln Ẑ against the exact −ln Z and F)
 *
 * Methods: mis = Metropolised independence sampler (v1 Eq. 6); iw = importance weighting
 * (Ẑ = mean π/q); hmc-latent = HMC on U(z) of Eq. (6); hmc-physical = HMC on −ln π(x).
 * The shared machinery is exported for `neuralrg hmc` (cli/hmc.ts).
 */
import type { Command } from "commander";
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { createFlow } from "../flow/flow.ts";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { formatMetrics, type MetricsRow } from "../io/metrics.ts";
import { linePlot, writePlot } from "../present/plot.ts";
import type { ProgressMode } from "../present/progress.ts";
import { createProgress, sig } from "../present/progress.ts";
import { plotPath, RunDirError } from "../io/rundir.ts";
import { loadTrainedRun, type TrainedRun } from "../train/run.ts";
import { flowDensity, sampleModel } from "../sample/density.ts";
import { latentPotential, physicalPotential, runHmc, type Potential } from "../sample/hmc.ts";
import { importanceFromLogWeights, importanceMean, importanceSample, type ImportanceEstimate } from "../sample/importance.ts";
import { runMis } from "../sample/mis.ts";
import { paretoVerdict } from "../sample/pareto.ts";
import { wolffIsing } from "../sample/wolff.ts";
import {
  FIELD_MOMENTS, fieldMoments, gaussianExactMoments, ISING_OBSERVABLES, isingObservables, ObservableTrace, type SpinEstimator,
} from "../sample/observables.ts";
import type { MeanEstimate } from "../engine/stats.ts";
import { GaussianTarget } from "../targets/gaussian.ts";
import { RelaxedIsing, relaxedIsing } from "../targets/ising.ts";
import { isingExactObservables, kaufmanEnergyPerSite, MAX_ENUMERATE_L } from "../targets/kaufman.ts";
import type { Target } from "../targets/target.ts";
import type { KernelName } from "../kernels/wasm.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, UsageError } from "./errors.ts";
import { floatOption, intOption, parseTemperature } from "./options.ts";

export const SAMPLE_METHODS = ["mis", "iw", "hmc-latent", "hmc-physical"] as const;
export type SampleMethod = (typeof SAMPLE_METHODS)[number];
export type ChainMethod = Exclude<SampleMethod, "iw">;

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

/** Observables of a target: names, the one to plot, exact values where known, and how to compute them. */
export interface ObservableSet {
  names: readonly string[];
  main: string;
  exact: Record<string, number | null>;
  /** statistical error of a Monte Carlo reference value (0 or absent: exact) */
  exactError: Record<string, number | null>;
  /** where the exact values come from */
  exactSource: string;
  compute(x: Real, batch: number, rng: Rng): Record<string, Float64Array>;
}

export interface LoadedRun {
  run: TrainedRun;
  target: Target;
  symmetrize: boolean;
  observables: ObservableSet;
}

function isingObservableSet(target: RelaxedIsing, estimator: SpinEstimator, referenceS?: number, referenceSweeps?: number): ObservableSet {
  const L = target.L;
  const exact: Record<string, number | null> = { energy: null, absM: null, S: referenceS ?? null };
  const exactError: Record<string, number | null> = {};
  const sources: string[] = [];
  if (L <= MAX_ENUMERATE_L) {
    const e = isingExactObservables(L, target.T);
    exact.energy = e.energyPerSite;
    exact.absM = e.absMagnetisation;
    exact.S = referenceS ?? e.structureFactor;
    sources.push("enumeration of all 2^N spin states");
  } else {
    exact.energy = kaufmanEnergyPerSite(L, target.T);
    sources.push("energy: Kaufman's exact solution");
    if (referenceSweeps !== undefined) {
      // an independent reference: Wolff cluster Monte Carlo of the Ising spins (sample/wolff.ts)
      const mc = wolffIsing({ L, T: target.T, sweeps: referenceSweeps, warmup: Math.min(1000, Math.ceil(referenceSweeps / 10)), rng: Rng.fromSeed(REFERENCE_SEED) });
      exact.absM = mc.absMagnetisation.mean;
      exactError.absM = mc.absMagnetisation.error;
      if (referenceS === undefined) {
        exact.S = mc.structureFactor.mean;
        exactError.S = mc.structureFactor.error;
      }
      sources.push(`|m|${referenceS === undefined ? ", S" : ""}: Wolff cluster Monte Carlo, ${referenceSweeps} sweeps (seed ${REFERENCE_SEED}; deviations in σ combine both error bars)`);
    }
  }
  if (referenceS !== undefined) sources.push("S: --reference-s");
  return {
    names: ISING_OBSERVABLES,
    main: "S",
    exact,
    exactError,
    exactSource: sources.join("; "),
    compute: (x, batch, rng) => isingObservables(x, L, batch, { estimator, rng }),
  };
}

/** Seed of the Wolff reference chain (fixed, so the reference is the same for every sampling seed). */
export const REFERENCE_SEED = 20180201;

/** (mean − reference) in units of the combined error √(err² + referenceErr²); null when undefined. */
export function deviationSigma(mean: number, error: number, reference: number | null | undefined, referenceError?: number | null): number | null {
  if (reference === null || reference === undefined) return null;
  const s = Math.hypot(error, referenceError ?? 0);
  return s > 0 && Number.isFinite(s) ? (mean - reference) / s : null;
}

function momentObservableSet(target: Target): ObservableSet {
  const L = target.L;
  let exact: Record<string, number | null> = { m2: null, c1: null };
  let exactSource = "none";
  if (target instanceof GaussianTarget && target.nvars <= 1024) {
    exact = gaussianExactMoments(target.matrix(), L);
    exactSource = "inverse of the Gaussian precision matrix";
  }
  return { names: FIELD_MOMENTS, main: "m2", exact, exactError: {}, exactSource, compute: (x, batch) => fieldMoments(x, L, batch) };
}

/** Load a trained run for sampling; every problem with the directory or the options is a UsageError (exit 2). */
export function loadForSampling(o: Pick<SamplingCliOptions, "run" | "T" | "symmetrize" | "estimator" | "referenceS" | "referenceSweeps"> & { kernel?: KernelName }): LoadedRun {
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
  let target = run.target;
  if (o.T !== undefined) {
    if (run.config.target.kind !== "ising") {
      throw new UsageError(`target mismatch: --T applies to relaxed Ising runs, but run ${run.dir} has target '${String(run.config.target.kind)}'`);
    }
    target = relaxedIsing({ L: run.config.flow.L, T: o.T });
  }
  if (target.nvars !== run.model.nvars) {
    throw new UsageError(`target mismatch: run ${run.dir} has a target of ${target.nvars} variables but a flow of ${run.model.nvars}`);
  }
  let symmetrize: boolean;
  if (o.symmetrize === "auto") symmetrize = run.config.symmetrize && target.z2Symmetric;
  else if (o.symmetrize === "on") {
    if (!target.z2Symmetric) throw new UsageError(`--symmetrize on needs a Z2-symmetric target; target '${target.kind}' is not`);
    symmetrize = true;
  } else symmetrize = false;
  const observables = target instanceof RelaxedIsing ? isingObservableSet(target, o.estimator, o.referenceS, o.referenceSweeps) : momentObservableSet(target);
  return { run, target, symmetrize, observables };
}

function oneLineMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

// ---------------------------------------------------------------------------------------------
// Running

export interface ChainRun {
  method: ChainMethod;
  trace: ObservableTrace;
  /** mean acceptance probability per step (warm-up included) */
  acceptTrace: Float64Array;
  stepSizeTrace: Float64Array | null;
  warmup: number;
  steps: number;
  nchains: number;
  acceptance: number;
  meanAcceptProb: number;
  stepSize: number | null;
  /** MIS: Pareto k̂ of the proposals' importance weights (null for HMC) */
  proposalParetoK: number | null;
  finalX: Real;
  seconds: number;
  summary: Record<string, MeanEstimate>;
}

export interface ChainRunSettings {
  nchains: number;
  steps: number;
  warmup: number;
  seed: number;
  leapfrogSteps: number;
  stepSize: number;
  targetAccept?: number;
  stepJitter: number;
  init: "normal" | "flow";
  progress: ProgressMode;
  progressLabel?: string;
}

/** Run one MCMC method with parallel chains, recording observables at every step. */
export function runChains(loaded: LoadedRun, method: ChainMethod, s: ChainRunSettings): ChainRun {
  const { run, target, symmetrize, observables } = loaded;
  const { model, params } = run;
  const N = model.nvars;
  const rng = Rng.fromSeed(s.seed);
  const initRng = rng.fork(1);
  const spinRng = rng.fork(2);
  const chainRng = rng.fork(3);
  const total = s.warmup + s.steps;
  const trace = new ObservableTrace(observables.names, s.nchains);
  const acceptTrace = new Float64Array(total);
  const progress = createProgress({
    total, unit: s.progressLabel ?? `${method} step`, mode: s.progress,
    fields: [{ key: "acc", label: "acc", format: sig(3) }, { key: "obs", label: observables.main, format: sig(5) }],
  });
  const t0 = performance.now();
  const record = (step: number, x: Real, accProb: ArrayLike<number>) => {
    const values = observables.compute(x, s.nchains, spinRng);
    trace.push(values);
    let a = 0;
    for (let c = 0; c < s.nchains; c++) a += accProb[c];
    acceptTrace[step] = a / s.nchains;
    let m = 0;
    const main = values[observables.main];
    for (let c = 0; c < s.nchains; c++) m += main[c];
    progress.update(step + 1, { acc: acceptTrace[step], obs: m / s.nchains });
  };
  try {
    if (method === "mis") {
      const proposal = flowDensity(model, params, { symmetrize });
      const r = runMis(proposal, target, {
        nchains: s.nchains, nsteps: total, rng: chainRng,
        onStep: (st) => record(st.step, st.x, st.acceptProb),
      });
      let acc = 0;
      for (let t = s.warmup; t < total; t++) acc += acceptTrace[t];
      const prodAcc = s.steps > 0 ? acc / s.steps : NaN;
      return finish({ acceptance: r.acceptance, meanAcceptProb: prodAcc, stepSize: null, stepSizeTrace: null, proposalParetoK: r.proposalParetoK, finalX: r.x });
    }
    let pot: Potential;
    let init: Real;
    if (method === "hmc-latent") {
      pot = latentPotential(model, params, target, { symmetrize });
      init = alloc(dtypeOf(params), s.nchains * N);
      initRng.fillNormal(init);
    } else {
      pot = physicalPotential(target);
      if (s.init === "flow") init = sampleModel(model, params, s.nchains, initRng, symmetrize).x;
      else {
        init = alloc(dtypeOf(params), s.nchains * N);
        initRng.fillNormal(init);
      }
    }
    const r = runHmc(pot, init, s.nchains, {
      ntraj: s.steps, warmup: s.warmup, leapfrogSteps: s.leapfrogSteps, stepSize: s.stepSize,
      targetAccept: s.targetAccept, stepJitter: s.stepJitter, rng: chainRng,
      onStep: (st) => record(st.step, st.x, st.acceptProb),
    });
    return finish({ acceptance: r.acceptance, meanAcceptProb: r.meanAcceptProb, stepSize: r.stepSize, stepSizeTrace: r.stepSizeTrace, proposalParetoK: null, finalX: r.x });
  } finally {
    progress.stop();
  }

  function finish(r: { acceptance: number; meanAcceptProb: number; stepSize: number | null; stepSizeTrace: Float64Array | null; proposalParetoK: number | null; finalX: Real }): ChainRun {
    return {
      method, trace, acceptTrace, warmup: s.warmup, steps: s.steps, nchains: s.nchains, ...r,
      seconds: (performance.now() - t0) / 1000,
      summary: s.steps > 0 ? trace.summary(s.warmup) : {},
    };
  }
}

export interface IwRun {
  estimate: ImportanceEstimate;
  observables: Record<string, { mean: number; error: number }>;
  logW: Float64Array;
  values: Record<string, Float64Array>;
  seconds: number;
}

export function runImportance(loaded: LoadedRun, n: number, batch: number, seed: number, progressMode: ProgressMode): IwRun {
  const { run, target, symmetrize, observables } = loaded;
  const rng = Rng.fromSeed(seed);
  const sampleRng = rng.fork(1);
  const spinRng = rng.fork(2);
  const values: Record<string, Float64Array> = {};
  for (const k of observables.names) values[k] = new Float64Array(n);
  let filled = 0;
  const progress = createProgress({ total: n, unit: "sample", mode: progressMode, fields: [] });
  const t0 = performance.now();
  let res;
  try {
    res = importanceSample(flowDensity(run.model, run.params, { symmetrize }), target, {
      n, batchSize: batch, rng: sampleRng,
      onSamples: (x, _lw, b) => {
        const v = observables.compute(x, b, spinRng);
        for (const k of observables.names) values[k].set(v[k], filled);
        filled += b;
      },
      onBatch: (done) => progress.update(done),
    });
  } finally {
    progress.stop();
  }
  const obs: Record<string, { mean: number; error: number }> = {};
  for (const k of observables.names) obs[k] = importanceMean(values[k], res.logW);
  return { estimate: importanceFromLogWeights(res.logW, { batchSize: Math.min(batch, Math.max(1, Math.floor(n / 2))) }), observables: obs, logW: res.logW, values, seconds: (performance.now() - t0) / 1000 };
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
    return v === "good" ? `${value}: light tail, no sticky chains expected` : `${value}: heavy tail: chains stick at rare high-weight states; τ_int grows with the run length, run much longer than τ_int`;
  }
  if (v === "good") return `${value}: < 0.5, the weights have finite variance and the error bars hold`;
  if (v === "slow") return `${value}: in [0.5, 0.7], infinite variance: converges slowly, error bars too small`;
  return `${value}: > 0.7, UNRELIABLE: q misses part of π's mass; −ln Ẑ, the observables and their error bars are not trustworthy at this n (more samples or a better flow)`;
}

/** JSON-safe number (NaN/±∞ → null). */
function jnum(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? x : null;
}

export function estimateJson(e: MeanEstimate, exact: number | null, exactError: number | null = null): JsonObject {
  return {
    mean: jnum(e.mean),
    error: jnum(e.error),
    bin_error: jnum(e.binError),
    binning_converged: e.binningConverged,
    chain_error: jnum(e.chainError),
    naive_error: jnum(e.naiveError),
    tau_int: jnum(e.tau.tau),
    tau_int_error: jnum(e.tau.tauErr),
    tau_window: e.tau.window,
    tau_reliable: e.tau.reliable,
    ess: jnum(e.ess),
    rhat: jnum(e.rhat),
    drift_z: jnum(e.drift),
    exact: jnum(exact),
    exact_error: jnum(exactError),
    deviation_sigma: jnum(deviationSigma(e.mean, e.error, exact, exactError)),
    thermalised: isThermalised(e),
  };
}

/** Heuristic: τ_int window found, R̂ < 1.1 and no drift between the halves (|z| < 3). */
export function isThermalised(e: MeanEstimate): boolean {
  return e.tau.reliable && !(e.rhat >= 1.1) && !(Math.abs(e.drift) >= 3);
}

export function chainRunJson(loaded: LoadedRun, r: ChainRun, extra: JsonObject = {}): JsonObject {
  const obs: JsonObject = {};
  for (const k of loaded.observables.names) {
    const e = r.summary[k];
    if (e) obs[k] = estimateJson(e, loaded.observables.exact[k] ?? null, loaded.observables.exactError[k] ?? null);
  }
  return {
    method: r.method,
    run: loaded.run.dir,
    checkpoint_epoch: loaded.run.epoch,
    target: { ...loaded.target.config } as JsonObject,
    symmetrize: loaded.symmetrize,
    chains: r.nchains,
    steps: r.steps,
    warmup: r.warmup,
    acceptance: jnum(r.acceptance),
    ...(r.proposalParetoK !== null ? { proposal_pareto_k: jnum(r.proposalParetoK), proposal_pareto_verdict: paretoVerdict(r.proposalParetoK) } : {}),
    mean_accept_prob: jnum(r.meanAcceptProb),
    step_size: jnum(r.stepSize),
    seconds: r.seconds,
    exact_source: loaded.observables.exactSource,
    observables: obs,
    ...extra,
  };
}

export function traceRows(loaded: LoadedRun, r: ChainRun): { columns: string[]; rows: MetricsRow[] } {
  const names = loaded.observables.names;
  const avg: Record<string, Float64Array> = {};
  for (const k of names) avg[k] = r.trace.chainAverage(k);
  const columns = ["step", "warmup", "accept", ...(r.stepSizeTrace ? ["step_size"] : []), ...names];
  const rows: MetricsRow[] = [];
  for (let t = 0; t < r.trace.nsteps; t++) {
    const row: MetricsRow = { step: t, warmup: t < r.warmup ? 1 : 0, accept: r.acceptTrace[t] };
    if (r.stepSizeTrace) row.step_size = r.stepSizeTrace[t];
    for (const k of names) row[k] = avg[k][t];
    rows.push(row);
  }
  return { columns, rows };
}

export function statesJson(L: number, nchains: number, x: Real): JsonObject {
  const N = L * L;
  const rows: number[][] = [];
  for (let c = 0; c < nchains; c++) rows.push(Array.from(x.subarray(c * N, (c + 1) * N)));
  return { L, chains: nchains, layout: "row b = chain b, site (i, j) at i*L + j", x: rows };
}

function fmt(e: { mean: number; error: number }): string {
  const d = e.error > 0 && Number.isFinite(e.error) ? Math.max(1, Math.min(10, 1 - Math.floor(Math.log10(e.error)))) : 6;
  return `${e.mean.toFixed(d)} ± ${Number.isFinite(e.error) ? e.error.toFixed(d) : "?"}`;
}

export function printChainRun(ctx: CliContext, loaded: LoadedRun, r: ChainRun): void {
  const head = `${r.method}: ${r.nchains} chains × ${r.steps} steps (+${r.warmup} warm-up), ${r.seconds.toFixed(1)} s`;
  println(ctx, head);
  println(ctx, `  acceptance ${r.acceptance.toFixed(4)}${r.stepSize !== null ? `   step size ${r.stepSize.toPrecision(4)}` : ""}`);
  if (r.proposalParetoK !== null) println(ctx, `  Pareto k̂ of the proposals' weights ${paretoText(r.proposalParetoK, "mis")}`);
  for (const k of loaded.observables.names) {
    const e = r.summary[k];
    if (!e) continue;
    const ex = loaded.observables.exact[k];
    const exErr = loaded.observables.exactError[k];
    const dev = deviationSigma(e.mean, e.error, ex, exErr);
    const exText = ex !== null && ex !== undefined
      ? `   ${exErr ? `reference ${fmt({ mean: ex, error: exErr })}` : `exact ${ex.toFixed(6)}`}${dev !== null ? ` (${dev.toFixed(1)}σ)` : ""}`
      : "";
    const why = [!e.tau.reliable ? "no τ window" : "", e.rhat >= 1.1 ? "R̂" : "", Math.abs(e.drift) >= 3 ? `drift ${e.drift.toFixed(1)}σ` : ""].filter(Boolean);
    const warn = why.length ? `   NOT THERMALISED (${why.join(", ")})` : "";
    println(ctx, `  ${k.padEnd(7)} ${fmt(e)}   τ_int ${e.tau.tau.toFixed(1)}   ESS ${e.ess.toFixed(0)}   R̂ ${Number.isFinite(e.rhat) ? e.rhat.toFixed(3) : "-"}${exText}${warn}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The command

export function validateCommon(o: SamplingCliOptions, method: SampleMethod): void {
  if (o.targetAccept !== undefined && (method === "mis" || method === "iw")) {
    throw new UsageError(`--target-accept applies to the HMC methods only, not --method ${method}`);
  }
}

/** Default warm-up: none for the independence sampler (its chains start from the flow), n/5 for HMC. */
export function defaultWarmup(method: SampleMethod, n: number): number {
  return method === "mis" || method === "iw" ? 0 : Math.floor(n / 5);
}

export async function sampleFromOptions(ctx: CliContext, o: SampleCliOptions): Promise<JsonObject> {
  validateCommon(o, o.method);
  const loaded = loadForSampling(o);
  const { run } = loaded;
  const L = run.config.flow.L;
  const base = `${o.method}`;
  if (o.method === "iw") {
    const r = runImportance(loaded, o.n, o.batch, o.seed, o.progress);
    const exact = loaded.target.exactNegLogZ ?? null;
    const obs: JsonObject = {};
    for (const k of loaded.observables.names) {
      const ex = loaded.observables.exact[k] ?? null;
      const exErr = loaded.observables.exactError[k] ?? null;
      const v = r.observables[k];
      obs[k] = { mean: jnum(v.mean), error: jnum(v.error), exact: jnum(ex), exact_error: jnum(exErr), deviation_sigma: jnum(deviationSigma(v.mean, v.error, ex, exErr)) };
    }
    const e = r.estimate;
    const summary: JsonObject = {
      method: "iw", run: run.dir, checkpoint_epoch: run.epoch, target: { ...loaded.target.config } as JsonObject, symmetrize: loaded.symmetrize,
      n: o.n, seed: o.seed, seconds: r.seconds,
      neg_log_z: jnum(e.negLogZ), neg_log_z_error: jnum(e.error), neg_log_z_bin_error: jnum(e.binError), neg_log_z_bias_estimate: jnum(e.bias),
      exact_neg_log_z: jnum(exact), deviation_sigma: exact !== null && e.error > 0 ? jnum((e.negLogZ - exact) / e.error) : null,
      ess: jnum(e.ess), ess_fraction: jnum(e.essFraction), max_weight_fraction: jnum(e.maxWeightFraction),
      pareto_k: jnum(e.paretoK), pareto_verdict: paretoVerdict(e.paretoK),
      variational_f: jnum(e.variationalF), variational_f_error: jnum(e.variationalFError),
      exact_source: loaded.observables.exactSource, observables: obs,
    };
    writeJsonAtomic(`${run.paths.samples}/${base}.json`, summary);
    const cols = ["index", "log_w", ...loaded.observables.names];
    const rows: MetricsRow[] = [];
    for (let i = 0; i < o.n; i++) {
      const row: MetricsRow = { index: i, log_w: r.logW[i] };
      for (const k of loaded.observables.names) row[k] = r.values[k][i];
      rows.push(row);
    }
    writeFileAtomic(`${run.paths.samples}/${base}-trace.csv`, formatMetrics(cols, rows));
    await writeIwPlot(loaded, r, `${plotPath(run.paths, `${base}-trace`, "svg").replace(/\.svg$/, "")}`);
    if (o.json) printJson(ctx, summary);
    else {
      println(ctx, `iw: ${o.n} samples, ${r.seconds.toFixed(1)} s (results in ${run.paths.samples}/${base}.json)`);
      println(ctx, `  -ln Z (importance weighted) ${fmt({ mean: e.negLogZ, error: e.error })}   ESS ${e.ess.toFixed(1)} (${(100 * e.essFraction).toFixed(2)}%)`);
      println(ctx, `  Pareto k̂ of the weights     ${paretoText(e.paretoK, "iw")}`);
      println(ctx, `  variational F               ${fmt({ mean: e.variationalF, error: e.variationalFError })}`);
      if (exact !== null) println(ctx, `  exact -ln Z                 ${exact.toFixed(6)}`);
      for (const k of loaded.observables.names) {
        const ex = loaded.observables.exact[k];
        const exErr = loaded.observables.exactError[k];
        const exText = ex === null || ex === undefined ? "" : exErr ? `   reference ${fmt({ mean: ex, error: exErr })}` : `   exact ${ex.toFixed(6)}`;
        println(ctx, `  ${k.padEnd(7)} ${fmt(r.observables[k])}${exText}`);
      }
    }
    return summary;
  }

  const nchains = o.chains ?? run.config.batch;
  const warmup = o.warmup ?? defaultWarmup(o.method, o.n);
  const r = runChains(loaded, o.method, {
    nchains, steps: o.n, warmup, seed: o.seed, leapfrogSteps: o.leapfrogSteps, stepSize: o.stepSize,
    targetAccept: o.targetAccept, stepJitter: o.stepJitter, init: o.init, progress: o.progress,
  });
  const hmcExtra: JsonObject = o.method === "mis" ? {} : {
    leapfrog_steps: o.leapfrogSteps, step_size_initial: o.stepSize, target_accept: jnum(o.targetAccept), step_jitter: o.stepJitter,
    ...(o.method === "hmc-physical" ? { init: o.init } : {}),
  };
  const summary = chainRunJson(loaded, r, { seed: o.seed, ...hmcExtra });
  writeJsonAtomic(`${run.paths.samples}/${base}.json`, summary);
  const { columns, rows } = traceRows(loaded, r);
  writeFileAtomic(`${run.paths.samples}/${base}-trace.csv`, formatMetrics(columns, rows));
  writeJsonAtomic(`${run.paths.samples}/${base}-states.json`, statesJson(L, nchains, r.finalX));
  await writeTracePlot(loaded, [{ name: o.method, run: r }], plotPath(run.paths, `${base}-trace`, "svg").replace(/\.svg$/, ""));
  if (o.json) printJson(ctx, summary);
  else {
    printChainRun(ctx, loaded, r);
    println(ctx, `results in ${run.paths.samples}/${base}.json, trace plot ${plotPath(run.paths, `${base}-trace`, "svg")}`);
  }
  return summary;
}

/** Trace of the main observable (chain average per step) for one or more runs, exact value as a line. */
export async function writeTracePlot(loaded: LoadedRun, runs: { name: string; run: ChainRun }[], base: string): Promise<void> {
  const k = loaded.observables.main;
  const ex = loaded.observables.exact[k];
  const series = runs.map(({ name, run }) => {
    const avg = run.trace.chainAverage(k);
    // ±1 standard error of the chain average at each step (spread over chains / √chains)
    const err = new Float64Array(avg.length);
    const v = run.trace.values(k);
    for (let t = 0; t < avg.length; t++) {
      let s = 0;
      for (let c = 0; c < run.nchains; c++) s += (v[t * run.nchains + c] - avg[t]) ** 2;
      err[t] = run.nchains > 1 ? Math.sqrt(s / (run.nchains - 1) / run.nchains) : 0;
    }
    return { name, x: Float64Array.from({ length: avg.length }, (_, t) => t), y: avg, yErr: err };
  });
  const cfg = loaded.target.config;
  const svg = await linePlot({
    series,
    title: `${k} per step, ${String(cfg.kind)} L=${loaded.target.L}${cfg.T !== undefined ? ` T=${Number(cfg.T).toFixed(4)}` : ""}, ${runs[0].run.nchains} chains`,
    xTitle: "step",
    yTitle: k === "S" ? "S = Σ s_i s_j / N²" : k,
    rules: ex !== null && ex !== undefined ? [{ y: ex, label: `${loaded.observables.exactError[k] ? "reference" : "exact"} ${ex.toPrecision(6)}` }] : [],
  });
  writePlot(base, svg, { png: true });
}

async function writeIwPlot(loaded: LoadedRun, r: IwRun, base: string): Promise<void> {
  const n = r.logW.length;
  const points = Math.min(200, n);
  const xs: number[] = [];
  const ys: number[] = [];
  const es: number[] = [];
  const fs: number[] = [];
  for (let p = 1; p <= points; p++) {
    const m = Math.max(2, Math.round((p * n) / points));
    const e = importanceFromLogWeights(r.logW.subarray(0, m), { batchSize: Math.max(1, Math.floor(m / 32)) });
    xs.push(m);
    ys.push(e.negLogZ);
    es.push(e.error);
    fs.push(e.variationalF);
  }
  const exact = loaded.target.exactNegLogZ;
  const svg = await linePlot({
    series: [
      { name: "−ln Ẑ (IW)", x: xs, y: ys, yErr: es },
      { name: "F (variational)", x: xs, y: fs },
    ],
    title: `Importance-weighted free energy vs samples, ${String(loaded.target.config.kind)} L=${loaded.target.L}`,
    xTitle: "samples",
    yTitle: "free energy",
    logX: true,
    rules: exact !== undefined ? [{ y: exact, label: `exact −ln Z ${exact.toPrecision(8)}` }] : [],
  });
  writePlot(base, svg, { png: true });
}

/** Options shared by `sample` and `hmc`. */
export function addSamplingOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--run <dir>", "run directory of a trained flow (with checkpoint.json)")
    .option("--chains <n>", "parallel chains (default: the run's training batch, as the original)", intOption("chains", 1, 1 << 20))
    .option("--seed <n>", "random seed", intOption("seed", 0, 4294967295), 1)
    .option("--warmup <n>", "extra steps before the production steps, excluded from the statistics (default: 0 for mis, n/5 for HMC)", intOption("warmup", 0, 1e9))
    .option("--leapfrog-steps <n>", "HMC: leapfrog steps per trajectory", intOption("leapfrog-steps", 1, 10000), 10)
    .option("--step-size <x>", "HMC: leapfrog step size", floatOption("step-size", { min: 0, exclusiveMin: true }), 0.2)
    .option("--target-accept <p>", "HMC: adapt the step size during warm-up toward this acceptance (e.g. 0.7), then freeze it", floatOption("target-accept", { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }))
    .option("--step-jitter <j>", "HMC: random per-trajectory step size ε(1 + j·U(−1,1)), in [0, 1)", floatOption("step-jitter", { min: 0, max: 1, exclusiveMax: true }), 0)
    .option("--symmetrize <mode>", "use q_sym (Eq. S4): auto (as trained, if the target is Z2-symmetric), on, off", (v) => parseChoiceOption("symmetrize", v, ["auto", "on", "off"] as const), "auto")
    .option("--estimator <kind>", "Ising observables: improved (tanh x, Rao–Blackwellised) or spins (draw s ∼ π(s|x))", (v) => parseChoiceOption("estimator", v, ["improved", "spins"] as const), "improved")
    .option("--T <t>", "sample the relaxed Ising target at this temperature instead of the run's (the flow stays a valid proposal)", parseTemperature)
    .option("--init <kind>", "hmc-physical start: normal (x ∼ N(0,1)) or flow (x ∼ q)", (v) => parseChoiceOption("init", v, ["normal", "flow"] as const), "normal")
    .option("--reference-s <S>", "reference value of S drawn as the exact line when no exact value is computable (L > 4)", floatOption("reference-s", { min: 0, max: 1 }))
    .option("--reference-sweeps <n>", "Ising, L > 4: compute reference values of <|m|> and S by Wolff cluster Monte Carlo with this many sweeps (e.g. 200000; seconds at L = 16) and report deviations in σ of both error bars", intOption("reference-sweeps", 100, 1e8))
    .option("--kernel <k>", "flow kernel: wasm (SIMD, fast) or js; results agree up to rounding", (v) => parseChoiceOption("kernel", v, ["wasm", "js"] as const), "wasm")
    .option("--progress <mode>", "auto, tty, plain or off", (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const), "auto")
    .option("--json", "print the summary as JSON", false);
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("sample")
    .description("sample a trained run's target with its flow: Metropolised independence sampler (mis), importance weights (iw), HMC in latent (Eq. 6) or physical space; writes results into the run directory");
  cmd.requiredOption("--method <m>", `one of ${SAMPLE_METHODS.join(", ")}`, (v) => parseChoiceOption("method", v, SAMPLE_METHODS));
  cmd.requiredOption("--n <n>", "MCMC: production steps per chain; iw: number of samples", intOption("n", 1, 1e9));
  addSamplingOptions(cmd);
  cmd.option("--batch <n>", "iw: samples per batch drawn from the flow", intOption("batch", 1, 1 << 20), 512);
  cmd.action(async (o: SampleCliOptions) => {
    if (o.method === "iw" && o.n < 2) throw invalidOption("n", o.n, "an integer >= 2 for --method iw");
    await sampleFromOptions(ctx, o);
  });
}
