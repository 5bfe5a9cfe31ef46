import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { generate, infer, priorLogProb } from "../../src/flow/flow.ts";
import { flowDensity, flowLogQ, flowLogQSym, negate, sampleModel } from "../../src/sample/density.ts";
import { identityFlow, maxAbsDiff, randomFlow } from "./helpers.ts";

describe("model densities", () => {
  it("the identity flow has x = z and ln q = ln N(x; 0, 1); then ln q_sym = ln q", () => {
    const { model, params } = identityFlow(4);
    const rng = Rng.fromSeed(1);
    const s = sampleModel(model, params, 5, rng, false);
    expect(maxAbsDiff(s.x, s.z)).toBe(0);
    const ref = priorLogProb(s.x, 5, 16);
    expect(maxAbsDiff(flowLogQ(model, params, s.x, 5), ref)).toBeLessThan(1e-12);
    expect(maxAbsDiff(flowLogQSym(model, params, s.x, 5), ref)).toBeLessThan(1e-12);
  });

  it("ln q_sym = ln ½[q(x) + q(−x)] (Eq. S2) for a non-trivial flow, and is even in x", () => {
    const { model, params } = randomFlow(4, 3);
    const rng = Rng.fromSeed(2);
    const batch = 6;
    const x = new Float64Array(batch * 16);
    rng.fillNormal(x);
    const a = flowLogQ(model, params, x, batch);
    const b = flowLogQ(model, params, negate(x), batch);
    const sym = flowLogQSym(model, params, x, batch);
    const symNeg = flowLogQSym(model, params, negate(x), batch);
    for (let i = 0; i < batch; i++) {
      expect(sym[i]).toBeCloseTo(Math.log(0.5 * (Math.exp(a[i]) + Math.exp(b[i]))), 10);
      expect(symNeg[i]).toBeCloseTo(sym[i], 12);
    }
    // the flow is not symmetric by itself, so the test is not vacuous
    expect(maxAbsDiff(a, b)).toBeGreaterThan(0.1);
    // ln q(x) from infer agrees with ln p(z) − ln|det ∂x/∂z| of generate
    const z = infer(model, params, x, batch).z;
    const g = generate(model, params, z, batch);
    const lq = priorLogProb(z, batch, 16);
    for (let i = 0; i < batch; i++) expect(a[i]).toBeCloseTo(lq[i] - g.logDet[i], 9);
  });

  it("sampling from q_sym flips about half the signs and returns ln q_sym of the returned x", () => {
    const { model, params } = randomFlow(4, 5);
    const batch = 2000;
    const s = sampleModel(model, params, batch, Rng.fromSeed(9), true);
    let flipped = 0;
    for (let i = 0; i < batch; i++) if (s.sign[i] < 0) flipped++;
    expect(Math.abs(flipped / batch - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / batch));
    const direct = flowLogQSym(model, params, s.x, batch);
    expect(maxAbsDiff(direct, s.logQ)).toBeLessThan(1e-9);
    // rows are η g(z)
    const g = generate(model, params, s.z, batch).x;
    for (let b = 0; b < 20; b++) expect(s.x[b * 16 + 3]).toBeCloseTo(s.sign[b] * g[b * 16 + 3], 12);
    // the ProposalDensity view is consistent with logProb
    const d = flowDensity(model, params, { symmetrize: true });
    const t = d.sample(7, Rng.fromSeed(4));
    expect(maxAbsDiff(d.logProb(t.x, 7), t.logQ)).toBeLessThan(1e-9);
  });
});
