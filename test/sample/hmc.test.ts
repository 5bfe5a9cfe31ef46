import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { generate } from "../../src/flow/flow.ts";
import { flowLogQ, flowLogQSym } from "../../src/sample/density.ts";
import { kinetic, latentPotential, leapfrog, physicalPotential, runHmc, type Potential } from "../../src/sample/hmc.ts";
import { ObservableTrace } from "../../src/sample/observables.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import type { Target } from "../../src/targets/target.ts";
import { exactMoments, invert, maxAbsDiff, MOMENTS, moments, randomFlow } from "./helpers.ts";

const L = 4;
const N = L * L;
const gauss = gaussianTarget({ L, precision: "circulant", kappa: 0.3 });
const ising = relaxedIsing({ L, T: 2.5 });
const flow = randomFlow(L, 1, 1);

function potentials(target: Target): [string, Potential][] {
  return [
    ["physical", physicalPotential(target)],
    ["latent", latentPotential(flow.model, flow.params, target, { symmetrize: false })],
    ["latent, q_sym", latentPotential(flow.model, flow.params, target, { symmetrize: true })],
  ];
}

function normals(n: number, seed: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  Rng.fromSeed(seed).fillNormal(a);
  for (let i = 0; i < n; i++) a[i] *= scale;
  return a;
}

describe("latent potential (Eq. 6)", () => {
  it.each([false, true])(
    "symmetrize = %s: U(z) = −ln p(z) − ln π(g(z)) + ln q(g(z)) and ∇U matches finite differences",
    (symmetrize) => {
      const pot = latentPotential(flow.model, flow.params, ising, { symmetrize });
      const batch = 3;
      const z = normals(batch * N, 5);
      const u = new Float64Array(batch);
      const grad = new Float64Array(batch * N);
      const x = new Float64Array(batch * N);
      pot.energyAndGrad(z, batch, u, grad, x);
      // U against its definition, evaluated independently through the inverse flow
      const g = generate(flow.model, flow.params, z, batch).x;
      expect(maxAbsDiff(x, g)).toBe(0);
      const lq = symmetrize
        ? flowLogQSym(flow.model, flow.params, g, batch)
        : flowLogQ(flow.model, flow.params, g, batch);
      const lpi = new Float64Array(batch);
      ising.logProb(g, batch, lpi);
      for (let b = 0; b < batch; b++) {
        let lp = 0;
        for (let i = b * N; i < (b + 1) * N; i++) lp += -0.5 * z[i] * z[i];
        lp -= 0.5 * N * Math.log(2 * Math.PI);
        expect(u[b]).toBeCloseTo(-lp - lpi[b] + lq[b], 8);
      }
      // gradient by central differences
      const h = 1e-6;
      const up = new Float64Array(batch);
      const um = new Float64Array(batch);
      const scratch = new Float64Array(batch * N);
      let maxErr = 0;
      let maxG = 0;
      for (let k = 0; k < batch * N; k++) {
        const zp = z.slice();
        zp[k] += h;
        const zm = z.slice();
        zm[k] -= h;
        pot.energyAndGrad(zp, batch, up, scratch);
        pot.energyAndGrad(zm, batch, um, scratch);
        const b = Math.floor(k / N);
        const fd = (up[b] - um[b]) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - grad[k]) / (1 + Math.abs(fd)));
        maxG = Math.max(maxG, Math.abs(grad[k]));
      }
      expect(maxErr).toBeLessThan(1e-6);
      expect(maxG).toBeGreaterThan(0.1);
    },
  );

  it("rejects a symmetrised potential for a non-symmetric target and mismatched sizes", () => {
    const asym: Target = { ...gauss, kind: "asym", z2Symmetric: false, logProb: gauss.logProb.bind(gauss) };
    expect(() => latentPotential(flow.model, flow.params, asym, { symmetrize: true })).toThrow(/Z2-symmetric/);
    expect(() => latentPotential(flow.model, flow.params, gaussianTarget({ L: 2 }), { symmetrize: false })).toThrow(
      /variables/,
    );
  });
});

