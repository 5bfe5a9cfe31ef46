/**
 * Lattice φ⁴ theory on the L×L torus (a continuous field theory target besides Eq. 7), in the
 * hopping-parameter form
 *
 *   S(φ) = Σₓ [ −2κ Σ_μ φₓ φ_{x+μ} + φₓ² + λ(φₓ² − 1)² ],      π(φ) = e^{−S(φ)},
 *
 * μ ∈ {+x̂, +ŷ} (2N bonds, the bond-counting convention of lattice.ts, so for L = 2 a pair of
 * sites is joined by two bonds). S(−φ) = S(φ): the target is Z2 symmetric.
 *
 * Gradient: ∂ log π/∂φₓ = 2κ Σ_{±μ} φ_{x±μ} − 2φₓ − 4λ φₓ(φₓ² − 1).
 *
 * ## Continuum-style parameters (m², λ₀)
 * With ϕ = √(2κ) φ (κ > 0) the action equals, up to the constant Nλ,
 *
 *   S_c(ϕ) = Σₓ [ ½ Σ_μ (ϕ_{x+μ} − ϕₓ)² + ½ m² ϕₓ² + (λ₀/4!) ϕₓ⁴ ],
 *
 * since ½ Σₓ Σ_μ (ϕ_{x+μ} − ϕₓ)² = Σₓ (2ϕₓ² − Σ_μ ϕₓϕ_{x+μ}) in d = 2; matching the terms:
 *
 *   m² = (1 − 2λ)/κ − 4,    λ₀ = 6λ/κ²;
 *   conversely  κ = 2 / [(m² + 4) + √((m² + 4)² + 4λ₀/3)],   λ = λ₀κ²/6
 *
 * (κ is the positive root of (λ₀/3)κ² + (m² + 4)κ − 1 = 0, written in the cancellation-free form;
 * for λ₀ = 0 it is κ = 1/(m² + 4), which needs m² > −4). The two partition functions differ by
 * the Jacobian and the constant: Z_hop = e^{−Nλ} (2κ)^{−N/2} Z_c. The target always works with
 * the hopping form: `phi4Target({ L, m2, lambda0 })` converts and stores (κ, λ) in its config.
 *
 * ## The free field (λ = 0)
 * S = ½ φᵀAφ with A = 2I − 2κ·Adj, circulant with eigenvalues a(p,q) = 2 − 2κ·[2cos(2πp/L) +
 * 2cos(2πq/L)] ∈ [2 − 8|κ|, 2 + 8|κ|] for even L. π is normalisable iff A is positive definite,
 * i.e. min a = 2 − 8|κ| > 0 ⟺ |κ| < 1/4 (for the even L the flows use; the check is done on the
 * actual spectrum). Then −ln Z = ½ Σ ln a(p,q) − (N/2) ln 2π exactly, and the field is Gaussian
 * with covariance A⁻¹: ⟨φₓφ_{x+r}⟩ = (1/N) Σ_{p,q} cos(2π p r/L)/a(p,q), and the magnetisation
 * m = (1/N)Σφₓ is N(0, 1/(N a(0,0))). For λ > 0 the quartic term makes π normalisable for any
 * κ, but Z is not known in closed form (exactNegLogZ is then undefined). λ < 0 is rejected
 * (S unbounded below).
 *
 * ## Observables (pure functions below)
 * Per configuration: m = (1/N)Σₓφₓ, |m|, m², m⁴, the site average φ², and the two-point function
 * averaged over both axes and all sites, G(r) = (1/2N) Σₓ [φₓφ_{x+r x̂} + φₓφ_{x+r ŷ}], r = 0…L/2
 * (in finite volume ⟨φ⟩ = 0 by the symmetry, so G is also the connected function). Estimates:
 *   ⟨|M|⟩/N = ⟨|m|⟩,
 *   χ = N(⟨m²⟩ − ⟨|m|⟩²)   (the finite-volume susceptibility of Z2 models; χ₂ = N⟨m²⟩ is
 *                            also reported),
 *   U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)  (Binder cumulant: 0 for a Gaussian m, → 2/3 deep in the ordered phase),
 * with error bars from binning: bins longer than the integrated autocorrelation time (engine/stats.ts),
 * then a jackknife over the bins (needed for the nonlinear χ and U; for plain means it equals
 * the binning error).
 */
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import { binning, chainsFromSteps, tauInt, type Chains } from "../engine/stats.ts";
import { adjacencyEigenvalues, checkLatticeSize, neighbours } from "./lattice.ts";
import { Circulant2D } from "./spectral.ts";
import type { Target } from "./target.ts";

