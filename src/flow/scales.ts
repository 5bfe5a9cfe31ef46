/**
 * Samples resolved by scale (v1 Fig. S5; the generative side of the RG picture). Draw z from
 * the prior and keep random only the latent variables of scale ≥ k (the coarse ones; scales
 * from flow.scaleOfSite: 0 = finest, depth = the variables left at the top), setting the finer
 * ones to the prior's mode 0: x_k = g(z ⊙ 1[scale ≥ k]). k = 0 is an ordinary sample; raising k
 * removes detail scale by scale, so a row shows what each level of the hierarchy contributes.
 * The collective variables of the same samples (flow/collective.ts) show the
 * renormalised images each decimation passes up.
 */
import type { Real } from "../engine/real.ts";
import type { FlowModel } from "./flow.ts";
import { generate } from "./flow.ts";
import type { ColorScheme } from "../present/plot.ts";
import { heatmapGrid } from "../present/plot.ts";
import type { CollectiveVariables } from "./collective.ts";
import { imageOf } from "./collective.ts";
import { composeSvgs } from "../present/figures.ts";

/** Latent z with the variables of scale < k set to 0. */
export function coarseLatent(model: FlowModel, z: Real, batch: number, k: number): Real {
  const N = model.nvars;
  const out = z.slice() as Real;
  for (let b = 0; b < batch; b++) for (let i = 0; i < N; i++) if (model.scaleOfSite[i] < k) out[b * N + i] = 0;
  return out;
}

export interface ScaleSamples {
  /** k = 0 … maxScale: latents of scale ≥ k random */
  ks: number[];
  /** x_k for each k (batch × N each) */
  x: Float64Array[];
}

/** x_k = g(z ⊙ 1[scale ≥ k]) for k = 0 … the top scale. */
export function scaleResolvedSamples(model: FlowModel, params: Real, z: Real, batch: number): ScaleSamples {
  let top = 0;
  for (const s of model.scaleOfSite) top = Math.max(top, s);
  const ks: number[] = [];
  const x: Float64Array[] = [];
  for (let k = 0; k <= top; k++) {
    ks.push(k);
    x.push(Float64Array.from(generate(model, params, coarseLatent(model, z, batch, k), batch).x));
  }
  return { ks, x };
}

export interface ScaleFigureOptions {
  /** map model-space values to what is shown (e.g. logit → pixel intensity) */
  display?: (v: Float64Array) => Float64Array;
  scheme?: ColorScheme;
  /** colour range of the physical images (default: from the data) */
  domain?: [number, number];
  title?: string;
}

/** One column per k (finest detail left), one row per sample. */
export function scaleFigure(s: ScaleSamples, L: number, batch: number, opts: ScaleFigureOptions = {}): string {
  const show = opts.display ?? ((v: Float64Array) => v);
  const cell = Math.max(1, Math.round(96 / L));
  const cols = s.ks.map((k, c) =>
    heatmapGrid({
      images: Array.from({ length: batch }, (_, b) => show(imageOf(s.x[c], L, b))),
      L,
      cols: 1,
      cellSize: cell,
      scheme: opts.scheme ?? "gray",
      domain: opts.domain,
      title: k === 0 ? "all scales" : `scales ≥ ${k}`,
    }),
  );
  return composeSvgs(
    cols,
    "row",
    4,
    opts.title ?? "Samples with the latent variables of the finer scales set to 0 (v1 Fig. S5)",
  );
}

/** Generated samples and the collective variables after each decimation (one row per sample). */
export function collectiveSampleFigure(cv: CollectiveVariables, opts: ScaleFigureOptions = {}): string {
  const show = opts.display ?? ((v: Float64Array) => v);
  const L = cv.L;
  const cols = [
    heatmapGrid({
      images: Array.from({ length: cv.batch }, (_, b) => show(imageOf(cv.physical, L, b))),
      L,
      cols: 1,
      cellSize: Math.max(1, Math.round(96 / L)),
      scheme: opts.scheme ?? "gray",
      domain: opts.domain,
      title: `x, ${L}×${L}`,
    }),
    ...cv.levels.map((lv) =>
      heatmapGrid({
        images: Array.from({ length: cv.batch }, (_, b) => imageOf(lv.values, lv.size, b)),
        L: lv.size,
        cols: 1,
        cellSize: Math.max(1, Math.round(96 / lv.size)),
        scheme: opts.scheme ?? "gray",
        title: `${lv.size}×${lv.size}`,
      }),
    ),
  ];
  return composeSvgs(
    cols,
    "row",
    4,
    opts.title ?? "Generated samples and their collective variables after each decimation level (v1 Fig. S5)",
  );
}
