import { describe, expect, it } from "vitest";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import type { Target } from "../../src/targets/target.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { toyTarget } from "./helpers.ts";

describe("probability density distillation gradient", () => {
  const config: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 };
  const model = createFlow(config);
  const params = randomParams(config, 3, 0.3);
  const target = toyTarget(4);
  const batch = 4;
  const z = normals(batch * 16, 21);

  it("target gradient helper is right (guards the test itself)", () => {
    const x = normals(16, 5);
    const g = new Float64Array(16);
    const o = new Float64Array(1);
    target.logProb(x, 1, o, g);
    for (let i = 0; i < 16; i++) {
      const xp = x.slice();
      xp[i] += 1e-6;
      const xm = x.slice();
      xm[i] -= 1e-6;
      const a = new Float64Array(1),
        c = new Float64Array(1);
      target.logProb(xp, 1, a);
      target.logProb(xm, 1, c);
      expect((a[0] - c[0]) / 2e-6).toBeCloseTo(g[i], 6);
    }
  });

  it.each([false, true])("symmetrize=%s: every parameter's gradient matches central differences", (symmetrize) => {
    const r = pddLossAndGrad(model, params, target, z, batch, { symmetrize });
    const h = 1e-6;
    let worst = 0;
    for (let k = 0; k < params.length; k++) {
      const pp = params.slice();
      pp[k] += h;
      const pm = params.slice();
      pm[k] -= h;
      const fd =
        (pddLossAndGrad(model, pp, target, z, batch, { symmetrize }).loss -
          pddLossAndGrad(model, pm, target, z, batch, { symmetrize }).loss) /
        (2 * h);
      worst = Math.max(worst, Math.abs(fd - r.grad[k]) / (1e-4 + Math.abs(fd)));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it.each([
    ["toy", () => target],
    ["relaxed Ising 4×4 at T = 2.3", () => makeTarget({ kind: "ising", L: 4, T: 2.3 })],
  ] as const)(
    "the symmetrised loss is below the plain one on the same samples (they differ by KL(q‖q_sym) ≥ 0): %s target",
    (_, make) => {
      const big = 2000;
      const zz = normals(big * 16, 22);
      const t = make();
      const a = pddLossAndGrad(model, params, t, zz, big, { symmetrize: false });
      const b = pddLossAndGrad(model, params, t, zz, big, { symmetrize: true });
      // per sample: ln q_sym(x) ≥ ln q(x) − ln 2 always; on average the difference is a KL ≥ 0
      for (let i = 0; i < big; i++) expect(b.perSample[i]).toBeGreaterThanOrEqual(a.perSample[i] - Math.LN2 - 1e-12);
      let d = 0;
      for (let i = 0; i < big; i++) d += a.perSample[i] - b.perSample[i];
      expect(d / big).toBeGreaterThan(0);
      expect(d / big).toBeLessThanOrEqual(Math.LN2);
    },
  );

  it("refuses symmetrisation for a target without Z2 symmetry", () => {
    expect(() =>
      pddLossAndGrad(model, params, { ...target, z2Symmetric: false }, z, batch, { symmetrize: true }),
    ).toThrow(/Z2/);
  });
});
