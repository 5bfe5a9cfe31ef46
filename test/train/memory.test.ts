import { describe, expect, it } from "vitest";
import type { FlowConfig, LayoutKind } from "../../src/flow/config.ts";
import { buildLayers } from "../../src/flow/layout.ts";
import { createFlow, generateWithTape } from "../../src/flow/flow.ts";
import { estimateEpochBytes, tapeSitesPerRow } from "../../src/train/memory.ts";
import { estimateTrainingBytes } from "../../src/train/run.ts";
import { TRAIN_DEFAULTS, type TrainConfig } from "../../src/train/trainer.ts";

describe("training memory estimate", () => {
  it("tapeSitesPerRow equals Σ 4·nblocks of the layers the layout builds, for every layout and depth", () => {
    for (const layout of ["mera", "tree", "tebd"] as LayoutKind[]) {
      for (const L of [2, 4, 16, 64]) {
        for (let depth = 1; depth <= Math.log2(L); depth++) {
          const layers = buildLayers({ L, layout, depth, nlayers: 2, nmlp: 1, nhidden: 2 });
          expect(tapeSitesPerRow(L, layout, depth)).toBe(layers.reduce((s, l) => s + 4 * l.nblocks, 0));
        }
      }
    }
  });

  it("counts exactly the numbers a taped pass keeps", () => {
    const config: FlowConfig = { L: 16, layout: "mera", depth: 4, nlayers: 2, nmlp: 1, nhidden: 2 };
    const model = createFlow(config);
    const batch = 3;
    const { tape } = generateWithTape(model, new Float64Array(model.nparams), new Float64Array(batch * 256), batch);
    expect(tape.inputs.reduce((s, a) => s + a.length, 0)).toBe(batch * tapeSitesPerRow(16, "mera", 4));
  });

  it("scales with batch and precision; symmetrised and worker-thread runs need more", () => {
    const shape = {
      L: 64,
      layout: "mera" as const,
      depth: 6,
      batch: 256,
      dtype: "float64" as const,
      passes: 2 as const,
    };
    const b = estimateEpochBytes(shape);
    expect(estimateEpochBytes({ ...shape, batch: 512 })).toBe(2 * b);
    expect(estimateEpochBytes({ ...shape, dtype: "float32" })).toBe(b / 2);
    expect(estimateEpochBytes({ ...shape, passes: 1 })).toBeLessThan(b);
    // 64×64, batch 256, float64, symmetrised: (5 + 2·(1 + 2.67) + 2)·N numbers per row ≈ 115 MB
    expect(b / 2 ** 20).toBeGreaterThan(100);
    expect(b / 2 ** 20).toBeLessThan(130);
    const config: TrainConfig = {
      target: { kind: "ising", L: 64, T: 2.269 },
      flow: { L: 64, layout: "mera", depth: 6, nlayers: 4, nmlp: 1, nhidden: 16 },
      batch: 256,
      epochs: 1,
      lr: 1e-3,
      weightDecay: 0,
      seed: 1,
      dtype: "float64",
      symmetrize: TRAIN_DEFAULTS.symmetrize,
      init: "identity",
    };
    expect(estimateTrainingBytes(config, 2)).toBeGreaterThan(estimateTrainingBytes(config, 1));
    expect(estimateTrainingBytes({ ...config, symmetrize: false })).toBeLessThan(estimateTrainingBytes(config));
  });
});
