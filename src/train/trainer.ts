/**
 * The training loop of probability density distillation (supplement Algorithm 1): each epoch
 * draws one batch z ∼ N(0, 1), evaluates the loss and its gradient (objectives.ts) and takes one
 * Adam step. The whole state — parameters, optimiser moments, RNG state, epoch — is plain data,
 * so a checkpoint restores it exactly and a resumed run reproduces an uninterrupted one.
 */
import type { DType, Real } from "../engine/real.ts";
import { alloc } from "../engine/real.ts";
import type { RngState } from "../engine/rng.ts";
import { Rng } from "../engine/rng.ts";
import type { FlowConfig } from "../flow/config.ts";
import { validateFlowConfig } from "../flow/config.ts";
import type { FlowModel } from "../flow/flow.ts";
import { createFlow } from "../flow/flow.ts";
import type { InitKind } from "../flow/params.ts";
import type { KernelName } from "../kernels/wasm.ts";
import type { Activation } from "../kernels/activation.ts";
import { initParams } from "../flow/params.ts";
import type { Target } from "../targets/target.ts";
import type { AdamState } from "./adam.ts";
import { ADAM_DEFAULTS, adamInit, adamStep } from "./adam.ts";
import type { ObjectiveOptions } from "./objectives.ts";
import { GRADIENT_KINDS, pddLoss, pddLossAndGrad, type GradientKind } from "./objectives.ts";
import { batchAt, lrFactor, validateLrSchedule, type LrSchedule } from "./schedule.ts";
import { meanStdErr } from "../engine/math.ts";
import type { BufferConfig, CombinedEpoch, ReplayState } from "./buffer.ts";
import { combinedLossAndGrad, commitReplay, createReplay, validateBufferConfig } from "./buffer.ts";
import type { AnnealConfig } from "./anneal.ts";
import { ANNEAL_BETA_START, annealFactor, annealedTargetSpec, hasTemperature, validateAnnealConfig } from "./anneal.ts";
import { makeTarget } from "../targets/registry.ts";

/** Optimisation settings shared by PDD training (TrainConfig) and maximum likelihood (FitConfig). */
export interface OptimSettings {
  /** samples per step (PDD) or minibatch size (MLE) */
  batch: number;
  /** epochs (PDD: steps; MLE: passes over the training set) */
  epochs: number;
  /** Adam learning rate */
  lr: number;
  /** L2 weight decay added to the gradient */
  weightDecay: number;
  seed: number;
  dtype: DType;
  /** use the Z2-symmetrised density q_sym (Eq. S4) */
  symmetrize: boolean;
  init: InitKind;
  /** block-layer kernel (kernels/wasm.ts): "wasm" (SIMD, default) or "js"; results agree up to rounding */
  kernel?: KernelName;
}

/** Everything that defines a training run (stored in the run directory's config.json). */
export interface TrainConfig extends OptimSettings {
  /** target description understood by targets/registry.ts, e.g. {kind: "ising", L: 8, T: 2.269} */
  target: Record<string, number | string | boolean>;
  flow: FlowConfig;
  /**
   * weight λ of the symmetry regulariser KL(q(x)‖q(−x)) added to the loss (App. E); optional,
   * default 0 (and then omitted from stored configs). Needs symmetrize = false: for q_sym the
   * regulariser is identically zero, and the combination is refused.
   */
  symmetryWeight?: number;
  /**
   * the v1 combined algorithm (buffer.ts): experience buffer of MIS-accepted samples and the
   * NLL weight λ; absent (and then omitted from stored configs) = pure PDD. Single-thread only.
   */
  buffer?: BufferConfig;
  /** gradient estimator (objectives.ts); absent = "reparam" (and then omitted from stored configs) */
  gradient?: GradientKind;
  /** learning-rate warm-up and decay (schedule.ts); absent = constant lr */
  lrSchedule?: LrSchedule;
  /** batch at the last epoch, growing geometrically from `batch` (schedule.ts); absent = constant batch */
  batchFinal?: number;
  /** Adam β₂ (absent = 0.999) */
  beta2?: number;
  /** clip the gradient to this Euclidean norm before the Adam step (absent = no clipping) */
  clipNorm?: number;
  /** β annealing of the target over the first epochs (anneal.ts); absent = train at the target's β throughout */
  anneal?: AnnealConfig;
}

