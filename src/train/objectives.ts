/**
 * Training objectives as free functions of (flow, params, target, samples), not methods of a model class.
 *
 * Probability density distillation (Eq. 3–5): the reverse KL
 *     L = E_{z∼p}[ ln q(g(z)) − ln π(g(z)) ] ≥ −ln Z,
 * a variational free energy, with reparametrised gradients. With `symmetrize`, q is replaced by
 * the Z2-symmetrised model q_sym(x) = ½[q(x) + q(−x)] (Eq. S4), evaluated with log-add-exp;
 * its bound is tighter by KL(q‖q_sym) ≥ 0.
 *
 * Symmetry regulariser (App. E): for the plain model, `symmetryWeight` λ > 0 adds
 *     λ · KL(q(x) ‖ q(−x)) = λ · E_{x∼q}[ ln q(x) − ln q(−x) ]  (≥ 0, = 0 iff q is Z2-symmetric)
 * to the minimised objective, which keeps a single flow from collapsing onto one ferromagnetic
 * sign. Its reparametrised gradient: ln q(x) along the path x = g(z) is ln p(z) − ln|det ∂x/∂z|
 * (z fixed), and ln q(−x) = ln p(z′) + ln|det ∂z′/∂x′| with z′ = g⁻¹(−x), differentiated through
 * the inverse flow both directly and through x. For the symmetrised model the regulariser is
 * identically zero (q_sym(x) = q_sym(−x)); the original code still paid two extra inference
 * passes per epoch for it. Here combining `symmetrize` with λ ≠ 0 is an error.
 * The reported loss (and F) stays the variational free energy alone; the regulariser is
 * reported separately (`symKL`).
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { logAddExp, meanStdErr, sigmoid } from "../engine/math.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, generate, generateWithTape, inferWithTape, logProb, priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";
import { pathLossAndGrad } from "./path-gradient.ts";

export interface ObjectiveOptions {
  /** use q_sym of Eq. (S4); requires a Z2-symmetric target */
  symmetrize: boolean;
  /**
   * weight λ ≥ 0 of the symmetry regulariser KL(q(x)‖q(−x)) (App. E); default 0. Only for the
   * plain model (symmetrize = false) and a Z2-symmetric target.
   */
  symmetryWeight?: number;
  /**
   * gradient estimator: "reparam" (default; the total derivative of the batch loss) or "path"
   * (path-gradient.ts: drops the zero-mean score term; same expectation, lower variance near the optimum)
   */
  gradient?: GradientKind;
}

export const GRADIENT_KINDS = ["reparam", "path"] as const;
export type GradientKind = (typeof GRADIENT_KINDS)[number];

/** Throws a RangeError when the options cannot be used with this target. */
export function checkObjectiveOptions(opts: ObjectiveOptions, target: Target): void {
  if (opts.symmetrize && !target.z2Symmetric) {
    throw new RangeError(`symmetrize = true needs a Z2-symmetric target; target '${target.kind}' is not`);
  }
  const w = opts.symmetryWeight ?? 0;
  if (!(w >= 0) || !Number.isFinite(w)) {
    throw new RangeError(`symmetry-weight = ${w} is invalid: it must be a finite number >= 0`);
  }
  if (w > 0 && opts.symmetrize) {
    throw new RangeError(
      `symmetry-weight = ${w} cannot be combined with symmetrize = true: KL(q_sym(x)‖q_sym(−x)) is identically zero (use --no-symmetrize with the regulariser, as in App. E)`,
    );
  }
  if (opts.gradient !== undefined && !(GRADIENT_KINDS as readonly string[]).includes(opts.gradient)) {
    throw new RangeError(
      `gradient = ${String(opts.gradient)} is invalid: accepted values are ${GRADIENT_KINDS.join(", ")}`,
    );
  }
  if (w > 0 && opts.gradient === "path") {
    throw new RangeError(
      `symmetry-weight = ${w} cannot be combined with gradient = path: use the reparametrised gradient with the regulariser`,
    );
  }
  if (w > 0 && !target.z2Symmetric) {
    throw new RangeError(`symmetry-weight = ${w} needs a Z2-symmetric target; target '${target.kind}' is not`);
  }
}

