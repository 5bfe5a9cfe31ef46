/**
 * Flow parameters as plain data (a tree of arrays, no hidden state).
 *
 * All parameters live in one flat typed array `data`; `FlowParams` holds views into it, so
 * the optimiser, checkpoints and averaging work on `data` alone.
 *
 * Layout of `data`, in order: for each layer (inference order, see layout.ts), for each of its
 * `nlayers` couplings: the s network, the t network, then the 2 learnable tanh scales of s.
 * A network with nmlp hidden layers of H units maps 2 → H → … → H → 2; for each of its
 * nmlp+1 dense layers k: weight W_k (row-major [out × in]) then bias b_k [out].
 */
import type { DType, Real } from "../engine/real.ts";
import { alloc } from "../engine/real.ts";
import type { FlowConfig } from "./config.ts";
import { buildLayers } from "./layout.ts";

/** Inputs and outputs of a coupling network: 2 conditioning → 2 transformed variables. */
export const HALF = 2;

export interface DenseParams {
  /** [out × in], row-major */
  W: Real;
  b: Real;
  nin: number;
  nout: number;
}

export interface CouplingParams {
  s: DenseParams[];
  t: DenseParams[];
  /** learnable scale of tanh on s, initialised to 0 (S1) */
  sScale: Real;
}

export interface FlowParams {
  /** the flat storage every view below points into */
  data: Real;
  /** layers[layer][coupling] */
  layers: CouplingParams[][];
}

export function netDims(config: FlowConfig): number[] {
  return [HALF, ...Array.from({ length: config.nmlp }, () => config.nhidden), HALF];
}

export function netSize(config: FlowConfig): number {
  const d = netDims(config);
  let n = 0;
  for (let k = 0; k + 1 < d.length; k++) n += d[k] * d[k + 1] + d[k + 1];
  return n;
}

export function couplingSize(config: FlowConfig): number {
  return 2 * netSize(config) + HALF;
}

export function paramCount(config: FlowConfig): number {
  return buildLayers(config).length * config.nlayers * couplingSize(config);
}

/** Build the views of a flat parameter array (no copy). */
export function viewParams(config: FlowConfig, data: Real): FlowParams {
  const expected = paramCount(config);
  if (data.length !== expected) {
    throw new RangeError(`parameter array has ${data.length} entries, the configuration needs ${expected}`);
  }
  const dims = netDims(config);
  let off = 0;
  const take = (n: number): Real => {
    const v = data.subarray(off, off + n) as Real;
    off += n;
    return v;
  };
  const net = (): DenseParams[] => {
    const out: DenseParams[] = [];
    for (let k = 0; k + 1 < dims.length; k++) {
      const W = take(dims[k] * dims[k + 1]);
      const b = take(dims[k + 1]);
      out.push({ W, b, nin: dims[k], nout: dims[k + 1] });
    }
    return out;
  };
  const nLayer = buildLayers(config).length;
  const layers: CouplingParams[][] = [];
  for (let l = 0; l < nLayer; l++) {
    const cs: CouplingParams[] = [];
    for (let c = 0; c < config.nlayers; c++) {
      const s = net();
      const t = net();
      cs.push({ s, t, sScale: take(HALF) });
    }
    layers.push(cs);
  }
  return { data, layers };
}

/**
 * How to initialise: "identity" (default) zeroes the last dense layer of every t network and
 * the tanh scales, so the flow is exactly the identity at start (F starts at the prior's
 * value); "torch" keeps PyTorch's default uniform init of the last t layer, as the original.
 * In both cases every other dense layer is U(−1/√fan_in, 1/√fan_in) like torch.nn.Linear.
 */
export type InitKind = "identity" | "torch";

/** Initialise parameters from a uniform random source in [0, 1) (explicit randomness). */
export function initParams(
  config: FlowConfig,
  dtype: DType,
  uniform: () => number,
  init: InitKind = "identity",
): FlowParams {
  const p = viewParams(config, alloc(dtype, paramCount(config)));
  const fill = (a: Real, bound: number) => {
    for (let i = 0; i < a.length; i++) a[i] = (2 * uniform() - 1) * bound;
  };
  for (const layer of p.layers) {
    for (const c of layer) {
      for (const net of [c.s, c.t]) {
        for (const d of net) {
          const bound = 1 / Math.sqrt(d.nin);
          fill(d.W, bound);
          fill(d.b, bound);
        }
      }
      if (init === "identity") {
        const last = c.t[c.t.length - 1];
        last.W.fill(0);
        last.b.fill(0);
      }
      c.sScale.fill(0);
    }
  }
  return p;
}
