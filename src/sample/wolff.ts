/**
 * Wolff single-cluster Monte Carlo for the 2D Ising model on the L×L torus
 * (H = −Σᵢ Σ_μ sᵢ s_{i+μ}, the convention of targets/lattice.ts). It is independent of the flow
 * and of the relaxed model, so it gives reference values of Ising observables (energy per
 * site, ⟨|m|⟩, structure factor S = ⟨m²⟩) at lattice sizes where enumeration is impossible —
 * e.g. the 16×16 critical structure factor of Fig. 3b — with binning/τ_int error bars.
 */
import type { Rng } from "../engine/rng.ts";
import { isingEnergy, neighbours } from "../targets/lattice.ts";
import type { MeanEstimate } from "../engine/stats.ts";
import { estimateMean } from "../engine/stats.ts";

export interface WolffOptions {
  L: number;
  T: number;
  /** measurements, each after a fixed number of clusters (≈ one sweep, set from the warm-up) */
  sweeps: number;
  /** discarded sweep-equivalents at the start */
  warmup: number;
  rng: Rng;
}

export interface WolffResult {
  energyPerSite: MeanEstimate;
  absMagnetisation: MeanEstimate;
  structureFactor: MeanEstimate;
  clusters: number;
}

/**
 * A Wolff Markov chain on the L×L torus: `flipClusters(c)` grows and flips c clusters; after
 * `thermalise(warmup)` (which also fixes `clustersPerSweep`, about one sweep of flipped spins),
 * `sweep()` is one measurement interval. The spins are `s` (±1, site (i, j) at i·L + j).
 */
export class WolffChain {
  readonly L: number;
  readonly N: number;
  readonly s: Int8Array;
  clusters = 0;
  flipped = 0;
  clustersPerSweep = 1;
  private readonly nb: Int32Array;
  private readonly deg: number;
  private readonly pAdd: number;
  private readonly stack: Int32Array;

  constructor(
    L: number,
    T: number,
    private readonly rng: Rng,
  ) {
    if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`T = ${T} is invalid: T must be a finite number > 0`);
    if (!Number.isInteger(L) || L < 2) throw new RangeError(`L = ${L} is invalid: L must be an integer ≥ 2`);
    this.L = L;
    this.N = L * L;
    this.nb = neighbours(L);
    this.deg = this.nb.length / this.N;
    this.pAdd = 1 - Math.exp(-2 / T); // bond activation probability for J = 1, β = 1/T
    this.s = new Int8Array(this.N);
    for (let i = 0; i < this.N; i++) this.s[i] = rng.uniform() < 0.5 ? 1 : -1;
    this.stack = new Int32Array(this.N);
  }

  flipClusters(count: number): void {
    const { s, nb, deg, pAdd, stack, rng, N } = this;
    for (let c = 0; c < count; c++) {
      const seed = rng.int(N);
      const spin = s[seed];
      s[seed] = -spin as -1 | 1;
      let top = 0;
      stack[top++] = seed;
      this.flipped++;
      while (top > 0) {
        const i = stack[--top];
        for (let k = 0; k < deg; k++) {
          const j = nb[i * deg + k];
          if (s[j] === spin && rng.uniform() < pAdd) {
            s[j] = -spin as -1 | 1;
            stack[top++] = j;
            this.flipped++;
          }
        }
      }
      this.clusters++;
    }
  }

  /**
   * Discard `warmup` sweep-equivalents and set the clusters per sweep from the mean cluster
   * size seen. A fixed number of clusters between measurements: stopping "once N spins were
   * flipped" would be a state-dependent stopping time and bias the measured distribution.
   */
  thermalise(warmup: number): void {
    this.flipClusters(Math.max(10, warmup * 4));
    this.clustersPerSweep = Math.max(1, Math.round((this.clusters * this.N) / Math.max(1, this.flipped)));
  }

  sweep(): void {
    this.flipClusters(this.clustersPerSweep);
  }
}

export function wolffIsing(o: WolffOptions): WolffResult {
  const { L, T, rng } = o;
  const chain = new WolffChain(L, T, rng);
  const N = chain.N;
  const s = chain.s;
  chain.thermalise(o.warmup);
  const e = new Float64Array(o.sweeps);
  const am = new Float64Array(o.sweeps);
  const sf = new Float64Array(o.sweeps);
  for (let t = 0; t < o.sweeps; t++) {
    chain.sweep();
    let m = 0;
    for (let i = 0; i < N; i++) m += s[i];
    m /= N;
    e[t] = isingEnergy(s, L) / N;
    am[t] = Math.abs(m);
    sf[t] = m * m;
  }
  return {
    energyPerSite: estimateMean(e),
    absMagnetisation: estimateMean(am),
    structureFactor: estimateMean(sf),
    clusters: chain.clusters,
  };
}
