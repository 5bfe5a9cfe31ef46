/**
 * neuralrg: Neural Network Renormalization Group (Li & Wang, PRL 121, 260601 (2018)) as a
 * library. Import from "neuralrg".
 *
 * Namespaces, in the order data flows (docs/architecture.md):
 * - {@link targets}: unnormalised lattice densities π(x) — relaxed Ising, Gaussian, lattice φ⁴,
 *   user-defined (`defineTarget`, module files) — with exact −ln Z where known, and observables.
 * - {@link flows}: the hierarchical (MERA) Real NVP flow: config, parameters, generate/infer/ln q.
 * - {@link train}: probability density distillation, Adam, trainers, training runs on disk, and
 *   maximum-likelihood training on data (NLL = forward KL, `runFit`: `neuralrg fit`).
 * - {@link sample}: samplers (MIS, importance weights, latent and physical HMC) and error analysis.
 * - {@link analysis}: collective variables, gradient response, mutual information, latent wander.
 * - {@link data}: data sets, dequantisation, data from known densities.
 *
 * Conventions: a batch of B configurations of an L×L lattice is a flat Float64Array (or
 * Float32Array) of length B·L², row b at [b·L², (b+1)·L²), site (i, j) at offset i·L + j.
 * Randomness is explicit: pass an {@link Rng} (or a seed).
 *
 * @example
 * ```ts
 * import { train, targets } from "neuralrg";
 * const config = train.trainConfig({ kind: "phi4", L: 4, kappa: 0.2, lambda: 0 }, { epochs: 300, batch: 256 });
 * const { summary } = await train.runTraining({ dir: "runs/free-field", config, savePeriod: 100, progress: "off" });
 * console.log(summary.F, summary.exact); // variational F ≥ exact −ln Z
 * ```
 * @packageDocumentation
 */
export type { Real, DType } from "./engine/real.ts";
export { Rng, type RngState } from "./engine/rng.ts";
export type { Target } from "./targets/target.ts";
export { makeTarget, type TargetConfig } from "./targets/registry.ts";
export { defineTarget, type UserTargetSpec } from "./targets/user.ts";
export type { FlowConfig } from "./flow/config.ts";
export type { TrainConfig } from "./train/trainer.ts";
export { runTraining, loadTrainedRun } from "./train/run.ts";

import * as analysis from "./analysis/index.ts";
import * as data from "./data/index.ts";
import * as flows from "./flow/index.ts";
/**
 * Sampling and estimators with a trained flow: the flow's density q or q_sym (`flowDensity`),
 * the Metropolised independence sampler (`runMis`), importance-weighted free energies
 * (`importanceSample`), HMC in latent space (Eq. 6, `latentPotential`) and physical space
 * (`physicalPotential`) with `runHmc`, observables, and the error analysis (τ_int, binning,
 * effective sample sizes) they report with; `prepareSampling`, `runChains` and `runImportance`
 * run them on a trained run with observables and error bars, as `neuralrg sample` does.
 */
import * as sample from "./sample/index.ts";
import * as targets from "./targets/index.ts";
import * as train from "./train/index.ts";

export { analysis, data, flows, sample, targets, train };
