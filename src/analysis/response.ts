/**
 * Gradient response of latent variables to the physical variables (paper, Fig. 4a and the text
 * before it): E_{x∼π}[∂z_i/∂x] for the four top-level collective variables z_i, "computed by
 * backpropagation through the network" and averaged over physical samples; the spread of
 * ∂z_i/∂x over samples measures the nonlinearity of the learned transformation (for a linear
 * wavelet transform the gradient would not depend on x).
 *
 * ∂z_i/∂x for one latent i and a whole batch is one vector–Jacobian product: the backward pass of
 * the inference tape (flow.ts `backward`) with output adjoint e_i in every row returns row i of
 * the Jacobian ∂z/∂x for every configuration. The sign of each x is fixed beforehand with the
 * symmetric posterior of Eq. (S5) (posterior.ts): the gradient is taken at ηx, w.r.t. the
 * flipped physical variables, as in the supplement ("the physical variables are flipped
 * accordingly").
 *
 * Which latents: the decimator of the last level (l = depth − 1) acts on the four sites
 * ≡ 0 (mod 2^(depth−1)); for a full-depth MERA these are (0,0), (0,L/2), (L/2,0), (L/2,L/2):
 * (0,0) is the variable kept through every level (scale = depth) and the other three are the
 * latents of the last level. Each of them depends on every physical variable ("the four
 * top-level collective variables connecting to all of the physical variables").
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf, toDType } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, inferWithTape } from "../flow/flow.ts";

/**
 * The latent sites of Fig. 4a: every site still active at the last decimation level (scale ≥
 * depth − 1), the one kept through the top first, then by index. For a full-depth MERA or tree
 * these are four sites. The TEBD layout has no hierarchy; its four sites are taken at the same
 * positions (0,0), (0,L/2), (L/2,0), (L/2,L/2).
 */
export function topLatentSites(model: FlowModel): number[] {
  const { L, depth, layout } = model.config;
  if (layout === "tebd") {
    const h = L / 2;
    return [...new Set([0, h, h * L, h * L + h])];
  }
  const sites: number[] = [];
  for (let i = 0; i < model.nvars; i++) if (model.scaleOfSite[i] >= depth - 1) sites.push(i);
  return sites.sort((a, b) => model.scaleOfSite[b] - model.scaleOfSite[a] || a - b);
}

/**
 * Rows of the Jacobian ∂z/∂x at each configuration: for each latent site s in `sites`, a
 * batch × N array whose row b is ∂z_s/∂x at x_b (one backward pass per site).
 */
export function latentGradients(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  sites: readonly number[],
): Float64Array[] {
  const N = model.nvars;
  for (const s of sites) {
    if (!Number.isInteger(s) || s < 0 || s >= N)
      throw new RangeError(`latent site ${s} is invalid: it must be an integer in 0..${N - 1}`);
  }
  const dtype = dtypeOf(params);
  const xin = dtypeOf(x) === dtype ? x : toDType(x, dtype);
  const { tape } = inferWithTape(model, params, xin, batch);
  const gLogDet = new Float64Array(batch);
  return sites.map((s) => {
    const g = alloc(dtype, batch * N);
    for (let b = 0; b < batch; b++) g[b * N + s] = 1;
    return Float64Array.from(backward(model, params, tape, g, gLogDet, null));
  });
}

export interface LatentResponse {
  /** physical site index of the latent variable (site (i, j) at i·L + j) */
  site: number;
  /** scale at which it becomes latent (layout.ts latentScale; = depth for the variable kept through the top) */
  scale: number;
  /** E[∂z_i/∂x_j] over the samples, L² values (Fig. 4a) */
  mean: Float64Array;
  /** sample standard deviation of ∂z_i/∂x_j over the samples, L² values */
  std: Float64Array;
  /** ‖std‖₂ / ‖mean‖₂: 0 for a linear map (gradient independent of x), the nonlinearity of the text */
  nonlinearity: number;
  /** Σ_j E[∂z_i/∂x_j] (response to a uniform shift of all x) */
  total: number;
  /** Σ_j |E[∂z_i/∂x_j]| */
  l1: number;
  /** centre of |mean| on the torus (circular mean of row and column), in lattice units, each in [−½, L − ½) */
  centre: [number, number];
  /** share of Σ|mean| inside the L/2 × L/2 box centred on `centre` (1 = all within one quadrant) */
  locality: number;
}

