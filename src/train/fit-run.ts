/**
 * A maximum-likelihood run on disk (`neuralrg fit`), laid out like a training run (rundir.ts):
 *
 *   config.json       the FitConfig (data source and hash, preprocessing, flow, optimiser)
 *   provenance.json   package version, git commit, seed, config
 *   checkpoint.json   parameters, Adam state, RNG state; its "epoch" field counts Adam steps
 *   metrics.csv       one row per evaluation: step, epoch (passes over the data), train NLL
 *                     (mean over the minibatches since the last row), test NLL ± error, in nats
 *                     per configuration, nats per variable and bits/dim (units: data/dequantize.ts)
 *   summary.json      final test NLL on the whole test set (all units), timing, and, when the
 *                     data declare their density π (FILE.meta.json), KL(π‖q), the data entropy and
 *                     the variational F with the exact −ln Z for comparison with `train`
 *   plots/nll.svg|png          train and test NLL per epoch
 *   plots/samples.svg|png      samples x = g(z), shown in the data space
 *   plots/scales.svg|png       samples with only the coarse latent scales random (v1 Fig. S5)
 *   plots/collective.svg|png   generated samples and their collective variables per level
 *
 * With `backend: "webgpu"` each minibatch's NLL and gradient come from the WGSL kernel (gpu/nll.ts,
 * float32; provenance.json records the backend and adapter); evaluations and figures stay on the CPU.
 *
 * Runs whose data declare a target can be loaded by `neuralrg sample`/`analyze` like trained runs.
 * Resuming restores parameters, optimiser, generator and step, so parameters continue exactly;
 * metric rows after the checkpoint are dropped.
 */
import { existsSync } from "node:fs";
import { meanStdErr } from "../engine/math.ts";
import { alloc } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { collectiveFromLatent } from "../flow/collective.ts";
import { collectiveSampleFigure, scaleFigure, scaleResolvedSamples } from "../flow/scales.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Preprocess } from "../data/dequantize.ts";
import { nllUnits, toDataSpace } from "../data/dequantize.ts";
import { generate } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import type { Target } from "../targets/target.ts";
import type { FitConfig, FitState } from "./fit.ts";
import {
  NonFiniteNllError,
  createFit,
  evaluateNll,
  evaluationSeed,
  fitStep,
  fitStepAsync,
  stepsPerEpoch,
  validateFitConfig,
} from "./fit.ts";
import { createGpuFitObjective, openNodeWebGpu, webgpuUnsupported } from "../gpu/node.ts";
import { pddLoss } from "./objectives.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { CheckpointError, saveCheckpoint } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { openMetrics, readMetrics } from "../io/metrics.ts";
import { heatmapGrid, linePlot, writePlot } from "../present/plot.ts";
import type { ProgressMode } from "../present/progress.ts";
import { createProgress, sig } from "../present/progress.ts";
import { provenance } from "../io/provenance.ts";
import { wasmBuildRecord } from "../kernels/wasm.ts";
import {
  configJson,
  optimiserState,
  restoreOptimiserAndRng,
  StepTimes,
  timeBudget,
  writeRunProvenance,
} from "./run-loop.ts";
import type { RunPaths } from "../io/rundir.ts";
import { loadResumableCheckpoint, withRunDir } from "../io/run-session.ts";
import { plotPath } from "../io/rundir.ts";

/** −ln q_Y(y) on the test set at fixed dequantisation noise (train/fit.ts evaluateNll). */
type TestNll = ReturnType<typeof evaluateNll>;

const FIT_METRIC_COLUMNS = [
  "step",
  "epoch",
  "train_nll",
  "train_nll_stderr",
  "test_nll",
  "test_nll_stderr",
  "test_nats_per_dim",
  "test_bits_per_dim",
  "grad_norm",
  "seconds",
] as const;

export interface FitRunOptions {
  dir: string;
  config: FitConfig;
  train: Dataset;
  test: Dataset;
  resume?: boolean;
  overwrite?: boolean;
  /** Adam steps between evaluations (metrics row + checkpoint); default one epoch */
  evalPeriod?: number;
  /** test configurations used by the periodic evaluations (default all; the final one uses all) */
  evalSamples?: number;
  maxSeconds?: number;
  progress?: ProgressMode;
  log?: (line: string) => void;
  /** samples drawn for the figures (default 8) */
  figureSamples?: number;
  /** skip the figures (tests) */
  figures?: boolean;
  /**
   * where the minibatch NLL and its gradient are computed: "cpu" (default; the config's kernel) or
   * "webgpu" (the WGSL kernel through the optional `webgpu` package, float32; gpu/nll.ts); the
   * test evaluations, the final NLL and the figures use the CPU kernel either way
   */
  backend?: "cpu" | "webgpu";
}

