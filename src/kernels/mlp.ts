/**
 * Fused, allocation-free evaluation and back-propagation of one coupling network
 * (2 → H → … → H → 2, hidden activations of activation.ts, linear output) for a single row.
 *
 * Parameters are read from a flat array P starting at offset `po`, in the layout of
 * flow/params.ts: per dense layer, W [out × in] row-major, then b [out]. Hidden
 * post-activations are stored in `act` (nh blocks of H values from offset `ao`) so that the
 * backward pass needs no recomputation; the activation's slope is recovered from its output
 * (activation.ts: activationSlope).
 *
 * This module is a leaf: it imports nothing from flows, training or the CLI.
 */
import type { Real } from "../engine/real.ts";
import { activate, activationSlope } from "./activation.ts";

/** Evaluate the net on (x0, x1); writes the two outputs to out[0], out[1]. `rational`: activation.ts's "rational" instead of ELU. */
export function netForward(
  P: Real,
  po: number,
  nh: number,
  H: number,
  rational: boolean,
  x0: number,
  x1: number,
  act: Float64Array,
  ao: number,
  out: Float64Array,
): void {
  if (nh === 0) {
    out[0] = P[po] * x0 + P[po + 1] * x1 + P[po + 4];
    out[1] = P[po + 2] * x0 + P[po + 3] * x1 + P[po + 5];
    return;
  }
  // first dense layer 2 → H
  let p = po;
  const b0 = p + 2 * H;
  for (let i = 0; i < H; i++) {
    const u = P[p + 2 * i] * x0 + P[p + 2 * i + 1] * x1 + P[b0 + i];
    act[ao + i] = activate(u, rational);
  }
  p += 3 * H;
  let prev = ao;
  // hidden H → H layers
  for (let k = 1; k < nh; k++) {
    const cur = prev + H;
    const bk = p + H * H;
    for (let i = 0; i < H; i++) {
      let u = P[bk + i];
      const row = p + i * H;
      for (let j = 0; j < H; j++) u += P[row + j] * act[prev + j];
      act[cur + i] = activate(u, rational);
    }
    p += H * H + H;
    prev = cur;
  }
  // last dense layer H → 2
  let o0 = P[p + 2 * H];
  let o1 = P[p + 2 * H + 1];
  for (let j = 0; j < H; j++) {
    const a = act[prev + j];
    o0 += P[p + j] * a;
    o1 += P[p + H + j] * a;
  }
  out[0] = o0;
  out[1] = o1;
}

/**
 * Back-propagate output adjoints (g0, g1) through the net evaluated at (x0, x1) with stored
 * activations. Accumulates parameter gradients into G (same layout and offset as P) and writes
 * the input adjoints to gin[0], gin[1]. `ga` and `gb` are scratch arrays of length ≥ H.
 */
export function netBackward(
  P: Real,
  G: Float64Array,
  po: number,
  nh: number,
  H: number,
  rational: boolean,
  x0: number,
  x1: number,
  act: Float64Array,
  ao: number,
  g0: number,
  g1: number,
  gin: Float64Array,
  ga: Float64Array,
  gb: Float64Array,
): void {
  if (nh === 0) {
    G[po] += g0 * x0;
    G[po + 1] += g0 * x1;
    G[po + 2] += g1 * x0;
    G[po + 3] += g1 * x1;
    G[po + 4] += g0;
    G[po + 5] += g1;
    gin[0] = g0 * P[po] + g1 * P[po + 2];
    gin[1] = g0 * P[po + 1] + g1 * P[po + 3];
    return;
  }
  // offsets of the dense layers
  const first = po;
  const lastP = po + 3 * H + (nh - 1) * (H * H + H);
  const lastA = ao + (nh - 1) * H;
  // last layer H → 2
  for (let j = 0; j < H; j++) {
    const a = act[lastA + j];
    G[lastP + j] += g0 * a;
    G[lastP + H + j] += g1 * a;
    ga[j] = g0 * P[lastP + j] + g1 * P[lastP + H + j];
  }
  G[lastP + 2 * H] += g0;
  G[lastP + 2 * H + 1] += g1;
  // hidden layers, from the top: ga holds ∂/∂(post-activation) of layer k
  let gcur = ga;
  let gnext = gb;
  for (let k = nh - 1; k >= 1; k--) {
    const p = po + 3 * H + (k - 1) * (H * H + H);
    const bk = p + H * H;
    const cur = ao + k * H;
    const prev = cur - H;
    for (let j = 0; j < H; j++) gnext[j] = 0;
    for (let i = 0; i < H; i++) {
      const a = act[cur + i];
      const gu = gcur[i] * activationSlope(a, rational);
      if (gu === 0) continue;
      G[bk + i] += gu;
      const row = p + i * H;
      for (let j = 0; j < H; j++) {
        G[row + j] += gu * act[prev + j];
        gnext[j] += gu * P[row + j];
      }
    }
    const t = gcur;
    gcur = gnext;
    gnext = t;
  }
  // first layer 2 → H
  let gx0 = 0;
  let gx1 = 0;
  const b0 = first + 2 * H;
  for (let i = 0; i < H; i++) {
    const a = act[ao + i];
    const gu = gcur[i] * activationSlope(a, rational);
    G[first + 2 * i] += gu * x0;
    G[first + 2 * i + 1] += gu * x1;
    G[b0 + i] += gu;
    gx0 += gu * P[first + 2 * i];
    gx1 += gu * P[first + 2 * i + 1];
  }
  gin[0] = gx0;
  gin[1] = gx1;
}
