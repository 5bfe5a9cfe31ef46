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
 * Cost: ∇ₓ ln q(x) at fixed θ is an inference pass with tape and its backward (the parameter
 * adjoints that backward also accumulates go to a scratch buffer); with q_sym the passes at x and
 * −x run as one batch of 2·batch rows. Then the generate pass's backward carries the cotangent
 * gx = ∇ₓ ln q − ∇ₓ ln π with zero log-det cotangent.
 */
import { logAddExp, meanStdErr, sigmoid } from "../engine/math.ts";
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, generateWithTape, inferWithTape, priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";
import type { LossAndGrad, ObjectiveOptions } from "./objectives.ts";

/**
 * ∇ₓ ln q(x) of each row at fixed parameters (q_sym when `symmetrize`), with ln q(x) itself.
 * ln q(x) = ln p(f(x)) + ln|det ∂f/∂x| with f = g⁻¹ (Eq. 1).
 */
export function modelScoreX(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  symmetrize: boolean,
): { gradX: Real; logQ: Float64Array; logQNeg?: Float64Array } {
  const N = model.nvars;
  const dtype = dtypeOf(params);
  const rows = symmetrize ? 2 * batch : batch;
  const xx = alloc(dtype, rows * N);
  xx.set(x);
  if (symmetrize) for (let k = 0; k < batch * N; k++) xx[batch * N + k] = -x[k];
  const inf = inferWithTape(model, params, xx, rows);
  const lq = priorLogProb(inf.z, rows, N);
  for (let r = 0; r < rows; r++) lq[r] += inf.logDet[r];
  // weights of q(x) and q(−x) in q_sym(x) (1 and 0 for the plain model)
  const w = new Float64Array(rows);
  const logQ = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    if (symmetrize) {
      w[b] = sigmoid(lq[b] - lq[batch + b]);
      w[batch + b] = 1 - w[b];
      logQ[b] = logAddExp(lq[b], lq[batch + b]) - Math.LN2;
    } else {
      w[b] = 1;
      logQ[b] = lq[b];
    }
  }
  const gz = alloc(dtype, rows * N);
  for (let r = 0; r < rows; r++) for (let i = r * N; i < (r + 1) * N; i++) gz[i] = -inf.z[i] * w[r]; // ∂ ln p(z)/∂z = −z
  const scratch = new Float64Array(params.length);
  const g = backward(model, params, inf.tape, gz, w, scratch);
  const gradX = alloc(dtype, batch * N);
  for (let k = 0; k < batch * N; k++) gradX[k] = symmetrize ? g[k] - g[batch * N + k] : g[k]; // x′ = −x
  return symmetrize ? { gradX, logQ, logQNeg: lq.slice(batch) } : { gradX, logQ };
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
  const gen = generateWithTape(model, params, z, batch);
  const x = gen.x;
  const logPi = new Float64Array(batch);
  const gradPi = alloc(dtype, batch * N);
  target.logProb(x, batch, logPi, gradPi);
  const { gradX, logQNeg } = modelScoreX(model, params, x, batch, opts.symmetrize);
  // the loss exactly as pddLossAndGrad reports it: ln q(x) = ln p(z) − ln|det ∂x/∂z| from the
  // generate pass, symmetrised with ln q(−x) from the inference pass
  const logQ = priorLogProb(z, batch, N);
  for (let b = 0; b < batch; b++) logQ[b] -= gen.logDet[b];
  if (logQNeg) for (let b = 0; b < batch; b++) logQ[b] = logAddExp(logQ[b], logQNeg[b]) - Math.LN2;
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
