import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { criticalTemperature, isingExactObservables, isingLogZEnumerate } from "../../src/targets/kaufman.ts";
import {
  absMagnetisation,
  energyPerSite,
  logCosh,
  meanSpins,
  relaxedIsing,
  sampleSpins,
  structureFactor,
  structureFactorFromMeans,
} from "../../src/targets/ising.ts";
import {
  choleskyLower,
  gaussJordanInverse,
  hamiltonian,
  jacobiEigenvalues,
  logSumExpArr,
  luLogDet,
  normalsSeeded,
  spinsOf,
  torusAdjacency,
} from "./helpers.ts";

const Tc = criticalTemperature();

/** Dense K + αI built in the test from the bond list, with α taken from the target. */
function denseM(L: number, T: number, alpha: number): Float64Array {
  const N = L * L;
  const M = torusAdjacency(L).map((v) => v / T);
  for (let i = 0; i < N; i++) M[i * N + i] += alpha;
  return M;
}

describe("relaxed Ising: the shift α", () => {
  it.each([2, 3, 4, 5, 6, 8])(
    "λ_min(K + αI) = 0.1 and the analytic spectrum matches a Jacobi eigen-solve (L = %i)",
    (L) => {
      for (const T of [1.0, Tc, 5.0]) {
        const t = relaxedIsing({ L, T });
        const ev = jacobiEigenvalues(denseM(L, T, t.alpha), L * L);
        expect(ev[0]).toBeCloseTo(0.1, 10);
        const analytic = Array.from(t.eigenvalues).sort((a, b) => a - b);
        for (let k = 0; k < ev.length; k++) expect(analytic[k]).toBeCloseTo(ev[k], 10);
        let ld = 0;
        for (const v of ev) ld += Math.log(v);
        expect(t.logDet).toBeCloseTo(ld, 9);
      }
    },
  );

  it("L = 2 bond doubling: adjacency eigenvalues 4, 0, 0, −4, so α = 0.1 + 4β", () => {
    const t = relaxedIsing({ L: 2, T: 2 });
    expect(t.alpha).toBeCloseTo(0.1 + 4 * 0.5, 14);
    expect(jacobiEigenvalues(torusAdjacency(2), 4).map((v) => Math.round(v * 1e12) / 1e12 + 0)).toEqual([-4, 0, 0, 4]);
  });
});

