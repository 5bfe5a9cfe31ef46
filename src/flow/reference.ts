/**
 * The hierarchical Real NVP flow written with jax-js ops and differentiated by jax-js autodiff:
 * the independent reference our fused typed-array kernels (kernels/, flow/flow.ts) are tested
 * against, and the generality layer (any differentiable target written in jax-js ops).
 *
 * Conventions (identical to the kernels; params.ts, layout.ts, docs/architecture.md):
 *   - A block has 4 variables in the order (0,0),(0,1),(1,0),(1,1): indices 0..3 of
 *     `BlockLayer.blocks[4k + c]`. Groups A = [0, 3], B = [1, 2]. Coupling c conditions on A
 *     and updates B if c is even, conditions on B and updates A if c is odd; the net inputs are
 *     the two conditioning values in group order, the outputs map to the updated group in order.
 *   - Net: h ← ELU(W h + b) for each hidden layer (ELU(u) = u if u > 0 else e^u − 1; with
 *     activation "rational": u if u > 0 else u / (1 − u), kernels/activation.ts), final
 *     dense layer linear. s = sScale ⊙ tanh(s_net(cond)), t = t_net(cond) (S1).
 *   - Block generate (z → x): c = 0..nlayers−1, upd ← upd ⊙ e^s + t, logdet += Σ s.
 *     Block infer: the exact inverse, c in reverse, upd ← (upd − t) ⊙ e^{−s}, logdet −= Σ s.
 *   - Flow generate: layers in reverse `buildLayers` order (top level first); infer: in
 *     `buildLayers` order. Weights shared by all blocks of a layer; the flat parameter layout is
 *     params.ts's (offsets taken from `viewParams`).
 *   - Prior N(0, 1): ln p(z) = −½ Σ z² − (N/2) ln 2π; ln q(x) = ln p(z) + ln|det ∂z/∂x| (Eq. 1).
 *   - PDD loss (Eq. 5): mean over prior samples z of ln q(g(z)) − ln π(g(z)), with
 *     ln q(g(z)) = ln p(z) − ln|det ∂x/∂z|. Symmetrised (Eq. S4):
 *     ln q_sym(x) = logaddexp(ln q(x), ln q(−x)) − ln 2.
 *
 * Precision of jax-js 0.1.25 float64 elementwise functions, measured against Math.* (Node 20,
 * uniform grids of 200,001 points; test/flow/reference-precision.test.ts asserts these):
 *
 *   device "wasm" (exp and log are float32 polynomial approximations, promoted back to f64):
 *     exp    x ∈ [−20, 20]:   max rel err 2.1e-6
 *     tanh   x ∈ [−10, 10]:   max abs err 1.0e-7; max rel err 8.9e-6 for |x| ≥ 1e-3, up to 1
 *                             for |x| ≲ 1e-8 (computed as (e^{−2|x|} − 1)/(e^{−2|x|} + 1))
 *     log    x ∈ [1e-6, 100]: max abs err 1.3e-5, max rel err 3.7e-2 (near x = 1)
 *     expm1  x ∈ [−5, 5]:     max rel err 5.2e-6 (|x| ≤ 0.01 uses a float64 series: exact)
 *     ln cosh x = logaddexp(x, −x) − ln 2, x ∈ [−10, 10]: max abs err 1.25e-5
 *   device "cpu" (interpreted JS over typed arrays, Math.*):
 *     exp, log: bitwise equal to Math.*; expm1: max rel err 1.0e-14; tanh: max abs err
 *     2.2e-16 (rel 1.6e-14 for |x| ≥ 1e-3); logaddexp(x, −x): max abs err 1.8e-15.
 *   On the flow itself (L = 4, depth 2, nlayers 2, nmlp 1, nhidden 4, random parameters,
 *   relaxed Ising target, symmetrised loss, B = 4 and 16), wasm vs cpu: x = g(z) differs by
 *   3.6e-7, logdet by 1.4e-7 (absolute), |infer(generate(z)) − z| = 2–4e-7 on wasm (1e-15 on
 *   cpu), the loss by 5e-7 relative, the gradient by 1.5e-7 of its largest component.
 *
 * Consequence: the wasm device cannot serve as a float64 reference (an absolute error of ~1e-7
 * in every s, 1e-5 in every log, ruins finite differences and any comparison tighter than
 * ~1e-5 relative). The reference therefore runs on the "cpu" device by default, where it agrees
 * with a plain float64 evaluation to ~1e-13 and cross-tests can use tolerances ~1e-10.
 *
 * Cost (eager, one core): one referenceLossAndGrad at L = 4 (config above), B = 4…16, takes
 * ≈ 0.3–0.8 s on cpu (≈ 1–1.8 s symmetrised) and ≈ 0.2–0.4 s on wasm (≈ 0.7–1.1 s
 * symmetrised): per-op overhead dominates, the batch size hardly matters. Each eager gradient
 * call also keeps ≈ 7 MB of JS heap alive (jax-js cache leak, engine/jax.ts): fine for tests,
 * not for training. `jit` is not used: gathers cannot be jitted under grad, and jitted
 * gradients of the loss were wrong in 0.1.25 (see engine/jax.ts).
 *
 * Ownership: the `jax*` building blocks CONSUME their jax-js array arguments (engine/jax.ts);
 * the `reference*` functions take and return plain typed arrays and never mutate their inputs.
 */
