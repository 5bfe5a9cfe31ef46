/**
 * Maximum-likelihood training of the hierarchical flow on data (forward KL; `neuralrg fit`):
 * minibatches of training configurations, dequantised and logit-transformed when asked
 * (data/dequantize.ts), the NLL of train/nll.ts, one Adam step per minibatch.
 *
 * Reproducibility: the order of epoch e is a permutation drawn from a generator derived from
 * (seed, e) alone; the dequantisation noise comes from the state's generator, saved in
 * checkpoints; so a resumed run takes the very same steps as an uninterrupted one. The test NLL
 * uses its own fixed noise (derived from the seed), so successive evaluations are comparable.
 *
 * NLLs are reported in the data space (dequantize.ts): −ln q_Y(y) = −ln q_X(x) − ln|det ∂x/∂y|.
 */
import type { Real } from "../engine/real.ts";
import { alloc } from "../engine/real.ts";
import { meanStdErr } from "../engine/math.ts";
import { Rng } from "../engine/rng.ts";
import type { FlowConfig } from "../flow/config.ts";
import { validateFlowConfig } from "../flow/config.ts";
import type { FlowModel } from "../flow/flow.ts";
import { createFlow } from "../flow/flow.ts";
import { initParams } from "../flow/params.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Preprocess } from "../data/dequantize.ts";
import { checkPreprocess, toModelSpace } from "../data/dequantize.ts";
import type { AdamState } from "./adam.ts";
import { ADAM_DEFAULTS, adamInit, adamStep } from "./adam.ts";
import { nllLoss, nllLossAndGrad } from "./nll.ts";
import type { OptimSettings } from "./trainer.ts";

/** Everything that defines a fit run (config.json). Shares the TrainConfig fields, so tools that load runs can read it. */
export interface FitConfig extends OptimSettings {
  /** marks a maximum-likelihood run */
  objective: "nll";
  data: {
    /** file path or built-in name */
    source: string;
    /** sha256 of the file (absent for built-in data) */
    sha256?: string;
    split: "official" | "seeded";
    testFraction: number;
    nTrain: number;
    nTest: number;
    /** side of the stored configurations, before padding to flow.L */
    originalL: number;
  };
  preprocess: Preprocess;
  /** the density the data were drawn from, when known (from FILE.meta.json) */
  target?: Record<string, number | string | boolean>;
  flow: FlowConfig;
}

export function validateFitConfig(c: FitConfig): void {
  validateFlowConfig(c.flow);
  checkPreprocess(c.preprocess);
  for (const [name, v, lo, hi] of [
    ["batch", c.batch, 1, 1 << 20],
    ["epochs", c.epochs, 0, 1e9],
  ] as const) {
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RangeError(`${name} = ${v} is invalid: ${name} must be an integer in ${lo}..${hi}`);
  }
  if (!(c.lr > 0) || !Number.isFinite(c.lr)) throw new RangeError(`lr = ${c.lr} is invalid: lr must be a number > 0`);
  if (!(c.weightDecay >= 0) || !Number.isFinite(c.weightDecay))
    throw new RangeError(`weight-decay = ${c.weightDecay} is invalid: it must be a number ≥ 0`);
  if (c.batch > c.data.nTrain) {
    throw new RangeError(
      `batch = ${c.batch} is larger than the ${c.data.nTrain} training configurations: lower --batch (or --test-fraction)`,
    );
  }
  if (c.data.nTest < 1) throw new RangeError(`the test set is empty: use --test-fraction > 0 (e.g. 0.1)`);
}

export interface FitState {
  readonly config: FitConfig;
  readonly model: FlowModel;
  readonly train: Dataset;
  readonly test: Dataset;
  params: Real;
  adam: AdamState;
  /** dequantisation noise of the training minibatches */
  rng: Rng;
  /** Adam steps taken */
  step: number;
}

export function stepsPerEpoch(c: FitConfig): number {
  return Math.floor(c.data.nTrain / c.batch);
}

export function createFit(config: FitConfig, train: Dataset, test: Dataset): FitState {
  validateFitConfig(config);
  if (train.L !== config.flow.L || test.L !== config.flow.L)
    throw new RangeError(`data are ${train.L}×${train.L}, the flow is ${config.flow.L}×${config.flow.L}`);
  if (train.n !== config.data.nTrain || test.n !== config.data.nTest)
    throw new RangeError(
      `data sizes ${train.n}/${test.n} differ from the config's ${config.data.nTrain}/${config.data.nTest}`,
    );
  const model = createFlow(config.flow, config.kernel);
  const root = Rng.fromSeed(config.seed);
  const initRng = root.fork(1);
  const params = initParams(config.flow, config.dtype, () => initRng.uniform(), config.init).data;
  return { config, model, train, test, params, adam: adamInit(params.length), rng: root.fork(2), step: 0 };
}

/** The order of the training set in epoch e: a Fisher–Yates permutation from (seed, e) only. */
export function epochOrder(seed: number, epoch: number, n: number): Int32Array {
  return Rng.fromSeed(seed)
    .fork(1000 + epoch)
    .permutation(n);
}

const orderCache = new WeakMap<FitState, { epoch: number; order: Int32Array }>();

function gatherRows(ds: Dataset, rows: ArrayLike<number>): Float64Array {
  const N = ds.L * ds.L;
  const out = new Float64Array(rows.length * N);
  for (let k = 0; k < rows.length; k++) {
    const o = rows[k] * N;
    for (let i = 0; i < N; i++) out[k * N + i] = ds.values[o + i];
  }
  return out;
}

