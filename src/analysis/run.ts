/**
 * `neuralrg analyze`: the renormalisation-group analysis of a trained run (paper
 * Fig. 4, v1 Fig. 4 and S2–S4), written into <run>/analysis/:
 *
 *   index.json                 what was computed, with which options, key numbers, figure list
 *   collective.json|svg|png    collective variables per scale next to the physical configuration (v1 Fig. 4)
 *   response.json              E[∂z_i/∂x] and its spread for the top-level latents (Fig. 4a)
 *   response.svg|png           the four mean response maps; response-std.svg|png their spread
 *   mi.json                    KSG mutual-information matrices and summaries (Fig. 4b, 4c)
 *   mi-latent.svg|png          MI between latent variables (own colour scale)
 *   mi-physical.svg|png        MI between physical variables (own colour scale)
 *   mi-distance.svg|png        mean MI against lattice distance, latent vs physical
 *   wander.json                latent wander: which components were flipped, how x changed (v1 S2–S4)
 *   wander-level<l>.svg|png    collective variables at each scale after each flip
 *   wander-physical.svg|png    physical variables after each flip; wander-dx.svg|png their change
 *
 * One set of physical samples x ∼ π (samples.ts) is drawn, each sign fixed by the symmetric
 * posterior of Eq. (S5) (posterior.ts), and the latent vectors z = g⁻¹(ηx) inferred; every
 * analysis uses these. The one exception is the MI between physical variables (Fig. 4c), a
 * property of π itself: it is estimated on the samples as drawn, without the sign fix (fixing
 * the sign would remove the global Z2 mode that carries much of the physical MI).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Real } from "../engine/real.ts";
import { toDType } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { infer } from "../flow/flow.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../io/json.ts";
import { heatmapGrid, linePlot, writePlot } from "../present/plot.ts";
import type { Progress, ProgressMode, ProgressStream } from "../present/progress.ts";
import { createProgress } from "../present/progress.ts";
import { loadTrainedRun, type TrainedRun } from "../train/run.ts";
import { collectiveVariables, imageOf, type CollectiveVariables } from "../flow/collective.ts";
import { composeSvgs, matrixFigure } from "../present/figures.ts";
import { miMatrixStats, mutualInformationMatrixParallel, type MiMatrixStats } from "./mi.ts";
import { fixSign, type SignMode } from "./posterior.ts";
import { gradientResponse, siteLabel, topLatentSites, type GradientResponse } from "./response.ts";
import { drawPhysicalSamples, type PhysicalSamples, type SampleSource } from "./samples.ts";
import { latentWander, sitesAtScale, type WanderResult } from "./wander.ts";

export const ANALYSES = ["collective", "response", "mi", "wander"] as const;
export type AnalysisName = (typeof ANALYSES)[number];

export interface AnalyzeOptions {
  /** run directory with checkpoint.json */
  dir: string;
  /** physical configurations to draw (default 1000) */
  samples?: number;
  /** KSG neighbours (default 3) */
  k?: number;
  seed?: number;
  /** analyses to run (default all) */
  what?: readonly AnalysisName[];
  /** where the configurations come from (default MIS with 10 steps) */
  source?: SampleSource;
  /** sign choice of Eq. (S5); "auto": "sample" for symmetrised runs of Z2-symmetric targets, else "none" */
  sign?: SignMode | "auto";
  /** configurations shown in the collective-variable figure (default 3) */
  collectiveConfigs?: number;
  /** latent components to flip (site indices); default: wanderScale */
  wanderSites?: readonly number[];
  /** flip every component of this scale; "all" = every component; default: all for N ≤ 64, else scales ≥ depth − 2 */
  wanderScale?: number | "all";
  /** worker threads for the MI matrices (default 1: this thread) */
  workers?: number;
  progress?: ProgressMode;
  /** progress stream (default stderr) */
  stream?: ProgressStream;
  /** one-line messages */
  log?: (line: string) => void;
}

export interface FigureEntry extends JsonObject {
  /** base name inside analysis/ (files <name>.svg and <name>.png) */
  name: string;
  analysis: AnalysisName;
  title: string;
  caption: string;
}

export interface AnalysisIndex extends JsonObject {
  run: string;
  epoch: number;
  created: string;
  options: JsonObject;
  samples: JsonObject;
  results: JsonObject;
  figures: FigureEntry[];
}

