/**
 * The v1 combined algorithm (v1 Algorithm 1, Eq. 6–7): probability density distillation plus a
 * negative log-likelihood on an experience buffer of Metropolis-accepted samples, which keeps the
 * flow from collapsing onto one mode.
 *
 * Each epoch:
 *  1. the flow's batch x′ = g(z) (the PDD batch, with its ln q and ln π) is put through one step of
 *     the Metropolised independence sampler (v1 Eq. 6) against a set of `batch` parallel chain
 *     states x (one per batch row):  A(x → x′) = min(1, π(x′) q(x) / (π(x) q(x′))), with ln q(x)
 *     of the chain state re-evaluated under the current parameters (the proposal density of this
 *     step). The first epoch only initialises the chains with its batch (the initial draw is not
 *     a step, as in sample/mis.ts): nothing is accepted or pushed then.
 *     With q = q_sym the proposals are g(z) without the random sign of a draw from q_sym: π and
 *     q_sym are both Z2-invariant, so the acceptance is the same, and augmentation adds −x′ anyway.
 *  2. ONLY the accepted proposals are pushed to the buffer, each followed by its symmetry-related
 *     copy −x′ when the target is Z2-symmetric ("data augmentation by appending symmetry related
 *     configurations of the same weight", v1 supplement), so augmentation doubles them.
 *  3. a minibatch D of `bufferBatch` rows is drawn uniformly (with replacement) from the buffer
 *     after the push, and the minimised objective is
 *         L = F_PDD + λ · NLL(D),   NLL(D) = −(1/|D|) Σ_{x∈D} ln q(x)   (v1 Eq. 7),
 *     with q = q_sym when the model is symmetrised. λ = 0 skips the NLL pass (the buffer then
 *     only records the acceptance rate and fill of v1 Fig. 3b).
 *
 * The buffer is FIFO: a ring of fixed capacity in which the oldest rows are overwritten first, so
 * it follows the improving model (v1: "the experience buffer has a fixed maximum size"). While it
 * is filling, its rows occupy slots 0..fill−1; once full, every slot.
 *
 * Randomness: the Metropolis uniforms and the minibatch indices come from a generator of their
 * own (`replayRng`, derived from the seed), never from the training generator that draws the
 * prior batches. So the PDD batches of a run with the buffer are those of a pure PDD run with the
 * same seed, and with λ = 0 the run is bit-identical to pure PDD.
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import type { FlowModel } from "../flow/flow.ts";
import { misDecide } from "../sample/mis.ts";
import type { Target } from "../targets/target.ts";
import { nllLoss, nllLossAndGrad } from "./nll.ts";
import type { LossAndGrad, ObjectiveOptions } from "./objectives.ts";
import { pddLossAndGrad } from "./objectives.ts";

/** Options of the combined algorithm (stored in TrainConfig.buffer; absent = pure PDD). */
export interface BufferConfig {
  /** capacity of the experience buffer in configurations */
  size: number;
  /** configurations drawn from the buffer per epoch for the NLL term (|D| of Eq. 7) */
  batch: number;
  /** weight λ ≥ 0 of the NLL term; 0 = pure PDD (the buffer is then only monitored) */
  nllWeight: number;
}

/** Default buffer capacity: this many PDD batches. */
export const BUFFER_SIZE_BATCHES = 10;

export function validateBufferConfig(b: BufferConfig): void {
  if (typeof b !== "object" || b === null)
    throw new RangeError(`buffer = ${JSON.stringify(b)} is invalid: expected {size, batch, nllWeight}`);
  if (!Number.isInteger(b.size) || b.size < 1 || b.size > 1e9)
    throw new RangeError(`buffer-size = ${b.size} is invalid: it must be an integer in 1..1000000000`);
  if (!Number.isInteger(b.batch) || b.batch < 1 || b.batch > 1 << 20)
    throw new RangeError(`buffer-batch = ${b.batch} is invalid: it must be an integer in 1..${1 << 20}`);
  if (typeof b.nllWeight !== "number" || !Number.isFinite(b.nllWeight) || b.nllWeight < 0) {
    throw new RangeError(`nll-weight = ${b.nllWeight} is invalid: it must be a finite number >= 0`);
  }
}

// ---------------------------------------------------------------------------------------------
// The FIFO experience buffer

