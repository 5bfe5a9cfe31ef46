/**
 * A training run on disk (a run directory holds config, checkpoint, metrics, plots
 * and a summary, so every figure can be regenerated from it).
 *
 *   config.json      the TrainConfig (identity of the run; `epochs` may grow on resume)
 *   checkpoint.json  parameters, Adam state, RNG state, epoch (atomic, checksummed); with the
 *                    experience buffer (train/buffer.ts) also its rows, the MIS chains and
 *                    the replay generator (arrays replay_*, extra.replay)
 *   metrics.csv      one row per epoch (with the buffer: + mis_acceptance, buffer_fill, nll)
 *   summary.json     final F ± error on fresh samples, exact −ln Z, relative error, timing,
 *                    seed, full config, package version and git commit
 *   plots/training.svg|png  F per epoch against the exact value
 *   plots/buffer.svg|png    with the buffer: MIS acceptance and buffer fill per epoch (v1 Fig. 3b)
 *
 * Resuming restores model, optimiser, RNG and epoch; metrics beyond the checkpoint are dropped,
 * so a resumed run's metrics equal an uninterrupted run's with the same seed.
 */
import { existsSync, mkdirSync } from "node:fs";
import { totalmem } from "node:os";
import { BYTES_PER_NUMBER, type Real } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import { createFlow } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import type { Target } from "../targets/target.ts";
import type { EpochMetrics, TrainConfig, TrainerState } from "./trainer.ts";
import { ParallelObjective } from "./parallel.ts";
import { createGpuTrainObjective, openNodeWebGpu, webgpuUnsupported } from "../gpu/node.ts";
import { Rng } from "../engine/rng.ts";
import { checkObjectiveOptions } from "./objectives.ts";
import { estimateEpochBytes, GC_SLACK_BYTES, PROCESS_BASE_BYTES } from "./memory.ts";
import type { ReplayState } from "./buffer.ts";
import { restoreReplay, saveReplay } from "./buffer.ts";
import type { PreparedEpoch } from "./trainer.ts";
import {
  NonFiniteLossError,
  createTrainer,
  evaluateF,
  objectiveOptions,
  prepareEpoch,
  prepareEpochParallel,
  preparedNonFinite,
  restoreTrainer,
  trainEpoch,
  trainEpochParallel,
  validateTrainConfig,
} from "./trainer.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { CheckpointError, loadCheckpoint, saveCheckpoint } from "../io/checkpoint.ts";
import type { JsonObject } from "../io/json.ts";
import { openMetrics, readMetrics, truncateMetrics } from "../io/metrics.ts";
import { linePlot, metricsCurve, trainingCurvePlot, writePlot } from "../present/plot.ts";
import type { ProgressMode } from "../present/progress.ts";
import { createProgress, exp, sig } from "../present/progress.ts";
import { provenance } from "../io/provenance.ts";
import { wasmBuildRecord } from "../kernels/wasm.ts";
import {
  adamState,
  configJson,
  optimiserState,
  restoreOptimiserAndRng,
  StepTimes,
  timeBudget,
  writeRunProvenance,
} from "./run-loop.ts";
import type { RunPaths } from "../io/rundir.ts";
import { annealEpochs } from "./anneal.ts";
import { loadResumableCheckpoint, withRunDir } from "../io/run-session.ts";
import { plotPath, runPaths, RunDirError } from "../io/rundir.ts";

export const METRIC_COLUMNS = ["epoch", "F", "F_stderr", "exact", "rel_err", "grad_norm", "seconds"] as const;
/**
 * Extra columns of runs with the experience buffer (v1 Fig. 3b): MIS acceptance of the epoch's
 * batch (NaN in the first epoch), rows in the buffer, NLL of the buffer minibatch (NaN when λ = 0).
 */
export const BUFFER_METRIC_COLUMNS = ["mis_acceptance", "buffer_fill", "nll"] as const;

/**
 * Extra column of runs with β annealing (anneal.ts): β'/β of the epoch's target (1 after the
 * annealing phase); F, exact and rel_err of an annealed epoch belong to that target.
 */
export const ANNEAL_METRIC_COLUMNS = ["beta_factor"] as const;

