/**
 * The relaxed (continuous) 2D Ising target of Eq. (7) of the PRL:
 *   π(x) = exp(−½ xᵀ(K+αI)⁻¹x) Π_i cosh x_i,   K = β·A on the periodic L×L lattice,
 * with A the bond-counting adjacency of lattice.ts and α chosen so that λ_min(K+αI) = 0.1 (the
 * original code's choice). Writing Π cosh x_i = 2^{−N} Σ_s e^{sᵀx} and doing the Gaussian integral
 * for each s gives (text after Eq. 7)
 *   −ln Z = −ln Z_Ising − ½ ln det(K+αI) + (N/2)[ln(2/π) − α],
 * because ½ sᵀ(K+αI)s = β Σ_bonds s_i s_j + αN/2 = −βH(s) + αN/2.
 *
 * K+αI is circulant on the torus with eigenvalues μ(p,q) = β[2cos(2πp/L) + 2cos(2πq/L)] + α, so
 * (K+αI)⁻¹x is applied spectrally (radix-2 FFT for L a power of two) and ln det = Σ ln μ.
 */
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import { kaufmanLogZ } from "./kaufman.ts";
import { adjacencyEigenvalues, checkLatticeSize, isingEnergy } from "./lattice.ts";
import { Circulant2D, circulantDense, circulantKernel } from "./spectral.ts";
import type { Target } from "./target.ts";

/** Smallest eigenvalue of K + αI (the original code's choice). */
export const RELAXED_ISING_MIN_EIGENVALUE = 0.1;
/** Largest L accepted (memory and Kaufman's sums stay small well beyond this). */
export const MAX_ISING_L = 1024;
/** Largest L for the dense (K+αI)⁻¹ path (N² doubles). */
export const MAX_DENSE_L = 64;

export type InverseMethod = "spectral" | "dense";

export interface RelaxedIsingOptions {
  L: number;
  T: number;
  /** How (K+αI)⁻¹x is applied; default "spectral" (FFT / DFT). "dense" is for tests and tiny L. */
  method?: InverseMethod;
}

export interface RelaxedIsingConfig {
  readonly kind: "ising";
  readonly L: number;
  readonly T: number;
  readonly [key: string]: number | string | boolean;
}

/** ln cosh x = |x| + log1p(e^{−2|x|}) − ln 2, stable for any x. */
export function logCosh(x: number): number {
  const a = Math.abs(x);
  return a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
}

export class RelaxedIsing implements Target {
  readonly kind = "ising";
  readonly L: number;
  readonly nvars: number;
  readonly z2Symmetric = true;
  readonly T: number;
  readonly beta: number;
  /** Diagonal shift: λ_min(K + αI) = 0.1. */
  readonly alpha: number;
  /** Eigenvalues μ(p,q) of K + αI, index p*L + q. */
  readonly eigenvalues: Float64Array;
  /** ln det(K + αI) = Σ ln μ(p,q). */
  readonly logDet: number;
  /** ln Z of the discrete Ising model (Kaufman). */
  readonly logZIsing: number;
  /** Exact −ln Z of the relaxed model (text after Eq. 7). */
  readonly exactNegLogZ: number;
  readonly config: RelaxedIsingConfig;
  readonly method: InverseMethod;
  private readonly circ: Circulant2D | null;
  private readonly dense: Float64Array | null;
  private scratch: Float64Array;

