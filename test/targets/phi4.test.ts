import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { train, sample } from "../../src/index.ts";
import {
  phi4FreeField,
  phi4FromContinuum,
  phi4Target,
  phi4ToContinuum,
  PHI4_NEAR_CRITICAL,
} from "../../src/targets/phi4.ts";
import {
  concatPhi4Series,
  formatEstimate,
  phi4Estimates,
  phi4Series,
  twoPointFunction,
} from "../../src/targets/phi4-observables.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { gaussJordanInverse, luLogDet, normalsSeeded, torusAdjacency } from "./helpers.ts";

/** S(φ) straight from the definition, site by site, with explicit periodic indices. */
function actionByDefinition(phi: ArrayLike<number>, L: number, kappa: number, lambda: number): number {
  let S = 0;
  const at = (i: number, j: number) => phi[(((i % L) + L) % L) * L + (((j % L) + L) % L)];
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const p = at(i, j);
      S += -2 * kappa * p * (at(i, j + 1) + at(i + 1, j)) + p * p + lambda * (p * p - 1) ** 2;
    }
  }
  return S;
}

/** The continuum-style lattice action Σ[½Σ_μ(ϕ_{x+μ} − ϕ_x)² + ½m²ϕ² + (λ₀/4!)ϕ⁴]. */
function continuumAction(phi: ArrayLike<number>, L: number, m2: number, lambda0: number): number {
  let S = 0;
  const at = (i: number, j: number) => phi[(((i % L) + L) % L) * L + (((j % L) + L) % L)];
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const p = at(i, j);
      S += 0.5 * ((at(i, j + 1) - p) ** 2 + (at(i + 1, j) - p) ** 2) + 0.5 * m2 * p * p + (lambda0 / 24) * p ** 4;
    }
  }
  return S;
}

/** Dense free-field quadratic form A (S = ½φᵀAφ), built from the bond list independently of src/. */
function denseQuadraticForm(L: number, kappa: number): Float64Array {
  const N = L * L;
  const adj = torusAdjacency(L);
  const A = new Float64Array(N * N);
  for (let i = 0; i < N * N; i++) A[i] = -2 * kappa * adj[i];
  for (let i = 0; i < N; i++) A[i * N + i] += 2;
  return A;
}

describe("phi4 action and gradient", () => {
  it("log π = −S matches the definition (including L = 2 bond doubling) and is Z2 symmetric", () => {
    for (const [L, kappa, lambda] of [
      [2, 0.3, 0.7],
      [4, 0.27, 0.02],
      [8, -0.1, 1.5],
    ] as const) {
      const t = phi4Target({ L, kappa, lambda });
      const B = 3;
      const x = normalsSeeded(B * L * L, L);
      const out = new Float64Array(B);
      const outm = new Float64Array(B);
      t.logProb(x, B, out);
      t.logProb(
        Float64Array.from(x, (v) => -v),
        B,
        outm,
      );
      for (let b = 0; b < B; b++) {
        const S = actionByDefinition(x.subarray(b * L * L, (b + 1) * L * L), L, kappa, lambda);
        expect(out[b]).toBeCloseTo(-S, 10);
        expect(outm[b]).toBe(out[b]);
      }
      expect(t.z2Symmetric).toBe(true);
    }
  });

  it("gradient agrees with central finite differences (float64 and float32 input)", () => {
    const L = 4;
    const N = L * L;
    const t = phi4Target({ L, kappa: 0.3, lambda: 0.5 });
    const x = normalsSeeded(2 * N, 5);
    const g = new Float64Array(2 * N);
    const out = new Float64Array(2);
    t.logProb(x, 2, out, g);
    const h = 1e-5;
    const pair = new Float64Array(2 * N);
    const o2 = new Float64Array(2);
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < N; i++) {
        pair.set(x.subarray(b * N, (b + 1) * N), 0);
        pair.set(x.subarray(b * N, (b + 1) * N), N);
        pair[i] += h;
        pair[N + i] -= h;
        t.logProb(pair, 2, o2);
        expect(g[b * N + i]).toBeCloseTo((o2[0] - o2[1]) / (2 * h), 6);
      }
    }
    const x32 = Float32Array.from(x);
    const g32 = new Float32Array(2 * N);
    const out32 = new Float64Array(2);
    t.logProb(x32, 2, out32, g32);
    const ref = new Float64Array(2);
    const gref = new Float64Array(2 * N);
    t.logProb(Float64Array.from(x32), 2, ref, gref);
    expect(out32[0]).toBeCloseTo(ref[0], 10);
    for (let k = 0; k < 2 * N; k++) expect(g32[k]).toBeCloseTo(gref[k], 4);
  });

  it("continuum parameters (m², λ₀) map to the hopping form: S_hop(φ) = S_c(√(2κ)φ) + Nλ", () => {
    for (const [m2, lambda0] of [
      [0.5, 0],
      [-1, 6],
      [-4, 8],
      [2, 0.3],
    ] as const) {
      const { kappa, lambda } = phi4FromContinuum(m2, lambda0);
      expect(kappa).toBeGreaterThan(0);
      const back = phi4ToContinuum(kappa, lambda);
      expect(back.m2).toBeCloseTo(m2, 12);
      expect(back.lambda0).toBeCloseTo(lambda0, 12);
      const L = 4;
      const t = makeTarget({ kind: "phi4", L, m2, lambda0 });
      expect(t.config).toEqual({ kind: "phi4", L, kappa, lambda });
      const x = normalsSeeded(L * L, 9);
      const out = new Float64Array(1);
      t.logProb(x, 1, out);
      const s = Math.sqrt(2 * kappa);
      const Sc = continuumAction(
        Float64Array.from(x, (v) => s * v),
        L,
        m2,
        lambda0,
      );
      expect(-out[0]).toBeCloseTo(Sc + L * L * lambda, 9);
    }
    expect(() => phi4FromContinuum(-5, 0)).toThrow(/m2 > -4/);
  });

  it("configs: makeTarget(t.config) rebuilds t; bad parameters are rejected by name", () => {
    const t = makeTarget({ kind: "phi4", L: 8, kappa: 0.27, lambda: 0.02 });
    expect(makeTarget(t.config).config).toEqual(t.config);
    expect(t.exactNegLogZ).toBeUndefined();
    expect(() => makeTarget({ kind: "phi4", L: 4, kappa: 0.2 })).toThrow(/lambda is missing/);
    expect(() => makeTarget({ kind: "phi4", L: 4, lambda: 0.2 })).toThrow(/kappa is missing/);
    expect(() => makeTarget({ kind: "phi4", L: 4, kappa: 0.2, lambda: -1 })).toThrow(/lambda = -1 is invalid/);
    expect(() => makeTarget({ kind: "phi4", L: 4, kappa: 0.2, lambda: 0, m2: 1 })).toThrow(
      /either \(kappa, lambda\) or \(m2, lambda0\)/,
    );
    expect(() => makeTarget({ kind: "phi4", L: 4, kappa: 0.2, lambda: 0, T: 1 })).toThrow(/target option T/);
    expect(() => makeTarget({ kind: "phi4", L: 4, kappa: "x", lambda: 0 })).toThrow(/kappa = "x" is invalid/);
    expect(PHI4_NEAR_CRITICAL.kappa).toBeGreaterThan(0.25);
  });
});