import { numpy as np } from "@jax-js/jax";
import type { EngineDevice, JaxArray } from "../engine/jax.ts";
import { fromInt32, fromReal, jaxDType, toFloat64, toScalar, valueAndGrad, withDevice } from "../engine/jax.ts";
import type { DType, Real } from "../engine/real.ts";
import type { Activation } from "../kernels/activation.ts";
import type { FlowConfig } from "./config.ts";
import { buildLayers } from "./layout.ts";
import type { DenseParams } from "./params.ts";
import { paramCount, viewParams } from "./params.ts";

const LN_2PI = Math.log(2 * Math.PI);
const LN_2 = Math.LN2;

/** Group A = block elements (0,0),(1,1); group B = (0,1),(1,0). */
const GROUP_A = [0, 3] as const;
const GROUP_B = [1, 2] as const;

interface DenseOffsets {
  W: number;
  b: number;
  nin: number;
  nout: number;
}

interface CouplingOffsets {
  s: DenseOffsets[];
  t: DenseOffsets[];
  sScale: number;
}

interface LayerPlan {
  nblocks: number;
  /** gather order, element-major: gather[k * nblocks + j] = blocks[4j + k] */
  gather: Int32Array;
  /** sites not touched by this layer, ascending */
  others: Int32Array;
  /** inverse of the permutation [gather, others] */
  inverse: Int32Array;
  couplings: CouplingOffsets[];
}

/** Precomputed index tables and parameter offsets of a flow configuration. */
export interface ReferencePlan {
  readonly config: FlowConfig;
  /** N = L² */
  readonly nvars: number;
  readonly nparams: number;
  /** in inference (`buildLayers`) order */
  readonly layers: readonly LayerPlan[];
}

