/**
 * neuralrg public API. Import from "neuralrg".
 *
 * - targets: unnormalised lattice densities π(x) with exact −ln Z where known
 * - flow: the hierarchical Real NVP flow (config, parameters, generate/infer/logProb)
 * - train: objectives (PDD, symmetrised), Adam, trainer, training runs on disk
 */
export type { Real, DType } from "./engine/real.ts";
export { Rng } from "./engine/rng.ts";
export type { Target } from "./targets/target.ts";
export * as targets from "./targets/index.ts";
export type { FlowConfig, LayoutKind } from "./flow/config.ts";
export { validateFlowConfig } from "./flow/config.ts";
export { buildLayers, latentScale } from "./flow/layout.ts";
export { initParams, viewParams, paramCount } from "./flow/params.ts";
export type { FlowParams, InitKind } from "./flow/params.ts";
export { createFlow, generate, infer, logProb, sample, priorLogProb, generateWithTape, inferWithTape, backward } from "./flow/flow.ts";
export type { FlowModel, Tape } from "./flow/flow.ts";
export { pddLossAndGrad, pddLoss } from "./train/objectives.ts";
export { adamInit, adamStep, ADAM_DEFAULTS } from "./train/adam.ts";
export { createTrainer, trainEpoch, evaluateF, TRAIN_DEFAULTS } from "./train/trainer.ts";
export type { TrainConfig, TrainerState, EpochMetrics } from "./train/trainer.ts";
export { runTraining, loadTrainedRun } from "./io/training-run.ts";