export const ANALYSIS_DIR = "analysis";

/** <run>/analysis */
export function analysisDir(run: TrainedRun): string {
  return join(run.paths.dir, ANALYSIS_DIR);
}

function toJsonArray(a: ArrayLike<number>): JsonValue[] {
  return Array.from(a, (v) => (Number.isFinite(v) ? v : null));
}

function rowsOf(a: Float64Array, n: number, width: number): JsonValue[] {
  const out: JsonValue[] = [];
  for (let b = 0; b < n; b++) out.push(toJsonArray(a.subarray(b * width, (b + 1) * width)));
  return out;
}

function defaultWanderSites(run: TrainedRun, scale: number | "all" | undefined): number[] {
  const { model } = run;
  const N = model.nvars;
  const all = Array.from({ length: N }, (_, i) => i);
  if (scale === "all") return all;
  if (typeof scale === "number") return sitesAtScale(model, scale);
  if (N <= 64) return all;
  if (model.config.layout === "tebd") return topLatentSites(model);
  const top = model.config.depth;
  return all
    .filter((i) => model.scaleOfSite[i] >= top - 2)
    .sort((a, b) => model.scaleOfSite[b] - model.scaleOfSite[a] || a - b);
}

/** Run the analysis of a trained run and write its results; returns the index written to analysis/index.json. */
export async function analyzeRun(opts: AnalyzeOptions): Promise<AnalysisIndex> {
  const run = loadTrainedRun(opts.dir);
  const { model, params, target } = run;
  const L = model.config.L;
  const N = model.nvars;
  const nSamples = opts.samples ?? 1000;
  const k = opts.k ?? 3;
  const seed = opts.seed ?? 1;
  const what = new Set<AnalysisName>(opts.what ?? ANALYSES);
  const source: SampleSource = opts.source ?? { kind: "mis", steps: 10 };
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(nSamples) || nSamples < 2)
    throw new RangeError(`samples = ${nSamples} is invalid: it must be an integer ≥ 2`);
  if (what.has("mi") && nSamples <= k)
    throw new RangeError(`samples = ${nSamples} is invalid: KSG with k = ${k} needs more than k samples`);
  if (target.nvars !== N)
    throw new RangeError(`run ${run.dir}: target has ${target.nvars} variables but the flow ${N}`);
  const symmetrize = run.config.symmetrize && target.z2Symmetric;
  const signMode: SignMode =
    opts.sign === undefined || opts.sign === "auto" ? (symmetrize ? "sample" : "none") : opts.sign;
  const wanderSites = opts.wanderSites ? [...opts.wanderSites] : defaultWanderSites(run, opts.wanderScale);
  for (const s of wanderSites) {
    if (!Number.isInteger(s) || s < 0 || s >= N)
      throw new RangeError(`wander site ${s} is invalid: it must be an integer in 0..${N - 1}`);
  }
  const outDir = analysisDir(run);
  const rng = Rng.fromSeed(seed);
  const progressFor = (total: number, unit: string): Progress =>
    createProgress({ total, unit, mode: opts.progress ?? "auto", stream: opts.stream, intervalMs: 5000, fields: [] });

  // --- samples x ∼ π, signs fixed by the posterior (S5), latents z = g⁻¹(ηx) ------------------
  const t0 = performance.now();
  let samples: PhysicalSamples;
  {
    const p = source.kind === "mis" ? progressFor(source.steps, "MIS step") : undefined;
    try {
      samples = drawPhysicalSamples({ model, params, target, symmetrize }, nSamples, source, rng.fork(1), (d) =>
        p?.update(d),
      );
    } finally {
      p?.stop();
    }
  }
  // created only now: a refused input (e.g. a malformed --source file) leaves the run untouched
  mkdirSync(outDir, { recursive: true });
  const n = samples.n;
  log(
    `samples: ${samples.source}${samples.acceptance !== undefined ? `, acceptance ${samples.acceptance.toFixed(3)}` : ""}`,
  );
  const xParams: Real = toDType(samples.x, params instanceof Float64Array ? "float64" : "float32");
  const fixed = fixSign(model, params, xParams, n, signMode, rng.fork(2));
  const x = fixed.x;
  const z = infer(model, params, x, n).z;
  let flipped = 0,
    confidence = 0;
  for (let b = 0; b < n; b++) {
    if (fixed.eta[b] < 0) flipped++;
    confidence += Math.max(fixed.pPlus[b], 1 - fixed.pPlus[b]);
  }
  const samplesInfo: JsonObject = {
    n,
    source: samples.source,
    acceptance: samples.acceptance ?? null,
    symmetrized_model: symmetrize,
    sign_mode: signMode,
    sign_flipped_fraction: flipped / n,
    // mean of max_η p(η|x): 1 when the posterior is always sure of the sign
    sign_posterior_confidence: confidence / n,
    seconds: (performance.now() - t0) / 1000,
  };

  const figures: FigureEntry[] = [];
  const results: JsonObject = {};
  const fig = async (
    name: string,
    analysis: AnalysisName,
    title: string,
    caption: string,
    svg: string | Promise<string>,
  ): Promise<void> => {
    writePlot(join(outDir, name), await svg, { png: true });
    figures.push({ name, analysis, title, caption });
  };

  // --- collective variables (v1 Fig. 4) --------------------------------------------------------
  if (what.has("collective")) {
    const nc = Math.min(n, Math.max(1, opts.collectiveConfigs ?? 3));
    const cv = collectiveVariables(model, params, x.subarray(0, nc * N) as Real, nc);
    writeJsonAtomic(join(outDir, "collective.json"), {
      L,
      configurations: nc,
      physical: rowsOf(cv.physical, nc, N),
      levels: cv.levels.map((lv) => ({
        level: lv.level,
        spacing: lv.spacing,
        size: lv.size,
        sites: Array.from(lv.sites),
        values: rowsOf(lv.values, nc, lv.size * lv.size),
      })),
    });
    await fig(
      "collective",
      "collective",
      "Renormalised collective variables per scale (v1 Fig. 4)",
      `Rows: ${nc} configurations x ∼ π (${samples.source}), sign fixed by the posterior (S5). Columns: the physical variables, then the variables kept after each decimation level (the stars of v1 Fig. 1a), coarsest last; each column has its own symmetric colour scale (blue < 0 < red).`,
      collectiveFigure(cv),
    );
    results.collective = { configurations: nc, levels: cv.levels.map((l) => l.size) };
  }

  // --- gradient response (Fig. 4a) -------------------------------------------------------------
  if (what.has("response")) {
    const sites = topLatentSites(model);
    const p = progressFor(n, "configuration");
    let r: GradientResponse;
    try {
      r = gradientResponse(model, params, x, n, { sites, onProgress: (d) => p.update(d) });
    } finally {
      p.stop();
    }
    const resp = r.responses.map((q) => ({
      site: q.site,
      i: Math.floor(q.site / L),
      j: q.site % L,
      scale: q.scale,
      nonlinearity: q.nonlinearity,
      total: q.total,
      l1: q.l1,
      centre: [q.centre[0], q.centre[1]],
      locality: q.locality,
      mean: toJsonArray(q.mean),
      std: toJsonArray(q.std),
    }));
    writeJsonAtomic(join(outDir, "response.json"), { L, samples: r.samples, sign_mode: signMode, responses: resp });
    const title = (site: number, scale: number) => `z${siteLabel(site, L)}, scale ${scale}`;
    const shown = r.responses.slice(0, 16);
    await fig(
      "response",
      "response",
      "Gradient response E[∂zᵢ/∂x] of the top-level latent variables (Fig. 4a)",
      `Each map shows E_x[∂zᵢ/∂x_j] over the ${r.samples} samples for one latent zᵢ (labelled by its site and the scale at which it becomes latent), at every physical site j; shared diverging colour scale.`,
      matrixFigure({
        panels: shown.map((q) => ({ title: title(q.site, q.scale), values: q.mean, rows: L, cols: L })),
        scheme: "diverging",
        colorTitle: "E[∂zᵢ/∂xⱼ]",
        xTitle: "j (column)",
        yTitle: "i (row)",
        title: "Gradient response E[∂zᵢ/∂x] (Fig. 4a)",
      }),
    );
    await fig(
      "response-std",
      "response",
      "Spread of ∂zᵢ/∂x over samples (nonlinearity)",
      `Standard deviation of ∂zᵢ/∂x_j over the samples; zero for a linear (wavelet) transformation. ‖std‖/‖mean‖ per latent: ${r.responses.map((q) => q.nonlinearity.toFixed(3)).join(", ")}.`,
      matrixFigure({
        panels: shown.map((q) => ({ title: title(q.site, q.scale), values: q.std, rows: L, cols: L })),
        scheme: "viridis",
        colorTitle: "std ∂zᵢ/∂xⱼ",
        xTitle: "j (column)",
        yTitle: "i (row)",
        title: "Sample-to-sample spread of ∂zᵢ/∂x",
      }),
    );
    results.response = {
      samples: r.samples,
      latents: resp.map((q) => ({
        site: q.site,
        i: q.i,
        j: q.j,
        scale: q.scale,
        nonlinearity: q.nonlinearity,
        total: q.total,
        l1: q.l1,
        centre: q.centre,
        locality: q.locality,
      })),
    };
  }

  // --- mutual information (Fig. 4b, 4c) ---------------------------------------------------------
  if (what.has("mi")) {
    const total = N * (N - 1);
    const p = progressFor(total, "pair");
    let latent: Float64Array, physical: Float64Array;
    const tMi = performance.now();
    try {
      const workers = opts.workers ?? 1;
      latent = await mutualInformationMatrixParallel(z, n, N, { k, workers, onProgress: (d) => p.update(d) });
      // Physical MI of x ∼ π as drawn (Fig. 4c is a property of π; its sign is not fixed), latent
      // MI of z = g⁻¹(ηx) with η from the posterior (S5).
      physical = await mutualInformationMatrixParallel(samples.x, n, N, {
        k,
        workers,
        onProgress: (d) => p.update(total / 2 + d),
      });
    } finally {
      p.stop();
    }
    const sl = miMatrixStats(latent, L);
    const sp = miMatrixStats(physical, L);
    const profile = miDistanceProfile(latent, physical, L);
    const stats = (s: MiMatrixStats): JsonObject => ({
      mean_off_diagonal: s.meanOffDiagonal,
      max: s.max,
      mean_nearest_neighbour: s.meanNearestNeighbour,
    });
    const summary: JsonObject = {
      k,
      samples: n,
      latent: stats(sl),
      physical: stats(sp),
      ratio_mean_latent_to_physical: sl.meanOffDiagonal / sp.meanOffDiagonal,
      seconds: (performance.now() - tMi) / 1000,
    };
    writeJsonAtomic(join(outDir, "mi.json"), {
      ...summary,
      layout: "matrices are N×N row-major over sites (i, j) → i·L + j; the diagonal is null",
      distance_profile: profile as unknown as JsonValue,
      latent_matrix: toJsonArray(latent),
      physical_matrix: toJsonArray(physical),
    });
    const note = (s: MiMatrixStats) =>
      `mean off-diagonal ${s.meanOffDiagonal.toPrecision(3)} nats, nearest neighbours ${s.meanNearestNeighbour.toPrecision(3)}, max ${s.max.toPrecision(3)}`;
    await fig(
      "mi-latent",
      "mi",
      "Mutual information between latent variables (Fig. 4b)",
      `KSG estimator 1 (k = ${k}, ${n} samples) for every pair of latent variables z = g⁻¹(ηx), indexed by site i·L + j; ${note(sl)}. Own colour scale.`,
      matrixFigure({
        panels: [{ values: latent, rows: N, cols: N }],
        scheme: "viridis",
        colorTitle: "MI (nats)",
        title: "MI between latent variables (Fig. 4b)",
        subtitle: note(sl),
        xTitle: "latent variable",
        yTitle: "latent variable",
      }),
    );
    await fig(
      "mi-physical",
      "mi",
      "Mutual information between physical variables (Fig. 4c)",
      `KSG estimator 1 (k = ${k}, ${n} samples) for every pair of physical variables x ∼ π (signs not fixed), indexed by site i·L + j; ${note(sp)}. Own colour scale.`,
      matrixFigure({
        panels: [{ values: physical, rows: N, cols: N }],
        scheme: "viridis",
        colorTitle: "MI (nats)",
        title: "MI between physical variables (Fig. 4c)",
        subtitle: note(sp),
        xTitle: "physical variable",
        yTitle: "physical variable",
      }),
    );
    await fig(
      "mi-distance",
      "mi",
      "Mutual information against lattice distance",
      "Mean MI over all pairs of sites at the same periodic lattice distance, for latent and physical variables.",
      linePlot({
        series: [
          { name: "physical x", x: profile.distance, y: profile.physical },
          { name: "latent z", x: profile.distance, y: profile.latent },
        ],
        title: "Mean MI vs lattice distance",
        xTitle: "lattice distance |r_a − r_b|",
        yTitle: "mean MI (nats)",
        width: 420,
        height: 260,
      }),
    );
    results.mi = summary;
  }

  // --- latent wander (v1 S2–S4) -----------------------------------------------------------------
  if (what.has("wander") && wanderSites.length > 0) {
    const w = latentWander(model, params, z.subarray(0, N) as Real, wanderSites);
    writeJsonAtomic(join(outDir, "wander.json"), {
      L,
      z: toJsonArray(w.z),
      tolerance: w.tolerance,
      flips: w.flips.map((f) => ({
        site: f.site,
        i: Math.floor(f.site / L),
        j: f.site % L,
        scale: f.scale,
        changed_sites: f.changedSites,
        effective_sites: f.effectiveSites,
        max_abs_change: f.maxAbsChange,
        norm_change: f.normChange,
      })),
    });
    const titles = ["original", ...w.flips.map((f) => `flip z${siteLabel(f.site, L)}`)];
    const count = titles.length;
    const cols = Math.min(count, Math.max(4, Math.ceil(Math.sqrt(count))));
    for (const lv of w.decoded.levels) {
      const imgs = Array.from({ length: count }, (_, b) => imageOf(lv.values, lv.size, b));
      await fig(
        `wander-level${lv.level}`,
        "wander",
        `Latent wander: collective variables after level ${lv.level} (${lv.size}×${lv.size})`,
        `Collective variables kept after decimation level ${lv.level}, for the original latent vector and after flipping each listed component (v1 Figs. S2–S3).`,
        heatmapGrid({
          images: imgs,
          L: lv.size,
          cols,
          titles,
          title: `level ${lv.level} (${lv.size}×${lv.size})`,
          cellSize: Math.max(2, Math.round(64 / lv.size)),
        }),
      );
    }
    const phys = Array.from({ length: count }, (_, b) => imageOf(w.decoded.physical, L, b));
    await fig(
      "wander-physical",
      "wander",
      "Latent wander: physical variables",
      "Physical configuration x = g(z) for the original latent vector and after flipping each listed component (v1 Fig. S4).",
      heatmapGrid({
        images: phys,
        L,
        cols,
        titles,
        title: "x = g(z′) after one flip",
        cellSize: Math.max(2, Math.round(64 / L)),
      }),
    );
    const dx = phys.slice(1).map((im) => im.map((v, j) => v - phys[0][j]));
    if (dx.length > 0) {
      await fig(
        "wander-dx",
        "wander",
        "Latent wander: change of the physical variables",
        "Δx = g(z′) − g(z) after flipping each listed component: local for most components, global for a few (v1 S4).",
        heatmapGrid({
          images: dx,
          L,
          cols,
          titles: titles.slice(1),
          title: "Δx after one flip",
          cellSize: Math.max(2, Math.round(64 / L)),
        }),
      );
    }
    results.wander = {
      flips: w.flips.length,
      // participation number of Δx: ≈ 1 for a local change, ≈ N for a global one
      mean_effective_sites_by_scale: meanBy(w, (f) => f.effectiveSites),
      mean_norm_change_by_scale: meanBy(w, (f) => f.normChange),
    };
  }

  const options: JsonObject = {
    samples: nSamples,
    k,
    seed,
    workers: opts.workers ?? 1,
    what: [...what],
    source: source as unknown as JsonObject,
    sign: signMode,
    wander_sites: wanderSites,
  };
  for (const a of what) if (isJsonObject(results[a])) (results[a] as JsonObject).samples_info = samplesInfo;
  // Analyses not re-run this time keep their earlier results and figures (when the figures
  // still exist and the earlier analysis was of the same checkpoint epoch).
  const previous = readIndex(outDir);
  if (previous && previous.epoch === run.epoch) {
    for (const [a, v] of Object.entries(previous.results)) if (!what.has(a as AnalysisName)) results[a] = v;
    for (const f of previous.figures) {
      if (!what.has(f.analysis) && existsSync(join(outDir, `${f.name}.svg`))) figures.push(f);
    }
  }
  const order = (f: FigureEntry) => ANALYSES.indexOf(f.analysis);
  figures.sort((p, q) => order(p) - order(q));
  const index: AnalysisIndex = {
    run: run.paths.dir,
    epoch: run.epoch,
    created: new Date().toISOString(),
    options,
    samples: samplesInfo,
    results,
    figures,
  };
  writeJsonAtomic(join(outDir, "index.json"), index);
  return index;
}