describe("phi4 at λ = 0 is the Gaussian free field", () => {
  it("exact −ln Z equals ½ ln det A − (N/2) ln 2π with det A from a dense LU (independent)", () => {
    for (const [L, kappa] of [
      [2, 0.2],
      [4, 0.2],
      [4, -0.24],
      [8, 0.1],
      [8, 0.249],
    ] as const) {
      const t = phi4Target({ L, kappa, lambda: 0 });
      const N = L * L;
      const A = denseQuadraticForm(L, kappa);
      const { logAbs, sign } = luLogDet(A, N);
      expect(sign).toBe(1);
      const exact = 0.5 * logAbs - (N / 2) * Math.log(2 * Math.PI);
      expect(t.exactNegLogZ).toBeDefined();
      expect(Math.abs((t.exactNegLogZ as number) - exact)).toBeLessThan(1e-9 * (1 + Math.abs(exact)));
      // and A really is the Hessian of S: log π(e_j) = −½ A_jj
      const e = new Float64Array(N);
      e[1] = 1;
      const out = new Float64Array(1);
      t.logProb(e, 1, out);
      expect(out[0]).toBeCloseTo(-0.5 * A[1 * N + 1], 12);
    }
  });

  it("is valid only for |κ| < 1/4 (positive definite quadratic form); no exact value for λ > 0", () => {
    expect(() => phi4Target({ L: 4, kappa: 0.25, lambda: 0 })).toThrow(/\|kappa\| < 1\/4/);
    expect(() => phi4Target({ L: 4, kappa: -0.3, lambda: 0 })).toThrow(/\|kappa\| < 1\/4/);
    expect(phi4Target({ L: 4, kappa: 0.3, lambda: 0.1 }).exactNegLogZ).toBeUndefined();
    expect(() => phi4Target({ L: 4, kappa: 0.3, lambda: 0.1 }).freeField()).toThrow(/lambda = 0/);
  });

  it("exact G(r), ⟨m²⟩, χ, U agree with the dense covariance A⁻¹ and with exact samples within error bars", () => {
    const L = 8;
    const N = L * L;
    const kappa = 0.22;
    const t = phi4Target({ L, kappa, lambda: 0 });
    const ff = t.freeField();
    const cov = gaussJordanInverse(denseQuadraticForm(L, kappa), N);
    for (let r = 0; r <= L / 2; r++) {
      let s = 0;
      for (let i = 0; i < L; i++)
        for (let j = 0; j < L; j++)
          s += cov[(i * L + j) * N + i * L + ((j + r) % L)] + cov[(i * L + j) * N + ((i + r) % L) * L + j];
      expect(ff.G[r]).toBeCloseTo(s / (2 * N), 10);
    }
    let sumCov = 0;
    for (let k = 0; k < N * N; k++) sumCov += cov[k];
    expect(ff.m2).toBeCloseTo(sumCov / (N * N), 12);

    const x = t.sample(20000, Rng.fromSeed(3));
    const e = phi4Estimates(phi4Series(x, L, 20000));
    const within = (est: { mean: number; error: number }, exact: number) => {
      expect(est.error).toBeGreaterThan(0);
      expect(Math.abs(est.mean - exact)).toBeLessThan(4 * est.error);
    };
    within(e.phi2, ff.phi2);
    within(e.m2, ff.m2);
    within(e.absM, ff.absM);
    within(e.chi, ff.chi);
    within(e.binder, 0);
    for (let r = 0; r <= L / 2; r++) within(e.G[r], ff.G[r]);
  });

  it("training a small flow drives F to the exact −ln Z; flow samples reproduce ⟨φ²⟩", () => {
    const tc = { kind: "phi4", L: 4, kappa: 0.2, lambda: 0 };
    const target = makeTarget(tc);
    const exact = target.exactNegLogZ as number;
    const config = train.trainConfig(tc, { epochs: 300, batch: 256, nlayers: 2, nmlp: 1, nhidden: 8, lr: 0.003 });
    const st = train.createTrainer(config, target);
    for (let e = 0; e < config.epochs; e++) train.trainEpoch(st);
    const ev = train.evaluateF(st, 4096, 11);
    expect(ev.F).toBeGreaterThan(exact - 3 * ev.stdErr); // variational bound
    expect((ev.F - exact) / Math.abs(exact)).toBeLessThan(1e-2);
    // importance weighting removes the remaining bias
    const xs: number[] = [];
    const iw = sample.importanceSample(sample.flowDensity(st.model, st.params, { symmetrize: true }), target, {
      n: 8192,
      rng: Rng.fromSeed(12),
      onSamples: (x, _lw, b) => {
        const s = phi4Series(x, 4, b);
        for (let i = 0; i < b; i++) xs.push(s.phi2[i]);
      },
    });
    expect(Math.abs(iw.negLogZ - exact)).toBeLessThan(4 * iw.error + 1e-3);
    const phi2 = sample.importanceMean(xs, iw.logW);
    expect(Math.abs(phi2.mean - phi4FreeField(4, 0.2).phi2)).toBeLessThan(4 * phi2.error);
  });
});

