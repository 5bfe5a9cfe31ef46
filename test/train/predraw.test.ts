/**
 * With worker threads, the trainer draws the next epoch's z while the workers compute
 * (trainer.ts: predrawNext). That must not change a single number: an asynchronous objective
 * that computes in this thread gives, epoch by epoch, bit-identical parameters to the
 * one-thread trainer — also when the generator is replaced between epochs (then the batch
 * drawn ahead is not used) and when the batch size changes with the epoch.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import type { Real } from "../../src/engine/real.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import type { AsyncObjective, TrainConfig, TrainerState } from "../../src/train/trainer.ts";
import { createTrainer, objectiveOptions, trainEpoch, trainEpochParallel } from "../../src/train/trainer.ts";

function config(batchFinal?: number): TrainConfig {
  return {
    target: { kind: "ising", L: 4, T: 2.5 },
    flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 },
    batch: 16,
    ...(batchFinal ? { batchFinal } : {}),
    epochs: 6,
    lr: 1e-2,
    weightDecay: 0,
    seed: 7,
    dtype: "float64",
    symmetrize: true,
    init: "torch",
    kernel: "wasm",
  };
}

/** The trainer's objective, asynchronous, in this thread; records the z it was given. */
function inThread(state: TrainerState, seen: Real[]): AsyncObjective {
  return {
    lossAndGrad(params, z, batch) {
      seen.push(z.slice() as Real);
      const r = pddLossAndGrad(state.model, params, state.target, z, batch, objectiveOptions(state.config));
      return Promise.resolve({ perSample: r.perSample, grad: r.grad });
    },
  };
}

describe("drawing the next batch ahead (worker threads)", () => {
  it.each([undefined, 24])("gives the one-thread trainer's parameters bit for bit (batchFinal %s)", async (bf) => {
    const c = config(bf);
    const one = createTrainer(c, makeTarget(c.target));
    const par = createTrainer(c, makeTarget(c.target));
    const seen: Real[] = [];
    const pool = inThread(par, seen);
    for (let e = 0; e < c.epochs; e++) {
      if (e === 3) {
        // a generator replaced between epochs: the batch drawn ahead no longer applies
        one.rng = Rng.fromSeed(99);
        par.rng = Rng.fromSeed(99);
      }
      trainEpoch(one);
      await trainEpochParallel(par, pool);
      expect(Array.from(par.params)).toEqual(Array.from(one.params));
    }
    expect(seen.length).toBe(c.epochs);
    // the batches differ from epoch to epoch (a stale batch reused would repeat one)
    for (let e = 1; e < seen.length; e++) expect(seen[e][0]).not.toBe(seen[e - 1][0]);
    if (bf) expect(seen[c.epochs - 1].length).toBeGreaterThan(seen[0].length);
  });
});