/** Largest L accepted (memory of the neighbour table and the spectrum stay small well beyond). */
export const MAX_PHI4_L = 1024;

/**
 * A point near the transition, the CLI's default: κ = 0.27, λ = 0.02. Physical-space HMC gives
 * Binder cumulants U(L=8) ≈ 0.40, 0.53 and U(L=16) ≈ 0.35, 0.59 at κ = 0.265, 0.27, so the
 * crossing (the finite-size estimate of κ_c at λ = 0.02) lies at κ ≈ 0.267.
 */
export const PHI4_NEAR_CRITICAL = { kappa: 0.27, lambda: 0.02 } as const;

export interface Phi4Options {
  L: number;
  /** hopping parameter κ (give κ and λ, or m² and λ₀) */
  kappa?: number;
  /** quartic coupling λ ≥ 0 of the hopping form (λ = 0: the free field) */
  lambda?: number;
  /** continuum-style bare mass squared m² (with λ₀; see the module comment for the mapping) */
  m2?: number;
  /** continuum-style quartic coupling λ₀ ≥ 0, interaction (λ₀/4!)ϕ⁴ */
  lambda0?: number;
}

export interface Phi4Config {
  readonly kind: "phi4";
  readonly L: number;
  readonly kappa: number;
  readonly lambda: number;
  readonly [key: string]: number | string | boolean;
}

/** (m², λ₀) → hopping form (κ, λ). Throws a RangeError when no κ > 0 exists. */
export function phi4FromContinuum(m2: number, lambda0: number): { kappa: number; lambda: number } {
  if (typeof m2 !== "number" || !Number.isFinite(m2)) throw new RangeError(`m2 = ${m2} is invalid: m2 must be a finite number`);
  if (typeof lambda0 !== "number" || !Number.isFinite(lambda0) || lambda0 < 0) {
    throw new RangeError(`lambda0 = ${lambda0} is invalid: lambda0 must be a finite number ≥ 0`);
  }
  const b = m2 + 4;
  const den = b + Math.sqrt(b * b + (4 * lambda0) / 3);
  if (!(den > 0)) throw new RangeError(`m2 = ${m2} with lambda0 = 0 is invalid: the free field needs m2 > -4 for a positive hopping parameter`);
  const kappa = 2 / den;
  return { kappa, lambda: (lambda0 * kappa * kappa) / 6 };
}

/** Hopping form (κ > 0, λ) → continuum-style (m², λ₀). */
export function phi4ToContinuum(kappa: number, lambda: number): { m2: number; lambda0: number } {
  if (!(kappa > 0) || !Number.isFinite(kappa)) throw new RangeError(`kappa = ${kappa} is invalid: the continuum parameters need kappa > 0`);
  return { m2: (1 - 2 * lambda) / kappa - 4, lambda0: (6 * lambda) / (kappa * kappa) };
}

/** Eigenvalues a(p,q) = 2 − 2κ·λ_adj(p,q) of the free-field quadratic form, index p*L + q. */
export function phi4QuadraticEigenvalues(L: number, kappa: number): Float64Array {
  const lam = adjacencyEigenvalues(L);
  return Float64Array.from(lam, (l) => 2 - 2 * kappa * l);
}