/** The analysis index of a run directory's analysis/ folder, or null when absent or unreadable. */
export function readIndex(outDir: string): AnalysisIndex | null {
  const path = join(outDir, "index.json");
  if (!existsSync(path)) return null;
  try {
    const v: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (isJsonObject(v) && Array.isArray(v.figures) && isJsonObject(v.results) && typeof v.epoch === "number")
      return v as AnalysisIndex;
  } catch {
    /* unreadable: treated as absent */
  }
  return null;
}

function meanBy(w: WanderResult, f: (x: WanderResult["flips"][number]) => number): JsonObject {
  const acc = new Map<number, { s: number; n: number }>();
  for (const fl of w.flips) {
    const a = acc.get(fl.scale) ?? { s: 0, n: 0 };
    a.s += f(fl);
    a.n++;
    acc.set(fl.scale, a);
  }
  const out: JsonObject = {};
  for (const [scale, a] of [...acc].sort((p, q) => p[0] - q[0])) out[String(scale)] = a.s / a.n;
  return out;
}

/** Mean MI over pairs of sites at each periodic Euclidean distance. */
export function miDistanceProfile(
  latent: Float64Array,
  physical: Float64Array,
  L: number,
): { distance: number[]; latent: number[]; physical: number[]; pairs: number[] } {
  const N = L * L;
  const groups = new Map<number, { l: number; p: number; n: number }>();
  for (let a = 0; a < N; a++) {
    for (let b = a + 1; b < N; b++) {
      const di = Math.min(
        Math.abs(Math.floor(a / L) - Math.floor(b / L)),
        L - Math.abs(Math.floor(a / L) - Math.floor(b / L)),
      );
      const dj = Math.min(Math.abs((a % L) - (b % L)), L - Math.abs((a % L) - (b % L)));
      const d2 = di * di + dj * dj;
      const g = groups.get(d2) ?? { l: 0, p: 0, n: 0 };
      g.l += latent[a * N + b];
      g.p += physical[a * N + b];
      g.n++;
      groups.set(d2, g);
    }
  }
  const keys = [...groups.keys()].sort((p, q) => p - q);
  return {
    distance: keys.map((d2) => Math.sqrt(d2)),
    latent: keys.map((d2) => (groups.get(d2) as { l: number; n: number }).l / (groups.get(d2) as { n: number }).n),
    physical: keys.map((d2) => (groups.get(d2) as { p: number; n: number }).p / (groups.get(d2) as { n: number }).n),
    pairs: keys.map((d2) => (groups.get(d2) as { n: number }).n),
  };
}

/** v1 Fig. 4: physical configurations and their collective variables per scale, one row per configuration. */
export function collectiveFigure(cv: CollectiveVariables): string {
  const L = cv.L;
  const nc = cv.batch;
  const width = 120;
  const rowTitles = Array.from({ length: nc }, (_, b) => `configuration ${b + 1}`);
  const columns: string[] = [
    heatmapGrid({
      images: Array.from({ length: nc }, (_, b) => imageOf(cv.physical, L, b)),
      L,
      cols: 1,
      titles: rowTitles,
      title: `physical ${L}×${L}`,
      cellSize: Math.max(1, Math.round(width / L)),
    }),
    ...cv.levels.map((lv) =>
      heatmapGrid({
        images: Array.from({ length: nc }, (_, b) => imageOf(lv.values, lv.size, b)),
        L: lv.size,
        cols: 1,
        titles: rowTitles,
        title: `level ${lv.level}: ${lv.size}×${lv.size}`,
        cellSize: Math.max(1, Math.round(width / lv.size)),
      }),
    ),
  ];
  return composeSvgs(columns, "row", 4, "Renormalised collective variables (v1 Fig. 4)");
}
