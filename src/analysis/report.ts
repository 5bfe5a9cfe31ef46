/**
 * `neuralrg report`: one HTML page per run (a run directory holds config, checkpoint,
 * metrics, samples, plots and report, so that every figure can be regenerated from it).
 *
 * <run>/report.html shows the configuration, the training curve against the exact value
 * (plots/training.svg, regenerated from metrics.csv when missing), a grid of configurations
 * sampled from the flow (plots/samples.svg), the sampler results found in samples/*.json (with
 * their trace plots), and every figure of the analysis (analysis/, computed first when missing).
 * Figures are SVG files referenced by relative paths (each also as PNG next to it), so the page
 * needs no network and no server: open the file in a browser. With `inline`, the SVGs are
 * embedded as data URIs instead and the page is a single portable file.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { Rng } from "../engine/rng.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../io/json.ts";
import { readMetrics } from "../io/metrics.ts";
import { heatmapGrid, metricsCurve, trainingCurvePlot, writePlot } from "../present/plot.ts";
import type { ProgressMode, ProgressStream } from "../present/progress.ts";
import { packageVersion } from "../io/provenance.ts";
import { plotPath } from "../io/rundir.ts";
import { loadTrainedRun, type TrainedRun } from "../train/run.ts";
import { sampleModel } from "../sample/density.ts";
import { escapeXml } from "../present/figures.ts";
import { ANALYSIS_DIR, analysisDir, analyzeRun, readIndex, type AnalysisIndex, type FigureEntry } from "./run.ts";

export interface ReportOptions {
  dir: string;
  /** compute the analysis when analysis/index.json is missing (default true) */
  analyze?: boolean;
  /** physical samples for a computed analysis (default 1000) */
  samples?: number;
  seed?: number;
  /** embed SVGs as data URIs (one portable file) instead of relative references */
  inline?: boolean;
  progress?: ProgressMode;
  stream?: ProgressStream;
  log?: (line: string) => void;
}

export interface ReportResult {
  /** path of report.html */
  path: string;
  /** figures shown, relative to the run directory */
  figures: string[];
  analysis: AnalysisIndex | null;
}

const CSS = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-family: "DejaVu Sans Mono", monospace; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; max-width: 60em; } .muted { color: #777; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
`;

function esc(s: string): string {
  return escapeXml(s);
}

function fmtValue(v: JsonValue): string {
  if (v === null) return "–";
  if (typeof v === "number") {
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
  }
  if (typeof v === "boolean" || typeof v === "string") return String(v);
  if (Array.isArray(v)) {
    if (v.length <= 8 && v.every((x) => x === null || typeof x !== "object"))
      return `[${v.map((x) => fmtValue(x)).join(", ")}]`;
    return `[${v.length} values]`;
  }
  return "{…}";
}

/** Scalar leaves of a JSON object as [dotted key, formatted value] rows (arrays summarised). */
export function flattenJson(v: JsonValue, prefix = "", maxDepth = 4): [string, string][] {
  if (!isJsonObject(v) || maxDepth === 0) return [[prefix || "(value)", fmtValue(v)]];
  const rows: [string, string][] = [];
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isJsonObject(x)) rows.push(...flattenJson(x, key, maxDepth - 1));
    else rows.push([key, fmtValue(x)]);
  }
  return rows;
}

function table(rows: [string, string][], head?: [string, string]): string {
  const h = head ? `<tr><th>${esc(head[0])}</th><th>${esc(head[1])}</th></tr>` : "";
  return `<table>${h}${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${esc(v)}</td></tr>`).join("")}</table>`;
}

function readJson(path: string): JsonValue | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as JsonValue;
  } catch {
    return undefined;
  }
}