/** Exact free-field (λ = 0) quantities of the φ⁴ target. */
export interface Phi4FreeField {
  /** −ln Z = ½ ln det A − (N/2) ln 2π */
  negLogZ: number;
  /** ln det A */
  logDet: number;
  /** ⟨φₓ²⟩ */
  phi2: number;
  /** G(r) = ⟨φₓ φ_{x+r μ}⟩ for r = 0 … L/2 (the same along both axes) */
  G: Float64Array;
  /** ⟨m²⟩ = 1/(N a(0,0)) */
  m2: number;
  /** ⟨|m|⟩ = √(2⟨m²⟩/π) (m is Gaussian) */
  absM: number;
  /** N(⟨m²⟩ − ⟨|m|⟩²) = N⟨m²⟩(1 − 2/π) */
  chi: number;
  /** N⟨m²⟩ */
  chi2: number;
  /** 0 (Gaussian m) */
  binder: number;
}

/**
 * Exact values of the free field (λ = 0) from the spectrum of A = 2I − 2κ·Adj; throws a
 * RangeError unless A is positive definite (|κ| < 1/4 for even L).
 */
export function phi4FreeField(L: number, kappa: number): Phi4FreeField {
  checkLatticeSize(L, MAX_PHI4_L);
  const a = phi4QuadraticEigenvalues(L, kappa);
  let amin = Infinity;
  for (let k = 0; k < a.length; k++) amin = Math.min(amin, a[k]);
  if (!(amin > 0)) {
    throw new RangeError(
      `kappa = ${kappa} with lambda = 0 is invalid: the free field is normalisable only for |kappa| < 1/4 (the quadratic form 2 - 2*kappa*(adjacency) has smallest eigenvalue ${amin.toPrecision(4)} <= 0)`,
    );
  }
  const N = L * L;
  let logDet = 0;
  for (let k = 0; k < N; k++) logDet += Math.log(a[k]);
  const R = Math.floor(L / 2);
  const G = new Float64Array(R + 1);
  for (let r = 0; r <= R; r++) {
    let s = 0;
    for (let p = 0; p < L; p++) {
      const c = Math.cos((2 * Math.PI * p * r) / L);
      for (let q = 0; q < L; q++) s += c / a[p * L + q];
    }
    G[r] = s / N;
  }
  const m2 = 1 / (N * a[0]);
  const absM = Math.sqrt((2 * m2) / Math.PI);
  return {
    negLogZ: 0.5 * logDet - (N / 2) * Math.log(2 * Math.PI),
    logDet,
    phi2: G[0],
    G,
    m2,
    absM,
    chi: N * (m2 - absM * absM),
    chi2: N * m2,
    binder: 0,
  };
}

function finite(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new RangeError(`${name} = ${String(v)} is invalid: ${name} must be a finite number`);
  return v;
}

/**
 * Lattice φ⁴ in the hopping form (see the module comment). Build it with {@link phi4Target} or
 * `makeTarget({ kind: "phi4", L, kappa, lambda })`.
 */
export class Phi4Target implements Target {
  readonly kind = "phi4";
  readonly L: number;
  readonly nvars: number;
  readonly z2Symmetric = true;
  readonly kappa: number;
  readonly lambda: number;
  /** Exact −ln Z, set only for λ = 0 (the Gaussian free field). */
  readonly exactNegLogZ?: number;
  readonly config: Phi4Config;
  private readonly nb: Int32Array;
  private sqrtCov: Circulant2D | null = null;

