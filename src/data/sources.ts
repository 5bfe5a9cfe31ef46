/**
 * Data drawn from known densities, so that maximum likelihood (forward KL) and probability
 * density distillation (reverse KL) can be compared on the same physics.
 *
 * Relaxed Ising (Eq. 7): π(x) ∝ exp(−½ xᵀM⁻¹x) Π_i cosh x_i with M = K + αI. Writing
 * Π cosh x_i = 2^{−N} Σ_s e^{sᵀx} gives the joint density of fields and spins
 *     π(x, s) ∝ exp(−½ xᵀM⁻¹x + sᵀx) = exp(−½ (x − Ms)ᵀ M⁻¹ (x − Ms)) · exp(½ sᵀMs),
 * so  s ∼ exp(½ sᵀMs) ∝ exp(−βH(s))  (½ sᵀMs = −βH(s) + αN/2: the Ising Boltzmann weight)
 * and x | s ∼ N(Ms, M)  exactly. We draw s by Wolff cluster Monte Carlo (sample/wolff.ts) and
 * then x = Ms + M^{1/2}ξ, ξ ∼ N(0, I), with M and M^{1/2} applied spectrally (M is circulant
 * with eigenvalues μ(p, q), so M^{1/2} has eigenvalues √μ).
 *
 * Gaussian target: exact independent draws x ∼ N(0, A⁻¹) (targets/gaussian.ts).
 */
import { Rng } from "../engine/rng.ts";
import { WolffChain } from "../sample/wolff.ts";
import type { MeanEstimate } from "../engine/stats.ts";
import { estimateMean } from "../engine/stats.ts";
import { gaussianTarget } from "../targets/gaussian.ts";
import type { RelaxedIsing } from "../targets/ising.ts";
import { relaxedIsing } from "../targets/ising.ts";
import { isingEnergy } from "../targets/lattice.ts";
import { Circulant2D } from "../targets/spectral.ts";

/** x = M s + M^{1/2} ξ for each of `batch` rows of spins s: an exact draw from π(x | s). */
export function fieldsGivenSpins(target: RelaxedIsing, s: ArrayLike<number>, batch: number, rng: Rng): Float64Array {
  const N = target.nvars;
  if (s.length !== batch * N) throw new RangeError(`spins have length ${s.length}, expected batch × N = ${batch} × ${N}`);
  const mean = new Float64Array(batch * N);
  new Circulant2D(target.L, target.eigenvalues).apply(s, batch, mean);
  const xi = new Float64Array(batch * N);
  rng.fillNormal(xi);
  const noise = new Float64Array(batch * N);
  new Circulant2D(target.L, Float64Array.from(target.eigenvalues, Math.sqrt)).apply(xi, batch, noise);
  for (let k = 0; k < mean.length; k++) mean[k] += noise[k];
  return mean;
}

export interface IsingDataOptions {
  L: number;
  T: number;
  /** configurations to draw */
  n: number;
  /** Wolff sweep-equivalents between stored configurations (thinning), ≥ 1 */
  sweepsBetween: number;
  /** discarded sweep-equivalents at the start */
  warmup: number;
  seed: number;
  /** called after each stored configuration (progress) */
  onConfiguration?: (k: number) => void;
}

export interface IsingData {
  /** n × N relaxed fields x ∼ π(x) */
  x: Float64Array;
  /** the Wolff spins s the fields were drawn from (n × N, ±1) */
  spins: Int8Array;
  /** Ising energy per site of the stored spins (error bar corrected by τ_int) */
  energyPerSite: MeanEstimate;
  /** |m| of the stored spins */
  absMagnetisation: MeanEstimate;
  clustersPerSweep: number;
  target: RelaxedIsing;
}

/** Configurations of the relaxed Ising model: Wolff spins, then fields x | s (see the module comment). */
export function drawIsingData(o: IsingDataOptions): IsingData {
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`n = ${o.n} is invalid: n must be an integer ≥ 1`);
  if (!Number.isInteger(o.sweepsBetween) || o.sweepsBetween < 1) throw new RangeError(`sweeps-between = ${o.sweepsBetween} is invalid: it must be an integer ≥ 1`);
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new RangeError(`warmup = ${o.warmup} is invalid: it must be an integer ≥ 0`);
  const target = relaxedIsing({ L: o.L, T: o.T });
  const N = target.nvars;
  const root = Rng.fromSeed(o.seed);
  const chainRng = root.fork(1);
  const fieldRng = root.fork(2);
  const chain = new WolffChain(o.L, o.T, chainRng);
  chain.thermalise(o.warmup);
  const spins = new Int8Array(o.n * N);
  const e = new Float64Array(o.n);
  const am = new Float64Array(o.n);
  for (let k = 0; k < o.n; k++) {
    for (let t = 0; t < o.sweepsBetween; t++) chain.sweep();
    spins.set(chain.s, k * N);
    let m = 0;
    for (let i = 0; i < N; i++) m += chain.s[i];
    e[k] = isingEnergy(chain.s, o.L) / N;
    am[k] = Math.abs(m) / N;
    o.onConfiguration?.(k + 1);
  }
  const x = fieldsGivenSpins(target, spins, o.n, fieldRng);
  return { x, spins, energyPerSite: estimateMean(e), absMagnetisation: estimateMean(am), clustersPerSweep: chain.clustersPerSweep, target };
}

/** n exact independent draws from the Gaussian target N(0, A⁻¹) with the default circulant precision (or the given κ). */
export function drawGaussianData(o: { L: number; n: number; seed: number; kappa?: number }): { x: Float64Array; targetConfig: Record<string, number | string | boolean> } {
  if (!Number.isInteger(o.n) || o.n < 1) throw new RangeError(`n = ${o.n} is invalid: n must be an integer ≥ 1`);
  const t = gaussianTarget({ L: o.L, ...(o.kappa !== undefined ? { kappa: o.kappa } : {}) });
  return { x: t.sample(o.n, Rng.fromSeed(o.seed)), targetConfig: { ...t.config } };
}
