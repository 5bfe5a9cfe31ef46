/**
 * Static figures without a browser: Vega-Lite spec → Vega → SVG (renderer "none"), and SVG → PNG
 * with resvg. Heatmap grids (sample configurations, collective variables) are written as SVG
 * directly: one <rect> per site is crisper and much faster than a faceted Vega-Lite chart.
 */
import { createRequire } from "node:module";
import type { TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../io/atomic.ts";

// vega, vega-lite and resvg take ~0.6 s to import: they are loaded on first use, so that CLI
// commands which merely link this module (train, exact, ...) start fast.
type VegaModules = { vega: typeof import("vega"); vegaLite: typeof import("vega-lite") };
let vegaModules: Promise<VegaModules> | undefined;
function loadVega(): Promise<VegaModules> {
  vegaModules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return vegaModules;
}
type ResvgModule = typeof import("@resvg/resvg-js");
let resvgModule: ResvgModule | undefined;
function loadResvg(): ResvgModule {
  resvgModule ??= createRequire(import.meta.url)("@resvg/resvg-js") as ResvgModule;
  return resvgModule;
}

export type { TopLevelSpec };

const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** Render a Vega-Lite spec to an SVG string. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadVega();
  // Only errors are reported (warnings would end up in the CLI's output).
  const vgSpec = vegaLite.compile(spec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Output width in pixels (height follows the aspect ratio); default: the SVG's own size × scale. */
  width?: number;
  /** Zoom factor when no width is given (default 2, for sharp figures). */
  scale?: number;
  /** CSS background colour (default white). */
  background?: string;
}

/** Rasterise an SVG string to PNG bytes. */
export function svgToPng(svg: string, options: PngOptions = {}): Buffer {
  const { Resvg } = loadResvg();
  const resvg = new Resvg(svg, {
    fitTo:
      options.width !== undefined
        ? { mode: "width", value: options.width }
        : { mode: "zoom", value: options.scale ?? 2 },
    background: options.background ?? "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    logLevel: "off",
  });
  return resvg.render().asPng();
}

/** Write `<base>.svg` and, unless png is false, `<base>.png` (atomically). Returns the paths. */
export function writePlot(base: string, svg: string, options: { png?: boolean } & PngOptions = {}): string[] {
  const out = [`${base}.svg`];
  writeFileAtomic(out[0], svg);
  if (options.png !== false) {
    out.push(`${base}.png`);
    writeFileAtomic(out[1], svgToPng(svg, options));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Indices to keep so that at most maxPoints remain (evenly strided, last one always kept). */
function strideIndices(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const k = Math.ceil(n / maxPoints);
  const idx: number[] = [];
  for (let i = 0; i < n; i += k) idx.push(i);
  if (idx[idx.length - 1] !== n - 1) idx.push(n - 1);
  return idx;
}

function checkLengths(what: string, ...arrays: [string, ArrayLike<number> | undefined][]): number {
  const n = arrays[0][1]?.length ?? 0;
  for (const [name, a] of arrays) {
    if (a !== undefined && a.length !== n)
      throw new RangeError(`${what}: ${name} has ${a.length} values, ${arrays[0][0]} has ${n}`);
  }
  return n;
}

/** Finite numbers only (Vega drops null points from lines; NaN would poison scales). */
function num(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export interface TrainingCurveData {
  epochs: ArrayLike<number>;
  /** Variational free energy per epoch (mean of ln q − ln π over the batch). */
  F: ArrayLike<number>;
  /** Its standard error. */
  Ferr: ArrayLike<number>;
  /** Exact −ln Z, drawn as a horizontal rule; enables the relative-error panel. */
  exact?: number;
  title?: string;
  /** Panel size in pixels (default 560 × 260). */
  width?: number;
  height?: number;
  /** Downsample to at most this many points (default 2000). */
  maxPoints?: number;
}

/** The curve of a training run's metrics.csv rows (columns epoch, F, F_stderr). */
export function metricsCurve(
  rows: readonly Record<string, number>[],
): Pick<TrainingCurveData, "epochs" | "F" | "Ferr"> {
  return { epochs: rows.map((r) => r.epoch), F: rows.map((r) => r.F), Ferr: rows.map((r) => r.F_stderr) };
}

/**
 * Training curve (Fig. 3a): F per epoch with a ±1σ band and the exact −ln Z as a
 * horizontal rule; when the exact value is known, a second panel shows the relative error
 * (F − exact)/|exact| on a log scale (epochs where it is ≤ 0, i.e. F below the exact value within
 * noise, cannot be drawn there and are counted in the panel title).
 */
export async function trainingCurvePlot(data: TrainingCurveData): Promise<string> {
  const n = checkLengths("trainingCurvePlot", ["epochs", data.epochs], ["F", data.F], ["Ferr", data.Ferr]);
  const width = data.width ?? 560;
  const height = data.height ?? 260;
  const rows = strideIndices(n, data.maxPoints ?? 2000).map((i) => {
    const F = data.F[i];
    const e = data.Ferr[i];
    return { epoch: data.epochs[i], F: num(F), lo: num(F - e), hi: num(F + e) };
  });
  const exact = data.exact;
  const layers: TopLevelSpec[] = [];
  const fPanel = {
    width,
    height,
    data: { values: rows },
    layer: [
      {
        mark: { type: "area", opacity: 0.3, color: "#4c78a8" },
        encoding: {
          x: { field: "epoch", type: "quantitative", title: "epoch" },
          y: { field: "lo", type: "quantitative", scale: { zero: false }, title: "F = E[ln q − ln π]" },
          y2: { field: "hi" },
        },
      },
      {
        mark: { type: "line", color: "#4c78a8", strokeWidth: 1.5 },
        encoding: {
          x: { field: "epoch", type: "quantitative" },
          y: { field: "F", type: "quantitative" },
        },
      },
      ...(exact !== undefined && Number.isFinite(exact)
        ? [
            {
              data: { values: [{ exact, label: `exact −ln Z = ${exact.toPrecision(8)}` }] },
              layer: [
                {
                  mark: { type: "rule", color: "#e45756", strokeDash: [6, 4], strokeWidth: 1.5 },
                  encoding: { y: { field: "exact", type: "quantitative" } },
                },
                {
                  mark: { type: "text", align: "right", baseline: "bottom", dy: -3, color: "#e45756", x: "width" },
                  encoding: { y: { field: "exact", type: "quantitative" }, text: { field: "label" } },
                },
              ],
            },
          ]
        : []),
    ],
  };
  layers.push(fPanel as unknown as TopLevelSpec);

  if (exact !== undefined && Number.isFinite(exact) && exact !== 0) {
    const rel = rows
      .map((r) => ({ epoch: r.epoch, rel: r.F === null ? null : (r.F - exact) / Math.abs(exact) }))
      .filter((r): r is { epoch: number; rel: number } => r.rel !== null);
    const positive = rel.filter((r) => r.rel > 0);
    const hidden = rel.length - positive.length;
    layers.push({
      width,
      height: Math.round(height * 0.8),
      title: {
        text: "relative error (F − exact) / |exact|",
        subtitle: hidden > 0 ? `${hidden} epoch(s) with F ≤ exact not shown (log scale)` : undefined,
        fontSize: 12,
        anchor: "start",
      },
      data: { values: positive },
      mark: { type: "line", color: "#54a24b", strokeWidth: 1.5, point: positive.length < 40 },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch" },
        y: {
          field: "rel",
          type: "quantitative",
          scale: { type: "log" },
          title: "relative error",
          axis: { format: ".0e" },
        },
      },
    } as unknown as TopLevelSpec);
  }

  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: data.title ?? "Variational free energy", anchor: "start" },
    config: { font: FONT, background: "white" },
    vconcat: layers,
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec);
}

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Optional ±error, drawn as a band. */
  yErr?: ArrayLike<number>;
}

