import { describe, expect, it } from "vitest";
import { collectiveFromLatent, collectiveVariables, keptSites } from "../../src/flow/collective.ts";
import { createFlow, generate, infer } from "../../src/flow/flow.ts";
import { normals, randomParams } from "./helpers.ts";
import { flowConfig, identityFlow } from "../analysis/helpers.ts";

describe("collective variables per scale", () => {
  it("kept sites after level l are the sites ≡ 0 mod 2^(l+1)", () => {
    expect(Array.from(keptSites(8, 0))).toEqual([0, 2, 4, 6, 16, 18, 20, 22, 32, 34, 36, 38, 48, 50, 52, 54]);
    expect(Array.from(keptSites(8, 1))).toEqual([0, 4, 32, 36]);
    expect(Array.from(keptSites(8, 2))).toEqual([0]);
    expect(() => keptSites(8, 3)).toThrow(/level 3 is invalid/);
  });

  it("identity flow: the collective variables are the physical variables at the kept sites", () => {
    const { model, params } = identityFlow(flowConfig(8));
    const x = normals(2 * 64, 3);
    const cv = collectiveVariables(model, params, x, 2);
    expect(cv.levels.map((l) => [l.level, l.size, l.spacing])).toEqual([
      [0, 4, 2],
      [1, 2, 4],
      [2, 1, 8],
    ]);
    for (const lv of cv.levels) {
      for (let b = 0; b < 2; b++)
        lv.sites.forEach((s, p) => expect(lv.values[b * lv.sites.length + p]).toBe(x[b * 64 + s]));
    }
    expect(Array.from(cv.physical)).toEqual(Array.from(x));
  });

  it("random MERA flow: the top level holds z at (0,0); levels are the intermediate states of inference", () => {
    const cfg = flowConfig(8, { nlayers: 2 });
    const model = createFlow(cfg);
    const params = randomParams(cfg, 4);
    const x = normals(3 * 64, 5);
    const cv = collectiveVariables(model, params, x, 3);
    const { z } = infer(model, params, x, 3);
    const top = cv.levels[cv.levels.length - 1];
    expect(top.size).toBe(1);
    for (let b = 0; b < 3; b++) expect(top.values[b]).toBe(z[b * 64]);
    expect(Array.from(cv.latent)).toEqual(Array.from(z));
    // the 2×2 level holds, at (0,0), the value that the top level's layers transform further:
    // it differs from both x and z there (a non-trivial flow)
    const l1 = cv.levels[1];
    expect(l1.values[0]).not.toBe(x[0]);
    expect(l1.values[0]).not.toBe(z[0]);
    // from latent vectors (generation pass) the same values, up to rounding
    const fromZ = collectiveFromLatent(model, params, z, 3);
    cv.levels.forEach((lv, k) => lv.values.forEach((v, i) => expect(fromZ.levels[k].values[i]).toBeCloseTo(v, 10)));
    const xg = generate(model, params, z, 3).x;
    fromZ.physical.forEach((v, i) => expect(v).toBe(xg[i]));
  });

  it("partial depth and the TEBD layout", () => {
    const cv = collectiveVariables(
      createFlow(flowConfig(8, { depth: 2 })),
      identityFlow(flowConfig(8, { depth: 2 })).params,
      normals(64),
      1,
    );
    expect(cv.levels.map((l) => l.size)).toEqual([4, 2]);
    const tebd = flowConfig(4, { layout: "tebd", depth: 1 });
    expect(collectiveVariables(createFlow(tebd), identityFlow(tebd).params, normals(16), 1).levels).toEqual([]);
  });
});
