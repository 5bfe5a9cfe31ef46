/**
 * Exact results for the 2D Ising model H = −Σ_i Σ_{μ∈{x,y}} s_i s_{i+μ} on the periodic L×L lattice
 * (J = 1, k_B = 1, β = 1/T; bond convention of lattice.ts, so L = 2 has doubled bonds).
 *
 * - `kaufmanLogZ`: Kaufman's finite-lattice solution (Phys. Rev. 76, 1232 (1949)) in the form of
 *   Beale, PRL 76, 78 (1996):
 *     Z = ½ (2 sinh 2K)^{N/2} (Z1 + Z2 + Z3 + Z4),
 *     Z1 = Π_{r=0}^{L−1} 2cosh(L γ_{2r+1}/2),  Z2 = Π 2sinh(L γ_{2r+1}/2),
 *     Z3 = Π_{r=0}^{L−1} 2cosh(L γ_{2r}/2),    Z4 = Π 2sinh(L γ_{2r}/2),
 *     cosh γ_k = cosh 2K coth 2K − cos(πk/L) (γ_k > 0 for k ≠ 0),  γ_0 = 2K + ln tanh K.
 *   γ_0 changes sign at T_c (positive below, negative above), so Z4 is negative above T_c: the
 *   sum is done as a signed log-sum-exp, which keeps L = 64 … 1024 and T ∈ [0.5, 10] finite.
 * - `isingLogZEnumerate`, `isingExactObservables`: brute force over all 2^N states (N ≤ 16) via
 *   a Gray-code walk that builds the density of states g(E, M) once per L.
 */
import { checkLatticeSize, neighbours } from "./lattice.ts";

/** Onsager's critical temperature of the 2D Ising model, T_c = 2 / ln(1 + √2) ≈ 2.269185. */
export const T_CRITICAL = 2 / Math.log(1 + Math.SQRT2);

/** Onsager's critical temperature {@link T_CRITICAL}. */
export function criticalTemperature(): number {
  return T_CRITICAL;
}

function checkTemperature(T: number): void {
  if (typeof T !== "number" || !Number.isFinite(T) || T <= 0) {
    throw new RangeError(`T = ${T} is invalid: the temperature must be a finite number > 0`);
  }
}

/** ln(2 cosh y), stable for any real y. */
function log2cosh(y: number): number {
  const a = Math.abs(y);
  return a + Math.log1p(Math.exp(-2 * a));
}

/** ln|2 sinh y| (−∞ at y = 0), stable for any real y. */
function logAbs2sinh(y: number): number {
  const a = Math.abs(y);
  return a + Math.log1p(-Math.exp(-2 * a));
}

/** ln|Σ_i σ_i e^{a_i}| for signs σ_i ∈ {−1, 0, +1}; throws if the sum is not positive. */
function signedLogSumExp(logAbs: number[], signs: number[]): number {
  let m = -Infinity;
  for (let i = 0; i < logAbs.length; i++) if (signs[i] !== 0 && logAbs[i] > m) m = logAbs[i];
  if (m === -Infinity) throw new Error("signedLogSumExp: all terms vanish");
  let s = 0;
  for (let i = 0; i < logAbs.length; i++) if (signs[i] !== 0) s += signs[i] * Math.exp(logAbs[i] - m);
  if (!(s > 0)) throw new Error(`signedLogSumExp: non-positive sum ${s}`);
  return m + Math.log(s);
}

/**
 * γ_k of Kaufman's solution for k = 0 … 2L−1 at coupling K = β.
 * For k ≠ 0, cosh γ_k − 1 = (1 − sinh 2K)²/sinh 2K + 2 sin²(πk/2L), written so that γ_k
 * stays accurate near T_c where it is small: γ = acosh(1 + d) = log1p(d + √(d(d+2))).
 */
export function kaufmanGammas(L: number, K: number): Float64Array {
  const g = new Float64Array(2 * L);
  const s2 = Math.sinh(2 * K);
  const base = ((1 - s2) * (1 - s2)) / s2;
  // γ_0 = 2K + ln tanh K, with ln tanh K = ln(1 − e^{−2K}) − ln(1 + e^{−2K}) (stable for large K)
  const e = Math.exp(-2 * K);
  g[0] = 2 * K + Math.log1p(-e) - Math.log1p(e);
  for (let k = 1; k < 2 * L; k++) {
    const sn = Math.sin((Math.PI * k) / (2 * L));
    const d = base + 2 * sn * sn;
    g[k] = Math.log1p(d + Math.sqrt(d * (d + 2)));
  }
  return g;
}

/** ln Z_Ising of the periodic L×L lattice at temperature T (Kaufman 1949). Any integer L ≥ 2. */
export function kaufmanLogZ(L: number, T: number): number {
  checkLatticeSize(L);
  checkTemperature(T);
  const K = 1 / T;
  const N = L * L;
  const g = kaufmanGammas(L, K);
  let l1 = 0,
    l2 = 0,
    l3 = 0,
    l4 = 0;
  let sign4 = 1;
  for (let r = 0; r < L; r++) {
    const yo = (L * g[2 * r + 1]) / 2;
    const ye = (L * g[2 * r]) / 2;
    l1 += log2cosh(yo);
    l2 += logAbs2sinh(yo);
    l3 += log2cosh(ye);
    l4 += logAbs2sinh(ye);
    if (ye < 0)
      sign4 = -sign4; // only γ_0 can be negative (above T_c)
    else if (ye === 0) sign4 = 0; // exactly at T_c: Z4 = 0
  }
  // ln[(2 sinh 2K)^{N/2}] with ln sinh 2K = 2K + ln(1 − e^{−4K}) − ln 2
  const logPref = (N / 2) * (Math.LN2 + 2 * K + Math.log1p(-Math.exp(-4 * K)) - Math.LN2);
  return -Math.LN2 + logPref + signedLogSumExp([l1, l2, l3, l4], [1, 1, 1, sign4]);
}