/**
 * The original code's settings (and the paper's): batch 512, Adam lr 1e-3 held constant, 10
 * couplings per block with s and t networks of 3 hidden layers of 10 units, float64, the plain
 * reparametrised gradient. `api.trainConfig` fills these in.
 */
export const ORIGINAL_DEFAULTS = {
  batch: 512,
  lr: 1e-3,
  weightDecay: 0,
  seed: 42,
  dtype: "float64" as DType,
  symmetrize: true,
  init: "identity" as InitKind,
  kernel: "wasm" as KernelName,
  nlayers: 10,
  nmlp: 3,
  nhidden: 10,
  /** repetitions of each level's layer group (the original code's nrepeat; its README used 1) */
  nrepeat: 1,
  layout: "mera" as const,
  gradient: "reparam" as GradientKind,
  lrDecay: "constant" as LrSchedule["decay"],
  warmup: 0,
  lrFinal: 0.01,
  activation: "elu" as Activation,
  /** β annealing over this fraction of the epochs (anneal.ts); 0 = off */
  anneal: 0,
  annealFrom: ANNEAL_BETA_START,
};

/**
 * The defaults of `neuralrg train` (and of `demo` and `scan`): the recipe with the lowest error
 * per CPU-minute in bench/quality.ts (docs/quality.md): float32, a small network (4 couplings, s
 * and t networks of 1 hidden layer of 16 units with the rational activation) whose layers are
 * repeated twice per level, lr 1e-2 with a 2 % warm-up and a cosine decay to 1 %, the path
 * gradient, and β annealing from ½β over the first 30 % of the epochs (for targets with a
 * temperature).
 */
export const TRAIN_DEFAULTS = {
  ...ORIGINAL_DEFAULTS,
  batch: 256,
  lr: 1e-2,
  dtype: "float32" as DType,
  nlayers: 4,
  nmlp: 1,
  nhidden: 16,
  nrepeat: 2,
  activation: "rational" as Activation,
  gradient: "path" as GradientKind,
  lrDecay: "cosine" as LrSchedule["decay"],
  warmup: 0.02,
  lrFinal: 0.01,
  anneal: 0.3,
  annealFrom: ANNEAL_BETA_START,
};

export interface TrainerState {
  readonly config: TrainConfig;
  readonly model: FlowModel;
  readonly target: Target;
  params: Real;
  adam: AdamState;
  rng: Rng;
  /** epochs completed */
  epoch: number;
  /**
   * factor on config.lr (default 1): a numerical guard lowers it when training is rolled back
   * after a non-finite loss (`--on-nan rollback`); stored in the checkpoint's extras
   */
  lrScale?: number;
  /** experience buffer, MIS chains and their generator when config.buffer is set (buffer.ts) */
  replay?: ReplayState;
  /** the annealed target of the current β step (anneal.ts), built when first needed */
  annealed?: { factor: number; target: Target };
}

export interface EpochMetrics {
  epoch: number;
  /** variational free energy: batch mean of ln q − ln π (an upper bound to −ln Z) */
  F: number;
  /** standard error of F over the batch */
  FstdErr: number;
  /** exact −ln Z when known */
  exact: number;
  /** (F − exact)/|exact| when known, else NaN */
  relErr: number;
  /** Euclidean norm of the gradient */
  gradNorm: number;
  /** wall-clock seconds of this epoch */
  seconds: number;
  /** batch estimate of KL(q(x)‖q(−x)) when the symmetry regulariser is on (single-thread epochs only) */
  symKL?: number;
  /** with the experience buffer: MIS acceptance rate of this epoch's batch (v1 Eq. 6, Fig. 3b; NaN in the first epoch) */
  acceptance?: number;
  /** with the experience buffer: rows in the buffer after this epoch's push */
  bufferFill?: number;
  /** with the experience buffer and λ > 0: NLL (v1 Eq. 7) of the minibatch drawn from it */
  nll?: number;
  /** while the target is annealed (anneal.ts): β'/β of this epoch; F, exact and relErr then belong to π_β' */
  betaFactor?: number;
}