export interface LinePlotOptions {
  series: LineSeries[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  /** Horizontal reference lines. */
  rules?: { y: number; label?: string }[];
  width?: number;
  height?: number;
  /** Draw point markers (default: when a series has fewer than 40 points). */
  points?: boolean;
  maxPoints?: number;
}

/** Generic multi-series line plot (colour legend by series name, optional error bands). */
export async function linePlot(opts: LinePlotOptions): Promise<string> {
  const rows: { series: string; x: number | null; y: number | null; lo: number | null; hi: number | null }[] = [];
  let maxLen = 0;
  for (const s of opts.series) {
    const n = checkLengths(`linePlot series ${s.name}`, ["x", s.x], ["y", s.y], ["yErr", s.yErr]);
    maxLen = Math.max(maxLen, n);
    for (const i of strideIndices(n, opts.maxPoints ?? 2000)) {
      const y = s.y[i];
      const e = s.yErr ? s.yErr[i] : NaN;
      const pos = (v: number): number | null => (opts.logY && !(v > 0) ? null : num(v));
      rows.push({
        series: s.name,
        x: opts.logX && !(s.x[i] > 0) ? null : num(s.x[i]),
        y: pos(y),
        lo: s.yErr ? pos(y - e) : null,
        hi: s.yErr ? pos(y + e) : null,
      });
    }
  }
  const xEnc = {
    field: "x",
    type: "quantitative",
    title: opts.xTitle ?? "x",
    scale: opts.logX ? { type: "log" } : { zero: false },
  };
  const yScale = opts.logY ? { type: "log" } : { zero: false };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    legend: opts.series.length > 1 ? { symbolType: "stroke", symbolStrokeWidth: 2 } : null,
  };
  const layer: unknown[] = [];
  if (opts.series.some((s) => s.yErr)) {
    layer.push({
      transform: [{ filter: "datum.lo != null && datum.hi != null" }],
      mark: { type: "area", fillOpacity: 0.25 },
      encoding: { x: xEnc, y: { field: "lo", type: "quantitative", scale: yScale }, y2: { field: "hi" }, color },
    });
  }
  layer.push({
    mark: { type: "line", strokeWidth: 1.5, point: opts.points ?? maxLen < 40 },
    encoding: { x: xEnc, y: { field: "y", type: "quantitative", title: opts.yTitle ?? "y", scale: yScale }, color },
  });
  for (const r of opts.rules ?? []) {
    layer.push({
      data: { values: [{ y: r.y, label: r.label ?? "" }] },
      layer: [
        {
          mark: { type: "rule", color: "#e45756", strokeDash: [6, 4] },
          encoding: { y: { field: "y", type: "quantitative" } },
        },
        {
          mark: { type: "text", align: "right", baseline: "bottom", dy: -3, color: "#e45756", x: "width" },
          encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    });
  }
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: opts.title ? { text: opts.title, anchor: "start" } : undefined,
    config: { font: FONT, background: "white" },
    width: opts.width ?? 560,
    height: opts.height ?? 300,
    data: { values: rows },
    layer,
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec);
}

// ---------------------------------------------------------------------------------------------

export type ColorScheme = "diverging" | "gray" | "viridis";

export interface HeatmapGridOptions {
  /** Images, each L*L values row-major (site (i, j) at i*L + j), e.g. rows of a sample batch. */
  images: ArrayLike<number>[];
  L: number;
  /** Columns of the grid (default ceil(sqrt(count))). */
  cols?: number;
  /** Caption under each image. */
  titles?: string[];
  title?: string;
  /** Value range mapped to the colour scale (default: symmetric ±max|v| for "diverging", else [min, max]). */
  domain?: [number, number];
  /** "diverging" (blue–white–red, default), "gray" (black → white), "viridis". */
  scheme?: ColorScheme;
  /** Pixel size of one lattice site (default: so that an image is about 96 px wide). */
  cellSize?: number;
  /** Gap between images in pixels (default 8). */
  gap?: number;
}

type RGB = [number, number, number];
const SCHEMES: Record<ColorScheme, RGB[]> = {
  diverging: [
    [33, 102, 172],
    [103, 169, 207],
    [247, 247, 247],
    [239, 138, 98],
    [178, 24, 43],
  ],
  gray: [
    [0, 0, 0],
    [255, 255, 255],
  ],
  viridis: [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ],
};

/** Hex colour at t ∈ [0, 1] of a named scheme (NaN → the middle). */
export function schemeColour(scheme: ColorScheme, t: number): string {
  return colour(SCHEMES[scheme], t);
}

function colour(scheme: RGB[], t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (scheme.length - 1);
  const k = Math.min(scheme.length - 2, Math.floor(u));
  const f = u - k;
  const c = scheme[k].map((a, i) => Math.round(a + f * (scheme[k + 1][i] - a)));
  return "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
}

/** Escape text for inclusion in SVG/HTML. */
export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}