  constructor(opts: RelaxedIsingOptions) {
    const { L, T } = opts;
    checkLatticeSize(L, MAX_ISING_L);
    if (typeof T !== "number" || !Number.isFinite(T) || T <= 0) {
      throw new RangeError(`T = ${T} is invalid: the temperature must be a finite number > 0`);
    }
    const method = opts.method ?? "spectral";
    if (method !== "spectral" && method !== "dense") {
      throw new RangeError(`method = ${String(method)} is invalid: expected "spectral" or "dense"`);
    }
    if (method === "dense" && L > MAX_DENSE_L) {
      throw new RangeError(`L = ${L} is too large for method "dense": L must be ≤ ${MAX_DENSE_L}`);
    }
    this.L = L;
    this.nvars = L * L;
    this.T = T;
    this.beta = 1 / T;
    this.method = method;
    this.config = { kind: "ising", L, T };
    const lam = adjacencyEigenvalues(L);
    let lmin = Infinity;
    for (let k = 0; k < lam.length; k++) lmin = Math.min(lmin, lam[k]);
    this.alpha = RELAXED_ISING_MIN_EIGENVALUE - this.beta * lmin;
    const mu = new Float64Array(this.nvars);
    let logDet = 0;
    for (let k = 0; k < mu.length; k++) {
      mu[k] = this.beta * lam[k] + this.alpha;
      logDet += Math.log(mu[k]);
    }
    this.eigenvalues = mu;
    this.logDet = logDet;
    this.logZIsing = kaufmanLogZ(L, T);
    const N = this.nvars;
    this.exactNegLogZ = -this.logZIsing - 0.5 * logDet + (N / 2) * (Math.log(2 / Math.PI) - this.alpha);
    const inv = Float64Array.from(mu, (v) => 1 / v);
    if (method === "spectral") {
      this.circ = new Circulant2D(L, inv);
      this.dense = null;
    } else {
      this.circ = null;
      this.dense = circulantDense(L, circulantKernel(L, inv));
    }
    this.scratch = new Float64Array(0);
  }

  /** out = (K + αI)⁻¹ x for each of `batch` rows. */
  applyInverse(x: ArrayLike<number>, batch: number, out: Float64Array): void {
    const N = this.nvars;
    if (this.circ) {
      this.circ.apply(x, batch, out);
      return;
    }
    const D = this.dense as Float64Array;
    for (let b = 0; b < batch; b++) {
      const o = b * N;
      for (let i = 0; i < N; i++) {
        let s = 0;
        const r = i * N;
        for (let j = 0; j < N; j++) s += D[r + j] * x[o + j];
        out[o + i] = s;
      }
    }
  }

  /** Dense (K + αI)⁻¹ (row-major N×N), built from the analytic spectrum; for tests and small L. */
  inverseMatrix(): Float64Array {
    if (this.dense) return this.dense.slice();
    return circulantDense(
      this.L,
      circulantKernel(
        this.L,
        Float64Array.from(this.eigenvalues, (v) => 1 / v),
      ),
    );
  }

  /** log π(x) = −½ xᵀ(K+αI)⁻¹x + Σ ln cosh x_i;  ∂/∂x = −(K+αI)⁻¹x + tanh x. */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void {
    const N = this.nvars;
    if (x.length < batch * N)
      throw new RangeError(`x has length ${x.length}, expected ≥ ${batch * N} (batch ${batch} × N ${N})`);
    // work in chunks of ≤ 64 rows to bound the scratch memory
    const chunk = Math.min(batch, 64);
    if (this.scratch.length < chunk * N) this.scratch = new Float64Array(chunk * N);
    const y = this.scratch;
    for (let b0 = 0; b0 < batch; b0 += chunk) {
      const nb = Math.min(chunk, batch - b0);
      const xs = x.subarray(b0 * N, (b0 + nb) * N);
      this.applyInverse(xs, nb, y);
      for (let b = 0; b < nb; b++) {
        const o = b * N;
        const og = (b0 + b) * N;
        let quad = 0;
        let lc = 0;
        for (let i = 0; i < N; i++) {
          const xi = xs[o + i];
          const a = Math.abs(xi);
          const e = Math.exp(-2 * a); // one exp serves ln cosh and tanh
          quad += xi * y[o + i];
          lc += a + Math.log1p(e);
          if (grad) {
            const th = (1 - e) / (1 + e);
            grad[og + i] = (xi < 0 ? -th : th) - y[o + i];
          }
        }
        out[b0 + b] = -0.5 * quad + lc - N * Math.LN2;
      }
    }
  }

