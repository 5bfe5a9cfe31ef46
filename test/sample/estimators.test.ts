import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { viewParams } from "../../src/flow/params.ts";
import { flowDensity, flowLogQ, negate, type ProposalDensity } from "../../src/sample/density.ts";
import { importanceFromLogWeights, importanceSample } from "../../src/sample/importance.ts";
import { runMis } from "../../src/sample/mis.ts";
import { ObservableTrace } from "../../src/sample/observables.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";
import type { Target } from "../../src/targets/target.ts";
import { exactMoments, identityFlow, invert, MOMENTS, moments, randomFlow } from "./helpers.ts";

/** Run MIS and return the moments' estimates (τ_int-corrected) and the acceptance. */
function misMoments(
  proposal: ProposalDensity,
  target: Target,
  L: number,
  nchains: number,
  nsteps: number,
  seed: number,
) {
  const trace = new ObservableTrace(MOMENTS, nchains);
  const res = runMis(proposal, target, {
    nchains,
    nsteps,
    rng: Rng.fromSeed(seed),
    onStep: (s) => trace.push(moments(s.x, L, nchains)),
  });
  return { res, est: trace.summary() };
}

describe("exactly matching flow: identity flow on the standard normal target", () => {
  const L = 4;
  const { model, params } = identityFlow(L);
  const target = gaussianTarget({ L, precision: "identity", scale: 1 });
  const q = flowDensity(model, params, { symmetrize: false });

  it("MIS accepts every proposal", () => {
    const r = runMis(q, target, { nchains: 32, nsteps: 50, rng: Rng.fromSeed(1) });
    expect(r.acceptance).toBe(1);
    // constant weights π/q: no tail at all
    expect(r.proposalParetoK).toBe(-Infinity);
    expect(r.meanAcceptProb).toBeCloseTo(1, 12);
    for (const a of r.perChainAcceptance) expect(a).toBe(1);
  });

  it("importance weights are constant and −ln Ẑ = exact −ln Z to rounding; ESS = n; F = −ln Z", () => {
    const iw = importanceSample(q, target, { n: 4096, batchSize: 256, rng: Rng.fromSeed(2) });
    let spread = 0;
    for (const w of iw.logW) spread = Math.max(spread, Math.abs(w - iw.logW[0]));
    expect(spread).toBeLessThan(1e-12);
    expect(Math.abs(iw.negLogZ - (target.exactNegLogZ as number))).toBeLessThan(1e-12);
    expect(iw.error).toBeLessThan(1e-12);
    expect(iw.ess).toBeCloseTo(4096, 6);
    expect(Math.abs(iw.variationalF - (target.exactNegLogZ as number))).toBeLessThan(1e-12);
    // and the symmetrised model is the same density here
    const iws = importanceSample(flowDensity(model, params, { symmetrize: true }), target, {
      n: 512,
      rng: Rng.fromSeed(3),
    });
    expect(Math.abs(iws.negLogZ - (target.exactNegLogZ as number))).toBeLessThan(1e-12);
  });
});

describe("mismatched flow: identity flow on A = c·I", () => {
  const L = 4;
  const c = 1.5;
  const { model, params } = identityFlow(L);
  const target = gaussianTarget({ L, precision: "identity", scale: c });
  const exact = target.exactNegLogZ as number;
  const q = flowDensity(model, params, { symmetrize: false });

  it("IW −ln Ẑ covers the exact value within its error bar while F lies above it", () => {
    const iw = importanceSample(q, target, { n: 20000, batchSize: 500, rng: Rng.fromSeed(11) });
    expect(Math.abs(iw.negLogZ - exact)).toBeLessThan(4 * iw.error);
    expect(iw.error).toBeGreaterThan(1e-3); // not trivially exact
    expect(Math.abs(iw.binError / iw.error - 1)).toBeLessThan(0.35);
    // F − (−ln Z) = KL(q ‖ π/Z) = (N/2)(c − 1 − ln c) > 0
    const kl = ((L * L) / 2) * (c - 1 - Math.log(c));
    expect(iw.variationalF - exact).toBeGreaterThan(10 * iw.variationalFError);
    expect(Math.abs(iw.variationalF - exact - kl)).toBeLessThan(4 * iw.variationalFError);
    expect(iw.essFraction).toBeGreaterThan(0.2);
    expect(iw.essFraction).toBeLessThan(0.6);
  });

  it("the error bar is honest: over 40 independent runs ≈ 95% cover the exact value at 2σ", () => {
    const rng = Rng.fromSeed(12);
    let covered = 0;
    let fAbove = 0;
    const runs = 40;
    for (let k = 0; k < runs; k++) {
      const iw = importanceSample(q, target, { n: 1000, rng });
      if (Math.abs(iw.negLogZ - exact) < 2 * iw.error) covered++;
      if (iw.variationalF > exact) fAbove++;
    }
    expect(covered).toBeGreaterThanOrEqual(33);
    expect(fAbove).toBe(runs);
  });

  it("MIS acceptance < 1 and its samples have the target's variance 1/c within error", () => {
    const { res, est } = misMoments(q, target, L, 64, 400, 13);
    expect(res.acceptance).toBeLessThan(0.7);
    expect(res.acceptance).toBeGreaterThan(0.2);
    expect(Math.abs(res.meanAcceptProb - res.acceptance)).toBeLessThan(0.02);
    expect(Math.abs(est.m2.mean - 1 / c)).toBeLessThan(4 * est.m2.error);
    expect(Math.abs(est.m1.mean)).toBeLessThan(4 * est.m1.error);
    // q itself has variance 1: the test distinguishes q from π
    expect(Math.abs(1 - 1 / c)).toBeGreaterThan(20 * est.m2.error);
  });
});

