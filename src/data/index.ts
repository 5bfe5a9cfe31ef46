/**
 * Learning from data (issue 8): data sets of lattice configurations (.npy / JSON lines, MNIST),
 * dequantisation and the logit transform with their log-determinants, data drawn from known
 * densities (relaxed Ising by Wolff + exact x | s, Gaussian), the negative log-likelihood
 * (forward KL) with its gradient, and maximum-likelihood runs on disk (`neuralrg fit`).
 */
export {
  type Dataset, type LoadedData, type LoadDataOptions, BUILTIN_DATASETS, DataFormatError,
  loadData, readDataFile, writeDataFile, readDataMeta, writeDataMeta, seededSplit, subset,
} from "./dataset.ts";
export { parseNpy, formatNpy, type NpyArray, type NpyDType } from "./npy.ts";
export { parseJsonLines, formatJsonLines } from "./jsonl.ts";
export { loadMnist, loadMnistSample, padImages, parseIdxImages } from "./mnist.ts";
export { type Preprocess, type DequantizeKind, toModelSpace, toDataSpace, nllUnits, checkPreprocess } from "./dequantize.ts";
export { drawIsingData, drawGaussianData, fieldsGivenSpins, type IsingData, type IsingDataOptions } from "./sources.ts";
export { nllLossAndGrad, nllLoss, type NllLossAndGrad, type NllOptions } from "../train/nll.ts";
export { type FitConfig, type FitState, createFit, fitStep, evaluateNll, epochOrder } from "../train/fit.ts";
export { runFit, type FitRunOptions, type FitRunSummary } from "../train/fit-run.ts";
export { scaleResolvedSamples, coarseLatent } from "../flow/scales.ts";
