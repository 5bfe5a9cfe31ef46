/**
 * Targets: unnormalised lattice densities π(x) on an L×L torus, each a {@link Target}
 * with log π and its gradient on batches, a Z2-symmetry flag and, where known, the exact −ln Z.
 *
 * - relaxed 2D Ising (Eq. 7) with Kaufman's exact finite-lattice free energy: `relaxedIsing`;
 * - exactly solvable Gaussians: `gaussianTarget`;
 * - lattice φ⁴ in the hopping form, exact at λ = 0, with its observables (|M|/N, χ, Binder
 *   cumulant, G(r), error bars by binning): `phi4Target`, `phi4Series`, `phi4Estimates`;
 * - user-defined targets: `defineTarget`, `userTarget` (in code), `loadUserTarget` (module file);
 * - `makeTarget(config)`: any of them from a serialisable config (what run directories store).
 *
 * @example
 * ```ts
 * import { targets } from "neuralrg";
 * const t = targets.makeTarget({ kind: "phi4", L: 8, kappa: 0.2, lambda: 0 });
 * const out = new Float64Array(1);
 * t.logProb(new Float64Array(64), 1, out);   // log π(0) = −S(0) = −64λ = 0
 * console.log(t.exactNegLogZ);               // exact: λ = 0 is the free field
 * ```
 * @module
 */
export type { Target } from "./target.ts";
export { adjacencyEigenvalues, checkLatticeSize, isingEnergy, neighbours, siteIndex } from "./lattice.ts";
export {
  MAX_ENUMERATE_L,
  T_CRITICAL,
  criticalTemperature,
  isingDensityOfStates,
  isingExactObservables,
  isingLogZEnumerate,
  kaufmanEnergyPerSite,
  kaufmanFreeEnergyPerSite,
  kaufmanLogZ,
  type DensityOfStates,
  type IsingObservables,
} from "./kaufman.ts";
export {
  MAX_ISING_L,
  RelaxedIsing,
  absMagnetisation,
  energyPerSite,
  relaxedIsing,
  sampleSpins,
  structureFactor,
  type InverseMethod,
  type RelaxedIsingConfig,
  type RelaxedIsingOptions,
} from "./ising.ts";
export {
  DEFAULT_KAPPA,
  GAUSSIAN_PRECISIONS,
  GaussianTarget,
  MAX_GAUSSIAN_L,
  MAX_KAPPA,
  MAX_RANDOM_GAUSSIAN_L,
  gaussianTarget,
  type GaussianOptions,
  type GaussianPrecision,
} from "./gaussian.ts";
export {
  MAX_PHI4_L,
  PHI4_NEAR_CRITICAL,
  Phi4Target,
  phi4FreeField,
  phi4FromContinuum,
  phi4QuadraticEigenvalues,
  phi4Target,
  phi4ToContinuum,
  type Phi4Config,
  type Phi4FreeField,
  type Phi4Options,
} from "./phi4.ts";
export {
  concatPhi4Series,
  formatEstimate,
  magnetisation,
  phi4Estimates,
  phi4Series,
  twoPointFunction,
  type Estimate,
  type Phi4EstimateOptions,
  type Phi4Estimates,
  type Phi4Series,
} from "./phi4-observables.ts";
export {
  MAX_USER_L,
  USER_MODULE_EXTENSIONS,
  UserTarget,
  UserTargetError,
  defineTarget,
  userTarget,
  type JaxArray,
  type JaxNumpy,
  type UserTargetOptions,
  type UserTargetSpec,
} from "./user.ts";
export { loadUserTarget, userTargetConfig } from "./user-module.ts";
export { TARGET_KINDS, makeTarget, type TargetConfig, type TargetKind } from "./registry.ts";
