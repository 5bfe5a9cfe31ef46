/**
 * Maximum-likelihood training from data (forward KL): the negative log-likelihood
 *     NLL(θ) = −(1/B) Σ_b ln q_θ(x_b),   ln q(x) = ln p(g⁻¹(x)) + ln|det ∂z/∂x|   (Eq. 1),
 * with its exact gradient through the inverse flow. Minimising it over data x ∼ π minimises
 * KL(π‖q) = E_π[ln π − ln q] up to the data entropy; at the optimum the NLL equals the
 * differential entropy of the data distribution.
 *
 * With `symmetrize`, q is the Z2-symmetrised model q_sym(x) = ½[q(x) + q(−x)] of Eq. (S4),
 * evaluated with log-add-exp (two inference passes).
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { logAddExp, meanStdErr, sigmoid } from "../engine/math.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, inferWithTape, priorLogProb } from "../flow/flow.ts";
import { modelLogProb, negate } from "../sample/density.ts";

export interface NllOptions {
  /** use q_sym(x) = ½[q(x) + q(−x)] (Eq. S4) instead of q */
  symmetrize?: boolean;
}

export interface NllLossAndGrad {
  /** −mean ln q(x) over the batch (nats per configuration) */
  loss: number;
  /** standard error of that mean */
  stdErr: number;
  /** −ln q(x_b) of each row */
  perSample: Float64Array;
  /** ∂loss/∂params (flat layout of flow/params.ts) */
  grad: Float64Array;
}

function checkData(model: FlowModel, params: Real, x: Real, batch: number): void {
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch = ${batch} is invalid: it must be an integer >= 1`);
  if (x.length !== batch * model.nvars) {
    throw new RangeError(`data has length ${x.length}, expected batch × N = ${batch} × ${model.nvars}`);
  }
  if (params.length !== model.nparams) {
    throw new RangeError(`parameter array has ${params.length} entries, the flow needs ${model.nparams}`);
  }
}

/** One taped inference pass: ln q(x_b) = ln p(z_b) + ln|det ∂z/∂x|_b and the tape for `backpropagate`. */
function taped(model: FlowModel, params: Real, x: Real, batch: number) {
  const inf = inferWithTape(model, params, x, batch);
  const logQ = priorLogProb(inf.z, batch, model.nvars);
  for (let b = 0; b < batch; b++) logQ[b] += inf.logDet[b];
  return { ...inf, logQ };
}

/**
 * Accumulates Σ_b w_b/B · ∂(−ln q(x_b))/∂θ into grad for a taped pass
 * (adjoints: ∂(−ln p)/∂z = z, ∂(−ln q)/∂ logDet = −1).
 */
function backpropagate(
  model: FlowModel,
  params: Real,
  pass: ReturnType<typeof taped>,
  batch: number,
  weight: Float64Array | null,
  grad: Float64Array,
): void {
  const N = model.nvars;
  const gz = alloc(dtypeOf(params), batch * N);
  const gLd = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const c = (weight ? weight[b] : 1) / batch;
    gLd[b] = -c;
    for (let i = b * N; i < (b + 1) * N; i++) gz[i] = pass.z[i] * c;
  }
  backward(model, params, pass.tape, gz, gLd, grad);
}

/** Loss −mean ln q(x) and its gradient on a batch of data rows x (batch × N). */
export function nllLossAndGrad(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  opts: NllOptions = {},
): NllLossAndGrad {
  checkData(model, params, x, batch);
  const grad = new Float64Array(params.length);
  const perSample = new Float64Array(batch);
  if (!opts.symmetrize) {
    const pass = taped(model, params, x, batch);
    for (let b = 0; b < batch; b++) perSample[b] = -pass.logQ[b];
    backpropagate(model, params, pass, batch, null, grad);
  } else {
    // Eq. (S4): −ln q_sym = ln 2 − logaddexp(ln q(x), ln q(−x)); its gradient weights the two
    // passes by the posterior weights w₁ = q(x)/(q(x) + q(−x)) and w₂ = 1 − w₁.
    const pp = taped(model, params, x, batch);
    const pm = taped(model, params, negate(x), batch);
    const w1 = new Float64Array(batch);
    const w2 = new Float64Array(batch);
    for (let b = 0; b < batch; b++) {
      w1[b] = sigmoid(pp.logQ[b] - pm.logQ[b]);
      w2[b] = 1 - w1[b];
      perSample[b] = Math.LN2 - logAddExp(pp.logQ[b], pm.logQ[b]);
    }
    backpropagate(model, params, pp, batch, w1, grad);
    backpropagate(model, params, pm, batch, w2, grad);
  }
  const { mean, stdErr } = meanStdErr(perSample);
  return { loss: mean, stdErr, perSample, grad };
}

/** −ln q(x) of each row without gradient (symmetrised when asked); mean and standard error. */
export function nllLoss(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  opts: NllOptions = {},
): { loss: number; stdErr: number; perSample: Float64Array } {
  checkData(model, params, x, batch);
  const perSample = modelLogProb(model, params, x, batch, opts.symmetrize === true);
  for (let b = 0; b < batch; b++) perSample[b] = -perSample[b];
  const { mean, stdErr } = meanStdErr(perSample);
  return { loss: mean, stdErr, perSample };
}
