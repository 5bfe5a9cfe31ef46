/**
 * The results of a sampling run (drivers.ts) as files in the run directory:
 *
 *   samples/<method>.json        summary: acceptance, observables ± error (τ_int, binning,
 *                                chain spread), τ_int, ESS, R̂, exact values where known;
 *                                for iw also −ln Ẑ ± error, ESS and the variational F
 *   samples/<method>-trace.csv   per step: mean acceptance, step size, chain-averaged observables
 *                                (iw: per sample: log-weight and observables)
 *   samples/<method>-states.json final states of all chains (MCMC methods)
 *   plots/<method>-trace.svg|png trace of the main observable with the exact value as a line
 *                                (iw: running −ln Ẑ against the exact −ln Z and F)
 *
 * and the side-by-side comparison of latent and physical HMC (samples/hmc-compare.*).
 */
import type { Real } from "../engine/real.ts";
import type { MeanEstimate } from "../engine/stats.ts";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import type { JsonObject } from "../io/json.ts";
import { formatMetrics, type MetricsRow } from "../io/metrics.ts";
import { plotPath } from "../io/rundir.ts";
import { linePlot, writePlot } from "../present/plot.ts";
import { deviationSigma, type ChainRun, type IwRun, type LoadedRun } from "./drivers.ts";
import { importanceFromLogWeights } from "./importance.ts";
import { paretoVerdict } from "./pareto.ts";

/** JSON-safe number (NaN/±∞ → null). */
export function jnum(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? x : null;
}

export function estimateJson(e: MeanEstimate, exact: number | null, exactError: number | null = null): JsonObject {
  return {
    mean: jnum(e.mean),
    error: jnum(e.error),
    bin_error: jnum(e.binError),
    binning_converged: e.binningConverged,
    chain_error: jnum(e.chainError),
    naive_error: jnum(e.naiveError),
    tau_int: jnum(e.tau.tau),
    tau_int_error: jnum(e.tau.tauErr),
    tau_window: e.tau.window,
    tau_reliable: e.tau.reliable,
    ess: jnum(e.ess),
    rhat: jnum(e.rhat),
    drift_z: jnum(e.drift),
    exact: jnum(exact),
    exact_error: jnum(exactError),
    deviation_sigma: jnum(deviationSigma(e.mean, e.error, exact, exactError)),
    thermalised: isThermalised(e),
  };
}

/** Heuristic: τ_int window found, R̂ < 1.1 and no drift between the halves (|z| < 3). */
export function isThermalised(e: MeanEstimate): boolean {
  return e.tau.reliable && !(e.rhat >= 1.1) && !(Math.abs(e.drift) >= 3);
}

export function chainRunJson(loaded: LoadedRun, r: ChainRun, extra: JsonObject = {}): JsonObject {
  const obs: JsonObject = {};
  for (const k of loaded.observables.names) {
    const e = r.summary[k];
    if (e) obs[k] = estimateJson(e, loaded.observables.exact[k] ?? null, loaded.observables.exactError[k] ?? null);
  }
  return {
    method: r.method,
    run: loaded.run.dir,
    checkpoint_epoch: loaded.run.epoch,
    target: { ...loaded.target.config } as JsonObject,
    symmetrize: loaded.symmetrize,
    chains: r.nchains,
    steps: r.steps,
    warmup: r.warmup,
    acceptance: jnum(r.acceptance),
    ...(r.proposalParetoK !== null
      ? { proposal_pareto_k: jnum(r.proposalParetoK), proposal_pareto_verdict: paretoVerdict(r.proposalParetoK) }
      : {}),
    mean_accept_prob: jnum(r.meanAcceptProb),
    step_size: jnum(r.stepSize),
    seconds: r.seconds,
    exact_source: loaded.observables.exactSource,
    observables: obs,
    ...extra,
  };
}

export function traceRows(loaded: LoadedRun, r: ChainRun): { columns: string[]; rows: MetricsRow[] } {
  const names = loaded.observables.names;
  const avg: Record<string, Float64Array> = {};
  for (const k of names) avg[k] = r.trace.chainAverage(k);
  const columns = ["step", "warmup", "accept", ...(r.stepSizeTrace ? ["step_size"] : []), ...names];
  const rows: MetricsRow[] = [];
  for (let t = 0; t < r.trace.nsteps; t++) {
    const row: MetricsRow = { step: t, warmup: t < r.warmup ? 1 : 0, accept: r.acceptTrace[t] };
    if (r.stepSizeTrace) row.step_size = r.stepSizeTrace[t];
    for (const k of names) row[k] = avg[k][t];
    rows.push(row);
  }
  return { columns, rows };
}

