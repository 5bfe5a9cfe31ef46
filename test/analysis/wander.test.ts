import { describe, expect, it } from "vitest";
import { flipLatent, latentWander, sitesAtScale } from "../../src/analysis/wander.ts";
import { createFlow, generate, infer } from "../../src/flow/flow.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { flowConfig, identityFlow } from "./helpers.ts";

describe("latent wander (v1 S2–S4)", () => {
  const cfg = flowConfig(8, { nlayers: 2 });
  const model = createFlow(cfg);
  const params = randomParams(cfg, 41, 0.5);
  const N = 64;
  const z = normals(N, 42);

  it("only the chosen component differs in latent space", () => {
    const sites = [0, 4, 9, 63];
    const w = latentWander(model, params, z, sites);
    expect(w.decoded.batch).toBe(5);
    sites.forEach((s, k) => {
      const xk = w.decoded.physical.subarray((k + 1) * N, (k + 2) * N);
      const zk = infer(model, params, xk, 1).z;
      for (let j = 0; j < N; j++) expect(zk[j]).toBeCloseTo(j === s ? -z[j] : z[j], 9);
      expect(w.flips[k].site).toBe(s);
      expect(w.flips[k].scale).toBe(model.scaleOfSite[s]);
      expect(w.flips[k].maxAbsChange).toBeGreaterThan(0);
    });
  });

  it("a flip at scale s leaves the collective variables of levels ≥ s untouched and changes those below", () => {
    const sites = [9, 2, 36, 0]; // scales 0, 1, 2, 3
    const w = latentWander(model, params, z, sites);
    sites.forEach((site, k) => {
      const s = model.scaleOfSite[site];
      for (const lv of w.decoded.levels) {
        const m = lv.size * lv.size;
        const orig = lv.values.subarray(0, m);
        const flipped = lv.values.subarray((k + 1) * m, (k + 2) * m);
        if (lv.level >= s) expect(Array.from(flipped)).toEqual(Array.from(orig));
        else expect(flipped.some((v, i) => v !== orig[i])).toBe(true);
      }
    });
  });

  it("flipping a component and flipping it back returns the original configuration", () => {
    const x0 = generate(model, params, z, 1).x;
    for (const s of [0, 5, 36]) {
      const w = latentWander(model, params, z, [s]);
      const xFlipped = w.decoded.physical.subarray(N, 2 * N);
      // back: infer the flipped configuration, flip the same component back, decode
      const zBack = flipLatent(infer(model, params, xFlipped, 1).z, s);
      const xBack = generate(model, params, zBack, 1).x;
      for (let j = 0; j < N; j++) expect(xBack[j]).toBeCloseTo(x0[j], 9);
      // the original row of the wander is x0 itself
      for (let j = 0; j < N; j++) expect(w.decoded.physical[j]).toBe(x0[j]);
    }
  });

  it("identity flow: a flip changes exactly one physical site; sites partition by scale", () => {
    const id = identityFlow(cfg);
    const w = latentWander(id.model, id.params, z, [3, 27]);
    expect(w.flips.map((f) => f.changedSites)).toEqual([1, 1]);
    expect(w.flips.map((f) => f.effectiveSites)).toEqual([1, 1]);
    expect(w.flips[0].maxAbsChange).toBeCloseTo(2 * Math.abs(z[3]), 12);
    const all = [0, 1, 2, 3].flatMap((s) => sitesAtScale(model, s)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(sitesAtScale(model, 3)).toEqual([0]);
    expect(sitesAtScale(model, 2)).toEqual([4, 32, 36]);
    expect(() => flipLatent(z, 64)).toThrow(/latent component 64 is invalid/);
  });
});
