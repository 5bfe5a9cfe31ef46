/**
 * `neuralrg train`: probability density distillation of a MERA Real NVP flow for the relaxed
 * Ising model, lattice φ⁴, a Gaussian test target, or a user-defined target loaded from a module
 * (`--target ./my-energy.ts`), into a run directory.
 */
import type { Command } from "commander";
import type { FlowConfig, LayoutKind } from "../flow/config.ts";
import { canonicalFlowConfig, log2Int, NREPEAT_MAX, nrepeatOf } from "../flow/config.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import { LockError } from "../io/lock.ts";
import { RunDirError } from "../io/rundir.ts";
import { MetricsError } from "../io/metrics.ts";
import { WebGpuUnavailableError } from "../gpu/node.ts";
import { ON_NAN_MODES, runTraining, type OnNan, type TrainRunSummary } from "../train/run.ts";
import type { KernelName } from "../kernels/wasm.ts";
import { ACTIVATIONS, type Activation } from "../kernels/activation.ts";
import type { OptimSettings, TrainConfig } from "../train/trainer.ts";
import { TRAIN_DEFAULTS } from "../train/trainer.ts";
import type { BufferConfig } from "../train/buffer.ts";
import type { WorkersOption } from "../train/parallel.ts";
import { parseWorkersOption, resolveWorkers } from "../train/parallel.ts";
import { BUFFER_SIZE_BATCHES } from "../train/buffer.ts";
import { GRADIENT_KINDS, type GradientKind } from "../train/objectives.ts";
import { LR_DECAYS, type LrSchedule } from "../train/schedule.ts";
import { ANNEAL_STEPS, hasTemperature } from "../train/anneal.ts";
import { PHI4_NEAR_CRITICAL } from "../targets/phi4.ts";
import type { TargetConfig } from "../targets/registry.ts";
import { USER_MODULE_EXTENSIONS } from "../targets/user.ts";
import { loadUserTarget, userTargetConfig } from "../targets/user-module.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, UsageError } from "./errors.ts";
import { floatOption, intOption, parseLatticeSize, parseTemperature, T_CRITICAL } from "./options.ts";

/** --workers: auto or an integer in 1..64. */
function workersOption(v: string): WorkersOption {
  try {
    return parseWorkersOption(v);
  } catch {
    throw invalidOption("workers", v, "auto or an integer in 1..64");
  }
}

/** The flow's shape and the optimiser's settings, as flat options shared by `train` and `fit`. */
export interface FlowOptimCliOptions extends Omit<OptimSettings, "kernel"> {
  depth?: number;
  layout: LayoutKind;
  nlayers: number;
  nmlp: number;
  nhidden: number;
  /** hidden activation of the s and t networks */
  activation: Activation;
  /** repetitions of each level's layer group (`--nrepeat`; 1 = the plain flow, not stored) */
  nrepeat?: number;
  kernel: KernelName;
  /** where the loss and gradient are computed (`train --backend`; not in the stored config) */
  backend?: "cpu" | "webgpu";
}