export function statesJson(L: number, nchains: number, x: Real): JsonObject {
  const N = L * L;
  const rows: number[][] = [];
  for (let c = 0; c < nchains; c++) rows.push(Array.from(x.subarray(c * N, (c + 1) * N)));
  return { L, chains: nchains, layout: "row b = chain b, site (i, j) at i*L + j", x: rows };
}

/**
 * Run-directory files of an importance-weighting run named `name` (samples/<name>.json,
 * samples/<name>-trace.csv, plots/<name>-trace.svg|png); returns the summary.
 */
export async function writeImportanceResults(
  loaded: LoadedRun,
  r: IwRun,
  name: string,
  o: { n: number; seed: number },
): Promise<JsonObject> {
  const { run } = loaded;
  const exact = loaded.target.exactNegLogZ ?? null;
  const obs: JsonObject = {};
  for (const k of loaded.observables.names) {
    const ex = loaded.observables.exact[k] ?? null;
    const exErr = loaded.observables.exactError[k] ?? null;
    const v = r.observables[k];
    obs[k] = {
      mean: jnum(v.mean),
      error: jnum(v.error),
      exact: jnum(ex),
      exact_error: jnum(exErr),
      deviation_sigma: jnum(deviationSigma(v.mean, v.error, ex, exErr)),
    };
  }
  const e = r.estimate;
  const summary: JsonObject = {
    method: "iw",
    run: run.dir,
    checkpoint_epoch: run.epoch,
    target: { ...loaded.target.config } as JsonObject,
    symmetrize: loaded.symmetrize,
    n: o.n,
    seed: o.seed,
    seconds: r.seconds,
    neg_log_z: jnum(e.negLogZ),
    neg_log_z_error: jnum(e.error),
    neg_log_z_bin_error: jnum(e.binError),
    neg_log_z_bias_estimate: jnum(e.bias),
    exact_neg_log_z: jnum(exact),
    deviation_sigma: exact !== null && e.error > 0 ? jnum((e.negLogZ - exact) / e.error) : null,
    ess: jnum(e.ess),
    ess_fraction: jnum(e.essFraction),
    max_weight_fraction: jnum(e.maxWeightFraction),
    pareto_k: jnum(e.paretoK),
    pareto_verdict: paretoVerdict(e.paretoK),
    variational_f: jnum(e.variationalF),
    variational_f_error: jnum(e.variationalFError),
    exact_source: loaded.observables.exactSource,
    observables: obs,
  };
  writeJsonAtomic(`${run.paths.samples}/${name}.json`, summary);
  const cols = ["index", "log_w", ...loaded.observables.names];
  const rows: MetricsRow[] = [];
  for (let i = 0; i < o.n; i++) {
    const row: MetricsRow = { index: i, log_w: r.logW[i] };
    for (const k of loaded.observables.names) row[k] = r.values[k][i];
    rows.push(row);
  }
  writeFileAtomic(`${run.paths.samples}/${name}-trace.csv`, formatMetrics(cols, rows));
  await writeIwPlot(loaded, r, `${plotPath(run.paths, `${name}-trace`, "svg").replace(/\.svg$/, "")}`);
  return summary;
}

/**
 * Run-directory files of an MCMC run named `name` (samples/<name>.json, samples/<name>-trace.csv,
 * samples/<name>-states.json, plots/<name>-trace.svg|png); `extra` is appended to the summary,
 * which is returned.
 */
export async function writeChainResults(
  loaded: LoadedRun,
  r: ChainRun,
  name: string,
  extra: JsonObject = {},
): Promise<JsonObject> {
  const { run } = loaded;
  const summary = chainRunJson(loaded, r, extra);
  writeJsonAtomic(`${run.paths.samples}/${name}.json`, summary);
  const { columns, rows } = traceRows(loaded, r);
  writeFileAtomic(`${run.paths.samples}/${name}-trace.csv`, formatMetrics(columns, rows));
  writeJsonAtomic(`${run.paths.samples}/${name}-states.json`, statesJson(run.config.flow.L, r.nchains, r.finalX));
  await writeTracePlot(
    loaded,
    [{ name: r.method, run: r }],
    plotPath(run.paths, `${name}-trace`, "svg").replace(/\.svg$/, ""),
  );
  return summary;
}

/**
 * Latent and physical HMC side by side with the same settings (v1 Fig. 3b): samples/hmc-compare.json
 * (`common` settings and both summaries), samples/hmc-compare-trace.csv and plots/hmc-compare.svg|png;
 * returns the summary.
 */
