/**
 * Figures of the analysis (Fig. 4, v1 Fig. 4 and S2–S4).
 *
 * Matrices and lattice maps with a colour bar are Vega-Lite charts (axes, titles and the colour
 * legend come from the library): the cells are drawn as one embedded PNG image (an `image`
 * mark stretched over the data range) coloured with the very Vega scheme the legend uses. One
 * <rect> per cell would make a 256 × 256 MI matrix an 11 MB SVG that takes seconds to render;
 * the image keeps it at a few hundred kB. Grids of configurations (collective variables, latent
 * wander) use heatmapGrid of plot.ts, composed side by side by `composeSvgs`.
 */
import { escapeXml } from "./plot.ts";
import { deflateSync } from "node:zlib";
import type { TopLevelSpec } from "./plot.ts";
import { renderVegaLite } from "./plot.ts";

// ---------------------------------------------------------------------------------------------
// PNG encoding (8-bit RGB, no interlace), so that matrix images need no extra dependency.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Encode an RGB image (3 bytes per pixel, row-major, top row first) as PNG bytes. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: size ${width}×${height} is invalid`);
  }
  if (rgb.length !== width * height * 3)
    throw new RangeError(`encodePng: expected ${width * height * 3} bytes, got ${rgb.length}`);
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(raw)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Colour schemes shared with Vega's legends

/** "viridis" for non-negative quantities (MI), "diverging" (blue < 0 < red) for signed ones. */
export type MatrixScheme = "viridis" | "diverging";

const VEGA_SCHEME: Record<MatrixScheme, { name: string; reverse: boolean }> = {
  viridis: { name: "viridis", reverse: false },
  // Vega's "redblue" runs red → blue; reversed, negative values are blue and positive red.
  diverging: { name: "redblue", reverse: true },
};

const NAN_RGB: [number, number, number] = [217, 217, 217];

function parseColour(c: string): [number, number, number] {
  const m = /^rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^#([0-9a-f]{6})$/i.exec(c);
  if (h) {
    const v = parseInt(h[1], 16);
    return [v >> 16, (v >> 8) & 255, v & 255];
  }
  throw new Error(`cannot parse colour ${c}`);
}

/** A 256-entry lookup table of the Vega scheme's colours (same colours as the chart's legend). */
async function colourTable(scheme: MatrixScheme): Promise<Uint8Array> {
  const vega = await import("vega");
  const { name, reverse } = VEGA_SCHEME[scheme];
  const interp = vega.scheme(name) as (t: number) => string;
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut.set(parseColour(interp(reverse ? 1 - t : t)), 3 * i);
  }
  return lut;
}

// ---------------------------------------------------------------------------------------------
// Matrix / lattice-map figures

export interface MatrixPanel {
  /** panel title */
  title?: string;
  /** rows × cols values, row-major (NaN cells are drawn grey) */
  values: ArrayLike<number>;
  rows: number;
  cols: number;
}

export interface MatrixFigureOptions {
  panels: MatrixPanel[];
  title?: string;
  subtitle?: string;
  scheme?: MatrixScheme;
  /** colour range (default: [min, max] of the finite values; symmetric ±max|v| for "diverging") */
  domain?: [number, number];
  /** title of the colour legend */
  colorTitle?: string;
  /** width = height of one panel in pixels (default 420 for one panel, else 200) */
  panelSize?: number;
  /** panels per row (default: all in one row up to 4) */
  columns?: number;
  xTitle?: string;
  yTitle?: string;
}

/** The colour domain of a set of panels. */
export function matrixDomain(panels: MatrixPanel[], scheme: MatrixScheme): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const p of panels) {
    for (let i = 0; i < p.values.length; i++) {
      const v = p.values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (scheme === "diverging") {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-m, m];
  }
  if (hi === lo) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

function panelImage(p: MatrixPanel, lut: Uint8Array, domain: [number, number], minPixels: number): string {
  if (!Number.isInteger(p.rows) || !Number.isInteger(p.cols) || p.rows < 1 || p.cols < 1) {
    throw new RangeError(`matrix panel size ${p.rows}×${p.cols} is invalid`);
  }
  if (p.values.length !== p.rows * p.cols) {
    throw new RangeError(`matrix panel "${p.title ?? ""}" has ${p.values.length} values, expected ${p.rows}×${p.cols}`);
  }
  // Upscale by whole pixels so the viewer's smoothing does not blur cell edges.
  const f = Math.max(1, Math.ceil(minPixels / Math.max(p.rows, p.cols)));
  const W = p.cols * f,
    H = p.rows * f;
  const rgb = new Uint8Array(W * H * 3);
  const [lo, hi] = domain;
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) {
      const v = p.values[r * p.cols + c];
      let col: ArrayLike<number> = NAN_RGB;
      if (Number.isFinite(v)) {
        const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
        const k = Math.round(t * 255);
        col = lut.subarray(3 * k, 3 * k + 3);
      }
      for (let dy = 0; dy < f; dy++) {
        let o = ((r * f + dy) * W + c * f) * 3;
        for (let dx = 0; dx < f; dx++, o += 3) {
          rgb[o] = col[0];
          rgb[o + 1] = col[1];
          rgb[o + 2] = col[2];
        }
      }
    }
  }
  return "data:image/png;base64," + encodePng(rgb, W, H).toString("base64");
}

