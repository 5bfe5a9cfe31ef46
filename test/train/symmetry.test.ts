/**
 * Z2 symmetry in training: the symmetrised model q_sym (Eq. S4 / App. D) and the symmetry
 * regulariser KL(q(x)‖q(−x)) of App. E.
 */
import { describe, expect, it } from "vitest";
import { logAddExp, meanStdErr } from "../../src/engine/math.ts";
import type { Real } from "../../src/engine/real.ts";
import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, generate, logProb } from "../../src/flow/flow.ts";
import type { FlowModel } from "../../src/flow/flow.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import type { Target } from "../../src/targets/target.ts";
import { pddLoss, pddLossAndGrad, symmetryKL } from "../../src/train/objectives.ts";
import { ParallelObjective } from "../../src/train/parallel.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { createTrainer, trainEpoch, validateTrainConfig } from "../../src/train/trainer.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { toyTarget } from "./helpers.ts";

/** ln q_sym(x) = logaddexp(ln q(x), ln q(−x)) − ln 2, through the inverse flow only. */
function logQSym(model: FlowModel, params: Real, x: Float64Array, batch: number): Float64Array {
  const a = logProb(model, params, x, batch);
  const b = logProb(
    model,
    params,
    x.map((v) => -v),
    batch,
  );
  return a.map((v, i) => logAddExp(v, b[i]) - Math.LN2);
}

const small: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 };

