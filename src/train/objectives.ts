/**
 * Training objectives as free functions of (flow, params, target, samples) (STYLE).
 *
 * Probability density distillation (Eq. 3–5): the reverse KL
 *     L = E_{z∼p}[ ln q(g(z)) − ln π(g(z)) ] ≥ −ln Z,
 * a variational free energy, with reparametrised gradients. With `symmetrize`, q is replaced by
 * the Z2-symmetrised model q_sym(x) = ½[q(x) + q(−x)] (Eq. S4), evaluated with log-add-exp;
 * its bound is tighter by KL(q‖q_sym) ≥ 0.
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { logAddExp, meanStdErr, sigmoid } from "../engine/math.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, generate, generateWithTape, inferWithTape, logProb, priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";

export interface ObjectiveOptions {
  /** use q_sym of Eq. (S4); requires a Z2-symmetric target */
  symmetrize: boolean;
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
}

/**
 * Loss and gradient of probability density distillation on given prior samples z (batch rows).
 * The randomness is explicit: the caller draws z.
 */
export function pddLossAndGrad(
  model: FlowModel, params: Real, target: Target, z: Real, batch: number, opts: ObjectiveOptions,
): LossAndGrad {
  if (target.nvars !== model.nvars) {
    throw new RangeError(`target has ${target.nvars} variables but the flow has ${model.nvars}`);
  }
  if (opts.symmetrize && !target.z2Symmetric) {
    throw new RangeError(`symmetrize = true needs a Z2-symmetric target; target '${target.kind}' is not`);
  }
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
  backward(model, params, gen.tape, gx, gLdGen, grad);

  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
  const { mean, stdErr } = meanStdErr(perSample);
  return { loss: mean, stdErr, perSample, grad, x, logQ, logPi };
}

/**
 * The loss without its gradient: per-sample ln q(x) − ln π(x) for x = g(z) (symmetrised q when
 * asked). Used to evaluate the final variational free energy on fresh samples.
 */
export function pddLoss(
  model: FlowModel, params: Real, target: Target, z: Real, batch: number, opts: ObjectiveOptions,
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