export interface FitRunSummary extends JsonObject {
  steps: number;
  epochs: number;
  /** wall seconds of the training loop in this invocation */
  train_seconds: number;
  seconds_per_step_median: number;
  n_train: number;
  n_test: number;
  /** −ln q_Y(y) on the whole test set, nats per configuration (data space) */
  test_nll: number;
  test_nll_stderr: number;
  test_nats_per_dim: number;
  test_bits_per_dim: number;
  units: string;
  seed: number;
}

function unitsText(p: Preprocess, N: number): string {
  const pre =
    p.dequantize === "uniform"
      ? `uniform dequantisation y = (k + u)/256 of 0..255 data${p.logit !== undefined ? `, logit transform α = ${p.logit}` : ""}`
      : p.logit !== undefined
        ? `logit transform α = ${p.logit}`
        : "no preprocessing";
  const bpd =
    p.dequantize === "uniform"
      ? "bits/dim = (NLL + N ln 256)/(N ln 2) (the [0, 256) pixel scale)"
      : "bits/dim = NLL/(N ln 2)";
  return `NLL = −ln q(y) in nats per ${N}-variable configuration in the data space y (${pre}); nats/dim = NLL/N; ${bpd}`;
}

function saveState(paths: RunPaths, s: FitState): void {
  saveCheckpoint(paths.checkpoint, {
    epoch: s.step,
    config: configJson(s.config),
    params: s.params,
    optimiser: optimiserState(s.adam),
    rng: s.rng.state(),
    extra: { counter: "steps" },
  });
}

function restore(paths: RunPaths, s: FitState): void {
  const ck = loadResumableCheckpoint(paths, configJson(s.config));
  if (ck.params.length !== s.params.length)
    throw new CheckpointError(
      paths.checkpoint,
      "invalid",
      `has ${ck.params.length} parameters, the config needs ${s.params.length}`,
    );
  restoreOptimiserAndRng(s, ck);
  s.step = ck.epoch;
}

