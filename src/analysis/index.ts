/**
 * Renormalisation-group analysis of a trained flow: collective variables per scale (v1 Fig. 4),
 * the sign posterior of Eq. (S5), gradient response of the top-level latents (Fig. 4a),
 * Kraskov–Stögbauer–Grassberger mutual information (Fig. 4b, 4c), latent wander (v1 S2–S4), and
 * samples resolved by scale (v1 Fig. S5), and `analyzeRun`, which writes all of them with figures
 * into a run directory.
 *
 * Observables of specific targets live with the targets: `targets.phi4Series` /
 * `targets.phi4Estimates` (φ⁴: |M|/N, χ, Binder cumulant, G(r) with binned-jackknife errors) and
 * the Ising observables in `sample`.
 * @module
 */
export {
  collectiveFromLatent,
  collectiveVariables,
  imageOf,
  keptSites,
  type CollectiveLevel,
  type CollectiveVariables,
} from "../flow/collective.ts";
export { SIGN_MODES, fixSign, signPosterior, type SignFixed, type SignMode, type SignPosterior } from "./posterior.ts";
export {
  describeResponse,
  gradientResponse,
  latentGradients,
  siteLabel,
  topLatentSites,
  type GradientResponse,
  type LatentResponse,
  type ResponseOptions,
} from "./response.ts";
export {
  gaussianMutualInformation,
  ksgMutualInformation,
  miMatrixStats,
  mutualInformationMatrix,
  mutualInformationMatrixParallel,
  type KsgOptions,
  type MiMatrixOptions,
  type MiMatrixStats,
} from "./mi.ts";
export { flipLatent, latentWander, sitesAtScale, type WanderFlip, type WanderResult } from "./wander.ts";
export {
  ANALYSES,
  analyzeRun,
  readIndex,
  type AnalysisIndex,
  type AnalysisName,
  type AnalyzeOptions,
  type FigureEntry,
} from "./run.ts";
export type { SampleSource } from "./samples.ts";
export { coarseLatent, scaleResolvedSamples, type ScaleSamples } from "../flow/scales.ts";
