import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { sample, targets, train } from "../../src/index.ts";

/**
 * Sampling on φ⁴: HMC in the latent space of a trained flow (Eq. 6) and plain HMC on −ln π in
 * physical space are both exact MCMC for π, so their observables must agree within error bars.
 * 4×4 at κ = 0.27, λ = 0.02 (near the transition: U ≈ 0.46, a double-peaked magnetisation).
 */
describe("phi4: latent HMC agrees with long physical-space HMC", () => {
  it("⟨|M|⟩/N, ⟨m²⟩, ⟨φ²⟩, χ, Binder U and G(r) within 3σ on 4×4 near the transition", () => {
    const L = 4;
    const tc = { kind: "phi4", L, kappa: 0.27, lambda: 0.02 };
    const target = targets.makeTarget(tc);
    const config = train.trainConfig(tc, {
      epochs: 300,
      batch: 256,
      nlayers: 2,
      nmlp: 1,
      nhidden: 8,
      lr: 0.003,
      seed: 7,
    });
    const st = train.createTrainer(config, target);
    for (let e = 0; e < config.epochs; e++) train.trainEpoch(st);

    const run = (pot: sample.Potential, chains: number, ntraj: number, seed: number) => {
      const rng = Rng.fromSeed(seed);
      const init = new Float64Array(chains * target.nvars);
      rng.fillNormal(init);
      const parts: targets.Phi4Series[] = [];
      const r = sample.runHmc(pot, init, chains, {
        ntraj,
        warmup: 50,
        leapfrogSteps: 10,
        stepSize: 0.2,
        targetAccept: 0.8,
        stepJitter: 0.2,
        rng,
        onStep: (s) => {
          if (!s.warmup) parts.push(targets.phi4Series(s.x, L, chains));
        },
      });
      return {
        acceptance: r.acceptance,
        est: targets.phi4Estimates(targets.concatPhi4Series(parts), { nchains: chains }),
      };
    };
    const latent = run(sample.latentPotential(st.model, st.params, target, { symmetrize: true }), 32, 300, 11);
    const physical = run(sample.physicalPotential(target), 64, 2000, 12);
    expect(latent.acceptance).toBeGreaterThan(0.5);
    expect(physical.acceptance).toBeGreaterThan(0.5);
    const a = latent.est;
    const b = physical.est;
    expect(b.binder.mean).toBeGreaterThan(0.3); // near the transition, not deep in either phase
    expect(b.binder.mean).toBeLessThan(0.6);
    const pairs: [string, targets.Estimate, targets.Estimate][] = [
      ["absM", a.absM, b.absM],
      ["m2", a.m2, b.m2],
      ["phi2", a.phi2, b.phi2],
      ["chi", a.chi, b.chi],
      ["binder", a.binder, b.binder],
      ...a.G.map((g, r): [string, targets.Estimate, targets.Estimate] => [`G(${r})`, g, b.G[r]]),
    ];
    for (const [name, x, y] of pairs) {
      const z = Math.abs(x.mean - y.mean) / Math.hypot(x.error, y.error);
      expect(z, `${name}: latent ${targets.formatEstimate(x)} vs physical ${targets.formatEstimate(y)}`).toBeLessThan(
        3,
      );
      expect(x.error).toBeLessThan(0.05 * Math.abs(y.mean) + 0.01); // the comparison has teeth
    }
  });
});