/** Model-space rows x and ln|det ∂x/∂y| for the given raw rows. */
function prepareRows(
  state: Pick<FitState, "config" | "model">,
  raw: ArrayLike<number>,
  batch: number,
  noise: Rng | null,
): { x: Real; logDet: Float64Array } {
  const x = alloc(state.config.dtype, raw.length);
  const logDet = toModelSpace(raw, batch, state.model.nvars, state.config.preprocess, noise, x as Float64Array);
  return { x, logDet };
}

export interface FitStepResult {
  step: number;
  /** batch mean of −ln q_Y(y) (data space, nats per configuration) */
  loss: number;
  perSample: Float64Array;
  gradNorm: number;
  seconds: number;
}

export class NonFiniteNllError extends Error {
  override readonly name = "NonFiniteNllError";
  constructor(
    readonly step: number,
    readonly what: string,
  ) {
    super(`training diverged at step ${step}: ${what} is not finite (lower --lr, or resume from the last checkpoint)`);
  }
}

/** The next minibatch in model space (consumes dequantisation noise of the state's generator). */
function nextMinibatch(state: FitState): { x: Real; logDet: Float64Array } {
  const { config } = state;
  const spe = stepsPerEpoch(config);
  const epoch = Math.floor(state.step / spe);
  let cached = orderCache.get(state);
  if (!cached || cached.epoch !== epoch) {
    cached = { epoch, order: epochOrder(config.seed, epoch, state.train.n) };
    orderCache.set(state, cached);
  }
  const p = state.step % spe;
  const rows = cached.order.subarray(p * config.batch, (p + 1) * config.batch);
  return prepareRows(
    state,
    gatherRows(state.train, rows),
    config.batch,
    config.preprocess.dequantize === "uniform" ? state.rng : null,
  );
}

/** The data-space losses, the finiteness checks and the Adam step of a computed minibatch NLL. */
function applyStep(
  state: FitState,
  r: { perSample: Float64Array; grad: Float64Array },
  logDet: Float64Array,
  t0: number,
): FitStepResult {
  const { config } = state;
  const perSample = new Float64Array(config.batch);
  for (let b = 0; b < config.batch; b++) perSample[b] = r.perSample[b] - logDet[b];
  let g2 = 0;
  for (const g of r.grad) g2 += g * g;
  const step = state.step + 1;
  const loss = meanStdErr(perSample).mean;
  if (!Number.isFinite(loss)) throw new NonFiniteNllError(step, "the loss");
  if (!Number.isFinite(g2)) throw new NonFiniteNllError(step, "the gradient");
  adamStep(state.params, r.grad, state.adam, { ...ADAM_DEFAULTS, lr: config.lr, weightDecay: config.weightDecay });
  state.step = step;
  return {
    step,
    loss,
    perSample,
    gradNorm: Math.sqrt(g2),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One minibatch and one Adam step (mutates the state). */
export function fitStep(state: FitState): FitStepResult {
  const t0 = performance.now();
  const { x, logDet } = nextMinibatch(state);
  const r = nllLossAndGrad(state.model, state.params, x, state.config.batch, { symmetrize: state.config.symmetrize });
  return applyStep(state, r, logDet, t0);
}

/**
 * The minibatch NLL computed off this thread (the WebGPU kernel: gpu/nll.ts): −ln q(x_b) of each
 * model-space row and the gradient of their batch mean, as nllLossAndGrad.
 */
export interface AsyncNllObjective {
  lossAndGrad(params: Real, x: Real, batch: number): Promise<{ perSample: Float64Array; grad: Float64Array }>;
}

/** fitStep with the NLL from an asynchronous objective; the same minibatches, noise and Adam step. */
export async function fitStepAsync(state: FitState, objective: AsyncNllObjective): Promise<FitStepResult> {
  const t0 = performance.now();
  const { x, logDet } = nextMinibatch(state);
  return applyStep(state, await objective.lossAndGrad(state.params, x, state.config.batch), logDet, t0);
}

/** Seed of the fixed dequantisation noise of evaluations. */
export function evaluationSeed(seed: number): number {
  return ((Math.imul(seed ^ 0x7e57, 0x9e3779b1) >>> 0) ^ 0x5bd1e995) >>> 0;
}

/**
 * −ln q_Y(y) of the first `count` configurations of a data set (default all), in chunks, with
 * fixed dequantisation noise (`noiseSeed`): per-sample values, mean and standard error.
 */
export function evaluateNll(
  state: Pick<FitState, "config" | "model" | "params">,
  ds: Dataset,
  noiseSeed: number,
  count = ds.n,
  chunk = 256,
): { mean: number; stdErr: number; n: number; perSample: Float64Array } {
  const n = Math.min(count, ds.n);
  const noise = state.config.preprocess.dequantize === "uniform" ? Rng.fromSeed(noiseSeed >>> 0) : null;
  const perSample = new Float64Array(n);
  const N = ds.L * ds.L;
  for (let s = 0; s < n; s += chunk) {
    const b = Math.min(chunk, n - s);
    const { x, logDet } = prepareRows(state, ds.values.subarray(s * N, (s + b) * N), b, noise);
    const r = nllLoss(state.model, state.params, x, b, { symmetrize: state.config.symmetrize });
    for (let k = 0; k < b; k++) perSample[s + k] = r.perSample[k] - logDet[k];
  }
  const { mean, stdErr } = meanStdErr(perSample);
  return { mean, stdErr, n, perSample };
}
