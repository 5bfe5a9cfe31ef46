import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { misDecide } from "../../src/sample/mis.ts";
import { Rng } from "../../src/engine/rng.ts";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { runTraining } from "../../src/train/run.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { augmentRows, createBuffer, drawMinibatch, pushRows } from "../../src/train/buffer.ts";
import { nllLoss, nllLossAndGrad } from "../../src/train/nll.ts";
import { pddLoss, pddLossAndGrad } from "../../src/train/objectives.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { createTrainer, objectiveOptions, prepareEpoch, trainEpoch } from "../../src/train/trainer.ts";
import { expectOneLineError, run } from "../cli/helpers.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "neuralrg-buffer-"));

const BASE: TrainConfig = {
  target: { kind: "ising", L: 4, T: 2.269185314213022 },
  flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
  batch: 32,
  epochs: 12,
  lr: 1e-2,
  weightDecay: 0,
  seed: 11,
  dtype: "float64",
  symmetrize: true,
  init: "torch",
};
const withBuffer = (nllWeight: number, extra: Partial<TrainConfig> = {}): TrainConfig => ({
  ...BASE,
  ...extra,
  buffer: { size: 200, batch: 24, nllWeight },
});

function rowsOf(a: ArrayLike<number>, N: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < a.length / N; r++) out.push(Array.from({ length: N }, (_, i) => a[r * N + i]));
  return out;
}

describe("experience buffer (FIFO) and symmetry augmentation", () => {
  it("augmentation doubles the kept rows and the copies are their negations", () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 4 rows of 2
    const keep = Uint8Array.from([0, 1, 0, 1]);
    const p = augmentRows(x, 2, keep, true);
    expect(p.n).toBe(4);
    expect(rowsOf(p.rows, 2)).toEqual([
      [3, 4],
      [-3, -4],
      [7, 8],
      [-7, -8],
    ]);
    const q = augmentRows(x, 2, keep, false);
    expect(q.n).toBe(2);
    expect(rowsOf(q.rows, 2)).toEqual([
      [3, 4],
      [7, 8],
    ]);
  });

  it("overwrites the oldest rows first, and a minibatch drawn before a push equals one drawn after it", () => {
    const buf = createBuffer(3, 1, "float64");
    pushRows(buf, { rows: Float64Array.from([0, 1, 2, 3, 4]), n: 5 });
    expect(Array.from(buf.data)).toEqual([3, 4, 2]);
    expect([buf.fill, buf.head]).toEqual([3, 2]);
    const g = Rng.fromSeed(5);
    for (let t = 0; t < 200; t++) {
      const cap = 1 + g.int(7);
      const b = createBuffer(cap, 2, "float64");
      pushRows(b, { rows: Float64Array.from({ length: 2 * g.int(10) }, () => g.uniform()), n: 0 }); // n = 0: nothing
      const pre = g.int(12);
      pushRows(b, { rows: Float64Array.from({ length: 2 * pre }, () => g.uniform()), n: pre });
      const k = g.int(2 * cap + 2);
      const pend = { rows: Float64Array.from({ length: 2 * k }, () => g.uniform()), n: k };
      if (b.fill + k === 0) continue;
      const seed = g.nextU32();
      const before = drawMinibatch(b, pend, 9, Rng.fromSeed(seed));
      pushRows(b, pend);
      const after = drawMinibatch(b, { rows: new Float64Array(0), n: 0 }, 9, Rng.fromSeed(seed));
      expect(Array.from(before)).toEqual(Array.from(after));
    }
  });
});