export interface ExperienceBuffer {
  readonly capacity: number;
  readonly nvars: number;
  /** capacity × nvars; slot s holds data[s·nvars .. (s+1)·nvars) */
  readonly data: Real;
  /** slots in use (≤ capacity); while filling they are 0..fill−1 */
  fill: number;
  /** the slot the next row is written to */
  head: number;
}

export function createBuffer(capacity: number, nvars: number, dtype: "float32" | "float64"): ExperienceBuffer {
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new RangeError(`buffer capacity = ${capacity} is invalid: it must be an integer >= 1`);
  return { capacity, nvars, data: alloc(dtype, capacity * nvars), fill: 0, head: 0 };
}

/** Rows waiting to be pushed: `n` rows of `rows` (n × nvars). */
export interface PendingRows {
  rows: Real;
  n: number;
}

/** Push rows in order (FIFO: when more arrive than fit, the oldest are overwritten). Mutates `buf`. */
export function pushRows(buf: ExperienceBuffer, p: PendingRows): void {
  const N = buf.nvars;
  const skip = Math.max(0, p.n - buf.capacity); // rows that would be overwritten within this push
  for (let r = skip; r < p.n; r++) {
    buf.data.set(p.rows.subarray(r * N, (r + 1) * N), ((buf.head + r) % buf.capacity) * N);
  }
  buf.head = (buf.head + p.n) % buf.capacity;
  buf.fill = Math.min(buf.capacity, buf.fill + p.n);
}

/** Slots in use after pushing `n` more rows. */
export function fillAfterPush(buf: ExperienceBuffer, n: number): number {
  return Math.min(buf.capacity, buf.fill + n);
}

/**
 * Copy slot `slot` of the buffer as it will be after pushing `p` (without mutating it) into
 * out[at·nvars ..]: from the pending rows if the push overwrites the slot, else from the buffer.
 */
function readAfterPush(buf: ExperienceBuffer, p: PendingRows, slot: number, out: Real, at: number): void {
  const N = buf.nvars;
  const d = (slot - buf.head + buf.capacity) % buf.capacity; // row index of this slot within the push
  if (d < p.n) {
    // the last pending row written to this slot: r ≡ d (mod capacity), r < n
    const r = d + buf.capacity * Math.floor((p.n - 1 - d) / buf.capacity);
    out.set(p.rows.subarray(r * N, (r + 1) * N), at * N);
  } else {
    out.set(buf.data.subarray(slot * N, (slot + 1) * N), at * N);
  }
}

/**
 * A minibatch of `count` rows drawn uniformly with replacement from the buffer as it will be after
 * pushing `p` (nothing is mutated but `rng`). Throws when that buffer is empty.
 */
export function drawMinibatch(buf: ExperienceBuffer, p: PendingRows, count: number, rng: Rng): Real {
  const fill = fillAfterPush(buf, p.n);
  if (fill === 0) throw new RangeError("cannot draw a minibatch from an empty experience buffer");
  const out = alloc(dtypeOf(buf.data), count * buf.nvars);
  for (let k = 0; k < count; k++) readAfterPush(buf, p, rng.int(fill), out, k);
  return out;
}

/**
 * Symmetry augmentation: the rows selected by `keep` (all when null), each followed by its Z2
 * copy −x when `z2` (so the count doubles), else alone. Rows are `nvars` long.
 */
export function augmentRows(x: Real, nvars: number, keep: Uint8Array | null, z2: boolean): PendingRows {
  const rowsIn = x.length / nvars;
  let n = 0;
  for (let b = 0; b < rowsIn; b++) if (!keep || keep[b]) n += z2 ? 2 : 1;
  const rows = alloc(dtypeOf(x), n * nvars);
  let o = 0;
  for (let b = 0; b < rowsIn; b++) {
    if (keep && !keep[b]) continue;
    const src = x.subarray(b * nvars, (b + 1) * nvars);
    rows.set(src, o * nvars);
    o++;
    if (z2) {
      for (let i = 0; i < nvars; i++) rows[o * nvars + i] = -src[i];
      o++;
    }
  }
  return { rows, n };
}

// ---------------------------------------------------------------------------------------------
// Metropolised independence chains (v1 Eq. 6)

/** `n` parallel MIS chains: their states and ln π of those states (ln q is re-evaluated each step). */
export interface ChainState {
  /** n × nvars; meaningless until `initialised` */
  x: Real;
  logPi: Float64Array;
  initialised: boolean;
}

