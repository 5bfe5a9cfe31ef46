/**
 * From data space to the flow's space, with the log-determinant that keeps likelihoods in the
 * data space (Eq. 1 applied to one more bijector).
 *
 * Data space y. For continuous data (dequantize "none") y is the stored value. For discrete
 * data k ∈ {0, …, 255} (e.g. MNIST pixels), uniform dequantisation draws u ∼ U[0, 1)^N and sets
 *     y = (k + u) / 256  ∈ [0, 1)^N,
 * so that a density q_Y on [0, 1)^N defines a discrete model P(k) = ∫_cube q_Y, and by Jensen
 *     −ln P(k) ≤ E_u[ −ln q_Y((k + u)/256) ] + N ln 256           (Theis et al. 2016).
 *
 * Logit transform (RealNVP, Dinh et al. 2017): with α ∈ (0, ½),
 *     s = α + (1 − 2α) y,   x = logit(s) = ln s − ln(1 − s),
 *     ln|det ∂x/∂y| = Σ_i [ ln(1 − 2α) − ln s_i − ln(1 − s_i) ],
 * and the data-space density is ln q_Y(y) = ln q_X(x) + ln|det ∂x/∂y|.
 *
 * Units (stated with every result): NLL = −ln q_Y(y) in nats per configuration (v1 reports
 * MNIST this way, in the [0, 1]-scaled dequantised space, ≈ −4900 for 32×32 images), nats per
 * variable = NLL / N, and bits per dimension
 *     discrete data:   (NLL + N ln 256) / (N ln 2)   — the usual [0, 256) pixel scale, an upper
 *                      bound on the discrete code length per pixel;
 *     continuous data: NLL / (N ln 2).
 */
import type { Rng } from "../engine/rng.ts";
import type { NpyArray } from "./npy.ts";

export type DequantizeKind = "none" | "uniform";
const DEQUANTIZE_KINDS: readonly DequantizeKind[] = ["none", "uniform"];
/** Levels of discrete data: values 0..255. */
const LEVELS = 256;

export interface Preprocess {
  dequantize: DequantizeKind;
  /** α of the logit transform, in (0, ½); absent: no logit */
  logit?: number;
}

/** Validate a preprocessing choice (RangeError naming the value and the accepted range). */
export function checkPreprocess(p: Preprocess): void {
  if (!DEQUANTIZE_KINDS.includes(p.dequantize)) throw new RangeError(`dequantize = ${String(p.dequantize)} is invalid: accepted values are ${DEQUANTIZE_KINDS.join(", ")}`);
  if (p.logit !== undefined && !(p.logit > 0 && p.logit < 0.5)) throw new RangeError(`logit = ${p.logit} is invalid: α must be a number in (0, 0.5)`);
}

/**
 * Check that the data suit the preprocessing: uniform dequantisation needs integers in
 * 0..255; the logit transform needs y in [0, 1]. The error names the configuration and site.
 */
export function checkDataForPreprocess(values: NpyArray, L: number, p: Preprocess, name: string): void {
  const N = L * L;
  const at = (k: number) => `configuration ${Math.floor(k / N)}, site (${Math.floor((k % N) / L)}, ${k % L})`;
  if (p.dequantize === "uniform" && !(values instanceof Uint8Array)) {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (!Number.isInteger(v) || v < 0 || v >= LEVELS) throw new RangeError(`${name}: ${at(k)} holds ${v}: uniform dequantisation needs integers in 0..${LEVELS - 1}`);
    }
  }
  if (p.dequantize === "none" && p.logit !== undefined) {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (!(v >= 0 && v <= 1)) throw new RangeError(`${name}: ${at(k)} holds ${v}: the logit transform without dequantisation needs values in [0, 1]`);
    }
  }
}

/**
 * Map rows of data to the flow's space: out = x, returns ln|det ∂x/∂y| per row (0 without a
 * logit). `noise` supplies u ∼ U[0, 1) for uniform dequantisation (one draw per value).
 */
export function toModelSpace(values: ArrayLike<number>, batch: number, N: number, p: Preprocess, noise: Rng | null, out: Float64Array | Float32Array): Float64Array {
  const logDet = new Float64Array(batch);
  const a = p.logit;
  const c = a !== undefined ? Math.log(1 - 2 * a) : 0;
  for (let b = 0; b < batch; b++) {
    let ld = 0;
    for (let i = b * N; i < (b + 1) * N; i++) {
      let y = values[i];
      if (p.dequantize === "uniform") {
        if (!noise) throw new Error("uniform dequantisation needs a random generator");
        y = (y + noise.uniform()) / LEVELS;
      }
      if (a !== undefined) {
        const s = a + (1 - 2 * a) * y;
        out[i] = Math.log(s) - Math.log1p(-s);
        ld += c - Math.log(s) - Math.log1p(-s);
      } else {
        out[i] = y;
      }
    }
    logDet[b] = ld;
  }
  return logDet;
}

/** Inverse map for display: model-space x → data-space y (without the noise: y ∈ [0, 1] for dequantised data). */
export function toDataSpace(x: ArrayLike<number>, p: Preprocess): Float64Array {
  const out = new Float64Array(x.length);
  const a = p.logit;
  for (let i = 0; i < x.length; i++) {
    let y = x[i];
    if (a !== undefined) y = (1 / (1 + Math.exp(-y)) - a) / (1 - 2 * a);
    out[i] = y;
  }
  return out;
}

export interface NllUnits {
  /** −ln q_Y(y) per configuration, nats */
  nats: number;
  /** nats per variable */
  natsPerDim: number;
  /** bits per dimension (discrete data on the [0, 256) scale, see the module comment) */
  bitsPerDim: number;
}

/** Convert a data-space NLL (nats per configuration) to the reported units. */
export function nllUnits(nats: number, N: number, p: Preprocess): NllUnits {
  const shift = p.dequantize === "uniform" ? N * Math.log(LEVELS) : 0;
  return { nats, natsPerDim: nats / N, bitsPerDim: (nats + shift) / (N * Math.LN2) };
}
