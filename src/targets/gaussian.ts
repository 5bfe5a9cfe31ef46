/**
 * The exactly solvable Gaussian target π(x) = exp(−½ xᵀAx) on an L×L lattice, A
 * symmetric positive definite. Z = (2π)^{N/2} det(A)^{−1/2}, so
 *   −ln Z = ½ ln det A − (N/2) ln 2π.
 * (the sign is checked against direct integration in the tests.)
 *
 * Precision matrices (the config stores only these generating parameters):
 * - "circulant" (default): A = scale·[(1 + 4κ) I − κ·Adj] with the bond-counting adjacency of
 *   lattice.ts; eigenvalues scale·(1 + κ(4 − λ(p,q))) ∈ scale·[1, 1 + 8κ]; κ = 0.2 by default.
 * - "identity": A = scale·I.
 * - "random": A = scale·(I + G Gᵀ/N), G an N×N standard normal matrix from Rng.fromSeed(seed);
 *   eigenvalues in ≈ scale·[1, 5]. Dense, so limited to L ≤ 32.
 */
import type { Real } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { adjacencyEigenvalues, checkLatticeSize, neighbours } from "./lattice.ts";
import { cholesky, logDetFromCholesky, matVecBatch, solveLowerTransposeInPlace } from "./linalg.ts";
import { Circulant2D } from "./spectral.ts";
import type { Target } from "./target.ts";

export type GaussianPrecision = "circulant" | "identity" | "random";
export const GAUSSIAN_PRECISIONS: readonly GaussianPrecision[] = ["circulant", "identity", "random"];
export const DEFAULT_KAPPA = 0.2;
export const MAX_GAUSSIAN_L = 1024;
export const MAX_RANDOM_GAUSSIAN_L = 32;
/** Largest κ accepted (condition number 1 + 8κ). */
export const MAX_KAPPA = 100;

export interface GaussianOptions {
  L: number;
  /** Which precision matrix A; default "circulant". */
  precision?: GaussianPrecision;
  /** Overall factor c of A (A = c·I for "identity"); default 1. */
  scale?: number;
  /** Nearest-neighbour coupling κ of the circulant precision, in [0, 100]; default 0.2. */
  kappa?: number;
  /** Seed of the random precision; default 0. */
  seed?: number;
}

export class GaussianTarget implements Target {
  readonly kind = "gaussian";
  readonly L: number;
  readonly nvars: number;
  readonly z2Symmetric = true;
  readonly precision: GaussianPrecision;
  readonly scale: number;
  readonly kappa: number;
  readonly seed: number;
  /** ln det A. */
  readonly logDet: number;
  /** −ln Z = ½ ln det A − (N/2) ln 2π. */
  readonly exactNegLogZ: number;
  readonly config: Readonly<Record<string, number | string | boolean>>;
  private readonly nb: Int32Array | null;
  private readonly dense: Float64Array | null;
  private readonly eig: Float64Array | null;
  private chol: Float64Array | null = null;
  private sqrtCov: Circulant2D | null = null;

