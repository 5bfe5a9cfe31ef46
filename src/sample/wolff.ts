/**
 * Wolff single-cluster Monte Carlo for the 2D Ising model on the L×L torus
 * (H = −Σᵢ Σ_μ sᵢ s_{i+μ}, the convention of targets/lattice.ts). It is independent of the flow
 * and of the relaxed model, so it gives reference values of Ising observables (energy per
 * site, ⟨|m|⟩, structure factor S = ⟨m²⟩) at lattice sizes where enumeration is impossible —
 * e.g. the 16×16 critical structure factor of Fig. 3b — with binning/τ_int error bars.
 */
import type { Rng } from "../engine/rng.ts";
import { isingEnergy, neighbours } from "../targets/lattice.ts";
import type { MeanEstimate } from "./stats.ts";
import { estimateMean } from "./stats.ts";

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

export function wolffIsing(o: WolffOptions): WolffResult {
  const { L, T, rng } = o;
  if (!(T > 0) || !Number.isFinite(T)) throw new RangeError(`T = ${T} is invalid: T must be a finite number > 0`);
  if (!Number.isInteger(L) || L < 2) throw new RangeError(`L = ${L} is invalid: L must be an integer ≥ 2`);
  const N = L * L;
  const nb = neighbours(L);
  const deg = nb.length / N;
  const pAdd = 1 - Math.exp(-2 / T); // bond activation probability for J = 1, β = 1/T
  const s = new Int8Array(N);
  for (let i = 0; i < N; i++) s[i] = rng.uniform() < 0.5 ? 1 : -1;
  const stack = new Int32Array(N);
  let clusters = 0;
  let flipped = 0;
  // A fixed number of clusters between measurements: stopping "once N spins were flipped" would
  // be a state-dependent stopping time and bias the measured distribution.
  const flipClusters = (count: number) => {
    for (let c = 0; c < count; c++) {
      const seed = rng.int(N);
      const spin = s[seed];
      s[seed] = -spin as -1 | 1;
      let top = 0;
      stack[top++] = seed;
      flipped++;
      while (top > 0) {
        const i = stack[--top];
        for (let k = 0; k < deg; k++) {
          const j = nb[i * deg + k];
          if (s[j] === spin && rng.uniform() < pAdd) {
            s[j] = -spin as -1 | 1;
            stack[top++] = j;
            flipped++;
          }
        }
      }
      clusters++;
    }
  };
  flipClusters(Math.max(10, o.warmup * 4));
  const perSweep = Math.max(1, Math.round((clusters * N) / Math.max(1, flipped)));
  const sweep = () => flipClusters(perSweep);
  const e = new Float64Array(o.sweeps);
  const am = new Float64Array(o.sweeps);
  const sf = new Float64Array(o.sweeps);
  for (let t = 0; t < o.sweeps; t++) {
    sweep();
    let m = 0;
    for (let i = 0; i < N; i++) m += s[i];
    m /= N;
    e[t] = isingEnergy(s, L) / N;
    am[t] = Math.abs(m);
    sf[t] = m * m;
  }
  return { energyPerSite: estimateMean(e), absMagnetisation: estimateMean(am), structureFactor: estimateMean(sf), clusters };
}
