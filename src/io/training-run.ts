/**
 * A training run on disk (SPEC §7: a run directory holds config, checkpoint, metrics, plots
 * and a summary, so every figure can be regenerated from it).
 *
 *   config.json      the TrainConfig (identity of the run; `epochs` may grow on resume)
 *   checkpoint.json  parameters, Adam state, RNG state, epoch (atomic, checksummed)
 *   metrics.csv      one row per epoch
 *   summary.json     final F ± error on fresh samples, exact −ln Z, relative error, timing,
 *                    seed, full config, package version and git commit
 *   plots/training.svg|png  F per epoch against the exact value
 *
 * Resuming restores model, optimiser, RNG and epoch; metrics beyond the checkpoint are dropped,
 * so a resumed run's metrics equal an uninterrupted run's with the same seed.
 */
import { existsSync } from "node:fs";
import type { Real } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import { createFlow } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import type { Target } from "../targets/target.ts";
import type { EpochMetrics, TrainConfig, TrainerState } from "../train/trainer.ts";
import { ParallelObjective } from "../train/parallel.ts";
import { createTrainer, evaluateF, restoreTrainer, trainEpoch, trainEpochParallel, validateTrainConfig } from "../train/trainer.ts";
import { writeJsonAtomic } from "./atomic.ts";
import { CheckpointError, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { JsonObject } from "./json.ts";
import { jsonDiff } from "./json.ts";
import { openMetrics, readMetrics } from "./metrics.ts";
import { trainingCurvePlot, writePlot } from "./plot.ts";
import type { ProgressMode } from "./progress.ts";
import { createProgress, exp, sig } from "./progress.ts";
import { provenance } from "./provenance.ts";
import type { RunPaths } from "./rundir.ts";
import { acquireRunLock, openRunDir, plotPath, readRunConfig, runPaths, RunDirError } from "./rundir.ts";

export const METRIC_COLUMNS = ["epoch", "F", "F_stderr", "exact", "rel_err", "grad_norm", "seconds"] as const;

export interface TrainRunOptions {
  dir: string;
  config: TrainConfig;
  /** continue the run in `dir` from its checkpoint */
  resume?: boolean;
  /** delete a previous run's results in `dir` */
  overwrite?: boolean;
  /** epochs between checkpoints (and always at the end) */
  savePeriod: number;
  /** samples for the final evaluation of F (default 4 × batch) */
  evalSamples?: number;
  progress?: ProgressMode;
  /** one-line messages for the user */
  log?: (line: string) => void;
  /** called after each epoch */
  onEpoch?: (m: EpochMetrics) => void;
  /** stop (with a checkpoint) once this much wall time has passed, even before `epochs` */
  maxSeconds?: number;
  /** worker threads for the loss and gradient (1 = in this thread); results agree up to rounding */
  workers?: number;
  /**
   * polled after each epoch: true stops training there, with a checkpoint (like maxSeconds).
   * (A callback rather than an AbortSignal: the epoch loop is synchronous, so a signal aborted
   * by an event could never be seen; a callback can read e.g. shared memory set by another thread.)
   */
  shouldStop?: () => boolean;
}

export interface TrainRunSummary extends JsonObject {
  epochs: number;
  F: number;
  F_stderr: number;
  eval_samples: number;
  exact: number | null;
  rel_err: number | null;
  /** F below the exact value by more than 3 standard errors: a bug, never a success */
  bound_violated: boolean;
  seconds_per_epoch_median: number;
  seed: number;
}

function configJson(c: TrainConfig): JsonObject {
  return JSON.parse(JSON.stringify(c)) as JsonObject;
}

function saveState(paths: RunPaths, state: TrainerState): void {
  saveCheckpoint(paths.checkpoint, {
    epoch: state.epoch,
    config: configJson(state.config),
    params: state.params,
    optimiser: { step: state.adam.step, m: state.adam.m, v: state.adam.v },
    rng: state.rng.state(),
  });
}

/** Differences between a stored and a requested config that forbid resuming (epochs may change). */
function resumeConflicts(stored: JsonObject, requested: TrainConfig): string[] {
  const a = { ...stored, epochs: 0 };
  const b = { ...configJson(requested), epochs: 0 };
  return jsonDiff(a, b);
}

function restoreFromCheckpoint(paths: RunPaths, config: TrainConfig, target: Target): TrainerState {
  const ck = loadCheckpoint(paths.checkpoint);
  const conflicts = resumeConflicts(ck.config, config);
  if (conflicts.length > 0) {
    throw new RunDirError(`cannot resume ${paths.dir}: the checkpoint was made with a different config (${conflicts.slice(0, 5).join(", ")})`);
  }
  return restoreTrainer(config, target, {
    params: ck.params,
    adam: { step: ck.optimiser.step, m: Float64Array.from(ck.optimiser.m), v: Float64Array.from(ck.optimiser.v) },
    rng: ck.rng,
    epoch: ck.epoch,
  });
}

/** Train (or continue training) into a run directory. */
export async function runTraining(opts: TrainRunOptions): Promise<{ state: TrainerState; summary: TrainRunSummary; paths: RunPaths }> {
  const { config } = opts;
  validateTrainConfig(config);
  if (!Number.isInteger(opts.savePeriod) || opts.savePeriod < 1) {
    throw new RangeError(`save-period = ${opts.savePeriod} is invalid: it must be an integer ≥ 1`);
  }
  const log = opts.log ?? (() => {});
  const target = makeTarget(config.target);
  if (target.L !== config.flow.L) throw new RangeError(`target L = ${target.L} differs from flow L = ${config.flow.L}`);

  // Validate a resume before touching anything on disk.
  const paths0 = runPaths(opts.dir);
  if (opts.resume) {
    if (!existsSync(paths0.config)) throw new RunDirError(`cannot resume: ${paths0.dir} holds no run (no config.json)`);
    const conflicts = resumeConflicts(readRunConfig(paths0), config);
    if (conflicts.length > 0) {
      throw new RunDirError(`cannot resume ${paths0.dir}: its config differs in ${conflicts.slice(0, 5).join(", ")}`);
    }
  }
  const opened = openRunDir(opts.dir, configJson(config), opts.resume ? "resume" : opts.overwrite ? "overwrite" : "new");
  const paths = opened.paths;
  const lock = acquireRunLock(paths.dir);
  try {
    let state: TrainerState;
    if (opts.resume && existsSync(paths.checkpoint)) {
      state = restoreFromCheckpoint(paths, config, target);
      log(`resuming ${paths.dir} at epoch ${state.epoch}`);
    } else {
      state = createTrainer(config, target);
    }
    if (opts.resume) writeJsonAtomic(paths.config, configJson(config));
    writeJsonAtomic(`${paths.dir}/provenance.json`, { ...provenance(), seed: config.seed, config: configJson(config) } as unknown as JsonObject);
    const metrics = openMetrics(paths.metrics, METRIC_COLUMNS, { truncateAfter: { column: "epoch", value: state.epoch } });

    const exact = target.exactNegLogZ;
    const progress = createProgress({
      total: config.epochs,
      start: state.epoch,
      mode: opts.progress ?? "auto",
      fields: [
        { key: "F", format: sig(8) },
        { key: "err", label: "±", format: sig(2) },
        ...(exact !== undefined ? [{ key: "exact", format: sig(8) }, { key: "rel", label: "rel.err", format: exp(2) }] : []),
      ],
    });
    const started = performance.now();
    const times: number[] = [];
    const pool = (opts.workers ?? 1) > 1 ? await ParallelObjective.create(config, opts.workers ?? 1) : null;
    try {
      while (state.epoch < config.epochs) {
        const m = pool ? await trainEpochParallel(state, pool) : trainEpoch(state);
        times.push(m.seconds);
        metrics.append({ epoch: m.epoch, F: m.F, F_stderr: m.FstdErr, exact: m.exact, rel_err: m.relErr, grad_norm: m.gradNorm, seconds: m.seconds });
        progress.update(m.epoch, { F: m.F, err: m.FstdErr, exact: m.exact, rel: m.relErr });
        opts.onEpoch?.(m);
        const timeUp = opts.maxSeconds !== undefined && (performance.now() - started) / 1000 >= opts.maxSeconds;
        const stop = timeUp || opts.shouldStop?.() === true;
        if (m.epoch % opts.savePeriod === 0 || m.epoch === config.epochs || stop) saveState(paths, state);
        if (stop) {
          log(timeUp ? `time budget of ${opts.maxSeconds} s reached at epoch ${m.epoch}` : `stopped at epoch ${m.epoch}`);
          break;
        }
      }
    } finally {
      progress.stop();
      await pool?.close();
    }
    if (!existsSync(paths.checkpoint)) saveState(paths, state);

    const summary = await finishRun(paths, state, opts.evalSamples ?? 4 * config.batch, times);
    return { state, summary, paths };
  } finally {
    lock.release();
  }
}

async function finishRun(paths: RunPaths, state: TrainerState, evalSamples: number, times: number[]): Promise<TrainRunSummary> {
  const exact = state.target.exactNegLogZ;
  // Fresh samples, a generator derived from the seed and the epoch: reproducible, independent of training.
  const ev = evaluateF(state, evalSamples, (state.config.seed * 7919 + state.epoch) >>> 0);
  const sorted = [...times].sort((a, b) => a - b);
  const summary: TrainRunSummary = {
    epochs: state.epoch,
    F: ev.F,
    F_stderr: ev.stdErr,
    eval_samples: ev.n,
    exact: exact ?? null,
    rel_err: exact !== undefined ? (ev.F - exact) / Math.abs(exact) : null,
    bound_violated: exact !== undefined && ev.F < exact - 3 * ev.stdErr,
    seconds_per_epoch_median: sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN,
    seed: state.config.seed,
    config: configJson(state.config),
    ...(provenance() as unknown as JsonObject),
  };
  writeJsonAtomic(`${paths.dir}/summary.json`, summary);
  const table = readMetrics(paths.metrics);
  if (table.rows.length > 0) {
    const svg = await trainingCurvePlot({
      epochs: table.rows.map((r) => r.epoch),
      F: table.rows.map((r) => r.F),
      Ferr: table.rows.map((r) => r.F_stderr),
      exact,
      title: `${String(state.config.target.kind)} L=${state.config.flow.L} ${state.config.target.T !== undefined ? `T=${state.config.target.T}` : ""}`,
    });
    writePlot(plotPath(paths, "training", "svg").replace(/\.svg$/, ""), svg, { png: true });
  }
  return summary;
}

/** A trained run loaded for sampling and analysis. */
export interface TrainedRun {
  dir: string;
  paths: RunPaths;
  config: TrainConfig;
  model: FlowModel;
  target: Target;
  params: Real;
  epoch: number;
}

/** Load the trained flow and its target from a run directory (clear errors if missing/corrupt). */
export function loadTrainedRun(dir: string): TrainedRun {
  const paths = runPaths(dir);
  if (!existsSync(paths.dir)) throw new RunDirError(`run directory ${paths.dir} does not exist`);
  if (!existsSync(paths.checkpoint)) throw new CheckpointError(paths.checkpoint, "missing", `run directory ${paths.dir} has no checkpoint.json (train first)`);
  const ck = loadCheckpoint(paths.checkpoint);
  const config = ck.config as unknown as TrainConfig;
  try {
    validateTrainConfig(config);
  } catch (err) {
    throw new RunDirError(`checkpoint ${paths.checkpoint} holds an invalid config: ${(err as Error).message}`);
  }
  const model = createFlow(config.flow, config.kernel ?? "js");
  if (ck.params.length !== model.nparams) {
    throw new RunDirError(`checkpoint ${paths.checkpoint} has ${ck.params.length} parameters, its config needs ${model.nparams}`);
  }
  return { dir: paths.dir, paths, config, model, target: makeTarget(config.target), params: ck.params, epoch: ck.epoch };
}
