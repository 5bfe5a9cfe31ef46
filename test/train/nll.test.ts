/**
 * The NLL objective (forward KL) against independent truths: central finite differences of
 * every parameter, jax-js reverse-mode autodiff of the reference flow, and ln q from a
 * brute-force dense Jacobian.
 */
import { numpy as np } from "@jax-js/jax";
import { beforeAll, describe, expect, it } from "vitest";
import { fromReal, initEngine, valueAndGradFlat, withDevice } from "../../src/engine/jax.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, generate, infer } from "../../src/flow/flow.ts";
import { jaxLogProb, referencePlan } from "../../src/flow/reference.ts";
import { nllLoss, nllLossAndGrad } from "../../src/train/nll.ts";
import { logAbsDet, normals, randomParams } from "../flow/helpers.ts";

const config: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 };
const model = createFlow(config);
const params = randomParams(config, 3, 0.3);
const batch = 4;
// data: not the flow's own samples, a shifted and scaled normal cloud
const x = normals(batch * 16, 31).map((v, i) => 0.8 * v + 0.3 * Math.sin(i));

beforeAll(async () => {
  await initEngine();
});

describe("negative log-likelihood", () => {
  it.each([false, true])("symmetrize=%s: every parameter's gradient matches central differences", (symmetrize) => {
    const r = nllLossAndGrad(model, params, x, batch, { symmetrize });
    const h = 1e-6;
    let worst = 0;
    for (let k = 0; k < params.length; k++) {
      const pp = params.slice();
      pp[k] += h;
      const pm = params.slice();
      pm[k] -= h;
      const fd =
        (nllLoss(model, pp, x, batch, { symmetrize }).loss - nllLoss(model, pm, x, batch, { symmetrize }).loss) /
        (2 * h);
      worst = Math.max(worst, Math.abs(fd - r.grad[k]) / (1e-4 + Math.abs(fd)));
    }
    expect(worst).toBeLessThan(1e-5);
    // the value without gradient is the same function
    expect(nllLoss(model, params, x, batch, { symmetrize }).loss).toBeCloseTo(r.loss, 12);
  });

  it("equals jax-js autodiff of −mean ln q(x) on the reference flow (loss and every gradient component)", () => {
    const plan = referencePlan(config);
    const { value, grad } = withDevice("cpu", () =>
      valueAndGradFlat(
        (theta) => np.mean(jaxLogProb(plan, theta, fromReal(x, { shape: [batch, 16] }))).mul(-1),
        params,
        { device: "cpu" },
      ),
    );
    const r = nllLossAndGrad(model, params, x, batch);
    expect(Math.abs(r.loss - value)).toBeLessThan(1e-10 * (1 + Math.abs(value)));
    let gmax = 0;
    for (const g of grad) gmax = Math.max(gmax, Math.abs(g));
    for (let k = 0; k < grad.length; k++) expect(Math.abs(r.grad[k] - grad[k])).toBeLessThan(1e-9 * gmax);
  });

  it("−ln q(x) per row equals −ln p(z) + ln|det ∂x/∂z| with the determinant from a finite-difference Jacobian of g", () => {
    const r = nllLoss(model, params, x, batch);
    const { z } = infer(model, params, x, batch);
    const N = 16,
      h = 1e-6;
    for (let b = 0; b < batch; b++) {
      const zb = z.slice(b * N, (b + 1) * N) as Float64Array;
      const J = new Float64Array(N * N); // J[i·N + j] = ∂x_i/∂z_j
      for (let j = 0; j < N; j++) {
        const zp = zb.slice();
        zp[j] += h;
        const zm = zb.slice();
        zm[j] -= h;
        const xp = generate(model, params, zp, 1).x,
          xm = generate(model, params, zm, 1).x;
        for (let i = 0; i < N; i++) J[i * N + j] = (xp[i] - xm[i]) / (2 * h);
      }
      let ss = 0;
      for (const v of zb) ss += v * v;
      const minusLnP = 0.5 * ss + 0.5 * N * Math.log(2 * Math.PI);
      expect(r.perSample[b]).toBeCloseTo(minusLnP + logAbsDet(J, N), 7);
    }
  });

  it("the symmetrised NLL is ln 2 − logaddexp of the two plain values, and never exceeds plain NLL + ln 2", () => {
    const plain = nllLoss(model, params, x, batch);
    const flip = nllLoss(
      model,
      params,
      x.map((v) => -v),
      batch,
    );
    const sym = nllLoss(model, params, x, batch, { symmetrize: true });
    for (let b = 0; b < batch; b++) {
      const a = -plain.perSample[b],
        c = -flip.perSample[b];
      const m = Math.max(a, c);
      expect(sym.perSample[b]).toBeCloseTo(Math.LN2 - (m + Math.log(Math.exp(a - m) + Math.exp(c - m))), 12);
      expect(sym.perSample[b]).toBeLessThanOrEqual(plain.perSample[b] + Math.LN2 + 1e-12);
    }
  });

  it("rejects data of the wrong shape, naming the expected size", () => {
    expect(() => nllLossAndGrad(model, params, x.subarray(0, 20), batch)).toThrow(/expected batch × N = 4 × 16/);
    expect(() => nllLossAndGrad(model, params, x, 0)).toThrow(/batch = 0/);
  });
});
