import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { annealedTargetSpec, annealFactor, validateAnnealConfig } from "../../src/train/anneal.ts";
import { ParallelObjective } from "../../src/train/parallel.ts";
import { runTraining } from "../../src/train/run.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import {
  createTrainer,
  epochTarget,
  trainEpoch,
  trainEpochParallel,
  validateTrainConfig,
} from "../../src/train/trainer.ts";

const T = 2.5;
const base: TrainConfig = {
  target: { kind: "ising", L: 4, T },
  flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
  batch: 32,
  epochs: 20,
  lr: 1e-2,
  weightDecay: 0,
  seed: 7,
  dtype: "float64",
  symmetrize: true,
  init: "torch",
  anneal: { fraction: 0.5, betaStart: 0.4, steps: 3 },
};

describe("β annealing of the target", () => {
  it("the factor rises in `steps` equal steps from betaStart and is 1 from fraction × epochs on", () => {
    const a = { fraction: 0.3, betaStart: 0.5, steps: 20 };
    const f = Array.from({ length: 1000 }, (_, e) => annealFactor(a, e, 1000));
    expect(f[0]).toBe(0.5);
    for (let e = 1; e < f.length; e++) expect(f[e]).toBeGreaterThanOrEqual(f[e - 1]);
    expect(f[299]).toBeCloseTo(0.5 + (0.5 * 19) / 20, 14);
    expect(f.slice(300).every((v) => v === 1)).toBe(true);
    expect(new Set(f.slice(0, 300)).size).toBe(20);
    expect(annealFactor(undefined, 0, 1000)).toBe(1);
  });

  it("an annealed target is the target at T / factor, and its exact −ln Z is that temperature's", () => {
    const t = createTrainer(base, makeTarget(base.target));
    const first = epochTarget(t);
    expect(first.factor).toBe(0.4);
    expect(first.target.config).toEqual({ ...base.target, T: T / 0.4 });
    expect(first.target.exactNegLogZ).toBe(makeTarget({ kind: "ising", L: 4, T: T / 0.4 }).exactNegLogZ);
    const m = trainEpoch(t);
    expect(m.betaFactor).toBe(0.4);
    expect(m.exact).toBe(first.target.exactNegLogZ);
    while (t.epoch < 10) trainEpoch(t);
    const after = epochTarget(t);
    expect(after.factor).toBe(1);
    expect(after.target).toBe(t.target);
    expect(trainEpoch(t).betaFactor).toBeUndefined();
  });

  it("refuses bad settings and targets without a temperature, naming the value", () => {
    expect(() => validateAnnealConfig({ fraction: 1, betaStart: 0.5 })).toThrow(/anneal = 1 is invalid.*\(0, 1\)/);
    expect(() => validateAnnealConfig({ fraction: 0.3, betaStart: 0 })).toThrow(/anneal-from = 0 is invalid/);
    expect(() => validateAnnealConfig({ fraction: 0.3, betaStart: 0.5, steps: 0 })).toThrow(/steps = 0/);
    expect(() => annealedTargetSpec({ kind: "phi4", L: 4, kappa: 0.2, lambda: 0.1 }, 0.5)).toThrow(
      /needs a target with a temperature T/,
    );
    const phi4: TrainConfig = { ...base, target: { kind: "phi4", L: 4, kappa: 0.2, lambda: 0.1 } };
    expect(() => validateTrainConfig(phi4)).toThrow(/anneal needs a target with a temperature/);
  });

  it("worker threads follow the annealed target: the same epochs as one thread up to rounding", async () => {
    const config = { ...base, epochs: 8, anneal: { fraction: 0.5, betaStart: 0.4, steps: 2 } };
    const one = createTrainer(config, makeTarget(config.target));
    const two = createTrainer(config, makeTarget(config.target));
    const pool = await ParallelObjective.create(config, 2);
    try {
      for (let e = 0; e < config.epochs; e++) {
        const a = trainEpoch(one);
        const b = await trainEpochParallel(two, pool);
        expect(b.betaFactor).toBe(a.betaFactor);
        expect(b.F).toBeCloseTo(a.F, 9);
        expect(b.exact).toBe(a.exact);
      }
      for (let i = 0; i < one.params.length; i++) expect(two.params[i]).toBeCloseTo(one.params[i], 9);
    } finally {
      await pool.close();
    }
  });

  it("checkpoint → resume in the middle of the annealing reproduces the uninterrupted run", async () => {
    const a = mkdtempSync(join(tmpdir(), "nrg-anneal-"));
    const b = mkdtempSync(join(tmpdir(), "nrg-anneal-"));
    try {
      const opts = { savePeriod: 3, progress: "off" as const, evalSamples: 64 };
      await runTraining({ dir: a, config: base, ...opts });
      // interrupted after 4 epochs (checkpoint at 3, metrics up to 4), then resumed
      let done = 0;
      await runTraining({ dir: b, config: base, ...opts, onEpoch: () => done++, shouldStop: () => done >= 4 });
      expect(loadCheckpoint(join(b, "checkpoint.json")).epoch).toBe(4);
      await runTraining({ dir: b, config: base, ...opts, resume: true });
      const rows = (d: string) => readFileSync(join(d, "metrics.csv"), "utf8").split("\n");
      const head = rows(a)[0].split(",");
      expect(head).toContain("beta_factor");
      const col = head.indexOf("beta_factor");
      expect(
        rows(a)
          .slice(1, 21)
          .map((l) => Number(l.split(",")[col])),
      ).toEqual([
        ...Array<number>(4).fill(0.4),
        ...Array<number>(3).fill(0.6),
        ...Array<number>(3).fill(0.8),
        ...Array<number>(10).fill(1),
      ]);
      expect(loadCheckpoint(join(b, "checkpoint.json")).params).toEqual(
        loadCheckpoint(join(a, "checkpoint.json")).params,
      );
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
