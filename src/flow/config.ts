import { isPowerOfTwo } from "../engine/math.ts";
import type { Activation } from "../kernels/activation.ts";
import { ACTIVATIONS } from "../kernels/activation.ts";

/** Architecture hyper-parameters of a hierarchical Real NVP flow (Fig. 1a, 2). */
export type LayoutKind = "mera" | "tebd" | "tree";

export interface FlowConfig {
  /** Linear lattice size, a power of two ≥ 2. */
  L: number;
  /** Block layout: MERA (Fig. 2c, default), disentanglers only (TEBD, Fig. 2a), decimators only (tree, Fig. 2b). */
  layout: LayoutKind;
  /** Number of renormalisation levels, 1 … log2(L); fewer removes top levels (App. E's trapezoid). */
  depth: number;
  /** Real NVP couplings per 2×2 block (`nlayers` of the original code). */
  nlayers: number;
  /** Hidden layers of each s and t network (`nmlp`). */
  nmlp: number;
  /** Units per hidden layer (`nhidden`). */
  nhidden: number;
  /** Hidden activation of the s and t networks (kernels/activation.ts); absent = "elu", the paper's. */
  activation?: Activation;
  /**
   * Repetitions of each level's layer group (`nrepeat` of the original code, "repeat of mera
   * block"), 1..8; absent means 1, and configs with 1 omit the field (layout.ts: buildLayers).
   */
  nrepeat?: number;
}

/** Accepted range of {@link FlowConfig.nrepeat}. */
export const NREPEAT_MAX = 8;

/** The number of repetitions of each level's layer group (1 when the field is absent). */
export function nrepeatOf(c: Pick<FlowConfig, "nrepeat">): number {
  return c.nrepeat ?? 1;
}

/**
 * The config with its optional fields left out where they hold their defaults (nrepeat 1,
 * activation "elu"), so stored configs (and checkpoints, and resumability) of runs that do not
 * use them are those of the paper's flow.
 */
export function canonicalFlowConfig(c: FlowConfig): FlowConfig {
  const { nrepeat, activation, ...rest } = c;
  return {
    ...rest,
    ...(nrepeat !== undefined && nrepeat !== 1 ? { nrepeat } : {}),
    ...(activation !== undefined && activation !== "elu" ? { activation } : {}),
  };
}

export function log2Int(L: number): number {
  return Math.round(Math.log2(L));
}

/** Throws a RangeError naming the offending value and the accepted range. */
export function validateFlowConfig(c: FlowConfig): void {
  if (!Number.isInteger(c.L) || c.L < 2 || !isPowerOfTwo(c.L)) {
    throw new RangeError(`L = ${c.L} is invalid: L must be a power of two ≥ 2 (2, 4, 8, 16, 32, 64)`);
  }
  const maxDepth = log2Int(c.L);
  if (!Number.isInteger(c.depth) || c.depth < 1 || c.depth > maxDepth) {
    throw new RangeError(`depth = ${c.depth} is invalid: for L = ${c.L} depth must be an integer in 1..${maxDepth}`);
  }
  if (!["mera", "tebd", "tree"].includes(c.layout)) {
    throw new RangeError(`layout = ${c.layout} is invalid: accepted values are mera, tebd, tree`);
  }
  if (c.activation !== undefined && !ACTIVATIONS.includes(c.activation)) {
    throw new RangeError(`activation = ${c.activation} is invalid: accepted values are ${ACTIVATIONS.join(", ")}`);
  }
  for (const [name, v, lo, hi] of [
    ["nlayers", c.nlayers, 1, 64],
    ["nmlp", c.nmlp, 0, 16],
    ["nhidden", c.nhidden, 1, 1024],
    // not nrepeatOf: a null (from JSON) must be refused, not read as 1
    ["nrepeat", c.nrepeat === undefined ? 1 : c.nrepeat, 1, NREPEAT_MAX],
  ] as const) {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`${name} = ${v} is invalid: ${name} must be an integer in ${lo}..${hi}`);
    }
  }
}
