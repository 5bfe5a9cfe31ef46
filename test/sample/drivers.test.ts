/**
 * The sampling drivers as a library (what `neuralrg sample` runs, without the CLI): a run held in
 * memory, prepared for sampling (exact Ising observables by enumeration of the 16 spin states of
 * the 2×2 model), and sampled by MIS and importance weighting with the identity flow q = N(0, 1)
 * as the proposal for a Gaussian target close to it, checked against the exact moments (inverse
 * precision matrix) and the exact −ln Z.
 */
import { describe, expect, it } from "vitest";
import { isingExactObservables } from "../../src/targets/kaufman.ts";
import { runPaths } from "../../src/io/rundir.ts";
import { sample, targets } from "../../src/index.ts";
import { smallFlowConfig, identityFlow } from "./helpers.ts";

function memoryRun(target: targets.Target, symmetrize = true): sample.SamplingRun {
  const { model, params } = identityFlow(target.L);
  return {
    dir: "/nonexistent/run",
    paths: runPaths("/nonexistent/run"),
    epoch: 0,
    model,
    params,
    target,
    config: {
      target: { ...target.config } as targets.TargetConfig,
      flow: smallFlowConfig(target.L),
      symmetrize,
      batch: 16,
    },
  };
}

describe("sampling drivers (sample/drivers.ts) on a run held in memory", () => {
  const T = 2.5;
  const ising = targets.relaxedIsing({ L: 2, T });
  const exact = isingExactObservables(2, T);

  it("prepareSampling: exact observables by enumeration, q_sym as trained for a Z2-symmetric target", () => {
    const loaded = sample.prepareSampling(memoryRun(ising), { symmetrize: "auto", estimator: "improved" });
    expect(loaded.symmetrize).toBe(true);
    expect(loaded.observables.names).toEqual(["energy", "absM", "S"]);
    expect(loaded.observables.exact.energy).toBe(exact.energyPerSite);
    expect(loaded.observables.exact.absM).toBe(exact.absMagnetisation);
    expect(
      sample.prepareSampling(memoryRun(ising, false), { symmetrize: "auto", estimator: "improved" }).symmetrize,
    ).toBe(false);
  });

  it("prepareSampling refuses options that do not fit the run, with SamplingSetupError", () => {
    const gauss = targets.gaussianTarget({ L: 2 });
    expect(() => sample.prepareSampling(memoryRun(gauss), { symmetrize: "auto", estimator: "improved", T: 2 })).toThrow(
      sample.SamplingSetupError,
    );
    expect(() => sample.prepareSampling(memoryRun(gauss), { symmetrize: "auto", estimator: "improved", T: 2 })).toThrow(
      /--T applies to relaxed Ising runs/,
    );
    const plain = targets.userTarget({
      L: 2,
      logProb: (x) => -0.5 * x.reduce((a, v) => a + (v - 0.3) ** 2, 0),
      grad: (x, g) => x.forEach((v, i) => (g[i] = -(v - 0.3))),
    });
    expect(() => sample.prepareSampling(memoryRun(plain), { symmetrize: "on", estimator: "improved" })).toThrow(
      /needs a Z2-symmetric target/,
    );
  });

  it("runChains (MIS) and runImportance agree with the exact values within their error bars", () => {
    const gauss = targets.gaussianTarget({ L: 4, kappa: 0.05, scale: 1.2 });
    const loaded = sample.prepareSampling(memoryRun(gauss), { symmetrize: "auto", estimator: "improved" });
    expect(loaded.observables.exactSource).toMatch(/inverse of the Gaussian precision/);
    const mis = sample.runChains(loaded, "mis", {
      nchains: 16,
      steps: 1000,
      warmup: 50,
      seed: 3,
      leapfrogSteps: 10,
      stepSize: 0.2,
      stepJitter: 0,
      init: "normal",
      progress: "off",
    });
    expect(mis.acceptance).toBeGreaterThan(0.3);
    for (const k of loaded.observables.names) {
      const e = mis.summary[k];
      const truth = loaded.observables.exact[k]!;
      expect(Math.abs(e.mean - truth), k).toBeLessThan(5 * e.error);
    }
    const iw = sample.runImportance(loaded, 20000, 1000, 4, "off");
    for (const k of loaded.observables.names) {
      expect(Math.abs(iw.observables[k].mean - loaded.observables.exact[k]!), k).toBeLessThan(
        5 * iw.observables[k].error,
      );
    }
    expect(Math.abs(iw.estimate.negLogZ - gauss.exactNegLogZ!)).toBeLessThan(5 * iw.estimate.error);
  });
});
