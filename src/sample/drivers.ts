/**
 * Sampling the target of a trained run with its flow, with observables and error bars, as
 * `neuralrg sample` and `neuralrg hmc` do: {@link prepareSampling} (target, q or q_sym, the
 * observables with their exact or reference values), {@link runChains} (parallel MCMC chains:
 * the Metropolised independence sampler, v1 Eq. 6; HMC on U(z) of Eq. (6); HMC on −ln π(x))
 * and {@link runImportance} (importance weighting, Ẑ = mean π/q). The results are written into a
 * run directory by results.ts.
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import type { MeanEstimate } from "../engine/stats.ts";
import type { FlowConfig } from "../flow/config.ts";
import type { FlowModel } from "../flow/flow.ts";
import type { RunPaths } from "../io/rundir.ts";
import type { ProgressMode } from "../present/progress.ts";
import { createProgress, sig } from "../present/progress.ts";
import { GaussianTarget } from "../targets/gaussian.ts";
import { RelaxedIsing, relaxedIsing } from "../targets/ising.ts";
import { isingExactObservables, kaufmanEnergyPerSite, MAX_ENUMERATE_L } from "../targets/kaufman.ts";
import type { TargetConfig } from "../targets/registry.ts";
import type { Target } from "../targets/target.ts";
import { flowDensity, sampleModel } from "./density.ts";
import { latentPotential, physicalPotential, runHmc, type Potential } from "./hmc.ts";
import { importanceFromLogWeights, importanceMean, importanceSample, type ImportanceEstimate } from "./importance.ts";
import { runMis } from "./mis.ts";
import {
  FIELD_MOMENTS,
  fieldMoments,
  gaussianExactMoments,
  ISING_OBSERVABLES,
  isingObservables,
  ObservableTrace,
  type SpinEstimator,
} from "./observables.ts";
import { wolffIsing } from "./wolff.ts";

export const SAMPLE_METHODS = ["mis", "iw", "hmc-latent", "hmc-physical"] as const;
export type SampleMethod = (typeof SAMPLE_METHODS)[number];
export type ChainMethod = Exclude<SampleMethod, "iw">;

/** What sampling needs of a trained run (`train.loadTrainedRun` returns one). */
export interface SamplingRun {
  dir: string;
  paths: RunPaths;
  config: { target: TargetConfig; flow: FlowConfig; symmetrize: boolean; batch: number };
  model: FlowModel;
  target: Target;
  params: Real;
  /** epoch of the checkpoint the parameters come from */
  epoch: number;
}

/** Options of {@link prepareSampling}. */
export interface SamplingSetup {
  /** relaxed Ising runs: sample at this temperature instead of the run's (the flow stays a valid proposal) */
  T?: number;
  symmetrize: "auto" | "on" | "off";
  /** Ising observables: improved (tanh x, Rao–Blackwellised) or spins (s ∼ π(s|x)) */
  estimator: SpinEstimator;
  /** reference value of S where no exact value is computable */
  referenceS?: number;
  /** Wolff cluster MC sweeps for reference values of |m| and S where enumeration is impossible */
  referenceSweeps?: number;
}

/** Options that do not fit the run (the message names the option as the command line spells it). */
export class SamplingSetupError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "SamplingSetupError";
  }
}

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
  run: SamplingRun;
  target: Target;
  symmetrize: boolean;
  observables: ObservableSet;
}

