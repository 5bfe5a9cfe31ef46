/**
 * Importance-weighted free energy (Eq. 6 read as an expectation over the prior):
 *     Z = E_{x∼q}[π(x)/q(x)],   Ẑ = mean_i w_i,   ln w_i = ln π(x_i) − ln q(x_i),
 * evaluated in log space (log-sum-exp), so that it is stable for large N where the weights are
 * e^{±hundreds}. −ln Ẑ is consistent (asymptotically unbiased: its bias ≈ var(w)/(2 n w̄²) → 0),
 * unlike the variational free energy F = mean(ln q − ln π) = −mean(ln w) ≥ −ln Z (Jensen), which
 * is reported side by side with its standard error.
 *
 * Error bars on −ln Ẑ:
 * - delta method: σ(−ln Ẑ) ≈ σ(w)/(√n w̄) = √(Σ(r_i − 1)²/(n(n−1))), r_i = w_i/w̄;
 * - binning over batches: the spread of the batch means of r_i (when there are ≥ 2 batches).
 * Both assume var(w) < ∞; the Pareto k̂ of the weights (pareto.ts) checks that from the weights.
 */
import { logSumExp } from "../engine/math.ts";
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import type { Target } from "../targets/target.ts";
import type { ProposalDensity } from "./density.ts";
import { paretoK } from "./pareto.ts";
import { importanceEss } from "../engine/stats.ts";

export interface ImportanceEstimate {
  /** −ln Ẑ, Ẑ = mean(π/q) */
  negLogZ: number;
  /** delta-method standard error of −ln Ẑ */
  error: number;
  /** standard error of −ln Ẑ from batch means of the normalised weights (NaN with < 2 batches) */
  binError: number;
  /** estimated leading bias of −ln Ẑ, error²/2 (positive: −ln Ẑ tends to lie above −ln Z) */
  bias: number;
  /** importance-sampling effective sample size (Σw)²/Σw² */
  ess: number;
  /** ess / n */
  essFraction: number;
  /** largest normalised weight max w / Σw */
  maxWeightFraction: number;
  /** Pareto k̂ of the weights' tail (pareto.ts): > 0.7 means the estimate and its error bar are not trustworthy */
  paretoK: number;
  /** variational free energy F = mean(ln q − ln π) (an upper bound of −ln Z in expectation) */
  variationalF: number;
  /** its standard error (independent samples) */
  variationalFError: number;
  /** number of weights */
  n: number;
  /** number of batches used for binError */
  nbatches: number;
}

/**
 * The estimate from log-weights ln w = ln π − ln q of independent draws from q. `batchSize`
 * (default: n/32 rounded down, at least 1) groups consecutive weights for the binned error.
 */
export function importanceFromLogWeights(
  logW: ArrayLike<number>,
  opts: { batchSize?: number } = {},
): ImportanceEstimate {
  const n = logW.length;
  if (n < 1) throw new RangeError("importance estimate needs at least one weight");
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(logW[i]) || logW[i] === Infinity)
      throw new RangeError(`log-weight ${i} is ${logW[i]}: the target or model density is not finite there`);
  }
  const lse = logSumExp(logW);
  const logMean = lse - Math.log(n);
  // r_i = w_i / w̄, computed in log space
  const r = new Float64Array(n);
  let maxR = 0;
  for (let i = 0; i < n; i++) {
    r[i] = Math.exp(logW[i] - logMean);
    if (r[i] > maxR) maxR = r[i];
  }
  let s2 = 0;
  for (let i = 0; i < n; i++) s2 += (r[i] - 1) ** 2;
  const error = n > 1 ? Math.sqrt(s2 / (n * (n - 1))) : NaN;

  const bs = opts.batchSize ?? Math.max(1, Math.floor(n / 32));
  if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`batchSize = ${bs} must be an integer ≥ 1`);
  const nb = Math.floor(n / bs);
  let binError = NaN;
  if (nb >= 2) {
    const means = new Float64Array(nb);
    let mm = 0;
    for (let b = 0; b < nb; b++) {
      let s = 0;
      for (let i = b * bs; i < (b + 1) * bs; i++) s += r[i];
      means[b] = s / bs;
      mm += means[b];
    }
    mm /= nb;
    let v = 0;
    for (let b = 0; b < nb; b++) v += (means[b] - mm) ** 2;
    binError = Math.sqrt(v / (nb - 1) / nb) / mm;
  }

  let fm = 0;
  for (let i = 0; i < n; i++) fm -= logW[i];
  fm /= n;
  let fv = 0;
  for (let i = 0; i < n; i++) fv += (-logW[i] - fm) ** 2;
  const ess = importanceEss(logW);
  return {
    negLogZ: -logMean,
    error,
    binError,
    bias: (error * error) / 2,
    ess,
    essFraction: ess / n,
    maxWeightFraction: maxR / n,
    paretoK: paretoK(logW),
    variationalF: fm,
    variationalFError: n > 1 ? Math.sqrt(fv / (n - 1) / n) : NaN,
    n,
    nbatches: nb,
  };
}