export async function writeHmcComparison(
  loaded: LoadedRun,
  latent: ChainRun,
  physical: ChainRun,
  common: JsonObject,
): Promise<JsonObject> {
  const { run } = loaded;
  const summary: JsonObject = {
    run: run.dir,
    checkpoint_epoch: run.epoch,
    ...common,
    latent: chainRunJson(loaded, latent),
    physical: chainRunJson(loaded, physical),
  };
  writeJsonAtomic(`${run.paths.samples}/hmc-compare.json`, summary);
  writeFileAtomic(`${run.paths.samples}/hmc-compare-trace.csv`, compareCsv(loaded.observables.names, latent, physical));
  const plot = plotPath(run.paths, "hmc-compare", "svg");
  await writeTracePlot(
    loaded,
    [
      { name: "latent HMC", run: latent },
      { name: "physical HMC", run: physical },
    ],
    plot.replace(/\.svg$/, ""),
  );
  return summary;
}

function compareCsv(names: readonly string[], latent: ChainRun, physical: ChainRun): string {
  const la: Record<string, Float64Array> = {};
  const ph: Record<string, Float64Array> = {};
  for (const k of names) {
    la[k] = latent.trace.chainAverage(k);
    ph[k] = physical.trace.chainAverage(k);
  }
  const columns = [
    "step",
    "warmup",
    "latent_accept",
    "physical_accept",
    ...names.map((k) => `latent_${k}`),
    ...names.map((k) => `physical_${k}`),
  ];
  const rows: MetricsRow[] = [];
  for (let t = 0; t < latent.trace.nsteps; t++) {
    const row: MetricsRow = {
      step: t,
      warmup: t < latent.warmup ? 1 : 0,
      latent_accept: latent.acceptTrace[t],
      physical_accept: physical.acceptTrace[t],
    };
    for (const k of names) {
      row[`latent_${k}`] = la[k][t];
      row[`physical_${k}`] = ph[k][t];
    }
    rows.push(row);
  }
  return formatMetrics(columns, rows);
}

/** Trace of the main observable (chain average per step) for one or more runs, exact value as a line. */
export async function writeTracePlot(
  loaded: LoadedRun,
  runs: { name: string; run: ChainRun }[],
  base: string,
): Promise<void> {
  const k = loaded.observables.main;
  const ex = loaded.observables.exact[k];
  const series = runs.map(({ name, run }) => {
    const avg = run.trace.chainAverage(k);
    // ±1 standard error of the chain average at each step (spread over chains / √chains)
    const err = new Float64Array(avg.length);
    const v = run.trace.values(k);
    for (let t = 0; t < avg.length; t++) {
      let s = 0;
      for (let c = 0; c < run.nchains; c++) s += (v[t * run.nchains + c] - avg[t]) ** 2;
      err[t] = run.nchains > 1 ? Math.sqrt(s / (run.nchains - 1) / run.nchains) : 0;
    }
    return { name, x: Float64Array.from({ length: avg.length }, (_, t) => t), y: avg, yErr: err };
  });
  const cfg = loaded.target.config;
  const svg = await linePlot({
    series,
    title: `${k} per step, ${String(cfg.kind)} L=${loaded.target.L}${cfg.T !== undefined ? ` T=${Number(cfg.T).toFixed(4)}` : ""}, ${runs[0].run.nchains} chains`,
    xTitle: "step",
    yTitle: k === "S" ? "S = Σ s_i s_j / N²" : k,
    rules:
      ex !== null && ex !== undefined
        ? [{ y: ex, label: `${loaded.observables.exactError[k] ? "reference" : "exact"} ${ex.toPrecision(6)}` }]
        : [],
  });
  writePlot(base, svg, { png: true });
}

async function writeIwPlot(loaded: LoadedRun, r: IwRun, base: string): Promise<void> {
  const n = r.logW.length;
  const points = Math.min(200, n);
  const xs: number[] = [];
  const ys: number[] = [];
  const es: number[] = [];
  const fs: number[] = [];
  for (let p = 1; p <= points; p++) {
    const m = Math.max(2, Math.round((p * n) / points));
    const e = importanceFromLogWeights(r.logW.subarray(0, m), { batchSize: Math.max(1, Math.floor(m / 32)) });
    xs.push(m);
    ys.push(e.negLogZ);
    es.push(e.error);
    fs.push(e.variationalF);
  }
  const exact = loaded.target.exactNegLogZ;
  const svg = await linePlot({
    series: [
      { name: "−ln Ẑ (IW)", x: xs, y: ys, yErr: es },
      { name: "F (variational)", x: xs, y: fs },
    ],
    title: `Importance-weighted free energy vs samples, ${String(loaded.target.config.kind)} L=${loaded.target.L}`,
    xTitle: "samples",
    yTitle: "free energy",
    logX: true,
    rules: exact !== undefined ? [{ y: exact, label: `exact −ln Z ${exact.toPrecision(8)}` }] : [],
  });
  writePlot(base, svg, { png: true });
}
