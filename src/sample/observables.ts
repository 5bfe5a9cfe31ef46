/**
 * Ising observables from relaxed-field samples x (Eq. 7), using the target's observable
 * functions (targets/ising.ts), and their Monte Carlo error bars (stats.ts).
 *
 * Given x the spins are independent, π(s|x) = Π_i (1 + e^{−2 s_i x_i})⁻¹, E[s_i|x] = tanh x_i, so
 * improved (Rao–Blackwellised) estimators replace products of distinct spins by products of
 * tanh (Eq. 7):
 * - energy per site: −(1/N) Σ_bonds tanh x_i tanh x_j (the two ends of a bond are distinct);
 * - S = Σ_ij s_i s_j / N² → [(Σ tanh x_i)² − Σ tanh² x_i + N] / N² (E[s_i s_j|x] = tanh x_i tanh x_j
 *   for i ≠ j, 1 for i = j);
 * - ⟨|m|⟩: E[|Σ s_i| | x] is the mean absolute value of a Poisson-binomial sum, computed exactly by
 *   an O(N²) recursion over the number of up spins ("improved"); or from spins drawn from
 *   π(s|x) ("spins", O(N), for large lattices).
 * The "spins" estimator draws s ∼ π(s|x) and evaluates the plain observables on them.
 */
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import {
  absMagnetisation,
  energyPerSite,
  meanSpins,
  sampleSpins,
  structureFactor,
  structureFactorFromMeans,
} from "../targets/ising.ts";
import { cholesky } from "../targets/linalg.ts";
import type { Chains, MeanEstimate } from "../engine/stats.ts";
import { chainsFromSteps, estimateMean } from "../engine/stats.ts";

export const ISING_OBSERVABLES = ["energy", "absM", "S"] as const;
export type IsingObservableName = (typeof ISING_OBSERVABLES)[number];

/** Per-row values of each observable. */
export type IsingObservableValues = Record<IsingObservableName, Float64Array>;

export type SpinEstimator = "improved" | "spins";

export interface IsingObservableOptions {
  /** "improved" (tanh, default) or "spins" (draw s ∼ π(s|x); needs rng) */
  estimator?: SpinEstimator;
  /** with "improved": estimator of ⟨|m|⟩; "exact" Poisson-binomial (default for N ≤ 256) or "spins" */
  absM?: "exact" | "spins";
  /** randomness for spin draws */
  rng?: Rng;
}

/**
 * E[|Σ_i s_i| | x] / N for independent spins with E[s_i] = t_i, one value per row: the
 * distribution of the number of up spins k is built one spin at a time (Poisson binomial),
 * then Σ_k P(k) |2k − N| / N.
 */
export function absMagnetisationFromMeans(t: ArrayLike<number>, N: number, batch: number): Float64Array {
  if (t.length < batch * N) throw new RangeError(`means have length ${t.length}, expected ≥ batch ${batch} × N ${N}`);
  const out = new Float64Array(batch);
  const p = new Float64Array(N + 1);
  for (let b = 0; b < batch; b++) {
    p.fill(0);
    p[0] = 1;
    for (let i = 0; i < N; i++) {
      const up = 0.5 * (1 + t[b * N + i]);
      const dn = 1 - up;
      // after i spins, k ∈ 0..i
      p[i + 1] = p[i] * up;
      for (let k = i; k >= 1; k--) p[k] = p[k] * dn + p[k - 1] * up;
      p[0] *= dn;
    }
    let s = 0;
    for (let k = 0; k <= N; k++) s += p[k] * Math.abs(2 * k - N);
    out[b] = s / N;
  }
  return out;
}

/** Energy per site, |m| and S of each of `batch` rows of fields x on the L×L lattice. */
export function isingObservables(
  x: Real,
  L: number,
  batch: number,
  opts: IsingObservableOptions = {},
): IsingObservableValues {
  const N = L * L;
  if (x.length < batch * N) throw new RangeError(`x has length ${x.length}, expected ≥ batch ${batch} × N ${N}`);
  const estimator = opts.estimator ?? "improved";
  const needSpins = estimator === "spins" || (opts.absM ?? (N <= 256 ? "exact" : "spins")) === "spins";
  let spins: Real | undefined;
  if (needSpins) {
    if (!opts.rng) throw new RangeError("drawing spins from π(s|x) needs an rng");
    spins = sampleSpins(x, batch * N, opts.rng);
  }
  if (estimator === "spins") {
    const s = spins as Real;
    return { energy: energyPerSite(s, L, batch), absM: absMagnetisation(s, L, batch), S: structureFactor(s, L, batch) };
  }
  const t = meanSpins(x, batch * N);
  return {
    energy: energyPerSite(t, L, batch),
    absM: spins ? absMagnetisation(spins, L, batch) : absMagnetisationFromMeans(t, N, batch),
    S: structureFactorFromMeans(t, L, batch),
  };
}

