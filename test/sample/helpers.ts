import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, type FlowModel } from "../../src/flow/flow.ts";
import { randomParams } from "../flow/helpers.ts";

export const smallFlowConfig = (L: number): FlowConfig => ({
  L,
  layout: "mera",
  depth: Math.round(Math.log2(L)),
  nlayers: 2,
  nmlp: 1,
  nhidden: 4,
});

/** The identity flow: all parameters zero (s = 0·tanh(…) = 0, t = 0), so x = g(z) = z and q = N(0, 1). */
export function identityFlow(L: number): { model: FlowModel; params: Float64Array } {
  const model = createFlow(smallFlowConfig(L));
  return { model, params: new Float64Array(model.nparams) };
}

/**
 * A random, clearly non-trivial flow (test/flow/helpers.ts randomParams: every part active),
 * with all parameters multiplied by `shrink` (1: as drawn; smaller: closer to the identity).
 */
export function randomFlow(L: number, seed = 1, shrink = 1): { model: FlowModel; params: Float64Array } {
  const config = smallFlowConfig(L);
  const params = randomParams(config, seed, 0.5);
  for (let i = 0; i < params.length; i++) params[i] *= shrink;
  return { model: createFlow(config), params };
}

/** Largest |a_i − b_i|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Inverse of a symmetric positive definite n×n matrix (Gauss–Jordan; tests only). */
export function invert(A: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from(A);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) p = i;
    for (let j = 0; j < n; j++) {
      [m[k * n + j], m[p * n + j]] = [m[p * n + j], m[k * n + j]];
      [inv[k * n + j], inv[p * n + j]] = [inv[p * n + j], inv[k * n + j]];
    }
    const d = m[k * n + k];
    for (let j = 0; j < n; j++) {
      m[k * n + j] /= d;
      inv[k * n + j] /= d;
    }
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = m[i * n + k];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[i * n + j] -= f * m[k * n + j];
        inv[i * n + j] -= f * inv[k * n + j];
      }
    }
  }
  return inv;
}

export const MOMENTS = ["m1", "m2", "c1"] as const;
export type Moment = (typeof MOMENTS)[number];

/**
 * Per-row site averages of an L×L field: m1 = mean x_i, m2 = mean x_i², c1 = mean x_i x_{i+x̂}
 * (periodic), and their exact expectations under N(0, Σ).
 */
export function moments(x: ArrayLike<number>, L: number, batch: number): Record<Moment, Float64Array> {
  const N = L * L;
  const out = { m1: new Float64Array(batch), m2: new Float64Array(batch), c1: new Float64Array(batch) };
  for (let b = 0; b < batch; b++) {
    let s1 = 0,
      s2 = 0,
      sc = 0;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const v = x[b * N + i * L + j];
        s1 += v;
        s2 += v * v;
        sc += v * x[b * N + i * L + ((j + 1) % L)];
      }
    }
    out.m1[b] = s1 / N;
    out.m2[b] = s2 / N;
    out.c1[b] = sc / N;
  }
  return out;
}

export function exactMoments(cov: Float64Array, L: number): Record<Moment, number> {
  const N = L * L;
  let m2 = 0,
    c1 = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const k = i * L + j;
      m2 += cov[k * N + k];
      c1 += cov[k * N + i * L + ((j + 1) % L)];
    }
  }
  return { m1: 0, m2: m2 / N, c1: c1 / N };
}
