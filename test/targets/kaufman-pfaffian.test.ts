/**
 * Kaufman's ln Z (src/targets/kaufman.ts: a product over the 2L numbers γ_k) against a second,
 * independent exact formula for the periodic L×L torus: the Pfaffian (dimer) solution as a
 * double product over momenta with the four combinations of periodic / antiperiodic boundary
 * conditions,
 *   Z = ½ (Z_{½½} + Z_{½0} + Z_{0½} − Z_{00}),
 *   Z_ab = Π_{p,q=0}^{L−1} 2 [cosh² 2K − sinh 2K (cos θ_{p+a} + cos θ_{q+b})]^{1/2},  θ_k = 2πk/L,
 * where the (p, q) = (0, 0) factor of Z_00 is taken with its sign, 2(1 − sinh 2K) (it vanishes
 * at T_c and is negative below). Evaluated in log space: ln Z_ab = N ln 2 + ½ Σ ln X_ab(p, q).
 * This is the L × L generalisation whose L → ∞ limit is Onsager's integral; here it is checked
 * against enumeration at L = 4 and then against Kaufman at L = 64, the lattice trained in the
 * 64×64 run, at temperatures on both sides of and at T_c.
 */
import { describe, expect, it } from "vitest";
import { criticalTemperature, isingLogZEnumerate, kaufmanLogZ } from "../../src/targets/kaufman.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";

function pfaffianLogZ(L: number, T: number): number {
  const K = 1 / T;
  const N = L * L;
  const c2 = Math.cosh(2 * K) ** 2;
  const s2 = Math.sinh(2 * K);
  const logs: number[] = [];
  const signs: number[] = [];
  for (const [a, b, sign] of [
    [0.5, 0.5, 1],
    [0.5, 0, 1],
    [0, 0.5, 1],
    [0, 0, -1],
  ] as const) {
    let sum = 0;
    let s: number = sign;
    for (let p = 0; p < L; p++) {
      const cp = Math.cos((2 * Math.PI * (p + a)) / L);
      for (let q = 0; q < L; q++) {
        if (a === 0 && b === 0 && p === 0 && q === 0) {
          // signed factor 1 − sinh 2K (its square is X_00(0, 0) = cosh² 2K − 2 sinh 2K)
          const f = 1 - s2;
          if (f < 0) s = -s;
          sum += 2 * Math.log(Math.abs(f)); // ½ · this = ln|1 − sinh 2K|
          continue;
        }
        sum += Math.log(c2 - s2 * (cp + Math.cos((2 * Math.PI * (q + b)) / L)));
      }
    }
    logs.push(N * Math.LN2 + 0.5 * sum);
    signs.push(Number.isFinite(sum) ? s : 0);
  }
  let m = -Infinity;
  for (let i = 0; i < 4; i++) if (signs[i] !== 0) m = Math.max(m, logs[i]);
  let acc = 0;
  for (let i = 0; i < 4; i++) if (signs[i] !== 0) acc += signs[i] * Math.exp(logs[i] - m);
  return -Math.LN2 + m + Math.log(acc);
}

const Tc = criticalTemperature();

describe("Kaufman's ln Z against the Pfaffian double-product formula", () => {
  it("the Pfaffian formula equals enumeration at L = 4 (so its boundary-condition signs are right)", () => {
    for (const T of [0.8, 1.5, 2.0, Tc, 2.5, 4.0, 10]) {
      expect(Math.abs(pfaffianLogZ(4, T) - isingLogZEnumerate(4, T))).toBeLessThan(1e-11);
    }
  });

  it("agrees with Kaufman at L = 8, 16, 64 to 1e-13 relative, through T_c", () => {
    for (const L of [8, 16, 64]) {
      for (const T of [1.0, 2.0, 2.2, Tc, 2.3, 2.5, 3.0, 5.0]) {
        const k = kaufmanLogZ(L, T);
        const p = pfaffianLogZ(L, T);
        expect(Math.abs(k - p) / Math.abs(p)).toBeLessThan(1e-13);
      }
    }
  });

  it("the exact −ln Z of the relaxed 64×64 model at T_c is finite and consistent with its parts", () => {
    const t = relaxedIsing({ L: 64, T: Tc });
    const N = 4096;
    // the parts, with ln Z_Ising from the independent formula
    const expected = -pfaffianLogZ(64, Tc) - 0.5 * t.logDet + (N / 2) * (Math.log(2 / Math.PI) - t.alpha);
    expect(Math.abs(t.exactNegLogZ - expected) / Math.abs(expected)).toBeLessThan(1e-13);
    // ln det(K + αI) as a direct sum over the torus spectrum written here: β[2cos θ_p + 2cos θ_q] + α
    let logDet = 0;
    for (let p = 0; p < 64; p++) {
      for (let q = 0; q < 64; q++)
        logDet += Math.log(
          (2 * Math.cos((2 * Math.PI * p) / 64) + 2 * Math.cos((2 * Math.PI * q) / 64)) / Tc + t.alpha,
        );
    }
    expect(Math.abs(logDet - t.logDet)).toBeLessThan(1e-9 * Math.abs(logDet));
    // α makes the smallest eigenvalue 0.1: β·(−4) + α = 0.1
    expect(-4 / Tc + t.alpha).toBeCloseTo(0.1, 12);
  });
});