describe("symmetry regulariser KL(q(x)‖q(−x)) (App. E)", () => {
  const model = createFlow(small);
  const params = randomParams(small, 3, 0.3);
  const target = toyTarget(4);
  const batch = 4;
  const z = normals(batch * 16, 21);
  const lambda = 0.7;
  const opts = { symmetrize: false, symmetryWeight: lambda };

  it("its gradient (with the PDD loss) matches central differences for every parameter (float64)", () => {
    const r = pddLossAndGrad(model, params, target, z, batch, opts);
    expect(r.objective).toBeCloseTo(r.loss + lambda * r.symKL, 12);
    const f = (p: Float64Array) => pddLossAndGrad(model, p, target, z, batch, opts).objective;
    const h = 1e-6;
    let worst = 0;
    let gmax = 0;
    for (let k = 0; k < params.length; k++) {
      const pp = params.slice();
      pp[k] += h;
      const pm = params.slice();
      pm[k] -= h;
      const fd = (f(pp) - f(pm)) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - r.grad[k]) / (1e-4 + Math.abs(fd)));
      gmax = Math.max(gmax, Math.abs(r.grad[k]));
    }
    expect(worst).toBeLessThan(1e-5);
    expect(gmax).toBeGreaterThan(1e-3);
  });

  it("the regulariser's own gradient is what it adds (difference of the two gradients vs finite differences of KL)", () => {
    const with_ = pddLossAndGrad(model, params, target, z, batch, opts).grad;
    const without = pddLossAndGrad(model, params, target, z, batch, { symmetrize: false }).grad;
    const kl = (p: Float64Array) => symmetryKL(model, p, z, batch).mean;
    const h = 1e-6;
    let worst = 0;
    let dmax = 0;
    for (let k = 0; k < params.length; k++) {
      const pp = params.slice();
      pp[k] += h;
      const pm = params.slice();
      pm[k] -= h;
      const fd = (lambda * (kl(pp) - kl(pm))) / (2 * h);
      const d = with_[k] - without[k];
      worst = Math.max(worst, Math.abs(fd - d) / (1e-4 + Math.abs(fd)));
      dmax = Math.max(dmax, Math.abs(d));
    }
    expect(worst).toBeLessThan(1e-5);
    expect(dmax).toBeGreaterThan(1e-4);
  });

  it("the batch value equals symmetryKL on the same samples, and the loss itself is unchanged", () => {
    const r = pddLossAndGrad(model, params, target, z, batch, opts);
    const plain = pddLossAndGrad(model, params, target, z, batch, { symmetrize: false });
    expect(r.symKL).toBeCloseTo(symmetryKL(model, params, z, batch).mean, 10);
    expect(r.loss).toBe(plain.loss);
    expect(Array.from(r.perSample)).toEqual(Array.from(plain.perSample));
    expect(Number.isNaN(plain.symKL)).toBe(true);
  });

  it("is ≥ 0 in expectation for asymmetric flows, and 0 for the (symmetric) identity flow", () => {
    const n = 4000;
    const zz = normals(n * 16, 5);
    for (const seed of [1, 2, 3]) {
      const p = randomParams(small, seed, 0.3);
      const kl = symmetryKL(model, p, zz, n);
      expect(kl.mean).toBeGreaterThan(5 * kl.stdErr);
      // some samples are below zero: only the expectation is a KL
      expect(Math.min(...kl.perSample)).toBeLessThan(0);
    }
    const identity = new Float64Array(model.nparams);
    const kl0 = symmetryKL(model, identity, zz, n);
    for (const v of kl0.perSample) expect(Math.abs(v)).toBeLessThan(1e-12);
    const r = pddLossAndGrad(model, identity, target, zz.subarray(0, 64 * 16), 64, opts);
    expect(Math.abs(r.symKL)).toBeLessThan(1e-12);
  });

  it("refuses symmetrize = true with a nonzero weight, negative weights and asymmetric targets", () => {
    expect(() => pddLossAndGrad(model, params, target, z, batch, { symmetrize: true, symmetryWeight: 1 })).toThrow(
      /identically zero/,
    );
    expect(() => pddLossAndGrad(model, params, target, z, batch, { symmetrize: false, symmetryWeight: -1 })).toThrow(
      /symmetry-weight/,
    );
    expect(() => pddLossAndGrad(model, params, { ...target, z2Symmetric: false }, z, batch, opts)).toThrow(/Z2/);
    // weight 0 with symmetrize is the ordinary symmetrised objective
    expect(() =>
      pddLossAndGrad(model, params, target, z, batch, { symmetrize: true, symmetryWeight: 0 }),
    ).not.toThrow();
    const config: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2.3 },
      flow: small,
      batch: 8,
      epochs: 1,
      lr: 1e-3,
      weightDecay: 0,
      seed: 1,
      dtype: "float64",
      symmetrize: true,
      init: "identity",
      symmetryWeight: 0.5,
    };
    expect(() => validateTrainConfig(config)).toThrow(/identically zero/);
    expect(() => validateTrainConfig({ ...config, symmetrize: false, symmetryWeight: Number.NaN })).toThrow(
      /symmetry-weight/,
    );
    expect(() => validateTrainConfig({ ...config, symmetrize: false })).not.toThrow();
  });

  it("a regularised trainer reports the KL, and worker threads compute the same gradient", async () => {
    const config: TrainConfig = {
      target: { kind: "ising", L: 4, T: 2.3 },
      flow: small,
      batch: 24,
      epochs: 2,
      lr: 1e-3,
      weightDecay: 0,
      seed: 1,
      dtype: "float64",
      symmetrize: false,
      init: "torch",
      symmetryWeight: 0.5,
      kernel: "js",
    };
    const t = createTrainer(config, makeTarget(config.target));
    const m = trainEpoch(t);
    expect(Number.isFinite(m.symKL)).toBe(true);
    const rng = Rng.fromSeed(4);
    const zb = new Float64Array(config.batch * 16);
    rng.fillNormal(zb);
    const single = pddLossAndGrad(t.model, t.params, t.target, zb, config.batch, {
      symmetrize: false,
      symmetryWeight: 0.5,
    });
    const pool = await ParallelObjective.create(config, 2);
    try {
      const par = await pool.lossAndGrad(t.params, zb, config.batch, 16);
      let worst = 0;
      for (let i = 0; i < single.grad.length; i++)
        worst = Math.max(worst, Math.abs(par.grad[i] - single.grad[i]) / (1e-8 + Math.abs(single.grad[i])));
      expect(worst).toBeLessThan(1e-9);
    } finally {
      await pool.close();
    }
  });
});