/** Train by maximum likelihood into a run directory (refused runs write nothing). */
export async function runFit(
  opts: FitRunOptions,
): Promise<{ state: FitState; summary: FitRunSummary; paths: RunPaths }> {
  const { config } = opts;
  validateFitConfig(config);
  const spe = stepsPerEpoch(config);
  const evalPeriod = opts.evalPeriod ?? spe;
  if (!Number.isInteger(evalPeriod) || evalPeriod < 1)
    throw new RangeError(`eval-period = ${evalPeriod} is invalid: it must be an integer ≥ 1`);
  const log = opts.log ?? (() => {});
  const target: Target | null = config.target ? makeTarget(config.target) : null;
  if (target && target.nvars !== config.flow.L * config.flow.L)
    throw new RangeError(`the data's target has ${target.nvars} variables, the flow ${config.flow.L * config.flow.L}`);
  const state = createFit(config, opts.train, opts.test);
  if (opts.resume && opts.overwrite) throw new RangeError("resume and overwrite cannot be used together");
  // the device is opened before the run directory is touched: without one nothing is written
  const backend = opts.backend ?? "cpu";
  if (backend !== "cpu" && backend !== "webgpu")
    throw new RangeError(`backend = ${String(backend)} is invalid: accepted values are cpu, webgpu`);
  const unsupported = backend === "webgpu" ? webgpuUnsupported(config, 1) : null;
  if (unsupported !== null) throw new RangeError(unsupported);
  const gpu = backend === "webgpu" ? await openNodeWebGpu() : null;
  if (gpu) log(`WebGPU adapter: ${gpu.adapter}`);
  const setup = (paths: RunPaths): ReturnType<typeof openMetrics> => {
    if (opts.resume && existsSync(paths.checkpoint)) restore(paths, state);
    const metrics = openMetrics(paths.metrics, FIT_METRIC_COLUMNS, {
      truncateAfter: { column: "step", value: state.step },
    });
    writeJsonAtomic(paths.config, configJson(config));
    writeRunProvenance(paths, config.seed, configJson(config), gpu ? { backend: "webgpu", adapter: gpu.adapter } : {});
    return metrics;
  };
  const run = withRunDir(
    { dir: opts.dir, config: configJson(config), resume: opts.resume, overwrite: opts.overwrite },
    setup,
    async (paths, metrics) => {
      if (opts.resume) log(`resuming ${paths.dir} at step ${state.step} (epoch ${(state.step / spe).toFixed(2)})`);

      const N = state.model.nvars;
      const totalSteps = config.epochs * spe;
      const evalSeed = evaluationSeed(config.seed);
      const progress = createProgress({
        total: totalSteps,
        start: state.step,
        unit: "step",
        mode: opts.progress ?? "auto",
        fields: [
          { key: "train", label: "train NLL", format: sig(6) },
          { key: "test", label: "test NLL", format: sig(6) },
          { key: "bpd", label: "bits/dim", format: sig(4) },
        ],
      });
      const budget = timeBudget(opts.maxSeconds);
      const t0 = budget.t0;
      const times = new StepTimes();
      let window: number[] = [];
      let lastGrad = NaN;
      let lastSaved: number | null = existsSync(paths.checkpoint) ? state.step : null;
      let lastTest = NaN,
        lastBpd = NaN;
      let lastEval: { step: number; ev: TestNll } | null = null;
      const evaluate = (): void => {
        const ev = evaluateNll(state, opts.test, evalSeed, opts.evalSamples);
        lastEval = { step: state.step, ev };
        const u = nllUnits(ev.mean, N, config.preprocess);
        const tr = window.length > 0 ? meanStdErr(window) : { mean: NaN, stdErr: NaN };
        metrics.append({
          step: state.step,
          epoch: state.step / spe,
          train_nll: tr.mean,
          train_nll_stderr: tr.stdErr,
          test_nll: ev.mean,
          test_nll_stderr: ev.stdErr,
          test_nats_per_dim: u.natsPerDim,
          test_bits_per_dim: u.bitsPerDim,
          grad_norm: lastGrad,
          seconds: (performance.now() - t0) / 1000,
        });
        lastTest = ev.mean;
        lastBpd = u.bitsPerDim;
        window = [];
        saveState(paths, state);
        lastSaved = state.step;
      };
      if (state.step === 0 && !existsSync(paths.checkpoint)) evaluate(); // the untrained flow: the curve's first point
      const objective = gpu ? await createGpuFitObjective(gpu, state) : null;
      try {
        while (state.step < totalSteps) {
          let r;
          try {
            r = objective ? await fitStepAsync(state, objective) : fitStep(state);
          } catch (err) {
            if (err instanceof NonFiniteNllError) {
              const where =
                lastSaved !== null
                  ? `last good checkpoint: ${paths.checkpoint} (step ${lastSaved})`
                  : "no checkpoint was written yet";
              throw new RangeError(`${err.message}; ${where}`);
            }
            throw err;
          }
          times.push(r.seconds);
          for (const v of r.perSample) window.push(v);
          lastGrad = r.gradNorm;
          const timeUp = budget.up();
          if (state.step % evalPeriod === 0 || state.step === totalSteps || timeUp) evaluate();
          progress.update(state.step, { train: r.loss, test: lastTest, bpd: lastBpd });
          if (timeUp) {
            log(
              `time budget of ${opts.maxSeconds} s reached at step ${state.step} (epoch ${(state.step / spe).toFixed(2)})`,
            );
            break;
          }
        }
      } finally {
        progress.stop();
        await objective?.close();
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      if (!existsSync(paths.checkpoint)) saveState(paths, state);
      // the final evaluation is the whole test set at the last step: reuse the periodic one when it was exactly that
      const done = lastEval as { step: number; ev: TestNll } | null;
      const final =
        done !== null && done.step === state.step && done.ev.n === opts.test.n
          ? done.ev
          : evaluateNll(state, opts.test, evalSeed);
      const summary = await finish(paths, state, opts, target, trainSeconds, times, final);
      return { state, summary, paths };
    },
  );
  return gpu ? run.finally(() => gpu.destroy()) : run;
}

async function finish(
  paths: RunPaths,
  state: FitState,
  opts: FitRunOptions,
  target: Target | null,
  trainSeconds: number,
  times: StepTimes,
  ev: TestNll,
): Promise<FitRunSummary> {
  const { config, model } = state;
  const N = model.nvars;
  const u = nllUnits(ev.mean, N, config.preprocess);
  const summary: FitRunSummary = {
    steps: state.step,
    epochs: state.step / stepsPerEpoch(config),
    train_seconds: trainSeconds,
    seconds_per_step_median: times.median(),
    n_train: opts.train.n,
    n_test: ev.n,
    test_nll: ev.mean,
    test_nll_stderr: ev.stdErr,
    test_nats_per_dim: u.natsPerDim,
    test_bits_per_dim: u.bitsPerDim,
    units: unitsText(config.preprocess, N),
    seed: config.seed,
  };
  if (
    target &&
    config.preprocess.dequantize === "none" &&
    config.preprocess.logit === undefined &&
    target.exactNegLogZ !== undefined
  ) {
    // the data are draws from π: KL(π‖q) = E_π[ln π − ln q] paired on the test set; entropy H(π) = −E_π[ln π]
    const n = ev.n;
    const lp = new Float64Array(n);
    target.logProb(opts.test.values as Float64Array, n, lp);
    const kl = meanStdErr(Array.from(lp, (v, b) => v + (target.exactNegLogZ as number) + ev.perSample[b]));
    const H = meanStdErr(Array.from(lp, (v) => -v - (target.exactNegLogZ as number)));
    // reverse direction on fresh model samples: F = E_q[ln q − ln π] ≥ −ln Z
    const rng = Rng.fromSeed(evaluationSeed(config.seed + 1));
    const ns = Math.min(4096, Math.max(512, n));
    const Fs: number[] = [];
    for (let done = 0; done < ns; done += 256) {
      const b = Math.min(256, ns - done);
      const z = alloc(config.dtype, b * N);
      rng.fillNormal(z);
      for (const v of pddLoss(model, state.params, target, z, b, { symmetrize: config.symmetrize }).perSample)
        Fs.push(v);
    }
    const F = meanStdErr(Fs);
    Object.assign(summary, {
      forward_kl: kl.mean,
      forward_kl_stderr: kl.stdErr,
      data_entropy: H.mean,
      data_entropy_stderr: H.stdErr,
      F: F.mean,
      F_stderr: F.stdErr,
      exact: target.exactNegLogZ,
      rel_err: (F.mean - target.exactNegLogZ) / Math.abs(target.exactNegLogZ),
    });
  }
  Object.assign(summary, {
    config: configJson(config),
    ...(provenance() as unknown as JsonObject),
    ...wasmBuildRecord(),
  });
  writeJsonAtomic(`${paths.dir}/summary.json`, summary);
  if (opts.figures !== false) await writeFigures(paths, state, opts.figureSamples ?? 8);
  return summary;
}

/** NLL curve, samples, scale-resolved samples and collective variables (see the module comment). */
async function writeFigures(paths: RunPaths, state: FitState, count: number): Promise<string[]> {
  const { config, model } = state;
  const L = config.flow.L,
    N = model.nvars;
  const written: string[] = [];
  const table = readMetrics(paths.metrics);
  if (table.rows.length > 0) {
    const ep = table.rows.map((r) => r.epoch);
    const svg = await linePlot({
      series: [
        { name: "train", x: ep, y: table.rows.map((r) => r.train_nll) },
        { name: "test", x: ep, y: table.rows.map((r) => r.test_nll), yErr: table.rows.map((r) => r.test_nll_stderr) },
      ],
      title: `NLL −ln q(y) per configuration (${config.data.source}, L = ${L})`,
      xTitle: "epoch (passes over the training set)",
      yTitle: "NLL (nats per configuration)",
    });
    written.push(...writePlot(plotPath(paths, "nll", "svg").replace(/\.svg$/, ""), svg, { png: true }));
  }
  const images = config.preprocess.dequantize === "uniform";
  const show = (v: Float64Array): Float64Array => {
    const y = toDataSpace(v, config.preprocess);
    if (images) for (let i = 0; i < y.length; i++) y[i] = Math.min(1, Math.max(0, y[i]));
    return y;
  };
  const figOpts = images
    ? { display: show, scheme: "gray" as const, domain: [0, 1] as [number, number] }
    : { scheme: "diverging" as const };
  const rng = Rng.fromSeed(evaluationSeed(config.seed + 2));
  const many = 4 * count;
  const z = alloc(config.dtype, many * N);
  rng.fillNormal(z);
  const { x } = generate(model, state.params, z, many);
  const grid = heatmapGrid({
    images: Array.from({ length: many }, (_, b) => show(Float64Array.from(x.subarray(b * N, (b + 1) * N)))),
    L,
    cols: count,
    scheme: figOpts.scheme,
    domain: images ? [0, 1] : undefined,
    title: `Samples x = g(z), z ∼ N(0, 1) (step ${state.step})`,
  });
  written.push(...writePlot(plotPath(paths, "samples", "svg").replace(/\.svg$/, ""), grid, { png: true }));
  const zs = z.subarray(0, count * N) as typeof z;
  written.push(
    ...writePlot(
      plotPath(paths, "scales", "svg").replace(/\.svg$/, ""),
      scaleFigure(scaleResolvedSamples(model, state.params, zs, count), L, count, figOpts),
      { png: true },
    ),
  );
  if (model.layers.some((l) => l.role === "decimator")) {
    const cv = collectiveFromLatent(model, state.params, zs, count);
    written.push(
      ...writePlot(plotPath(paths, "collective", "svg").replace(/\.svg$/, ""), collectiveSampleFigure(cv, figOpts), {
        png: true,
      }),
    );
  }
  return written;
}
