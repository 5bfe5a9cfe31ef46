import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { runTraining } from "../../src/train/run.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { createTrainer, evaluateF, trainEpoch } from "../../src/train/trainer.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "neuralrg-train-"));

describe("training by probability density distillation", () => {
  it("drives F to the exact −ln Z of a Gaussian target (and an untrained flow fails the same tolerance)", () => {
    const config: TrainConfig = {
      target: { kind: "gaussian", L: 4 },
      flow: { L: 4, layout: "mera", depth: 2, nlayers: 4, nmlp: 1, nhidden: 8 },
      batch: 128,
      epochs: 400,
      lr: 1e-2,
      weightDecay: 0,
      seed: 3,
      dtype: "float64",
      symmetrize: false,
      init: "identity",
    };
    const target = makeTarget(config.target);
    const exact = target.exactNegLogZ!;
    const state = createTrainer(config, target);
    const before = evaluateF(state, 2048, 99);
    for (let e = 0; e < config.epochs; e++) trainEpoch(state);
    const after = evaluateF(state, 2048, 99);
    const tol = 0.05 * Math.abs(exact) + 0.05;
    expect(Math.abs(before.F - exact)).toBeGreaterThan(tol);
    expect(after.F - exact).toBeLessThan(tol);
    // the variational bound: never below the exact value beyond noise
    expect(after.F).toBeGreaterThan(exact - 3 * after.stdErr - 1e-9);
  });

  it("4×4 critical relaxed Ising reaches a relative error below 2e-2 in a CI-sized budget, never below the bound", () => {
    const config: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2 / Math.log(1 + Math.SQRT2) },
      flow: { L: 4, layout: "mera", depth: 2, nlayers: 4, nmlp: 1, nhidden: 16 },
      batch: 256,
      epochs: 250,
      lr: 1e-2,
      weightDecay: 0,
      seed: 1,
      dtype: "float64",
      symmetrize: true,
      init: "identity",
    };
    const target = makeTarget(config.target);
    const exact = target.exactNegLogZ!;
    const state = createTrainer(config, target);
    const first = evaluateF(state, 1024, 5);
    for (let e = 0; e < config.epochs; e++) {
      const m = trainEpoch(state);
      expect(m.F).toBeGreaterThan(exact - 3 * m.FstdErr - 1e-9);
    }
    const last = evaluateF(state, 4096, 5);
    const rel = (last.F - exact) / Math.abs(exact);
    expect((first.F - exact) / Math.abs(exact)).toBeGreaterThan(2e-2);
    expect(rel).toBeLessThan(2e-2);
    expect(last.F).toBeGreaterThan(exact - 3 * last.stdErr);
  });

  it("checkpoint → resume reproduces the uninterrupted run's metrics exactly", async () => {
    const base: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2.5 },
      flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
      batch: 32,
      epochs: 12,
      lr: 1e-2,
      weightDecay: 1e-3,
      seed: 7,
      dtype: "float64",
      symmetrize: true,
      init: "torch",
    };
    const a = tmp();
    const b = tmp();
    try {
      await runTraining({ dir: a, config: base, savePeriod: 5, progress: "off", evalSamples: 64 });
      // interrupted after 7 epochs (checkpoint at 5, metrics up to 7), then resumed
      await runTraining({ dir: b, config: { ...base, epochs: 7 }, savePeriod: 5, progress: "off", evalSamples: 64 });
      await runTraining({ dir: b, config: base, savePeriod: 5, progress: "off", evalSamples: 64, resume: true });
      const ma = readFileSync(join(a, "metrics.csv"), "utf8")
        .split("\n")
        .map((l) => l.split(",").slice(0, 6).join(","));
      const mb = readFileSync(join(b, "metrics.csv"), "utf8")
        .split("\n")
        .map((l) => l.split(",").slice(0, 6).join(","));
      expect(ma.length).toBe(14); // header + 12 rows + trailing ""
      expect(mb).toEqual(ma);
      const ca = loadCheckpoint(join(a, "checkpoint.json"));
      const cb = loadCheckpoint(join(b, "checkpoint.json"));
      expect(cb.epoch).toBe(12);
      expect(Array.from(cb.params)).toEqual(Array.from(ca.params));
      expect(cb.rng).toEqual(ca.rng);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it("refuses to resume with a different architecture, naming the key", async () => {
    const dir = tmp();
    const config: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2.5 },
      flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 },
      batch: 8,
      epochs: 2,
      lr: 1e-3,
      weightDecay: 0,
      seed: 1,
      dtype: "float64",
      symmetrize: true,
      init: "identity",
    };
    try {
      await runTraining({ dir, config, savePeriod: 1, progress: "off", evalSamples: 8 });
      await expect(
        runTraining({
          dir,
          config: { ...config, flow: { ...config.flow, nhidden: 5 } },
          savePeriod: 1,
          progress: "off",
          resume: true,
        }),
      ).rejects.toThrow(/nhidden/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
