/**
 * Block placement of the hierarchical flow (paper Fig. 1a and 2; docs/architecture.md).
 *
 * A layer is a set of disjoint 2×2 blocks; each block lists 4 site indices in the order
 * (0,0), (0,1), (1,0), (1,1) of the block. At level l the active sites form a sublattice of
 * spacing s = 2^l. In the inference direction (x → z) a MERA level is:
 *   - a disentangler layer: blocks with origin (2s·a, 2s·b), sites origin + (di·s, dj·s);
 *   - a decimator layer: blocks shifted by one active site, origin (2s·a + s, 2s·b + s).
 * The decimator's block element (1,1) sits on a site ≡ 0 mod 2s: it stays active for level
 * l+1; its other three outputs are the latent variables of scale l. This is the placement of
 * the original code (getIndeices with offset 0 and offset 2^l). Generation (z → x) runs the
 * layers in reverse order.
 *
 * `nrepeat` R (the original code's `-nrepeat`, "repeat of mera block": its MERA class loops
 * `repeat` times over the disentangler/decimator pair inside each level) repeats each level's
 * layer group R times, each copy with its own weights:
 *   - mera: [disentangler, decimator] × R per level (as the original);
 *   - tree (Fig. 2b): decimator × R per level;
 *   - tebd (Fig. 2a): the two brick-wall layers × R per round, i.e. depth·R rounds (the
 *     original's TEBD has no repeat option; this is the same layer group repeated).
 * A decimator's three discarded outputs are touched again by the next repetition of the same
 * level, and by nothing after the level's last layer, so the latent scale of a site
 * (latentScale) is unchanged: the level's last decimator defines it. R = 1 (or absent) gives
 * exactly the layers of a config without the field.
 */
import type { FlowConfig } from "./config.ts";
import { nrepeatOf, validateFlowConfig } from "./config.ts";

export type LayerRole = "disentangler" | "decimator";

export interface BlockLayer {
  level: number;
  role: LayerRole;
  /** Site indices, 4 per block: blocks[4*k + c], c in block order (0,0),(0,1),(1,0),(1,1). */
  blocks: Int32Array;
  nblocks: number;
}

/** Blocks of one layer at level `level` with origin offset `offset` (0 or s). */
export function blockLayer(L: number, level: number, offset: number, role: LayerRole): BlockLayer {
  const s = 1 << level;
  const stride = 2 * s;
  const per = L / stride;
  const nblocks = per * per;
  const blocks = new Int32Array(4 * nblocks);
  let k = 0;
  for (let a = 0; a < per; a++) {
    for (let b = 0; b < per; b++) {
      for (let di = 0; di < 2; di++) {
        for (let dj = 0; dj < 2; dj++) {
          const i = (a * stride + offset + di * s) % L;
          const j = (b * stride + offset + dj * s) % L;
          blocks[k++] = i * L + j;
        }
      }
    }
  }
  return { level, role, blocks, nblocks };
}

/** The layers of a flow in inference order (x → z). */
export function buildLayers(config: FlowConfig): BlockLayer[] {
  validateFlowConfig(config);
  const layers: BlockLayer[] = [];
  const repeat = nrepeatOf(config);
  for (let level = 0; level < config.depth; level++) {
    for (let r = 0; r < repeat; r++) {
      if (config.layout === "tebd") {
        // Fig. 2a: no hierarchy, `depth` (× nrepeat) rounds of two brick-wall layers on the physical lattice.
        layers.push(blockLayer(config.L, 0, 0, "disentangler"));
        layers.push(blockLayer(config.L, 0, 1, "disentangler"));
        continue;
      }
      const s = 1 << level;
      if (config.layout === "mera") layers.push(blockLayer(config.L, level, 0, "disentangler"));
      layers.push(blockLayer(config.L, level, s, "decimator"));
    }
  }
  return layers;
}

/**
 * The scale at which each site becomes a latent variable: scale l for sites ≡ 0 mod 2^l but
 * not mod 2^(l+1) (l < depth); sites still active above the top level get scale = depth.
 */
export function latentScale(L: number, depth: number): Int32Array {
  const out = new Int32Array(L * L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      let l = 0;
      while (l < depth && i % (2 << l) === 0 && j % (2 << l) === 0) l++;
      out[i * L + j] = l;
    }
  }
  return out;
}
