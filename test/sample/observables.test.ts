import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { physicalPotential, runHmc } from "../../src/sample/hmc.ts";
import {
  absMagnetisationFromMeans,
  fieldMoments,
  gaussianExactMoments,
  ISING_OBSERVABLES,
  isingObservables,
  ObservableTrace,
} from "../../src/sample/observables.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { isingExactObservables } from "../../src/targets/kaufman.ts";
import { exactMoments, invert, moments } from "./helpers.ts";

describe("improved estimators", () => {
  it("E[|Σ s| | x]/N by the Poisson-binomial recursion equals brute force over all 2^N spin configurations", () => {
    const N = 9;
    const rng = Rng.fromSeed(1);
    const batch = 3;
    const t = new Float64Array(batch * N);
    for (let i = 0; i < t.length; i++) t[i] = Math.tanh(1.5 * rng.normal());
    const got = absMagnetisationFromMeans(t, N, batch);
    for (let b = 0; b < batch; b++) {
      let e = 0;
      for (let mask = 0; mask < 1 << N; mask++) {
        let p = 1;
        let m = 0;
        for (let i = 0; i < N; i++) {
          const s = (mask >> i) & 1 ? 1 : -1;
          p *= 0.5 * (1 + s * t[b * N + i]);
          m += s;
        }
        e += p * Math.abs(m);
      }
      expect(got[b]).toBeCloseTo(e / N, 12);
    }
  });

  it("improved and spin-sampling estimators agree on average for fixed fields", () => {
    const L = 4;
    const N = L * L;
    const rng = Rng.fromSeed(2);
    const x = new Float64Array(N);
    for (let i = 0; i < N; i++) x[i] = 0.8 + 0.7 * rng.normal();
    const reps = 20000;
    const xs = new Float64Array(reps * N);
    for (let r = 0; r < reps; r++) xs.set(x, r * N);
    const imp = isingObservables(x, L, 1);
    const spins = isingObservables(xs, L, reps, { estimator: "spins", rng });
    for (const k of ISING_OBSERVABLES) {
      let m = 0;
      let v = 0;
      for (const val of spins[k]) m += val / reps;
      for (const val of spins[k]) v += (val - m) ** 2 / (reps - 1);
      expect(Math.abs(m - imp[k][0])).toBeLessThan(4 * Math.sqrt(v / reps));
    }
  });
});

describe("physical HMC + tanh estimator on the relaxed Ising model reproduces exact enumeration", () => {
  const names = { energy: "energyPerSite", absM: "absMagnetisation", S: "structureFactor" } as const;
  it.each([
    [2, 2.0],
    [4, 2.0],
    [4, 2.269185314213022],
    [4, 3.0],
  ])("L = %i, T = %f", (L, T) => {
    const N = L * L;
    const target = relaxedIsing({ L, T });
    const exact = isingExactObservables(L, T);
    const nchains = 32;
    const init = new Float64Array(nchains * N);
    Rng.fromSeed(3).fillNormal(init);
    const trace = new ObservableTrace(ISING_OBSERVABLES, nchains);
    const res = runHmc(physicalPotential(target), init, nchains, {
      ntraj: 800,
      warmup: 200,
      stepJitter: 0.2,
      rng: Rng.fromSeed(L * 100 + Math.round(T * 10)),
      onStep: (s) => {
        if (!s.warmup) trace.push(isingObservables(s.x, L, nchains));
      },
    });
    expect(res.acceptance).toBeGreaterThan(0.9);
    const est = trace.summary();
    for (const k of ISING_OBSERVABLES) {
      const e = est[k];
      const ref = exact[names[k]];
      expect(Math.abs(e.mean - ref), `${k}: ${e.mean} ± ${e.error} vs exact ${ref}`).toBeLessThan(4 * e.error);
      expect(Math.abs(e.mean - ref)).toBeLessThan(4 * e.binError);
      expect(e.tau.reliable).toBe(true);
      expect(e.error).toBeLessThan(0.02);
    }
  });
});

describe("field moments", () => {
  it("gaussianExactMoments equals the moments of the explicit inverse, and fieldMoments matches a direct sum", () => {
    for (const t of [
      gaussianTarget({ L: 4, precision: "circulant", kappa: 0.3 }),
      gaussianTarget({ L: 4, precision: "random", seed: 3 }),
    ]) {
      const A = t.matrix();
      const ref = exactMoments(invert(A, 16), 4);
      const got = gaussianExactMoments(A, 4);
      expect(got.m2).toBeCloseTo(ref.m2, 12);
      expect(got.c1).toBeCloseTo(ref.c1, 12);
    }
    const x = new Float64Array(3 * 16);
    Rng.fromSeed(8).fillNormal(x);
    const a = fieldMoments(x, 4, 3);
    const b = moments(x, 4, 3);
    for (let i = 0; i < 3; i++) {
      expect(a.m2[i]).toBeCloseTo(b.m2[i], 14);
      expect(a.c1[i]).toBeCloseTo(b.c1[i], 14);
    }
  });
});
