/**
 * The training hot path: one layer of 2×2 Real NVP block bijectors applied to every block of
 * every configuration in a batch, forward and hand-derived backward, on flat typed arrays.
 *
 * Conventions (shared with the jax-js reference in flow/reference.ts):
 *  - a block holds 4 variables v0..v3 at block positions (0,0),(0,1),(1,0),(1,1);
 *  - groups A = (v0, v3) and B = (v1, v2); coupling c conditions on A and updates B when c is
 *    even, and the reverse when c is odd (each group is updated nlayers/2 times, S1);
 *  - generate (z → x) applies couplings c = 0 … nlayers−1:
 *        upd ← upd ⊙ exp(s) + t,   log|det| += Σ s,   s = scale ⊙ tanh(s_net(cond)), t = t_net(cond);
 *  - infer (x → z) is the exact inverse: c = nlayers−1 … 0, upd ← (upd − t) ⊙ exp(−s), log|det| −= Σ s.
 *
 * Weights are shared by all blocks of the layer (Eq. 1 and Fig. 2: one bijector per layer, applied to every 2×2 block). The backward pass recomputes the
 * block's forward for one row at a time, keeping that row's activations in small scratch
 * arrays (cache resident) instead of storing activations for the whole batch.
 *
 * Leaf module: imports nothing from flows, training or the CLI.
 */
import type { Real } from "../engine/real.ts";
import type { Activation } from "./activation.ts";
import { netBackward, netForward } from "./mlp.ts";

export type Direction = "generate" | "infer";

/** Where one layer's parameters live in the flat parameter array, and the network sizes. */
export interface LayerSpec {
  /** couplings per block */
  nlayers: number;
  /** hidden layers per network */
  nh: number;
  /** hidden units */
  H: number;
  /** parameters of one network */
  netSize: number;
  /** offset of this layer's first coupling in the flat parameter array */
  base: number;
  /** hidden activation (activation.ts); absent: "elu" */
  activation?: Activation;
}

/** Blocks of one layer: 4 site indices per block. */
export interface BlockIndex {
  blocks: Int32Array;
  nblocks: number;
}

const COND = [
  [0, 3],
  [1, 2],
];
const UPD = [
  [1, 2],
  [0, 3],
];

/** Scratch buffers for one row, sized for a layer spec. */
class Scratch {
  readonly v: Float64Array; // stages × 4 values (input of each coupling, then the output)
  readonly actS: Float64Array;
  readonly actT: Float64Array;
  readonly th: Float64Array; // tanh of the raw s output, 2 per coupling
  readonly out: Float64Array = new Float64Array(2);
  readonly tOut: Float64Array = new Float64Array(2);
  readonly gin: Float64Array = new Float64Array(2);
  readonly ga: Float64Array;
  readonly gb: Float64Array;
  readonly gv: Float64Array = new Float64Array(4);
  constructor(spec: LayerSpec) {
    const per = Math.max(1, spec.nh * spec.H);
    this.v = new Float64Array(4 * (spec.nlayers + 1));
    this.actS = new Float64Array(per * spec.nlayers);
    this.actT = new Float64Array(per * spec.nlayers);
    this.th = new Float64Array(2 * spec.nlayers);
    this.ga = new Float64Array(Math.max(1, spec.H));
    this.gb = new Float64Array(Math.max(1, spec.H));
  }
}

/** Where layerBackward with G null lets the parameter gradient go: one array, grown as needed, never read. */
let discarded = new Float64Array(0);
function discardedGradient(n: number): Float64Array {
  if (discarded.length < n) discarded = new Float64Array(n);
  return discarded;
}

const scratchCache = new WeakMap<LayerSpec, Scratch>();
function scratchFor(spec: LayerSpec): Scratch {
  let s = scratchCache.get(spec);
  if (!s) {
    s = new Scratch(spec);
    scratchCache.set(spec, s);
  }
  return s;
}

/**
 * Run the couplings of one block for one row, starting from sc.v[0..3]; records every stage
 * in sc.v and the activations needed by `blockBackward`. Returns the log-determinant.
 */
