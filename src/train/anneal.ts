/**
 * Temperature annealing of the target during the first part of training: the flow is trained
 * against π_β'(x) at an inverse temperature β' = f·β that rises in equal steps from
 * f = betaStart to f = 1 (the target's own β) over the first `fraction` of the epochs, then
 * against π itself. A hot target is nearly Gaussian, so the flow starts close to its
 * optimum and follows it down to T; trained at T_c from the start, some seeds stall in a local
 * minimum of the reverse KL at about twice the final error (docs/quality.md: β annealing).
 *
 * Annealing is a property of the epoch only, so a resumed run trains against the same targets
 * as an uninterrupted one. The variational bound of the paper (Eq. 3) holds for the final
 * target once annealing has ended; during annealing the reported F belongs to π_β'.
 */

import type { TargetConfig } from "../targets/registry.ts";

export interface AnnealConfig {
  /** fraction of the epochs over which β rises to the target's, in (0, 1) */
  fraction: number;
  /** the starting β as a fraction of the target's β, in (0, 1) */
  betaStart: number;
  /** number of equal β steps (default ANNEAL_STEPS) */
  steps?: number;
}

/** Default number of β steps: the target is rebuilt this many times (cheap, and rare). */
export const ANNEAL_STEPS = 20;

/** The defaults of `--anneal-from`. */
export const ANNEAL_BETA_START = 0.5;

/** A RangeError naming the bad value when the annealing settings cannot be used. */
export function validateAnnealConfig(a: AnnealConfig): void {
  if (!(a.fraction > 0 && a.fraction < 1))
    throw new RangeError(`anneal = ${a.fraction} is invalid: it must be a fraction of the epochs in (0, 1)`);
  if (!(a.betaStart > 0 && a.betaStart < 1))
    throw new RangeError(`anneal-from = ${a.betaStart} is invalid: it must be a fraction of β in (0, 1)`);
  const s = a.steps ?? ANNEAL_STEPS;
  if (!Number.isInteger(s) || s < 1 || s > 10_000)
    throw new RangeError(`anneal steps = ${s} is invalid: it must be an integer in 1..10000`);
}

/** Epochs of the annealing phase: the first ⌊fraction × epochs⌋ (0 without annealing). */
export function annealEpochs(a: AnnealConfig | undefined, epochs: number): number {
  return a ? Math.floor(a.fraction * epochs) : 0;
}

/**
 * The factor f = β'/β of the epoch with 0-based index `epoch` out of `epochs`: betaStart + (1 −
 * betaStart)·k/steps in step k of the annealing phase, 1 after it (and without annealing).
 */
export function annealFactor(a: AnnealConfig | undefined, epoch: number, epochs: number): number {
  const n = annealEpochs(a, epochs);
  if (!a || epoch >= n) return 1;
  const steps = a.steps ?? ANNEAL_STEPS;
  const k = Math.floor((epoch / n) * steps);
  return a.betaStart + ((1 - a.betaStart) * k) / steps;
}

type TargetSpec = TargetConfig;

/** True when the target config has a temperature T that annealing can raise. */
export function hasTemperature(spec: TargetSpec): boolean {
  return typeof spec.T === "number" && spec.T > 0 && Number.isFinite(spec.T);
}

/**
 * The target config at β' = f·β: the same config with T/f. Throws a RangeError for targets
 * without a temperature (only configs with a numeric T, such as the Ising target, can be annealed).
 */
export function annealedTargetSpec(spec: TargetSpec, factor: number): TargetSpec {
  if (!hasTemperature(spec))
    throw new RangeError(
      `anneal needs a target with a temperature T > 0; target ${JSON.stringify(spec)} has none (use it without --anneal)`,
    );
  if (factor === 1) return spec;
  return { ...spec, T: (spec.T as number) / factor };
}