export interface GradientResponse {
  L: number;
  samples: number;
  responses: LatentResponse[];
}

export interface ResponseOptions {
  /** latent sites (default topLatentSites) */
  sites?: readonly number[];
  /** configurations per backward batch (memory bound; default 256) */
  chunk?: number;
  /** called with (configurations done, total) */
  onProgress?: (done: number, total: number) => void;
}

function circularMean(weights: ArrayLike<number>, L: number, axis: 0 | 1): number {
  let c = 0,
    s = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const w = Math.abs(weights[i * L + j]);
      const a = (2 * Math.PI * (axis === 0 ? i : j)) / L;
      c += w * Math.cos(a);
      s += w * Math.sin(a);
    }
  }
  const ang = Math.atan2(s, c);
  // in [−½, L − ½), so a map centred on row 0 reports ≈ 0 rather than ≈ L
  const v = ((((ang / (2 * Math.PI)) * L) % L) + L) % L;
  return v >= L - 0.5 ? v - L : v;
}

/** Periodic distance between coordinates a and b on a ring of L sites. */
function ringDistance(a: number, b: number, L: number): number {
  const d = Math.abs(a - b) % L;
  return Math.min(d, L - d);
}

/** Descriptive numbers of one response map (see LatentResponse). */
export function describeResponse(
  mean: Float64Array,
  std: Float64Array,
  L: number,
): Pick<LatentResponse, "nonlinearity" | "total" | "l1" | "centre" | "locality"> {
  let m2 = 0,
    s2 = 0,
    total = 0,
    l1 = 0;
  for (let j = 0; j < mean.length; j++) {
    m2 += mean[j] * mean[j];
    s2 += std[j] * std[j];
    total += mean[j];
    l1 += Math.abs(mean[j]);
  }
  const ci = circularMean(mean, L, 0);
  const cj = circularMean(mean, L, 1);
  let inside = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      if (ringDistance(i, ci, L) < L / 4 + 1e-9 && ringDistance(j, cj, L) < L / 4 + 1e-9)
        inside += Math.abs(mean[i * L + j]);
    }
  }
  return {
    nonlinearity: m2 > 0 ? Math.sqrt(s2 / m2) : NaN,
    total,
    l1,
    centre: [ci, cj],
    locality: l1 > 0 ? inside / l1 : NaN,
  };
}

/**
 * E[∂z_i/∂x] and its spread over the `batch` configurations of x (batch × L²), whose signs
 * should already be fixed by the posterior (posterior.ts `fixSign`).
 */
export function gradientResponse(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
  opts: ResponseOptions = {},
): GradientResponse {
  const N = model.nvars;
  const L = model.config.L;
  if (x.length !== batch * N) throw new RangeError(`x has length ${x.length}, expected batch × N = ${batch} × ${N}`);
  if (batch < 1) throw new RangeError("gradientResponse needs at least one configuration");
  const sites = opts.sites ?? topLatentSites(model);
  const chunk = Math.max(1, Math.floor(opts.chunk ?? 256));
  const mean = sites.map(() => new Float64Array(N));
  const m2 = sites.map(() => new Float64Array(N));
  // Welford's running mean and sum of squared deviations, per latent and site
  let count = 0;
  for (let b0 = 0; b0 < batch; b0 += chunk) {
    const nb = Math.min(chunk, batch - b0);
    const grads = latentGradients(model, params, x.subarray(b0 * N, (b0 + nb) * N) as Real, nb, sites);
    for (let b = 0; b < nb; b++) {
      count++;
      for (let k = 0; k < sites.length; k++) {
        const g = grads[k],
          mu = mean[k],
          q = m2[k];
        for (let j = 0; j < N; j++) {
          const v = g[b * N + j];
          const d = v - mu[j];
          mu[j] += d / count;
          q[j] += d * (v - mu[j]);
        }
      }
    }
    opts.onProgress?.(b0 + nb, batch);
  }
  const responses = sites.map((site, k): LatentResponse => {
    const std = new Float64Array(N);
    for (let j = 0; j < N; j++) std[j] = count > 1 ? Math.sqrt(m2[k][j] / (count - 1)) : 0;
    return { site, scale: model.scaleOfSite[site], mean: mean[k], std, ...describeResponse(mean[k], std, L) };
  });
  return { L, samples: count, responses };
}

/** "(i,j)" for a site index. */
export function siteLabel(site: number, L: number): string {
  return `(${Math.floor(site / L)},${site % L})`;
}
