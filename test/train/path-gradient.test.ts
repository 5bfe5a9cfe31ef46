import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, generateWithTapes, inferWithTape, logProb } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";
import { flowLogQSym } from "../../src/sample/density.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { modelScoreX, pathLossAndGrad } from "../../src/train/path-gradient.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { toyTarget } from "./helpers.ts";

describe("path gradient (sticking the landing)", () => {
  const config: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 };
  const model = createFlow(config);
  const params = randomParams(config, 3, 0.3);
  const ising = makeTarget({ kind: "ising", L: 4, T: 2.3 });

  /** mean over rows of ln q_θ(x) (q_sym when symmetrised) at fixed x */
  const meanLogQ = (p: Float64Array, x: Float64Array, batch: number, symmetrize: boolean): number => {
    const lq = symmetrize ? flowLogQSym(model, p, x, batch) : logProb(model, p, x, batch);
    return lq.reduce((a, b) => a + b, 0) / batch;
  };

  it.each([false, true])("symmetrize=%s: ∇ₓ ln q(x) at fixed θ matches central differences in x", (symmetrize) => {
    const batch = 3;
    const x = normals(batch * 16, 8);
    const { gradX } = modelScoreX(model, params, x, batch, symmetrize);
    const h = 1e-6;
    let worst = 0;
    for (let k = 0; k < x.length; k++) {
      const xp = x.slice();
      xp[k] += h;
      const xm = x.slice();
      xm[k] -= h;
      const fd =
        (batch * (meanLogQ(params, xp, batch, symmetrize) - meanLogQ(params, xm, batch, symmetrize))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - gradX[k]) / (1e-4 + Math.abs(fd)));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it.each([
    [false, "js"],
    [true, "js"],
    [false, "wasm"],
    [true, "wasm"],
  ] as const)(
    "symmetrize=%s, %s kernel: the generate pass's inverse tape stands in for the inference pass at x",
    (symmetrize, kernel) => {
      const m = createFlow(config, kernel);
      const batch = 4;
      const z = normals(batch * 16, 17);
      const gen = generateWithTapes(m, params, z, batch);
      // the inverse tape is the inference pass's tape at x, up to rounding
      const inf = inferWithTape(m, params, gen.x, batch);
      expect(gen.inverseTape.dir).toBe("infer");
      expect(gen.inverseTape.inputs.length).toBe(inf.tape.inputs.length);
      gen.inverseTape.inputs.forEach((t, q) => {
        expect(t.length).toBe(inf.tape.inputs[q].length);
        for (let i = 0; i < t.length; i++) expect(Math.abs(t[i] - inf.tape.inputs[q][i])).toBeLessThan(1e-12);
      });
      const a = modelScoreX(m, params, gen.x, batch, symmetrize);
      const b = modelScoreX(m, params, gen.x, batch, symmetrize, {
        z,
        logDet: gen.logDet,
        inverseTape: gen.inverseTape,
      });
      let worst = 0;
      for (let k = 0; k < a.gradX.length; k++) worst = Math.max(worst, Math.abs(a.gradX[k] - b.gradX[k]));
      expect(worst).toBeLessThan(1e-10);
      for (let r = 0; r < batch; r++) expect(b.logQ[r]).toBeCloseTo(a.logQ[r], 10);
      // and it is not the score of some other point: at −x it differs
      const c = modelScoreX(
        m,
        params,
        gen.x.map((v) => -v),
        batch,
        false,
      );
      expect(Math.max(...c.gradX.map((v, k) => Math.abs(v - b.gradX[k])))).toBeGreaterThan(1e-3);
    },
  );

  it.each([
    [false, "toy"],
    [true, "toy"],
    [false, "ising"],
    [true, "ising"],
  ] as const)(
    "symmetrize=%s, %s target: reparametrised − path gradient = the score term ∂θ mean ln q_θ(x) at fixed x (central differences)",
    (symmetrize, which) => {
      const target = which === "toy" ? toyTarget(4) : ising;
      const batch = 5;
      const z = normals(batch * 16, 31);
      const a = pddLossAndGrad(model, params, target, z, batch, { symmetrize });
      const b = pathLossAndGrad(model, params, target, z, batch, { symmetrize });
      expect(b.loss).toBeCloseTo(a.loss, 12);
      const x = Float64Array.from(a.x);
      const h = 1e-6;
      let worst = 0;
      let scoreNorm = 0;
      for (let k = 0; k < params.length; k++) {
        const pp = params.slice();
        pp[k] += h;
        const pm = params.slice();
        pm[k] -= h;
        const fd = (meanLogQ(pp, x, batch, symmetrize) - meanLogQ(pm, x, batch, symmetrize)) / (2 * h);
        scoreNorm += fd * fd;
        worst = Math.max(worst, Math.abs(fd - (a.grad[k] - b.grad[k])) / (1e-3 + Math.abs(fd)));
      }
      expect(Math.sqrt(scoreNorm)).toBeGreaterThan(1e-3); // the two estimators differ on a batch
      expect(worst).toBeLessThan(1e-5);
    },
  );

  it.each([false, true])(
    "symmetrize=%s: over many batches its mean equals the reparametrised gradient's (the score term has mean zero)",
    (symmetrize) => {
      // same batches for both estimators; compare the mean of their difference with its standard error
      const batch = 64;
      const nb = 150;
      const rng = Rng.fromSeed(5);
      const n = params.length;
      const sum = new Float64Array(n);
      const sum2 = new Float64Array(n);
      const sumR = new Float64Array(n);
      // a deliberately biased estimator (0.8 × the path gradient) through the same statistic: the test's power
      const sumB = new Float64Array(n);
      const sumB2 = new Float64Array(n);
      for (let i = 0; i < nb; i++) {
        const z = new Float64Array(batch * 16);
        rng.fillNormal(z);
        const a = pddLossAndGrad(model, params, ising, z, batch, { symmetrize });
        const b = pathLossAndGrad(model, params, ising, z, batch, { symmetrize });
        for (let k = 0; k < n; k++) {
          const d = a.grad[k] - b.grad[k];
          sum[k] += d;
          sum2[k] += d * d;
          sumR[k] += a.grad[k];
          const e = a.grad[k] - 0.8 * b.grad[k];
          sumB[k] += e;
          sumB2[k] += e * e;
        }
      }
      // z-scores of the mean difference per parameter: ≈ N(0, 1) if unbiased (mean square ≈ 1, somewhat
      // above it at this sample size: correlated, heavy-tailed components); a biased estimator gives |z| ≫ 1
      const zStats = (s1: Float64Array, s2: Float64Array) => {
        let maxZ = 0;
        let chi2 = 0;
        let used = 0;
        for (let k = 0; k < n; k++) {
          const m = s1[k] / nb;
          const se = Math.sqrt((s2[k] / nb - m * m) / (nb - 1));
          if (!(se > 1e-12)) continue;
          const zk = m / se;
          maxZ = Math.max(maxZ, Math.abs(zk));
          chi2 += zk * zk;
          used++;
        }
        return { meanSq: chi2 / used, maxZ, used };
      };
      const good = zStats(sum, sum2);
      expect(good.used).toBeGreaterThan(n / 2);
      expect(good.meanSq).toBeLessThan(2.5);
      expect(good.maxZ).toBeLessThan(6);
      const biased = zStats(sumB, sumB2);
      expect(biased.meanSq).toBeGreaterThan(10);
      // and the expected gradient itself is not negligible against that noise (the test has power)
      let g2 = 0;
      for (let k = 0; k < n; k++) g2 += (sumR[k] / nb) ** 2;
      expect(Math.sqrt(g2)).toBeGreaterThan(0.05);
    },
  );

  it.each([false, true])(
    "symmetrize=%s: at the exact optimum (identity flow, standard normal target) the path gradient vanishes and the reparametrised one does not",
    (symmetrize) => {
      const target = makeTarget({ kind: "gaussian", L: 4, precision: "identity" });
      const p = initParams(config, "float64", () => 0.5, "identity").data as Float64Array;
      const batch = 32;
      const z = normals(batch * 16, 4);
      const a = pddLossAndGrad(model, p, target, z, batch, { symmetrize });
      const b = pathLossAndGrad(model, p, target, z, batch, { symmetrize });
      const norm = (g: Float64Array) => Math.sqrt(g.reduce((s, v) => s + v * v, 0));
      expect(Math.abs(a.loss - (target.exactNegLogZ as number))).toBeLessThan(1e-10);
      expect(norm(b.grad)).toBeLessThan(1e-10);
      // the plain model's score term is not zero there (for q_sym at the identity it cancels between x and −x)
      if (!symmetrize) expect(norm(a.grad)).toBeGreaterThan(1e-2);
    },
  );

  it("refuses the symmetry regulariser", () => {
    const z = normals(2 * 16, 3);
    expect(() =>
      pddLossAndGrad(model, params, ising, z, 2, { symmetrize: false, symmetryWeight: 0.1, gradient: "path" }),
    ).toThrow(/path/);
  });
});
