/**
 * Data sources: the fields x | s of the relaxed Ising model (derived from π(x) in
 * src/data/sources.ts) checked against the dense M = K + αI built from the lattice, against
 * the target's own gradient (Stein's identity E_π[x ∇ln π(x)ᵀ] = −I holds only for x ∼ π), and
 * against Kaufman's exact energy; Gaussian draws against the exact covariance.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { drawGaussianData, drawIsingData, fieldsGivenSpins } from "../../src/data/sources.ts";
import { relaxedIsing, energyPerSite, meanSpins } from "../../src/targets/ising.ts";
import { kaufmanEnergyPerSite } from "../../src/targets/kaufman.ts";
import { neighbours } from "../../src/targets/lattice.ts";
import { estimateMean } from "../../src/engine/stats.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";

const TC = 2 / Math.log(1 + Math.SQRT2);

/** Dense M = β·A + αI from the neighbour lists (A counts bonds; independent of the FFT code). */
function denseM(L: number, T: number): Float64Array {
  const t = relaxedIsing({ L, T });
  const N = L * L, nb = neighbours(L), M = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    M[i * N + i] += t.alpha;
    for (let k = 0; k < 4; k++) M[i * N + nb[4 * i + k]] += 1 / T;
  }
  return M;
}

describe("relaxed Ising fields given spins", () => {
  it("x | s has mean M s and covariance M (dense M from the lattice)", () => {
    const L = 4, N = 16, T = 2.5, n = 40000;
    const t = relaxedIsing({ L, T });
    const rng = Rng.fromSeed(2);
    const s1 = Float64Array.from({ length: N }, () => (rng.uniform() < 0.5 ? 1 : -1));
    const s = new Float64Array(n * N);
    for (let b = 0; b < n; b++) s.set(s1, b * N);
    const x = fieldsGivenSpins(t, s, n, Rng.fromSeed(3));
    const M = denseM(L, T);
    const mean = new Float64Array(N);
    for (let b = 0; b < n; b++) for (let i = 0; i < N; i++) mean[i] += x[b * N + i] / n;
    let worstMean = 0, worstCov = 0;
    for (let i = 0; i < N; i++) {
      let ms = 0;
      for (let j = 0; j < N; j++) ms += M[i * N + j] * s1[j];
      worstMean = Math.max(worstMean, Math.abs(mean[i] - ms) / Math.sqrt(M[i * N + i] / n));
      for (let j = 0; j < N; j++) {
        let c = 0;
        for (let b = 0; b < n; b++) c += (x[b * N + i] - mean[i]) * (x[b * N + j] - mean[j]);
        c /= n - 1;
        const se = Math.sqrt((M[i * N + i] * M[j * N + j] + M[i * N + j] ** 2) / n);
        worstCov = Math.max(worstCov, Math.abs(c - M[i * N + j]) / se);
      }
    }
    expect(worstMean).toBeLessThan(4.5);
    expect(worstCov).toBeLessThan(4.5);
  });

  it("Wolff spins + fields satisfy Stein's identity E[x ∂ln π/∂xᵀ] = −I with the target's own gradient (4×4, T_c)", () => {
    const L = 4, N = 16;
    const d = drawIsingData({ L, T: TC, n: 6000, sweepsBetween: 1, warmup: 100, seed: 9 });
    const g = new Float64Array(d.x.length);
    d.target.logProb(d.x, 6000, new Float64Array(6000), g);
    // diagonal mean and mean off-diagonal entry, each with an error bar (rows are nearly independent: Wolff + fresh noise)
    const diag = new Float64Array(6000), off = new Float64Array(6000);
    for (let b = 0; b < 6000; b++) {
      let sd = 0, so = 0;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const v = d.x[b * N + i] * g[b * N + j];
        if (i === j) sd += v; else so += v;
      }
      diag[b] = sd / N;
      off[b] = so / (N * (N - 1));
    }
    const ed = estimateMean(diag), eo = estimateMean(off);
    expect(Math.abs(ed.mean + 1)).toBeLessThan(4 * ed.error);
    expect(Math.abs(eo.mean)).toBeLessThan(4 * eo.error);
    expect(ed.error).toBeLessThan(0.05);
  });

  it("the Ising energy of the spins, and its improved estimator from tanh x, match Kaufman on 8×8 at T_c", () => {
    const L = 8, n = 4000;
    const d = drawIsingData({ L, T: TC, n, sweepsBetween: 1, warmup: 100, seed: 11 });
    const exact = kaufmanEnergyPerSite(L, TC);
    expect(Math.abs(d.energyPerSite.mean - exact)).toBeLessThan(4 * d.energyPerSite.error);
    const improved = estimateMean(energyPerSite(meanSpins(d.x, n * L * L), L, n));
    expect(Math.abs(improved.mean - exact)).toBeLessThan(4 * improved.error);
    expect(improved.error).toBeLessThan(0.02);
  });

  it("rejects bad input with the value named", () => {
    expect(() => drawIsingData({ L: 4, T: 2, n: 0, sweepsBetween: 1, warmup: 0, seed: 1 })).toThrow(/n = 0 is invalid/);
    expect(() => drawIsingData({ L: 4, T: 2, n: 5, sweepsBetween: 0, warmup: 0, seed: 1 })).toThrow(/sweeps-between = 0/);
  });
});

describe("Gaussian data", () => {
  it("draws have the exact covariance A⁻¹ (energy per variable ½ ⟨xᵀAx⟩/N = ½)", () => {
    const n = 20000;
    const { x, targetConfig } = drawGaussianData({ L: 4, n, seed: 5 });
    const t = gaussianTarget({ L: 4 });
    expect(targetConfig).toEqual(t.config);
    const lp = new Float64Array(n);
    t.logProb(x, n, lp);
    const e = estimateMean(Array.from(lp, (v) => -v / 16));
    expect(Math.abs(e.mean - 0.5)).toBeLessThan(4 * e.error);
  });
});