/** Write <run>/report.html (see the module comment). */
export async function writeReport(opts: ReportOptions): Promise<ReportResult> {
  const run = loadTrainedRun(opts.dir);
  const dir = run.paths.dir;
  const log = opts.log ?? (() => {});
  const figures: string[] = [];
  const seed = opts.seed ?? 1;

  const figureHtml = (file: string, title: string, caption?: string): string => {
    const rel = relative(dir, file).split("\\").join("/");
    figures.push(rel);
    const png = rel.replace(/\.svg$/, ".png");
    const hasPng = existsSync(join(dir, png));
    const src = opts.inline ? `data:image/svg+xml;base64,${readFileSync(file).toString("base64")}` : rel;
    const link = hasPng && !opts.inline ? ` <a href="${esc(png)}">PNG</a> · <a href="${esc(rel)}">SVG</a>` : "";
    return `<figure><img src="${esc(src)}" alt="${esc(title)}"><figcaption><b>${esc(title)}.</b> ${esc(caption ?? "")}${link}</figcaption></figure>`;
  };

  const parts: string[] = [];
  parts.push(`<h1>NeuralRG run report</h1>`);
  parts.push(
    `<p class="muted">Run directory <code>${esc(dir)}</code>, checkpoint at epoch ${run.epoch}; report written ${esc(new Date().toISOString())} by neuralrg ${esc(packageVersion())}. Li &amp; Wang, Neural Network Renormalization Group, PRL 121, 260601 (2018).</p>`,
  );

  // --- configuration -------------------------------------------------------------------------
  parts.push(`<h2>Configuration</h2>`);
  const configJson = JSON.parse(JSON.stringify(run.config)) as JsonObject;
  parts.push(table(flattenJson(configJson), ["key", "value"]));
  parts.push(`<details><summary>config.json</summary><pre>${esc(JSON.stringify(configJson, null, 2))}</pre></details>`);

  // --- training -----------------------------------------------------------------------------
  parts.push(`<h2>Training</h2>`);
  const summary = readJson(join(dir, "summary.json"));
  if (isJsonObject(summary)) {
    const keys = [
      "epochs",
      "F",
      "F_stderr",
      "exact",
      "rel_err",
      "bound_violated",
      "eval_samples",
      "seconds_per_epoch_median",
      "seed",
      "gitCommit",
    ];
    parts.push(
      table(
        keys.filter((k) => k in summary).map((k) => [k, fmtValue(summary[k])]),
        ["summary.json", ""],
      ),
    );
    parts.push(
      `<p class="muted">F is the variational free energy E_q[ln q − ln π] (Eq. 3), an upper bound of −ln Z; rel_err = (F − exact)/|exact|.</p>`,
    );
  } else {
    parts.push(`<p class="muted">No summary.json (training did not finish).</p>`);
  }
  const trainingSvg = plotPath(run.paths, "training", "svg");
  if (!existsSync(trainingSvg) && existsSync(run.paths.metrics)) {
    const t = readMetrics(run.paths.metrics);
    if (t.rows.length > 0) {
      log("regenerating plots/training.svg from metrics.csv");
      const exact = run.target.exactNegLogZ;
      const svg = await trainingCurvePlot({
        ...metricsCurve(t.rows),
        exact,
        title: `${String(run.config.target.kind)} L=${run.config.flow.L}${run.config.target.T !== undefined ? ` T=${run.config.target.T}` : ""}`,
      });
      writePlot(trainingSvg.replace(/\.svg$/, ""), svg, { png: true });
    }
  }
  if (existsSync(trainingSvg))
    parts.push(
      figureHtml(
        trainingSvg,
        "Variational free energy during training (Fig. 3a)",
        "F per epoch with ±1 standard error, the exact −ln Z as a dashed line, and the relative error on a log scale.",
      ),
    );
  else parts.push(`<p class="muted">No metrics.csv: no training curve.</p>`);

  // --- samples from the flow ---------------------------------------------------------------------
  parts.push(`<h2>Samples from the flow</h2>`);
  const samplesSvg = await writeSampleGrid(run, seed);
  parts.push(
    figureHtml(
      samplesSvg,
      "Configurations x = g(z), z ∼ N(0, 1)",
      `16 samples of the trained flow${run.config.symmetrize && run.target.z2Symmetric ? " with a random sign (q_sym, Eq. S2)" : ""}; site (i, j) at row i, column j; shared diverging colour scale.`,
    ),
  );

  // --- sampler results ---------------------------------------------------------------------------
  parts.push(`<h2>Sampler results</h2>`);
  const sampleFiles = existsSync(run.paths.samples)
    ? readdirSync(run.paths.samples)
        .filter((f) => f.endsWith(".json"))
        .sort()
    : [];
  if (sampleFiles.length === 0)
    parts.push(
      `<p class="muted">No sampler results in samples/ (run <code>neuralrg sample --run ${esc(dir)} --method mis|iw|hmc-latent|hmc-physical</code>).</p>`,
    );
  for (const f of sampleFiles) {
    const path = join(run.paths.samples, f);
    const base = f.replace(/\.json$/, "");
    if (base.endsWith("-states")) {
      parts.push(`<p class="muted">${esc(f)}: final chain states (<a href="${esc(`samples/${f}`)}">JSON</a>).</p>`);
      continue;
    }
    const doc = readJson(path);
    parts.push(`<h3>${esc(base)}</h3>`);
    if (doc === undefined) {
      parts.push(`<p class="muted">${esc(f)} cannot be parsed.</p>`);
      continue;
    }
    parts.push(samplerTables(doc, f));
    const trace = plotPath(run.paths, `${base}-trace`, "svg");
    if (existsSync(trace)) {
      parts.push(
        figureHtml(trace, `${base}: trace`, "Trace of the main observable (exact value as a line where known)."),
      );
    }
  }

  // --- analysis ---------------------------------------------------------------------------------
  parts.push(`<h2>Renormalisation-group analysis</h2>`);
  let analysis: AnalysisIndex | null = readIndex(analysisDir(run));
  if (!analysis && opts.analyze !== false) {
    log(`computing the analysis into ${join(dir, ANALYSIS_DIR)} (neuralrg analyze)`);
    analysis = await analyzeRun({
      dir,
      samples: opts.samples,
      seed,
      progress: opts.progress,
      stream: opts.stream,
      log,
    });
  }
  if (!analysis) {
    parts.push(`<p class="muted">No analysis (run <code>neuralrg analyze --run ${esc(dir)}</code>).</p>`);
  } else {
    parts.push(analysisSummaryHtml(analysis));
    const titles: Record<string, string> = {
      collective: "Collective variables per scale (v1 Fig. 4)",
      response: "Gradient response (Fig. 4a)",
      mi: "Mutual information (Fig. 4b, 4c)",
      wander: "Latent wander (v1 Figs. S2–S4)",
    };
    for (const name of Object.keys(titles)) {
      const figs = (analysis.figures as FigureEntry[]).filter((f) => f.analysis === name);
      if (figs.length === 0) continue;
      parts.push(`<h3>${esc(titles[name])}</h3>`);
      for (const f of figs) {
        const svg = join(analysisDir(run), `${f.name}.svg`);
        if (existsSync(svg)) parts.push(figureHtml(svg, f.title, f.caption));
        else parts.push(`<p class="muted">${esc(f.name)}.svg is missing (re-run neuralrg analyze).</p>`);
      }
    }
  }

  // --- any other figure in plots/ -------------------------------------------------------------
  const shown = new Set(figures);
  const others = existsSync(run.paths.plots)
    ? readdirSync(run.paths.plots)
        .filter((f) => f.endsWith(".svg") && !shown.has(`plots/${f}`))
        .sort()
    : [];
  if (others.length > 0) {
    parts.push(`<h2>Other figures</h2>`);
    for (const f of others) parts.push(figureHtml(join(run.paths.plots, f), f.replace(/\.svg$/, ""), ""));
  }

  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>NeuralRG report — ${esc(basename(dir))}</title><style>${CSS}</style></head>
<body>
${parts.join("\n")}
</body></html>
`;
  writeFileAtomic(run.paths.report, html);
  return { path: run.paths.report, figures, analysis };
}

/** plots/samples.svg|png: a grid of 16 configurations drawn from the flow. */
async function writeSampleGrid(run: TrainedRun, seed: number): Promise<string> {
  const L = run.model.config.L;
  const N = run.model.nvars;
  const n = 16;
  const symmetrize = run.config.symmetrize && run.target.z2Symmetric;
  const s = sampleModel(run.model, run.params, n, Rng.fromSeed(seed), symmetrize);
  const images = Array.from({ length: n }, (_, b) => s.x.subarray(b * N, (b + 1) * N));
  const svg = heatmapGrid({
    images,
    L,
    cols: 8,
    title: `Samples x ∼ ${symmetrize ? "q_sym" : "q"} (L = ${L}, epoch ${run.epoch})`,
    cellSize: Math.max(2, Math.round(96 / L)),
  });
  const base = plotPath(run.paths, "samples", "svg").replace(/\.svg$/, "");
  writePlot(base, svg, { png: true });
  return `${base}.svg`;
}

/**
 * A sampler's JSON summary: its scalar entries, then every object of per-observable objects
 * (e.g. {"energy": {"mean", "error", "tau_int", …}, …}) as one table with a row per
 * observable; everything (flattened) in a collapsed details block.
 */
export function samplerTables(doc: JsonValue, file: string): string {
  if (!isJsonObject(doc)) return table(flattenJson(doc), [file, ""]);
  const out: string[] = [];
  const scalars = Object.entries(doc).filter(([, v]) => !isJsonObject(v) && !(Array.isArray(v) && v.length > 8));
  out.push(
    table(
      scalars.map(([k, v]) => [k, fmtValue(v)]),
      [file, ""],
    ),
  );
  for (const [name, v] of Object.entries(doc)) {
    if (!isJsonObject(v)) continue;
    const rows = Object.entries(v).filter((e): e is [string, JsonObject] => isJsonObject(e[1]));
    if (rows.length === 0 || rows.length !== Object.keys(v).length) continue;
    const cols = [...new Set(rows.flatMap(([, r]) => Object.keys(r).filter((k) => !isJsonObject(r[k]))))];
    out.push(
      `<table><tr><th>${esc(name)}</th>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>${rows
        .map(
          ([r, o]) =>
            `<tr><td>${esc(r)}</td>${cols.map((c) => `<td class="num">${esc(c in o ? fmtValue(o[c]) : "")}</td>`).join("")}</tr>`,
        )
        .join("")}</table>`,
    );
  }
  out.push(`<details><summary>all entries of ${esc(file)}</summary>${table(flattenJson(doc).slice(0, 500))}</details>`);
  return out.join("\n");
}

function num(v: JsonValue | undefined): number | undefined {
  return typeof v === "number" ? v : undefined;
}

function analysisSummaryHtml(a: AnalysisIndex): string {
  const out: string[] = [];
  const s = isJsonObject(a.samples) ? a.samples : {};
  out.push(
    `<p>Samples: ${esc(String(s.source ?? "?"))}${num(s.acceptance) !== undefined ? `, MIS acceptance ${(num(s.acceptance) as number).toFixed(3)}` : ""}; n = ${esc(String(s.n ?? "?"))}; sign mode of the posterior (Eq. S5): ${esc(String(s.sign_mode ?? "?"))}, flipped fraction ${fmtValue(s.sign_flipped_fraction ?? null)}, mean posterior confidence ${fmtValue(s.sign_posterior_confidence ?? null)}. Analysis of epoch ${a.epoch}, computed ${esc(String(a.created))}.</p>`,
  );
  const r = isJsonObject(a.results) ? a.results : {};
  const mi = r.mi;
  if (isJsonObject(mi) && isJsonObject(mi.latent) && isJsonObject(mi.physical)) {
    out.push(
      `<table><tr><th>KSG MI (nats, k = ${esc(String(mi.k))}, n = ${esc(String(mi.samples))})</th><th>mean off-diagonal</th><th>nearest neighbours</th><th>max</th></tr>`,
    );
    for (const [name, v] of [
      ["latent z (Fig. 4b)", mi.latent],
      ["physical x (Fig. 4c)", mi.physical],
    ] as const) {
      out.push(
        `<tr><td>${name}</td><td class="num">${fmtValue(v.mean_off_diagonal ?? null)}</td><td class="num">${fmtValue(v.mean_nearest_neighbour ?? null)}</td><td class="num">${fmtValue(v.max ?? null)}</td></tr>`,
      );
    }
    out.push(
      `</table><p>Ratio of mean off-diagonal MI, latent / physical: <b>${fmtValue(mi.ratio_mean_latent_to_physical ?? null)}</b>.</p>`,
    );
  }
  const resp = r.response;
  if (isJsonObject(resp) && Array.isArray(resp.latents)) {
    out.push(
      `<table><tr><th>latent</th><th>scale</th><th>Σⱼ E[∂z/∂xⱼ]</th><th>Σⱼ |E[∂z/∂xⱼ]|</th><th>centre (i, j)</th><th>share in L/2 box</th><th>‖std‖/‖mean‖</th></tr>`,
    );
    for (const q of resp.latents) {
      if (!isJsonObject(q)) continue;
      const c = Array.isArray(q.centre)
        ? q.centre.map((v) => (typeof v === "number" ? v.toFixed(2) : "?")).join(", ")
        : "?";
      out.push(
        `<tr><td>z(${esc(String(q.i))},${esc(String(q.j))})</td><td class="num">${esc(String(q.scale))}</td><td class="num">${fmtValue(q.total ?? null)}</td><td class="num">${fmtValue(q.l1 ?? null)}</td><td class="num">${c}</td><td class="num">${fmtValue(q.locality ?? null)}</td><td class="num">${fmtValue(q.nonlinearity ?? null)}</td></tr>`,
      );
    }
    out.push(`</table>`);
  }
  return out.join("\n");
}
