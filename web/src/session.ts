/**
 * One playground model: a trainer on the relaxed 2D Ising target (the core's createTrainer /
 * trainEpoch), plus what the page shows of it — generated configurations, collective variables
 * per scale, latent wander, latent vs physical HMC — and checkpoint export/import in the CLI's
 * format. Pure computation (no DOM, no worker globals), so the Node tests drive it directly.
 */
import { alloc } from "../../src/engine/real.ts";
import { Rng } from "../../src/engine/rng.ts";
import { generate } from "../../src/flow/flow.ts";
import { collectiveFromLatent, type CollectiveVariables } from "../../src/flow/collective.ts";
import { latentWander } from "../../src/analysis/wander.ts";
import { checkpointText, parseCheckpointText } from "../../src/io/checkpoint-format.ts";
import type { JsonObject } from "../../src/io/json.ts";
import { latentPotential, physicalPotential, runHmc, type Potential } from "../../src/sample/hmc.ts";
import { isingObservables, ObservableTrace } from "../../src/sample/observables.ts";
import { relaxedIsing, sampleSpins, type RelaxedIsing } from "../../src/targets/ising.ts";
import { isingExactObservables, kaufmanEnergyPerSite, MAX_ENUMERATE_L } from "../../src/targets/kaufman.ts";
import {
  createTrainer,
  evaluateF,
  restoreTrainer,
  trainEpoch,
  trainEpochParallel,
  validateTrainConfig,
  type AsyncObjective,
  type EpochMetrics,
  type TrainConfig,
  type TrainerState,
} from "../../src/train/trainer.ts";
import {
  estimateTrainingBytes,
  MAX_TRAINING_BYTES,
  ProtocolError,
  TC,
  type Backend,
  type EpochPoint,
  type HmcMessage,
  type HmcSummary,
  type LevelImage,
  type PlaygroundConfig,
  type RunInfo,
  type SamplesMessage,
  type WanderMessage,
} from "./protocol.ts";

/** Number of configurations in the sample grid. */
export const GRID_SAMPLES = 8;

/** Provenance written into exported checkpoints (the CLI writes its own package/commit/Node version). */
export interface Provenance {
  packageVersion: string;
  gitCommit: string;
  /** the CLI stores process.version; the browser stores e.g. "browser (Chrome/131 …)" */
  nodeVersion: string;
}

/** The TrainConfig of a playground configuration: what the CLI's `neuralrg train` would store. */
export function toTrainConfig(c: PlaygroundConfig): TrainConfig {
  return {
    target: { kind: "ising", L: c.L, T: c.T },
    flow: { L: c.L, layout: "mera", depth: c.depth, nlayers: c.nlayers, nmlp: c.nmlp, nhidden: c.nhidden },
    batch: c.batch,
    epochs: c.epochs,
    lr: c.lr,
    weightDecay: 0,
    seed: c.seed,
    // WebGPU computes in float32: the run is what `neuralrg train --dtype float32 --kernel wasm` does on a CPU
    dtype: c.backend === "webgpu" ? "float32" : "float64",
    symmetrize: c.symmetrize,
    init: "identity",
    kernel: cpuKernel(c.backend),
  };
}

/** The CPU kernel of a backend: WebGPU sessions sample, evaluate and run HMC with the wasm kernel. */
export function cpuKernel(backend: Backend): "wasm" | "js" {
  return backend === "js" ? "js" : "wasm";
}

/** An epoch objective computed off the worker's thread (the WebGPU kernel); `destroy` frees it. */
export interface SessionObjective extends AsyncObjective {
  destroy(): void;
}

/** The playground view of a (possibly CLI-made) TrainConfig. */
export function fromTrainConfig(t: TrainConfig, backend: Backend): PlaygroundConfig {
  return {
    L: t.flow.L,
    T: Number(t.target.T),
    depth: t.flow.depth,
    nlayers: t.flow.nlayers,
    nmlp: t.flow.nmlp,
    nhidden: t.flow.nhidden,
    batch: t.batch,
    lr: t.lr,
    seed: t.seed,
    epochs: t.epochs,
    backend,
    symmetrize: t.symmetrize,
  };
}

function point(m: EpochMetrics): EpochPoint {
  return { epoch: m.epoch, F: m.F, FstdErr: m.FstdErr, relErr: m.relErr, seconds: m.seconds };
}