/** The metrics.csv columns of a run with this config. */
export function metricColumns(c: TrainConfig): readonly string[] {
  return [...METRIC_COLUMNS, ...(c.buffer ? BUFFER_METRIC_COLUMNS : []), ...(c.anneal ? ANNEAL_METRIC_COLUMNS : [])];
}

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
   * where the loss and gradient are computed: "cpu" (default; the config's kernel) or "webgpu"
   * (the WGSL kernel through the optional `webgpu` package, float32; gpu/node.ts)
   */
  backend?: "cpu" | "webgpu";
  /**
   * polled after each epoch: true stops training there, with a checkpoint (like maxSeconds).
   * (A callback rather than an AbortSignal: the epoch loop is synchronous, so a signal aborted
   * by an event could never be seen; a callback can read e.g. shared memory set by another thread.)
   */
  shouldStop?: () => boolean;
  /**
   * what a non-finite loss or gradient does (numerical guard): "stop" (default) ends training
   * with TrainingDivergedError naming the epoch and the last good checkpoint; "rollback" reloads
   * the last checkpoint, halves the learning rate and continues (at most `maxRollbacks` times)
   */
  onNan?: OnNan;
  /** most rollbacks of one run before giving up (default 10, i.e. lr down to lr/1024) */
  maxRollbacks?: number;
}

export type OnNan = "stop" | "rollback";
export const ON_NAN_MODES: readonly OnNan[] = ["stop", "rollback"];

/**
 * Training produced a non-finite loss or gradient and was stopped (exit status 1 in the CLI:
 * a failure of the run, not of the input). The message is one line naming the epoch and the
 * last good checkpoint.
 */
export class TrainingDivergedError extends Error {
  override readonly name = "TrainingDivergedError";
  constructor(
    message: string,
    readonly epoch: number,
    /** epoch of the last good checkpoint on disk, or null when none was written */
    readonly checkpointEpoch: number | null,
  ) {
    super(message);
  }
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
  /** learning rate in effect at the end (config.lr, lowered by --on-nan rollback) */
  lr_final: number;
  /** rollbacks after a non-finite loss (--on-nan rollback) */
  nan_rollbacks: number;
}

/** Numerical-guard state kept in the checkpoint's extras (absent until the first rollback). */
interface GuardState {
  lrScale: number;
  rollbacks: number;
}

function saveState(paths: RunPaths, state: TrainerState, guard: GuardState): void {
  const replay = state.replay ? saveReplay(state.replay) : undefined;
  const extra: JsonObject = {
    ...(guard.rollbacks > 0 ? { lrScale: guard.lrScale, rollbacks: guard.rollbacks } : {}),
    ...(replay ? { replay: replay.extra as unknown as JsonObject } : {}),
  };
  saveCheckpoint(paths.checkpoint, {
    epoch: state.epoch,
    config: configJson(state.config),
    params: state.params,
    optimiser: optimiserState(state.adam),
    rng: state.rng.state(),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
    ...(replay ? { arrays: replay.arrays } : {}),
  });
}

/**
 * Load the checkpoint for resuming or rolling back, refusing one that is well-formed but unusable
 * (different config, wrong sizes, non-finite numbers, a degenerate RNG state).
 */