/** The objective options of a run configuration (shared by the trainer and its worker threads). */
export function objectiveOptions(c: TrainConfig): ObjectiveOptions {
  return {
    symmetrize: c.symmetrize,
    symmetryWeight: c.symmetryWeight ?? 0,
    ...(c.gradient ? { gradient: c.gradient } : {}),
  };
}

export function validateTrainConfig(c: TrainConfig): void {
  validateFlowConfig(c.flow);
  const checks: [string, number, number, number][] = [
    ["batch", c.batch, 1, 1 << 20],
    ["epochs", c.epochs, 0, 1e9],
  ];
  for (const [name, v, lo, hi] of checks) {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RangeError(`${name} = ${v} is invalid: ${name} must be an integer in ${lo}..${hi}`);
  }
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new RangeError(`lr = ${c.lr} is invalid: lr must be a number > 0`);
  if (!(c.weightDecay >= 0) || !Number.isFinite(c.weightDecay))
    throw new RangeError(`weight-decay = ${c.weightDecay} is invalid: it must be a number ≥ 0`);
  if (c.dtype !== "float32" && c.dtype !== "float64")
    throw new RangeError(`dtype = ${c.dtype} is invalid: accepted values are float32, float64`);
  if (c.kernel !== undefined && c.kernel !== "js" && c.kernel !== "wasm")
    throw new RangeError(`kernel = ${c.kernel} is invalid: accepted values are js, wasm`);
  const w = c.symmetryWeight;
  if (w !== undefined && (typeof w !== "number" || !Number.isFinite(w) || w < 0)) {
    throw new RangeError(`symmetry-weight = ${w} is invalid: it must be a finite number >= 0`);
  }
  if (w !== undefined && w > 0 && c.symmetrize) {
    throw new RangeError(
      `symmetry-weight = ${w} cannot be combined with symmetrize: KL(q_sym(x)‖q_sym(−x)) is identically zero for the symmetrised model (use --no-symmetrize, as App. E does)`,
    );
  }
  if (c.buffer !== undefined) validateBufferConfig(c.buffer);
  if (c.gradient !== undefined && !(GRADIENT_KINDS as readonly string[]).includes(c.gradient)) {
    throw new RangeError(
      `gradient = ${String(c.gradient)} is invalid: accepted values are ${GRADIENT_KINDS.join(", ")}`,
    );
  }
  if (c.gradient === "path" && (c.symmetryWeight ?? 0) > 0)
    throw new RangeError(
      `gradient = path cannot be combined with symmetry-weight = ${c.symmetryWeight}: use the reparametrised gradient with the regulariser`,
    );
  if (c.lrSchedule !== undefined) validateLrSchedule(c.lrSchedule);
  if (c.batchFinal !== undefined) {
    if (!Number.isInteger(c.batchFinal) || c.batchFinal < 1 || c.batchFinal > 1 << 20)
      throw new RangeError(`batch-final = ${c.batchFinal} is invalid: it must be an integer in 1..${1 << 20}`);
    if (c.buffer !== undefined)
      throw new RangeError(
        `batch-final = ${c.batchFinal} cannot be combined with the experience buffer (its chains have one batch size)`,
      );
  }
  if (c.beta2 !== undefined && !(c.beta2 > 0 && c.beta2 < 1))
    throw new RangeError(`beta2 = ${c.beta2} is invalid: it must be a number in (0, 1)`);
  if (c.clipNorm !== undefined && !(c.clipNorm > 0 && Number.isFinite(c.clipNorm)))
    throw new RangeError(`clip-norm = ${c.clipNorm} is invalid: it must be a finite number > 0`);
  if (c.anneal !== undefined) {
    validateAnnealConfig(c.anneal);
    if (!hasTemperature(c.target))
      throw new RangeError(
        `anneal needs a target with a temperature T > 0; target ${JSON.stringify(c.target)} has none (train without --anneal)`,
      );
    if (c.buffer !== undefined)
      throw new RangeError("anneal cannot be combined with the experience buffer (its samples belong to one target)");
  }
  if (c.init !== "identity" && c.init !== "torch")
    throw new RangeError(`init = ${c.init} is invalid: accepted values are identity, torch`);
}

