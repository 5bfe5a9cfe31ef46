/**
 * Property-based fuzzing of the command line (fast-check): random and adversarial arguments for
 * every registered command. Each generated argv runs in-process through main(); the property:
 *
 *   - exit status 0 (valid input), or 2 with exactly one stderr line "error: …" (usage error);
 *     1 only for a training that diverged or violated the variational bound (one error line);
 *   - never a stack trace, never more than `maxMs` of wall time;
 *   - a refused (exit 2) `train`/`demo`/`scan` leaves its fresh --out directory absent (no
 *     partial output), a refused command on an existing run directory leaves it byte-identical
 *     (a diverged training, exit 1, keeps what it wrote: metrics up to the divergence);
 *   - a successful `train` leaves a complete run directory.
 *
 * Cost is kept small by giving every command cheap defaults first (tiny lattice and network);
 * the fuzzed tokens come after and override them. Valid values are drawn from small pools,
 * invalid ones from a large adversarial pool (NaN, ±Infinity, huge and negative numbers, hex,
 * unicode digits, empty strings, NUL bytes, random strings).
 */
import fc from "fast-check";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCheckpoint } from "../../../src/io/checkpoint.ts";
import { readMetrics } from "../../../src/io/metrics.ts";
import { runTraining } from "../../../src/train/run.ts";
import type { TrainConfig } from "../../../src/train/trainer.ts";
import type { CliResult } from "./cli.ts";
import { contractViolations, runInProcess, runProcess, showArgv, snapshot, snapshotDiff } from "./cli.ts";

/** Failures that are the run's, not the input's: exit 1 is right for these. */
export const ALLOWED_FAILURES = /^error: (training diverged at epoch \d+|variational bound violated)/;

/** Adversarial option values. */
export const junkValue: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "NaN",
      "nan",
      "Infinity",
      "-Infinity",
      "inf",
      "-1",
      "0",
      "-0",
      "+0",
      "1e309",
      "-1e309",
      "1e-400",
      "5e-324",
      "1e-320",
      "0x10",
      "0b11",
      "0o7",
      "1_000",
      "1,5",
      "",
      " ",
      "--",
      "-",
      "4.5",
      "1e9",
      "1e10",
      "4294967296",
      "9007199254740993",
      "99999999999999999999999",
      "-99999999999999999999",
      "2048",
      "1048577",
      "1e8",
      "٤",
      "４",
      "\u0000",
      "a\u0000b",
      "null",
      "true",
      "[]",
      "{}",
      "'4'",
      "4 ",
      "\t4",
      "4\n",
      "abc",
      "--L",
      "-h",
      "3",
      "6",
      "1.0",
      ".5",
      "5.",
      "+4",
      "1e+2",
      "1E2",
      "0.0",
      "/",
      "..",
      "\u202e",
      "💥",
      "%s%n",
      "${HOME}",
      "$(true)",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

function opt(valid: readonly string[], validWeight = 3): fc.Arbitrary<string> {
  return fc.oneof({ weight: validWeight, arbitrary: fc.constantFrom(...valid) }, { weight: 2, arbitrary: junkValue });
}

/** Options of `train` (and `demo`): small valid pools plus junk. */
const TRAIN_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--target": opt(["ising", "gaussian", "phi4", "./missing-target.ts", "x.mjs"]),
  "--L": opt(["2", "4"]),
  "--T": opt(["2.269", "1", "5", "0.5", "0.01", "1000000"]),
  "--kappa": opt(["0.1", "0.2", "-0.1"]),
  "--lambda": opt(["0", "0.5", "1"]),
  "--m2": opt(["-1", "0.5"]),
  "--lambda0": opt(["0", "1"]),
  "--depth": opt(["1", "2"]),
  "--layout": opt(["mera", "tebd", "tree"]),
  "--nlayers": opt(["1", "2"]),
  "--nmlp": opt(["0", "1"]),
  "--nhidden": opt(["1", "2", "4"]),
  "--batch": opt(["1", "2", "4", "8"]),
  "--epochs": opt(["0", "1", "2", "3"]),
  "--lr": opt(["0.001", "0.01", "0.5", "1e3"]),
  "--weight-decay": opt(["0", "0.001"]),
  "--seed": opt(["0", "42", "4294967295"]),
  "--dtype": opt(["float32", "float64"]),
  "--symmetry-weight": opt(["0", "0.1"]),
  "--init": opt(["identity", "torch"]),
  "--kernel": opt(["js", "wasm"]),
  "--save-period": opt(["1", "2", "5"]),
  "--max-seconds": opt(["0.001", "10"]),
  "--workers": opt(["1"]),
  "--eval-samples": opt(["2", "4", "8"]),
  "--progress": opt(["off"]),
  "--on-nan": opt(["stop", "rollback"]),
  "--nll-weight": opt(["0", "1"]),
  "--buffer-size": opt(["4", "16"]),
  "--buffer-batch": opt(["2", "4"]),
};
const TRAIN_FLAGS = ["--no-symmetrize", "--resume", "--overwrite", "--json"];
const CHEAP_TRAIN = [
  "--L",
  "2",
  "--nlayers",
  "1",
  "--nmlp",
  "0",
  "--nhidden",
  "2",
  "--batch",
  "4",
  "--epochs",
  "2",
  "--eval-samples",
  "4",
  "--progress",
  "off",
  "--kernel",
  "js",
];

