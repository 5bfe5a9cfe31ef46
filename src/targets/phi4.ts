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
 * Observables of φ⁴ configurations (|M|/N, χ, Binder cumulant, G(r) with error bars) are in
 * phi4-observables.ts.
 */
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
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
  if (typeof m2 !== "number" || !Number.isFinite(m2))
    throw new RangeError(`m2 = ${m2} is invalid: m2 must be a finite number`);
  if (typeof lambda0 !== "number" || !Number.isFinite(lambda0) || lambda0 < 0) {
    throw new RangeError(`lambda0 = ${lambda0} is invalid: lambda0 must be a finite number ≥ 0`);
  }
  const b = m2 + 4;
  const den = b + Math.sqrt(b * b + (4 * lambda0) / 3);
  if (!(den > 0))
    throw new RangeError(
      `m2 = ${m2} with lambda0 = 0 is invalid: the free field needs m2 > -4 for a positive hopping parameter`,
    );
  const kappa = 2 / den;
  return { kappa, lambda: (lambda0 * kappa * kappa) / 6 };
}

/** Hopping form (κ > 0, λ) → continuum-style (m², λ₀). */
export function phi4ToContinuum(kappa: number, lambda: number): { m2: number; lambda0: number } {
  if (!(kappa > 0) || !Number.isFinite(kappa))
    throw new RangeError(`kappa = ${kappa} is invalid: the continuum parameters need kappa > 0`);
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
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new RangeError(`${name} = ${String(v)} is invalid: ${name} must be a finite number`);
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
      if (opts.lambda0 === undefined)
        throw new RangeError("lambda0 is missing: the continuum form needs both m2 and lambda0");
      ({ kappa, lambda } = phi4FromContinuum(finite("m2", opts.m2), finite("lambda0", opts.lambda0)));
    } else {
      if (opts.kappa === undefined)
        throw new RangeError("kappa is missing: the phi4 target needs kappa and lambda (or m2 and lambda0)");
      if (opts.lambda === undefined)
        throw new RangeError(
          "lambda is missing: the phi4 target needs kappa and lambda (lambda = 0 is the free field)",
        );
      kappa = finite("kappa", opts.kappa);
      lambda = finite("lambda", opts.lambda);
    }
    if (lambda < 0)
      throw new RangeError(
        `lambda = ${lambda} is invalid: lambda must be >= 0 (for lambda < 0 the action is unbounded below)`,
      );
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
    this.logProb(
      Float64Array.from({ length: N }, (_, i) => x[row * N + i]),
      1,
      out,
    );
    return -out[0];
  }

  /** log π(φ) = −S(φ) per row; gradient 2κΣ_{±μ}φ_{x±μ} − 2φₓ − 4λφₓ(φₓ² − 1). */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void {
    const N = this.nvars;
    if (x.length < batch * N)
      throw new RangeError(`x has length ${x.length}, expected ≥ ${batch * N} (batch ${batch} × N ${N})`);
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
    if (this.lambda !== 0)
      throw new RangeError(
        `the phi4 target has lambda = ${this.lambda}: exact free-field values exist only for lambda = 0`,
      );
    return phi4FreeField(this.L, this.kappa);
  }

  /** Exact draws φ ∼ N(0, A⁻¹) of the free field (λ = 0 only), `batch` rows, applied spectrally. */
  sample(batch: number, rng: Rng): Float64Array {
    if (this.lambda !== 0)
      throw new RangeError(`exact sampling needs lambda = 0 (the free field); this target has lambda = ${this.lambda}`);
    if (!this.sqrtCov) {
      const a = phi4QuadraticEigenvalues(this.L, this.kappa);
      this.sqrtCov = new Circulant2D(
        this.L,
        Float64Array.from(a, (v) => 1 / Math.sqrt(v)),
      );
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
