/**
 * The model density q(x) of a trained flow, as used by the samplers and estimators, and its
 * Z2-symmetrised version (Eq. S2/S4)
 *     q_sym(x) = ½[q(x) + q(−x)],   ln q_sym(x) = logaddexp(ln q(x), ln q(−x)) − ln 2,
 * evaluated in log space. Sampling from q_sym: x = g(z), z ∼ N(0, 1), then flip the sign of x
 * with probability ½ (the mixture over η of the supplement's S5 discussion).
 *
 * `ProposalDensity` is the small interface MIS and importance sampling need; `flowDensity`
 * builds one from a flow, and tests can build one from any exactly known distribution.
 */
import { logAddExp } from "../engine/math.ts";
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import type { FlowModel } from "../flow/flow.ts";
import { generate, infer, priorLogProb } from "../flow/flow.ts";

/** A normalised density that can be sampled and evaluated, on batches of `nvars`-vectors. */
export interface ProposalDensity {
  readonly nvars: number;
  /** ln q(x) for each of the `batch` rows of x */
  logProb(x: Real, batch: number): Float64Array;
  /** `batch` independent samples x ∼ q and their ln q(x) */
  sample(batch: number, rng: Rng): { x: Real; logQ: Float64Array };
}

/** ln q(x) = ln p(g⁻¹(x)) + ln|det ∂z/∂x| (Eq. 1), per row. */
export function flowLogQ(model: FlowModel, params: Real, x: Real, batch: number): Float64Array {
  const { z, logDet } = infer(model, params, x, batch);
  const lp = priorLogProb(z, batch, model.nvars);
  for (let b = 0; b < batch; b++) lp[b] += logDet[b];
  return lp;
}

/** −x as a new array of the same dtype. */
export function negate(x: Real): Real {
  const out = alloc(dtypeOf(x), x.length);
  for (let i = 0; i < x.length; i++) out[i] = -x[i];
  return out;
}

/** ln q_sym(x) = logaddexp(ln q(x), ln q(−x)) − ln 2 (Eq. S2), per row; `logQx` may pass a known ln q(x). */
export function flowLogQSym(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  logQx?: Float64Array,
): Float64Array {
  const a = logQx ?? flowLogQ(model, params, x, batch);
  const b = flowLogQ(model, params, negate(x), batch);
  const out = new Float64Array(batch);
  for (let i = 0; i < batch; i++) out[i] = logAddExp(a[i], b[i]) - Math.LN2;
  return out;
}

/** ln q or ln q_sym per row. */
export function modelLogProb(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  symmetrize: boolean,
): Float64Array {
  return symmetrize ? flowLogQSym(model, params, x, batch) : flowLogQ(model, params, x, batch);
}

export interface ModelSample {
  x: Real;
  /** the latent vector with x = η g(z) */
  z: Real;
  /** ln q(x) (ln q_sym(x) when symmetrised) */
  logQ: Float64Array;
  /** the sign η applied to each row (all +1 unless symmetrised) */
  sign: Int8Array;
}

/**
 * Draw `batch` samples from q (or q_sym): z ∼ N(0, 1) from `rng`, x = g(z); symmetrised: then
 * x → −x with probability ½ per row. Note ln q_sym(−x) = ln q_sym(x), so the density does not
 * depend on the flip.
 */
export function sampleModel(model: FlowModel, params: Real, batch: number, rng: Rng, symmetrize: boolean): ModelSample {
  const N = model.nvars;
  const z = alloc(dtypeOf(params), batch * N);
  rng.fillNormal(z);
  const { x, logDet } = generate(model, params, z, batch);
  const logQ = priorLogProb(z, batch, N);
  for (let b = 0; b < batch; b++) logQ[b] -= logDet[b];
  const sign = new Int8Array(batch).fill(1);
  if (!symmetrize) return { x, z, logQ, sign };
  const sym = flowLogQSym(model, params, x, batch, logQ);
  for (let b = 0; b < batch; b++) {
    if (rng.uniform() < 0.5) {
      sign[b] = -1;
      for (let i = b * N; i < (b + 1) * N; i++) x[i] = -x[i];
    }
  }
  return { x, z, logQ: sym, sign };
}

/** The flow's q (or q_sym) as a `ProposalDensity`. */
export function flowDensity(model: FlowModel, params: Real, opts: { symmetrize: boolean }): ProposalDensity {
  const symmetrize = opts.symmetrize;
  return {
    nvars: model.nvars,
    logProb: (x, batch) => modelLogProb(model, params, x, batch, symmetrize),
    sample: (batch, rng) => {
      const s = sampleModel(model, params, batch, rng, symmetrize);
      return { x: s.x, logQ: s.logQ };
    },
  };
}