  constructor(opts: Phi4Options) {
    const { L } = opts;
    checkLatticeSize(L, MAX_PHI4_L);
    const continuum = opts.m2 !== undefined || opts.lambda0 !== undefined;
    const hopping = opts.kappa !== undefined || opts.lambda !== undefined;
    if (continuum && hopping) {
      throw new RangeError("phi4 parameters are ambiguous: give either (kappa, lambda) or (m2, lambda0), not both");
    }
    let kappa: number;
    let lambda: number;
    if (continuum) {
      if (opts.m2 === undefined) throw new RangeError("m2 is missing: the continuum form needs both m2 and lambda0");
      if (opts.lambda0 === undefined) throw new RangeError("lambda0 is missing: the continuum form needs both m2 and lambda0");
      ({ kappa, lambda } = phi4FromContinuum(finite("m2", opts.m2), finite("lambda0", opts.lambda0)));
    } else {
      if (opts.kappa === undefined) throw new RangeError("kappa is missing: the phi4 target needs kappa and lambda (or m2 and lambda0)");
      if (opts.lambda === undefined) throw new RangeError("lambda is missing: the phi4 target needs kappa and lambda (lambda = 0 is the free field)");
      kappa = finite("kappa", opts.kappa);
      lambda = finite("lambda", opts.lambda);
    }
    if (lambda < 0) throw new RangeError(`lambda = ${lambda} is invalid: lambda must be >= 0 (for lambda < 0 the action is unbounded below)`);
    this.L = L;
    this.nvars = L * L;
    this.kappa = kappa;
    this.lambda = lambda;
    this.config = { kind: "phi4", L, kappa, lambda };
    this.nb = neighbours(L);
    if (lambda === 0) this.exactNegLogZ = phi4FreeField(L, kappa).negLogZ;
  }

  /** The action S(φ) of one configuration (row `row` of x). */
  action(x: ArrayLike<number>, row = 0): number {
    const out = new Float64Array(1);
    const N = this.nvars;
    this.logProb(Float64Array.from({ length: N }, (_, i) => x[row * N + i]), 1, out);
    return -out[0];
  }

  /** log π(φ) = −S(φ) per row; gradient 2κΣ_{±μ}φ_{x±μ} − 2φₓ − 4λφₓ(φₓ² − 1). */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void {
    const N = this.nvars;
    if (x.length < batch * N) throw new RangeError(`x has length ${x.length}, expected ≥ ${batch * N} (batch ${batch} × N ${N})`);
    const nb = this.nb;
    const k2 = 2 * this.kappa;
    const lam = this.lambda;
    for (let b = 0; b < batch; b++) {
      const o = b * N;
      let s = 0;
      for (let i = 0; i < N; i++) {
        const p = x[o + i];
        const p2 = p * p;
        const q = p2 - 1;
        s += -k2 * p * (x[o + nb[4 * i]] + x[o + nb[4 * i + 2]]) + p2 + lam * q * q;
        if (grad) {
          const h = x[o + nb[4 * i]] + x[o + nb[4 * i + 1]] + x[o + nb[4 * i + 2]] + x[o + nb[4 * i + 3]];
          grad[o + i] = k2 * h - 2 * p - 4 * lam * p * q;
        }
      }
      out[b] = -s;
    }
  }

  /** The free-field exact values (λ = 0 only; throws otherwise). */
  freeField(): Phi4FreeField {
    if (this.lambda !== 0) throw new RangeError(`the phi4 target has lambda = ${this.lambda}: exact free-field values exist only for lambda = 0`);
    return phi4FreeField(this.L, this.kappa);
  }

  /** Exact draws φ ∼ N(0, A⁻¹) of the free field (λ = 0 only), `batch` rows, applied spectrally. */
  sample(batch: number, rng: Rng): Float64Array {
    if (this.lambda !== 0) throw new RangeError(`exact sampling needs lambda = 0 (the free field); this target has lambda = ${this.lambda}`);
    if (!this.sqrtCov) {
      const a = phi4QuadraticEigenvalues(this.L, this.kappa);
      this.sqrtCov = new Circulant2D(this.L, Float64Array.from(a, (v) => 1 / Math.sqrt(v)));
    }
    const xi = new Float64Array(batch * this.nvars);
    rng.fillNormal(xi);
    const out = new Float64Array(batch * this.nvars);
    this.sqrtCov.apply(xi, batch, out);
    return out;
  }
}

