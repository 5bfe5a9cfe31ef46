/** Public surface of the targets folder (SPEC §1). */
export type { Target } from "./target.ts";
export {
  adjacencyEigenvalues, adjacencyMatrix, adjacencyMinEigenvalue, bonds, checkLatticeSize, isingEnergy, isPowerOfTwo,
  neighbours, siteIndex,
} from "./lattice.ts";
export {
  MAX_ENUMERATE_L, criticalTemperature, isingDensityOfStates, isingExactObservables, isingLogZEnumerate, kaufmanEnergyPerSite,
  kaufmanFreeEnergyPerSite, kaufmanGammas, kaufmanLogZ, type DensityOfStates, type IsingObservables,
} from "./kaufman.ts";
export {
  MAX_DENSE_L, MAX_ISING_L, RELAXED_ISING_MIN_EIGENVALUE, RelaxedIsing, absMagnetisation, energyPerSite, logCosh, meanSpins,
  relaxedIsing, sampleSpins, structureFactor, structureFactorFromMeans, type InverseMethod, type RelaxedIsingConfig,
  type RelaxedIsingOptions,
} from "./ising.ts";
export {
  DEFAULT_KAPPA, GAUSSIAN_PRECISIONS, GaussianTarget, MAX_GAUSSIAN_L, MAX_KAPPA, MAX_RANDOM_GAUSSIAN_L, gaussianTarget,
  type GaussianOptions, type GaussianPrecision,
} from "./gaussian.ts";
export { TARGET_KINDS, makeTarget, type TargetConfig, type TargetKind } from "./registry.ts";
export { Circulant2D, circulantDense, circulantKernel } from "./spectral.ts";
export { cholesky, logDetFromCholesky, matVecBatch, solveLowerTransposeInPlace } from "./linalg.ts";
