/**
 * Maximum-likelihood training (train/fit.ts): on exact draws from the Gaussian target the test
 * NLL converges to the exact differential entropy H = N/2 − ln Z⁻¹ (= N/2 + ½ ln det(2π A⁻¹)),
 * and the paired estimate of KL(π‖q) = E_π[ln π − ln q] goes to ~0. Minibatch order and resume.
 */
import { describe, expect, it } from "vitest";
import { meanStdErr } from "../../src/engine/math.ts";
import { Rng } from "../../src/engine/rng.ts";
import { drawGaussianData } from "../../src/data/sources.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";
import { createFit, epochOrder, evaluateNll, fitStep, type FitConfig, type FitState } from "../../src/train/fit.ts";

const L = 4,
  N = 16,
  n = 5000,
  nTest = 1000,
  kappa = 1;

function setup(overrides: Partial<FitConfig> = {}): FitState {
  const { x } = drawGaussianData({ L, n, seed: 1, kappa });
  const train = { name: "g (train)", n: n - nTest, L, values: x.slice(0, (n - nTest) * N) };
  const test = { name: "g (test)", n: nTest, L, values: x.slice((n - nTest) * N) };
  const config: FitConfig = {
    objective: "nll",
    data: { source: "memory", split: "seeded", testFraction: 0.2, nTrain: n - nTest, nTest, originalL: L },
    preprocess: { dequantize: "none" },
    flow: { L, layout: "mera", depth: 2, nlayers: 4, nmlp: 1, nhidden: 8 },
    batch: 128,
    epochs: 10,
    lr: 0.01,
    weightDecay: 0,
    seed: 1,
    dtype: "float64",
    symmetrize: false,
    init: "identity",
    kernel: "js",
    ...overrides,
  };
  return createFit(config, train, test);
}

describe("maximum likelihood on the Gaussian target", () => {
  it("recovers the exact NLL (the differential entropy) and a forward KL ≈ 0", () => {
    const st = setup();
    const target = gaussianTarget({ L, kappa });
    const H = N / 2 - target.exactNegLogZ;
    const before = evaluateNll(st, st.test, 1);
    expect(before.mean).toBeGreaterThan(H + 3); // the identity flow is far off: the test can fail
    for (let i = 0; i < 300; i++) fitStep(st);
    const after = evaluateNll(st, st.test, 1);
    expect(Math.abs(after.mean - H)).toBeLessThan(3 * after.stdErr + 0.15);
    // paired: KL(π‖q) ≈ mean over test data of ln π(x) − ln q(x), with ln π = ln π̃ + (−ln Z)
    const lp = new Float64Array(nTest);
    target.logProb(st.test.values as Float64Array, nTest, lp);
    const kl = meanStdErr(Array.from(lp, (v, b) => v + target.exactNegLogZ + after.perSample[b]));
    expect(kl.mean).toBeGreaterThan(-3 * kl.stdErr);
    expect(kl.mean).toBeLessThan(0.15);
    expect(kl.stdErr).toBeLessThan(0.02);
  });

  it("each epoch visits every training configuration once, in a seed-determined order", () => {
    const a = epochOrder(3, 0, 100),
      b = epochOrder(3, 0, 100),
      c = epochOrder(3, 1, 100);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect([...a].sort((u, v) => u - v)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("restoring parameters, optimiser, generator and step continues exactly like an uninterrupted run", () => {
    const a = setup(),
      b = setup();
    for (let i = 0; i < 40; i++) fitStep(a);
    for (let i = 0; i < 25; i++) fitStep(b);
    const c = setup();
    c.params.set(b.params);
    c.adam = { step: b.adam.step, m: b.adam.m.slice(), v: b.adam.v.slice() };
    c.rng = Rng.fromState(b.rng.state());
    c.step = b.step;
    for (let i = 0; i < 15; i++) fitStep(c);
    expect(Array.from(c.params)).toEqual(Array.from(a.params));
  });

  it("refuses a minibatch larger than the training set, naming both", () => {
    expect(() => setup({ batch: 5000 })).toThrow(/batch = 5000 is larger than the 4000 training configurations/);
  });
});