/** The lattice φ⁴ target (see the module comment for the action and the parameter forms). */
export function phi4Target(opts: Phi4Options): Phi4Target {
  return new Phi4Target(opts);
}

// ---------------------------------------------------------------------------------------------
// Observables

/** Per-configuration observables of a batch of `count` configurations. */
export interface Phi4Series {
  readonly L: number;
  readonly count: number;
  /** magnetisation per site m = (1/N) Σ φₓ */
  readonly m: Float64Array;
  readonly absM: Float64Array;
  readonly m2: Float64Array;
  readonly m4: Float64Array;
  /** site average of φₓ² */
  readonly phi2: Float64Array;
  /** G[r][c] = (1/2N) Σₓ [φₓφ_{x+r x̂} + φₓφ_{x+r ŷ}] of configuration c, r = 0 … L/2 */
  readonly G: Float64Array[];
}

/** Magnetisation per site m = (1/N) Σₓ φₓ of each of `count` rows. */
export function magnetisation(x: ArrayLike<number>, L: number, count: number): Float64Array {
  const N = L * L;
  if (x.length < count * N) throw new RangeError(`x has length ${x.length}, expected ≥ ${count} × ${N}`);
  const m = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    let s = 0;
    for (let i = c * N; i < (c + 1) * N; i++) s += x[i];
    m[c] = s / N;
  }
  return m;
}

/**
 * Two-point function of each row averaged over sites and both axes,
 * G(r) = (1/2N) Σₓ [φₓφ_{x+r x̂} + φₓφ_{x+r ŷ}], r = 0 … ⌊L/2⌋; returns G[r] (length count).
 */
export function twoPointFunction(x: ArrayLike<number>, L: number, count: number): Float64Array[] {
  checkLatticeSize(L);
  const N = L * L;
  if (x.length < count * N) throw new RangeError(`x has length ${x.length}, expected ≥ ${count} × ${N}`);
  const R = Math.floor(L / 2);
  const G = Array.from({ length: R + 1 }, () => new Float64Array(count));
  for (let c = 0; c < count; c++) {
    const o = c * N;
    for (let r = 0; r <= R; r++) {
      let s = 0;
      for (let i = 0; i < L; i++) {
        const row = o + i * L;
        const rowD = o + ((i + r) % L) * L;
        for (let j = 0; j < L; j++) {
          const v = x[row + j];
          s += v * (x[row + ((j + r) % L)] + x[rowD + j]);
        }
      }
      G[r][c] = s / (2 * N);
    }
  }
  return G;
}

/** All per-configuration φ⁴ observables of `count` rows of x (row-major L×L each). */
export function phi4Series(x: ArrayLike<number>, L: number, count: number): Phi4Series {
  const m = magnetisation(x, L, count);
  const G = twoPointFunction(x, L, count);
  return {
    L,
    count,
    m,
    absM: Float64Array.from(m, Math.abs),
    m2: Float64Array.from(m, (v) => v * v),
    m4: Float64Array.from(m, (v) => v * v * v * v),
    phi2: G[0],
    G,
  };
}

/** Concatenate series (e.g. one per sampler step) in order. */
export function concatPhi4Series(parts: readonly Phi4Series[]): Phi4Series {
  if (parts.length === 0) throw new RangeError("concatPhi4Series needs at least one part");
  const L = parts[0].L;
  if (parts.some((p) => p.L !== L)) throw new RangeError("concatPhi4Series: all parts must have the same L");
  const count = parts.reduce((s, p) => s + p.count, 0);
  const cat = (f: (p: Phi4Series) => Float64Array): Float64Array => {
    const out = new Float64Array(count);
    let o = 0;
    for (const p of parts) {
      out.set(f(p), o);
      o += p.count;
    }
    return out;
  };
  return {
    L,
    count,
    m: cat((p) => p.m),
    absM: cat((p) => p.absM),
    m2: cat((p) => p.m2),
    m4: cat((p) => p.m4),
    phi2: cat((p) => p.phi2),
    G: parts[0].G.map((_, r) => cat((p) => p.G[r])),
  };
}