describe("non-trivial symmetrised flow on a correlated Gaussian (Eq. S2–S4 in MIS and IW)", () => {
  const L = 4;
  const target = gaussianTarget({ L, precision: "circulant", kappa: 0.3 });
  const exact = target.exactNegLogZ as number;
  const ex = exactMoments(invert(target.matrix(), L * L), L);
  const { model, params } = randomFlow(L, 1, 0.4);

  it.each([false, true])("symmetrize = %s: MIS reproduces ⟨x²⟩ and ⟨x_i x_i+1⟩, IW covers −ln Z", (symmetrize) => {
    const q = flowDensity(model, params, { symmetrize });
    const { res, est } = misMoments(q, target, L, 64, 600, 21);
    expect(res.acceptance).toBeGreaterThan(0.1);
    expect(res.acceptance).toBeLessThan(0.5);
    for (const k of MOMENTS) expect(Math.abs(est[k].mean - ex[k])).toBeLessThan(4 * est[k].error);
    const iw = importanceSample(q, target, { n: 20000, rng: Rng.fromSeed(22) });
    expect(Math.abs(iw.negLogZ - exact)).toBeLessThan(4 * iw.error);
    expect(iw.variationalF - exact).toBeGreaterThan(1);
  });
});

describe("symmetrised proposal from a strongly asymmetric flow (shifted: q(x) ≠ q(−x))", () => {
  const L = 4;
  const target = gaussianTarget({ L, precision: "circulant", kappa: 0.3 });
  const ex = exactMoments(invert(target.matrix(), L * L), L);
  const { model, params } = identityFlow(L);
  // t-network output biases shift x away from 0: q is far from even, q_sym is even
  for (const layer of viewParams(model.config, params).layers)
    for (const cp of layer) cp.t[cp.t.length - 1].b.fill(0.1);

  it("ln q and ln q(−x) differ by nats on q_sym's samples; MIS and IW with q_sym are still exact", () => {
    const q = flowDensity(model, params, { symmetrize: true });
    const s = q.sample(500, Rng.fromSeed(40));
    const a = flowLogQ(model, params, s.x, 500);
    const b = flowLogQ(model, params, negate(s.x), 500);
    let asym = 0;
    for (let i = 0; i < 500; i++) asym += Math.abs(a[i] - b[i]) / 500;
    expect(asym).toBeGreaterThan(1);
    const { res, est } = misMoments(q, target, L, 64, 600, 41);
    expect(res.acceptance).toBeGreaterThan(0.05);
    for (const k of MOMENTS) expect(Math.abs(est[k].mean - ex[k])).toBeLessThan(4 * est[k].error);
    const iw = importanceSample(q, target, { n: 20000, rng: Rng.fromSeed(42) });
    expect(Math.abs(iw.negLogZ - (target.exactNegLogZ as number))).toBeLessThan(4 * iw.error);
    expect(iw.error).toBeLessThan(0.1);
  });
});

describe("importanceFromLogWeights", () => {
  it("is stable for log-weights of order 10⁴ and agrees with the direct formula", () => {
    const rng = Rng.fromSeed(31);
    const lw = new Float64Array(1000);
    for (let i = 0; i < lw.length; i++) lw[i] = 0.3 * rng.normal();
    const a = importanceFromLogWeights(lw);
    const shifted = lw.map((v) => v - 2e4);
    const b = importanceFromLogWeights(shifted);
    expect(b.negLogZ - a.negLogZ).toBeCloseTo(2e4, 8);
    expect(b.error).toBeCloseTo(a.error, 12);
    expect(b.ess).toBeCloseTo(a.ess, 8);
    let s = 0;
    for (const v of lw) s += Math.exp(v);
    expect(a.negLogZ).toBeCloseTo(-Math.log(s / lw.length), 12);
    expect(() => importanceFromLogWeights([0, NaN])).toThrow(/not finite/);
  });
});
