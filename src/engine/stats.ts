/**
 * Error analysis of Monte Carlo time series (pure functions, float64).
 *
 * Conventions
 * - A single series is an `ArrayLike<number>` in time order.
 * - Many parallel chains are a `Chains` value: `data[c * nsteps + t]` is step t of chain c
 *   (chain-major, "chains × steps"). `chainsFromSteps` transposes the step-major layout that
 *   samplers naturally produce (one batch row of chains per step).
 * - The integrated autocorrelation time is τ_int = 1 + 2 Σ_{t≥1} ρ(t), so that
 *   var(mean) = σ² τ_int / n and the effective sample size is n / τ_int; an AR(1) process
 *   x_t = ρ x_{t−1} + ε_t has τ_int = (1 + ρ)/(1 − ρ).
 * - τ_int uses the self-consistent window of Sokal / Madras & Sokal (J. Stat. Phys. 50, 109
 *   (1988)): the smallest W with W ≥ c·τ(W), c = 5 by default; its statistical error is
 *   σ(τ) ≈ τ √(2(2W + 1)/n).
 * - Binning (Flyvbjerg–Petersen): bins of 1, 2, 4, … steps; the error of the mean from bin
 *   means grows and levels off at the true error once bins are longer than τ_int.
 */

/** Many parallel chains of equal length: data[c * nsteps + t]. */
export interface Chains {
  readonly data: ArrayLike<number>;
  readonly nchains: number;
  readonly nsteps: number;
}

function checkChains(c: Chains): void {
  if (!Number.isInteger(c.nchains) || !Number.isInteger(c.nsteps) || c.nchains < 1 || c.nsteps < 1) {
    throw new RangeError(`chains: nchains = ${c.nchains}, nsteps = ${c.nsteps} must be positive integers`);
  }
  if (c.data.length !== c.nchains * c.nsteps) {
    throw new RangeError(
      `chains: data has ${c.data.length} values, expected nchains × nsteps = ${c.nchains} × ${c.nsteps}`,
    );
  }
}

/** A single series viewed as one chain. */
export function asChains(series: ArrayLike<number>): Chains {
  return { data: series, nchains: 1, nsteps: series.length };
}

/**
 * Transpose step-major values (`steps[t * nchains + c]`, as samplers record one batch per step)
 * into chain-major `Chains`, optionally dropping the first `discard` steps (thermalisation).
 */
export function chainsFromSteps(steps: ArrayLike<number>, nsteps: number, nchains: number, discard = 0): Chains {
  if (steps.length !== nsteps * nchains) {
    throw new RangeError(`chainsFromSteps: ${steps.length} values, expected nsteps × nchains = ${nsteps} × ${nchains}`);
  }
  if (!Number.isInteger(discard) || discard < 0 || discard >= nsteps) {
    throw new RangeError(`chainsFromSteps: discard = ${discard} must be an integer in 0..${nsteps - 1}`);
  }
  const n = nsteps - discard;
  const data = new Float64Array(nchains * n);
  for (let c = 0; c < nchains; c++) for (let t = 0; t < n; t++) data[c * n + t] = steps[(t + discard) * nchains + c];
  return { data, nchains, nsteps: n };
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Unbiased sample variance (n − 1 in the denominator); NaN for n < 2. */
export function variance(a: ArrayLike<number>): number {
  const n = a.length;
  if (n < 2) return NaN;
  const m = mean(a);
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - m) ** 2;
  return v / (n - 1);
}

// ----------------------------------------------------------------------------------------------
// FFT (radix-2, in place) for autocovariances in O(n log n).

function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      const h = len >> 1;
      for (let k = 0; k < h; k++) {
        const ar = re[i + k + h] * cr - im[i + k + h] * ci;
        const ai = re[i + k + h] * ci + im[i + k + h] * cr;
        re[i + k + h] = re[i + k] - ar;
        im[i + k + h] = im[i + k] - ai;
        re[i + k] += ar;
        im[i + k] += ai;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inverse)
    for (let i = 0; i < n; i++) {
      re[i] /= n;
      im[i] /= n;
    }
}

/**
 * Autocovariance C(t) = ⟨(x_s − x̄)(x_{s+t} − x̄)⟩, t = 0 … nsteps−1, averaged over chains, with
 * x̄ the grand mean over all chains (appropriate for equilibrated chains; unlike per-chain
 * means it is not biased low for short chains). Normalisation 1/(n − t) per lag.
 */