function isingObservableSet(
  target: RelaxedIsing,
  estimator: SpinEstimator,
  referenceS?: number,
  referenceSweeps?: number,
): ObservableSet {
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
      const mc = wolffIsing({
        L,
        T: target.T,
        sweeps: referenceSweeps,
        warmup: Math.min(1000, Math.ceil(referenceSweeps / 10)),
        rng: Rng.fromSeed(REFERENCE_SEED),
      });
      exact.absM = mc.absMagnetisation.mean;
      exactError.absM = mc.absMagnetisation.error;
      if (referenceS === undefined) {
        exact.S = mc.structureFactor.mean;
        exactError.S = mc.structureFactor.error;
      }
      sources.push(
        `|m|${referenceS === undefined ? ", S" : ""}: Wolff cluster Monte Carlo, ${referenceSweeps} sweeps (seed ${REFERENCE_SEED}; deviations in σ combine both error bars)`,
      );
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
export function deviationSigma(
  mean: number,
  error: number,
  reference: number | null | undefined,
  referenceError?: number | null,
): number | null {
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
  return {
    names: FIELD_MOMENTS,
    main: "m2",
    exact,
    exactError: {},
    exactSource,
    compute: (x, batch) => fieldMoments(x, L, batch),
  };
}

/**
 * A trained run made ready for sampling: the target (at temperature `T` for relaxed Ising runs,
 * when given), whether to use q_sym (Eq. S4; "auto": as trained, if the target is Z2-symmetric)
 * and the observables with their exact or reference values. Throws {@link SamplingSetupError}
 * when the options do not fit the run.
 */
export function prepareSampling(run: SamplingRun, o: SamplingSetup): LoadedRun {
  let target = run.target;
  if (o.T !== undefined) {
    if (run.config.target.kind !== "ising") {
      throw new SamplingSetupError(
        `target mismatch: --T applies to relaxed Ising runs, but run ${run.dir} has target '${String(run.config.target.kind)}'`,
      );
    }
    target = relaxedIsing({ L: run.config.flow.L, T: o.T });
  }
  if (target.nvars !== run.model.nvars) {
    throw new SamplingSetupError(
      `target mismatch: run ${run.dir} has a target of ${target.nvars} variables but a flow of ${run.model.nvars}`,
    );
  }
  let symmetrize: boolean;
  if (o.symmetrize === "auto") symmetrize = run.config.symmetrize && target.z2Symmetric;
  else if (o.symmetrize === "on") {
    if (!target.z2Symmetric)
      throw new SamplingSetupError(`--symmetrize on needs a Z2-symmetric target; target '${target.kind}' is not`);
    symmetrize = true;
  } else symmetrize = false;
  const observables =
    target instanceof RelaxedIsing
      ? isingObservableSet(target, o.estimator, o.referenceS, o.referenceSweeps)
      : momentObservableSet(target);
  return { run, target, symmetrize, observables };
}

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
    total,
    unit: s.progressLabel ?? `${method} step`,
    mode: s.progress,
    fields: [
      { key: "acc", label: "acc", format: sig(3) },
      { key: "obs", label: observables.main, format: sig(5) },
    ],
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
        nchains: s.nchains,
        nsteps: total,
        rng: chainRng,
        onStep: (st) => record(st.step, st.x, st.acceptProb),
      });
      let acc = 0;
      for (let t = s.warmup; t < total; t++) acc += acceptTrace[t];
      const prodAcc = s.steps > 0 ? acc / s.steps : NaN;
      return finish({
        acceptance: r.acceptance,
        meanAcceptProb: prodAcc,
        stepSize: null,
        stepSizeTrace: null,
        proposalParetoK: r.proposalParetoK,
        finalX: r.x,
      });
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
      ntraj: s.steps,
      warmup: s.warmup,
      leapfrogSteps: s.leapfrogSteps,
      stepSize: s.stepSize,
      targetAccept: s.targetAccept,
      stepJitter: s.stepJitter,
      rng: chainRng,
      onStep: (st) => record(st.step, st.x, st.acceptProb),
    });
    return finish({
      acceptance: r.acceptance,
      meanAcceptProb: r.meanAcceptProb,
      stepSize: r.stepSize,
      stepSizeTrace: r.stepSizeTrace,
      proposalParetoK: null,
      finalX: r.x,
    });
  } finally {
    progress.stop();
  }

  function finish(r: {
    acceptance: number;
    meanAcceptProb: number;
    stepSize: number | null;
    stepSizeTrace: Float64Array | null;
    proposalParetoK: number | null;
    finalX: Real;
  }): ChainRun {
    return {
      method,
      trace,
      acceptTrace,
      warmup: s.warmup,
      steps: s.steps,
      nchains: s.nchains,
      ...r,
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

export function runImportance(
  loaded: LoadedRun,
  n: number,
  batch: number,
  seed: number,
  progressMode: ProgressMode,
): IwRun {
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
      n,
      batchSize: batch,
      rng: sampleRng,
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
  return {
    estimate: importanceFromLogWeights(res.logW, { batchSize: Math.min(batch, Math.max(1, Math.floor(n / 2))) }),
    observables: obs,
    logW: res.logW,
    values,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Default warm-up: none for the independence sampler (its chains start from the flow), n/5 for HMC. */
export function defaultWarmup(method: SampleMethod, n: number): number {
  return method === "mis" || method === "iw" ? 0 : Math.floor(n / 5);
}
