import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import type { FlowModel } from "../../src/flow/flow.ts";
import { generate } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";

/** Random parameters with non-zero scales and t output layers, so no part of the flow is trivial. */
export function randomParams(config: FlowConfig, seed = 1, scaleSpread = 0.5): Float64Array {
  const rng = Rng.fromSeed(seed);
  const p = initParams(config, "float64", () => rng.uniform(), "torch");
  for (const layer of p.layers)
    for (const c of layer) for (let i = 0; i < 2; i++) c.sScale[i] = (2 * rng.uniform() - 1) * scaleSpread;
  return p.data as Float64Array;
}

export function normals(n: number, seed = 2): Float64Array {
  const a = new Float64Array(n);
  Rng.fromSeed(seed).fillNormal(a);
  return a;
}

/** ln|det| of a dense n×n matrix (row-major) by LU with partial pivoting. */
export function logAbsDet(a: Float64Array, n: number): number {
  const m = a.slice();
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) p = i;
    if (p !== k)
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[p * n + j];
        m[p * n + j] = t;
      }
    const piv = m[k * n + k];
    s += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / piv;
      if (f !== 0) for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  return s;
}

/** ln|det ∂x/∂z| of the generation map at z (one row) from the central-difference Jacobian. */
export function bruteLogDet(model: FlowModel, params: Float64Array, z: Float64Array, h = 1e-6): number {
  const N = model.nvars;
  const J = new Float64Array(N * N);
  for (let j = 0; j < N; j++) {
    const zp = z.slice();
    zp[j] += h;
    const zm = z.slice();
    zm[j] -= h;
    const xp = generate(model, params, zp, 1).x;
    const xm = generate(model, params, zm, 1).x;
    for (let i = 0; i < N; i++) J[i * N + j] = (xp[i] - xm[i]) / (2 * h);
  }
  return logAbsDet(J, N);
}
