import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
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