describe("the symmetrised model q_sym(x) = ½[q(x) + q(−x)] (Eq. S4)", () => {
  it("is symmetric: the objective's ln q_sym(x) equals ln q_sym(−x) computed through the inverse flow", () => {
    const model = createFlow(small);
    const params = randomParams(small, 7, 0.5);
    const batch = 16;
    const z = normals(batch * 16, 8);
    const r = pddLossAndGrad(model, params, toyTarget(4), z, batch, { symmetrize: true });
    const x = Float64Array.from(r.x);
    const atMinus = logQSym(
      model,
      params,
      x.map((v) => -v),
      batch,
    );
    const atPlus = logQSym(model, params, x, batch);
    for (let b = 0; b < batch; b++) {
      expect(r.logQ[b]).toBeCloseTo(atMinus[b], 9);
      expect(atPlus[b]).toBeCloseTo(atMinus[b], 12);
    }
    // and q itself is not symmetric (else the check would be vacuous)
    const q = logProb(model, params, x, batch);
    const qm = logProb(
      model,
      params,
      x.map((v) => -v),
      batch,
    );
    expect(Math.max(...q.map((v, i) => Math.abs(v - qm[i])))).toBeGreaterThan(0.1);
  });

  it("is normalised: ∫ q_sym dx = 1 on a 2×2 lattice by numerical integration (and so does q)", () => {
    const config: FlowConfig = { L: 2, layout: "mera", depth: 1, nlayers: 4, nmlp: 1, nhidden: 4 };
    const model = createFlow(config);
    const params = randomParams(config, 11, 0.4);
    // trapezoid rule on [−R, R]^4: spectrally accurate for smooth, rapidly decaying integrands
    const n = 20;
    const R = 8;
    const h = (2 * R) / (n - 1);
    const grid = Array.from({ length: n }, (_, i) => -R + i * h);
    const chunk = n * n;
    const x = new Float64Array(chunk * 4);
    let sumQ = 0;
    let sumSym = 0;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let k = 0;
        for (let c = 0; c < n; c++) {
          for (let d = 0; d < n; d++) {
            x[4 * k] = grid[a];
            x[4 * k + 1] = grid[b];
            x[4 * k + 2] = grid[c];
            x[4 * k + 3] = grid[d];
            k++;
          }
        }
        const q = logProb(model, params, x, chunk);
        const s = logQSym(model, params, x, chunk);
        for (let i = 0; i < chunk; i++) {
          sumQ += Math.exp(q[i]);
          sumSym += Math.exp(s[i]);
        }
      }
    }
    const vol = h ** 4;
    // (on a grid symmetric under x → −x the two sums agree identically: ∫q_sym = ½[∫q(x) + ∫q(−x)];
    // what is checked is the ½, i.e. the −ln 2 of the log-sum-exp, and q's own normalisation)
    expect(Math.abs(sumQ * vol - 1)).toBeLessThan(1e-3);
    expect(Math.abs(sumSym * vol - 1)).toBeLessThan(1e-3);
    // the flow is far from the identity: q and q_sym differ markedly somewhere
    const probe = normals(4 * 64, 3).map((v) => 1.5 * v);
    const q = logProb(model, params, probe, 64);
    const s = logQSym(model, params, probe, 64);
    expect(Math.max(...q.map((v, i) => Math.abs(v - s[i])))).toBeGreaterThan(0.2);
  });

  it("is normalised: sampling q_sym on a 4×4 Gaussian target recovers the exact Z (importance weights π/q_sym)", () => {
    const target = makeTarget({ kind: "gaussian", L: 4, precision: "identity" });
    const exact = target.exactNegLogZ!;
    const model = createFlow(small);
    // a flow near (not at) the identity, so that the importance weights are well behaved
    const params = randomParams(small, 5, 0.3).map((v) => 0.3 * v);
    const n = 20000;
    const z = normals(n * 16, 31);
    const r = pddLoss(model, params, target, z, n, { symmetrize: true });
    // x ∼ q; flipping the sign with probability ½ gives x ∼ q_sym, and π, q_sym are both even,
    // so the weights π(x)/q_sym(x) need no flip: Z = E_{q_sym}[π/q_sym].
    const logw = Array.from(r.logPi, (lp, i) => lp - r.logQ[i]);
    const m = Math.max(...logw);
    const w = logw.map((v) => Math.exp(v - m));
    const { mean, stdErr } = meanStdErr(w);
    const negLogZhat = -(m + Math.log(mean));
    const err = stdErr / mean;
    expect(err).toBeLessThan(0.01); // the check has teeth
    // q is far enough from symmetric that q_sym ≠ q matters (plain F − symmetrised F = KL(q‖q_sym))
    const plain = pddLoss(model, params, target, z, n, { symmetrize: false });
    expect(plain.loss - r.loss).toBeGreaterThan(0.1);
    expect(Math.abs(negLogZhat - exact)).toBeLessThan(4 * err + 1e-3);
    // and the same estimate with an unnormalised density (q_sym doubled) misses by ln 2
    expect(Math.abs(negLogZhat - Math.LN2 - exact)).toBeGreaterThan(4 * err + 1e-3);
    // the variational bound holds: F_sym ≥ −ln Z
    expect(r.loss).toBeGreaterThan(exact - 3 * r.stdErr);
  });
});

describe("identity flow on a standard normal target", () => {
  it("q_sym = q = π/Z exactly: every per-sample loss equals −ln Z", () => {
    const target = makeTarget({ kind: "gaussian", L: 4, precision: "identity" });
    const model = createFlow(small);
    const params = new Float64Array(model.nparams);
    const batch = 32;
    const z = normals(batch * 16, 4);
    for (const symmetrize of [false, true]) {
      const r = pddLoss(model, params, target, z, batch, { symmetrize });
      for (const v of r.perSample) expect(v).toBeCloseTo(target.exactNegLogZ!, 10);
    }
    const g = generate(model, params, z, batch);
    for (let k = 0; k < z.length; k++) expect(g.x[k]).toBe(z[k]);
  });
});
