/**
 * neuralrg as a library: train a flow for lattice φ⁴ near its transition, then measure
 * observables with latent-space HMC (Eq. 6) and estimate −ln Z by importance weighting.
 *
 *   npx tsx examples/library.ts            (or: node bin/run-ts.mjs examples/library.ts)
 *   npx tsx examples/library.ts --L 8 --epochs 3000 --batch 512 --physical-trajectories 2000
 *
 * Every option of `main` can be given on the command line (--kappa 0.27, --dir runs/x, ...).
 * test/api.test.ts runs `main` with small settings. Outside this repository import from
 * "neuralrg" instead of "../src/index.ts".
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Rng, sample, targets, train } from "../src/index.ts";

export interface LibraryExampleOptions {
  /** lattice size (default 8) */
  L?: number;
  /** φ⁴ couplings of the hopping form (default κ = 0.27, λ = 0.02: near the transition) */
  kappa?: number;
  lambda?: number;
  /** training epochs and batch (default 400 × 256) */
  epochs?: number;
  batch?: number;
  /** flow size: couplings per block, hidden layers, units (default 6, 2, 16) */
  nlayers?: number;
  nmlp?: number;
  nhidden?: number;
  /** latent HMC: parallel chains, production and warm-up trajectories (default 64, 300, 100) */
  chains?: number;
  trajectories?: number;
  warmup?: number;
  /** importance samples for −ln Ẑ (default 4096) */
  importanceSamples?: number;
  /** also run plain HMC in physical space for comparison, this many trajectories (default 0: off) */
  physicalTrajectories?: number;
  /** run directory (default: a fresh directory under the OS temp dir) */
  dir?: string;
  seed?: number;
  log?: (line: string) => void;
}

export interface LibraryExampleResult {
  dir: string;
  /** variational free energy F ± error on fresh samples (an upper bound of −ln Z) */
  F: number;
  Ferr: number;
  /** exact −ln Z (only for λ = 0) */
  exact: number | null;
  /** importance-weighted −ln Ẑ ± error and the effective sample size fraction */
  negLogZ: number;
  negLogZErr: number;
  essFraction: number;
  /** latent HMC acceptance rate */
  acceptance: number;
  /** φ⁴ observables with binned-jackknife error bars */
  observables: targets.Phi4Estimates;
  /** the same from physical-space HMC, when requested */
  physical?: targets.Phi4Estimates;
}

/** HMC with `chains` parallel chains; returns the acceptance and the φ⁴ estimates of production. */
function hmcObservables(pot: sample.Potential, L: number, chains: number, ntraj: number, warmup: number, rng: Rng) {
  const init = new Float64Array(chains * pot.dim);
  rng.fillNormal(init);
  const series: targets.Phi4Series[] = [];
  const r = sample.runHmc(pot, init, chains, {
    ntraj,
    warmup,
    leapfrogSteps: 10,
    stepSize: 0.2,
    targetAccept: 0.8,
    rng,
    onStep: (s) => {
      if (!s.warmup) series.push(targets.phi4Series(s.x, L, chains));
    },
  });
  return {
    acceptance: r.acceptance,
    est: targets.phi4Estimates(targets.concatPhi4Series(series), { nchains: chains }),
  };
}

