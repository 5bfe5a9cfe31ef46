/**
 * Sampling and estimators with a trained flow: model densities (q, q_sym), the
 * Metropolised independence sampler (v1 Eq. 6), importance-weighted free energies, HMC in latent
 * (Eq. 6, Algorithm 2) and physical space, Ising observables with improved estimators, and the
 * error analysis (τ_int, binning, ESS) they report with; and the drivers of `neuralrg sample` and
 * `neuralrg hmc`, which run them on a trained run (`train.loadTrainedRun`) with observables and
 * error bars and write the results into its directory.
 * @module
 */
export {
  flowDensity,
  flowLogQ,
  flowLogQSym,
  modelLogProb,
  sampleModel,
  type ModelSample,
  type ProposalDensity,
} from "./density.ts";
export { runMis, type MisOptions, type MisResult, type MisStep } from "./mis.ts";
export {
  importanceFromLogWeights,
  importanceMean,
  importanceSample,
  type ImportanceEstimate,
  type ImportanceOptions,
  type ImportanceRun,
  type WeightedMean,
} from "./importance.ts";
export {
  latentPotential,
  physicalPotential,
  runHmc,
  type HmcOptions,
  type HmcResult,
  type HmcStep,
  type LatentPotentialOptions,
  type Potential,
} from "./hmc.ts";
export {
  FIELD_MOMENTS,
  fieldMoments,
  gaussianExactMoments,
  ISING_OBSERVABLES,
  isingObservables,
  ObservableTrace,
  type FieldMomentName,
  type IsingObservableName,
  type IsingObservableOptions,
  type IsingObservableValues,
  type SpinEstimator,
} from "./observables.ts";
export {
  asChains,
  autocorrelation,
  autocovariance,
  binning,
  chainMeans,
  chainsFromSteps,
  effectiveSampleSize,
  estimateMean,
  gelmanRubin,
  halvesDrift,
  importanceEss,
  mean,
  tauInt,
  variance,
  type BinningLevel,
  type BinningOptions,
  type BinningResult,
  type Chains,
  type MeanEstimate,
  type TauIntOptions,
  type TauIntResult,
} from "../engine/stats.ts";
export {
  REFERENCE_SEED,
  SAMPLE_METHODS,
  SamplingSetupError,
  defaultWarmup,
  deviationSigma,
  prepareSampling,
  runChains,
  runImportance,
  type ChainMethod,
  type ChainRun,
  type ChainRunSettings,
  type IwRun,
  type LoadedRun,
  type ObservableSet,
  type SampleMethod,
  type SamplingRun,
  type SamplingSetup,
} from "./drivers.ts";
export {
  chainRunJson,
  estimateJson,
  isThermalised,
  writeChainResults,
  writeHmcComparison,
  writeImportanceResults,
} from "./results.ts";