export interface LossAndGrad {
  /** batch mean of the per-sample loss: the variational free energy estimate F */
  loss: number;
  /** standard error of that mean */
  stdErr: number;
  /** per-sample ln q(x) − ln π(x) */
  perSample: Float64Array;
  /** ∂loss/∂params (flat layout of flow/params.ts) */
  grad: Float64Array;
  /** the generated configurations x = g(z) */
  x: Real;
  /** ln q(x) of each sample (symmetrised when requested) */
  logQ: Float64Array;
  /** ln π(x) of each sample */
  logPi: Float64Array;
  /**
   * batch estimate of the symmetry regulariser KL(q(x)‖q(−x)) = mean of ln q(x) − ln q(−x)
   * (NaN when symmetryWeight is 0: not computed)
   */
  symKL: number;
  /** the minimised objective whose gradient is `grad`: loss + symmetryWeight · symKL */
  objective: number;
}

/**
 * Loss and gradient of probability density distillation on given prior samples z (batch rows).
 * The randomness is explicit: the caller draws z.
 */
export function pddLossAndGrad(
  model: FlowModel,
  params: Real,
  target: Target,
  z: Real,
  batch: number,
  opts: ObjectiveOptions,
): LossAndGrad {
  if (target.nvars !== model.nvars) {
    throw new RangeError(`target has ${target.nvars} variables but the flow has ${model.nvars}`);
  }
  checkObjectiveOptions(opts, target);
  if (opts.gradient === "path") return pathLossAndGrad(model, params, target, z, batch, opts);
  const lambda = opts.symmetryWeight ?? 0;
  const N = model.nvars;
  const dtype = dtypeOf(params);
  const gen = generateWithTape(model, params, z, batch);
  const x = gen.x;
  const logQ = priorLogProb(z, batch, N);
  for (let b = 0; b < batch; b++) logQ[b] -= gen.logDet[b];

  const logPi = new Float64Array(batch);
  const gradPi = alloc(dtype, batch * N);
  target.logProb(x, batch, logPi, gradPi);

  const grad = new Float64Array(params.length);
  const gx = alloc(dtype, batch * N);
  const gLdGen = new Float64Array(batch);
  const inv = 1 / batch;

  if (opts.symmetrize) {
    // ln q(−x) through the inverse flow; its gradient reaches θ directly and through x.
    const xm = alloc(dtype, batch * N);
    for (let k = 0; k < xm.length; k++) xm[k] = -x[k];
    const inf = inferWithTape(model, params, xm, batch);
    const logQm = priorLogProb(inf.z, batch, N);
    for (let b = 0; b < batch; b++) logQm[b] += inf.logDet[b];
    const gz = alloc(dtype, batch * N);
    const gLdInf = new Float64Array(batch);
    for (let b = 0; b < batch; b++) {
      const w1 = sigmoid(logQ[b] - logQm[b]); // weight of q(x) in q_sym(x)
      const w2 = 1 - w1;
      gLdGen[b] = -w1 * inv; // ln q(x) = ln p(z) − logDet_g, z held fixed
      gLdInf[b] = w2 * inv; // ln q(−x) = ln p(z′) + logDet_i
      for (let i = b * N; i < (b + 1) * N; i++) gz[i] = -inf.z[i] * w2 * inv; // ∂ ln p(z′)/∂z′ = −z′
      logQ[b] = logAddExp(logQ[b], logQm[b]) - Math.LN2;
    }
    const gxm = backward(model, params, inf.tape, gz, gLdInf, grad);
    for (let k = 0; k < gx.length; k++) gx[k] = -gxm[k] - gradPi[k] * inv;
  } else {
    for (let b = 0; b < batch; b++) gLdGen[b] = -inv;
    for (let k = 0; k < gx.length; k++) gx[k] = -gradPi[k] * inv;
  }
  let symKL = NaN;
  if (lambda > 0) {
    // App. E: λ · mean_b [ln q(x_b) − ln q(−x_b)], ln q(−x) through the inverse flow.
    const xm = alloc(dtype, batch * N);
    for (let k = 0; k < xm.length; k++) xm[k] = -x[k];
    const inf = inferWithTape(model, params, xm, batch);
    const logQm = priorLogProb(inf.z, batch, N);
    const c = lambda * inv;
    const gz = alloc(dtype, batch * N);
    const gLdInf = new Float64Array(batch);
    let s = 0;
    for (let b = 0; b < batch; b++) {
      logQm[b] += inf.logDet[b];
      s += logQ[b] - logQm[b];
      gLdGen[b] -= c; // +λ ln q(x) = λ[ln p(z) − logDet_g]
      gLdInf[b] = -c; // −λ ln q(−x) = −λ[ln p(z′) + logDet_i]
      for (let i = b * N; i < (b + 1) * N; i++) gz[i] = inf.z[i] * c; // ∂(−λ ln p(z′))/∂z′ = λ z′
    }
    symKL = s * inv;
    const gxm = backward(model, params, inf.tape, gz, gLdInf, grad);
    for (let k = 0; k < gx.length; k++) gx[k] -= gxm[k]; // x′ = −x
  }
  backward(model, params, gen.tape, gx, gLdGen, grad);

  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
  const { mean, stdErr } = meanStdErr(perSample);
  const objective = lambda > 0 ? mean + lambda * symKL : mean;
  return { loss: mean, stdErr, perSample, grad, x, logQ, logPi, symKL, objective };
}