function levelsOf(cv: CollectiveVariables, row: number): LevelImage[] {
  return cv.levels.map((l) => ({
    level: l.level,
    size: l.size,
    values: Float64Array.from(l.values.subarray(row * l.size * l.size, (row + 1) * l.size * l.size)),
  }));
}

function checkIsingConfig(t: TrainConfig, where: string): void {
  const target = t.target as Record<string, unknown>;
  if (target?.kind !== "ising") {
    throw new ProtocolError(
      `${where} holds a model of target ${JSON.stringify(target?.kind)}: this playground shows the relaxed Ising model only (analyse it with the CLI: neuralrg sample --run DIR)`,
    );
  }
  for (const k of Object.keys(target)) {
    if (!["kind", "L", "T", "method"].includes(k))
      throw new ProtocolError(`${where}: target option ${k} is not accepted for kind "ising"`);
  }
  if (typeof target.T !== "number" || !(target.T > 0))
    throw new ProtocolError(`${where}: target T = ${String(target.T)} is invalid`);
  if (target.L !== t.flow?.L)
    throw new ProtocolError(`${where}: target L = ${String(target.L)} differs from flow L = ${String(t.flow?.L)}`);
}

export class PlaygroundSession {
  readonly trainer: TrainerState;
  /** the config stored in exported checkpoints (for an import: the imported one, unchanged) */
  readonly storedConfig: TrainConfig;
  readonly target: RelaxedIsing;
  readonly backend: Backend;
  readonly origin: "new" | "imported";
  /** fixed latent vectors of the sample grid, so the grid shows the same z through training */
  private readonly zGrid: Float64Array;
  private readonly spinRng: Rng;
  /** a checkpoint's free-form extras (e.g. the CLI's numerical-guard state), passed through on export */
  private extra: JsonObject | undefined;

  private constructor(
    storedConfig: TrainConfig,
    backend: Backend,
    trainer: TrainerState,
    target: RelaxedIsing,
    origin: "new" | "imported",
  ) {
    this.storedConfig = storedConfig;
    this.backend = backend;
    this.trainer = trainer;
    this.target = target;
    this.origin = origin;
    const rng = Rng.fromSeed((storedConfig.seed ^ 0x5eed5eed) >>> 0);
    this.zGrid = new Float64Array(GRID_SAMPLES * trainer.model.nvars);
    rng.fillNormal(this.zGrid);
    this.spinRng = rng.fork(7);
  }

  /** A fresh model from the page's controls. */
  static create(config: PlaygroundConfig): PlaygroundSession {
    const tc = toTrainConfig(config);
    const target = relaxedIsing({ L: config.L, T: config.T });
    return new PlaygroundSession(tc, config.backend, createTrainer(tc, target), target, "new");
  }

  /**
   * A model from a checkpoint file's text (written by the CLI's `neuralrg train` or exported by
   * the playground), computed with `backend`; training can continue up to its config's epochs.
   */
  static fromCheckpointText(text: string, name: string, backend: Backend): PlaygroundSession {
    const ck = parseCheckpointText(text, name);
    const stored = ck.config as unknown as TrainConfig;
    checkIsingConfig(stored, `checkpoint ${name}`);
    try {
      validateTrainConfig(stored);
    } catch (err) {
      throw new ProtocolError(`checkpoint ${name} holds an invalid config: ${(err as Error).message}`);
    }
    const bytes = estimateTrainingBytes({
      L: stored.flow.L,
      depth: stored.flow.depth,
      nrepeat: stored.flow.nrepeat,
      batch: stored.batch,
      symmetrize: stored.symmetrize,
      backend,
    });
    if (bytes > MAX_TRAINING_BYTES) {
      throw new ProtocolError(
        `checkpoint ${name}: its batch ${stored.batch} on a ${stored.flow.L}×${stored.flow.L} lattice needs about ${Math.round(bytes / 2 ** 20)} MB per epoch, more than this page allows`,
      );
    }
    const target = relaxedIsing({
      L: stored.flow.L,
      T: Number(stored.target.T),
      method: stored.target.method === "dense" ? "dense" : "spectral",
    });
    const run: TrainConfig = { ...stored, kernel: cpuKernel(backend) };
    const trainer = restoreTrainer(run, target, {
      params: ck.params,
      adam: { step: ck.optimiser.step, m: Float64Array.from(ck.optimiser.m), v: Float64Array.from(ck.optimiser.v) },
      rng: ck.rng,
      epoch: ck.epoch,
    });
    // the CLI's numerical guard (`--on-nan rollback`) keeps a lowered learning-rate factor in the extras
    const lrScale = ck.extra?.lrScale;
    if (typeof lrScale === "number" && lrScale > 0 && lrScale <= 1) trainer.lrScale = lrScale;
    const session = new PlaygroundSession(stored, backend, trainer, target, "imported");
    session.extra = ck.extra;
    return session;
  }