describe("relaxed Ising: exact −ln Z (text after Eq. 7)", () => {
  it.each([2, 3, 4])("equals the sum over spin states of dense Gaussian integrals (L = %i)", (L) => {
    // Z = Σ_s 2^{−N} ∫ exp(−½xᵀM⁻¹x + sᵀx) dx = Σ_s 2^{−N} (2π)^{N/2} det(M)^{1/2} exp(½ sᵀMs)
    const N = L * L;
    for (const T of [1.0, 2.0, Tc, 2.5, 4.0]) {
      const t = relaxedIsing({ L, T });
      const M = denseM(L, T, t.alpha);
      const { logAbs: logDetM, sign } = luLogDet(M, N);
      expect(sign).toBe(1);
      const terms = new Float64Array(2 ** N);
      const s = new Float64Array(N);
      for (let k = 0; k < 2 ** N; k++) {
        spinsOf(k, N, s);
        let q = 0;
        for (let i = 0; i < N; i++) {
          let r = 0;
          for (let j = 0; j < N; j++) r += M[i * N + j] * s[j];
          q += s[i] * r;
        }
        terms[k] = 0.5 * q;
      }
      const lnZ = -N * Math.LN2 + (N / 2) * Math.log(2 * Math.PI) + 0.5 * logDetM + logSumExpArr(terms);
      expect(Math.abs(t.exactNegLogZ + lnZ) / Math.abs(lnZ)).toBeLessThan(1e-11);
    }
  });

  it.each([1.5, Tc, 4.0])("equals a direct 4-D trapezoid quadrature of π(x) for L = 2 (T = %f)", (T) => {
    // Whiten x = C y with M = CCᵀ: Z = det C ∫ exp(−½|y|²) Π_i cosh((Cy)_i) dy. The integrand is a sum of
    // unit-width Gaussians, for which the trapezoid rule with h = 0.6 is accurate to ~e^{−2π²/h²} ≈ 1e-24.
    const t = relaxedIsing({ L: 2, T });
    const M = denseM(2, T, t.alpha);
    const C = choleskyLower(M, 4);
    const logDetC = Math.log(C[0] * C[5] * C[10] * C[15]);
    let mu = 0;
    for (const v of t.eigenvalues) mu = Math.max(mu, v);
    const h = 0.6;
    const R = Math.sqrt(4 * mu) + 8.5;
    const n = Math.ceil(R / h);
    let sum = 0;
    for (let a = -n; a <= n; a++)
      for (let b = -n; b <= n; b++)
        for (let c = -n; c <= n; c++)
          for (let d = -n; d <= n; d++) {
            const y0 = a * h,
              y1 = b * h,
              y2 = c * h,
              y3 = d * h;
            const x0 = C[0] * y0;
            const x1 = C[4] * y0 + C[5] * y1;
            const x2 = C[8] * y0 + C[9] * y1 + C[10] * y2;
            const x3 = C[12] * y0 + C[13] * y1 + C[14] * y2 + C[15] * y3;
            sum +=
              Math.exp(-0.5 * (y0 * y0 + y1 * y1 + y2 * y2 + y3 * y3)) *
              Math.cosh(x0) *
              Math.cosh(x1) *
              Math.cosh(x2) *
              Math.cosh(x3);
          }
    const lnZ = logDetC + Math.log(sum) + 4 * Math.log(h);
    expect(Math.abs(t.exactNegLogZ + lnZ)).toBeLessThan(1e-9);
  });

  it.each([2, 3])("π(x) is Z times the mixture Σ_s p_Ising(s) N(x; Ms, M), pointwise (L = %i)", (L) => {
    // integrating out x given s: x | s ~ N(Ms, M) and p(s) ∝ e^{−βH(s)}; so ln π(x) − ln p_mix(x) = ln Z everywhere
    const N = L * L;
    const T = Tc;
    const t = relaxedIsing({ L, T });
    const M = denseM(L, T, t.alpha);
    const Minv = gaussJordanInverse(M, N);
    const logDetM = luLogDet(M, N).logAbs;
    const lnZIsing = isingLogZEnumerate(L, T);
    const x = normalsSeeded(5 * N, 11).map((v) => 1.5 * v);
    const lp = new Float64Array(5);
    t.logProb(x, 5, lp);
    const s = new Float64Array(N);
    const d = new Float64Array(N);
    for (let b = 0; b < 5; b++) {
      const terms: number[] = [];
      for (let k = 0; k < 2 ** N; k++) {
        spinsOf(k, N, s);
        for (let i = 0; i < N; i++) {
          let r = 0;
          for (let j = 0; j < N; j++) r += M[i * N + j] * s[j];
          d[i] = x[b * N + i] - r;
        }
        let q = 0;
        for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) q += d[i] * Minv[i * N + j] * d[j];
        terms.push(-hamiltonian(s, L) / T - lnZIsing - 0.5 * q - 0.5 * logDetM - (N / 2) * Math.log(2 * Math.PI));
      }
      expect(lp[b] - logSumExpArr(terms)).toBeCloseTo(-t.exactNegLogZ, 9);
    }
  });

  it("is finite for L = 64 and 256 over T = 0.5 … 10 and scales extensively", () => {
    for (const T of [0.5, Tc, 10]) {
      const a = relaxedIsing({ L: 64, T }).exactNegLogZ / 4096;
      const b = relaxedIsing({ L: 256, T }).exactNegLogZ / 65536;
      expect(Number.isFinite(a)).toBe(true);
      expect(Math.abs(a - b)).toBeLessThan(2e-4);
    }
  });
});