/**
 * Monte-Carlo estimate of the symmetry regulariser KL(q(x)‖q(−x)) = E_{x∼q}[ln q(x) − ln q(−x)]
 * on x = g(z) for the given prior samples (no gradient): ≥ 0 in expectation, 0 for a
 * Z2-symmetric flow. Per-sample values can be negative.
 */
export function symmetryKL(
  model: FlowModel,
  params: Real,
  z: Real,
  batch: number,
): { mean: number; stdErr: number; perSample: Float64Array } {
  const N = model.nvars;
  const { x, logDet } = generate(model, params, z, batch);
  const logQ = priorLogProb(z, batch, N);
  const xm = alloc(dtypeOf(params), batch * N);
  for (let k = 0; k < xm.length; k++) xm[k] = -x[k];
  const logQm = logProb(model, params, xm, batch);
  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logDet[b] - logQm[b];
  const { mean, stdErr } = meanStdErr(perSample);
  return { mean, stdErr, perSample };
}

/**
 * The loss without its gradient: per-sample ln q(x) − ln π(x) for x = g(z) (symmetrised q when
 * asked). Used to evaluate the final variational free energy on fresh samples.
 */
export function pddLoss(
  model: FlowModel,
  params: Real,
  target: Target,
  z: Real,
  batch: number,
  opts: ObjectiveOptions,
): { loss: number; stdErr: number; perSample: Float64Array; x: Real; logQ: Float64Array; logPi: Float64Array } {
  const N = model.nvars;
  const { x, logDet } = generate(model, params, z, batch);
  const logQ = priorLogProb(z, batch, N);
  for (let b = 0; b < batch; b++) logQ[b] -= logDet[b];
  if (opts.symmetrize) {
    const xm = alloc(dtypeOf(params), batch * N);
    for (let k = 0; k < xm.length; k++) xm[k] = -x[k];
    const logQm = logProb(model, params, xm, batch);
    for (let b = 0; b < batch; b++) logQ[b] = logAddExp(logQ[b], logQm[b]) - Math.LN2;
  }
  const logPi = new Float64Array(batch);
  target.logProb(x, batch, logPi);
  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
  const { mean, stdErr } = meanStdErr(perSample);
  return { loss: mean, stdErr, perSample, x, logQ, logPi };
}
