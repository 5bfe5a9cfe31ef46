/**
 * Seeds of a scan: statistics over the runs of one (T, depth) point that differ only in their
 * seed. The relative error of a point is the mean over its finished seeds, with the standard
 * error of that mean from the spread across seeds, s/√n (s the sample standard deviation,
 * n − 1 in the denominator; undefined for one seed). The best seed (lowest relative error) is
 * reported alongside, labelled as such: it is a selected run, not an estimate of the point.
 */
import { meanStdErr } from "../engine/math.ts";

/** One run's result, as far as the statistics over seeds need it. */
export interface SeedRun {
  seed: number;
  relErr: number;
  /** the run's own standard error of relErr (F_stderr / |exact|) */
  relErrStdErr: number;
}

export interface SeedStats {
  /** runs with a finite relative error */
  n: number;
  /** mean relative error over those runs (NaN for none) */
  mean: number;
  /** standard error of the mean, s/√n over the seeds (NaN for fewer than two) */
  sem: number;
  /** sample standard deviation across seeds (NaN for fewer than two) */
  sd: number;
  /** the run with the lowest relative error (lowest seed on ties), or null for none */
  best: SeedRun | null;
}

/** Mean, standard error of the mean across seeds and best seed of some runs (see the module comment). */
export function seedStats(runs: readonly SeedRun[]): SeedStats {
  const ok = runs.filter((r) => Number.isFinite(r.relErr));
  const n = ok.length;
  if (n === 0) return { n, mean: Number.NaN, sem: Number.NaN, sd: Number.NaN, best: null };
  const { mean, std, stdErr: sem } = meanStdErr(ok.map((r) => r.relErr));
  const sd = n > 1 ? std : Number.NaN;
  const best = ok.reduce((a, b) => (b.relErr < a.relErr || (b.relErr === a.relErr && b.seed < a.seed) ? b : a));
  return { n, mean, sem, sd, best };
}
