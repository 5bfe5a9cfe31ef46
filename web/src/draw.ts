/** Small canvas drawing helpers of the playground: lattice images and line charts. */

export const COLORS = {
  F: "#1f5fa8",
  exact: "#c0392b",
  relErr: "#7b3fa0",
  latent: "#1f7a4d",
  physical: "#d07a12",
  grid: "#e3e6ea",
  axis: "#5b6470",
  text: "#1d232b",
};

/** Size the canvas backing store for the device pixel ratio; returns a context in CSS pixels. */
export function setupCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this browser cannot draw on a canvas (no 2D context)");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  return ctx;
}

/** Diverging colour for v ∈ [−1, 1]: blue (−1) – white (0) – red (+1). */
export function diverging(v: number): string {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  const a = Math.abs(t);
  // endpoints: blue (33, 102, 172), red (178, 24, 43)
  const [r1, g1, b1] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const r = Math.round(255 + (r1 - 255) * a);
  const g = Math.round(255 + (g1 - 255) * a);
  const b = Math.round(255 + (b1 - 255) * a);
  return `rgb(${r},${g},${b})`;
}

export function maxAbs(values: ArrayLike<number>, start = 0, end = values.length): number {
  let m = 0;
  for (let i = start; i < end; i++) if (Number.isFinite(values[i])) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Draw a size×size image (row-major `values` from `offset`) as cells at (x, y) of side `cell`;
 * values are divided by `scale` before the diverging colour map (spins ±1 → pure colours).
 */
export function drawLattice(
  ctx: CanvasRenderingContext2D,
  values: ArrayLike<number>,
  size: number,
  x: number,
  y: number,
  cell: number,
  scale = 1,
  offset = 0,
  colour: (v: number) => string = diverging,
): void {
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      ctx.fillStyle = colour(values[offset + i * size + j] / (scale || 1));
      ctx.fillRect(x + j * cell, y + i * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  ctx.strokeStyle = "#9aa3ad";
  ctx.lineWidth = 1;
  ctx.strokeRect(x - 0.5, y - 0.5, size * cell + 1, size * cell + 1);
}

export const spinColour = (v: number): string => (v > 0 ? "#1d232b" : "#f4f1ea");

export function label(
  ctx: CanvasRenderingContext2D,
  text: string,
  x: number,
  y: number,
  align: CanvasTextAlign = "left",
  size = 12,
  colour = COLORS.text,
): void {
  ctx.fillStyle = colour;
  ctx.font = `${size}px system-ui, -apple-system, "Segoe UI", sans-serif`;
  ctx.textAlign = align;
  ctx.textBaseline = "alphabetic";
  ctx.fillText(text, x, y);
}

export interface Series {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  colour: string;
  width?: number;
  dash?: number[];
  name?: string;
  /** draw a dot at each point (with ± errors when given) instead of a line */
  markers?: boolean;
  errors?: ArrayLike<number>;
}

export interface HLine {
  y: number;
  colour: string;
  dash?: number[];
  name?: string;
}

export interface ChartOptions {
  x: number;
  y: number;
  width: number;
  height: number;
  series: Series[];
  hlines?: HLine[];
  title?: string;
  xlabel?: string;
  ylabel?: string;
  logY?: boolean;
  /** force the y range (before padding) */
  yRange?: [number, number];
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmtTick(v: number, log: boolean): string {
  if (log) {
    const x = 10 ** v;
    return x >= 1e-3 && x < 1e4 ? String(Number(x.toPrecision(2))) : x.toExponential(0);
  }
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

/** A line chart with axes, ticks, horizontal reference lines and a legend. */
export function lineChart(ctx: CanvasRenderingContext2D, o: ChartOptions): void {
  const padL = 58,
    padR = 12,
    padT = o.title ? 22 : 10,
    padB = o.xlabel ? 34 : 22;
  const px = o.x + padL,
    py = o.y + padT,
    pw = o.width - padL - padR,
    ph = o.height - padT - padB;
  const tf = (v: number): number => (o.logY ? Math.log10(v) : v);
  let xmin = Infinity,
    xmax = -Infinity,
    ymin = Infinity,
    ymax = -Infinity;
  for (const s of o.series) {
    for (let i = 0; i < s.xs.length; i++) {
      const yv = tf(s.ys[i]);
      if (!Number.isFinite(yv) || !Number.isFinite(s.xs[i])) continue;
      xmin = Math.min(xmin, s.xs[i]);
      xmax = Math.max(xmax, s.xs[i]);
      const e = o.logY ? 0 : (s.errors?.[i] ?? 0);
      ymin = Math.min(ymin, yv - e);
      ymax = Math.max(ymax, yv + e);
    }
  }
  for (const h of o.hlines ?? []) {
    const yv = tf(h.y);
    if (Number.isFinite(yv)) {
      ymin = Math.min(ymin, yv);
      ymax = Math.max(ymax, yv);
    }
  }
  if (o.yRange) [ymin, ymax] = o.yRange.map(tf) as [number, number];
  if (!Number.isFinite(xmin)) {
    xmin = 0;
    xmax = 1;
  }
  if (xmax === xmin) {
    xmin -= 1;
    xmax += 1;
  }
  if (!Number.isFinite(ymin)) {
    ymin = 0;
    ymax = 1;
  }
  if (ymax === ymin) {
    ymin -= 0.5;
    ymax += 0.5;
  }
  const pad = 0.06 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  const sx = (v: number): number => px + ((v - xmin) / (xmax - xmin)) * pw;
  const sy = (v: number): number => py + ph - ((v - ymin) / (ymax - ymin)) * ph;

  // grid and ticks
  ctx.save();
  ctx.strokeStyle = COLORS.grid;
  ctx.lineWidth = 1;
  let yt: number[];
  if (o.logY) {
    // decades, or 1-2-5 steps when the range spans less than two decades
    const cands: number[] = [];
    for (let k = Math.floor(ymin) - 1; k <= Math.ceil(ymax); k++)
      for (const m of [1, 2, 5]) cands.push(k + Math.log10(m));
    const inRange = cands.filter((v) => v >= ymin && v <= ymax);
    const decades = inRange.filter((v) => Number.isInteger(v));
    yt = decades.length >= 2 ? decades : inRange;
  } else {
    yt = niceTicks(ymin, ymax, 5);
  }
  for (const v of yt) {
    const yy = Math.round(sy(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, yy);
    ctx.lineTo(px + pw, yy);
    ctx.stroke();
    label(ctx, fmtTick(v, !!o.logY), px - 6, yy + 4, "right", 11, COLORS.axis);
  }
  for (const v of niceTicks(xmin, xmax, 6)) {
    const xx = Math.round(sx(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, py);
    ctx.lineTo(xx, py + ph);
    ctx.stroke();
    label(ctx, fmtTick(v, false), xx, py + ph + 14, "center", 11, COLORS.axis);
  }
  ctx.strokeStyle = COLORS.axis;
  ctx.strokeRect(px + 0.5, py + 0.5, pw, ph);
  if (o.title) label(ctx, o.title, o.x + padL, o.y + 15, "left", 13);
  if (o.xlabel) label(ctx, o.xlabel, px + pw / 2, o.y + o.height - 4, "center", 11, COLORS.axis);
  if (o.ylabel) {
    ctx.save();
    ctx.translate(o.x + 12, py + ph / 2);
    ctx.rotate(-Math.PI / 2);
    label(ctx, o.ylabel, 0, 0, "center", 11, COLORS.axis);
    ctx.restore();
  }

  // clip to the plot area
  ctx.beginPath();
  ctx.rect(px, py, pw, ph);
  ctx.clip();
  for (const h of o.hlines ?? []) {
    const yv = tf(h.y);
    if (!Number.isFinite(yv)) continue;
    ctx.strokeStyle = h.colour;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(h.dash ?? [6, 4]);
    ctx.beginPath();
    ctx.moveTo(px, sy(yv));
    ctx.lineTo(px + pw, sy(yv));
    ctx.stroke();
  }
  ctx.setLineDash([]);
  for (const s of o.series) {
    if (s.markers) {
      ctx.fillStyle = s.colour;
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1.5;
      for (let i = 0; i < s.xs.length; i++) {
        const yv = tf(s.ys[i]);
        if (!Number.isFinite(yv)) continue;
        const X = sx(s.xs[i]);
        const e = s.errors?.[i] ?? 0;
        if (e > 0 && !o.logY) {
          ctx.beginPath();
          ctx.moveTo(X, sy(yv - e));
          ctx.lineTo(X, sy(yv + e));
          ctx.stroke();
        }
        ctx.beginPath();
        ctx.arc(X, sy(yv), 4, 0, 2 * Math.PI);
        ctx.fill();
      }
      continue;
    }
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.width ?? 1.5;
    ctx.setLineDash(s.dash ?? []);
    ctx.beginPath();
    let pen = false;
    for (let i = 0; i < s.xs.length; i++) {
      const yv = tf(s.ys[i]);
      if (!Number.isFinite(yv)) {
        pen = false;
        continue;
      }
      const X = sx(s.xs[i]);
      const Y = sy(yv);
      if (pen) ctx.lineTo(X, Y);
      else ctx.moveTo(X, Y);
      pen = true;
    }
    ctx.stroke();
  }
  ctx.restore();

  // legend
  const entries = [...o.series.filter((s) => s.name), ...(o.hlines ?? []).filter((h) => h.name)];
  let lx = px + pw - 8;
  for (const e of entries.reverse()) {
    const name = e.name as string;
    ctx.font = "11px system-ui, sans-serif";
    const w = ctx.measureText(name).width;
    lx -= w;
    label(ctx, name, lx, py + 14, "left", 11);
    ctx.strokeStyle = e.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(e.dash ?? ("y" in e ? [6, 4] : []));
    ctx.beginPath();
    ctx.moveTo(lx - 22, py + 10);
    ctx.lineTo(lx - 4, py + 10);
    ctx.stroke();
    ctx.setLineDash([]);
    lx -= 34;
  }
}
