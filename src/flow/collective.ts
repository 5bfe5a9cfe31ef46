/**
 * Renormalised collective variables per scale (v1 Fig. 4; the stars of v1 Fig. 1a).
 *
 * Inference z = g⁻¹(x) runs the layers level by level (layout.ts). The decimator of level l
 * keeps block element (1,1), which sits on the sites ≡ 0 (mod 2^(l+1)) in both coordinates;
 * after it those sites hold the variables passed up to the next level — the collective
 * variables at scale 2^(l+1) — and form an (L/2^(l+1)) × (L/2^(l+1)) image. The other three
 * outputs of each decimator are final: the latent variables of scale l.
 *
 * With `nrepeat` R > 1 a level applies its layer group R times (layout.ts); the next repetition
 * mixes the decimator's outputs again, so the collective variables of a level are read after
 * the level's last decimator (one entry per level, as for R = 1).
 *
 * The per-layer states are read from the pass itself (flow.ts: `passStates` records the full
 * state before every applied layer, in application order), so the values are exactly those of
 * the inference (or generation) pass.
 */
import type { Real } from "../engine/real.ts";
import type { FlowModel } from "./flow.ts";
import { passStates } from "./flow.ts";

export interface CollectiveLevel {
  /** decimation level l (0 = first decimation, acting on the physical lattice) */
  level: number;
  /** spacing of the kept sites on the physical lattice, 2^(l+1) */
  spacing: number;
  /** side of the collective-variable image, L / 2^(l+1) */
  size: number;
  /** physical site index of each image pixel (row-major in the coarse lattice) */
  sites: Int32Array;
  /** batch × size² values, row b = configuration b */
  values: Float64Array;
}

export interface CollectiveVariables {
  L: number;
  batch: number;
  /** the physical configurations x, batch × L² */
  physical: Float64Array;
  /** the latent vectors z = g⁻¹(x), batch × L² */
  latent: Float64Array;
  /** one entry per decimation level, finest first (empty for the TEBD layout: no decimators) */
  levels: CollectiveLevel[];
}

/** Sites kept after decimation level `level`: (i, j) ≡ 0 mod 2^(level+1), row-major on the coarse lattice. */
export function keptSites(L: number, level: number): Int32Array {
  const spacing = 2 << level;
  if (!Number.isInteger(L) || L < spacing || L % spacing !== 0) {
    throw new RangeError(
      `level ${level} is invalid for L = ${L}: the kept sites need L divisible by 2^(level+1) = ${spacing}`,
    );
  }
  const size = L / spacing;
  const out = new Int32Array(size * size);
  for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) out[a * size + b] = a * spacing * L + b * spacing;
  return out;
}

/**
 * Collective variables from the states after every layer. `stateAfter(k)` is the state after
 * the first k inference layers (k = 0: x; k = number of layers: z).
 */
function fromStates(model: FlowModel, batch: number, stateAfter: (k: number) => Real): CollectiveVariables {
  const L = model.config.L;
  const N = model.nvars;
  const nl = model.layers.length;
  const levels: CollectiveLevel[] = [];
  model.layers.forEach((layer, q) => {
    // with nrepeat > 1 a level has several decimators; its collective variables are those after its last layer
    if (layer.role !== "decimator" || model.layers[q + 1]?.level === layer.level) return;
    const state = stateAfter(q + 1);
    const sites = keptSites(L, layer.level);
    const size = Math.round(Math.sqrt(sites.length));
    const values = new Float64Array(batch * sites.length);
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < sites.length; p++) values[b * sites.length + p] = state[b * N + sites[p]];
    }
    levels.push({ level: layer.level, spacing: 2 << layer.level, size, sites, values });
  });
  return { L, batch, physical: Float64Array.from(stateAfter(0)), latent: Float64Array.from(stateAfter(nl)), levels };
}

/** Collective variables of physical configurations x (batch × L²), from the inference pass. */
export function collectiveVariables(model: FlowModel, params: Real, x: Real, batch: number): CollectiveVariables {
  const { out: z, states } = passStates(model, params, x, batch, "infer");
  const nl = model.layers.length;
  // inference: states[q] is the state before layer q, i.e. after the first q layers
  return fromStates(model, batch, (k) => (k === nl ? z : states[k]));
}

/**
 * Collective variables of the configurations generated from latent vectors z (batch × L²),
 * read from the generation pass x = g(z): the state before generation layer n−k is the state
 * after the first k inference layers.
 */
export function collectiveFromLatent(model: FlowModel, params: Real, z: Real, batch: number): CollectiveVariables {
  const { out: x, states } = passStates(model, params, z, batch, "generate");
  const nl = model.layers.length;
  // generation: states[q] is the state before applying inference layer nl−1−q = after nl−q inference layers
  return fromStates(model, batch, (k) => (k === 0 ? x : states[nl - k]));
}

/** Configuration b of a batch of images with `size²` values each. */
export function imageOf(values: Float64Array, size: number, b: number): Float64Array {
  return values.subarray(b * size * size, (b + 1) * size * size);
}
