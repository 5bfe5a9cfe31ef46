import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { gaussianTarget, type GaussianOptions } from "../../src/targets/gaussian.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { gaussJordanInverse, jacobiEigenvalues, luLogDet, normalsSeeded, torusAdjacency } from "./helpers.ts";

describe("Gaussian target π(x) = exp(−½ xᵀAx)", () => {
  it("default precision is the circulant (1 + 4κ)I − κ·Adj, symmetric, non-diagonal, well conditioned", () => {
    for (const L of [2, 3, 4]) {
      const t = gaussianTarget({ L });
      const N = L * L;
      const A = t.matrix();
      const adj = torusAdjacency(L);
      for (let i = 0; i < N; i++)
        for (let j = 0; j < N; j++) {
          expect(A[i * N + j]).toBeCloseTo((i === j ? 1.8 : 0) - 0.2 * adj[i * N + j], 14);
        }
      const ev = jacobiEigenvalues(A, N);
      expect(ev[0]).toBeGreaterThan(0.999);
      expect(ev[N - 1]).toBeLessThan(2.6 + 1e-9);
    }
  });

  it("−ln Z = ½ ln det A − (N/2) ln 2π against an LU determinant, for every precision", () => {
    const cases: GaussianOptions[] = [
      { L: 3 },
      { L: 4, kappa: 0.7, scale: 2.5 },
      { L: 4, precision: "identity", scale: 0.3 },
      { L: 3, precision: "random", seed: 5 },
      { L: 4, precision: "random", seed: 1, scale: 3 },
    ];
    for (const c of cases) {
      const t = gaussianTarget(c);
      const N = t.nvars;
      const { logAbs, sign } = luLogDet(t.matrix(), N);
      expect(sign).toBe(1);
      expect(t.exactNegLogZ).toBeCloseTo(0.5 * logAbs - (N / 2) * Math.log(2 * Math.PI), 10);
    }
  });

  it.each<GaussianOptions>([
    { L: 2 },
    { L: 2, precision: "random", seed: 3 },
    { L: 2, precision: "identity", scale: 4 },
  ])("−ln Z matches a direct 4-D trapezoid quadrature of π (sign check), %o", (opts) => {
    const t = gaussianTarget(opts);
    const ev = jacobiEigenvalues(t.matrix(), 4);
    const sigmaMin = 1 / Math.sqrt(ev[3]),
      sigmaMax = 1 / Math.sqrt(ev[0]);
    const h = sigmaMin / 1.2; // trapezoid error ~ exp(−2π²σ²/h²) ≈ 5e-13
    const n = Math.ceil((8 * sigmaMax) / h);
    const side = 2 * n + 1;
    const x = new Float64Array(side * 4);
    const lp = new Float64Array(side);
    let sum = 0;
    for (let a = -n; a <= n; a++)
      for (let b = -n; b <= n; b++)
        for (let c = -n; c <= n; c++) {
          for (let d = -n; d <= n; d++) {
            const r = (d + n) * 4;
            x[r] = a * h;
            x[r + 1] = b * h;
            x[r + 2] = c * h;
            x[r + 3] = d * h;
          }
          t.logProb(x, side, lp);
          for (let k = 0; k < side; k++) sum += Math.exp(lp[k]);
        }
    const lnZ = Math.log(sum) + 4 * Math.log(h);
    expect(Math.abs(t.exactNegLogZ + lnZ)).toBeLessThan(1e-9);
  });

  it("−ln Z matches an importance-sampling Monte Carlo estimate (L = 4, N(0, I) proposal)", () => {
    const t = gaussianTarget({ L: 4, kappa: 0.1 });
    const N = 16,
      n = 100000;
    const rng = Rng.fromSeed(99);
    const x = new Float64Array(n * N);
    rng.fillNormal(x);
    const lp = new Float64Array(n);
    t.logProb(x, n, lp);
    // w = π(x)/q(x), q = N(0, I): ln w = ln π + ½|x|² + (N/2) ln 2π
    const lw = new Float64Array(n);
    let m = -Infinity;
    for (let b = 0; b < n; b++) {
      let r2 = 0;
      for (let i = 0; i < N; i++) r2 += x[b * N + i] ** 2;
      lw[b] = lp[b] + 0.5 * r2 + (N / 2) * Math.log(2 * Math.PI);
      m = Math.max(m, lw[b]);
    }
    let s = 0,
      s2 = 0;
    for (const v of lw) {
      const w = Math.exp(v - m);
      s += w;
      s2 += w * w;
    }
    const mean = s / n;
    const relErr = Math.sqrt((s2 / n - mean * mean) / n) / mean;
    const lnZ = m + Math.log(mean);
    expect(relErr).toBeLessThan(0.01);
    expect(Math.abs(-t.exactNegLogZ - lnZ)).toBeLessThan(5 * relErr);
  });

  it.each<GaussianOptions>([
    { L: 4 },
    { L: 3, precision: "random", seed: 2 },
    { L: 2, precision: "identity", scale: 2 },
  ])("gradient −Ax matches central differences, %o", (opts) => {
    const t = gaussianTarget(opts);
    const N = t.nvars,
      batch = 2;
    const x = normalsSeeded(batch * N, 8);
    const out = new Float64Array(batch),
      g = new Float64Array(batch * N);
    t.logProb(x, batch, out, g);
    const a = new Float64Array(batch),
      c = new Float64Array(batch);
    for (let k = 0; k < batch * N; k++) {
      const xp = x.slice();
      xp[k] += 1e-5;
      const xm = x.slice();
      xm[k] -= 1e-5;
      t.logProb(xp, batch, a);
      t.logProb(xm, batch, c);
      const b = Math.floor(k / N);
      expect((a[b] - c[b]) / 2e-5).toBeCloseTo(g[k], 8);
    }
  });

  it.each<GaussianOptions>([
    { L: 4 },
    { L: 3, precision: "random", seed: 4 },
    { L: 2, precision: "identity", scale: 3 },
  ])("sample() draws N(0, A⁻¹): empirical covariance and E[xᵀAx] = N, %o", (opts) => {
    const t = gaussianTarget(opts);
    const N = t.nvars,
      n = 40000;
    const x = t.sample(n, Rng.fromSeed(17));
    const cov = gaussJordanInverse(t.matrix(), N);
    let worst = 0;
    for (let i = 0; i < N; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let b = 0; b < n; b++) s += x[b * N + i] * x[b * N + j];
        const se = Math.sqrt((cov[i * N + i] * cov[j * N + j] + cov[i * N + j] ** 2) / n);
        worst = Math.max(worst, Math.abs(s / n - cov[i * N + j]) / se);
      }
    expect(worst).toBeLessThan(5);
    const lp = new Float64Array(n);
    t.logProb(x, n, lp);
    let q = 0;
    for (const v of lp) q += -2 * v;
    expect(Math.abs(q / n - N)).toBeLessThan(5 * Math.sqrt((2 * N) / n));
  });

  it("config stores only the generating parameters and rebuilds the same target", () => {
    const r = gaussianTarget({ L: 4, precision: "random", seed: 12, scale: 2 });
    expect(r.config).toEqual({ kind: "gaussian", L: 4, precision: "random", scale: 2, seed: 12 });
    const r2 = makeTarget(r.config);
    expect(r2.exactNegLogZ).toBe(r.exactNegLogZ);
    expect(gaussianTarget({ L: 8 }).config).toEqual({
      kind: "gaussian",
      L: 8,
      precision: "circulant",
      scale: 1,
      kappa: 0.2,
    });
    expect(gaussianTarget({ L: 8, precision: "identity", scale: 2 }).config).toEqual({
      kind: "gaussian",
      L: 8,
      precision: "identity",
      scale: 2,
    });
    expect(r.z2Symmetric).toBe(true);
  });

  it("rejects bad options with the value named", () => {
    expect(() => gaussianTarget({ L: 4, scale: 0 })).toThrow(/scale = 0/);
    expect(() => gaussianTarget({ L: 4, kappa: -1 })).toThrow(/kappa = -1/);
    expect(() => gaussianTarget({ L: 64, precision: "random" })).toThrow(/L = 64.*≤ 32/);
  });
});