// ---------------------------------------------------------------------------------------------
// Field moments (any target; exact for Gaussian targets)

export const FIELD_MOMENTS = ["m2", "c1"] as const;
export type FieldMomentName = (typeof FIELD_MOMENTS)[number];

/** Per-row site averages m2 = (1/N) Σ_i x_i² and c1 = (1/N) Σ_i x_i x_{i+x̂} (periodic, x̂ = next column). */
export function fieldMoments(x: ArrayLike<number>, L: number, batch: number): Record<FieldMomentName, Float64Array> {
  const N = L * L;
  if (x.length < batch * N) throw new RangeError(`x has length ${x.length}, expected ≥ batch ${batch} × N ${N}`);
  const m2 = new Float64Array(batch);
  const c1 = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let s2 = 0;
    let sc = 0;
    for (let i = 0; i < L; i++) {
      const r = b * N + i * L;
      for (let j = 0; j < L; j++) {
        const v = x[r + j];
        s2 += v * v;
        sc += v * x[r + (j + 1 === L ? 0 : j + 1)];
      }
    }
    m2[b] = s2 / N;
    c1[b] = sc / N;
  }
  return { m2, c1 };
}

/**
 * Exact ⟨m2⟩ and ⟨c1⟩ under π(x) ∝ exp(−½ xᵀAx) from the dense precision matrix A (row-major N×N):
 * Σ = A⁻¹ = C⁻ᵀC⁻¹ with A = CCᵀ, so Σ_ij = Σ_k (C⁻¹)_ki (C⁻¹)_kj. O(N³); meant for N ≤ 1024.
 */
export function gaussianExactMoments(precision: ArrayLike<number>, L: number): Record<FieldMomentName, number> {
  const N = L * L;
  const C = cholesky(precision, N);
  // M = C⁻¹ (lower triangular), column by column
  const M = new Float64Array(N * N);
  for (let j = 0; j < N; j++) {
    for (let i = j; i < N; i++) {
      let s = i === j ? 1 : 0;
      for (let k = j; k < i; k++) s -= C[i * N + k] * M[k * N + j];
      M[i * N + j] = s / C[i * N + i];
    }
  }
  const cov = (a: number, b: number): number => {
    let s = 0;
    for (let k = Math.max(a, b); k < N; k++) s += M[k * N + a] * M[k * N + b];
    return s;
  };
  let m2 = 0;
  let c1 = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const a = i * L + j;
      m2 += cov(a, a);
      c1 += cov(a, i * L + (j + 1 === L ? 0 : j + 1));
    }
  }
  return { m2: m2 / N, c1: c1 / N };
}

/**
 * Records observables of parallel chains step by step (step-major), and summarises them with
 * τ_int / binning error bars after discarding a warm-up.
 */
export class ObservableTrace<K extends string = string> {
  readonly names: readonly K[];
  readonly nchains: number;
  private readonly data: Map<K, number[]>;
  private steps = 0;

  constructor(names: readonly K[], nchains: number) {
    if (!Number.isInteger(nchains) || nchains < 1) throw new RangeError(`nchains = ${nchains} must be an integer ≥ 1`);
    this.names = names;
    this.nchains = nchains;
    this.data = new Map(names.map((n) => [n, []]));
  }

  /** Append one step: values[name] has one entry per chain. */
  push(values: Readonly<Record<K, ArrayLike<number>>>): void {
    for (const name of this.names) {
      const v = values[name];
      if (!v || v.length !== this.nchains)
        throw new RangeError(`observable ${name}: expected ${this.nchains} values per step`);
      const arr = this.data.get(name) as number[];
      for (let c = 0; c < this.nchains; c++) arr.push(v[c]);
    }
    this.steps++;
  }

  get nsteps(): number {
    return this.steps;
  }

  /** step-major values of one observable (steps × chains) */
  values(name: K): Float64Array {
    return Float64Array.from(this.data.get(name) ?? []);
  }

  /** Mean over chains at each step (the trace one plots). */
  chainAverage(name: K): Float64Array {
    const v = this.data.get(name) ?? [];
    const out = new Float64Array(this.steps);
    for (let t = 0; t < this.steps; t++) {
      let s = 0;
      for (let c = 0; c < this.nchains; c++) s += v[t * this.nchains + c];
      out[t] = s / this.nchains;
    }
    return out;
  }

  chains(name: K, discard = 0): Chains {
    return chainsFromSteps(this.values(name), this.steps, this.nchains, discard);
  }

  /** mean ± error (τ_int-corrected, binning, chain spread) of every observable after `discard` steps. */
  summary(discard = 0): Record<K, MeanEstimate> {
    const out = {} as Record<K, MeanEstimate>;
    for (const name of this.names) out[name] = estimateMean(this.chains(name, discard));
    return out;
  }
}