describe.each(potentials(ising))("leapfrog, %s potential on the relaxed Ising target", (_name, pot) => {
  const batch = 4;
  const q0 = normals(batch * N, 7, 1.2);
  const v0 = normals(batch * N, 8);

  it("is reversible: forward, flip v, forward again returns the start to round-off", () => {
    const a = leapfrog(pot, q0, v0, batch, 0.2, 10);
    expect(maxAbsDiff(a.q, q0)).toBeGreaterThan(0.1);
    const vFlip = a.v.map((v) => -v);
    const b = leapfrog(pot, a.q, vFlip, batch, 0.2, 10);
    expect(maxAbsDiff(b.q, q0)).toBeLessThan(1e-10);
    expect(
      maxAbsDiff(
        b.v.map((v) => -v),
        v0,
      ),
    ).toBeLessThan(1e-10);
  });

  it("conserves H to O(ε²): halving ε at fixed trajectory length divides |ΔH| by ≈ 4", () => {
    const T = 1;
    const dH = (eps: number) => {
      const u0 = new Float64Array(batch);
      const g0 = new Float64Array(batch * N);
      pot.energyAndGrad(q0, batch, u0, g0);
      const r = leapfrog(pot, q0, v0, batch, eps, Math.round(T / eps), g0, u0);
      const k0 = kinetic(v0, batch, N);
      const k1 = kinetic(r.v, batch, N);
      let s = 0;
      for (let b = 0; b < batch; b++) s += Math.abs(r.u[b] + k1[b] - u0[b] - k0[b]);
      return s / batch;
    };
    const e1 = dH(0.1);
    const e2 = dH(0.05);
    const e3 = dH(0.025);
    expect(e1).toBeGreaterThan(1e-4);
    expect(e1 / e2).toBeGreaterThan(3);
    expect(e1 / e2).toBeLessThan(5.3);
    expect(e2 / e3).toBeGreaterThan(3.5);
    expect(e2 / e3).toBeLessThan(4.6);
  });
});

describe("HMC samples a correlated Gaussian exactly", () => {
  const ex = exactMoments(invert(gauss.matrix(), N), L);

  function check(
    pot: Potential,
    opts: {
      nchains: number;
      ntraj: number;
      warmup: number;
      stepSize?: number;
      leapfrogSteps?: number;
      targetAccept?: number;
      stepJitter?: number;
      seed: number;
    },
  ) {
    const init = normals(opts.nchains * N, opts.seed, 0.5);
    const trace = new ObservableTrace(MOMENTS, opts.nchains);
    const res = runHmc(pot, init, opts.nchains, {
      ...opts,
      rng: Rng.fromSeed(opts.seed + 1),
      onStep: (s) => {
        if (!s.warmup) trace.push(moments(s.x, L, opts.nchains));
      },
    });
    const est = trace.summary();
    for (const k of MOMENTS) {
      expect(Math.abs(est[k].mean - ex[k]), `${k}: ${est[k].mean} ± ${est[k].error} vs ${ex[k]}`).toBeLessThan(
        4 * est[k].error,
      );
      expect(est[k].tau.reliable).toBe(true);
    }
    return { res, est };
  }

  it("physical space, defaults (10 leapfrog steps of 0.2)", () => {
    const { res, est } = check(physicalPotential(gauss), { nchains: 32, ntraj: 600, warmup: 50, seed: 1 });
    expect(res.acceptance).toBeGreaterThan(0.9);
    expect(res.stepSize).toBe(0.2);
    expect(est.m2.error).toBeLessThan(0.01);
  });

  it("physical space with a coarse step (acceptance well below 1: the Metropolis test matters)", () => {
    const { res } = check(physicalPotential(gauss), {
      nchains: 32,
      ntraj: 800,
      warmup: 50,
      stepSize: 0.9,
      leapfrogSteps: 4,
      stepJitter: 0.2,
      seed: 2,
    });
    expect(res.acceptance).toBeLessThan(0.7);
    expect(res.acceptance).toBeGreaterThan(0.25);
  });

  it.each([false, true])("latent space through a random non-trivial flow, symmetrize = %s", (symmetrize) => {
    const pot = latentPotential(flow.model, flow.params, gauss, { symmetrize });
    const { res, est } = check(pot, { nchains: 16, ntraj: 250, warmup: 30, seed: 3 });
    expect(res.acceptance).toBeGreaterThan(0.8);
    expect(est.m2.error).toBeLessThan(0.012);
  });

  it("step-size adaptation runs in warm-up only, then the step size is frozen; acceptance lands near the target", () => {
    const pot = physicalPotential(gauss);
    const { res } = check(pot, {
      nchains: 32,
      ntraj: 400,
      warmup: 150,
      stepSize: 0.05,
      leapfrogSteps: 4,
      targetAccept: 0.7,
      seed: 4,
      stepJitter: 0.3,
    });
    const prod = res.stepSizeTrace.subarray(150);
    // frozen: production steps scatter around one centre within the jitter, never adapting
    for (const e of prod) expect(Math.abs(e / res.stepSize - 1)).toBeLessThanOrEqual(0.3 + 1e-12);
    const warm = res.stepSizeTrace.subarray(0, 150);
    expect(Math.max(...warm) / Math.min(...warm)).toBeGreaterThan(3); // it did adapt in warm-up
    expect(res.stepSize).toBeGreaterThan(0.2);
    expect(res.meanAcceptProb).toBeGreaterThan(0.55);
    expect(res.meanAcceptProb).toBeLessThan(0.85);
  });
});