/**
 * Exact internal energy per site ⟨H⟩/N = −(1/N) ∂ ln Z/∂β from Kaufman's ln Z by a Richardson-
 * extrapolated central difference in β (truncation O(h⁴), absolute accuracy ~1e-9).
 */
export function kaufmanEnergyPerSite(L: number, T: number): number {
  checkLatticeSize(L);
  checkTemperature(T);
  const beta = 1 / T;
  const h = 1e-3 * beta;
  const f = (b: number) => kaufmanLogZ(L, 1 / b);
  const d1 = (f(beta + h) - f(beta - h)) / (2 * h);
  const d2 = (f(beta + 2 * h) - f(beta - 2 * h)) / (4 * h);
  const d = (4 * d1 - d2) / 3;
  return -d / (L * L);
}

/** Free energy per site f = −T ln Z / N from Kaufman's solution. */
export function kaufmanFreeEnergyPerSite(L: number, T: number): number {
  return (-T * kaufmanLogZ(L, T)) / (L * L);
}

// ---------------------------------------------------------------- brute-force enumeration

/** Largest L for which enumeration over 2^(L·L) states is allowed. */
export const MAX_ENUMERATE_L = 4;

/**
 * Density of states g(H, M) of the periodic L×L Ising model: counts[e*(2N+1) + m] is the number
 * of configurations with H = e − 2N and M = Σ s_i = m − N (H ∈ −2N … 2N, M ∈ −N … N; stored
 * densely, most entries zero).
 */
export interface DensityOfStates {
  readonly L: number;
  readonly N: number;
  /** counts[(H + 2N) * (2N + 1) + (M + N)] */
  readonly counts: Float64Array;
}

const dosCache = new Map<number, DensityOfStates>();

/** g(H, M) by a Gray-code walk over all 2^N states (one spin flip per step). L ≤ 4. */
export function isingDensityOfStates(L: number): DensityOfStates {
  checkLatticeSize(L, MAX_ENUMERATE_L);
  const cached = dosCache.get(L);
  if (cached) return cached;
  const N = L * L;
  const nb = neighbours(L);
  const s = new Int8Array(N).fill(1);
  const W = 2 * N + 1;
  const counts = new Float64Array((4 * N + 1) * W);
  let H = -2 * N;
  let M = N;
  counts[(H + 2 * N) * W + (M + N)] += 1;
  const total = 2 ** N;
  for (let k = 1; k < total; k++) {
    const f = 31 - Math.clz32(k & -k); // the bit that changes in the Gray code
    const h = s[nb[4 * f]] + s[nb[4 * f + 1]] + s[nb[4 * f + 2]] + s[nb[4 * f + 3]];
    H += 2 * s[f] * h; // flipping s_f changes −s_f·h by 2 s_f h
    M -= 2 * s[f];
    s[f] = -s[f];
    counts[(H + 2 * N) * W + (M + N)] += 1;
  }
  const dos: DensityOfStates = { L, N, counts };
  dosCache.set(L, dos);
  return dos;
}

/** ln Z_Ising by brute-force enumeration (L ≤ 4), log-sum-exp over the density of states. */
export function isingLogZEnumerate(L: number, T: number): number {
  checkTemperature(T);
  const { N, counts } = isingDensityOfStates(L);
  const beta = 1 / T;
  const W = 2 * N + 1;
  // weights relative to the ground state H = −2N: e^{−β(H + 2N)} ≤ 1, and the sum is ≥ 1
  let z = 0;
  for (let e = 0; e <= 4 * N; e++) {
    let c = 0;
    for (let m = 0; m < W; m++) c += counts[e * W + m];
    if (c > 0) z += c * Math.exp(-beta * e);
  }
  return 2 * N * beta + Math.log(z);
}

export interface IsingObservables {
  /** ⟨H⟩ / N */
  energyPerSite: number;
  /** ⟨|m|⟩ with m = Σ s_i / N */
  absMagnetisation: number;
  /** S = ⟨(Σ s_i)²⟩ / N² (uniform structure factor, Fig. 3b) */
  structureFactor: number;
  /** ln Z */
  logZ: number;
}

/** Exact thermal averages by enumeration (L ≤ 4). */
export function isingExactObservables(L: number, T: number): IsingObservables {
  checkTemperature(T);
  const { N, counts } = isingDensityOfStates(L);
  const beta = 1 / T;
  const W = 2 * N + 1;
  let z = 0,
    zE = 0,
    zAbsM = 0,
    zM2 = 0;
  for (let e = 0; e <= 4 * N; e++) {
    const w = Math.exp(-beta * e);
    const H = e - 2 * N;
    for (let m = 0; m < W; m++) {
      const c = counts[e * W + m];
      if (c === 0) continue;
      const M = m - N;
      const cw = c * w;
      z += cw;
      zE += cw * H;
      zAbsM += cw * Math.abs(M);
      zM2 += cw * M * M;
    }
  }
  return {
    energyPerSite: zE / z / N,
    absMagnetisation: zAbsM / z / N,
    structureFactor: zM2 / z / (N * N),
    logZ: 2 * N * beta + Math.log(z),
  };
}