export function referencePlan(config: FlowConfig): ReferencePlan {
  const N = config.L * config.L;
  const nparams = paramCount(config);
  // Offsets come from the layout definition itself: views of a dummy array.
  const dummy = new Float64Array(nparams);
  const view = viewParams(config, dummy);
  const off = (a: Real) => a.byteOffset / a.BYTES_PER_ELEMENT;
  const dense = (d: DenseParams): DenseOffsets => ({ W: off(d.W), b: off(d.b), nin: d.nin, nout: d.nout });
  const layers = buildLayers(config).map((bl, l): LayerPlan => {
    const nb = bl.nblocks;
    const gather = new Int32Array(4 * nb);
    for (let j = 0; j < nb; j++) for (let k = 0; k < 4; k++) gather[k * nb + j] = bl.blocks[4 * j + k];
    const used = new Uint8Array(N);
    for (const s of gather) {
      if (used[s]) throw new Error(`layer ${l}: site ${s} appears in two blocks`);
      used[s] = 1;
    }
    const others = Int32Array.from(Array.from({ length: N }, (_, i) => i).filter((i) => !used[i]));
    const perm = [...gather, ...others];
    const inverse = new Int32Array(N);
    perm.forEach((site, j) => (inverse[site] = j));
    const couplings = view.layers[l].map((c) => ({ s: c.s.map(dense), t: c.t.map(dense), sScale: off(c.sScale) }));
    return { nblocks: nb, gather, others, inverse, couplings };
  });
  return { config: { ...config }, nvars: N, nparams, layers };
}

// ---------------------------------------------------------------------------------------------
// jax-level building blocks. Internal helpers take `theta` BORROWED (they only ever use
// `theta.ref`); every other jax array argument is consumed.

function sliceParams(theta: JaxArray, offset: number, n: number): JaxArray {
  return theta.ref.slice([offset, offset + n]);
}

function elu(u: JaxArray): JaxArray {
  // minimum(u, 0) keeps the unused branch finite, so its (masked) gradient is never inf·0.
  return np.where(u.ref.greater(0), u.ref, np.exp(np.minimum(u, 0)).sub(1));
}

/** u > 0 ? u : u / (1 − u), as max(u, 0) + m / (1 − m) with m = min(u, 0) (kernels/activation.ts). */
function rational(u: JaxArray): JaxArray {
  const m = np.minimum(u.ref, 0);
  return np.maximum(u, 0).add(m.ref.div(m.neg().add(1)));
}

/** MLP on rows of h [M × nin] → [M × nout] (h consumed, theta borrowed). */
function mlp(theta: JaxArray, layers: DenseOffsets[], h: JaxArray, activation: Activation): JaxArray {
  const act = activation === "rational" ? rational : elu;
  let out = h;
  layers.forEach((d, k) => {
    const W = sliceParams(theta, d.W, d.nin * d.nout).reshape([d.nout, d.nin]);
    const b = sliceParams(theta, d.b, d.nout);
    const u = np.matmul(out, W.transpose()).add(b);
    out = k + 1 < layers.length ? act(u) : u;
  });
  return out;
}

/** One layer of blocks on x [B × N] (x consumed, theta borrowed); returns [x', Σ s per sample]. */
function applyLayer(
  theta: JaxArray,
  lp: LayerPlan,
  x: JaxArray,
  batch: number,
  generate: boolean,
  activation: Activation,
): [JaxArray, JaxArray] {
  const nb = lp.nblocks;
  const M = batch * nb;
  // Gathers (np.take). Note: their transpose is a scatter, which jax-js 0.1.25 cannot `jit`
  // ("routine primitive scatter input is not imm"); a matmul with one-hot matrices would be
  // jit-able and exact but is ~2× slower eagerly, and this reference runs eagerly.
  const hasOthers = lp.others.length > 0;
  const rest = hasOthers ? np.take(x.ref, fromInt32(lp.others), 1) : null;
  const g = np.take(x, fromInt32(lp.gather), 1).reshape([batch, 4, nb]);
  const v: JaxArray[] = [0, 1, 2, 3].map((k) => g.ref.slice([], k).reshape([M]));
  g.dispose();
  let sumS: JaxArray | null = null;
  const n = lp.couplings.length;
  for (let step = 0; step < n; step++) {
    const c = generate ? step : n - 1 - step;
    const [cond, upd] = c % 2 === 0 ? [GROUP_A, GROUP_B] : [GROUP_B, GROUP_A];
    const cp = lp.couplings[c];
    const h = np.stack([v[cond[0]].ref, v[cond[1]].ref], 1); // [M × 2]
    const scale = sliceParams(theta, cp.sScale, 2);
    const s = np.tanh(mlp(theta, cp.s, h.ref, activation)).mul(scale); // [M × 2]
    const t = mlp(theta, cp.t, h, activation); // [M × 2]
    for (let i = 0; i < 2; i++) {
      const si = s.ref.slice([], i);
      const ti = t.ref.slice([], i);
      const u = v[upd[i]];
      v[upd[i]] = generate ? u.mul(np.exp(si)).add(ti) : u.sub(ti).mul(np.exp(si.neg()));
    }
    t.dispose();
    const ds = s.sum(1); // [M]
    sumS = sumS === null ? ds : sumS.add(ds);
  }
  const ld = (sumS as JaxArray).reshape([batch, nb]).sum(1);
  const y = np
    .stack(
      v.map((a) => a.reshape([batch, nb])),
      1,
    )
    .reshape([batch, 4 * nb]);
  const perm = rest === null ? y : np.concatenate([y, rest], 1);
  const out = np.take(perm, fromInt32(lp.inverse), 1);
  return [out, generate ? ld : ld.neg()];
}