describe("Metropolised independence step (v1 Eq. 6)", () => {
  it("accepts a better proposal always, a zero-weight one never, and a ratio r with frequency r", () => {
    const n = 20000;
    const zero = new Float64Array(n);
    const rng = Rng.fromSeed(1);
    expect(misDecide(zero, zero, new Float64Array(n).fill(0.5), zero, rng).acceptance).toBe(1);
    expect(misDecide(zero, zero, new Float64Array(n).fill(-Infinity), zero, rng).acceptance).toBe(0);
    // ln π − ln q of the proposal is ln 0.3 below the chain's: A = 0.3
    const d = misDecide(
      new Float64Array(n).fill(1),
      new Float64Array(n).fill(1),
      new Float64Array(n).fill(Math.log(0.3)),
      zero,
      rng,
    );
    expect(d.acceptProb[0]).toBeCloseTo(0.3, 14);
    expect(Math.abs(d.acceptance - 0.3)).toBeLessThan(4 * Math.sqrt((0.3 * 0.7) / n));
  });

  it("only accepted samples enter the buffer, each with its Z2 copy (forced acceptances and rejections)", () => {
    const config = withBuffer(1);
    const target = makeTarget(config.target);
    const state = createTrainer(config, target);
    trainEpoch(state); // epoch 1 initialises the chains: nothing is pushed
    expect(state.replay!.chains.initialised).toBe(true);
    expect(state.replay!.buffer.fill).toBe(0);
    // chains of weight +∞ reject every proposal (A = 0), chains of weight 0 accept every one
    const acceptOn = (c: number) => c % 3 === 1;
    for (let c = 0; c < config.batch; c++) state.replay!.chains.logPi[c] = acceptOn(c) ? -Infinity : Infinity;
    const p = prepareEpoch(state);
    const x = rowsOf(p.combined!.pdd.x, 16);
    const m = trainEpoch(state, p);
    const want: number[][] = [];
    for (let c = 0; c < config.batch; c++)
      if (acceptOn(c))
        want.push(
          x[c],
          x[c].map((v) => -v),
        );
    expect(m.acceptance).toBeCloseTo(want.length / 2 / config.batch, 15);
    expect(m.bufferFill).toBe(want.length);
    expect(rowsOf(state.replay!.buffer.data.subarray(0, want.length * 16), 16)).toEqual(want);
    // the chains moved exactly where a proposal was accepted
    for (let c = 0; c < config.batch; c++) {
      expect(Number.isFinite(state.replay!.chains.logPi[c])).toBe(acceptOn(c));
    }
    // all rejected: the buffer does not change
    state.replay!.chains.logPi.fill(Infinity);
    const m2 = trainEpoch(state);
    expect(m2.acceptance).toBe(0);
    expect(m2.bufferFill).toBe(want.length);
  });
});