  /** Draw spins from π(s|x) = Π_i (1 + e^{−2 s_i x_i})⁻¹, i.e. P(s_i = +1 | x) = 1/(1 + e^{−2x_i}). */
  sampleSpins(x: ArrayLike<number>, batch: number, rng: Rng, out?: Real): Real {
    return sampleSpins(x, batch * this.nvars, rng, out);
  }

  /** Conditional means E[s_i | x] = tanh x_i (improved estimator). */
  meanSpins(x: ArrayLike<number>, batch: number, out?: Float64Array): Float64Array {
    return meanSpins(x, batch * this.nvars, out);
  }
}

/** The relaxed Ising target of Eq. (7) on the periodic L×L lattice at temperature T. */
export function relaxedIsing(opts: RelaxedIsingOptions): RelaxedIsing {
  return new RelaxedIsing(opts);
}

/** P(s = +1 | x) = 1/(1 + e^{−2x}) for the first n entries of x; spins ±1 written to out. */
export function sampleSpins(x: ArrayLike<number>, n: number, rng: Rng, out?: Real): Real {
  const o = out ?? new Float64Array(n);
  if (o.length < n) throw new RangeError(`out has length ${o.length}, expected ≥ ${n}`);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    // u < σ(2x)  ⇔  u(1 + e^{−2x}) < 1, written to avoid overflow for very negative x
    const xi = x[i];
    const p = xi >= 0 ? 1 / (1 + Math.exp(-2 * xi)) : Math.exp(2 * xi) / (1 + Math.exp(2 * xi));
    o[i] = u < p ? 1 : -1;
  }
  return o;
}

/** tanh x for the first n entries (E[s|x] of the relaxed model). */
export function meanSpins(x: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
  const o = out ?? new Float64Array(n);
  for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]);
  return o;
}

// ------------------------------------------------------------------ observables (pure functions)

function checkBatch(s: ArrayLike<number>, L: number, batch: number): number {
  const N = L * L;
  if (!Number.isInteger(batch) || batch < 0 || s.length < batch * N) {
    throw new RangeError(`spins have length ${s.length}, expected ≥ batch ${batch} × N ${N}`);
  }
  return N;
}

/**
 * Energy per site H(s)/N = −(1/N) Σ_i (s_i s_{i+x} + s_i s_{i+y}) of each row. On rows of tanh x
 * this is the improved estimator E[H/N | x] (the two ends of a bond are distinct sites and
 * conditionally independent given x).
 */
export function energyPerSite(s: ArrayLike<number>, L: number, batch: number): Float64Array {
  const N = checkBatch(s, L, batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) out[b] = isingEnergy(s, L, b) / N;
  return out;
}

/** |m| = |Σ_i s_i| / N of each row (on tanh x rows this is |E[m|x]|, not E[|m| | x]). */
export function absMagnetisation(s: ArrayLike<number>, L: number, batch: number): Float64Array {
  const N = checkBatch(s, L, batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let m = 0;
    for (let i = 0; i < N; i++) m += s[b * N + i];
    out[b] = Math.abs(m) / N;
  }
  return out;
}

/** Uniform structure factor S = (Σ_i s_i)² / N² of each row of ±1 spins (Fig. 3b). */
export function structureFactor(s: ArrayLike<number>, L: number, batch: number): Float64Array {
  const N = checkBatch(s, L, batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let m = 0;
    for (let i = 0; i < N; i++) m += s[b * N + i];
    out[b] = (m * m) / (N * N);
  }
  return out;
}

/**
 * Improved estimator of S from rows of conditional means t = tanh x:
 * E[(Σ s_i)² | x] = (Σ t_i)² − Σ t_i² + N, since s_i² = 1 and distinct spins are independent given x.
 */
export function structureFactorFromMeans(t: ArrayLike<number>, L: number, batch: number): Float64Array {
  const N = checkBatch(t, L, batch);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let m = 0;
    let q = 0;
    for (let i = 0; i < N; i++) {
      const v = t[b * N + i];
      m += v;
      q += v * v;
    }
    out[b] = (m * m - q + N) / (N * N);
  }
  return out;
}
