/**
 * Latent wander (v1 supplement, "Wander in the latent space", Figs. S2–S4): flip the sign of one
 * component of a latent vector, z_i → −z_i, decode x′ = g(z′), and compare the renormalised
 * collective variables at each scale and the physical variables with those of the original
 * configuration. "Flipping most of the latent vector components result in local changes to the
 * physical variables. However, a few latent components control the physical variables globally."
 *
 * Components are addressed by their lattice site (z lives on the sites of x, layout.ts); the
 * scale of a component is the level at which it becomes latent (layout.ts latentScale).
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import type { CollectiveVariables } from "../flow/collective.ts";
import { collectiveFromLatent } from "../flow/collective.ts";

/** A copy of the latent vector z (one configuration of N values) with component `site` negated. */
export function flipLatent(z: Real, site: number): Real {
  if (!Number.isInteger(site) || site < 0 || site >= z.length) {
    throw new RangeError(`latent component ${site} is invalid: it must be an integer in 0..${z.length - 1}`);
  }
  const out = z.slice() as Real;
  out[site] = -out[site];
  return out;
}

/** Sites whose latent component belongs to `scale` (scale = depth: the variables kept through the top). */
export function sitesAtScale(model: FlowModel, scale: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < model.nvars; i++) if (model.scaleOfSite[i] === scale) out.push(i);
  return out;
}

export interface WanderFlip {
  /** the flipped component (site index) */
  site: number;
  /** its scale */
  scale: number;
  /** number of physical sites with |Δx| > tolerance */
  changedSites: number;
  /** max_j |x′_j − x_j| */
  maxAbsChange: number;
  /** ‖Δx‖₂ */
  normChange: number;
  /**
   * Effective number of changed physical sites, the participation number (Σ Δx_j²)² / Σ Δx_j⁴:
   * 1 when one site changes, N when all change equally — local vs global control (v1 S4).
   */
  effectiveSites: number;
}

export interface WanderResult {
  L: number;
  /** the original latent vector (N values) */
  z: Float64Array;
  /**
   * Collective variables of the original configuration (row 0) followed by those of each
   * flipped one (row k + 1 for flips[k]), all decoded from latent vectors.
   */
  decoded: CollectiveVariables;
  flips: WanderFlip[];
  /** |Δx| threshold used for `changedSites` */
  tolerance: number;
}

/**
 * Flip each of the components `sites` of the latent vector z (one configuration) in turn and
 * decode (x = g(z), generation direction), batching the original and all flips in one pass.
 */
export function latentWander(
  model: FlowModel,
  params: Real,
  z: Real,
  sites: readonly number[],
  tolerance = 1e-6,
): WanderResult {
  const N = model.nvars;
  if (z.length !== N) throw new RangeError(`latent vector has ${z.length} values, expected N = ${N}`);
  const batch = sites.length + 1;
  const zs = alloc(dtypeOf(params), batch * N);
  zs.set(z, 0);
  sites.forEach((s, k) => zs.set(flipLatent(z, s), (k + 1) * N));
  const decoded = collectiveFromLatent(model, params, zs, batch);
  const x = decoded.physical;
  const flips = sites.map((site, k): WanderFlip => {
    let changed = 0,
      maxAbs = 0,
      n2 = 0,
      n4 = 0;
    for (let j = 0; j < N; j++) {
      const d = Math.abs(x[(k + 1) * N + j] - x[j]);
      if (d > tolerance) changed++;
      if (d > maxAbs) maxAbs = d;
      n2 += d * d;
      n4 += d * d * d * d;
    }
    return {
      site,
      scale: model.scaleOfSite[site],
      changedSites: changed,
      maxAbsChange: maxAbs,
      normChange: Math.sqrt(n2),
      effectiveSites: n4 > 0 ? (n2 * n2) / n4 : 0,
    };
  });
  return { L: model.config.L, z: Float64Array.from(z), decoded, flips, tolerance };
}
