/**
 * `neuralrg fit --data FILE|mnist|mnist-sample`: maximum-likelihood (forward KL) training of the
 * hierarchical flow on a data set, into a run directory (train/fit-run.ts). Flow and optimiser
 * options are those of `train` (shared definitions); data, preprocessing and minibatch options
 * are fit's own.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { log2Int } from "../flow/config.ts";
import { BUILTIN_DATASETS, DATA_EXTENSIONS, DataFormatError, isBuiltinDataset, loadData } from "../data/dataset.ts";
import type { DequantizeKind, Preprocess } from "../data/dequantize.ts";
import { checkDataForPreprocess } from "../data/dequantize.ts";
import { runFit, type FitRunSummary } from "../train/fit-run.ts";
import type { FitConfig } from "../train/fit.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, UsageError } from "./errors.ts";
import { floatOption, intOption, parseLatticeSize } from "./options.ts";
import {
  addBackendOption,
  addTrainOptions,
  flowConfigFromOptions,
  nrepeatTag,
  optimSettingsFromOptions,
  runErrorAsUsage,
  type FlowOptimCliOptions,
} from "./train.ts";

export interface FitCliOptions extends FlowOptimCliOptions {
  data: string;
  testFraction: number;
  dequantize: "auto" | DequantizeKind;
  logit?: number;
  L?: number;
  evalPeriod?: number;
  evalSamples?: number;
  maxTrain?: number;
  maxTest?: number;
  out?: string;
  resume: boolean;
  overwrite: boolean;
  maxSeconds?: number;
  figures: boolean;
  progress: "auto" | "tty" | "plain" | "off";
  json: boolean;
}

/** Options of `train` that fit defines differently (or that do not apply to data). */
const NOT_SHARED = [
  "target",
  "L",
  "T",
  "kappa",
  "lambda",
  "m2",
  "lambda0",
  "batch",
  "epochs",
  "symmetrize",
  "symmetry-weight",
  "out",
  "save-period",
  "workers",
  "eval-samples",
  "lr-decay",
  "warmup",
  "lr-final",
  "gradient",
  "batch-final",
  "beta2",
  "clip-norm",
  "anneal",
  "anneal-from",
  "backend",
];

