/**
 * Path-gradient ("sticking the landing") estimator of the reverse-KL gradient of probability
 * density distillation (Eq. 5; Roeder, Wu & Duvenaud 2017; Vaitl et al. 2022, arXiv:2207.08219).
 *
 * The per-sample loss is ℓ(θ) = ln q_θ(x) − ln π(x) at x = g_θ(z) (q_sym of Eq. S4 when
 * symmetrised). Its total derivative splits into a path term and a score term:
 *     dℓ/dθ = [∇ₓ ln q_θ(x) − ∇ₓ ln π(x)] · ∂x/∂θ  +  ∂ ln q_θ(x)/∂θ |_x fixed .
 * The score term has zero expectation (E_{x∼q}[∇_θ ln q_θ(x)] = ∫∇_θ q = 0; for q_sym the same
 * holds under x ∼ q because ∇_θ ln q_sym(x) is even in x and E_q of an even function equals its
 * E_{q_sym}). Dropping it leaves an unbiased estimator whose variance vanishes where q = π/Z
 * (then ∇ₓ ln q = ∇ₓ ln π pointwise), which the reparametrised estimator does not.
 *
 * Cost: ∇ₓ ln q(x) at fixed θ is the backward of an inference pass at x, input adjoint only (no
 * parameter gradient). Its tape comes from the generate pass (each layer's output is the
 * inference pass's input of that layer), so only q_sym's pass at −x runs as a real inference
 * pass. Then the generate pass's backward carries the cotangent gx = ∇ₓ ln q − ∇ₓ ln π with zero
 * log-det cotangent.
 */
import { logAddExp, meanStdErr, sigmoid } from "../engine/math.ts";
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { FlowModel, Tape } from "../flow/flow.ts";
import { backward, generateWithTapes, inferWithTape, priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";
import type { LossAndGrad, ObjectiveOptions } from "./objectives.ts";

/** What the generate pass x = g(z) already knows of the inference pass at x (generateWithTapes). */
export interface GeneratedPass {
  z: Real;
  logDet: Float64Array;
  inverseTape: Tape;
}

/**
 * ∇ₓ ln q(x) of each row at fixed parameters (q_sym when `symmetrize`), with ln q(x) itself.
 * ln q(x) = ln p(f(x)) + ln|det ∂f/∂x| with f = g⁻¹ (Eq. 1). Given the generate pass that made x
 * (`generated`), its inverse tape stands in for the inference pass at x, which then runs only at
 * −x. The backward passes ask for the input adjoint only (no parameter gradient).
 */
export function modelScoreX(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  symmetrize: boolean,
  generated?: GeneratedPass,
): { gradX: Real; logQ: Float64Array } {
  const N = model.nvars;
  const dtype = dtypeOf(params);
  // z = f(x), ln q(x) = ln p(z) + ln|det ∂f/∂x| and the tape, by an inference pass
  const inferAt = (xx: Real): { z: Real; lq: Float64Array; tape: Tape } => {
    const inf = inferWithTape(model, params, xx, batch);
    const lq = priorLogProb(inf.z, batch, N);
    for (let b = 0; b < batch; b++) lq[b] += inf.logDet[b];
    return { z: inf.z, lq, tape: inf.tape };
  };
  // at x: from the generate pass (ln q = ln p(z) − ln|det ∂x/∂z|), or by an inference pass
  let plus: { z: Real; lq: Float64Array; tape: Tape };
  if (generated) {
    const lq = priorLogProb(generated.z, batch, N);
    for (let b = 0; b < batch; b++) lq[b] -= generated.logDet[b];
    plus = { z: generated.z, lq, tape: generated.inverseTape };
  } else plus = inferAt(x);
  // at −x (q_sym only)
  const minus = symmetrize ? inferAt(x.map((v) => -v) as Real) : null;
  // weights of q(x) and q(−x) in q_sym(x) (1 and 0 for the plain model)
  const wPlus = new Float64Array(batch);
  const logQ = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    if (minus) {
      wPlus[b] = sigmoid(plus.lq[b] - minus.lq[b]);
      logQ[b] = logAddExp(plus.lq[b], minus.lq[b]) - Math.LN2;
    } else {
      wPlus[b] = 1;
      logQ[b] = plus.lq[b];
    }
  }
  // ∂ ln p(z)/∂z = −z, weighted; the log-det adjoint is the same weight
  const scoreAt = (zz: Real, tape: Tape, w: Float64Array): Real => {
    const gz = alloc(dtype, batch * N);
    for (let b = 0; b < batch; b++) for (let i = b * N; i < (b + 1) * N; i++) gz[i] = -zz[i] * w[b];
    return backward(model, params, tape, gz, w, null);
  };
  const gradX = scoreAt(plus.z, plus.tape, wPlus);
  if (minus) {
    const gm = scoreAt(
      minus.z,
      minus.tape,
      wPlus.map((v) => 1 - v),
    );
    for (let k = 0; k < gradX.length; k++) gradX[k] -= gm[k]; // x′ = −x
  }
  return { gradX, logQ };
}

/**
 * Loss and path gradient on given prior samples z (batch rows); same result shape as
 * pddLossAndGrad. The loss is the same variational free energy; only the gradient estimator
 * differs (same expectation). The App. E regulariser is not supported here.
 */
export function pathLossAndGrad(
  model: FlowModel,
  params: Real,
  target: Target,
  z: Real,
  batch: number,
  opts: ObjectiveOptions,
): LossAndGrad {
  if ((opts.symmetryWeight ?? 0) > 0)
    throw new RangeError(
      "the path gradient does not support the symmetry regulariser (symmetry-weight > 0): use the reparametrised gradient",
    );
  const N = model.nvars;
  const dtype = dtypeOf(params);
  const gen = generateWithTapes(model, params, z, batch);
  const x = gen.x;
  const logPi = new Float64Array(batch);
  const gradPi = alloc(dtype, batch * N);
  target.logProb(x, batch, logPi, gradPi);
  // ln q(x) as pddLossAndGrad reports it: ln p(z) − ln|det ∂x/∂z| from the generate pass,
  // symmetrised with ln q(−x) from the inference pass (modelScoreX computes both)
  const { gradX, logQ } = modelScoreX(model, params, x, batch, opts.symmetrize, {
    z,
    logDet: gen.logDet,
    inverseTape: gen.inverseTape,
  });
  const inv = 1 / batch;
  const gx = alloc(dtype, batch * N);
  for (let k = 0; k < gx.length; k++) gx[k] = (gradX[k] - gradPi[k]) * inv;
  const grad = new Float64Array(params.length);
  backward(model, params, gen.tape, gx, new Float64Array(batch), grad);
  const perSample = new Float64Array(batch);
  for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
  const { mean, stdErr } = meanStdErr(perSample);
  return { loss: mean, stdErr, perSample, grad, x, logQ, logPi, symKL: NaN, objective: mean };
}
