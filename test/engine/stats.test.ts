import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import {
  autocovariance,
  binning,
  chainsFromSteps,
  estimateMean,
  gelmanRubin,
  halvesDrift,
  importanceEss,
  tauInt,
} from "../../src/engine/stats.ts";

/** Stationary AR(1): x_t = ρ x_{t−1} + √(1−ρ²) ε_t, unit variance, τ_int = (1+ρ)/(1−ρ). */
function ar1(n: number, rho: number, rng: Rng, mu = 0): Float64Array {
  const x = new Float64Array(n);
  let prev = rng.normal();
  const s = Math.sqrt(1 - rho * rho);
  for (let t = 0; t < n; t++) {
    prev = rho * prev + s * rng.normal();
    x[t] = prev + mu;
  }
  return x;
}

describe("autocovariance", () => {
  it("FFT result equals the direct sum (grand mean, 1/(n−t) normalisation, averaged over chains)", () => {
    const rng = Rng.fromSeed(3);
    const nchains = 3;
    const n = 37;
    const data = new Float64Array(nchains * n);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() + (i % 5);
    const got = autocovariance({ data, nchains, nsteps: n });
    let m = 0;
    for (const v of data) m += v;
    m /= data.length;
    for (let t = 0; t < n; t++) {
      let s = 0;
      for (let c = 0; c < nchains; c++)
        for (let k = 0; k + t < n; k++) s += (data[c * n + k] - m) * (data[c * n + k + t] - m);
      expect(got[t]).toBeCloseTo(s / (nchains * (n - t)), 10);
    }
  });
});

describe("τ_int and binning on AR(1)", () => {
  it.each([0.5, 0.8, 0.9])("ρ = %f: τ_int ≈ (1+ρ)/(1−ρ) within its error bar", (rho) => {
    const exact = (1 + rho) / (1 - rho);
    const x = ar1(1 << 18, rho, Rng.fromSeed(10 + Math.round(rho * 10)));
    const t = tauInt(x);
    expect(t.reliable).toBe(true);
    expect(t.window).toBeGreaterThanOrEqual(5 * t.tau - 1e-9);
    expect(Math.abs(t.tau - exact)).toBeLessThan(4 * t.tauErr);
    expect(Math.abs(t.tau - exact) / exact).toBeLessThan(0.1);
    // binning: (plateau error / naive error)² estimates the same τ
    const b = binning(x);
    expect(b.converged).toBe(true);
    expect(Math.abs(b.tau - exact) / exact).toBeLessThan(0.25);
    // errors grow with bin size before the plateau
    expect(b.levels[0].error).toBeLessThan(b.error);
  });

  it("many parallel chains: τ_int from chains × steps; step-major layout transposes correctly", () => {
    const rho = 0.8;
    const nchains = 64;
    const nsteps = 2000;
    const rng = Rng.fromSeed(5);
    const steps = new Float64Array(nchains * nsteps);
    const series: Float64Array[] = [];
    for (let c = 0; c < nchains; c++) series.push(ar1(nsteps, rho, rng));
    for (let t = 0; t < nsteps; t++) for (let c = 0; c < nchains; c++) steps[t * nchains + c] = series[c][t];
    const chains = chainsFromSteps(steps, nsteps, nchains);
    expect(chains.data[3 * nsteps + 17]).toBe(series[3][17]);
    const t = tauInt(chains);
    expect(Math.abs(t.tau - 9) / 9).toBeLessThan(0.1);
    expect(Math.abs(t.tau - 9)).toBeLessThan(4 * t.tauErr);
    const e = estimateMean(chains);
    expect(e.rhat).toBeLessThan(1.05);
    // the three error estimates agree for equilibrated chains
    expect(e.binError / e.error).toBeGreaterThan(0.75);
    expect(e.binError / e.error).toBeLessThan(1.33);
    expect(e.chainError / e.error).toBeGreaterThan(0.7);
    expect(e.chainError / e.error).toBeLessThan(1.4);
    expect(e.ess).toBeCloseTo(e.n / t.tau, 6);
  });

  it("τ-corrected error bars cover the true mean ≈ 95% of the time at 2σ (the naive ones do not)", () => {
    const rng = Rng.fromSeed(77);
    const trials = 300;
    let covered = 0;
    let coveredNaive = 0;
    for (let k = 0; k < trials; k++) {
      const e = estimateMean(ar1(4000, 0.9, rng, 3));
      if (Math.abs(e.mean - 3) < 2 * e.error) covered++;
      if (Math.abs(e.mean - 3) < 2 * e.naiveError) coveredNaive++;
    }
    expect(covered / trials).toBeGreaterThan(0.89);
    expect(covered / trials).toBeLessThan(0.99);
    expect(coveredNaive / trials).toBeLessThan(0.6);
  });
});

