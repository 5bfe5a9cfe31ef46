import { describe, expect, it } from "vitest";
import { fixSign, signPosterior } from "../../src/analysis/posterior.ts";
import { Rng } from "../../src/engine/rng.ts";
import { createFlow, logProb } from "../../src/flow/flow.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { flowConfig } from "./helpers.ts";

describe("sign posterior (Eq. S5)", () => {
  const cfg = flowConfig(4, { nlayers: 2 });
  const model = createFlow(cfg);
  const params = randomParams(cfg, 31, 0.8);
  const N = 16;

  it("p(η = +|x) = q(x) / (q(x) + q(−x))", () => {
    const x = normals(4 * N, 32);
    const post = signPosterior(model, params, x, 4);
    const qp = logProb(model, params, x, 4);
    const qm = logProb(
      model,
      params,
      x.map((v) => -v),
      4,
    );
    for (let b = 0; b < 4; b++) {
      expect(post.pPlus[b]).toBeCloseTo(Math.exp(qp[b]) / (Math.exp(qp[b]) + Math.exp(qm[b])), 12);
      expect(post.logQPlus[b]).toBeCloseTo(qp[b], 12);
    }
  });

  it("map takes the more probable sign and flips x accordingly; none keeps x", () => {
    const x = normals(6 * N, 33);
    const { pPlus } = signPosterior(model, params, x, 6);
    const r = fixSign(model, params, x, 6, "map");
    for (let b = 0; b < 6; b++) {
      expect(r.eta[b]).toBe(pPlus[b] >= 0.5 ? 1 : -1);
      for (let j = 0; j < N; j++) expect(r.x[b * N + j]).toBe(r.eta[b] * x[b * N + j]);
    }
    // after fixing, the chosen sign is the more probable one
    const again = signPosterior(model, params, r.x, 6);
    again.pPlus.forEach((p) => expect(p).toBeGreaterThanOrEqual(0.5));
    const none = fixSign(model, params, x, 6, "none");
    expect(Array.from(none.x)).toEqual(Array.from(x));
    expect(Array.from(none.eta)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("sample draws η from the posterior", () => {
    // one configuration with an intermediate posterior, repeated
    let x1 = normals(N, 34);
    for (let seed = 35; ; seed++) {
      const p = signPosterior(model, params, x1, 1).pPlus[0];
      if (p > 0.15 && p < 0.85) break;
      x1 = normals(N, seed).map((v) => v * 0.3);
      if (seed > 200) throw new Error("no configuration with an intermediate posterior");
    }
    const p = signPosterior(model, params, x1, 1).pPlus[0];
    const n = 4000;
    const x = new Float64Array(n * N);
    for (let b = 0; b < n; b++) x.set(x1, b * N);
    const r = fixSign(model, params, x, n, "sample", Rng.fromSeed(36));
    const frac = r.eta.reduce((a, e) => a + (e > 0 ? 1 : 0), 0) / n;
    expect(Math.abs(frac - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    expect(() => fixSign(model, params, x1, 1, "sample")).toThrow(/needs a random generator/);
  });
});