  get epoch(): number {
    return this.trainer.epoch;
  }

  get epochs(): number {
    return this.storedConfig.epochs;
  }

  get L(): number {
    return this.target.L;
  }

  info(): RunInfo {
    const c = this.storedConfig;
    return {
      trainConfig: JSON.parse(JSON.stringify(c)) as Record<string, unknown>,
      config: fromTrainConfig(c, this.backend),
      nparams: this.trainer.model.nparams,
      exact: this.target.exactNegLogZ,
      Tc: TC,
      backend: this.backend,
      epoch: this.trainer.epoch,
      memoryBytes: estimateTrainingBytes({
        L: c.flow.L,
        depth: c.flow.depth,
        nrepeat: c.flow.nrepeat,
        batch: c.batch,
        symmetrize: c.symmetrize,
        backend: this.backend,
      }),
      origin: this.origin,
    };
  }

  /** The async objective of a WebGPU session (null until attached, and for the CPU backends). */
  private objective: SessionObjective | null = null;

  /** True when epochs run through `stepAsync` (the WebGPU backend). */
  get async(): boolean {
    return this.backend === "webgpu";
  }

  /** Whether `stepAsync` can run (its objective is attached). */
  get ready(): boolean {
    return !this.async || this.objective !== null;
  }

  /** Attach the WebGPU objective (replacing and freeing any previous one). */
  attach(objective: SessionObjective): void {
    this.objective?.destroy();
    this.objective = objective;
  }

  /** Free the attached objective (the session keeps its model for sampling and export). */
  dispose(): void {
    this.objective?.destroy();
    this.objective = null;
  }

  /** One epoch (one batch, one Adam step) on a CPU kernel. */
  step(): EpochPoint {
    if (this.async) throw new ProtocolError("step: a webgpu session trains through stepAsync");
    return point(trainEpoch(this.trainer));
  }

  /** One epoch with the attached async objective (the same batch, loss and Adam step as `step`). */
  async stepAsync(): Promise<EpochPoint> {
    if (!this.objective) throw new ProtocolError("step: the WebGPU kernel is not ready yet");
    return point(await trainEpochParallel(this.trainer, this.objective));
  }

  /** F on fresh samples (not the training stream). */
  evaluate(nsamples: number): { mean: number; stdErr: number; n: number } {
    const r = evaluateF(this.trainer, nsamples, (this.storedConfig.seed * 7919 + this.trainer.epoch) >>> 0);
    return { mean: r.F, stdErr: r.stdErr, n: r.n };
  }

  /** The sample grid (fixed z, fresh spins) and the first configuration's collective variables. */
  samples(): SamplesMessage {
    const { model, params } = this.trainer;
    const N = model.nvars;
    const z = alloc(this.storedConfig.dtype, this.zGrid.length);
    z.set(this.zGrid);
    const { x } = generate(model, params, z, GRID_SAMPLES);
    const fields = Float64Array.from(x, Math.tanh);
    const spins = Float64Array.from(sampleSpins(x, GRID_SAMPLES * N, this.spinRng));
    const cv = collectiveFromLatent(model, params, z.subarray(0, N), 1);
    return {
      type: "samples",
      epoch: this.trainer.epoch,
      L: this.L,
      count: GRID_SAMPLES,
      fields,
      spins,
      latent: Float64Array.from(this.zGrid.subarray(0, N)),
      physical: Float64Array.from(cv.physical),
      levels: levelsOf(cv, 0),
      scaleOfSite: Int32Array.from(model.scaleOfSite),
    };
  }

