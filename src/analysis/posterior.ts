/**
 * The symmetric posterior over the sign η for inference (supplement, Eq. S5).
 *
 * The symmetrised model q_sym(x) = ½ Σ_η q(ηx) (Eq. S2) is a mixture over the sign η = ±1 with
 * x = η g(z). Bayes' rule gives the posterior of the latent vector
 *     p(z|x) = (1 / 2q_sym(x)) Σ_η q(ηx) δ(z − g⁻¹(ηx)),                          (S5)
 * i.e. the sign is η with probability
 *     p(η|x) = q(ηx) / (q(x) + q(−x)),   p(+|x) = σ(ln q(x) − ln q(−x)),
 * and given η the latent vector is z = g⁻¹(ηx). "In Fig. 4(a) the latent vector is inferred in
 * this way, and the physical variables are flipped accordingly" (supplement, after Eq. S5).
 *
 * Modes of `fixSign`:
 *  - "sample" (the default of the analysis, the supplement's reading of S5): draw η ∼ p(η|x);
 *  - "map": take the more probable sign, argmax_η q(ηx) (deterministic; for a well-trained
 *    flow p(η|x) is nearly 0 or 1 and both modes agree on almost every configuration);
 *  - "none": η = +1 (models trained without symmetrisation, or targets without Z2 symmetry).
 */
import { sigmoid } from "../engine/math.ts";
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import type { FlowModel } from "../flow/flow.ts";
import { flowLogQ, negate } from "../sample/density.ts";

export type SignMode = "sample" | "map" | "none";
export const SIGN_MODES: readonly SignMode[] = ["sample", "map", "none"];

export interface SignPosterior {
  /** ln q(x) per row */
  logQPlus: Float64Array;
  /** ln q(−x) per row */
  logQMinus: Float64Array;
  /** p(η = +1 | x) = q(x) / (q(x) + q(−x)) per row (Eq. S5) */
  pPlus: Float64Array;
}

/** p(η|x) ∝ q(ηx) for η = ±1 (Eq. S5), per row of x (batch × N). */
export function signPosterior(model: FlowModel, params: Real, x: Real, batch: number): SignPosterior {
  const logQPlus = flowLogQ(model, params, x, batch);
  const logQMinus = flowLogQ(model, params, negate(x), batch);
  const pPlus = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const d = logQPlus[b] - logQMinus[b];
    // both −∞ (x outside the support either way): no information, p = ½
    pPlus[b] = Number.isNaN(d) ? 0.5 : sigmoid(d);
  }
  return { logQPlus, logQMinus, pPlus };
}

export interface SignFixed {
  /** η_b · x_b per row (a new array) */
  x: Real;
  /** the sign chosen for each row */
  eta: Int8Array;
  /** p(η = +1 | x) per row (1 in mode "none") */
  pPlus: Float64Array;
}

/**
 * Choose the sign of each configuration by the posterior of Eq. (S5) and flip it accordingly:
 * the latent vector of row b is then z_b = g⁻¹(η_b x_b). `rng` is needed for mode "sample".
 */
export function fixSign(model: FlowModel, params: Real, x: Real, batch: number, mode: SignMode, rng?: Rng): SignFixed {
  const N = model.nvars;
  if (x.length !== batch * N) throw new RangeError(`x has length ${x.length}, expected batch × N = ${batch} × ${N}`);
  const out = x.slice() as Real;
  const eta = new Int8Array(batch).fill(1);
  if (mode === "none") return { x: out, eta, pPlus: new Float64Array(batch).fill(1) };
  if (mode === "sample" && !rng) throw new RangeError('fixSign: mode "sample" needs a random generator');
  const { pPlus } = signPosterior(model, params, x, batch);
  for (let b = 0; b < batch; b++) {
    const plus = mode === "map" ? pPlus[b] >= 0.5 : (rng as Rng).uniform() < pPlus[b];
    if (!plus) {
      eta[b] = -1;
      for (let i = b * N; i < (b + 1) * N; i++) out[i] = -out[i];
    }
  }
  return { x: out, eta, pPlus };
}