describe("phi4 observables", () => {
  it("G(r) of a single configuration by hand; estimates need enough data", () => {
    const L = 4;
    const x = Float64Array.from({ length: 16 }, (_, k) => (k % 3) - 1);
    const G = twoPointFunction(x, L, 1);
    const at = (i: number, j: number) => x[((i + L) % L) * L + ((j + L) % L)];
    for (let r = 0; r <= 2; r++) {
      let s = 0;
      for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) s += at(i, j) * (at(i, j + r) + at(i + r, j));
      expect(G[r][0]).toBeCloseTo(s / 32, 14);
    }
    expect(() => phi4Estimates(phi4Series(x, L, 1))).toThrow(/too few/);
    expect(formatEstimate({ mean: 0.51234, error: 0.0031 })).toBe("0.5123(31)");
  });

  it("errors by binning grow with the autocorrelation of a correlated chain", () => {
    // AR(1) magnetisations embedded as uniform fields, ρ = 0.9: m² has autocorrelation ρ^(2t),
    // so τ_int(m²) = (1+ρ²)/(1−ρ²) ≈ 9.5
    const L = 2;
    const n = 20000;
    const rng = Rng.fromSeed(5);
    const x = new Float64Array(n * 4);
    let m = 0;
    for (let t = 0; t < n; t++) {
      m = 0.9 * m + Math.sqrt(1 - 0.81) * rng.normal();
      x.fill(m, 4 * t, 4 * t + 4);
    }
    const s = phi4Series(x, L, n);
    const corr = phi4Estimates(s);
    const naive = phi4Estimates(s, { binSize: 1 });
    expect(corr.tauMax).toBeGreaterThan(6);
    expect(corr.m2.error / naive.m2.error).toBeGreaterThan(2.5);
    expect(Math.abs(corr.m2.mean - 1)).toBeLessThan(4 * corr.m2.error);
    // two chains, the first 10 steps of each discarded
    const two = concatPhi4Series([s, s]);
    expect(phi4Estimates(two, { nchains: 2, discard: 10 }).n).toBe(2 * (n - 10));
  });
});