describe("relaxed Ising: log π and its gradient", () => {
  it("ln cosh is stable and exact", () => {
    for (const x of [0, 1e-8, 0.3, -2, 20, -800, 1e5]) {
      const ref = Math.abs(x) < 20 ? Math.log(Math.cosh(x)) : Math.abs(x) - Math.LN2;
      expect(logCosh(x)).toBeCloseTo(ref, 12);
    }
  });

  it("log π matches −½xᵀM⁻¹x + Σ ln cosh x with a Gauss–Jordan inverse, for both methods (L = 2, 3, 4, 6, 8)", () => {
    for (const L of [2, 3, 4, 6, 8]) {
      const N = L * L;
      const T = 2.3;
      const batch = 5;
      const x = normalsSeeded(batch * N, L).map((v) => 2 * v);
      const Minv = gaussJordanInverse(denseM(L, T, relaxedIsing({ L, T }).alpha), N);
      const ref = new Float64Array(batch);
      for (let b = 0; b < batch; b++) {
        let q = 0,
          lc = 0;
        for (let i = 0; i < N; i++) {
          lc += Math.log(Math.cosh(x[b * N + i]));
          for (let j = 0; j < N; j++) q += x[b * N + i] * Minv[i * N + j] * x[b * N + j];
        }
        ref[b] = -0.5 * q + lc;
      }
      for (const method of ["spectral", "dense"] as const) {
        const t = relaxedIsing({ L, T, method });
        const out = new Float64Array(batch);
        t.logProb(x, batch, out);
        for (let b = 0; b < batch; b++) expect(Math.abs(out[b] - ref[b])).toBeLessThan(1e-10 * (1 + Math.abs(ref[b])));
        const y = new Float64Array(batch * N);
        t.applyInverse(x, batch, y);
        for (let b = 0; b < batch; b++)
          for (let i = 0; i < N; i++) {
            let r = 0;
            for (let j = 0; j < N; j++) r += Minv[i * N + j] * x[b * N + j];
            expect(y[b * N + i]).toBeCloseTo(r, 11);
          }
      }
    }
  });

  it.each([4, 8])("gradient matches central finite differences at random x (L = %i)", (L) => {
    const N = L * L;
    const t = relaxedIsing({ L, T: Tc });
    const batch = 3; // odd: exercises the unpaired last row of the two-at-a-time FFT
    const x = normalsSeeded(batch * N, 100 + L).map((v) => 1.7 * v);
    const out = new Float64Array(batch);
    const g = new Float64Array(batch * N);
    t.logProb(x, batch, out, g);
    const h = 1e-5;
    const a = new Float64Array(batch),
      c = new Float64Array(batch);
    let worst = 0;
    for (let k = 0; k < batch * N; k++) {
      const xp = x.slice();
      xp[k] += h;
      const xm = x.slice();
      xm[k] -= h;
      t.logProb(xp, batch, a);
      t.logProb(xm, batch, c);
      const b = Math.floor(k / N);
      const fd = (a[b] - c[b]) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - g[k]) / (1 + Math.abs(fd)));
    }
    expect(worst).toBeLessThan(1e-8);
  });

  it("spectral and dense paths agree on values and gradients at L = 16, odd batch", () => {
    const L = 16,
      N = 256,
      batch = 7;
    const x = normalsSeeded(batch * N, 5);
    const r: Float64Array[] = [];
    for (const method of ["spectral", "dense"] as const) {
      const t = relaxedIsing({ L, T: 2.5, method });
      const out = new Float64Array(batch),
        g = new Float64Array(batch * N);
      t.logProb(x, batch, out, g);
      r.push(out, g);
    }
    for (let b = 0; b < batch; b++) expect(r[0][b]).toBeCloseTo(r[2][b], 9);
    for (let k = 0; k < batch * N; k++) expect(r[1][k]).toBeCloseTo(r[3][k], 11);
  });

  it("accepts float32 input and gradient buffers; more than one chunk of rows", () => {
    const L = 8,
      N = 64,
      batch = 130;
    const t = relaxedIsing({ L, T: Tc });
    const x64 = normalsSeeded(batch * N, 9);
    const x32 = Float32Array.from(x64);
    const o64 = new Float64Array(batch),
      o32 = new Float64Array(batch);
    const g64 = new Float64Array(batch * N),
      g32 = new Float32Array(batch * N);
    t.logProb(Float64Array.from(x32), batch, o64, g64);
    t.logProb(x32, batch, o32, g32);
    for (let b = 0; b < batch; b++) expect(o32[b]).toBeCloseTo(o64[b], 10);
    for (let k = 0; k < batch * N; k++) expect(g32[k]).toBeCloseTo(g64[k], 5);
  });

  it("is fast at L = 32, batch 512 (spectral path)", () => {
    const L = 32,
      N = 1024,
      batch = 512;
    const t = relaxedIsing({ L, T: Tc });
    const x = normalsSeeded(batch * N, 3);
    const out = new Float64Array(batch),
      g = new Float64Array(batch * N);
    t.logProb(x, batch, out, g);
    const t0 = performance.now();
    t.logProb(x, batch, out, g);
    expect(performance.now() - t0).toBeLessThan(1000); // ≈ 40 ms on one core; dense would take ≈ 1 s
  });
});