function loadUsableCheckpoint(
  paths: RunPaths,
  config: TrainConfig,
): { ck: ReturnType<typeof loadCheckpoint>; guard: GuardState; replay?: ReplayState } {
  const ck = loadResumableCheckpoint(paths, configJson(config));
  const bad = (detail: string): CheckpointError => new CheckpointError(paths.checkpoint, "invalid", detail);
  let guard: GuardState = { lrScale: 1, rollbacks: 0 };
  const ex = ck.extra;
  if (ex !== undefined && (ex.lrScale !== undefined || ex.rollbacks !== undefined)) {
    const { lrScale, rollbacks } = ex;
    if (
      typeof lrScale !== "number" ||
      !(lrScale > 0 && lrScale <= 1) ||
      typeof rollbacks !== "number" ||
      !Number.isInteger(rollbacks) ||
      rollbacks < 0
    ) {
      throw bad(`holds invalid numerical-guard extras ${JSON.stringify({ lrScale, rollbacks })}`);
    }
    guard = { lrScale, rollbacks };
  }
  if (!config.buffer) return { ck, guard };
  const N = config.flow.L * config.flow.L;
  try {
    return { ck, guard, replay: restoreReplay(config.buffer, config.batch, N, config.dtype, ck.arrays, ex?.replay) };
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function restoreFromCheckpoint(
  paths: RunPaths,
  config: TrainConfig,
  target: Target,
): { state: TrainerState; guard: GuardState } {
  const { ck, guard, replay } = loadUsableCheckpoint(paths, config);
  const state = restoreTrainer(config, target, {
    params: ck.params,
    adam: adamState(ck.optimiser),
    rng: ck.rng,
    epoch: ck.epoch,
    replay,
  });
  state.lrScale = guard.lrScale;
  return { state, guard };
}

/**
 * Estimated peak memory of a training process (an upper bound of every peak RSS measured by
 * bench/memory.ts): the fixed cost of the process and the garbage collector's slack plus one
 * epoch's working set (train/memory.ts), times 1 + 0.75·workers with worker threads: each thread
 * is a separate heap that collects its shard's garbage on its own schedule, so measured peaks at
 * L = 64 were 2–2.6 times one thread's working set with 2 workers.
 */
export function estimateTrainingBytes(config: TrainConfig, workers = 1): number {
  const passes = config.symmetrize || (config.symmetryWeight ?? 0) > 0 ? 2 : 1;
  const epoch = estimateEpochBytes({ ...config.flow, batch: config.batch, dtype: config.dtype, passes });
  // experience buffer (buffer.ts): its rows and chains, plus the NLL passes on its minibatch (taped like PDD passes)
  const b = config.buffer;
  const N = config.flow.L * config.flow.L;
  const replay = b
    ? (b.size + 3 * config.batch) * N * BYTES_PER_NUMBER[config.dtype] +
      (b.nllWeight > 0 ? estimateEpochBytes({ ...config.flow, batch: b.batch, dtype: config.dtype, passes }) : 0)
    : 0;
  return PROCESS_BASE_BYTES + GC_SLACK_BYTES + epoch * (workers > 1 ? 1 + 0.75 * workers : 1) + replay;
}

/** Memory this process may use: physical memory, or a smaller cgroup limit. */
function availableMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = totalmem();
  return constrained !== undefined && constrained > 0 ? Math.min(total, constrained) : total;
}

function gb(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GB`;
}

/** Refuse a configuration whose epoch cannot fit in memory (RangeError: a usage error). */
function checkMemory(config: TrainConfig, workers: number): void {
  const N = config.flow.L * config.flow.L;
  const need = estimateTrainingBytes({ ...config, batch: Math.max(config.batch, config.batchFinal ?? 0) }, workers);
  const have = availableMemory();
  if (config.batch * N > 2 ** 31 || need > 0.8 * have) {
    throw new RangeError(
      `batch = ${config.batch} at L = ${config.flow.L} needs about ${gb(need)} of memory, more than this machine can give (${gb(have)}); lower --batch or --L`,
    );
  }
}

/** Build the target, reporting any failure (e.g. an exact solution that underflows) as a RangeError. */
function buildTarget(config: TrainConfig): Target {
  try {
    return makeTarget(config.target);
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw new RangeError(
      `the target ${JSON.stringify(config.target)} cannot be built: ${(err as Error).message.split("\n")[0]}`,
    );
  }
}

/**
 * Train (or continue training) into a run directory.
 *
 * Everything that can be refused (config, target, memory, an unusable --resume or run
 * directory, a locked directory) is checked before the first byte is written, so a refused
 * run leaves no partial output; a directory this call created is removed again. The lock is
 * taken before the directory's contents are touched (so `overwrite` cannot delete a running
 * run's files). Checkpoints are written only for parameters whose loss on the next batch is
 * finite, so the last checkpoint is always a good state to roll back to (`onNan`).
 */
export async function runTraining(
  opts: TrainRunOptions,
): Promise<{ state: TrainerState; summary: TrainRunSummary; paths: RunPaths }> {
  const { config } = opts;
  validateTrainConfig(config);
  if (!Number.isInteger(opts.savePeriod) || opts.savePeriod < 1) {
    throw new RangeError(`save-period = ${opts.savePeriod} is invalid: it must be an integer ≥ 1`);
  }
  const onNan = opts.onNan ?? "stop";
  if (!ON_NAN_MODES.includes(onNan))
    throw new RangeError(`on-nan = ${String(onNan)} is invalid: accepted values are ${ON_NAN_MODES.join(", ")}`);
  const maxRollbacks = opts.maxRollbacks ?? 10;
  if (!Number.isInteger(maxRollbacks) || maxRollbacks < 0)
    throw new RangeError(`max-rollbacks = ${maxRollbacks} is invalid: it must be an integer ≥ 0`);
  const log = opts.log ?? (() => {});
  checkMemory(config, Number.isInteger(opts.workers) ? Math.max(1, opts.workers ?? 1) : 1);
  if (config.buffer && (opts.workers ?? 1) > 1) {
    throw new RangeError(
      `workers = ${opts.workers} cannot be combined with the experience buffer (--buffer-size / --nll-weight): it runs in one thread only (use --workers 1)`,
    );
  }
  const target = buildTarget(config);
  if (target.L !== config.flow.L) throw new RangeError(`target L = ${target.L} differs from flow L = ${config.flow.L}`);
  checkObjectiveOptions(objectiveOptions(config), target);
  // the device is opened before the run directory is touched: without one nothing is written
  const backend = opts.backend ?? "cpu";
  if (backend !== "cpu" && backend !== "webgpu")
    throw new RangeError(`backend = ${String(backend)} is invalid: accepted values are cpu, webgpu`);
  const unsupported = backend === "webgpu" ? webgpuUnsupported(config, opts.workers ?? 1) : null;
  if (unsupported !== null) throw new RangeError(unsupported);
  const gpu = backend === "webgpu" ? await openNodeWebGpu() : null;
  if (gpu) log(`WebGPU adapter: ${gpu.adapter}`);

  const setup = (
    paths: RunPaths,
  ): { state: TrainerState; guard: GuardState; metrics: ReturnType<typeof openMetrics> } => {
    let state: TrainerState;
    let guard: GuardState = { lrScale: 1, rollbacks: 0 };
    if (opts.resume && existsSync(paths.checkpoint)) {
      ({ state, guard } = restoreFromCheckpoint(paths, config, target));
    } else {
      state = createTrainer(config, target);
    }
    // metrics beyond the checkpoint (and a partial last line left by a crash) are dropped
    const metrics = openMetrics(paths.metrics, metricColumns(config), {
      truncateAfter: { column: "epoch", value: state.epoch },
    });
    if (opts.resume) writeJsonAtomic(paths.config, configJson(config));
    writeRunProvenance(paths, config.seed, configJson(config), gpu ? { backend: "webgpu", adapter: gpu.adapter } : {});
    return { state, guard, metrics };
  };
  const run = withRunDir(
    { dir: opts.dir, config: configJson(config), resume: opts.resume, overwrite: opts.overwrite },
    setup,
    async (paths, started) => {
      const { state, metrics } = started;
      let { guard } = started;
      let lastSaved: number | null = existsSync(paths.checkpoint) ? state.epoch : null;
      if (opts.resume)
        log(
          lastSaved !== null
            ? `resuming ${paths.dir} at epoch ${state.epoch}`
            : `resuming ${paths.dir}: no checkpoint yet, starting at epoch 0`,
        );

      const exact = target.exactNegLogZ;
      const progress = createProgress({
        total: config.epochs,
        start: state.epoch,
        mode: opts.progress ?? "auto",
        fields: [
          { key: "F", format: sig(8) },
          { key: "err", label: "±", format: sig(2) },
          ...(exact !== undefined
            ? [
                { key: "exact", format: sig(8) },
                { key: "rel", label: "rel.err", format: exp(2) },
              ]
            : []),
        ],
      });
      const budget = timeBudget(opts.maxSeconds);
      const times = new StepTimes();

      /** A non-finite loss/gradient at `epoch`: stop with a clear error, or roll back (see onNan). */
      const nonFinite = (epoch: number, what: string): void => {
        const where =
          lastSaved !== null
            ? `last good checkpoint: ${paths.checkpoint} (epoch ${lastSaved})`
            : "no checkpoint was written yet";
        const back = lastSaved ?? 0;
        const fail = (why: string): never => {
          throw new TrainingDivergedError(
            `training diverged at epoch ${epoch}: ${what} is not finite${why}; ${where}`,
            epoch,
            lastSaved,
          );
        };
        if (onNan === "stop")
          fail(" (use --on-nan rollback to roll back to the last checkpoint with a halved learning rate)");
        if (epoch <= back + 1)
          fail(` at the parameters it would roll back to (epoch ${back}), so a lower learning rate cannot help`);
        if (guard.rollbacks >= maxRollbacks)
          fail(` after ${guard.rollbacks} rollbacks (learning rate down to ${sig(3)(config.lr * guard.lrScale)})`);
        if (lastSaved !== null) {
          const { ck, replay } = loadUsableCheckpoint(paths, config);
          if (replay) state.replay = replay;
          restoreOptimiserAndRng(state, ck);
          state.epoch = ck.epoch;
        } else {
          const fresh = createTrainer(config, target);
          state.params.set(fresh.params);
          state.adam = fresh.adam;
          state.rng = fresh.rng;
          state.replay = fresh.replay;
          state.epoch = 0;
        }
        guard = { lrScale: guard.lrScale / 2, rollbacks: guard.rollbacks + 1 };
        state.lrScale = guard.lrScale;
        truncateMetrics(paths.metrics, { column: "epoch", value: state.epoch });
        saveState(paths, state, guard);
        lastSaved = state.epoch;
        log(
          `epoch ${epoch}: ${what} is not finite; rolled back to epoch ${state.epoch} and halved the learning rate to ${sig(3)(config.lr * guard.lrScale)} (rollback ${guard.rollbacks} of at most ${maxRollbacks})`,
        );
      };

      // workers load in the background (≈ 0.5 s each) while the first epochs run in this thread
      const pool = gpu
        ? await createGpuTrainObjective(gpu, state)
        : (opts.workers ?? 1) > 1
          ? await ParallelObjective.create(config, opts.workers ?? 1, { background: true })
          : null;
      // the next epoch's loss and gradient, computed ahead to check a checkpoint (see PreparedEpoch)
      let ahead: PreparedEpoch | undefined;
      try {
        while (state.epoch < config.epochs) {
          let m: EpochMetrics;
          try {
            m = pool ? await trainEpochParallel(state, pool, ahead) : trainEpoch(state, ahead);
          } catch (err) {
            if (!(err instanceof NonFiniteLossError)) throw err;
            ahead = undefined;
            nonFinite(err.epoch, err.what);
            continue;
          }
          ahead = undefined;
          times.push(m.seconds);
          metrics.append({
            epoch: m.epoch,
            F: m.F,
            F_stderr: m.FstdErr,
            exact: m.exact,
            rel_err: m.relErr,
            grad_norm: m.gradNorm,
            seconds: m.seconds,
            ...(config.buffer
              ? { mis_acceptance: m.acceptance ?? NaN, buffer_fill: m.bufferFill ?? NaN, nll: m.nll ?? NaN }
              : {}),
            ...(config.anneal ? { beta_factor: m.betaFactor ?? 1 } : {}),
          });
          progress.update(m.epoch, { F: m.F, err: m.FstdErr, exact: m.exact, rel: m.relErr });
          opts.onEpoch?.(m);
          const timeUp = budget.up();
          const stop = timeUp || opts.shouldStop?.() === true;
          if (m.epoch % opts.savePeriod === 0 || m.epoch === config.epochs || stop) {
            // only parameters whose next epoch is finite are checkpointed; that epoch is then reused
            const next = pool ? await prepareEpochParallel(state, pool) : prepareEpoch(state);
            const bad = preparedNonFinite(next);
            if (bad !== null) {
              nonFinite(m.epoch + 1, `${bad} (checked before writing the checkpoint of epoch ${m.epoch})`);
              if (!stop) continue;
            } else {
              ahead = next;
            }
            saveState(paths, state, guard);
            lastSaved = state.epoch;
          }
          if (stop) {
            log(
              timeUp
                ? `time budget of ${opts.maxSeconds} s reached at epoch ${state.epoch}`
                : `stopped at epoch ${state.epoch}`,
            );
            break;
          }
        }
      } finally {
        progress.stop();
        await pool?.close();
      }
      if (!existsSync(paths.checkpoint)) saveState(paths, state, guard);

      const summary = await finishRun(paths, state, opts.evalSamples ?? 4 * config.batch, times, guard);
      return { state, summary, paths };
    },
  );
  return gpu ? run.finally(() => gpu.destroy()) : run;
}

async function finishRun(
  paths: RunPaths,
  state: TrainerState,
  evalSamples: number,
  times: StepTimes,
  guard: GuardState,
): Promise<TrainRunSummary> {
  const exact = state.target.exactNegLogZ;
  // Fresh samples, a generator derived from the seed and the epoch: reproducible, independent of training.
  const ev = evaluateF(state, evalSamples, (state.config.seed * 7919 + state.epoch) >>> 0);
  const summary: TrainRunSummary = {
    epochs: state.epoch,
    F: ev.F,
    F_stderr: ev.stdErr,
    eval_samples: ev.n,
    exact: exact ?? null,
    rel_err: exact !== undefined ? (ev.F - exact) / Math.abs(exact) : null,
    bound_violated: exact !== undefined && ev.F < exact - 3 * ev.stdErr,
    seconds_per_epoch_median: times.median(),
    seed: state.config.seed,
    lr_final: state.config.lr * guard.lrScale,
    nan_rollbacks: guard.rollbacks,
    config: configJson(state.config),
    ...(provenance() as unknown as JsonObject),
    ...wasmBuildRecord(),
  };
  const table = readMetrics(paths.metrics);
  const b = state.config.buffer;
  if (b && state.replay) {
    // v1 Fig. 3b: mean MIS acceptance over the last (up to) 100 epochs of training
    const acc = table.rows
      .slice(-100)
      .map((r) => r.mis_acceptance)
      .filter((v) => Number.isFinite(v));
    summary.buffer = {
      size: b.size,
      batch: b.batch,
      nll_weight: b.nllWeight,
      fill: state.replay.buffer.fill,
      mis_acceptance_last100: acc.length > 0 ? acc.reduce((x, y) => x + y, 0) / acc.length : null,
    };
  }
  writeJsonAtomic(`${paths.dir}/summary.json`, summary);
  if (table.rows.length > 0) {
    const svg = await trainingCurvePlot({
      ...metricsCurve(table.rows),
      exact,
      title: `${String(state.config.target.kind)} L=${state.config.flow.L} ${state.config.target.T !== undefined ? `T=${state.config.target.T}` : ""}${annealNote(state.config)}`,
    });
    writePlot(plotPath(paths, "training", "svg").replace(/\.svg$/, ""), svg, { png: true });
  }
  if (b && table.rows.length > 0) {
    const epochs = table.rows.map((r) => r.epoch);
    const svg = await linePlot({
      series: [
        { name: "MIS acceptance", x: epochs, y: table.rows.map((r) => r.mis_acceptance) },
        { name: `buffer fill / ${b.size}`, x: epochs, y: table.rows.map((r) => r.buffer_fill / b.size) },
      ],
      title: `experience buffer (v1 Fig. 3b), nll-weight ${b.nllWeight}`,
      xTitle: "epoch",
      yTitle: "fraction",
    });
    writePlot(plotPath(paths, "buffer", "svg").replace(/\.svg$/, ""), svg);
  }
  return summary;
}

/** Plot-title note of an annealed run: before that epoch F belongs to a hotter target. */
function annealNote(c: TrainConfig): string {
  return c.anneal ? ` (β annealed until epoch ${annealEpochs(c.anneal, c.epochs)})` : "";
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
  if (!existsSync(paths.checkpoint))
    throw new CheckpointError(
      paths.checkpoint,
      "missing",
      `run directory ${paths.dir} has no checkpoint.json (train first)`,
    );
  const ck = loadCheckpoint(paths.checkpoint);
  const config = ck.config as unknown as TrainConfig;
  try {
    validateTrainConfig(config);
  } catch (err) {
    throw new RunDirError(`checkpoint ${paths.checkpoint} holds an invalid config: ${(err as Error).message}`);
  }
  const model = createFlow(config.flow, config.kernel);
  if (ck.params.length !== model.nparams) {
    throw new RunDirError(
      `checkpoint ${paths.checkpoint} has ${ck.params.length} parameters, its config needs ${model.nparams}`,
    );
  }
  const target = makeTarget(config.target);
  // samplers and analyses write here; a run copied from the browser playground may lack them
  mkdirSync(paths.samples, { recursive: true });
  mkdirSync(paths.plots, { recursive: true });
  return { dir: paths.dir, paths, config, model, target, params: ck.params, epoch: ck.epoch };
}