/** A grid of L×L images as SVG (see HeatmapGridOptions). */
export function heatmapGrid(opts: HeatmapGridOptions): string {
  const { images, L } = opts;
  if (!Number.isInteger(L) || L < 1)
    throw new RangeError(`heatmapGrid: L = ${L} is invalid: L must be a positive integer`);
  images.forEach((im, k) => {
    if (im.length !== L * L)
      throw new RangeError(`heatmapGrid: image ${k} has ${im.length} values, expected L*L = ${L * L}`);
  });
  const count = images.length;
  const cols = Math.max(1, Math.min(count, opts.cols ?? Math.ceil(Math.sqrt(count))));
  const rows = Math.max(1, Math.ceil(count / cols));
  const scheme = opts.scheme ?? "diverging";
  let [lo, hi] = opts.domain ?? [Infinity, -Infinity];
  if (!opts.domain) {
    for (const im of images)
      for (let i = 0; i < im.length; i++)
        if (Number.isFinite(im[i])) {
          lo = Math.min(lo, im[i]);
          hi = Math.max(hi, im[i]);
        }
    if (!Number.isFinite(lo)) [lo, hi] = [-1, 1];
    if (scheme === "diverging") {
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      [lo, hi] = [-m, m];
    }
    if (hi === lo) {
      lo -= 1;
      hi += 1;
    }
  }
  const cell = opts.cellSize ?? Math.max(1, Math.round(96 / L));
  const gap = opts.gap ?? 8;
  const caption = opts.titles ? 16 : 0;
  const head = opts.title ? 24 : 0;
  const side = cell * L;
  const width = cols * side + (cols + 1) * gap;
  const height = head + rows * (side + caption) + (rows + 1) * gap;
  const stops = SCHEMES[scheme];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (opts.title)
    parts.push(`<text x="${gap}" y="${gap + 14}" font-size="14" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (let k = 0; k < count; k++) {
    const ox = gap + (k % cols) * (side + gap);
    const oy = head + gap + Math.floor(k / cols) * (side + caption + gap);
    const im = images[k];
    parts.push(`<g transform="translate(${ox},${oy})" shape-rendering="crispEdges">`);
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const c = colour(stops, (im[i * L + j] - lo) / (hi - lo));
        parts.push(`<rect x="${j * cell}" y="${i * cell}" width="${cell}" height="${cell}" fill="${c}"/>`);
      }
    }
    parts.push(`<rect width="${side}" height="${side}" fill="none" stroke="#888" stroke-width="0.5"/></g>`);
    if (opts.titles?.[k] !== undefined) {
      parts.push(
        `<text x="${ox + side / 2}" y="${oy + side + 12}" font-size="11" text-anchor="middle">${escapeXml(opts.titles[k])}</text>`,
      );
    }
  }
  parts.push("</svg>");
  return parts.join("\n");
}