export function autocovariance(chains: Chains): Float64Array {
  checkChains(chains);
  const { data, nchains, nsteps: n } = chains;
  const m = mean(data);
  let size = 1;
  while (size < 2 * n) size <<= 1;
  const acc = new Float64Array(n);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let c = 0; c < nchains; c++) {
    re.fill(0);
    im.fill(0);
    for (let t = 0; t < n; t++) re[t] = data[c * n + t] - m;
    fft(re, im, false);
    for (let k = 0; k < size; k++) {
      re[k] = re[k] * re[k] + im[k] * im[k];
      im[k] = 0;
    }
    fft(re, im, true);
    for (let t = 0; t < n; t++) acc[t] += re[t];
  }
  for (let t = 0; t < n; t++) acc[t] /= nchains * (n - t);
  return acc;
}

/** Normalised autocorrelation ρ(t) = C(t)/C(0). */
export function autocorrelation(chains: Chains): Float64Array {
  const c = autocovariance(chains);
  const c0 = c[0];
  const out = new Float64Array(c.length);
  for (let t = 0; t < c.length; t++) out[t] = c0 > 0 ? c[t] / c0 : t === 0 ? 1 : 0;
  return out;
}

export interface TauIntResult {
  /** τ_int = 1 + 2 Σ_{t=1}^{W} ρ(t) (≥ 1 is not enforced: anticorrelated series give < 1) */
  tau: number;
  /** Madras–Sokal error τ √(2(2W+1)/n), n = steps per chain × chains */
  tauErr: number;
  /** the self-consistent window W */
  window: number;
  /** false when no window W ≥ c·τ(W) was found below nsteps/`maxWindowFraction` (series too short for its τ) */
  reliable: boolean;
}

export interface TauIntOptions {
  /** Sokal's window constant (default 5) */
  c?: number;
  /** the window may not exceed nsteps / maxWindowFraction (default 4) */
  maxWindowFraction?: number;
}

/** Integrated autocorrelation time with Sokal's automatic windowing, for one series or many chains. */
export function tauInt(series: ArrayLike<number> | Chains, opts: TauIntOptions = {}): TauIntResult {
  const chains = isChains(series) ? series : asChains(series);
  checkChains(chains);
  const c = opts.c ?? 5;
  const frac = opts.maxWindowFraction ?? 4;
  const n = chains.nsteps;
  const ntot = chains.nsteps * chains.nchains;
  if (n < 2) return { tau: 1, tauErr: NaN, window: 0, reliable: false };
  const cov = autocovariance(chains);
  if (!(cov[0] > 0)) return { tau: 1, tauErr: 0, window: 0, reliable: true }; // constant series
  const rho = (t: number) => cov[t] / cov[0];
  const maxW = Math.max(1, Math.floor(n / frac));
  let tau = 1;
  let window = maxW;
  let reliable = false;
  for (let W = 1; W <= maxW; W++) {
    tau += 2 * rho(W);
    if (W >= c * tau) {
      window = W;
      reliable = true;
      break;
    }
  }
  const tauErr = Math.abs(tau) * Math.sqrt((2 * (2 * window + 1)) / ntot);
  return { tau, tauErr, window, reliable };
}

function isChains(x: ArrayLike<number> | Chains): x is Chains {
  return (
    typeof (x as Chains).nchains === "number" &&
    typeof (x as Chains).nsteps === "number" &&
    (x as Chains).data !== undefined
  );
}

// ----------------------------------------------------------------------------------------------
// Binning

export interface BinningLevel {
  /** steps per bin */
  binSize: number;
  /** number of bins (summed over chains) */
  nbins: number;
  /** standard error of the mean estimated from the bin means */
  error: number;
  /** statistical uncertainty of `error`: error / √(2(nbins − 1)) */
  errorOfError: number;
}

export interface BinningResult {
  mean: number;
  levels: BinningLevel[];
  /** the plateau error (the error at `plateauLevel`), or the last level's error when no plateau */
  error: number;
  /** index into `levels` where the plateau starts, −1 when none was detected */
  plateauLevel: number;
  /** true when a plateau with at least one later level agreeing was found */
  converged: boolean;
  /** τ_int estimated from binning: (error / naive error)² */
  tau: number;
}