function blockForwardRecord(spec: LayerSpec, P: Real, dir: Direction, sc: Scratch): number {
  const { nlayers, nh, H, netSize, base } = spec;
  const rational = spec.activation === "rational";
  const per = nh * H;
  const cs = 2 * netSize + 2;
  const v = sc.v;
  const out = sc.out;
  const tOut = sc.tOut;
  let ld = 0;
  for (let q = 0; q < nlayers; q++) {
    const c = dir === "generate" ? q : nlayers - 1 - q;
    const parity = c & 1;
    const ci = COND[parity];
    const ui = UPD[parity];
    const vi = 4 * q;
    const vo = vi + 4;
    const x0 = v[vi + ci[0]];
    const x1 = v[vi + ci[1]];
    const po = base + c * cs;
    netForward(P, po, nh, H, rational, x0, x1, sc.actS, q * per, out);
    netForward(P, po + netSize, nh, H, rational, x0, x1, sc.actT, q * per, tOut);
    const th0 = Math.tanh(out[0]);
    const th1 = Math.tanh(out[1]);
    sc.th[2 * q] = th0;
    sc.th[2 * q + 1] = th1;
    const s0 = P[po + 2 * netSize] * th0;
    const s1 = P[po + 2 * netSize + 1] * th1;
    v[vo + ci[0]] = x0;
    v[vo + ci[1]] = x1;
    if (dir === "generate") {
      v[vo + ui[0]] = v[vi + ui[0]] * Math.exp(s0) + tOut[0];
      v[vo + ui[1]] = v[vi + ui[1]] * Math.exp(s1) + tOut[1];
      ld += s0 + s1;
    } else {
      v[vo + ui[0]] = (v[vi + ui[0]] - tOut[0]) * Math.exp(-s0);
      v[vo + ui[1]] = (v[vi + ui[1]] - tOut[1]) * Math.exp(-s1);
      ld -= s0 + s1;
    }
  }
  return ld;
}

/**
 * Back-propagate through the recorded block. On entry sc.gv holds the adjoint of the block
 * output; on exit the adjoint of the block input. gld is the adjoint of the log-determinant.
 * Parameter gradients are accumulated into G.
 */
function blockBackward(spec: LayerSpec, P: Real, G: Float64Array, dir: Direction, gld: number, sc: Scratch): void {
  const { nlayers, nh, H, netSize, base } = spec;
  const rational = spec.activation === "rational";
  const per = nh * H;
  const cs = 2 * netSize + 2;
  const v = sc.v;
  const gv = sc.gv;
  const gin = sc.gin;
  for (let q = nlayers - 1; q >= 0; q--) {
    const c = dir === "generate" ? q : nlayers - 1 - q;
    const parity = c & 1;
    const ci = COND[parity];
    const ui = UPD[parity];
    const vi = 4 * q;
    const vo = vi + 4;
    const po = base + c * cs;
    const pScale = po + 2 * netSize;
    const x0 = v[vi + ci[0]];
    const x1 = v[vi + ci[1]];
    const th0 = sc.th[2 * q];
    const th1 = sc.th[2 * q + 1];
    const sc0 = P[pScale];
    const sc1 = P[pScale + 1];
    const s0 = sc0 * th0;
    const s1 = sc1 * th1;
    const gy0 = gv[ui[0]];
    const gy1 = gv[ui[1]];
    let gu0: number, gu1: number, gt0: number, gt1: number, gs0: number, gs1: number;
    if (dir === "generate") {
      // y = u e^s + t
      const e0 = Math.exp(s0);
      const e1 = Math.exp(s1);
      gu0 = gy0 * e0;
      gu1 = gy1 * e1;
      gt0 = gy0;
      gt1 = gy1;
      gs0 = gy0 * v[vi + ui[0]] * e0 + gld;
      gs1 = gy1 * v[vi + ui[1]] * e1 + gld;
    } else {
      // y = (u − t) e^{−s}
      const e0 = Math.exp(-s0);
      const e1 = Math.exp(-s1);
      gu0 = gy0 * e0;
      gu1 = gy1 * e1;
      gt0 = -gu0;
      gt1 = -gu1;
      gs0 = -gy0 * v[vo + ui[0]] - gld;
      gs1 = -gy1 * v[vo + ui[1]] - gld;
    }
    // s = scale ⊙ tanh(h)
    G[pScale] += gs0 * th0;
    G[pScale + 1] += gs1 * th1;
    const gh0 = gs0 * sc0 * (1 - th0 * th0);
    const gh1 = gs1 * sc1 * (1 - th1 * th1);
    let gc0 = gv[ci[0]];
    let gc1 = gv[ci[1]];
    netBackward(P, G, po, nh, H, rational, x0, x1, sc.actS, q * per, gh0, gh1, gin, sc.ga, sc.gb);
    gc0 += gin[0];
    gc1 += gin[1];
    netBackward(P, G, po + netSize, nh, H, rational, x0, x1, sc.actT, q * per, gt0, gt1, gin, sc.ga, sc.gb);
    gc0 += gin[0];
    gc1 += gin[1];
    gv[ci[0]] = gc0;
    gv[ci[1]] = gc1;
    gv[ui[0]] = gu0;
    gv[ui[1]] = gu1;
  }
}