const EXACT_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--L": opt(["2", "4", "8", "16", "64"]),
  "--T": opt(["2.269", "1", "5", "0.5", "0.01", "1000000"]),
};

/** Options of `sample` and `hmc` (valid pools are cheap: a handful of steps and chains). */
const SAMPLING_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--method": opt(["mis", "iw", "hmc-latent", "hmc-physical"]),
  "--n": opt(["1", "2", "4"]),
  "--chains": opt(["1", "2", "4"]),
  "--seed": opt(["0", "1"]),
  "--warmup": opt(["0", "1"]),
  "--leapfrog-steps": opt(["1", "2"]),
  "--step-size": opt(["0.1", "0.2"]),
  "--target-accept": opt(["0.7"]),
  "--step-jitter": opt(["0", "0.5"]),
  "--symmetrize": opt(["auto", "on", "off"]),
  "--estimator": opt(["improved", "spins"]),
  "--T": opt(["2.269", "3"]),
  "--init": opt(["normal", "flow"]),
  "--reference-s": opt(["0.5"]),
  "--kernel": opt(["js", "wasm"]),
  "--progress": opt(["off"]),
  "--batch": opt(["2", "4"]),
};

const ANALYZE_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--samples": opt(["2", "4", "8"]),
  "--k": opt(["1", "2"]),
  "--seed": opt(["0", "1"]),
  "--what": opt(["all", "collective", "response", "mi", "wander", "collective,wander"]),
  "--source": opt(["flow", "mis"]),
  "--mis-steps": opt(["0", "1"]),
  "--sign": opt(["auto", "sample", "map", "none"]),
  "--wander-scale": opt(["all", "0", "1"]),
  "--wander-sites": opt(["0", "1,2", "0:0,1:1"]),
  "--workers": opt(["1"]),
  "--progress": opt(["off"]),
};

const REPORT_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--samples": opt(["2", "4"]),
  "--seed": opt(["0", "1"]),
  "--progress": opt(["off"]),
};

const SCAN_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--T": opt(["2", "2,3", "2:3:1", "1:0:1"]),
  "--depth": opt(["1", "1..2", "1,2"]),
  "--jobs": opt(["1"]),
  "--grid-samples": opt(["0"]),
  "--epochs": opt(["1"]),
  "--L": opt(["2"]),
  "--batch": opt(["2"]),
  "--max-seconds": opt(["5"]),
  "--seeds": opt(["1", "1,2", "1:2"]),
  "--shard": opt(["0/1", "0/2", "1/2"]),
  "--shards": opt(["1", "2"]),
};