  /** Flip latent component `site` of the first grid configuration and decode (v1 supplement, Figs. S2–S4). */
  wander(site: number): WanderMessage {
    const { model, params } = this.trainer;
    const N = model.nvars;
    if (!Number.isInteger(site) || site < 0 || site >= N) {
      throw new ProtocolError(
        `wander: site = ${site} is invalid: it must be an integer in 0..${N - 1} for L = ${this.L}`,
      );
    }
    const z = alloc(this.storedConfig.dtype, N);
    z.set(this.zGrid.subarray(0, N));
    const r = latentWander(model, params, z, [site]);
    const f = r.flips[0];
    return {
      type: "wander",
      site,
      scale: f.scale,
      L: this.L,
      original: Float64Array.from(r.decoded.physical.subarray(0, N)),
      flipped: Float64Array.from(r.decoded.physical.subarray(N, 2 * N)),
      originalLevels: levelsOf(r.decoded, 0),
      flippedLevels: levelsOf(r.decoded, 1),
      changedSites: f.changedSites,
      effectiveSites: f.effectiveSites,
      maxAbsChange: f.maxAbsChange,
    };
  }

  /**
   * A short latent HMC (Eq. 6; S7 when symmetrised) and physical HMC run with the same number of
   * chains and trajectories, both from N(0, 1) starts; the structure factor S of each trajectory
   * (improved estimator) and mean ± τ_int error after warm-up.
   */
  hmc(
    opts: { chains: number; ntraj: number; warmup: number },
    progress?: (method: "latent" | "physical", done: number, total: number) => void,
  ): HmcMessage {
    const { model, params } = this.trainer;
    const L = this.L;
    const N = model.nvars;
    const rng = Rng.fromSeed((this.storedConfig.seed * 31 + this.trainer.epoch) >>> 0);
    const run = (method: "latent" | "physical", pot: Potential): HmcSummary => {
      const t0 = performance.now();
      const chainRng = rng.fork(method === "latent" ? 1 : 2);
      const init = alloc(this.storedConfig.dtype, opts.chains * N);
      chainRng.fillNormal(init);
      const trace = new ObservableTrace(["S", "energy"] as const, opts.chains);
      const obsRng = chainRng.fork(3);
      const total = opts.warmup + opts.ntraj;
      const r = runHmc(pot, init, opts.chains, {
        ntraj: opts.ntraj,
        warmup: opts.warmup,
        leapfrogSteps: 10,
        stepSize: 0.1,
        targetAccept: opts.warmup > 0 ? 0.7 : undefined,
        rng: chainRng,
        onStep: (s) => {
          const o = isingObservables(s.x, L, opts.chains, { rng: obsRng });
          trace.push({ S: o.S, energy: o.energy });
          if (progress && ((s.step + 1) % 10 === 0 || s.step + 1 === total)) progress(method, s.step + 1, total);
        },
      });
      const sum = trace.summary(opts.warmup);
      return {
        method,
        trace: trace.chainAverage("S"),
        warmup: opts.warmup,
        S: { mean: sum.S.mean, error: sum.S.error },
        energy: { mean: sum.energy.mean, error: sum.energy.error },
        acceptance: r.acceptance,
        stepSize: r.stepSize,
        seconds: (performance.now() - t0) / 1000,
      };
    };
    const latent = run(
      "latent",
      latentPotential(model, params, this.target, { symmetrize: this.storedConfig.symmetrize }),
    );
    const physical = run("physical", physicalPotential(this.target));
    return {
      type: "hmc",
      latent,
      physical,
      exactS: L <= MAX_ENUMERATE_L ? isingExactObservables(L, this.target.T).structureFactor : null,
      exactEnergy: kaufmanEnergyPerSite(L, this.target.T),
      chains: opts.chains,
    };
  }

  /**
   * The checkpoint file text (format neuralrg-checkpoint/1, exactly as the CLI's saveCheckpoint
   * writes it) and the run's config.json text (as the CLI's writeJsonAtomic writes it).
   */
  exportFiles(prov: Provenance, now: Date = new Date()): { checkpoint: string; config: string } {
    const t = this.trainer;
    const config = JSON.parse(JSON.stringify(this.storedConfig)) as JsonObject;
    const checkpoint = checkpointText({
      epoch: t.epoch,
      config,
      params: t.params,
      optimiser: { step: t.adam.step, m: t.adam.m, v: t.adam.v },
      rng: t.rng.state(),
      packageVersion: prov.packageVersion,
      gitCommit: prov.gitCommit,
      nodeVersion: prov.nodeVersion,
      createdAt: now.toISOString(),
      ...(this.extra !== undefined ? { extra: this.extra } : {}),
    });
    return { checkpoint, config: JSON.stringify(config, null, 2) + "\n" };
  }
}
