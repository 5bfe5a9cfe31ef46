import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { ParallelObjective } from "../../src/train/parallel.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";

describe("data-parallel objective over worker threads", () => {
  it.each(["reparam", "path"] as const)("equals the single-thread loss and gradient up to rounding (%s gradient)", async (gradient) => {
    const config: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2.3 },
      flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
      batch: 37, epochs: 1, lr: 1e-3, weightDecay: 0, seed: 1, dtype: "float64", symmetrize: true, init: "torch", kernel: "js",
      ...(gradient === "path" ? { gradient } : {}),
    };
    const rng = Rng.fromSeed(9);
    const params = initParams(config.flow, "float64", () => rng.uniform(), "torch").data;
    const z = new Float64Array(config.batch * 16);
    rng.fillNormal(z);
    const single = pddLossAndGrad(createFlow(config.flow), params, makeTarget(config.target), z, config.batch, { symmetrize: true, gradient });
    const pool = await ParallelObjective.create(config, 2);
    try {
      const par = await pool.lossAndGrad(params, z, config.batch, 16);
      for (let b = 0; b < config.batch; b++) expect(par.perSample[b]).toBeCloseTo(single.perSample[b], 12);
      let worst = 0;
      for (let i = 0; i < params.length; i++) worst = Math.max(worst, Math.abs(par.grad[i] - single.grad[i]) / (1e-8 + Math.abs(single.grad[i])));
      expect(worst).toBeLessThan(1e-9);
    } finally {
      await pool.close();
    }
  });
});
