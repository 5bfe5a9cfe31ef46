import { describe, expect, it } from "vitest";
import { canonicalFlowConfig } from "../../src/flow/config.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { lrFactor } from "../../src/train/schedule.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { createTrainer, evaluateF, ORIGINAL_DEFAULTS, TRAIN_DEFAULTS, trainEpoch } from "../../src/train/trainer.ts";

const T_C = 2 / Math.log(1 + Math.SQRT2);

/** A TrainConfig for 4×4 critical Ising from a defaults object (`neuralrg train`'s or the original code's). */
function configFrom(d: typeof TRAIN_DEFAULTS, epochs: number, batch: number, seed: number): TrainConfig {
  return {
    target: { kind: "ising", L: 4, T: T_C },
    flow: canonicalFlowConfig({
      L: 4,
      layout: d.layout,
      depth: 2,
      nlayers: d.nlayers,
      nmlp: d.nmlp,
      nhidden: d.nhidden,
      nrepeat: d.nrepeat,
      activation: d.activation,
    }),
    batch,
    epochs,
    lr: d.lr,
    weightDecay: d.weightDecay,
    seed,
    dtype: d.dtype,
    symmetrize: d.symmetrize,
    init: d.init,
    kernel: d.kernel,
    ...(d.gradient !== "reparam" ? { gradient: d.gradient } : {}),
    ...(d.lrDecay !== "constant" || d.warmup > 0
      ? { lrSchedule: { warmup: d.warmup, decay: d.lrDecay, final: d.lrFinal } }
      : {}),
    ...(d.anneal > 0 ? { anneal: { fraction: d.anneal, betaStart: d.annealFrom } } : {}),
  };
}

describe("training recipe", () => {
  it("the first Adam step follows the learning-rate warm-up (|Δθ| ≤ lr × factor, attained by some parameter)", () => {
    const config: TrainConfig = {
      ...configFrom(TRAIN_DEFAULTS, 100, 16, 1),
      lrSchedule: { warmup: 0.5, decay: "cosine", final: 0 },
    };
    const t = createTrainer(config, makeTarget(config.target));
    const before = Float64Array.from(t.params);
    trainEpoch(t);
    let max = 0;
    for (let i = 0; i < before.length; i++) max = Math.max(max, Math.abs(t.params[i] - before[i]));
    const expected = config.lr * lrFactor(config.lrSchedule, 0, 100); // Adam's first step moves by ≈ lr·sign(g)
    expect(max).toBeLessThan(expected * 1.01);
    expect(max).toBeGreaterThan(expected * 0.9);
  });

  it("the defaults of `neuralrg train` reach a lower F than the original code's at equal epochs and batch on 4×4 at T_c", () => {
    const target = makeTarget({ kind: "ising", L: 4, T: T_C });
    const epochs = 80;
    const batch = 64;
    const result = (d: typeof TRAIN_DEFAULTS) => {
      const t = createTrainer(configFrom(d, epochs, batch, 3), target);
      while (t.epoch < epochs) trainEpoch(t);
      return evaluateF(t, 2048, 99);
    };
    const fresh = result(TRAIN_DEFAULTS);
    const orig = result(ORIGINAL_DEFAULTS);
    expect(fresh.F).toBeLessThan(orig.F - 3 * Math.hypot(fresh.stdErr, orig.stdErr));
  });
});