/** A value with its error bar. */
export interface Estimate {
  mean: number;
  error: number;
}

export interface Phi4Estimates {
  /** ⟨|M|⟩/N = ⟨|m|⟩ */
  absM: Estimate;
  /** ⟨m²⟩ */
  m2: Estimate;
  /** ⟨m⁴⟩ */
  m4: Estimate;
  /** ⟨φₓ²⟩ */
  phi2: Estimate;
  /** χ = N(⟨m²⟩ − ⟨|m|⟩²) */
  chi: Estimate;
  /** χ₂ = N⟨m²⟩ */
  chi2: Estimate;
  /** U = 1 − ⟨m⁴⟩/(3⟨m²⟩²) */
  binder: Estimate;
  /** G(r), r = 0 … L/2 */
  G: Estimate[];
  /** configurations used (after discarding) */
  n: number;
  nchains: number;
  /** steps per bin used for the jackknife */
  binSize: number;
  /** number of jackknife bins */
  nbins: number;
  /** largest integrated autocorrelation time (in steps) among |m|, m², m⁴, φ² */
  tauMax: number;
  /** true when the binning of every primary series reached a plateau */
  binningConverged: boolean;
}

export interface Phi4EstimateOptions {
  /**
   * Layout of the series: `nchains` parallel chains recorded step by step (step-major: entry
   * t·nchains + c is step t of chain c, as the samplers record one batch per step). Default 1:
   * a single chain, or independent samples.
   */
  nchains?: number;
  /** steps to drop from the start of every chain (thermalisation); default 0 */
  discard?: number;
  /** force the bin length (steps); default from τ_int and the binning plateau */
  binSize?: number;
  /** fewest bins for the jackknife (default 20): the bin length is capped to keep this many */
  minBins?: number;
}

function chainsOf(a: Float64Array, nsteps: number, nchains: number, discard: number): Chains {
  if (nchains === 1 && discard === 0) return { data: a, nchains: 1, nsteps };
  return chainsFromSteps(a, nsteps, nchains, discard);
}

/**
 * Means of the φ⁴ observables with error bars: bins of `binSize` steps within each chain (from
 * the stats module's τ_int and binning plateau unless given), then a delete-one jackknife over the
 * bins for every quantity, linear or not.
 */