describe("relaxed Ising: spins and observables", () => {
  it("observables of hand-made configurations (bond doubling at L = 2)", () => {
    const up4 = new Float64Array(16).fill(1);
    const checker = Float64Array.from({ length: 16 }, (_, k) => ((Math.floor(k / 4) + (k % 4)) % 2 ? -1 : 1));
    const both = new Float64Array(32);
    both.set(up4);
    both.set(checker, 16);
    expect(Array.from(energyPerSite(both, 4, 2))).toEqual([-2, 2]);
    expect(Array.from(absMagnetisation(both, 4, 2))).toEqual([1, 0]);
    expect(Array.from(structureFactor(both, 4, 2))).toEqual([1, 0]);
    expect(Array.from(structureFactorFromMeans(both, 4, 2))).toEqual([1, 0]);
    expect(energyPerSite(new Float64Array(4).fill(1), 2, 1)[0]).toBe(-2);
    expect(energyPerSite(Float64Array.from([1, -1, -1, 1]), 2, 1)[0]).toBe(2);
    const rnd = Float64Array.from(normalsSeeded(9, 1), (v) => (v > 0 ? 1 : -1));
    expect(energyPerSite(rnd, 3, 1)[0]).toBe(hamiltonian(rnd, 3) / 9);
  });

  it("sampleSpins draws s = +1 with probability 1/(1 + e^{−2x}) and saturates without NaN", () => {
    const rng = Rng.fromSeed(7);
    const n = 40000;
    const x = new Float64Array(n).fill(0.3);
    const s = sampleSpins(x, n, rng);
    let up = 0;
    for (let i = 0; i < n; i++) up += s[i] > 0 ? 1 : 0;
    const p = 1 / (1 + Math.exp(-0.6));
    expect(Math.abs(up / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    const ext = sampleSpins(Float64Array.from([1000, -1000, 800, -800]), 4, rng);
    expect(Array.from(ext)).toEqual([1, -1, 1, -1]);
    expect(Array.from(meanSpins(Float64Array.from([0, 1000, -1000]), 3))).toEqual([0, 1, -1]);
  });

  it("exact samples of the relaxed model reproduce the exact Ising observables (L = 3, T = T_c)", () => {
    // s ~ e^{−βH}/Z_Ising by enumeration, then x | s ~ N(Ms, M): x is an exact draw of π (see the mixture test).
    const L = 3,
      N = 9,
      T = Tc,
      n = 20000;
    const t = relaxedIsing({ L, T });
    const M = denseM(L, T, t.alpha);
    const C = choleskyLower(M, N);
    const lnZ = isingLogZEnumerate(L, T);
    const cdf = new Float64Array(2 ** N);
    let acc = 0;
    for (let k = 0; k < 2 ** N; k++) cdf[k] = acc += Math.exp(-hamiltonian(spinsOf(k, N), L) / T - lnZ);
    const rng = Rng.fromSeed(2024);
    const x = new Float64Array(n * N);
    const s = new Float64Array(N),
      xi = new Float64Array(N);
    for (let b = 0; b < n; b++) {
      const u = rng.uniform() * acc;
      let lo = 0,
        hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      spinsOf(lo, N, s);
      rng.fillNormal(xi);
      for (let i = 0; i < N; i++) {
        let m = 0,
          c = 0;
        for (let j = 0; j < N; j++) {
          m += M[i * N + j] * s[j];
          c += C[i * N + j] * xi[j];
        }
        x[b * N + i] = m + c;
      }
    }
    const exact = isingExactObservables(L, T);
    const spins = t.sampleSpins(x, n, rng);
    const tanh = t.meanSpins(x, n);
    const check = (v: Float64Array, ref: number) => {
      let m = 0,
        m2 = 0;
      for (const a of v) {
        m += a;
        m2 += a * a;
      }
      m /= n;
      const se = Math.sqrt((m2 / n - m * m) / n);
      expect(Math.abs(m - ref)).toBeLessThan(4.5 * se + 1e-12);
    };
    check(energyPerSite(spins, L, n), exact.energyPerSite);
    check(absMagnetisation(spins, L, n), exact.absMagnetisation);
    check(structureFactor(spins, L, n), exact.structureFactor);
    check(energyPerSite(tanh, L, n), exact.energyPerSite);
    check(structureFactorFromMeans(tanh, L, n), exact.structureFactor);
  });

  it("exposes its config and symmetry", () => {
    const t = relaxedIsing({ L: 8, T: 2.5 });
    expect(t.config).toEqual({ kind: "ising", L: 8, T: 2.5 });
    expect(t.z2Symmetric).toBe(true);
    expect(t.nvars).toBe(64);
    expect(t.beta).toBe(1 / 2.5);
    const x = normalsSeeded(64, 4);
    const a = new Float64Array(1),
      b = new Float64Array(1);
    t.logProb(x, 1, a);
    t.logProb(
      x.map((v) => -v),
      1,
      b,
    );
    expect(a[0]).toBeCloseTo(b[0], 12);
  });
});