function runFlow(
  plan: ReferencePlan,
  theta: JaxArray,
  input: JaxArray,
  batch: number,
  generate: boolean,
): [JaxArray, JaxArray] {
  const order = plan.layers.map((_, i) => i);
  if (generate) order.reverse();
  let x = input;
  let ld: JaxArray | null = null;
  for (const l of order) {
    const [y, d] = applyLayer(theta, plan.layers[l], x, batch, generate, plan.config.activation ?? "elu");
    x = y;
    ld = ld === null ? d : ld.add(d);
  }
  return [x, ld as JaxArray];
}

function checkTheta(plan: ReferencePlan, theta: JaxArray): void {
  if (theta.ndim !== 1 || theta.shape[0] !== plan.nparams) {
    const shape = theta.shape;
    theta.dispose();
    throw new RangeError(`theta has shape [${shape.join(", ")}], the flow needs [${plan.nparams}]`);
  }
}

function batchOf(plan: ReferencePlan, a: JaxArray, what: string): number {
  if (a.ndim !== 2 || a.shape[1] !== plan.nvars) {
    const shape = a.shape;
    a.dispose();
    throw new RangeError(`${what} has shape [${shape.join(", ")}], expected [batch, ${plan.nvars}]`);
  }
  return a.shape[0];
}

/** x = g(z) and ln|det ∂x/∂z| per sample. Consumes theta [P] and z [B × N]. */
export function jaxGenerate(plan: ReferencePlan, theta: JaxArray, z: JaxArray): [JaxArray, JaxArray] {
  checkTheta(plan, theta);
  const out = runFlow(plan, theta, z, batchOf(plan, z, "z"), true);
  theta.dispose();
  return out;
}

/** z = g⁻¹(x) and ln|det ∂z/∂x| per sample. Consumes theta [P] and x [B × N]. */
export function jaxInfer(plan: ReferencePlan, theta: JaxArray, x: JaxArray): [JaxArray, JaxArray] {
  checkTheta(plan, theta);
  const out = runFlow(plan, theta, x, batchOf(plan, x, "x"), false);
  theta.dispose();
  return out;
}

/** ln p(z) = −½ Σ z² − (N/2) ln 2π per sample. Consumes z [B × N]. */
export function jaxPriorLogProb(z: JaxArray): JaxArray {
  const N = z.shape[1];
  return np
    .sum(np.square(z), 1)
    .mul(-0.5)
    .sub((N / 2) * LN_2PI);
}

/** ln q(x) = ln p(g⁻¹(x)) + ln|det ∂z/∂x| per sample. Consumes theta and x [B × N]. */
export function jaxLogProb(plan: ReferencePlan, theta: JaxArray, x: JaxArray): JaxArray {
  const [z, ld] = jaxInfer(plan, theta, x);
  return jaxPriorLogProb(z).add(ld);
}

