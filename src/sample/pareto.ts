/**
 * Pareto-k̂ diagnostic of importance weights (Vehtari, Simpson, Gelman, Yao & Gabry, "Pareto
 * smoothed importance sampling", JMLR 2024). The largest M = ⌈min(n/5, 3√n)⌉ weights are fitted
 * by a generalized Pareto distribution above the (M+1)-th largest weight; its shape k̂ measures
 * how heavy the tail of w = π/q is under q:
 *   k̂ < 0.5        the variance of w is finite: the delta-method error bar of −ln Ẑ is usable;
 *   0.5 ≤ k̂ ≤ 0.7  finite mean, infinite variance: the estimate converges slowly, error bars
 *                   are too small;
 *   k̂ > 0.7        the estimate (and any error bar computed from the same weights) is not
 *                   trustworthy at this sample size.
 * A flow trained by reverse KL is mode-seeking, so q typically misses part of π's mass and the
 * weights are heavy-tailed exactly when it matters; k̂ says so from the weights themselves.
 *
 * The fit is the Zhang & Stephens (2009, Technometrics 51:316) empirical-Bayes estimator with
 * the weakly informative adjustment toward 0.5 used by PSIS.
 */

/**
 * Fewest tail weights PSIS fits (loo's enough_tail_samples, posterior's ps_tail): with fewer, the
 * estimate is dominated by the prior's pull toward 0.5 and says nothing about the tail (n < 21).
 */
export const PARETO_MIN_TAIL = 5;

/** Tail size used by PSIS for n draws. */
export function paretoTailSize(n: number): number {
  return Math.ceil(Math.min(0.2 * n, 3 * Math.sqrt(n)));
}

/**
 * Shape k̂ of a generalized Pareto fit to positive exceedances `x` (any order). Returns −∞ when all
 * exceedances are zero (a bounded tail: e.g. constant weights).
 */
export function gpdShape(exceedances: ArrayLike<number>): number {
  const x = Float64Array.from(exceedances).sort();
  const n = x.length;
  if (n < 2) throw new RangeError(`gpdShape needs at least 2 exceedances, got ${n}`);
  for (let i = 0; i < n; i++) {
    if (!(x[i] >= 0) || !Number.isFinite(x[i]))
      throw new RangeError(`exceedance ${x[i]} is invalid: exceedances must be finite and ≥ 0`);
  }
  const xmax = x[n - 1];
  if (xmax === 0) return -Infinity;
  const prior = 3;
  const m = 30 + Math.floor(Math.sqrt(n));
  const xstar = x[Math.floor(n / 4 + 0.5) - 1]; // first quartile
  const theta = new Float64Array(m);
  const logLik = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    theta[j] = 1 / xmax + (1 - Math.sqrt(m / (j + 0.5))) / prior / (xstar > 0 ? xstar : xmax);
    // profile log-likelihood of θ: n [ln(−θ/k) − k − 1], k = mean ln(1 − θ x)
    let k = 0;
    for (let i = 0; i < n; i++) k += Math.log1p(-theta[j] * x[i]);
    k /= n;
    logLik[j] = n * (Math.log(-theta[j] / k) - k - 1);
  }
  // posterior mean of θ on the grid
  let lmax = -Infinity;
  for (let j = 0; j < m; j++) if (logLik[j] > lmax) lmax = logLik[j];
  let wsum = 0;
  let thetaHat = 0;
  for (let j = 0; j < m; j++) {
    const w = Number.isFinite(logLik[j]) ? Math.exp(logLik[j] - lmax) : 0;
    wsum += w;
    thetaHat += w * theta[j];
  }
  thetaHat /= wsum;
  let k = 0;
  for (let i = 0; i < n; i++) k += Math.log1p(-thetaHat * x[i]);
  k /= n;
  // weakly informative prior pulling k toward 0.5 with weight a = 10 (PSIS)
  const a = 10;
  return (k * n) / (n + a) + (a * 0.5) / (n + a);
}

/**
 * Pareto k̂ of importance weights given as log-weights (scale-free: only ratios of weights matter);
 * NaN log-weights are ignored; NaN when the tail would hold fewer than PARETO_MIN_TAIL weights,
 * +∞ when a weight is infinite.
 */
export function paretoK(logW: ArrayLike<number>): number {
  // a NaN log-weight (an undefined weight, e.g. both densities zero) carries no tail information
  const sorted = Float64Array.from(logW)
    .filter((v) => !Number.isNaN(v))
    .sort();
  const n = sorted.length;
  const m = paretoTailSize(n);
  if (m < PARETO_MIN_TAIL || n <= m) return NaN;
  const top = sorted[n - 1];
  if (top === -Infinity) return NaN;
  // an infinite weight (q = 0 where π > 0): no finite tail fit, the heaviest tail there is
  if (top === Infinity) return Infinity;
  const threshold = Math.exp(sorted[n - m - 1] - top);
  const ex = new Float64Array(m);
  for (let i = 0; i < m; i++) ex[i] = Math.max(0, Math.exp(sorted[n - m + i] - top) - threshold);
  return gpdShape(ex);
}

/** The verdict printed next to an importance-weighted estimate. */
export function paretoVerdict(k: number): "good" | "slow" | "unreliable" | "n/a" {
  if (Number.isNaN(k)) return "n/a";
  if (k < 0.5) return "good";
  if (k <= 0.7) return "slow";
  return "unreliable";
}