describe("iid data", () => {
  it("binning error ≈ σ/√n with a plateau from the first level; τ_int ≈ 1", () => {
    const n = 1 << 16;
    const rng = Rng.fromSeed(21);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = 2 * rng.normal();
    const b = binning(x);
    const expected = 2 / Math.sqrt(n);
    expect(b.converged).toBe(true);
    expect(Math.abs(b.error - expected) / expected).toBeLessThan(0.1);
    expect(b.plateauLevel).toBeLessThanOrEqual(2);
    const t = tauInt(x);
    expect(Math.abs(t.tau - 1)).toBeLessThan(4 * t.tauErr + 0.02);
    const e = estimateMean(x);
    expect(Math.abs(e.error - expected) / expected).toBeLessThan(0.1);
    expect(Number.isNaN(e.rhat)).toBe(true);
  });

  it("a constant series has zero error and τ = 1", () => {
    const e = estimateMean(new Float64Array(100).fill(0.25));
    expect(e.mean).toBe(0.25);
    expect(e.error).toBe(0);
    expect(e.tau.tau).toBe(1);
  });
});

describe("Gelman–Rubin", () => {
  it("≈ 1 for chains of one distribution, ≫ 1 for chains stuck apart", () => {
    const rng = Rng.fromSeed(4);
    const nchains = 8;
    const n = 500;
    const same = new Float64Array(nchains * n);
    const apart = new Float64Array(nchains * n);
    for (let c = 0; c < nchains; c++) {
      for (let t = 0; t < n; t++) {
        const v = rng.normal();
        same[c * n + t] = v;
        apart[c * n + t] = v + 3 * c;
      }
    }
    expect(gelmanRubin({ data: same, nchains, nsteps: n })).toBeLessThan(1.02);
    expect(gelmanRubin({ data: apart, nchains, nsteps: n })).toBeGreaterThan(3);
  });
});

describe("drift between halves", () => {
  it("|z| is O(1) for stationary chains and large for chains relaxing together from a common start", () => {
    const rng = Rng.fromSeed(9);
    const nchains = 16;
    const n = 1000;
    const stat = new Float64Array(nchains * n);
    const relax = new Float64Array(nchains * n);
    for (let c = 0; c < nchains; c++) {
      const a = ar1(n, 0.9, rng);
      for (let t = 0; t < n; t++) {
        stat[c * n + t] = a[t];
        relax[c * n + t] = a[t] + 2 * Math.exp(-t / 300); // slow common relaxation
      }
    }
    expect(Math.abs(halvesDrift({ data: stat, nchains, nsteps: n }))).toBeLessThan(3);
    const zr = halvesDrift({ data: relax, nchains, nsteps: n });
    expect(zr).toBeGreaterThan(5);
    // R̂ does not see a common drift: that is why the drift check exists
    expect(gelmanRubin({ data: relax, nchains, nsteps: n })).toBeLessThan(1.1);
    expect(estimateMean({ data: relax, nchains, nsteps: n }).drift).toBe(zr);
  });
});

describe("importance ESS", () => {
  it("(Σw)²/Σw² from log-weights: n for equal weights, ≈ 1 for one dominant weight, stable for huge log-weights", () => {
    expect(importanceEss(new Float64Array(50).fill(-1234.5))).toBeCloseTo(50, 10);
    const lw = new Float64Array(100).fill(0);
    lw[7] = 40;
    expect(importanceEss(lw)).toBeCloseTo(1, 6);
    // w = (1, 2, 3): 36/14
    expect(importanceEss([1e4, 1e4 + Math.log(2), 1e4 + Math.log(3)])).toBeCloseTo(36 / 14, 10);
  });
});
