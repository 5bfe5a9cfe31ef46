/**
 * Observables of lattice φ⁴ configurations (phi4.ts has the target and the action).
 *
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
import { binning, chainsFromSteps, tauInt, type Chains } from "../engine/stats.ts";
import { checkLatticeSize } from "./lattice.ts";

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
    throw new RangeError(
      `nchains = ${nchains} is invalid: it must be a positive integer dividing the ${series.count} configurations`,
    );
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
  if (!Number.isInteger(binSize) || binSize < 1)
    throw new RangeError(`binSize = ${binSize} is invalid: it must be an integer ≥ 1`);
  // keep at least minBins bins in total
  const maxBin = Math.max(1, Math.floor(nsteps / Math.ceil(minBins / nchains)));
  if (opts.binSize === undefined) binSize = Math.min(binSize, maxBin);
  binSize = Math.min(binSize, nsteps);
  const perChain = Math.floor(nsteps / binSize);
  const nbins = perChain * nchains;
  if (nbins < 2)
    throw new RangeError(`only ${nbins} bin(s) of ${binSize} steps: too few configurations for error bars`);
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
