/**
 * The tables of a scan: scan.csv (one row per point), scan-mean.csv (means over seeds) and the
 * best depth per temperature.
 */
import { formatNumber } from "../io/metrics.ts";
import { seedStats, type SeedStats } from "./aggregate.ts";
import type { ScanPoint } from "./plan.ts";

export const SCAN_CSV_COLUMNS = ["T", "depth", "epochs", "F", "F_stderr", "exact", "rel_err", "seconds"] as const;
/** scan.csv of a scan over several seeds: one row per run. */
export const SCAN_SEEDS_CSV_COLUMNS = [
  "T",
  "depth",
  "seed",
  "epochs",
  "F",
  "F_stderr",
  "exact",
  "rel_err",
  "seconds",
] as const;
/** scan-mean.csv: per (T, depth), statistics over the seeds (aggregate.ts). */
export const SCAN_MEAN_CSV_COLUMNS = [
  "T",
  "depth",
  "seeds",
  "stopped",
  "rel_err_mean",
  "rel_err_sem",
  "rel_err_sd",
  "best_seed",
  "best_rel_err",
  "exact",
] as const;

export type PointStatus = "done" | "partial" | "new" | "failed";

export interface ScanRow {
  point: ScanPoint;
  status: PointStatus;
  /** epochs of the stored summary (NaN without one) */
  epochs: number;
  F: number;
  F_stderr: number;
  exact: number;
  rel_err: number;
  /** training wall time summed over the epochs in metrics.csv */
  seconds: number;
  error?: string;
}

/** True when the rows are those of a scan over several seeds. */
export function hasSeeds(rows: readonly ScanRow[]): boolean {
  return rows.some((r) => r.point.seed !== undefined);
}

/** scan.csv text: one line per point that has a summary (with a seed column in a scan over several seeds). */
export function formatScanCsv(rows: ScanRow[], seeded = hasSeeds(rows)): string {
  let out = (seeded ? SCAN_SEEDS_CSV_COLUMNS : SCAN_CSV_COLUMNS).join(",") + "\n";
  for (const r of rows) {
    if (!Number.isFinite(r.epochs)) continue;
    const key = [
      r.point.label,
      String(r.point.depth),
      ...(seeded ? [String(r.point.seed ?? r.point.config.seed)] : []),
    ];
    out += [...key, ...[r.epochs, r.F, r.F_stderr, r.exact, r.rel_err, r.seconds].map(formatNumber)].join(",") + "\n";
  }
  return out;
}

/** Statistics over the seeds of one (T, depth) of a scan. */
export interface SeedAggregate {
  label: string;
  T: number;
  depth: number;
  /** seeds of the scan at this (T, depth), finished or not */
  seeds: number[];
  stats: SeedStats;
  /** seeds in the mean whose run stopped before its requested epochs (time budget, interruption) */
  stopped: number;
  /** exact free energy (NaN when no run has one) */
  exact: number;
}

/** Per (T, depth), in the rows' order: mean relative error over the seeds, its standard error across seeds, the best seed. */
export function aggregateSeeds(rows: readonly ScanRow[]): SeedAggregate[] {
  const groups = new Map<string, ScanRow[]>();
  for (const r of rows) {
    const key = `${r.point.label}\u0000${r.point.depth}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.values()].map((list) => {
    const p = list[0].point;
    const runs = list.map((r) => ({
      seed: r.point.seed ?? r.point.config.seed,
      relErr: r.rel_err,
      relErrStdErr: r.F_stderr / Math.abs(r.exact),
    }));
    const exact = list.find((r) => Number.isFinite(r.exact))?.exact ?? Number.NaN;
    const stopped = list.filter((r) => r.status !== "done" && Number.isFinite(r.rel_err)).length;
    return {
      label: p.label,
      T: p.T,
      depth: p.depth,
      seeds: runs.map((r) => r.seed),
      stats: seedStats(runs),
      stopped,
      exact,
    };
  });
}

/** scan-mean.csv text: one line per (T, depth) with at least one finished seed. */
export function formatMeanCsv(rows: ScanRow[]): string {
  let out = SCAN_MEAN_CSV_COLUMNS.join(",") + "\n";
  for (const a of aggregateSeeds(rows)) {
    if (a.stats.n === 0) continue;
    const s = a.stats;
    out +=
      [
        a.label,
        String(a.depth),
        String(s.n),
        String(a.stopped),
        ...[s.mean, s.sem, s.sd].map(formatNumber),
        String(s.best!.seed),
        formatNumber(s.best!.relErr),
        formatNumber(a.exact),
      ].join(",") + "\n";
  }
  return out;
}

export interface BestDepth {
  label: string;
  T: number;
  depth: number;
  /** relative error of that depth: over several seeds, the mean over its finished seeds */
  relErr: number;
  /** its standard error: of F on fresh samples over |exact|, or over several seeds, of the mean across seeds */
  relErrStdErr: number;
  /** over several seeds: the number of finished seeds behind the mean */
  seeds?: number;
}

/** For each temperature, the depth with the lowest mean over the seeds (aggregateSeeds) among those with a finished seed. */
export function bestMeanDepths(agg: readonly SeedAggregate[]): BestDepth[] {
  const out = new Map<string, BestDepth>();
  for (const a of agg) {
    if (a.stats.n === 0) continue;
    const prev = out.get(a.label);
    if (!prev || a.stats.mean < prev.relErr)
      out.set(a.label, {
        label: a.label,
        T: a.T,
        depth: a.depth,
        relErr: a.stats.mean,
        relErrStdErr: a.stats.sem,
        seeds: a.stats.n,
      });
  }
  return [...out.values()].sort((a, b) => a.T - b.T);
}

/**
 * For each temperature, the depth with the lowest relative error among points with a result;
 * in a scan over several seeds, the lowest mean over the seeds.
 */
export function bestDepths(rows: ScanRow[]): BestDepth[] {
  if (hasSeeds(rows)) return bestMeanDepths(aggregateSeeds(rows));
  const byT = new Map<string, ScanRow[]>();
  for (const r of rows) {
    if (!Number.isFinite(r.rel_err)) continue;
    const list = byT.get(r.point.label) ?? [];
    list.push(r);
    byT.set(r.point.label, list);
  }
  const out = [];
  for (const [label, list] of byT) {
    const best = list.reduce((a, b) => (b.rel_err < a.rel_err ? b : a));
    out.push({
      label,
      T: best.point.T,
      depth: best.point.depth,
      relErr: best.rel_err,
      relErrStdErr: best.F_stderr / Math.abs(best.exact),
    });
  }
  return out.sort((a, b) => a.T - b.T);
}