export interface TrainCliOptions extends FlowOptimCliOptions {
  /** "ising", "gaussian", "phi4", or the path of a module exporting a user-defined target */
  target: string;
  L: number;
  T: number;
  /** φ⁴ hopping parameter (default PHI4_NEAR_CRITICAL.kappa) */
  kappa?: number;
  /** φ⁴ quartic coupling of the hopping form (default PHI4_NEAR_CRITICAL.lambda) */
  lambda?: number;
  /** φ⁴ continuum-style mass squared (with lambda0, instead of kappa and lambda) */
  m2?: number;
  /** φ⁴ continuum-style quartic coupling λ₀ (interaction λ₀ϕ⁴/4!) */
  lambda0?: number;
  /** weight of KL(q(x)‖q(−x)) (App. E); 0 = off */
  symmetryWeight?: number;
  out?: string;
  savePeriod: number;
  resume: boolean;
  overwrite: boolean;
  maxSeconds?: number;
  evalSamples?: number;
  workers: WorkersOption;
  progress: "auto" | "tty" | "plain" | "off";
  json: boolean;
  /** what a non-finite loss does: stop (default) or roll back to the last checkpoint with half the lr (`train --on-nan`) */
  onNan?: OnNan;
  /** weight λ of the NLL on the experience buffer (v1 combined algorithm); 0 = pure PDD (`train --nll-weight`) */
  nllWeight?: number;
  /** experience-buffer capacity (`train --buffer-size`; default BUFFER_SIZE_BATCHES × batch when λ > 0) */
  bufferSize?: number;
  /** buffer minibatch for the NLL (`train --buffer-batch`; default: batch) */
  bufferBatch?: number;
  /** gradient estimator: reparam or path (`--gradient`) */
  gradient?: GradientKind;
  /** learning-rate decay after the warm-up (`--lr-decay`) */
  lrDecay?: LrSchedule["decay"];
  /** warm-up as a fraction of the epochs (`--warmup`) */
  warmup?: number;
  /** final learning rate as a fraction of --lr (`--lr-final`) */
  lrFinal?: number;
  /** batch at the last epoch, growing geometrically from --batch (`--batch-final`) */
  batchFinal?: number;
  /** Adam β₂ (`--beta2`) */
  beta2?: number;
  /** gradient clipping norm (`--clip-norm`) */
  clipNorm?: number;
  /** β annealing over this fraction of the epochs, 0 = off (`--anneal`; default TRAIN_DEFAULTS.anneal for targets with a temperature) */
  anneal?: number;
  /** starting β as a fraction of the target's (`--anneal-from`) */
  annealFrom?: number;
}

/**
 * The schedule and estimator fields of a TrainConfig from the CLI options; each is stored only
 * when it differs from the behaviour of configs without it (constant lr, reparametrised
 * gradient, constant batch, β₂ = 0.999, no clipping), so such configs stay as they were.
 */
export function recipeFromOptions(
  o: TrainCliOptions,
  target: TargetConfig = targetConfigFromOptions(o),
): Pick<TrainConfig, "gradient" | "lrSchedule" | "batchFinal" | "beta2" | "clipNorm" | "anneal"> {
  const decay = o.lrDecay ?? TRAIN_DEFAULTS.lrDecay;
  const warmup = o.warmup ?? TRAIN_DEFAULTS.warmup;
  const final = o.lrFinal ?? TRAIN_DEFAULTS.lrFinal;
  // the path gradient does not include the App. E regulariser, and the WebGPU objective computes the
  // reparametrised gradient only: with either, the default is reparam
  const gradient =
    o.gradient ?? ((o.symmetryWeight ?? 0) > 0 || o.backend === "webgpu" ? "reparam" : TRAIN_DEFAULTS.gradient);
  if (!(warmup >= 0 && warmup < 1)) throw invalidOption("warmup", warmup, "a fraction of the epochs in [0, 1)");
  if (!(final >= 0 && final <= 1)) throw invalidOption("lr-final", final, "a fraction of --lr in [0, 1]");
  if (gradient === "path" && (o.symmetryWeight ?? 0) > 0) {
    throw new UsageError(
      `--symmetry-weight = ${o.symmetryWeight} needs --gradient reparam (the path gradient does not include the regulariser)`,
    );
  }
  // β annealing needs a temperature: on by default only for targets that have one
  const anneal = o.anneal ?? (hasTemperature(target) ? TRAIN_DEFAULTS.anneal : 0);
  if (!(anneal >= 0 && anneal < 1)) throw invalidOption("anneal", anneal, "a fraction of the epochs in [0, 1)");
  if (anneal > 0 && !hasTemperature(target))
    throw new UsageError(`--anneal = ${anneal} needs a target with a temperature T (ising); use --anneal 0`);
  const annealFrom = o.annealFrom ?? TRAIN_DEFAULTS.annealFrom;
  if (!(annealFrom > 0 && annealFrom < 1))
    throw invalidOption("anneal-from", annealFrom, "a fraction of the target's β in (0, 1)");
  const r: Pick<TrainConfig, "gradient" | "lrSchedule" | "batchFinal" | "beta2" | "clipNorm" | "anneal"> = {};
  if (gradient !== "reparam") r.gradient = gradient;
  if (decay !== "constant" || warmup > 0) r.lrSchedule = { warmup, decay, final };
  if (o.batchFinal !== undefined && o.batchFinal !== o.batch) r.batchFinal = o.batchFinal;
  if (o.beta2 !== undefined && o.beta2 !== 0.999) r.beta2 = o.beta2;
  if (o.clipNorm !== undefined) r.clipNorm = o.clipNorm;
  if (anneal > 0) r.anneal = { fraction: anneal, betaStart: annealFrom };
  return r;
}

