import { describe, expect, it } from "vitest";
import {
  criticalTemperature,
  isingExactObservables,
  isingLogZEnumerate,
  kaufmanEnergyPerSite,
  kaufmanLogZ,
} from "../../src/targets/kaufman.ts";
import { hamiltonian, logSumExpArr, spinsOf } from "./helpers.ts";

const Tc = criticalTemperature();
const TEMPS = [0.5, 1.0, 2.0, Tc, 2.5, 4.0, 10.0];

/**
 * Onsager's infinite-lattice ln Z / N by a midpoint rule, independent of Kaufman's formula:
 *   ln Z/N = ln 2 + (1/8π²) ∫∫_{[0,2π]²} ln[cosh² 2K − sinh 2K (cos a + cos b)] da db.
 */
function onsagerLogZPerSite(T: number, n = 1200): number {
  const K = 1 / T;
  const c2 = Math.cosh(2 * K) ** 2;
  const s2 = Math.sinh(2 * K);
  const cs = new Float64Array(n);
  for (let k = 0; k < n; k++) cs[k] = Math.cos((2 * Math.PI * (k + 0.5)) / n);
  let sum = 0;
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) sum += Math.log(c2 - s2 * (cs[a] + cs[b]));
  return Math.LN2 + 0.5 * (sum / (n * n));
}

describe("Ising enumeration (the reference for Kaufman)", () => {
  it("enumeration agrees with a naive sum over states written in the test (L = 2, 3)", () => {
    for (const L of [2, 3]) {
      const N = L * L;
      for (const T of [1.0, Tc, 4.0]) {
        const terms: number[] = [];
        for (let k = 0; k < 2 ** N; k++) terms.push(-hamiltonian(spinsOf(k, N), L) / T);
        expect(isingLogZEnumerate(L, T)).toBeCloseTo(logSumExpArr(terms), 12);
      }
    }
  });

  it("L = 2 has doubled bonds: ground-state energy −2N and ln Z = ln(2e^{8β} + 12 + 2e^{−8β})", () => {
    // L=2: 2 ground states (H = −8), 2 checkerboard (H = +8), 12 states with H = 0
    for (const T of [0.7, 2, 5]) {
      const b = 1 / T;
      expect(isingLogZEnumerate(2, T)).toBeCloseTo(Math.log(2 * Math.exp(8 * b) + 12 + 2 * Math.exp(-8 * b)), 12);
    }
    expect(isingExactObservables(2, 0.05).energyPerSite).toBeCloseTo(-2, 10);
  });

  it("observables obey their limits", () => {
    const lo = isingExactObservables(4, 0.3);
    expect(lo.absMagnetisation).toBeCloseTo(1, 8);
    expect(lo.structureFactor).toBeCloseTo(1, 8);
    const hi = isingExactObservables(4, 1e6);
    expect(hi.energyPerSite).toBeCloseTo(0, 5);
    expect(hi.structureFactor).toBeCloseTo(1 / 16, 5); // independent spins: ⟨M²⟩ = N
  });
});