/**
 * One or more matrices (or lattice maps) as heat maps sharing one colour scale and legend,
 * rendered by Vega-Lite to SVG. Row r is drawn at the top for r = 0 (matrix convention; for
 * lattice maps, site (i, j) at row i, column j).
 */
export async function matrixFigure(opts: MatrixFigureOptions): Promise<string> {
  const scheme = opts.scheme ?? "viridis";
  if (opts.panels.length === 0) throw new RangeError("matrixFigure: no panels");
  const domain = opts.domain ?? matrixDomain(opts.panels, scheme);
  const lut = await colourTable(scheme);
  const size = opts.panelSize ?? (opts.panels.length === 1 ? 420 : 200);
  const { name, reverse } = VEGA_SCHEME[scheme];
  const colour = {
    field: "v",
    type: "quantitative",
    title: opts.colorTitle ?? "",
    scale: { scheme: name, reverse, domain, ...(scheme === "diverging" ? { domainMid: 0 } : {}) },
  };
  const charts = opts.panels.map((p) => ({
    width: size,
    height: Math.round((size * p.rows) / p.cols),
    title: p.title !== undefined ? { text: p.title, fontSize: 12 } : undefined,
    layer: [
      {
        // cell (r, c) spans [c − ½, c + ½] × [r − ½, r + ½], so integer ticks sit at cell centres
        data: {
          values: [{ x: -0.5, x2: p.cols - 0.5, y: -0.5, y2: p.rows - 0.5, url: panelImage(p, lut, domain, 2 * size) }],
        },
        mark: { type: "image", aspect: false },
        encoding: {
          x: {
            field: "x",
            type: "quantitative",
            scale: { domain: [-0.5, p.cols - 0.5], nice: false, zero: false },
            title: opts.xTitle ?? "column",
          },
          x2: { field: "x2" },
          y: {
            field: "y",
            type: "quantitative",
            scale: { domain: [-0.5, p.rows - 0.5], nice: false, zero: false, reverse: true },
            title: opts.yTitle ?? "row",
          },
          y2: { field: "y2" },
          url: { field: "url", type: "nominal" },
        },
      },
      {
        // invisible marks carrying the colour scale, so that Vega draws the colour bar
        data: { values: [{ v: domain[0] }, { v: domain[1] }] },
        mark: { type: "point", opacity: 0 },
        encoding: { color: colour },
      },
    ],
  }));
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: opts.title ? { text: opts.title, subtitle: opts.subtitle, anchor: "start" } : undefined,
    config: {
      font: "DejaVu Sans, Helvetica, Arial, sans-serif",
      background: "white",
      legend: { gradientLength: Math.min(300, size) },
    },
    columns: opts.columns ?? Math.min(4, charts.length),
    concat: charts,
    resolve: { scale: { color: "shared" }, legend: { color: "shared" } },
  } as unknown as TopLevelSpec;
  return renderVegaLite(spec);
}

// ---------------------------------------------------------------------------------------------
// Composition of SVGs (heatmapGrid outputs) side by side

function svgSize(svg: string): { width: number; height: number } {
  const head = /<svg\b[^>]*>/.exec(svg);
  const w = head ? /\swidth="([\d.]+)"/.exec(head[0]) : null;
  const h = head ? /\sheight="([\d.]+)"/.exec(head[0]) : null;
  if (!w || !h) throw new Error("composeSvgs: an SVG without numeric width/height");
  return { width: Number(w[1]), height: Number(h[1]) };
}

/**
 * Place SVG documents next to each other (direction "row") or below each other ("column") in
 * one SVG, as nested <svg> elements. Parts must not share element ids (heatmapGrid has none).
 */
export function composeSvgs(parts: string[], direction: "row" | "column" = "row", gap = 8, title?: string): string {
  const sizes = parts.map(svgSize);
  const head = title ? 26 : 0;
  let width = 0,
    height = 0;
  if (direction === "row") {
    width = sizes.reduce((a, s) => a + s.width, 0) + gap * Math.max(0, parts.length - 1);
    height = Math.max(0, ...sizes.map((s) => s.height));
  } else {
    width = Math.max(0, ...sizes.map((s) => s.width));
    height = sizes.reduce((a, s) => a + s.height, 0) + gap * Math.max(0, parts.length - 1);
  }
  height += head;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (title) out.push(`<text x="8" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  let off = 0;
  parts.forEach((p, k) => {
    const x = direction === "row" ? off : 0;
    const y = (direction === "row" ? 0 : off) + head;
    out.push(p.replace(/^\s*(<\?xml[^>]*>\s*)?<svg\b/, `<svg x="${x}" y="${y}"`));
    off += (direction === "row" ? sizes[k].width : sizes[k].height) + gap;
  });
  out.push("</svg>");
  return out.join("\n");
}

export { escapeXml };