/** A fresh trainer: parameters drawn from the seed, Adam moments zero, epoch 0. */
export function createTrainer(config: TrainConfig, target: Target): TrainerState {
  validateTrainConfig(config);
  if (target.L !== config.flow.L) throw new RangeError(`target L = ${target.L} differs from flow L = ${config.flow.L}`);
  const model = createFlow(config.flow, config.kernel);
  const rng = Rng.fromSeed(config.seed);
  const initRng = rng.fork(1);
  const params = initParams(config.flow, config.dtype, () => initRng.uniform(), config.init).data;
  const state: TrainerState = { config, model, target, params, adam: adamInit(params.length), rng, epoch: 0 };
  if (config.buffer) state.replay = createReplay(config.buffer, config.batch, model.nvars, config.dtype, config.seed);
  return state;
}

/** Restore a trainer from saved plain data (a checkpoint). */
export function restoreTrainer(
  config: TrainConfig,
  target: Target,
  saved: { params: Real; adam: AdamState; rng: RngState; epoch: number; replay?: ReplayState },
): TrainerState {
  const t = createTrainer(config, target);
  if (saved.params.length !== t.params.length) {
    throw new RangeError(
      `checkpoint has ${saved.params.length} parameters, the configuration needs ${t.params.length}`,
    );
  }
  t.params.set(saved.params);
  t.adam = { step: saved.adam.step, m: Float64Array.from(saved.adam.m), v: Float64Array.from(saved.adam.v) };
  t.rng = Rng.fromState(saved.rng);
  t.epoch = saved.epoch;
  if (config.buffer) {
    if (!saved.replay)
      throw new RangeError("the configuration uses an experience buffer but the saved state holds none");
    t.replay = saved.replay;
  }
  return t;
}

export class NonFiniteLossError extends Error {
  override readonly name = "NonFiniteLossError";
  constructor(
    readonly epoch: number,
    readonly what: string,
  ) {
    super(`training diverged at epoch ${epoch}: ${what} is not finite (lower --lr or resume from the last checkpoint)`);
  }
}

/** Batch size of the next epoch, or of `epoch` (schedule.ts: batchAt). */
export function epochBatch(state: TrainerState, epoch = state.epoch): number {
  const c = state.config;
  return batchAt(c.batch, c.batchFinal, epoch, c.epochs);
}

/** The next epoch's prior batch z, drawn from a copy of the training generator (returned with it). */
function drawBatch(state: TrainerState): { z: Real; rng: Rng } {
  const pre = predrawn.get(state);
  if (pre) {
    predrawn.delete(state);
    // drawn ahead from exactly this generator state, of this size: the same numbers as drawing now
    const now = state.rng.state();
    if (pre.z.length === epochBatch(state) * state.model.nvars && pre.from.every((v, i) => v === now[i])) {
      return { z: pre.z, rng: pre.rng };
    }
  }
  return drawFrom(state.rng, state.config.dtype, epochBatch(state) * state.model.nvars);
}

function drawFrom(generator: Rng, dtype: DType, n: number): { z: Real; rng: Rng } {
  const rng = Rng.fromState(generator.state());
  const z = alloc(dtype, n);
  rng.fillNormal(z);
  return { z, rng };
}

/** A batch drawn ahead for the epoch after the one in flight (worker threads compute meanwhile). */
interface PredrawnBatch {
  /** the generator state it was drawn from */
  from: RngState;
  z: Real;
  rng: Rng;
}
const predrawn = new WeakMap<TrainerState, PredrawnBatch>();

/**
 * Draw the next epoch's z from `rng` (the generator as this epoch leaves it) while the workers
 * compute this epoch; drawBatch uses it only if the generator is then still in that state.
 */
function predrawNext(state: TrainerState, rng: Rng): void {
  const epoch = state.epoch + 1;
  if (epoch >= state.config.epochs) return;
  const { z, rng: after } = drawFrom(rng, state.config.dtype, epochBatch(state, epoch) * state.model.nvars);
  predrawn.set(state, { from: rng.state(), z, rng: after });
}

/**
 * The target of the next epoch and its β factor: the run's target, or during annealing
 * (config.anneal) the target at β' = factor·β, rebuilt once per β step.
 */