/**
 * Unnormalised target log-densities ln π(x) for the reference loss.
 *   - "relaxedIsing" (Eq. 7): ln π(x) = −½ xᵀ Kinv x + Σᵢ ln cosh xᵢ, Kinv = (K + αI)⁻¹ given
 *     as a dense row-major N×N matrix (the reference does not depend on targets/).
 *   - "gaussian": ln π(x) = −½ xᵀ A x, A dense row-major N×N.
 *   - "custom": any function of x [B × N] (which it must consume) returning ln π per sample
 *     [B], written in jax-js ops so it can be differentiated.
 */
export type ReferenceTarget =
  | { kind: "relaxedIsing"; Kinv: Float64Array }
  | { kind: "gaussian"; A: Float64Array }
  | { kind: "custom"; logDensity: (x: JaxArray) => JaxArray };

function quadForm(x: JaxArray, M: Float64Array, dtype: DType): JaxArray {
  const N = x.shape[1];
  if (M.length !== N * N) {
    x.dispose();
    throw new RangeError(`matrix has ${M.length} entries, expected N × N = ${N * N}`);
  }
  const m = fromReal(M, { shape: [N, N], dtype });
  return np.sum(np.matmul(x.ref, m).mul(x), 1);
}

/** ln π(x) per sample (consumes x [B × N]). */
export function jaxTargetLogDensity(target: ReferenceTarget, x: JaxArray, dtype: DType = "float64"): JaxArray {
  switch (target.kind) {
    case "gaussian":
      return quadForm(x, target.A, dtype).mul(-0.5);
    case "relaxedIsing": {
      // ln cosh x = logaddexp(x, −x) − ln 2
      const lncosh = np.sum(np.logaddexp(x.ref, x.ref.neg()), 1).sub(x.shape[1] * LN_2);
      return quadForm(x, target.Kinv, dtype).mul(-0.5).add(lncosh);
    }
    case "custom":
      return target.logDensity(x);
  }
}

/**
 * The PDD loss (Eq. 5), or its symmetrised form (Eq. S4), as a scalar jax-js array.
 * Consumes theta and z [B × N] (prior samples).
 */
export function jaxLoss(
  plan: ReferencePlan,
  theta: JaxArray,
  z: JaxArray,
  target: ReferenceTarget,
  symmetrize: boolean,
  dtype: DType = "float64",
): JaxArray {
  const lnpz = jaxPriorLogProb(z.ref);
  const [x, ldg] = jaxGenerate(plan, theta.ref, z);
  let lnq = lnpz.sub(ldg);
  if (symmetrize) {
    const lnqFlip = jaxLogProb(plan, theta.ref, x.ref.neg());
    lnq = np.logaddexp(lnq, lnqFlip).sub(LN_2);
  }
  theta.dispose();
  const lnpi = jaxTargetLogDensity(target, x, dtype);
  return np.mean(lnq.sub(lnpi));
}

// ---------------------------------------------------------------------------------------------
// Typed-array API.

export interface ReferenceOptions {
  /** jax-js device; default "cpu" (float64 transcendentals exact, see the header) */
  device?: EngineDevice;
  /** computation dtype; default "float64" */
  dtype?: DType;
}

function prepare(config: FlowConfig, params: Real, data: Real, batch: number, what: string) {
  const plan = referencePlan(config);
  if (params.length !== plan.nparams) {
    throw new RangeError(`parameter array has ${params.length} entries, the configuration needs ${plan.nparams}`);
  }
  if (!Number.isInteger(batch) || batch < 1 || data.length !== batch * plan.nvars) {
    throw new RangeError(`${what} has length ${data.length}, expected batch × N = ${batch} × ${plan.nvars}`);
  }
  return plan;
}