export const BUILTIN_TARGETS = ["ising", "gaussian", "phi4"] as const;

/** True when a --target value names a module file rather than a built-in kind. */
export function isModuleTarget(target: string): boolean {
  return !(BUILTIN_TARGETS as readonly string[]).includes(target);
}

/** Parse --target: a built-in kind, or a module path with an accepted extension. */
export function parseTargetOption(v: string): string {
  if ((BUILTIN_TARGETS as readonly string[]).includes(v)) return v;
  if ((USER_MODULE_EXTENSIONS as readonly string[]).some((e) => v.endsWith(e)) && v.length > 3) return v;
  throw invalidOption(
    "target",
    v,
    `one of ${BUILTIN_TARGETS.join(", ")}, or the path of a module ending in .ts, .js or .mjs that exports a target`,
  );
}

/** The target config of the CLI options (a module target is loaded and validated here). */
export function targetConfigFromOptions(o: TrainCliOptions): TargetConfig {
  const phi4Only: [string, number | undefined][] = [
    ["kappa", o.kappa],
    ["lambda", o.lambda],
    ["m2", o.m2],
    ["lambda0", o.lambda0],
  ];
  if (o.target !== "phi4") {
    const given = phi4Only.filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
    if (given.length > 0)
      throw new UsageError(`${given.join(", ")} applies to --target phi4 only (the target is ${o.target})`);
  }
  if (o.target === "ising") return { kind: "ising", L: o.L, T: o.T };
  if (o.target === "gaussian") return { kind: "gaussian", L: o.L };
  if (o.target === "phi4") {
    const continuum = o.m2 !== undefined || o.lambda0 !== undefined;
    if (continuum && (o.kappa !== undefined || o.lambda !== undefined)) {
      throw new UsageError(
        "give either --kappa/--lambda (hopping form) or --m2/--lambda0 (continuum form) for phi4, not both",
      );
    }
    if (continuum) {
      if (o.m2 === undefined || o.lambda0 === undefined)
        throw new UsageError("the continuum form of phi4 needs both --m2 and --lambda0");
      return { kind: "phi4", L: o.L, m2: o.m2, lambda0: o.lambda0 };
    }
    return {
      kind: "phi4",
      L: o.L,
      kappa: o.kappa ?? PHI4_NEAR_CRITICAL.kappa,
      lambda: o.lambda ?? PHI4_NEAR_CRITICAL.lambda,
    };
  }
  const cfg = userTargetConfig(o.target);
  if (cfg.L !== o.L)
    throw new UsageError(
      `--L = ${o.L} differs from L = ${cfg.L} declared by ${o.target}: pass --L ${cfg.L} (or omit --L)`,
    );
  if (o.symmetrize && !loadUserTarget(o.target).z2Symmetric) {
    throw new UsageError(
      `${o.target} does not declare z2Symmetric: true, so the symmetrised model q_sym (Eq. S4) does not apply: pass --no-symmetrize`,
    );
  }
  return cfg;
}

/**
 * The experience-buffer config of the CLI options (v1 combined algorithm), or undefined for pure
 * PDD: on with --nll-weight > 0, or with --buffer-size alone (λ = 0: acceptance and fill are
 * recorded, training is pure PDD).
 */
export function bufferConfigFromOptions(o: TrainCliOptions): BufferConfig | undefined {
  const nllWeight = o.nllWeight ?? 0;
  if (!Number.isFinite(nllWeight) || nllWeight < 0)
    throw invalidOption("nll-weight", nllWeight, "a finite number >= 0");
  if (nllWeight === 0 && o.bufferSize === undefined) {
    if (o.bufferBatch !== undefined)
      throw new UsageError(
        `--buffer-batch = ${o.bufferBatch} needs --nll-weight > 0 (the buffer minibatch only feeds the NLL term)`,
      );
    return undefined;
  }
  if (nllWeight === 0 && o.bufferBatch !== undefined) {
    throw new UsageError(
      `--buffer-batch = ${o.bufferBatch} needs --nll-weight > 0 (the buffer minibatch only feeds the NLL term)`,
    );
  }
  return { size: o.bufferSize ?? BUFFER_SIZE_BATCHES * o.batch, batch: o.bufferBatch ?? o.batch, nllWeight };
}

