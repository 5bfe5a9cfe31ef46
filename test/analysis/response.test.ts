import { describe, expect, it } from "vitest";
import { gradientResponse, latentGradients, topLatentSites } from "../../src/analysis/response.ts";
import { createFlow, infer } from "../../src/flow/flow.ts";
import { normals, randomParams } from "../flow/helpers.ts";
import { flowConfig, identityFlow, linearFlow, linearFlowJacobian } from "./helpers.ts";

describe("top-level latent sites", () => {
  it("are the four sites of the last decimator, the one kept through the top first", () => {
    expect(topLatentSites(createFlow(flowConfig(8)))).toEqual([0, 4, 32, 36]);
    expect(topLatentSites(createFlow(flowConfig(16, { layout: "tree" })))).toEqual([0, 8, 128, 136]);
    expect(topLatentSites(createFlow(flowConfig(8, { layout: "tebd", depth: 2 })))).toEqual([0, 4, 32, 36]);
    // depth 2 on 8×8: the last level acts on sites ≡ 0 mod 2 → 16 sites, the 4 kept ones (≡ 0 mod 4) first
    const s = topLatentSites(createFlow(flowConfig(8, { depth: 2 })));
    expect(s).toHaveLength(16);
    expect(s.slice(0, 4)).toEqual([0, 4, 32, 36]);
  });
});

describe("gradient response", () => {
  it("identity flow: ∂z_i/∂x = e_i at every sample, zero spread", () => {
    const cfg = flowConfig(4);
    const { model, params } = identityFlow(cfg);
    const r = gradientResponse(model, params, normals(5 * 16, 4), 5);
    expect(r.samples).toBe(5);
    for (const resp of r.responses) {
      for (let j = 0; j < 16; j++) {
        expect(resp.mean[j]).toBe(j === resp.site ? 1 : 0);
        expect(resp.std[j]).toBe(0);
      }
      expect(resp.nonlinearity).toBe(0);
      expect(resp.locality).toBe(1);
    }
  });

  for (const layout of ["mera", "tree", "tebd"] as const) {
    it(`linear flow (${layout}): the response equals the rows of the analytic Jacobian`, () => {
      const cfg = flowConfig(8, { layout, nmlp: 0, nlayers: 4, depth: layout === "tebd" ? 2 : 3 });
      const { model, params } = linearFlow(cfg, 7);
      const J = linearFlowJacobian(model, params);
      const N = model.nvars;
      // sanity: the analytic matrix maps x to z up to the constant offset: z(x) − z(0) = J x
      const x = normals(N, 9);
      const z = infer(model, params, x, 1).z;
      const z0 = infer(model, params, new Float64Array(N), 1).z;
      for (let i = 0; i < N; i++) {
        let v = 0;
        for (let j = 0; j < N; j++) v += J[i * N + j] * x[j];
        expect(z[i] - z0[i]).toBeCloseTo(v, 10);
      }
      const batch = 6;
      const r = gradientResponse(model, params, normals(batch * N, 10), batch, { chunk: 4 });
      expect(r.responses.map((q) => q.site)).toEqual(topLatentSites(model));
      for (const resp of r.responses) {
        for (let j = 0; j < N; j++) {
          expect(resp.mean[j]).toBeCloseTo(J[resp.site * N + j], 11);
          expect(resp.std[j]).toBeLessThan(1e-12);
        }
        expect(resp.nonlinearity).toBeLessThan(1e-10);
      }
      // the linear map mixes: the top variable responds to more than its own site
      expect(r.responses[0].mean.filter((v) => Math.abs(v) > 1e-8).length).toBeGreaterThan(1);
    });
  }

  it("backward-based ∂z/∂x matches central finite differences on a random flow", () => {
    const cfg = flowConfig(4, { nlayers: 4, nmlp: 2, nhidden: 5 });
    const model = createFlow(cfg);
    const params = randomParams(cfg, 21, 0.6);
    const N = model.nvars;
    const batch = 2;
    const x = normals(batch * N, 22);
    const sites = [0, 2, 5, 10];
    const g = latentGradients(model, params, x, batch, sites);
    const h = 1e-5;
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < N; j++) {
        const xp = x.slice(b * N, (b + 1) * N);
        const xm = xp.slice();
        xp[j] += h;
        xm[j] -= h;
        const zp = infer(model, params, xp, 1).z;
        const zm = infer(model, params, xm, 1).z;
        sites.forEach((s, k) => {
          const fd = (zp[s] - zm[s]) / (2 * h);
          expect(Math.abs(g[k][b * N + j] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
        });
      }
    }
    // a nonlinear flow: the gradient depends on x, so the spread is non-zero
    const r = gradientResponse(model, params, normals(8 * N, 23), 8);
    expect(r.responses[0].nonlinearity).toBeGreaterThan(1e-3);
  });

  it("rejects invalid sites and sizes", () => {
    const { model, params } = identityFlow(flowConfig(4));
    expect(() => latentGradients(model, params, normals(16), 1, [16])).toThrow(/latent site 16 is invalid/);
    expect(() => gradientResponse(model, params, normals(15), 1)).toThrow(/expected batch × N/);
  });
});
