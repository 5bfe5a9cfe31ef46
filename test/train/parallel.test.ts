import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import {
  AUTO_MIN_SITES_PER_WORKER,
  ParallelObjective,
  parseWorkersOption,
  resolveWorkers,
} from "../../src/train/parallel.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";

describe("data-parallel objective over worker threads", () => {
  it.each(["reparam", "path"] as const)(
    "equals the single-thread loss and gradient up to rounding (%s gradient)",
    async (gradient) => {
      const config: TrainConfig = {
        target: { kind: "ising", L: 4, T: 2.3 },
        flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
        batch: 37,
        epochs: 1,
        lr: 1e-3,
        weightDecay: 0,
        seed: 1,
        dtype: "float64",
        symmetrize: true,
        init: "torch",
        kernel: "js",
        ...(gradient === "path" ? { gradient } : {}),
      };
      const rng = Rng.fromSeed(9);
      const params = initParams(config.flow, "float64", () => rng.uniform(), "torch").data;
      const z = new Float64Array(config.batch * 16);
      rng.fillNormal(z);
      const single = pddLossAndGrad(createFlow(config.flow), params, makeTarget(config.target), z, config.batch, {
        symmetrize: true,
        gradient,
      });
      // background start: evaluated in this thread until the workers have loaded, then sharded
      const pool = await ParallelObjective.create(config, 2, { background: true });
      try {
        const check = (par: { perSample: Float64Array; grad: Float64Array }) => {
          for (let b = 0; b < config.batch; b++) expect(par.perSample[b]).toBeCloseTo(single.perSample[b], 12);
          let worst = 0;
          for (let i = 0; i < params.length; i++)
            worst = Math.max(worst, Math.abs(par.grad[i] - single.grad[i]) / (1e-8 + Math.abs(single.grad[i])));
          expect(worst).toBeLessThan(1e-9);
          return worst;
        };
        check(await pool.lossAndGrad(params, z, config.batch, 16));
        await pool.whenReady();
        // sharded: the shards' gradients are combined in another order, so not bit-identical
        expect(check(await pool.lossAndGrad(params, z, config.batch, 16))).toBeGreaterThan(0);
      } finally {
        await pool.close();
      }
    },
  );
});

describe("--workers auto", () => {
  it("uses one worker per core only when each gets at least AUTO_MIN_SITES_PER_WORKER sites", () => {
    expect(resolveWorkers(3, 16, 16, 2)).toBe(3);
    expect(resolveWorkers("auto", 512, 16, 2)).toBe(1); // L = 4
    expect(resolveWorkers("auto", 512, 64, 2)).toBe(1); // L = 8: 32,768 sites in all
    expect(resolveWorkers("auto", 1024, 64, 2)).toBe(2);
    expect(resolveWorkers("auto", 512, 256, 2)).toBe(2); // L = 16
    expect(resolveWorkers("auto", 512, 256, 1)).toBe(1);
    expect(resolveWorkers("auto", 512, 1024, 8)).toBe(8);
    expect(AUTO_MIN_SITES_PER_WORKER * 2).toBeLessThanOrEqual(512 * 256);
  });

  it("parses auto and 1..64 and rejects the rest", () => {
    expect(parseWorkersOption("auto")).toBe("auto");
    expect(parseWorkersOption("2")).toBe(2);
    for (const bad of ["0", "65", "1.5", "", "two", "-1"])
      expect(() => parseWorkersOption(bad)).toThrow(/workers = .* is invalid/);
  });
});