export interface ImportanceOptions {
  /** total number of samples */
  n: number;
  /** samples per batch drawn from the flow (also the bins of binError); default 512 */
  batchSize?: number;
  rng: Rng;
  /** progress: called after every batch with the number of samples so far */
  onBatch?: (done: number, total: number) => void;
  /** called with every batch of samples and their log-weights (e.g. to accumulate observables) */
  onSamples?: (x: Real, logW: Float64Array, batch: number) => void;
}

export interface ImportanceRun extends ImportanceEstimate {
  /** all log-weights ln π − ln q, in draw order */
  logW: Float64Array;
}

/** Draw n samples from q in batches and estimate −ln Z by importance weighting. */
export function importanceSample(proposal: ProposalDensity, target: Target, opts: ImportanceOptions): ImportanceRun {
  const { n, rng } = opts;
  const bs = opts.batchSize ?? 512;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`n = ${n} must be an integer ≥ 2`);
  if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`batchSize = ${bs} must be an integer ≥ 1`);
  if (target.nvars !== proposal.nvars) {
    throw new RangeError(`target has ${target.nvars} variables but the proposal has ${proposal.nvars}`);
  }
  const logW = new Float64Array(n);
  const logPi = new Float64Array(bs);
  for (let done = 0; done < n;) {
    const b = Math.min(bs, n - done);
    const s = proposal.sample(b, rng);
    const lp = b === bs ? logPi : new Float64Array(b);
    target.logProb(s.x, b, lp);
    for (let i = 0; i < b; i++) logW[done + i] = lp[i] - s.logQ[i];
    opts.onSamples?.(s.x, logW.subarray(done, done + b), b);
    done += b;
    opts.onBatch?.(done, n);
  }
  return { ...importanceFromLogWeights(logW, { batchSize: Math.min(bs, Math.max(1, Math.floor(n / 2))) }), logW };
}

export interface WeightedMean {
  /** self-normalised estimate Σ w_i O_i / Σ w_i */
  mean: number;
  /** delta-method standard error √(Σ r_i² (O_i − Ō)²)/n, r_i = w_i/w̄ */
  error: number;
}

/** Self-normalised importance-sampling estimate of ⟨O⟩_π from draws of q with log-weights ln π − ln q. */
export function importanceMean(values: ArrayLike<number>, logW: ArrayLike<number>): WeightedMean {
  const n = values.length;
  if (n !== logW.length) throw new RangeError(`importanceMean: ${n} values but ${logW.length} log-weights`);
  if (n < 1) throw new RangeError("importanceMean needs at least one value");
  const logMean = logSumExp(logW) - Math.log(n);
  const r = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    r[i] = Math.exp(logW[i] - logMean);
    m += r[i] * values[i];
  }
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (r[i] * (values[i] - m)) ** 2;
  return { mean: m, error: Math.sqrt(v) / n };
}