export function createChains(n: number, nvars: number, dtype: "float32" | "float64"): ChainState {
  return { x: alloc(dtype, n * nvars), logPi: new Float64Array(n), initialised: false };
}

/** The chains after a step: accepted proposals replace their chain's state (new arrays). */
export function advanceChains(
  chains: ChainState,
  prop: { x: Real; logPi: Float64Array },
  accepted: Uint8Array | null,
): ChainState {
  const n = chains.logPi.length;
  const N = chains.x.length / n;
  const x = chains.x.slice();
  const logPi = chains.logPi.slice();
  for (let c = 0; c < n; c++) {
    if (accepted && !accepted[c]) continue;
    x.set(prop.x.subarray(c * N, (c + 1) * N), c * N);
    logPi[c] = prop.logPi[c];
  }
  return { x, logPi, initialised: true };
}

// ---------------------------------------------------------------------------------------------
// Replay state and the combined epoch

/** Everything the combined algorithm keeps between epochs (saved in checkpoints). */
export interface ReplayState {
  buffer: ExperienceBuffer;
  chains: ChainState;
  /** generator of the Metropolis uniforms and minibatch indices (separate from the training stream) */
  rng: Rng;
}

/** The replay generator of a seed: independent of the training stream (Rng.fromSeed(seed) and its fork(1)). */
export function replayRngFromSeed(seed: number): Rng {
  return Rng.fromSeed(seed).fork(0x5eb);
}

export function createReplay(
  cfg: BufferConfig,
  batch: number,
  nvars: number,
  dtype: "float32" | "float64",
  seed: number,
): ReplayState {
  validateBufferConfig(cfg);
  return {
    buffer: createBuffer(cfg.size, nvars, dtype),
    chains: createChains(batch, nvars, dtype),
    rng: replayRngFromSeed(seed),
  };
}

/** One combined epoch computed without changing any state; `commitReplay` applies it. */
export interface CombinedEpoch {
  /** the PDD part (loss = variational F; grad = ∂F/∂θ + symmetry regulariser, as pddLossAndGrad) */
  pdd: LossAndGrad;
  /** ∂(F + λ·NLL)/∂θ */
  grad: Float64Array;
  /** NLL(D) of Eq. 7 on the minibatch (NaN when λ = 0 or the buffer is empty) */
  nll: number;
  /** the minibatch D (null when not drawn) */
  minibatch: Real | null;
  /** MIS acceptance of this epoch's batch (NaN in the first epoch: it initialises the chains) */
  acceptance: number;
  /** 1 where the proposal of chain b was accepted (null in the first epoch) */
  accepted: Uint8Array | null;
  /** rows pushed to the buffer (accepted proposals and their Z2 copies) */
  pushed: PendingRows;
  /** buffer fill after the push */
  fill: number;
  /** chains after the step */
  chains: ChainState;
  /** the replay generator after this epoch's draws */
  rng: Rng;
}

/**
 * Loss and gradient of one epoch of the combined algorithm on the prior batch z (module comment),
 * with `replay` left untouched: the result says what to push and the new chains and generator.
 */
export function combinedLossAndGrad(
  model: FlowModel,
  params: Real,
  target: Target,
  z: Real,
  batch: number,
  opts: ObjectiveOptions,
  cfg: BufferConfig,
  replay: ReplayState,
): CombinedEpoch {
  const pdd = pddLossAndGrad(model, params, target, z, batch, opts);
  const rng = Rng.fromState(replay.rng.state());
  const N = model.nvars;
  if (replay.chains.logPi.length !== batch) {
    throw new RangeError(`the experience buffer has ${replay.chains.logPi.length} chains but the batch is ${batch}`);
  }
  let accepted: Uint8Array | null = null;
  let acceptance = NaN;
  let pushed: PendingRows = { rows: alloc(dtypeOf(params), 0), n: 0 };
  const prop = { x: pdd.x, logPi: pdd.logPi };
  let chains: ChainState;
  if (!replay.chains.initialised) {
    chains = advanceChains(replay.chains, prop, null);
  } else {
    // ln q of the chain states under the current parameters: the proposal density of this step
    const chainNll = nllLoss(model, params, replay.chains.x, batch, { symmetrize: opts.symmetrize }).perSample;
    const chainLogQ = new Float64Array(batch);
    for (let b = 0; b < batch; b++) chainLogQ[b] = -chainNll[b];
    const d = misDecide(replay.chains.logPi, chainLogQ, pdd.logPi, pdd.logQ, rng);
    accepted = d.accepted;
    acceptance = d.acceptance;
    chains = advanceChains(replay.chains, prop, accepted);
    pushed = augmentRows(pdd.x, N, accepted, target.z2Symmetric);
  }
  const fill = fillAfterPush(replay.buffer, pushed.n);
  let nll = NaN;
  let minibatch: Real | null = null;
  let grad = pdd.grad;
  if (cfg.nllWeight > 0 && fill > 0) {
    minibatch = drawMinibatch(replay.buffer, pushed, cfg.batch, rng);
    const r = nllLossAndGrad(model, params, minibatch, cfg.batch, { symmetrize: opts.symmetrize });
    nll = r.loss;
    grad = new Float64Array(pdd.grad.length);
    for (let i = 0; i < grad.length; i++) grad[i] = pdd.grad[i] + cfg.nllWeight * r.grad[i];
  }
  return { pdd, grad, nll, minibatch, acceptance, accepted, pushed, fill, chains, rng };
}