/** The FlowConfig of the flat options of `train` and `fit` (defaulted optional fields left out: canonicalFlowConfig). */
export function flowConfigFromOptions(o: FlowOptimCliOptions, L: number, depth: number): FlowConfig {
  const { layout, nlayers, nmlp, nhidden, nrepeat, activation } = o;
  return canonicalFlowConfig({ L, layout, depth, nlayers, nmlp, nhidden, nrepeat, activation });
}

/** The part of a default run-directory name that tells repeated layer groups apart ("-r2"; "" for R = 1). */
export function nrepeatTag(flow: FlowConfig): string {
  return nrepeatOf(flow) > 1 ? `-r${nrepeatOf(flow)}` : "";
}

/** The optimiser's settings from the flat options of `train` and `fit`. */
export function optimSettingsFromOptions(o: FlowOptimCliOptions): OptimSettings {
  return {
    batch: o.batch,
    epochs: o.epochs,
    lr: o.lr,
    weightDecay: o.weightDecay,
    seed: o.seed,
    dtype: o.dtype,
    symmetrize: o.symmetrize,
    init: o.init,
    kernel: o.kernel,
  };
}

/** Build a TrainConfig from parsed CLI options (validating cross-option constraints). */
export function trainConfigFromOptions(o: TrainCliOptions): TrainConfig {
  const maxDepth = log2Int(o.L);
  const depth = o.depth ?? maxDepth;
  if (depth > maxDepth) throw invalidOption("depth", depth, `an integer in 1..${maxDepth} for L = ${o.L}`);
  const symmetryWeight = o.symmetryWeight ?? 0;
  const buffer = bufferConfigFromOptions(o);
  if (buffer && o.workers !== "auto" && o.workers > 1) {
    throw new UsageError(
      `--workers = ${o.workers} cannot be combined with the experience buffer (--nll-weight / --buffer-size): it runs in one thread only (use --workers 1)`,
    );
  }
  if (symmetryWeight > 0 && o.symmetrize) {
    throw new UsageError(
      `--symmetry-weight = ${symmetryWeight} needs --no-symmetrize: the regulariser KL(q(x)‖q(−x)) is identically zero for the symmetrised model q_sym`,
    );
  }
  const target = targetConfigFromOptions(o);
  return {
    target,
    flow: flowConfigFromOptions(o, o.L, depth),
    ...optimSettingsFromOptions(o),
    // stored only when on, so configs (and resumability) of runs without it are unchanged
    ...(symmetryWeight > 0 ? { symmetryWeight } : {}),
    // stored only when on, so configs (and resumability) of pure PDD runs are unchanged
    ...(buffer ? { buffer } : {}),
    ...recipeFromOptions(o, target),
  };
}

export function defaultRunDir(c: TrainConfig): string {
  const k = c.target.kind;
  const t =
    k === "ising"
      ? `ising-L${c.flow.L}-T${Number(c.target.T).toFixed(4)}`
      : k === "phi4"
        ? `phi4-L${c.flow.L}-k${Number(c.target.kappa).toFixed(4)}-l${Number(c.target.lambda).toFixed(4)}`
        : k === "user"
          ? `user-${String(c.target.module)
              .replace(/^.*[\\/]/, "")
              .replace(/\.[^.]*$/, "")
              .replace(/[^\w.-]+/g, "_")}-L${c.flow.L}`
          : `${k}-L${c.flow.L}`;
  return `runs/${t}-${c.flow.layout}-d${c.flow.depth}${nrepeatTag(c.flow)}-s${c.seed}`;
}

/** A chainable `.option(...)` that skips the options whose long name is in `omit`. */
interface OptionAdder {
  option(flags: string, description: string, parse: (value: string) => unknown, dflt?: unknown): OptionAdder;
  option(flags: string, description: string, dflt?: string | number | boolean): OptionAdder;
}

