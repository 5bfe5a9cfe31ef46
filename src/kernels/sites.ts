/**
 * Copies between full rows (batch × N) and the compact rows of a layer's sites (batch × M,
 * M = sites.length): the flow's tapes keep each layer's input only at the sites its blocks touch
 * (flow/flow.ts), and its backward pass moves adjoints between the two layouts. This is the
 * typed-array reference; the WebAssembly kernel has the same copies (kernels/wasm.ts). Both are
 * pure copies, so every kernel gives the same numbers bit for bit.
 *
 * Leaf module: imports nothing from flows, training or the CLI.
 */
import type { Real } from "../engine/real.ts";

/** out[b·M + i] = a[b·N + sites[i]] for rows b < batch; returns out. */
export function gatherSites(a: Real, N: number, sites: Int32Array, batch: number, out: Real): Real {
  const M = sites.length;
  for (let b = 0; b < batch; b++) {
    const r = b * N;
    const o = b * M;
    for (let i = 0; i < M; i++) out[o + i] = a[r + sites[i]];
  }
  return out;
}

/** a[b·N + sites[i]] = c[b·M + i] for rows b < batch: the inverse of gatherSites. */
export function scatterSites(c: Real, N: number, sites: Int32Array, batch: number, a: Real): void {
  const M = sites.length;
  for (let b = 0; b < batch; b++) {
    const r = b * N;
    const o = b * M;
    for (let i = 0; i < M; i++) a[r + sites[i]] = c[o + i];
  }
}