export interface BinningOptions {
  /** stop doubling when fewer than this many bins remain (default 32) */
  minBins?: number;
  /** agreement tolerance in units of a later level's errorOfError (default 2) */
  tolerance?: number;
}

/**
 * Binning analysis over the time axis of each chain (bins never straddle chains). The plateau is
 * the first level whose error agrees, within `tolerance`·errorOfError, with every later level.
 */
export function binning(series: ArrayLike<number> | Chains, opts: BinningOptions = {}): BinningResult {
  const chains = isChains(series) ? series : asChains(series);
  checkChains(chains);
  const minBins = opts.minBins ?? 32;
  const tol = opts.tolerance ?? 2;
  const { data, nchains, nsteps } = chains;
  const m = mean(data);
  const levels: BinningLevel[] = [];
  for (let size = 1; ; size *= 2) {
    const perChain = Math.floor(nsteps / size);
    const nbins = perChain * nchains;
    if (perChain < 1 || nbins < Math.min(minBins, nchains * nsteps) || nbins < 2) break;
    // Bins are aligned to the end of each chain (the start is the part most likely unequilibrated).
    const off = nsteps - perChain * size;
    let s2 = 0;
    let sb = 0;
    const means = new Float64Array(nbins);
    for (let c = 0; c < nchains; c++) {
      for (let b = 0; b < perChain; b++) {
        let s = 0;
        const start = c * nsteps + off + b * size;
        for (let t = 0; t < size; t++) s += data[start + t];
        means[c * perChain + b] = s / size;
        sb += s / size;
      }
    }
    const bm = sb / nbins;
    for (let k = 0; k < nbins; k++) s2 += (means[k] - bm) ** 2;
    const error = Math.sqrt(s2 / (nbins - 1) / nbins);
    levels.push({ binSize: size, nbins, error, errorOfError: error / Math.sqrt(2 * (nbins - 1)) });
    if (size * 2 > nsteps) break;
  }
  if (levels.length === 0) return { mean: m, levels, error: NaN, plateauLevel: -1, converged: false, tau: NaN };
  let plateau = -1;
  for (let k = 0; k + 1 < levels.length && plateau < 0; k++) {
    let ok = true;
    for (let j = k + 1; j < levels.length; j++) {
      const tolj = tol * Math.hypot(levels[j].errorOfError, levels[k].errorOfError);
      if (Math.abs(levels[j].error - levels[k].error) > tolj) {
        ok = false;
        break;
      }
    }
    if (ok) plateau = k;
  }
  const error = plateau >= 0 ? levels[plateau].error : levels[levels.length - 1].error;
  const naive = levels[0].error;
  return {
    mean: m,
    levels,
    error,
    plateauLevel: plateau,
    converged: plateau >= 0,
    tau: naive > 0 ? (error / naive) ** 2 : 1,
  };
}

// ----------------------------------------------------------------------------------------------
// Summaries

export interface MeanEstimate {
  mean: number;
  /** standard error of the mean corrected by τ_int: √(var · τ_int / n) (the primary error bar) */
  error: number;
  /** naive standard error √(var/n), ignoring correlations */
  naiveError: number;
  /** binning plateau error */
  binError: number;
  binningConverged: boolean;
  /** standard error from the spread of per-chain means (only for nchains ≥ 2, else NaN) */
  chainError: number;
  tau: TauIntResult;
  /** effective sample size n / max(τ_int, 1/n) */
  ess: number;
  /** total number of values n = nchains × nsteps */
  n: number;
  nchains: number;
  nsteps: number;
  std: number;
  /** Gelman–Rubin R̂ over chains (NaN for a single chain) */
  rhat: number;
  /** drift z-score between the first and second half of the steps (see `halvesDrift`) */
  drift: number;
}

