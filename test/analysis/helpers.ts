import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, type FlowModel } from "../../src/flow/flow.ts";
import { initParams, viewParams } from "../../src/flow/params.ts";
import { Rng } from "../../src/engine/rng.ts";

export function flowConfig(L: number, over: Partial<FlowConfig> = {}): FlowConfig {
  return { L, layout: "mera", depth: Math.round(Math.log2(L)), nlayers: 4, nmlp: 1, nhidden: 6, ...over };
}

/** The identity flow (initialisation "identity": t output layers and tanh scales are zero). */
export function identityFlow(config: FlowConfig): { model: FlowModel; params: Float64Array } {
  const rng = Rng.fromSeed(11);
  const p = initParams(config, "float64", () => rng.uniform(), "identity");
  return { model: createFlow(config), params: p.data as Float64Array };
}

/**
 * A linear flow: nmlp = 0 (each s and t network is one dense 2 → 2 layer), s networks with zero
 * weights (so s = scale ⊙ tanh(bias) is constant) and random t weights: every coupling of S1 is
 * then the affine map x_> = z_> ⊙ e^s + W_t z_< + b_t, and the flow is affine.
 */
export function linearFlow(config: FlowConfig, seed = 3): { model: FlowModel; params: Float64Array } {
  if (config.nmlp !== 0) throw new Error("linearFlow needs nmlp = 0");
  const rng = Rng.fromSeed(seed);
  const p = initParams(config, "float64", () => rng.uniform(), "torch");
  for (const layer of p.layers) {
    for (const c of layer) {
      c.s[0].W.fill(0);
      for (let i = 0; i < 2; i++) {
        c.s[0].b[i] = 2 * rng.uniform() - 1;
        c.sScale[i] = (2 * rng.uniform() - 1) * 0.7;
      }
      for (let i = 0; i < 4; i++) c.t[0].W[i] = (2 * rng.uniform() - 1) * 0.8;
    }
  }
  return { model: createFlow(config), params: p.data as Float64Array };
}

// Coupling groups of a 2×2 block (positions (0,0),(0,1),(1,0),(1,1) = 0..3, kernels/block.ts):
// even couplings condition on A = (0, 3) and update B = (1, 2); odd ones the reverse.
const COND = [
  [0, 3],
  [1, 2],
];
const UPD = [
  [1, 2],
  [0, 3],
];

/**
 * The dense N × N Jacobian ∂z/∂x of a linear flow built from the definition (S1) alone:
 * inference inverts each coupling, x_> ← (x_> − t(x_<)) e^{−s}, couplings in reverse order,
 * layers in inference order, each block's 4 × 4 matrix embedded at its sites.
 */
export function linearFlowJacobian(model: FlowModel, params: Float64Array): Float64Array {
  const N = model.nvars;
  const cfg = model.config;
  const view = viewParams(cfg, params);
  let J: Float64Array = new Float64Array(N * N);
  for (let i = 0; i < N; i++) J[i * N + i] = 1;
  model.layers.forEach((layer, l) => {
    // block matrix B = M_0 · M_1 ⋯ M_{n−1} applied to v: the coupling applied first (c = n−1) is rightmost
    let B: Float64Array = new Float64Array(16);
    for (let i = 0; i < 4; i++) B[i * 4 + i] = 1;
    for (let c = cfg.nlayers - 1; c >= 0; c--) {
      const cp = view.layers[l][c];
      const par = c & 1;
      const M = new Float64Array(16);
      for (let i = 0; i < 4; i++) M[i * 4 + i] = 1;
      for (let k = 0; k < 2; k++) {
        const s = cp.sScale[k] * Math.tanh(cp.s[0].b[k]);
        const u = UPD[par][k];
        M[u * 4 + u] = Math.exp(-s);
        for (let m = 0; m < 2; m++) M[u * 4 + COND[par][m]] = -Math.exp(-s) * cp.t[0].W[k * 2 + m];
      }
      B = matmul(M, B, 4);
    }
    const Ll = new Float64Array(N * N);
    for (let i = 0; i < N; i++) Ll[i * N + i] = 1;
    for (let b = 0; b < layer.nblocks; b++) {
      const sites = layer.blocks.subarray(4 * b, 4 * b + 4);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) Ll[sites[r] * N + sites[c]] = B[r * 4 + c];
    }
    J = matmul(Ll, J, N);
  });
  return J;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const v = a[i * n + k];
      if (v !== 0) for (let j = 0; j < n; j++) out[i * n + j] += v * b[k * n + j];
    }
  return out;
}