function parseDataOption(v: string): string {
  if (isBuiltinDataset(v) || DATA_EXTENSIONS.some((e) => v.toLowerCase().endsWith(e))) return v;
  throw invalidOption(
    "data",
    v,
    `a file ending in ${DATA_EXTENSIONS.join(", ")} or a built-in data set (${BUILTIN_DATASETS.join(", ")})`,
  );
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function usage(err: unknown): unknown {
  return err instanceof DataFormatError ? new UsageError(err.message) : runErrorAsUsage(err);
}

async function fitFromOptions(ctx: CliContext, o: FitCliOptions): Promise<FitRunSummary> {
  if (o.resume && o.overwrite) throw new UsageError("--resume and --overwrite cannot be used together");
  try {
    const L = o.L ?? (o.data.startsWith("mnist") ? 32 : undefined);
    const loaded = loadData(o.data, {
      testFraction: o.testFraction,
      seed: o.seed,
      L,
      maxTrain: o.maxTrain,
      maxTest: o.maxTest,
    });
    const { train, test } = loaded;
    const fl = train.L;
    if (!(fl >= 2 && (fl & (fl - 1)) === 0)) {
      throw new UsageError(
        `the data are ${fl}×${fl}, but the hierarchical flow needs L a power of two: pad them with --L ${2 ** Math.ceil(Math.log2(fl))}`,
      );
    }
    const discrete = train.values instanceof Uint8Array;
    const dequantize: DequantizeKind = o.dequantize === "auto" ? (discrete ? "uniform" : "none") : o.dequantize;
    if (discrete && dequantize === "none")
      ctx.err(
        "note: the data are 0..255 integers; without --dequantize uniform the continuous NLL is not a bound on the discrete one\n",
      );
    const preprocess: Preprocess = { dequantize, ...(o.logit !== undefined ? { logit: o.logit } : {}) };
    checkDataForPreprocess(train.values, fl, preprocess, train.name);
    checkDataForPreprocess(test.values, fl, preprocess, test.name);
    const maxDepth = log2Int(fl);
    const depth = o.depth ?? maxDepth;
    if (depth > maxDepth) throw invalidOption("depth", depth, `an integer in 1..${maxDepth} for L = ${fl}`);
    let target: Record<string, number | string | boolean> | undefined;
    const mt = loaded.meta?.target;
    if (mt && typeof mt === "object" && !Array.isArray(mt)) {
      if (fl !== loaded.originalL)
        ctx.err(
          `note: the data were padded from ${loaded.originalL}×${loaded.originalL}, so their target density (${o.data}.meta.json) no longer applies\n`,
        );
      else target = mt as Record<string, number | string | boolean>;
    }
    const config: FitConfig = {
      objective: "nll",
      data: {
        source: o.data,
        ...(isBuiltinDataset(o.data) ? {} : { sha256: sha256File(o.data) }),
        split: loaded.split,
        testFraction: loaded.split === "official" ? 0 : o.testFraction,
        nTrain: train.n,
        nTest: test.n,
        originalL: loaded.originalL,
      },
      preprocess,
      ...(target ? { target } : {}),
      flow: flowConfigFromOptions(o, fl, depth),
      ...optimSettingsFromOptions(o),
    };
    const dir =
      o.out ??
      `runs/fit-${basename(o.data)
        .replace(/\.[^.]*$/, "")
        .replace(/[^\w.-]+/g, "_")}-L${fl}-d${depth}${nrepeatTag(config.flow)}-s${o.seed}`;
    const { summary, paths } = await runFit({
      dir,
      config,
      train,
      test,
      resume: o.resume,
      overwrite: o.overwrite,
      evalPeriod: o.evalPeriod,
      evalSamples: o.evalSamples,
      maxSeconds: o.maxSeconds,
      progress: o.progress,
      figures: o.figures,
      backend: o.backend,
      log: (l) => ctx.err(l + "\n"),
    });
    if (o.json) printJson(ctx, { dir: paths.dir, ...summary });
    else printFitSummary(ctx, paths.dir, summary);
    return summary;
  } catch (err) {
    throw usage(err);
  }
}

function printFitSummary(ctx: CliContext, dir: string, s: FitRunSummary): void {
  println(ctx, `run directory: ${dir}`);
  println(
    ctx,
    `steps: ${s.steps} (${s.epochs.toFixed(2)} epochs)   training time: ${s.train_seconds.toFixed(1)} s   median time per step: ${s.seconds_per_step_median.toFixed(4)} s`,
  );
  println(
    ctx,
    `test NLL = ${s.test_nll.toFixed(3)} ± ${s.test_nll_stderr.toFixed(3)} nats per configuration  (${s.n_test} test configurations)`,
  );
  println(ctx, `         = ${s.test_nats_per_dim.toFixed(5)} nats/dim = ${s.test_bits_per_dim.toFixed(4)} bits/dim`);
  println(ctx, `units: ${s.units}`);
  if (typeof s.forward_kl === "number") {
    println(
      ctx,
      `KL(π‖q) = ${s.forward_kl.toFixed(4)} ± ${Number(s.forward_kl_stderr).toFixed(4)} nats  (data entropy H(π) = ${Number(s.data_entropy).toFixed(4)} ± ${Number(s.data_entropy_stderr).toFixed(4)})`,
    );
    println(
      ctx,
      `variational F = ${Number(s.F).toFixed(4)} ± ${Number(s.F_stderr).toFixed(4)}   exact -ln Z = ${Number(s.exact).toFixed(4)}   relative error ${Number(s.rel_err).toExponential(3)}`,
    );
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("fit")
    .description(
      "train the hierarchical flow by maximum likelihood (forward KL, NLL of Eq. 1) on a data set (.npy, .jsonl, or the built-in mnist / mnist-sample) into a run directory",
    );
  cmd
    .requiredOption(
      "--data <file|name>",
      `data: a .npy file (float32/float64/uint8, shape [n, L, L] or [n, L·L]), a JSON-lines file (one L×L array per line), or a built-in set: ${BUILTIN_DATASETS.join(", ")} (MNIST digits; mnist uses the official 60000/10000 split)`,
      parseDataOption,
    )
    .option(
      "--test-fraction <f>",
      "fraction of a file's configurations held out as the test set (seeded split; not used for mnist)",
      floatOption("test-fraction", { min: 0, max: 1, exclusiveMax: true }),
      0.1,
    )
    .option(
      "--dequantize <kind>",
      "auto (uniform for uint8 data, none otherwise), none, or uniform: y = (k + u)/256, u ~ U[0,1), for 0..255 integers",
      (v) => parseChoiceOption("dequantize", v, ["auto", "none", "uniform"] as const),
      "auto",
    )
    .option(
      "--logit <alpha>",
      "logit transform x = logit(α + (1 − 2α) y) of data y in [0, 1] (with its log-determinant), α in (0, 0.5), e.g. 0.05; default: none",
      floatOption("logit", { min: 0, max: 0.5, exclusiveMin: true, exclusiveMax: true }),
    )
    .option(
      "--L <n>",
      "pad the configurations with zeros (centred) to L×L, a power of two (default: the data's L; 32 for mnist, as v1)",
      parseLatticeSize,
    )
    .option("--batch <n>", "minibatch size (one Adam step per minibatch)", intOption("batch", 1, 1 << 20), 64)
    .option(
      "--epochs <n>",
      "passes over the training set (when resuming: the new total)",
      intOption("epochs", 0, 1e9),
      10,
    )
    .option(
      "--symmetrize",
      "fit the Z2-symmetrised model q_sym(x) = ½[q(x) + q(−x)] (Eq. S4; for data symmetric under x → −x)",
      false,
    )
    .option(
      "--eval-period <steps>",
      "Adam steps between test evaluations (a metrics row and a checkpoint); default one epoch",
      intOption("eval-period", 1, 1e9),
    )
    .option(
      "--eval-samples <n>",
      "test configurations used by the periodic evaluations (default all; the final NLL always uses the whole test set)",
      intOption("eval-samples", 1, 1e9),
    )
    .option(
      "--max-train <n>",
      "use only the first n training configurations (after the split)",
      intOption("max-train", 1, 1e9),
    )
    .option("--max-test <n>", "use only the first n test configurations", intOption("max-test", 1, 1e9))
    .option("--out <dir>", "run directory (default runs/fit-<data>-L<L>-d<depth>-s<seed>)")
    .option("--no-figures", "skip the sample and scale figures at the end");
  // the recipe of `train` was measured on PDD training (docs/quality.md): maximum likelihood keeps
  // the paper's activation and one layer group per level unless asked
  addTrainOptions(cmd, { L: 8, epochs: 10, activation: "elu", nrepeat: 1 }, NOT_SHARED);
  addBackendOption(
    cmd,
    "where each minibatch's NLL and gradient are computed: cpu (--kernel) or webgpu (the inference pass and its backward in the WGSL kernel, float32, through the optional package webgpu: npm i webgpu; implies --dtype float32; the prior, preprocessing, Adam and the test NLL stay on the CPU)",
  );
  cmd.action(async (o: FitCliOptions) => {
    await fitFromOptions(ctx, o);
  });
}