/** mean ± error of a single series or of many parallel chains, with all the error estimates side by side. */
export function estimateMean(
  series: ArrayLike<number> | Chains,
  opts: TauIntOptions & BinningOptions = {},
): MeanEstimate {
  const chains = isChains(series) ? series : asChains(series);
  checkChains(chains);
  const n = chains.nchains * chains.nsteps;
  const m = mean(chains.data);
  const v = n > 1 ? variance(chains.data) : 0;
  const tau = tauInt(chains, opts);
  const tauEff = Math.max(tau.tau, 1 / n);
  const bin = binning(chains, opts);
  return {
    mean: m,
    error: Math.sqrt((v * tauEff) / n),
    naiveError: Math.sqrt(v / n),
    binError: bin.error,
    binningConverged: bin.converged,
    chainError: chains.nchains >= 2 ? Math.sqrt(variance(chainMeans(chains)) / chains.nchains) : NaN,
    tau,
    ess: n / tauEff,
    n,
    nchains: chains.nchains,
    nsteps: chains.nsteps,
    std: Math.sqrt(v),
    rhat: gelmanRubin(chains),
    drift: halvesDrift(chains, opts),
  };
}

/**
 * Drift diagnostic (Geweke-like): z = (mean of the first half − mean of the second half of every
 * chain's steps) / √(err₁² + err₂²), each error τ_int-corrected. |z| ≫ 1 means the chains still
 * relax toward equilibrium; R̂ misses this when all chains start alike and drift together.
 * NaN with fewer than 8 steps per chain.
 */
export function halvesDrift(chains: Chains, opts: TauIntOptions = {}): number {
  checkChains(chains);
  const { nchains, nsteps } = chains;
  const h = Math.floor(nsteps / 2);
  if (h < 4) return NaN;
  const part = (start: number): number[] => {
    const data = new Float64Array(nchains * h);
    for (let c = 0; c < nchains; c++) for (let t = 0; t < h; t++) data[c * h + t] = chains.data[c * nsteps + start + t];
    const sub: Chains = { data, nchains, nsteps: h };
    const n = nchains * h;
    const v = variance(data);
    return [mean(data), Math.sqrt((v * Math.max(tauInt(sub, opts).tau, 1 / n)) / n)];
  };
  const [m1, e1] = part(nsteps - 2 * h);
  const [m2, e2] = part(nsteps - h);
  const e = Math.hypot(e1, e2);
  return e > 0 ? (m1 - m2) / e : m1 === m2 ? 0 : Infinity;
}

/** The time average of each chain. */
export function chainMeans(chains: Chains): Float64Array {
  checkChains(chains);
  const out = new Float64Array(chains.nchains);
  for (let c = 0; c < chains.nchains; c++) {
    let s = 0;
    for (let t = 0; t < chains.nsteps; t++) s += chains.data[c * chains.nsteps + t];
    out[c] = s / chains.nsteps;
  }
  return out;
}

/**
 * Gelman–Rubin potential scale reduction R̂ = √(((n−1)/n · W + B/n) / W); ≈ 1 for chains sampling
 * the same distribution, ≫ 1 for chains stuck in different places. NaN with one chain or n < 2.
 */
export function gelmanRubin(chains: Chains): number {
  checkChains(chains);
  const { nchains: m, nsteps: n } = chains;
  if (m < 2 || n < 2) return NaN;
  const cm = chainMeans(chains);
  const B = n * variance(cm);
  let W = 0;
  for (let c = 0; c < m; c++) {
    let s = 0;
    for (let t = 0; t < n; t++) s += (chains.data[c * n + t] - cm[c]) ** 2;
    W += s / (n - 1);
  }
  W /= m;
  if (!(W > 0)) return B > 0 ? Infinity : 1;
  return Math.sqrt((((n - 1) / n) * W + B / n) / W);
}

/** Effective sample size n / τ_int. */
export function effectiveSampleSize(series: ArrayLike<number> | Chains, opts: TauIntOptions = {}): number {
  const chains = isChains(series) ? series : asChains(series);
  const n = chains.nchains * chains.nsteps;
  return n / Math.max(tauInt(chains, opts).tau, 1 / n);
}

/**
 * Importance-sampling effective sample size (Σw)²/Σw² from log-weights, in log space
 * (exp(2·lse(ln w) − lse(2 ln w))): n for constant weights, → 1 when one weight dominates.
 */
export function importanceEss(logW: ArrayLike<number>): number {
  const n = logW.length;
  if (n === 0) return 0;
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (logW[i] > m) m = logW[i];
  if (m === -Infinity) return 0;
  if (!Number.isFinite(m)) return NaN;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.exp(logW[i] - m);
    s1 += r;
    s2 += r * r;
  }
  return (s1 * s1) / s2;
}