/** Options of `fit` on the committed MNIST subset (cheap: a few digits, a tiny network). */
const FIT_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--data": opt(["mnist-sample", "/nonexistent/data.npy", "data.txt"]),
  "--test-fraction": opt(["0.1", "0.5"]),
  "--dequantize": opt(["auto", "none", "uniform"]),
  "--logit": opt(["0.05", "0.4"]),
  "--L": opt(["32", "64"]),
  "--depth": opt(["1", "5"]),
  "--batch": opt(["2", "4"]),
  "--epochs": opt(["1"]),
  "--eval-period": opt(["1", "2"]),
  "--eval-samples": opt(["2"]),
  "--max-train": opt(["4", "8"]),
  "--max-test": opt(["2", "4"]),
  "--lr": opt(["0.001"]),
  "--seed": opt(["0", "1"]),
  "--dtype": opt(["float32", "float64"]),
  "--kernel": opt(["js", "wasm"]),
  "--progress": opt(["off"]),
};
const CHEAP_FIT = [
  "--data",
  "mnist-sample",
  "--max-train",
  "8",
  "--max-test",
  "4",
  "--epochs",
  "1",
  "--batch",
  "4",
  "--nlayers",
  "1",
  "--nmlp",
  "0",
  "--nhidden",
  "1",
  "--progress",
  "off",
  "--kernel",
  "js",
  "--no-figures",
];

/** Options of `data ising|gaussian|mnist` (small n). */
const DATA_OPTIONS: Record<string, fc.Arbitrary<string>> = {
  "--L": opt(["2", "4", "28", "32"]),
  "--T": opt(["2.269", "1"]),
  "--kappa": opt(["0.2", "0"]),
  "--n": opt(["1", "4"]),
  "--split": opt(["train", "test"]),
  "--sweeps-between": opt(["1", "2"]),
  "--warmup": opt(["0", "10"]),
  "--seed": opt(["0", "1"]),
  "--progress": opt(["off"]),
};
const CHEAP_SCAN = [
  "--L",
  "2",
  "--epochs",
  "1",
  "--batch",
  "2",
  "--nlayers",
  "1",
  "--nmlp",
  "0",
  "--nhidden",
  "1",
  "--T",
  "2",
  "--depth",
  "1",
  "--jobs",
  "1",
  "--grid-samples",
  "0",
  "--eval-samples",
  "2",
  "--progress",
  "off",
  "--kernel",
  "js",
];

const UNKNOWN_OPTION = fc.oneof(
  fc.constantFrom(
    "--bogus",
    "--Lx",
    "-L",
    "--epoch",
    "--l",
    "--TARGET",
    "-x",
    "--no-json",
    "--no-L",
    "---L",
    "--",
    "-",
  ),
  fc.string({ minLength: 1, maxLength: 8 }).map((s) => `--${s}`),
);

/** One argv token group: an option with a value, `--opt=value`, a flag, a dangling option, junk. */
function tokens(options: Record<string, fc.Arbitrary<string>>, flags: readonly string[]): fc.Arbitrary<string[]> {
  const names = Object.keys(options);
  const pair = fc.constantFrom(...names).chain((name) => options[name].map((v) => [name, v]));
  const group = fc.oneof(
    { weight: 10, arbitrary: pair },
    { weight: 1, arbitrary: pair.map(([n, v]) => [`${n}=${v}`]) },
    ...(flags.length ? [{ weight: 2, arbitrary: fc.constantFrom(...flags).map((f) => [f]) }] : []),
    { weight: 1, arbitrary: UNKNOWN_OPTION.map((u) => [u]) },
    { weight: 1, arbitrary: fc.tuple(UNKNOWN_OPTION, junkValue) },
    { weight: 1, arbitrary: fc.constantFrom(...names).map((n) => [n]) }, // value missing (or eats the next token)
    { weight: 1, arbitrary: junkValue.map((j) => [j]) }, // stray positional
    { weight: 1, arbitrary: fc.constantFrom(["--help"], ["-h"], ["help"]) },
  );
  return fc.array(group, { maxLength: 5 }).map((gs) => gs.flat());
}

export type FuzzCommand =
  "train" | "demo" | "exact" | "version" | "sample" | "hmc" | "analyze" | "report" | "scan" | "fit" | "data" | "top";

export interface FuzzCliStats {
  tried: number;
  byCommand: Record<string, number>;
  byExit: Record<string, number>;
  /** violations (must stay empty); fast-check also throws with a shrunk counterexample */
  failures: string[];
  maxMs: number;
}

export interface FuzzCliOptions {
  /** runs per command */
  runs: Partial<Record<FuzzCommand, number>>;
  seed: number;
  /** longest a single in-process case may take */
  maxMs?: number;
  /** also run this many generated cases of these commands through the real process */
  processCases?: Partial<Record<FuzzCommand, number>>;
  log?: (line: string) => void;
}

