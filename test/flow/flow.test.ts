import { describe, expect, it } from "vitest";
import type { FlowConfig } from "../../src/flow/config.ts";
import {
  backward,
  createFlow,
  generate,
  generateWithTape,
  infer,
  inferWithTape,
  logProb,
} from "../../src/flow/flow.ts";
import { bruteLogDet, normals, randomParams } from "./helpers.ts";

const base: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 3, nmlp: 2, nhidden: 5 };
const configs: FlowConfig[] = [
  base,
  { ...base, depth: 1 },
  { ...base, layout: "tebd" },
  { ...base, layout: "tree" },
  { ...base, nmlp: 0 },
  { ...base, nmlp: 1, nlayers: 2 },
  { L: 8, layout: "mera", depth: 3, nlayers: 2, nmlp: 1, nhidden: 3 },
  // every layout also with depth < log2 L (App. E's trapezoid: top levels removed)
  { ...base, layout: "tebd", depth: 1 },
  { ...base, layout: "tree", depth: 1 },
  { L: 8, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 3 },
  { L: 8, layout: "tree", depth: 2, nlayers: 2, nmlp: 1, nhidden: 3 },
  { L: 8, layout: "tebd", depth: 1, nlayers: 2, nmlp: 1, nhidden: 3 },
  // the "rational" hidden activation (kernels/activation.ts)
  { ...base, activation: "rational" },
  { L: 8, layout: "mera", depth: 3, nlayers: 2, nmlp: 1, nhidden: 3, activation: "rational" },
];

describe.each(configs)("flow %o", (config) => {
  const model = createFlow(config);
  const params = randomParams(config);
  const N = model.nvars;
  const batch = 3;

  it("infer(generate(z)) = z and the log-determinants are opposite", () => {
    const z = normals(batch * N);
    const g = generate(model, params, z, batch);
    const i = infer(model, params, g.x, batch);
    for (let k = 0; k < z.length; k++) expect(i.z[k]).toBeCloseTo(z[k], 10);
    for (let b = 0; b < batch; b++) expect(i.logDet[b]).toBeCloseTo(-g.logDet[b], 10);
    // the flow is not the identity (the test would be vacuous otherwise)
    let diff = 0;
    for (let k = 0; k < z.length; k++) diff = Math.max(diff, Math.abs(g.x[k] - z[k]));
    expect(diff).toBeGreaterThan(1e-2);
  });

  it("log-determinant equals ln|det| of the finite-difference Jacobian", () => {
    const z = normals(N, 7);
    const { logDet } = generate(model, params, z, 1);
    expect(Math.abs(bruteLogDet(model, params, z) - logDet[0])).toBeLessThan(1e-6);
  });

  it.each(["generate", "infer"] as const)("%s backward matches finite differences", (dir) => {
    // scalar f = Σ_b Σ_i w_bi out_bi + Σ_b c_b logDet_b
    const input = normals(batch * N, 11);
    const w = normals(batch * N, 12);
    const c = normals(batch, 13);
    const f = (p: Float64Array, x: Float64Array) => {
      const r = dir === "generate" ? generate(model, p, x, batch) : infer(model, p, x, batch);
      const out = dir === "generate" ? (r as { x: Float64Array }).x : (r as { z: Float64Array }).z;
      let s = 0;
      for (let k = 0; k < out.length; k++) s += w[k] * out[k];
      for (let b = 0; b < batch; b++) s += c[b] * r.logDet[b];
      return s;
    };
    const taped =
      dir === "generate" ? generateWithTape(model, params, input, batch) : inferWithTape(model, params, input, batch);
    const gP = new Float64Array(params.length);
    const gIn = backward(model, params, taped.tape, w.slice(), c.slice(), gP);
    const h = 1e-6;
    // every parameter
    let maxErr = 0;
    let maxG = 0;
    for (let k = 0; k < params.length; k++) {
      const pp = params.slice();
      pp[k] += h;
      const pm = params.slice();
      pm[k] -= h;
      const fd = (f(pp, input) - f(pm, input)) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - gP[k]) / (1 + Math.abs(fd)));
      maxG = Math.max(maxG, Math.abs(gP[k]));
    }
    expect(maxErr).toBeLessThan(1e-6);
    expect(maxG).toBeGreaterThan(1e-3);
    for (let k = 0; k < input.length; k++) {
      const xp = input.slice();
      xp[k] += h;
      const xm = input.slice();
      xm[k] -= h;
      const fd = (f(params, xp) - f(params, xm)) / (2 * h);
      expect(Math.abs(fd - gIn[k])).toBeLessThan(1e-6 * (1 + Math.abs(fd)));
    }
  });

  it("logProb of a standard normal through the identity flow is the prior", () => {
    const zeroT = params.slice();
    // identity flow: all-zero parameters make s = 0 and t = 0
    zeroT.fill(0);
    const x = normals(batch * N, 5);
    const lp = logProb(model, zeroT, x, batch);
    for (let b = 0; b < batch; b++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += x[b * N + i] ** 2;
      expect(lp[b]).toBeCloseTo(-0.5 * s - 0.5 * N * Math.log(2 * Math.PI), 10);
    }
  });
});
