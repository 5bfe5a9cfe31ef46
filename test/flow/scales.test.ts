import { describe, expect, it } from "vitest";
import { coarseLatent, scaleResolvedSamples } from "../../src/flow/scales.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, generate } from "../../src/flow/flow.ts";
import { normals, randomParams } from "./helpers.ts";

describe("scale-resolved samples (v1 Fig. S5)", () => {
  const config: FlowConfig = { L: 8, layout: "mera", depth: 3, nlayers: 2, nmlp: 1, nhidden: 4 };
  const model = createFlow(config);
  const params = randomParams(config, 2, 0.3);
  const z = normals(2 * 64, 3);

  it("k = 0 is the ordinary sample; k zeroes exactly the latents of the finer scales (1 of 64 kept at the top)", () => {
    const s = scaleResolvedSamples(model, params, z, 2);
    expect(s.ks).toEqual([0, 1, 2, 3]);
    expect(Array.from(s.x[0])).toEqual(Array.from(generate(model, params, z, 2).x));
    // the number of latents left random at scale ≥ k on 8×8: 64, 16, 4, 1
    expect(
      [0, 1, 2, 3].map((k) => Array.from(coarseLatent(model, z.subarray(0, 64), 1, k)).filter((v) => v !== 0).length),
    ).toEqual([64, 16, 4, 1]);
    expect(Array.from(s.x[3])).toEqual(Array.from(generate(model, params, coarseLatent(model, z, 2, 3), 2).x));
    // and the kept latents are the sites at even coordinates of spacing 2^k
    const c = coarseLatent(model, z.subarray(0, 64), 1, 2);
    for (let i = 0; i < 64; i++) expect(c[i] !== 0).toBe(Math.floor(i / 8) % 4 === 0 && (i % 8) % 4 === 0);
  });
});