/** Apply a combined epoch to the replay state: push, advance the chains, advance the generator. */
export function commitReplay(replay: ReplayState, e: CombinedEpoch): void {
  pushRows(replay.buffer, e.pushed);
  replay.chains = e.chains;
  replay.rng = e.rng;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint form

/** Plain-data form of a replay state for checkpoints: arrays plus JSON extras. */
export interface SavedReplay {
  arrays: { replay_buffer: Real; replay_chain_x: Real; replay_chain_logpi: Float64Array };
  extra: { fill: number; head: number; initialised: boolean; rng: [number, number, number, number] };
}

export function saveReplay(r: ReplayState): SavedReplay {
  return {
    arrays: {
      replay_buffer: r.buffer.data.slice(0, r.buffer.fill * r.buffer.nvars),
      replay_chain_x: r.chains.x.slice(),
      replay_chain_logpi: r.chains.logPi.slice(),
    },
    extra: { fill: r.buffer.fill, head: r.buffer.head, initialised: r.chains.initialised, rng: r.rng.state() },
  };
}

/** Rebuild a replay state from its saved form; throws Error describing the first inconsistency. */
export function restoreReplay(
  cfg: BufferConfig,
  batch: number,
  nvars: number,
  dtype: "float32" | "float64",
  arrays: Record<string, Real> | undefined,
  extra: unknown,
): ReplayState {
  if (arrays === undefined || typeof extra !== "object" || extra === null)
    throw new Error("holds no experience buffer (saved by a run without --buffer-size / --nll-weight?)");
  const ex = extra as Record<string, unknown>;
  const { replay_buffer: data, replay_chain_x: cx, replay_chain_logpi: clp } = arrays;
  if (!data || !cx || !clp) throw new Error("lacks the experience-buffer arrays");
  const { fill, head, initialised, rng } = ex;
  if (typeof fill !== "number" || !Number.isInteger(fill) || fill < 0 || fill > cfg.size)
    throw new Error(`has buffer fill ${String(fill)} outside 0..${cfg.size}`);
  const headOk =
    typeof head === "number" &&
    Number.isInteger(head) &&
    head >= 0 &&
    head < cfg.size &&
    (fill === cfg.size || head === fill);
  if (!headOk) throw new Error(`has an inconsistent buffer head ${String(head)} for fill ${fill}`);
  if (typeof initialised !== "boolean") throw new Error("lacks the chain-initialised flag");
  if (data.length !== fill * nvars)
    throw new Error(`has ${data.length} buffer values, expected fill × N = ${fill} × ${nvars}`);
  if (cx.length !== batch * nvars || clp.length !== batch)
    throw new Error(`has chain arrays for ${clp.length} chains, the batch is ${batch}`);
  for (const a of [data, cx])
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i])) throw new Error("holds non-finite buffer or chain values");
  const r = createReplay(cfg, batch, nvars, dtype, 0);
  r.buffer.data.set(data);
  r.buffer.fill = fill;
  r.buffer.head = head as number;
  r.chains = { x: alloc(dtype, batch * nvars), logPi: Float64Array.from(clp), initialised };
  r.chains.x.set(cx);
  try {
    r.rng = Rng.fromState(rng as [number, number, number, number]);
  } catch {
    throw new Error(`has an invalid replay RNG state ${JSON.stringify(rng)}`);
  }
  return r;
}