/** A tiny trained run for the commands that read one (sample, hmc, analyze, report). */
export async function makeTrainedRun(dir: string): Promise<void> {
  const config: TrainConfig = {
    target: { kind: "ising", L: 4, T: 2.5 },
    flow: { L: 4, layout: "mera", depth: 2, nlayers: 1, nmlp: 0, nhidden: 2 },
    batch: 8,
    epochs: 3,
    lr: 1e-2,
    weightDecay: 0,
    seed: 5,
    dtype: "float64",
    symmetrize: true,
    init: "identity",
    kernel: "js",
  };
  await runTraining({ dir, config, savePeriod: 3, progress: "off", evalSamples: 8 });
}

interface Case {
  argv: string[];
  /** fresh directories that must not exist after a refusal */
  fresh: string[];
  /** existing directories that must be unchanged after a refusal */
  keep: string[];
  /** a train-like command whose success must leave a complete run directory here */
  trainOut?: string;
}

/** Run the CLI fuzzer; throws (fast-check counterexample) on the first violation. */
export async function fuzzCli(o: FuzzCliOptions): Promise<FuzzCliStats> {
  const maxMs = o.maxMs ?? 30_000;
  const stats: FuzzCliStats = { tried: 0, byCommand: {}, byExit: {}, failures: [], maxMs: 0 };
  const root = mkdtempSync(join(tmpdir(), "neuralrg-fuzz-"));
  let n = 0;
  const fresh = (): string => join(root, `out-${n++}`);
  try {
    const runDir = join(root, "trained");
    await makeTrainedRun(runDir);
    const emptyDir = join(root, "empty");
    mkdirSync(emptyDir);
    const aFile = join(root, "a-file.txt");
    writeFileSync(aFile, "not a run\n");
    const runArg = opt([runDir, runDir, "/nonexistent/run", emptyDir, aFile]);

    const builders: Record<FuzzCommand, fc.Arbitrary<Case>> = {
      train: tokens(TRAIN_OPTIONS, TRAIN_FLAGS).map((t) => {
        const out = fresh();
        return { argv: ["train", ...CHEAP_TRAIN, ...t, "--out", out], fresh: [out], keep: [], trainOut: out };
      }),
      demo: tokens({ ...TRAIN_OPTIONS, "--on-nan": junkValue }, TRAIN_FLAGS).map((t) => {
        const out = fresh();
        return {
          argv: ["demo", ...CHEAP_TRAIN, "--max-seconds", "5", ...t, "--out", out],
          fresh: [out],
          keep: [],
          trainOut: out,
        };
      }),
      exact: tokens(EXACT_OPTIONS, ["--json"]).map((t) => ({ argv: ["exact", ...t], fresh: [], keep: [] })),
      version: tokens({ "--json": junkValue }, ["--json"]).map((t) => ({
        argv: ["version", ...t],
        fresh: [],
        keep: [],
      })),
      sample: fc.tuple(runArg, tokens(SAMPLING_OPTIONS, ["--json"])).map(([run, t]) => ({
        argv: [
          "sample",
          "--method",
          "mis",
          "--n",
          "2",
          "--chains",
          "2",
          "--progress",
          "off",
          "--kernel",
          "js",
          ...t,
          "--run",
          run,
        ],
        fresh: [],
        keep: [runDir],
      })),
      hmc: fc.tuple(runArg, tokens(SAMPLING_OPTIONS, ["--json"])).map(([run, t]) => ({
        argv: ["hmc", "--n", "2", "--chains", "2", "--progress", "off", "--kernel", "js", ...t, "--run", run],
        fresh: [],
        keep: [runDir],
      })),
      analyze: fc.tuple(runArg, tokens(ANALYZE_OPTIONS, ["--json"])).map(([run, t]) => ({
        argv: [
          "analyze",
          "--samples",
          "4",
          "--source",
          "flow",
          "--what",
          "collective",
          "--progress",
          "off",
          ...t,
          "--run",
          run,
        ],
        fresh: [],
        keep: [runDir],
      })),
      report: fc.tuple(runArg, tokens(REPORT_OPTIONS, ["--no-analyze", "--inline"])).map(([run, t]) => ({
        argv: ["report", "--no-analyze", "--progress", "off", ...t, "--run", run],
        fresh: [],
        keep: [runDir],
      })),
      scan: tokens(SCAN_OPTIONS, ["--json"]).map((t) => {
        const out = fresh();
        return { argv: ["scan", ...CHEAP_SCAN, ...t, "--out", out], fresh: [out], keep: [] };
      }),
      fit: tokens(FIT_OPTIONS, ["--symmetrize", "--resume", "--overwrite", "--json", "--no-figures"]).map((t) => {
        const out = fresh();
        return { argv: ["fit", ...CHEAP_FIT, ...t, "--out", out], fresh: [out], keep: [] };
      }),
      data: fc
        .tuple(
          fc.constantFrom("ising", "gaussian", "mnist"),
          fc.constantFrom(".npy", ".jsonl", ".txt", ""),
          tokens(DATA_OPTIONS, ["--overwrite", "--json"]),
        )
        .map(([kind, ext, t]) => {
          const out = `${fresh()}${ext}`;
          return { argv: ["data", kind, "--n", "4", ...t, "--out", out], fresh: [out], keep: [] };
        }),
      top: fc
        .array(
          fc.oneof(junkValue, UNKNOWN_OPTION, fc.constantFrom("trian", "Train", "exactt", "help", "--version", "-V")),
          { minLength: 1, maxLength: 3 },
        )
        .map((t) => ({ argv: t, fresh: [], keep: [] })),
    };

    const check = async (c: Case, viaProcess: boolean): Promise<string[]> => {
      const before = c.keep.map((d) => snapshot(d));
      const r: CliResult = viaProcess ? runProcess(c.argv, 120_000) : await runInProcess(c.argv);
      stats.tried++;
      stats.byExit[String(r.code)] = (stats.byExit[String(r.code)] ?? 0) + 1;
      stats.maxMs = Math.max(stats.maxMs, r.ms);
      const v = contractViolations(r, { allowFailure: ALLOWED_FAILURES });
      if (r.ms > maxMs) v.push(`took ${r.ms.toFixed(0)} ms (limit ${maxMs})`);
      if (r.code === 2) {
        for (const d of c.fresh)
          if (existsSync(d))
            v.push(`refused, yet created ${d}: ${[...snapshot(d).keys()].join(", ") || "(empty dir)"}`);
        c.keep.forEach((d, i) => {
          const diff = snapshotDiff(before[i], snapshot(d));
          if (diff.length) v.push(`refused, yet changed ${d}: ${diff.slice(0, 5).join(", ")}`);
        });
      } else if (r.code === 0 && c.trainOut && existsSync(c.trainOut)) {
        // success: a complete run directory whose metrics and checkpoint agree
        for (const f of ["config.json", "checkpoint.json", "metrics.csv", "summary.json"])
          if (!existsSync(join(c.trainOut, f))) v.push(`success without ${f}`);
        if (v.length === 0) {
          const ck = loadCheckpoint(join(c.trainOut, "checkpoint.json"));
          const rows = readMetrics(join(c.trainOut, "metrics.csv")).rows;
          if (rows.length !== ck.epoch || rows.some((row, i) => row.epoch !== i + 1))
            v.push(`metrics rows ${rows.length} do not match checkpoint epoch ${ck.epoch}`);
        }
      }
      if (v.length) {
        const msg = `${viaProcess ? "[process] " : ""}${showArgv(c.argv)} → exit ${r.code}: ${v.join("; ")} | stderr: ${r.err.slice(0, 300)}`;
        stats.failures.push(msg);
        o.log?.(msg);
      }
      for (const d of c.fresh) rmSync(d, { recursive: true, force: true });
      return v;
    };

    let seedOffset = 0;
    for (const [cmd, runs] of Object.entries(o.runs) as [FuzzCommand, number][]) {
      if (!runs) continue;
      const before = stats.tried;
      const arb = builders[cmd];
      await fc.assert(
        fc.asyncProperty(arb, async (c) => {
          const v = await check(c, false);
          if (v.length) throw new Error(v.join("; "));
        }),
        { numRuns: runs, seed: o.seed + seedOffset, endOnFailure: true },
      );
      for (const c of fc.sample(arb, { numRuns: o.processCases?.[cmd] ?? 0, seed: o.seed + seedOffset + 1 })) {
        const v = await check(c, true);
        if (v.length) throw new Error(`${showArgv(c.argv)}: ${v.join("; ")}`);
      }
      seedOffset += 7919;
      stats.byCommand[cmd] = stats.tried - before;
    }
    return stats;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