/**
 * Apply one layer in place to `state` (batch rows of N sites) in direction `dir`, adding each
 * row's log-determinant to logdet[b]. Rows b in [b0, b1) only (for splitting work).
 */
export function layerForward(
  spec: LayerSpec,
  P: Real,
  dir: Direction,
  state: Real,
  N: number,
  idx: BlockIndex,
  logdet: Float64Array,
  b0: number,
  b1: number,
): void {
  const sc = scratchFor(spec);
  const v = sc.v;
  const last = 4 * spec.nlayers;
  const blocks = idx.blocks;
  for (let b = b0; b < b1; b++) {
    const row = b * N;
    let ld = 0;
    for (let k = 0; k < idx.nblocks; k++) {
      const i0 = row + blocks[4 * k];
      const i1 = row + blocks[4 * k + 1];
      const i2 = row + blocks[4 * k + 2];
      const i3 = row + blocks[4 * k + 3];
      v[0] = state[i0];
      v[1] = state[i1];
      v[2] = state[i2];
      v[3] = state[i3];
      ld += blockForwardRecord(spec, P, dir, sc);
      state[i0] = v[last];
      state[i1] = v[last + 1];
      state[i2] = v[last + 2];
      state[i3] = v[last + 3];
    }
    logdet[b] += ld;
  }
}

/**
 * Backward of `layerForward`. `input` is the layer's input state (unchanged). `grad` holds the
 * adjoint of the layer output on entry and the adjoint of its input on exit (sites outside the
 * layer's blocks pass through). gLogdet[b] is the adjoint of row b's log-determinant.
 * Parameter gradients are accumulated into G; with G null only the input adjoint is wanted
 * (this reference kernel then accumulates into a shared array that is never read).
 */
export function layerBackward(
  spec: LayerSpec,
  P: Real,
  G: Float64Array | null,
  dir: Direction,
  input: Real,
  grad: Real,
  N: number,
  idx: BlockIndex,
  gLogdet: Float64Array,
  b0: number,
  b1: number,
): void {
  const sc = scratchFor(spec);
  const v = sc.v;
  const gv = sc.gv;
  const gParams = G ?? discardedGradient(P.length);
  const blocks = idx.blocks;
  for (let b = b0; b < b1; b++) {
    const row = b * N;
    const gld = gLogdet[b];
    for (let k = 0; k < idx.nblocks; k++) {
      const i0 = row + blocks[4 * k];
      const i1 = row + blocks[4 * k + 1];
      const i2 = row + blocks[4 * k + 2];
      const i3 = row + blocks[4 * k + 3];
      v[0] = input[i0];
      v[1] = input[i1];
      v[2] = input[i2];
      v[3] = input[i3];
      blockForwardRecord(spec, P, dir, sc);
      gv[0] = grad[i0];
      gv[1] = grad[i1];
      gv[2] = grad[i2];
      gv[3] = grad[i3];
      blockBackward(spec, P, gParams, dir, gld, sc);
      grad[i0] = gv[0];
      grad[i1] = gv[1];
      grad[i2] = gv[2];
      grad[i3] = gv[3];
    }
  }
}