describe("combined objective: PDD + λ · NLL on the buffer (v1 Algorithm 1)", () => {
  it("with nll-weight 0 a run equals pure PDD with the same seed bit for bit (parameters and loss)", async () => {
    const dirs = [tmp(), tmp(), tmp()];
    try {
      const opts = { savePeriod: 4, progress: "off" as const, evalSamples: 64 };
      const pure = await runTraining({ dir: dirs[0], config: BASE, ...opts });
      const zero = await runTraining({ dir: dirs[1], config: withBuffer(0), ...opts });
      const one = await runTraining({ dir: dirs[2], config: withBuffer(1), ...opts });
      expect(Array.from(zero.state.params)).toEqual(Array.from(pure.state.params));
      expect(zero.summary.F).toBe(pure.summary.F);
      const F = (d: string) =>
        readFileSync(join(d, "metrics.csv"), "utf8")
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => l.split(",").slice(0, 6).join(","));
      expect(F(dirs[1])).toEqual(F(dirs[0]));
      // the buffer did run (acceptance and fill recorded), and with λ = 1 the same seed trains differently
      expect(zero.state.replay!.buffer.fill).toBeGreaterThan(0);
      expect(one.state.replay!.buffer.fill).toBeGreaterThan(0);
      expect(Array.from(one.state.params)).not.toEqual(Array.from(pure.state.params));
      expect(readFileSync(join(dirs[1], "metrics.csv"), "utf8").split("\n")[0]).toBe(
        "epoch,F,F_stderr,exact,rel_err,grad_norm,seconds,mis_acceptance,buffer_fill,nll",
      );
      expect(readFileSync(join(dirs[1], "plots", "buffer.svg"), "utf8")).toContain("<svg");
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  it("the combined gradient is the PDD gradient plus λ times the NLL gradient of the buffer minibatch (and matches finite differences)", () => {
    const lambda = 0.7;
    const config = withBuffer(lambda);
    const target = makeTarget(config.target);
    const state = createTrainer(config, target);
    for (let e = 0; e < 4; e++) trainEpoch(state);
    const p = prepareEpoch(state);
    const c = p.combined!;
    expect(c.minibatch).not.toBeNull();
    const D = c.minibatch!;
    const z = new Float64Array(config.batch * 16);
    Rng.fromState(state.rng.state()).fillNormal(z);
    const pdd = pddLossAndGrad(state.model, state.params, target, z, config.batch, objectiveOptions(config));
    const nll = nllLossAndGrad(state.model, state.params, D, config.buffer!.batch, { symmetrize: true });
    expect(c.nll).toBe(nll.loss);
    let scale = 0;
    for (let i = 0; i < p.grad.length; i++) scale = Math.max(scale, Math.abs(p.grad[i]));
    for (let i = 0; i < p.grad.length; i++)
      expect(Math.abs(p.grad[i] - (pdd.grad[i] + lambda * nll.grad[i]))).toBeLessThanOrEqual(1e-12 * scale);
    // the NLL part is not negligible here, so the check above can fail
    let diff = 0;
    for (let i = 0; i < p.grad.length; i++) diff = Math.max(diff, Math.abs(p.grad[i] - pdd.grad[i]));
    expect(diff).toBeGreaterThan(1e-3 * scale);
    // directional finite difference of F(θ; z) + λ NLL(θ; D)
    const g = Rng.fromSeed(3);
    const v = Float64Array.from({ length: p.grad.length }, () => g.normal());
    const objective = (t: number) => {
      const th = state.params.slice();
      for (let i = 0; i < th.length; i++) th[i] += t * v[i];
      return (
        pddLoss(state.model, th, target, z, config.batch, { symmetrize: true }).loss +
        lambda * nllLoss(state.model, th, D, config.buffer!.batch, { symmetrize: true }).loss
      );
    };
    const h = 1e-5;
    const fd = (objective(h) - objective(-h)) / (2 * h);
    let an = 0;
    for (let i = 0; i < v.length; i++) an += p.grad[i] * v[i];
    expect(Math.abs(fd - an)).toBeLessThan(1e-6 * Math.max(1, Math.abs(an)));
  });

  it("checkpoint → resume mid-run reproduces the uninterrupted run (buffer, chains, RNG, metrics)", async () => {
    const a = tmp();
    const b = tmp();
    try {
      const config = withBuffer(1, { epochs: 14 });
      const opts = { savePeriod: 5, progress: "off" as const, evalSamples: 64 };
      await runTraining({ dir: a, config, ...opts });
      // stopped after 8 epochs (checkpoints at 3, 6, 8: other save points than the reference run), then resumed
      await runTraining({ dir: b, config: { ...config, epochs: 8 }, ...opts, savePeriod: 3 });
      expect(loadCheckpoint(join(b, "checkpoint.json")).arrays!.replay_buffer.length).toBeGreaterThan(0);
      await runTraining({ dir: b, config, ...opts, resume: true });
      const cols = (d: string) =>
        readFileSync(join(d, "metrics.csv"), "utf8")
          .split("\n")
          .map((l) =>
            l
              .split(",")
              .filter((_, j) => j !== 6)
              .join(","),
          );
      const ma = cols(a);
      expect(ma.length).toBe(16); // header + 14 rows + trailing ""
      expect(cols(b)).toEqual(ma);
      const ca = loadCheckpoint(join(a, "checkpoint.json"));
      const cb = loadCheckpoint(join(b, "checkpoint.json"));
      expect(cb.epoch).toBe(14);
      expect(Array.from(cb.params)).toEqual(Array.from(ca.params));
      expect(cb.rng).toEqual(ca.rng);
      expect(cb.extra).toEqual(ca.extra);
      for (const k of ["replay_buffer", "replay_chain_x", "replay_chain_logpi"]) {
        expect(cb.arrays![k].length).toBeGreaterThan(0);
        expect(Array.from(cb.arrays![k])).toEqual(Array.from(ca.arrays![k]));
      }
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});

describe("neuralrg train buffer options", () => {
  const small = [
    "train",
    "--L",
    "4",
    "--epochs",
    "1",
    "--batch",
    "8",
    "--nlayers",
    "1",
    "--nhidden",
    "2",
    "--progress",
    "off",
  ];
  it.each([
    [
      ["--nll-weight", "-1"],
      ["nll-weight", "-1"],
    ],
    [
      ["--buffer-size", "0"],
      ["buffer-size", "0"],
    ],
    [
      ["--nll-weight", "1", "--buffer-batch", "0"],
      ["buffer-batch", "0"],
    ],
    [
      ["--buffer-batch", "16"],
      ["--buffer-batch", "--nll-weight > 0"],
    ],
    [
      ["--nll-weight", "1", "--workers", "2"],
      ["--workers", "one thread"],
    ],
  ])("refuses %j with a one-line error", async (args, fragments) => {
    const dir = tmp();
    try {
      const r = await run([...small, "--out", join(dir, "run"), ...args]);
      expect(r.code).toBe(2);
      expectOneLineError(r.err, ...fragments);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