  constructor(opts: GaussianOptions) {
    const { L } = opts;
    checkLatticeSize(L, MAX_GAUSSIAN_L);
    const precision = opts.precision ?? "circulant";
    if (!GAUSSIAN_PRECISIONS.includes(precision)) {
      throw new RangeError(
        `precision = ${String(precision)} is invalid: expected one of ${GAUSSIAN_PRECISIONS.join(", ")}`,
      );
    }
    const scale = opts.scale ?? 1;
    if (typeof scale !== "number" || !Number.isFinite(scale) || scale <= 0) {
      throw new RangeError(`scale = ${scale} is invalid: the scale must be a finite number > 0`);
    }
    const kappa = opts.kappa ?? DEFAULT_KAPPA;
    if (typeof kappa !== "number" || !Number.isFinite(kappa) || kappa < 0 || kappa > MAX_KAPPA) {
      throw new RangeError(`kappa = ${kappa} is invalid: kappa must be a number in [0, ${MAX_KAPPA}]`);
    }
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed = ${seed} is invalid: the seed must be an integer in 0..4294967295`);
    }
    if (precision === "random" && L > MAX_RANDOM_GAUSSIAN_L) {
      throw new RangeError(`L = ${L} is too large for precision "random": L must be ≤ ${MAX_RANDOM_GAUSSIAN_L}`);
    }
    const N = L * L;
    this.L = L;
    this.nvars = N;
    this.precision = precision;
    this.scale = scale;
    this.kappa = kappa;
    this.seed = seed;
    const config: Record<string, number | string | boolean> = { kind: "gaussian", L, precision, scale };
    if (precision === "circulant") config.kappa = kappa;
    if (precision === "random") config.seed = seed;
    this.config = config;

    this.nb = null;
    this.dense = null;
    this.eig = null;
    if (precision === "identity") {
      this.logDet = N * Math.log(scale);
    } else if (precision === "circulant") {
      this.nb = neighbours(L);
      const lam = adjacencyEigenvalues(L);
      this.eig = Float64Array.from(lam, (l) => scale * (1 + kappa * (4 - l)));
      let s = 0;
      for (let k = 0; k < N; k++) s += Math.log(this.eig[k]);
      this.logDet = s;
    } else {
      const rng = Rng.fromSeed(seed);
      const G = new Float64Array(N * N);
      rng.fillNormal(G);
      const A = new Float64Array(N * N);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k < N; k++) s += G[i * N + k] * G[j * N + k];
          const v = scale * ((i === j ? 1 : 0) + s / N);
          A[i * N + j] = v;
          A[j * N + i] = v;
        }
      }
      this.dense = A;
      this.chol = cholesky(A, N);
      this.logDet = logDetFromCholesky(this.chol, N);
    }
    this.exactNegLogZ = 0.5 * this.logDet - (N / 2) * Math.log(2 * Math.PI);
  }

  /** y = A x for each of `batch` rows. */
  applyPrecision(x: ArrayLike<number>, batch: number, y: Float64Array): void {
    const N = this.nvars;
    if (this.precision === "identity") {
      for (let i = 0; i < batch * N; i++) y[i] = this.scale * x[i];
    } else if (this.precision === "circulant") {
      const nb = this.nb as Int32Array;
      const d = this.scale * (1 + 4 * this.kappa);
      const o = this.scale * this.kappa;
      for (let b = 0; b < batch; b++) {
        const r = b * N;
        for (let i = 0; i < N; i++) {
          const s = x[r + nb[4 * i]] + x[r + nb[4 * i + 1]] + x[r + nb[4 * i + 2]] + x[r + nb[4 * i + 3]];
          y[r + i] = d * x[r + i] - o * s;
        }
      }
    } else {
      matVecBatch(this.dense as Float64Array, N, x, batch, y);
    }
  }

  /** The dense precision matrix A (row-major N×N). */
  matrix(): Float64Array {
    const N = this.nvars;
    if (this.dense) return this.dense.slice();
    const A = new Float64Array(N * N);
    const e = new Float64Array(N);
    const col = new Float64Array(N);
    for (let j = 0; j < N; j++) {
      e.fill(0);
      e[j] = 1;
      this.applyPrecision(e, 1, col);
      for (let i = 0; i < N; i++) A[i * N + j] = col[i];
    }
    return A;
  }

  /** log π(x) = −½ xᵀAx; gradient −Ax. */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void {
    const N = this.nvars;
    if (x.length < batch * N)
      throw new RangeError(`x has length ${x.length}, expected ≥ ${batch * N} (batch ${batch} × N ${N})`);
    const y = new Float64Array(batch * N);
    this.applyPrecision(x, batch, y);
    for (let b = 0; b < batch; b++) {
      let q = 0;
      for (let i = 0; i < N; i++) {
        const k = b * N + i;
        q += x[k] * y[k];
        if (grad) grad[k] = -y[k];
      }
      out[b] = -0.5 * q;
    }
  }

  /**
   * Exact draws x ~ N(0, A⁻¹), `batch` rows. "random": Cholesky A = CCᵀ, x = C⁻ᵀξ;
   * "circulant": x = A^{−1/2}ξ applied spectrally; "identity": x = ξ/√scale.
   */
  sample(batch: number, rng: Rng): Float64Array {
    const N = this.nvars;
    const xi = new Float64Array(batch * N);
    rng.fillNormal(xi);
    if (this.precision === "identity") {
      const f = 1 / Math.sqrt(this.scale);
      for (let i = 0; i < xi.length; i++) xi[i] *= f;
      return xi;
    }
    if (this.precision === "circulant") {
      if (!this.sqrtCov) {
        this.sqrtCov = new Circulant2D(
          this.L,
          Float64Array.from(this.eig as Float64Array, (v) => 1 / Math.sqrt(v)),
        );
      }
      const out = new Float64Array(batch * N);
      this.sqrtCov.apply(xi, batch, out);
      return out;
    }
    if (!this.chol) this.chol = cholesky(this.dense as Float64Array, N);
    for (let b = 0; b < batch; b++) solveLowerTransposeInPlace(this.chol, N, xi, b * N);
    return xi;
  }
}

/** The Gaussian target π(x) = exp(−½ xᵀAx) (see the module comment for the choices of A). */
export function gaussianTarget(opts: GaussianOptions): GaussianTarget {
  return new GaussianTarget(opts);
}