describe("Kaufman's exact finite-lattice ln Z", () => {
  it.each([2, 3, 4])("equals brute-force enumeration for L = %i at T = 0.5 … 10 (1e-10 relative)", (L) => {
    for (const T of TEMPS) {
      const a = kaufmanLogZ(L, T);
      const b = isingLogZEnumerate(L, T);
      expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-10);
    }
  });

  it("energy per site from Kaufman (β-derivative) equals enumeration for L = 3, 4", () => {
    for (const L of [3, 4])
      for (const T of [1.0, 2.0, Tc, 3.0, 6.0]) {
        expect(Math.abs(kaufmanEnergyPerSite(L, T) - isingExactObservables(L, T).energyPerSite)).toBeLessThan(1e-8);
      }
  });

  it("is finite at L = 64 and L = 1024 for T = 0.5, T_c, 10", () => {
    for (const L of [64, 1024])
      for (const T of [0.5, Tc, 10]) {
        const v = kaufmanLogZ(L, T);
        expect(Number.isFinite(v)).toBe(true);
        expect(v / (L * L)).toBeGreaterThan(Math.LN2);
      }
    // T = 0.5: ln Z ≈ 2Nβ + ln 2 (two ground states) + N e^{−16} (single flips)
    const N = 64 * 64;
    expect(kaufmanLogZ(64, 0.5) - (4 * N + Math.LN2)).toBeCloseTo(N * Math.exp(-16), 6);
  });

  it("is smooth in T at L = 64: energy increases with T and the specific heat stays positive across T_c", () => {
    const Ts: number[] = [Tc];
    for (let k = 0; k <= 38; k++) Ts.push(0.5 + 0.25 * k); // 0.5 … 10
    for (let k = 1; k < 60; k++) if (k !== 25 && k !== 50) Ts.push(2 + 0.01 * k); // fine grid through T_c
    Ts.sort((a, b) => a - b);
    const E = Ts.map((T) => kaufmanEnergyPerSite(64, T));
    for (const e of E) expect(Number.isFinite(e)).toBe(true);
    for (let k = 1; k < E.length; k++) expect(E[k]).toBeGreaterThan(E[k - 1]);
    expect(E[0]).toBeCloseTo(-2, 4);
    // high-temperature series: ln Z/N = ln 2 + 2 ln cosh β + t⁴ + 2t⁶ + O(t⁸), t = tanh β
    const t = Math.tanh(0.1);
    expect(E[E.length - 1]).toBeCloseTo(-2 * t - (4 * t ** 3 + 12 * t ** 5) * (1 - t * t), 5);
    // continuity through T_c where γ_0 changes sign
    const eps = 1e-7;
    const below = kaufmanLogZ(64, Tc - eps),
      at = kaufmanLogZ(64, Tc),
      above = kaufmanLogZ(64, Tc + eps);
    expect(Math.abs(above - below)).toBeLessThan(1e-6 * 4096);
    expect((at - below) * (above - at)).toBeGreaterThan(0);
  });

  it("approaches Onsager's free energy away from T_c (ln 2 / N degeneracy correction below T_c)", () => {
    for (const T of [1.5, 2.0]) {
      const N = 64 * 64;
      expect(Math.abs(kaufmanLogZ(64, T) / N - Math.LN2 / N - onsagerLogZPerSite(T))).toBeLessThan(1e-9);
    }
    for (const T of [3.0, 5.0, 10.0]) {
      expect(Math.abs(kaufmanLogZ(64, T) / 4096 - onsagerLogZPerSite(T))).toBeLessThan(1e-9);
    }
  });

  it("at T_c converges to Onsager as C/L² with the torus amplitude C ≈ 0.64", () => {
    // −βf(T_c) = ½ ln 2 + 2G/π (G Catalan's constant); the midpoint integral reproduces it
    const catalan = 0.915965594177219015054603514932;
    const fc = 0.5 * Math.LN2 + (2 * catalan) / Math.PI;
    expect(onsagerLogZPerSite(Tc, 1500)).toBeCloseTo(fc, 5);
    const amps = [16, 32, 64, 128].map((L) => (kaufmanLogZ(L, Tc) / (L * L) - fc) * L * L);
    for (const a of amps) expect(a).toBeGreaterThan(0.6);
    for (const a of amps) expect(a).toBeLessThan(0.68);
    expect(Math.abs(amps[3] - amps[2])).toBeLessThan(Math.abs(amps[1] - amps[0]) + 1e-12);
  });

  it("T_c = 2 / ln(1 + √2)", () => {
    expect(Tc).toBeCloseTo(2.269185314213022, 14);
    expect(Math.sinh(2 / Tc)).toBeCloseTo(1, 14);
  });

  it("rejects bad input with a RangeError naming the value", () => {
    expect(() => kaufmanLogZ(1, 2)).toThrow(/L = 1/);
    expect(() => kaufmanLogZ(4, 0)).toThrow(/T = 0/);
    expect(() => kaufmanLogZ(4, NaN)).toThrow(/T = NaN/);
    expect(() => isingLogZEnumerate(5, 2)).toThrow(/L = 5.*2\.\.4/);
  });
});
