/**
 * Training: probability density distillation (Eq. 3–5) with the Z2-symmetrised model
 * (Eq. S4) or the symmetry regulariser (App. E), the v1 combined algorithm (PDD + λ·NLL on an
 * experience buffer of MIS-accepted samples: `TrainConfig.buffer`), Adam, training runs on disk,
 * and maximum-likelihood training on data (forward KL, `neuralrg fit`: {@link runFit}).
 *
 * Two levels:
 * - {@link runTraining} trains into a run directory (config, checkpoints, metrics, summary,
 *   plots) from a serialisable {@link TrainConfig}; its `target` is a config understood by
 *   `targets.makeTarget` (built-in kinds, or `{ kind: "user", module }` for a module file).
 *   {@link trainConfig} fills in the defaults of the original code.
 * - {@link createTrainer} + {@link trainEpoch} train in memory against any `Target` object,
 *   including one defined in code with `targets.userTarget(...)`.
 *
 * @example
 * ```ts
 * import { train } from "neuralrg";
 * const config = train.trainConfig({ kind: "phi4", L: 8, kappa: 0.27, lambda: 0.02 }, { epochs: 200, batch: 256 });
 * const { summary } = await train.runTraining({ dir: "runs/phi4", config, savePeriod: 50, progress: "off" });
 * console.log(summary.F, "±", summary.F_stderr);
 * ```
 * @module
 */
export { ADAM_DEFAULTS, adamInit, adamStep, type AdamOptions, type AdamState } from "./adam.ts";
export { pddLoss, pddLossAndGrad, symmetryKL, type LossAndGrad, type ObjectiveOptions } from "./objectives.ts";
export {
  BUFFER_SIZE_BATCHES,
  type BufferConfig,
  type ChainState,
  type CombinedEpoch,
  type ExperienceBuffer,
  type PendingRows,
  type ReplayState,
} from "./buffer.ts";
export {
  NonFiniteLossError,
  ORIGINAL_DEFAULTS,
  TRAIN_DEFAULTS,
  createTrainer,
  epochTarget,
  evaluateF,
  restoreTrainer,
  trainEpoch,
  trainEpochParallel,
  validateTrainConfig,
  type AsyncObjective,
  type EpochMetrics,
  type OptimSettings,
  type PreparedEpoch,
  type TrainConfig,
  type TrainerState,
} from "./trainer.ts";
export { trainConfig, type TrainConfigOptions } from "./config.ts";
export {
  ON_NAN_MODES,
  TrainingDivergedError,
  estimateTrainingBytes,
  loadTrainedRun,
  runTraining,
  type OnNan,
  type TrainRunOptions,
  type TrainRunSummary,
  type TrainedRun,
} from "./run.ts";
export { ParallelObjective } from "./parallel.ts";
export { nllLoss, nllLossAndGrad, type NllLossAndGrad, type NllOptions } from "./nll.ts";
export {
  createFit,
  epochOrder,
  evaluateNll,
  fitStep,
  type FitConfig,
  type FitState,
  type FitStepResult,
} from "./fit.ts";
export { runFit, type FitRunOptions, type FitRunSummary } from "./fit-run.ts";
export type { RunPaths } from "../io/rundir.ts";
export type { ProgressMode, ProgressStream } from "../present/progress.ts";
export type { JsonObject, JsonPrimitive, JsonValue } from "../io/json.ts";
export type { KernelName } from "../kernels/wasm.ts";
export { ANNEAL_STEPS, annealedTargetSpec, annealFactor, type AnnealConfig } from "./anneal.ts";