export function phi4Estimates(series: Phi4Series, opts: Phi4EstimateOptions = {}): Phi4Estimates {
  const nchains = opts.nchains ?? 1;
  const discard = opts.discard ?? 0;
  const minBins = opts.minBins ?? 20;
  if (!Number.isInteger(nchains) || nchains < 1 || series.count % nchains !== 0) {
    throw new RangeError(`nchains = ${nchains} is invalid: it must be a positive integer dividing the ${series.count} configurations`);
  }
  const nstepsAll = series.count / nchains;
  if (!Number.isInteger(discard) || discard < 0 || discard >= nstepsAll) {
    throw new RangeError(`discard = ${discard} is invalid: it must be an integer in 0..${nstepsAll - 1}`);
  }
  const N = series.L * series.L;
  const prim = {
    absM: chainsOf(series.absM, nstepsAll, nchains, discard),
    m2: chainsOf(series.m2, nstepsAll, nchains, discard),
    m4: chainsOf(series.m4, nstepsAll, nchains, discard),
    phi2: chainsOf(series.phi2, nstepsAll, nchains, discard),
  };
  const G = series.G.map((g) => chainsOf(g, nstepsAll, nchains, discard));
  const nsteps = nstepsAll - discard;
  let tauMax = 1;
  let converged = true;
  let plateauBin = 1;
  for (const c of Object.values(prim)) {
    const t = tauInt(c).tau;
    if (Number.isFinite(t)) tauMax = Math.max(tauMax, t);
    const bin = binning(c);
    if (!bin.converged) converged = false;
    else plateauBin = Math.max(plateauBin, bin.levels[bin.plateauLevel].binSize);
  }
  let binSize = opts.binSize ?? Math.max(plateauBin, 2 ** Math.ceil(Math.log2(Math.max(1, 2 * tauMax))));
  if (!Number.isInteger(binSize) || binSize < 1) throw new RangeError(`binSize = ${binSize} is invalid: it must be an integer ≥ 1`);
  // keep at least minBins bins in total
  const maxBin = Math.max(1, Math.floor(nsteps / Math.ceil(minBins / nchains)));
  if (opts.binSize === undefined) binSize = Math.min(binSize, maxBin);
  binSize = Math.min(binSize, nsteps);
  const perChain = Math.floor(nsteps / binSize);
  const nbins = perChain * nchains;
  if (nbins < 2) throw new RangeError(`only ${nbins} bin(s) of ${binSize} steps: too few configurations for error bars`);
  const off = nsteps - perChain * binSize; // bins aligned to the end of each chain (as in stats.binning)
  const binMeans = (c: Chains): Float64Array => {
    const out = new Float64Array(nbins);
    for (let ch = 0; ch < nchains; ch++) {
      for (let b = 0; b < perChain; b++) {
        let s = 0;
        const start = ch * nsteps + off + b * binSize;
        for (let t = 0; t < binSize; t++) s += c.data[start + t];
        out[ch * perChain + b] = s / binSize;
      }
    }
    return out;
  };
  const bm = { absM: binMeans(prim.absM), m2: binMeans(prim.m2), m4: binMeans(prim.m4), phi2: binMeans(prim.phi2) };
  const bG = G.map(binMeans);
  const total = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);
  /** jackknife of f over delete-one means of the given binned series */
  const jack = (cols: Float64Array[], f: (v: number[]) => number): Estimate => {
    const sums = cols.map(total);
    const full = f(sums.map((s) => s / nbins));
    const vals = new Float64Array(nbins);
    for (let k = 0; k < nbins; k++) vals[k] = f(cols.map((c, j) => (sums[j] - c[k]) / (nbins - 1)));
    const jm = total(vals) / nbins;
    let v = 0;
    for (let k = 0; k < nbins; k++) v += (vals[k] - jm) ** 2;
    return { mean: full, error: Math.sqrt(((nbins - 1) / nbins) * v) };
  };
  const id = (v: number[]): number => v[0];
  return {
    absM: jack([bm.absM], id),
    m2: jack([bm.m2], id),
    m4: jack([bm.m4], id),
    phi2: jack([bm.phi2], id),
    chi: jack([bm.m2, bm.absM], ([m2, a]) => N * (m2 - a * a)),
    chi2: jack([bm.m2], ([m2]) => N * m2),
    binder: jack([bm.m4, bm.m2], ([m4, m2]) => 1 - m4 / (3 * m2 * m2)),
    G: bG.map((g) => jack([g], id)),
    n: nsteps * nchains,
    nchains,
    binSize,
    nbins,
    tauMax,
    binningConverged: converged,
  };
}

/** One-line summary "⟨|m|⟩ = 0.512(3)  χ = …" of estimates (value(error) in the last digits). */
export function formatEstimate(e: Estimate): string {
  if (!Number.isFinite(e.error) || e.error <= 0) return `${e.mean.toPrecision(6)}`;
  const digits = Math.max(0, Math.min(12, 1 - Math.floor(Math.log10(e.error))));
  const err = Math.round(e.error * 10 ** digits);
  return `${e.mean.toFixed(digits)}(${err})`;
}
