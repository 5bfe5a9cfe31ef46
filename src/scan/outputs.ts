/**
 * The figures and tables a scan writes once its points are done: Fig. S1 (relative error per
 * temperature and depth), Fig. S2 (samples per point), scan.csv and scan-mean.csv.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Real } from "../engine/real.ts";
import { alloc } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { generate } from "../flow/flow.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writePlot } from "../present/plot.ts";
import { runPaths } from "../io/rundir.ts";
import { loadTrainedRun } from "../train/run.ts";
import { T_CRITICAL } from "../targets/kaufman.ts";
import { relErrPlot, sampleGridPlot, type SampleGridCell } from "./figures.ts";
import type { ScanPoint } from "./plan.ts";
import { aggregateSeeds, formatMeanCsv, formatScanCsv, type ScanRow } from "./table.ts";

/** A few configurations x = g(z) of a trained point (sign-flipped at random for q_sym), as tanh x. */
function pointSamples(p: ScanPoint, count: number, seed: number): SampleGridCell | null {
  if (!existsSync(runPaths(p.dir).checkpoint)) return null;
  const run = loadTrainedRun(p.dir);
  const N = run.model.nvars;
  const rng = Rng.fromSeed(seed);
  const z: Real = alloc(run.config.dtype, count * N);
  rng.fillNormal(z);
  const { x } = generate(run.model, run.params, z, count);
  const images: Float64Array[] = [];
  for (let b = 0; b < count; b++) {
    const sign = run.config.symmetrize && rng.uniform() < 0.5 ? -1 : 1;
    images.push(Float64Array.from(x.subarray(b * N, (b + 1) * N), (v) => Math.tanh(sign * v)));
  }
  return { images };
}

/** Write scan.csv and the two figures from what is on disk; returns the figure paths. */
export async function writeScanOutputs(
  dir: string,
  points: ScanPoint[],
  rows: ScanRow[],
  opts: { gridSamples?: number; gridSeed?: number } = {},
): Promise<{ csv: string; figures: string[]; meanCsv?: string }> {
  const root = resolve(dir);
  const seeded = points.some((p) => p.seed !== undefined);
  const csv = join(root, "scan.csv");
  writeFileAtomic(csv, formatScanCsv(rows, seeded));
  const meanCsv = seeded ? join(root, "scan-mean.csv") : undefined;
  if (meanCsv) writeFileAtomic(meanCsv, formatMeanCsv(rows));
  const figures: string[] = [];
  const withResult = rows.filter((r) => Number.isFinite(r.rel_err));
  if (withResult.length === 0) return { csv, figures, ...(meanCsv ? { meanCsv } : {}) };
  const L = points[0].config.flow.L;
  const layout = points[0].config.flow.layout;
  const title = `Relative error of the variational free energy, ${L}×${L} relaxed Ising, ${layout}`;
  const nSeeds = new Set(points.map((p) => p.seed)).size;
  const svg1 = seeded
    ? await relErrPlot(
        aggregateSeeds(rows)
          .filter((a) => a.stats.n > 0)
          .map((a) => ({ T: a.T, depth: a.depth, relErr: a.stats.mean, relErrStdErr: a.stats.sem })),
        {
          Tc: T_CRITICAL,
          title,
          subtitle: `mean over ${nSeeds} seeds; error bars: standard error of the mean (spread across seeds)`,
        },
      )
    : await relErrPlot(
        withResult.map((r) => ({
          T: r.point.T,
          depth: r.point.depth,
          relErr: r.rel_err,
          relErrStdErr: r.F_stderr / Math.abs(r.exact),
        })),
        { Tc: T_CRITICAL, title },
      );
  figures.push(...writePlot(join(root, "relerr-vs-T"), svg1));
  const perCell = opts.gridSamples ?? 1;
  if (perCell > 0) {
    const labels = [...new Set(points.map((p) => p.label))];
    const depths = [...new Set(points.map((p) => p.depth))].sort((a, b) => a - b);
    // over several seeds: the runs of the lowest seed
    const firstSeed = seeded ? Math.min(...points.map((p) => p.seed ?? Infinity)) : undefined;
    const cells = depths.map((d) =>
      labels.map((lab) => {
        const p = points.find((q) => q.label === lab && q.depth === d && q.seed === firstSeed);
        return p ? pointSamples(p, perCell, opts.gridSeed ?? 1) : null;
      }),
    );
    const svg2 = sampleGridPlot({
      cells,
      rowLabels: depths.map((d) => `depth ${d}`),
      colLabels: labels.map((l) => `T = ${l}`),
      L,
      perCell,
      title: `Generated configurations, tanh(x), ${L}×${L}${seeded ? `, runs of seed ${firstSeed}` : ""}`,
    });
    figures.push(...writePlot(join(root, "samples"), svg2));
  }
  return { csv, figures, ...(meanCsv ? { meanCsv } : {}) };
}