export async function main(opts: LibraryExampleOptions = {}): Promise<LibraryExampleResult> {
  const L = opts.L ?? 8;
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const dir = opts.dir ?? join(tmpdir(), `neuralrg-library-example-${process.pid}`);

  // 1. Train: a serialisable config (target + flow + optimiser) into a run directory.
  const targetConfig = { kind: "phi4", L, kappa: opts.kappa ?? 0.27, lambda: opts.lambda ?? 0.02 };
  const config = train.trainConfig(targetConfig, {
    epochs: opts.epochs ?? 400,
    batch: opts.batch ?? 256,
    nlayers: opts.nlayers ?? 6,
    nmlp: opts.nmlp ?? 2,
    nhidden: opts.nhidden ?? 16,
    seed,
  });
  const { summary } = await train.runTraining({
    dir,
    config,
    overwrite: true,
    savePeriod: config.epochs,
    progress: "off",
  });
  log(`trained ${summary.epochs} epochs: F = ${summary.F.toFixed(4)} ± ${summary.F_stderr.toFixed(4)}`);

  // 2. Load the trained flow and its target back from the run directory.
  const run = train.loadTrainedRun(dir);
  const { model, params, target } = run;
  const symmetrize = run.config.symmetrize;
  const rng = Rng.fromSeed(seed + 1);

  // 3. Importance-weighted free energy: −ln Ẑ with Ẑ = mean(π/q) over independent flow samples.
  const iw = sample.importanceSample(sample.flowDensity(model, params, { symmetrize }), target, {
    n: opts.importanceSamples ?? 4096,
    rng,
  });
  log(
    `importance weighting: -ln Z = ${iw.negLogZ.toFixed(4)} ± ${iw.error.toFixed(4)} (ESS ${(100 * iw.essFraction).toFixed(1)}%)`,
  );

  // 4. HMC in latent space (Eq. 6): chains move in z, configurations are x = g(z); observables
  //    with error bars (binning + jackknife over the chains' time series).
  const chains = opts.chains ?? 64;
  const warmup = opts.warmup ?? 100;
  const pot = sample.latentPotential(model, params, target, { symmetrize });
  const hmc = hmcObservables(pot, L, chains, opts.trajectories ?? 300, warmup, rng);
  const obs = hmc.est;
  const f = targets.formatEstimate;
  const show = (name: string, acc: number, e: targets.Phi4Estimates): void => {
    log(`${name}: acceptance ${acc.toFixed(3)}, ${e.n} configurations, τ_int ≤ ${e.tauMax.toFixed(1)}`);
    log(`  <|M|>/N = ${f(e.absM)}   chi = ${f(e.chi)}   Binder U = ${f(e.binder)}   <phi^2> = ${f(e.phi2)}`);
    log(`  G(r), r = 0..${L / 2}: ${e.G.map(f).join("  ")}`);
  };
  show("latent HMC", hmc.acceptance, obs);

  // 5. Optionally, plain HMC on −ln π in physical space (exact too, but slower to decorrelate).
  let physical: targets.Phi4Estimates | undefined;
  if ((opts.physicalTrajectories ?? 0) > 0) {
    const ph = hmcObservables(sample.physicalPotential(target), L, chains, opts.physicalTrajectories ?? 0, warmup, rng);
    physical = ph.est;
    show("physical HMC", ph.acceptance, ph.est);
  }

  return {
    dir,
    F: summary.F,
    Ferr: summary.F_stderr,
    exact: summary.exact,
    negLogZ: iw.negLogZ,
    negLogZErr: iw.error,
    essFraction: iw.essFraction,
    acceptance: hmc.acceptance,
    observables: obs,
    ...(physical ? { physical } : {}),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const numeric = [
    "L",
    "kappa",
    "lambda",
    "epochs",
    "batch",
    "nlayers",
    "nmlp",
    "nhidden",
    "chains",
    "trajectories",
    "warmup",
    "importance-samples",
    "physical-trajectories",
    "seed",
  ];
  const { values } = parseArgs({
    options: Object.fromEntries([...numeric, "dir"].map((k) => [k, { type: "string" }])),
  });
  const opts: Record<string, unknown> = { log: (l: string) => console.log(l) };
  for (const [k, v] of Object.entries(values)) {
    const key = k.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    opts[key] = k === "dir" ? v : Number(v);
    if (k !== "dir" && !Number.isFinite(opts[key])) throw new Error(`--${k} = ${v} is not a number`);
  }
  await main(opts as LibraryExampleOptions);
}