function optionAdder(cmd: Command, omit: readonly string[]): OptionAdder {
  const skip = new Set(omit);
  const add = cmd.option as unknown as (...args: unknown[]) => Command;
  const adder = {
    option(flags: string, ...rest: unknown[]) {
      const long = /--(?:no-)?([\w-]+)/.exec(flags)?.[1] ?? flags;
      if (!skip.has(long)) add.apply(cmd, [flags, ...rest]);
      return adder;
    },
  } as OptionAdder;
  return adder;
}

/**
 * Options shared by `train`, `demo` and `scan`; `omit` lists long option names (without "--",
 * e.g. "T", "depth", "out") that the calling command defines differently or not at all.
 */
export function addTrainOptions(
  cmd: Command,
  defaults: { L: number; epochs: number; activation?: Activation; nrepeat?: number },
  omit: readonly string[] = [],
): Command {
  optionAdder(cmd, omit)
    .option(
      "--target <kind|module>",
      "target density: ising (relaxed 2D Ising, Eq. 7), phi4 (lattice φ⁴), gaussian (exactly solvable test), or a module path (./my-energy.ts, .js, .mjs) exporting a user-defined target (train then uses the L it declares unless --L is given)",
      parseTargetOption,
      "ising",
    )
    .option("--L <n>", "linear lattice size, a power of two ≥ 2", parseLatticeSize, defaults.L)
    .option(
      "--T <t>",
      `temperature (> 0); default T_c = 2/ln(1+√2) ≈ ${T_CRITICAL.toFixed(6)}`,
      parseTemperature,
      T_CRITICAL,
    )
    .option(
      "--kappa <k>",
      `phi4 hopping parameter κ (default ${PHI4_NEAR_CRITICAL.kappa}, near the transition at λ = ${PHI4_NEAR_CRITICAL.lambda}); λ = 0 needs |κ| < 1/4`,
      floatOption("kappa", {}),
    )
    .option(
      "--lambda <l>",
      `phi4 quartic coupling λ ≥ 0 of S = Σ[−2κΣ_μ φφ_{x+μ} + φ² + λ(φ² − 1)²] (default ${PHI4_NEAR_CRITICAL.lambda})`,
      floatOption("lambda", { min: 0 }),
    )
    .option(
      "--m2 <m2>",
      "phi4 continuum-style mass squared (with --lambda0 instead of --kappa/--lambda; κ and λ follow from m² = (1 − 2λ)/κ − 4, λ₀ = 6λ/κ²)",
      floatOption("m2", {}),
    )
    .option(
      "--lambda0 <l0>",
      "phi4 continuum-style quartic coupling λ₀ ≥ 0 (interaction λ₀ϕ⁴/4!)",
      floatOption("lambda0", { min: 0 }),
    )
    .option(
      "--depth <n>",
      "renormalisation levels, 1..log2(L) (default log2(L): the full MERA)",
      intOption("depth", 1, 10),
    )
    .option(
      "--layout <kind>",
      "mera (Fig. 2c), tebd (disentanglers only, Fig. 2a) or tree (decimators only, Fig. 2b)",
      (v) => parseChoiceOption("layout", v, ["mera", "tebd", "tree"] as const),
      TRAIN_DEFAULTS.layout,
    )
    .option("--nlayers <n>", "Real NVP couplings per 2×2 block", intOption("nlayers", 1, 64), TRAIN_DEFAULTS.nlayers)
    .option("--nmlp <n>", "hidden layers of each s and t network", intOption("nmlp", 0, 16), TRAIN_DEFAULTS.nmlp)
    .option("--nhidden <n>", "units per hidden layer", intOption("nhidden", 1, 1024), TRAIN_DEFAULTS.nhidden)
    .option(
      "--activation <kind>",
      "hidden activation of the s and t networks: elu (the paper's) or rational (u/(1−u) for u < 0: no exponential: ≈1.4–1.5× the epochs per CPU-second of ELU at the default network; docs/performance.md)",
      (v) => parseChoiceOption("activation", v, ACTIVATIONS),
      defaults.activation ?? TRAIN_DEFAULTS.activation,
    )
    .option(
      "--nrepeat <n>",
      `repetitions of each level's layer group, 1..${NREPEAT_MAX} (the original code's nrepeat): mera [disentangler, decimator] × n, tree decimator × n, tebd brick-wall pair × n`,
      intOption("nrepeat", 1, NREPEAT_MAX),
      defaults.nrepeat ?? TRAIN_DEFAULTS.nrepeat,
    )
    .option(
      "--batch <n>",
      "samples per epoch (one Adam step per epoch)",
      intOption("batch", 1, 1 << 20),
      TRAIN_DEFAULTS.batch,
    )
    .option("--epochs <n>", "total epochs (when resuming: the new total)", intOption("epochs", 0, 1e9), defaults.epochs)
    .option(
      "--lr <x>",
      "Adam learning rate (the peak of the schedule)",
      floatOption("lr", { min: 0, exclusiveMin: true }),
      TRAIN_DEFAULTS.lr,
    )
    .option(
      "--lr-decay <kind>",
      "learning rate after the warm-up: cosine (decays to --lr-final × lr at the last epoch) or constant",
      (v) => parseChoiceOption("lr-decay", v, LR_DECAYS),
      TRAIN_DEFAULTS.lrDecay,
    )
    .option(
      "--warmup <f>",
      "linear learning-rate warm-up over this fraction of the epochs, in [0, 1)",
      floatOption("warmup", { min: 0, max: 0.999 }),
      TRAIN_DEFAULTS.warmup,
    )
    .option(
      "--lr-final <f>",
      "final learning rate of the cosine decay as a fraction of --lr, in [0, 1]",
      floatOption("lr-final", { min: 0, max: 1 }),
      TRAIN_DEFAULTS.lrFinal,
    )
    .option(
      "--gradient <kind>",
      `gradient estimator of the reverse KL: path (path gradient, drops the zero-mean score term; lower variance near the optimum) or reparam (the plain reparametrised gradient); default ${TRAIN_DEFAULTS.gradient}, reparam with --symmetry-weight`,
      (v) => parseChoiceOption("gradient", v, GRADIENT_KINDS),
    )
    .option(
      "--batch-final <n>",
      "batch at the last epoch, growing geometrically from --batch (default: --batch)",
      intOption("batch-final", 1, 1 << 20),
    )
    .option(
      "--beta2 <x>",
      "Adam β₂ in (0, 1) (default 0.999)",
      floatOption("beta2", { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    )
    .option(
      "--clip-norm <x>",
      "clip the gradient to this Euclidean norm (default: no clipping)",
      floatOption("clip-norm", { min: 0, exclusiveMin: true }),
    )
    .option(
      "--anneal <f>",
      `β annealing: train against the target at β' rising from --anneal-from × β to β in ${ANNEAL_STEPS} steps over this fraction of the epochs, in [0, 1); 0 = off (default ${TRAIN_DEFAULTS.anneal} for targets with a temperature T, else 0; avoids the local minimum some seeds stall in at T_c, docs/quality.md)`,
      floatOption("anneal", { min: 0, max: 0.999 }),
    )
    .option(
      "--anneal-from <f>",
      "starting β of the annealing as a fraction of the target's β, in (0, 1)",
      floatOption("anneal-from", { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
      TRAIN_DEFAULTS.annealFrom,
    )
    .option(
      "--weight-decay <x>",
      "L2 weight decay added to the gradient (the original code used 0.001)",
      floatOption("weight-decay", { min: 0 }),
      TRAIN_DEFAULTS.weightDecay,
    )
    .option(
      "--seed <n>",
      "random seed (same seed, same numbers)",
      intOption("seed", 0, 4294967295),
      TRAIN_DEFAULTS.seed,
    )
    .option(
      "--dtype <t>",
      "float64 or float32 storage for parameters and fields",
      (v) => parseChoiceOption("dtype", v, ["float32", "float64"] as const),
      TRAIN_DEFAULTS.dtype,
    )
    .option("--no-symmetrize", "train the plain q(x) instead of the Z2-symmetrised q_sym(x) = ½[q(x)+q(−x)] (Eq. S4)")
    .option(
      "--symmetry-weight <w>",
      "weight of the symmetry regulariser KL(q(x)‖q(−x)) added to the loss (App. E); needs --no-symmetrize",
      floatOption("symmetry-weight", { min: 0 }),
      0,
    )
    .option(
      "--init <kind>",
      "identity (flow starts as the identity) or torch (original's random last t layer)",
      (v) => parseChoiceOption("init", v, ["identity", "torch"] as const),
      TRAIN_DEFAULTS.init,
    )
    .option(
      "--kernel <k>",
      "block-layer kernel: wasm (WebAssembly SIMD) or js (typed arrays); same results up to rounding",
      (v) => parseChoiceOption("kernel", v, ["wasm", "js"] as const),
      TRAIN_DEFAULTS.kernel,
    )
    .option(
      "--backend <b>",
      "where the loss and gradient are computed: cpu (--kernel) or webgpu (WGSL kernel in float32 through the optional package webgpu: npm i webgpu; implies --dtype float32)",
      parseBackend,
      "cpu",
    )
    .option("--out <dir>", "run directory (default runs/<target>-L<L>-T<T>-<layout>-d<depth>-s<seed>)")
    .option("--save-period <n>", "epochs between checkpoints", intOption("save-period", 1, 1e9), 10)
    .option("--resume", "continue the run in --out from its checkpoint (model, optimiser, RNG, epoch)", false)
    .option("--overwrite", "discard a previous run's results in --out", false)
    .option(
      "--max-seconds <s>",
      "stop after this wall time (with a checkpoint), even before --epochs",
      floatOption("max-seconds", { min: 0, exclusiveMin: true }),
    )
    .option(
      "--workers <n>",
      "worker threads sharing each batch: auto (one per core when batch × L² ≥ 32768 per worker), or 1 (this thread) … 64",
      workersOption,
      "auto",
    )
    .option(
      "--eval-samples <n>",
      "fresh samples for the final F estimate (default 4 × batch)",
      intOption("eval-samples", 2, 1e8),
    )
    .option(
      "--progress <mode>",
      "auto, tty, plain or off",
      (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const),
      "auto",
    )
    .option("--json", "print the final summary as JSON", false);
  if (!omit.includes("backend")) backendImpliesFloat32(cmd);
  return cmd;
}

function parseBackend(v: string): "cpu" | "webgpu" {
  return parseChoiceOption("backend", v, ["cpu", "webgpu"] as const);
}

/** `--backend cpu|webgpu` with a command's own description (`fit`); webgpu implies --dtype float32 as for `train`. */
export function addBackendOption(cmd: Command, description: string): Command {
  cmd.option("--backend <b>", description, parseBackend, "cpu");
  backendImpliesFloat32(cmd);
  return cmd;
}

/** The WebGPU kernel computes in float32: --backend webgpu implies --dtype float32 unless --dtype is given. */
function backendImpliesFloat32(cmd: Command): void {
  cmd.hook("preAction", (c) => {
    if (c.opts().backend === "webgpu" && c.getOptionValueSource("dtype") !== "cli")
      c.setOptionValueWithSource("dtype", "float32", "implied");
  });
}

/** Run training from CLI options; maps configuration and run-directory errors to exit code 2. */
export async function trainFromOptions(ctx: CliContext, o: TrainCliOptions): Promise<TrainRunSummary> {
  let config: TrainConfig;
  try {
    config = trainConfigFromOptions(o);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  if (o.resume && o.overwrite) throw new UsageError("--resume and --overwrite cannot be used together");
  const dir = o.out ?? defaultRunDir(config);
  try {
    const { summary, paths } = await runTraining({
      dir,
      config,
      resume: o.resume,
      overwrite: o.overwrite,
      savePeriod: o.savePeriod,
      maxSeconds: o.maxSeconds,
      evalSamples: o.evalSamples,
      progress: o.progress,
      // auto: one worker per core when the batch gains from it; the GPU (and the experience buffer) take the whole batch
      workers: config.buffer
        ? 1
        : o.backend === "webgpu"
          ? o.workers === "auto"
            ? 1
            : o.workers
          : resolveWorkers(o.workers, config.batch, config.flow.L * config.flow.L),
      backend: o.backend,
      onNan: o.onNan,
      log: (l) => ctx.err(l + "\n"),
    });
    if (o.json) printJson(ctx, { dir: paths.dir, ...summary });
    else printSummary(ctx, paths.dir, summary);
    if (summary.bound_violated) throw new BoundViolationError(paths.dir, summary);
    return summary;
  } catch (err) {
    throw runErrorAsUsage(err);
  }
}

/**
 * A run that cannot start from the given input (a value out of range, an unusable run directory,
 * checkpoint or metrics file, a run directory locked by another process) as a UsageError (exit 2);
 * any other error unchanged. Shared by `train` and `fit`.
 */
export function runErrorAsUsage(err: unknown): unknown {
  if (
    err instanceof RangeError ||
    err instanceof RunDirError ||
    err instanceof CheckpointError ||
    err instanceof LockError ||
    err instanceof MetricsError ||
    err instanceof WebGpuUnavailableError
  ) {
    return new UsageError(err.message);
  }
  return err;
}

/**
 * The final F lies below the exact −ln Z by more than 3 standard errors. F is a variational upper
 * bound (Eq. 3), so this is never a success: it signals a bug (exit status 1).
 */
export class BoundViolationError extends Error {
  override readonly name = "BoundViolationError";
  constructor(dir: string, s: TrainRunSummary) {
    const sigmas = s.exact !== null && s.F_stderr > 0 ? ((s.exact - s.F) / s.F_stderr).toFixed(1) : "?";
    super(
      `variational bound violated: F = ${s.F} ± ${s.F_stderr} lies ${sigmas} standard errors below the exact -ln Z = ${s.exact}; F ≥ -ln Z holds for every flow, so this signals a bug (results kept in ${dir})`,
    );
  }
}

export function printSummary(ctx: CliContext, dir: string, s: TrainRunSummary): void {
  println(ctx, `run directory: ${dir}`);
  println(ctx, `epochs: ${s.epochs}   median time per epoch: ${s.seconds_per_epoch_median.toFixed(3)} s`);
  println(ctx, `variational F = ${s.F.toFixed(6)} ± ${s.F_stderr.toFixed(6)}  (${s.eval_samples} fresh samples)`);
  if (s.exact !== null && s.rel_err !== null) {
    println(ctx, `exact -ln Z   = ${s.exact.toFixed(6)}`);
    println(ctx, `relative error (F - exact)/|exact| = ${s.rel_err.toExponential(3)}`);
    if (s.bound_violated)
      println(ctx, "WARNING: F is below the exact -ln Z by more than 3 standard errors: this signals a bug");
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("train")
    .description(
      "train a hierarchical Real NVP flow by probability density distillation (reverse KL, Eq. 3–5) into a run directory",
    );
  addTrainOptions(cmd, { L: 8, epochs: 1000 });
  cmd.option(
    "--on-nan <mode>",
    "non-finite loss or gradient: stop (name the epoch and the last good checkpoint) or rollback (reload the last checkpoint, halve the learning rate, continue; at most 10 times)",
    (v) => parseChoiceOption("on-nan", v, ON_NAN_MODES),
    "stop",
  );
  cmd
    .option(
      "--nll-weight <w>",
      "v1 combined algorithm: weight λ of the NLL (v1 Eq. 7) on a minibatch from an experience buffer of MIS-accepted samples and their Z2 copies, added to the PDD loss; 0 = pure PDD",
      floatOption("nll-weight", { min: 0 }),
    )
    .option(
      "--buffer-size <n>",
      `experience-buffer capacity in configurations, FIFO (default ${BUFFER_SIZE_BATCHES} × batch when --nll-weight > 0; alone with --nll-weight 0 it only records the MIS acceptance and buffer fill)`,
      intOption("buffer-size", 1, 1e9),
    )
    .option(
      "--buffer-batch <n>",
      "configurations drawn from the buffer per epoch for the NLL (default: --batch)",
      intOption("buffer-batch", 1, 1 << 20),
    );
  cmd.action(async (o: TrainCliOptions, c: Command) => {
    // a module target declares its lattice size (used unless --L was given) and its symmetry
    // (without the Z2 claim the symmetrised model does not apply: train the plain q)
    if (isModuleTarget(o.target)) {
      let t;
      try {
        t = loadUserTarget(o.target);
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      if (c.getOptionValueSource("L") !== "cli") o.L = t.L;
      if (!t.z2Symmetric && o.symmetrize) {
        o.symmetrize = false;
        ctx.err(
          `note: ${o.target} does not declare z2Symmetric: true; training the plain model q (as with --no-symmetrize)\n`,
        );
      }
    }
    await trainFromOptions(ctx, o);
  });
}
