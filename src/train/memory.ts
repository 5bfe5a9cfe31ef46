/**
 * Working-set estimate of one training epoch, used to refuse configurations that cannot fit
 * (train/run.ts, the browser playground). Counted in batch × (numbers per row):
 *   - taped passes (1, or 2 with the symmetrised model or the symmetry regulariser): each keeps
 *     its running state (N per row) and the compact tape of flow.ts (each layer's input at its
 *     block sites only: tapeSitesPerRow, ≈ 2.7·N for a full-depth MERA);
 *   - about 5·N per row of temporaries shared by all passes: the prior batch z, ∇ log π, the
 *     adjoint of x, the backward pass's compact adjoint, and the WebAssembly kernel's copies of
 *     one layer's rows (input and adjoint), whose memory grows to the largest call and stays;
 *   - 2·N per row for each extra pass (−x and the adjoint of z′).
 * At L = 64 the measured peak RSS above the fixed cost of the process (Node, modules, target:
 * PROCESS_BASE_BYTES) is within ~15% of this; on smaller lattices the peak depends more on when
 * the garbage collector last ran (it lets up to a few tens of MB of dead batch arrays accumulate),
 * which GC_SLACK_BYTES covers (bench/memory.ts, bench/results/memory.md).
 */
import { BYTES_PER_NUMBER, type DType } from "../engine/real.ts";
import type { LayoutKind } from "../flow/config.ts";

/** Resident memory of a `neuralrg train` process before its first epoch (measured: 155–170 MB). */
export const PROCESS_BASE_BYTES = 170 * 2 ** 20;

/** Dead arrays the garbage collector may not have freed yet at the peak (measured: up to ~60 MB above the live set). */
export const GC_SLACK_BYTES = 64 * 2 ** 20;

/**
 * Numbers per row kept by a taped pass: Σ over layers of 4·nblocks (flow/layout.ts); `nrepeat`
 * copies of each level's layer group (FlowConfig.nrepeat, default 1).
 */
export function tapeSitesPerRow(L: number, layout: LayoutKind, depth: number, nrepeat = 1): number {
  const N = L * L;
  let sites = 0;
  for (let level = 0; level < depth; level++) {
    if (layout === "tebd")
      sites += 2 * N; // two brick-wall layers on the whole lattice
    else sites += (layout === "mera" ? 2 : 1) * (N / 4 ** level); // disentangler and/or decimator at spacing 2^level
  }
  return nrepeat * sites;
}

export interface EpochShape {
  L: number;
  layout: LayoutKind;
  depth: number;
  /** repetitions of each level's layer group (FlowConfig.nrepeat; default 1) */
  nrepeat?: number;
  batch: number;
  dtype: DType;
  /** taped passes per epoch: 2 with the symmetrised model or the symmetry regulariser, else 1 */
  passes: 1 | 2;
}

/** Estimated peak working set of one epoch in bytes (without the process's fixed cost). */
export function estimateEpochBytes(s: EpochShape): number {
  const N = s.L * s.L;
  const perRow =
    5 * N + s.passes * (N + tapeSitesPerRow(s.L, s.layout, s.depth, s.nrepeat ?? 1)) + (s.passes - 1) * 2 * N;
  return s.batch * perRow * BYTES_PER_NUMBER[s.dtype];
}
