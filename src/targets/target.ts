import type { Real } from "../engine/real.ts";

/**
 * An unnormalised lattice density π(x) on an L×L periodic lattice.
 * Targets know nothing of flows: they are leaves of the dependency graph.
 */
export interface Target {
  /** Short identifier, e.g. "ising" or "gaussian". */
  readonly kind: string;
  /** Linear lattice size. */
  readonly L: number;
  /** Number of variables N = L*L. */
  readonly nvars: number;
  /** True when π(−x) = π(x) (Z2 symmetry), so the symmetrised model of Eq. (S4) applies. */
  readonly z2Symmetric: boolean;
  /** Exact −ln Z when known (float64, computed by the code, never copied). */
  readonly exactNegLogZ?: number;
  /** Everything needed to rebuild this target (stored in run configs). */
  readonly config: Readonly<Record<string, number | string | boolean>>;
  /**
   * log π(x) for each of the `batch` rows of x (length batch*nvars), written to out[b].
   * When `grad` is given (same length as x) it receives ∂ log π / ∂x.
   */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void;
}