/** x = g(z) with logDet = ln|det ∂x/∂z| per sample (z: batch × N, row-major). */
export function referenceGenerate(
  config: FlowConfig,
  params: Real,
  z: Real,
  batch: number,
  opts: ReferenceOptions = {},
): { x: Float64Array; logDet: Float64Array } {
  const plan = prepare(config, params, z, batch, "z");
  const dtype = opts.dtype ?? "float64";
  return withDevice(opts.device ?? "cpu", () => {
    const [x, ld] = jaxGenerate(plan, fromReal(params, { dtype }), fromReal(z, { shape: [batch, plan.nvars], dtype }));
    return { x: toFloat64(x), logDet: toFloat64(ld) };
  });
}

/** z = g⁻¹(x) with logDet = ln|det ∂z/∂x| per sample. */
export function referenceInfer(
  config: FlowConfig,
  params: Real,
  x: Real,
  batch: number,
  opts: ReferenceOptions = {},
): { z: Float64Array; logDet: Float64Array } {
  const plan = prepare(config, params, x, batch, "x");
  const dtype = opts.dtype ?? "float64";
  return withDevice(opts.device ?? "cpu", () => {
    const [z, ld] = jaxInfer(plan, fromReal(params, { dtype }), fromReal(x, { shape: [batch, plan.nvars], dtype }));
    return { z: toFloat64(z), logDet: toFloat64(ld) };
  });
}

/** ln q(x) per sample. */
export function referenceLogProb(
  config: FlowConfig,
  params: Real,
  x: Real,
  batch: number,
  opts: ReferenceOptions = {},
): Float64Array {
  const plan = prepare(config, params, x, batch, "x");
  const dtype = opts.dtype ?? "float64";
  return withDevice(opts.device ?? "cpu", () =>
    toFloat64(jaxLogProb(plan, fromReal(params, { dtype }), fromReal(x, { shape: [batch, plan.nvars], dtype }))),
  );
}

export interface LossOptions extends ReferenceOptions {
  /** Eq. (S4) symmetrised density instead of Eq. (5); default false */
  symmetrize?: boolean;
}

/** The loss value only (no gradient): for finite differences. */
export function referenceLoss(
  config: FlowConfig,
  params: Real,
  z: Real,
  batch: number,
  target: ReferenceTarget,
  opts: LossOptions = {},
): number {
  const plan = prepare(config, params, z, batch, "z");
  const dtype = opts.dtype ?? "float64";
  return withDevice(opts.device ?? "cpu", () =>
    toScalar(
      jaxLoss(
        plan,
        fromReal(params, { dtype }),
        fromReal(z, { shape: [batch, plan.nvars], dtype }),
        target,
        opts.symmetrize ?? false,
        dtype,
      ),
    ),
  );
}

/**
 * The PDD loss (Eq. 5; Eq. S4 with `symmetrize`) averaged over the batch of prior samples z,
 * and its gradient w.r.t. the flat parameter array (same layout as `params`), by jax-js
 * reverse-mode autodiff.
 */
export function referenceLossAndGrad(
  config: FlowConfig,
  params: Real,
  z: Real,
  batch: number,
  target: ReferenceTarget,
  opts: LossOptions = {},
): { loss: number; grad: Float64Array } {
  const plan = prepare(config, params, z, batch, "z");
  const dtype = opts.dtype ?? "float64";
  const symmetrize = opts.symmetrize ?? false;
  return withDevice(opts.device ?? "cpu", () => {
    const f = (theta: JaxArray) =>
      jaxLoss(plan, theta, fromReal(z, { shape: [batch, plan.nvars], dtype }), target, symmetrize, dtype);
    const [v, g] = valueAndGrad(f)(fromReal(params, { dtype }));
    return { loss: toScalar(v), grad: toFloat64(g) };
  });
}

/** jax-js dtype of a DType (re-exported for custom targets that create constants). */
export { jaxDType };