export function epochTarget(state: TrainerState): { factor: number; target: Target } {
  const c = state.config;
  const factor = annealFactor(c.anneal, state.epoch, c.epochs);
  if (factor === 1) return { factor, target: state.target };
  if (state.annealed?.factor !== factor)
    state.annealed = { factor, target: makeTarget(annealedTargetSpec(c.target, factor)) };
  return state.annealed;
}

function finishEpoch(state: TrainerState, perSample: Float64Array, grad: Float64Array, t0: number): EpochMetrics {
  const { mean, stdErr } = meanStdErr(perSample);
  let g2 = 0;
  for (let i = 0; i < grad.length; i++) g2 += grad[i] * grad[i];
  const epoch = state.epoch + 1;
  if (!Number.isFinite(mean)) throw new NonFiniteLossError(epoch, "the loss");
  if (!Number.isFinite(g2)) throw new NonFiniteLossError(epoch, "the gradient");
  const c = state.config;
  const norm = Math.sqrt(g2);
  if (c.clipNorm !== undefined && norm > c.clipNorm) {
    const f = c.clipNorm / norm;
    for (let i = 0; i < grad.length; i++) grad[i] *= f;
  }
  const lr = c.lr * (state.lrScale ?? 1) * lrFactor(c.lrSchedule, state.epoch, c.epochs);
  adamStep(state.params, grad, state.adam, {
    ...ADAM_DEFAULTS,
    lr,
    beta2: c.beta2 ?? ADAM_DEFAULTS.beta2,
    weightDecay: c.weightDecay,
  });
  const { factor, target } = epochTarget(state);
  state.epoch = epoch;
  const exact = target.exactNegLogZ ?? NaN;
  return {
    epoch,
    F: mean,
    FstdErr: stdErr,
    exact,
    relErr: (mean - exact) / Math.abs(exact),
    gradNorm: Math.sqrt(g2),
    seconds: (performance.now() - t0) / 1000,
    ...(factor !== 1 ? { betaFactor: factor } : {}),
  };
}

/**
 * The loss and gradient of the next epoch, computed ahead without changing the state (numerical
 * guard): before a checkpoint is written its parameters are checked to give a finite loss and
 * gradient on the very batch the next epoch draws, so every checkpoint on disk is a good state to
 * roll back to. Passing the result to trainEpoch makes that epoch reuse it (bit-identical to
 * computing it there, so the check costs nothing).
 */
export interface PreparedEpoch {
  /** state.epoch it was computed at (a prepared epoch is used only at that epoch) */
  readonly epoch: number;
  /** the generator after drawing the batch */
  readonly rng: Rng;
  readonly perSample: Float64Array;
  readonly grad: Float64Array;
  readonly symKL: number;
  /** seconds spent computing it (counted in that epoch's time) */
  readonly seconds: number;
  /** the combined algorithm's epoch (buffer.ts), applied to state.replay when the epoch is used */
  readonly combined?: CombinedEpoch;
}

function prepared(
  state: TrainerState,
  rng: Rng,
  r: { perSample: Float64Array; grad: Float64Array; symKL?: number },
  t0: number,
): PreparedEpoch {
  return {
    epoch: state.epoch,
    rng,
    perSample: r.perSample,
    grad: r.grad,
    symKL: r.symKL ?? NaN,
    seconds: (performance.now() - t0) / 1000,
  };
}

export function prepareEpoch(state: TrainerState): PreparedEpoch {
  const t0 = performance.now();
  const { z, rng } = drawBatch(state);
  const { config } = state;
  if (config.buffer && state.replay) {
    const c = combinedLossAndGrad(
      state.model,
      state.params,
      state.target,
      z,
      config.batch,
      objectiveOptions(config),
      config.buffer,
      state.replay,
    );
    return {
      ...prepared(state, rng, { perSample: c.pdd.perSample, grad: c.grad, symKL: c.pdd.symKL }, t0),
      combined: c,
    };
  }
  const { target } = epochTarget(state);
  return prepared(
    state,
    rng,
    pddLossAndGrad(state.model, state.params, target, z, epochBatch(state), objectiveOptions(state.config)),
    t0,
  );
}

