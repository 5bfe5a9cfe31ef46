/**
 * A user-defined target for `neuralrg train --target ./examples/my-energy.ts`: lattice φ⁴ with an
 * extra next-nearest-neighbour (diagonal) coupling κ₂ on an 8×8 torus,
 *
 *   S(φ) = Σₓ [ −2κ Σ_μ φₓφ_{x+μ} − 2κ₂ Σ_d φₓφ_{x+d} + φₓ² + λ(φₓ² − 1)² ],   log π = −S,
 *
 * μ ∈ {(0,1), (1,0)} (nearest neighbours), d ∈ {(1,1), (1,−1)} (diagonals). With κ₂ = 0 it is
 * the built-in `phi4` target. S(−φ) = S(φ), so the Z2 symmetry is declared (and checked on load).
 *
 * The module default-exports a plain object; `satisfies UserTargetSpec` type-checks it without
 * importing anything at run time (`defineTarget({...})` from "neuralrg" does the same).
 */
import type { UserTargetSpec } from "../src/index.ts";

const L = 8;
const KAPPA = 0.2;
const KAPPA2 = 0.03;
const LAMBDA = 0.02;

/** Site index of (i, j) with periodic wrapping. */
const site = (i: number, j: number): number => (((i % L) + L) % L) * L + (((j % L) + L) % L);

export default {
  L,
  name: "phi4-nnn",
  z2Symmetric: true,

  /** log π(φ) = −S(φ) of one configuration (φ[i*L + j] is site (i, j)). */
  logProb(phi: Float64Array): number {
    let S = 0;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const p = phi[site(i, j)];
        const nn = phi[site(i, j + 1)] + phi[site(i + 1, j)];
        const diag = phi[site(i + 1, j + 1)] + phi[site(i + 1, j - 1)];
        S += -2 * KAPPA * p * nn - 2 * KAPPA2 * p * diag + p * p + LAMBDA * (p * p - 1) ** 2;
      }
    }
    return -S;
  },

  /** ∂ log π/∂φ: every bond contributes to both of its ends. */
  grad(phi: Float64Array, out: Float64Array): void {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const p = phi[site(i, j)];
        const nn = phi[site(i, j + 1)] + phi[site(i, j - 1)] + phi[site(i + 1, j)] + phi[site(i - 1, j)];
        const diag =
          phi[site(i + 1, j + 1)] + phi[site(i - 1, j - 1)] + phi[site(i + 1, j - 1)] + phi[site(i - 1, j + 1)];
        out[site(i, j)] = 2 * KAPPA * nn + 2 * KAPPA2 * diag - 2 * p - 4 * LAMBDA * p * (p * p - 1);
      }
    }
  },
} satisfies UserTargetSpec;
