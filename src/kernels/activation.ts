/**
 * Hidden activations of the coupling networks (s and t nets of the Real NVP couplings, Eq. 3 of
 * v1 = arXiv:1802.02840v1). Both are the identity for u ≥ 0, saturate at −1 for u → −∞, and
 * have a continuous first derivative, so the flow's log-density stays C¹ (latent HMC needs its
 * gradient):
 *   - "elu" (the paper's and the original code's): ELU(u) = e^u − 1 for u < 0;
 *   - "rational": u / (1 − u) for u < 0 (the negative branch of softsign, u / (1 + |u|)): one
 *     division instead of an exponential, which is most of a small network's cost in our SIMD
 *     kernel (docs/performance.md). A different network, not an approximation of ELU.
 * The derivative is recovered from the output a, so the backward pass needs no pre-activation:
 *   ELU'(u) = a + 1,  rational'(u) = 1 / (1 − u)² = (a + 1)²   (for u < 0; 1 otherwise).
 */
export type Activation = "elu" | "rational";

export const ACTIVATIONS: readonly Activation[] = ["elu", "rational"];

/** a = act(u) */
export function activate(u: number, rational: boolean): number {
  if (u > 0) return u;
  return rational ? u / (1 - u) : Math.expm1(u);
}

/** act′(u) from the output a = act(u) */
export function activationSlope(a: number, rational: boolean): number {
  if (a > 0) return 1;
  return rational ? (a + 1) * (a + 1) : a + 1;
}