/**
 * An objective evaluated off this thread: worker threads (parallel.ts: ParallelObjective) or a
 * GPU (the playground's WebGPU kernel). Per-sample losses and the batch-mean gradient.
 */
export interface AsyncObjective {
  lossAndGrad(
    params: Real,
    z: Real,
    batch: number,
    nvars: number,
  ): Promise<{ perSample: Float64Array; grad: Float64Array }>;
  /**
   * Evaluate against the run's target at β' = factor·β from now on (β annealing, anneal.ts);
   * `target` is that target, built in this thread. Objectives without it cannot anneal.
   */
  useTarget?(factor: number, target: Target): void;
}

export async function prepareEpochParallel(state: TrainerState, pool: AsyncObjective): Promise<PreparedEpoch> {
  if (state.config.buffer)
    throw new RangeError(
      "the experience buffer (--buffer-size / --nll-weight) runs in one thread only: use --workers 1",
    );
  const t0 = performance.now();
  const { factor, target } = epochTarget(state);
  if (pool.useTarget) pool.useTarget(factor, target);
  else if (factor !== 1)
    throw new RangeError("this objective (backend) cannot anneal the target: train without --anneal or on the CPU");
  const { z, rng } = drawBatch(state);
  const pending = pool.lossAndGrad(state.params, z, epochBatch(state), state.model.nvars);
  predrawNext(state, rng); // while the workers compute (this thread would wait otherwise)
  return prepared(state, rng, await pending, t0);
}

/** The criterion of finishEpoch: null when the batch-mean loss and the gradient norm are finite, else what is not. */
export function preparedNonFinite(p: PreparedEpoch): "the loss" | "the gradient" | null {
  if (!Number.isFinite(meanStdErr(p.perSample).mean)) return "the loss";
  let g2 = 0;
  for (let i = 0; i < p.grad.length; i++) g2 += p.grad[i] * p.grad[i];
  return Number.isFinite(g2) ? null : "the gradient";
}

function usePrepared(state: TrainerState, p: PreparedEpoch): EpochMetrics {
  state.rng = p.rng;
  const m = finishEpoch(state, p.perSample, p.grad, performance.now() - 1000 * p.seconds);
  if (Number.isFinite(p.symKL)) m.symKL = p.symKL;
  if (p.combined && state.replay) {
    commitReplay(state.replay, p.combined);
    m.acceptance = p.combined.acceptance;
    m.bufferFill = p.combined.fill;
    m.nll = p.combined.nll;
  }
  return m;
}

/**
 * One epoch = one batch and one Adam step. Mutates the state; returns the epoch's metrics.
 * A prepared epoch (prepareEpoch, computed at this very state) is reused instead of recomputed.
 */
export function trainEpoch(state: TrainerState, ahead?: PreparedEpoch): EpochMetrics {
  return usePrepared(state, ahead && ahead.epoch === state.epoch ? ahead : prepareEpoch(state));
}

/** The same epoch with the batch split over worker threads (parallel.ts). */
export async function trainEpochParallel(
  state: TrainerState,
  pool: AsyncObjective,
  ahead?: PreparedEpoch,
): Promise<EpochMetrics> {
  return usePrepared(state, ahead && ahead.epoch === state.epoch ? ahead : await prepareEpochParallel(state, pool));
}

/**
 * Variational free energy F = E_q[ln q − ln π] on `nsamples` fresh samples (no gradient), with
 * its standard error (the symmetry regulariser is not part of F). Uses its own generator, so evaluating does not disturb training.
 */
export function evaluateF(
  state: TrainerState,
  nsamples: number,
  seed: number,
): { F: number; stdErr: number; n: number } {
  const { config, model, target } = state;
  const rng = Rng.fromSeed(seed);
  const chunk = Math.min(config.batch, nsamples);
  const all: number[] = [];
  for (let done = 0; done < nsamples; done += chunk) {
    const b = Math.min(chunk, nsamples - done);
    const z = alloc(config.dtype, b * model.nvars);
    rng.fillNormal(z);
    const r = pddLoss(model, state.params, target, z, b, { symmetrize: config.symmetrize });
    for (const v of r.perSample) all.push(v);
  }
  const s = meanStdErr(all);
  return { F: s.mean, stdErr: s.stdErr, n: all.length };
}
