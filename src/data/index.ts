/**
 * Data for learning from data (docs/learning-from-data.md): data sets of lattice configurations
 * (.npy / JSON lines, MNIST), dequantisation and the logit transform with their log-determinants,
 * and data drawn from known densities (relaxed Ising by Wolff + exact x | s, Gaussian). Training
 * on data (the NLL, `runFit`) is in the `train` namespace.
 * @module
 */
export {
  type Dataset, type LoadedData, type LoadDataOptions, BUILTIN_DATASETS, DataFormatError,
  loadData, readDataFile, writeDataFile, readDataMeta, writeDataMeta, seededSplit, subset,
} from "./dataset.ts";
export { parseNpy, formatNpy, type NpyArray, type NpyDType, type ParsedNpy } from "./npy.ts";
export { parseJsonLines, formatJsonLines } from "./jsonl.ts";
export { loadMnist, loadMnistSample, padImages, parseIdxImages } from "./mnist.ts";
export { type Preprocess, type DequantizeKind, type NllUnits, toModelSpace, toDataSpace, nllUnits, checkPreprocess } from "./dequantize.ts";
export { drawIsingData, drawGaussianData, fieldsGivenSpins, type IsingData, type IsingDataOptions } from "./sources.ts";
