/**
 * `npm run bench:memory`: peak resident memory of `neuralrg train` per (L, batch, dtype), each
 * configuration in its own child process (bench/rss-child.ts runs the real CLI and reports
 * process.resourceUsage().maxRSS), next to the estimate that `train` uses to refuse epochs that
 * cannot fit (train/run.ts: estimateTrainingBytes). Also reports the fixed cost of the
 * process (a 2×2 run) and seconds per epoch.
 *
 * Writes bench/results/memory.json and memory.md and prints the Markdown table.
 *   npm run bench:memory
 *   npm run bench:memory -- --L 16,32,64 --batch 64,256 --dtype float32,float64 --epochs 3
 *   npm run bench:memory -- --net default --L 32 --batch 512 --workers 1,2
 * Runs under `nice -n <--nice>` when the `nice` command exists (default 10).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { DType } from "../src/engine/real.ts";
import { writeFileAtomic, writeJsonAtomic } from "../src/io/atomic.ts";
import { provenance } from "../src/io/provenance.ts";
import { estimateTrainingBytes } from "../src/train/run.ts";
import type { TrainConfig } from "../src/train/trainer.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const NETS = {
  small: { nlayers: 4, nmlp: 1, nhidden: 16 },
  default: { nlayers: 10, nmlp: 3, nhidden: 10 },
} as const;

const list = (s: string) =>
  s
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
const opts = new Command()
  .option("--L <list>", "lattice sizes", "16,32,64")
  .option("--batch <list>", "batch sizes", "64,256")
  .option("--dtype <list>", "float32 and/or float64", "float32,float64")
  .option("--workers <list>", "worker threads", "1")
  .option("--net <kind>", "small (4 couplings, MLP 1×16) or default (10 couplings, MLP 3×10)", "small")
  .option("--kernel <k>", "wasm or js", "wasm")
  .option("--epochs <n>", "epochs per run", Number, 3)
  .option("--nice <n>", "niceness of the children (0: none)", Number, 10)
  .option("--out <dir>", "output directory", join(here, "results"))
  .option("--name <base>", "output file base name", "memory")
  .parse()
  .opts<{
    L: string;
    batch: string;
    dtype: string;
    workers: string;
    net: string;
    kernel: string;
    epochs: number;
    nice: number;
    out: string;
    name: string;
  }>();

if (!(opts.net in NETS))
  throw new RangeError(`--net ${opts.net} is invalid: accepted values are ${Object.keys(NETS).join(", ")}`);
const net = NETS[opts.net as keyof typeof NETS];
const hasNice = opts.nice !== 0 && spawnSync("nice", ["true"]).status === 0;

interface Row {
  L: number;
  batch: number;
  dtype: DType;
  workers: number;
  epochs: number;
  peak_rss_mb: number | null;
  estimate_mb: number;
  /** peak RSS minus the fixed cost of the process (the 2×2 run) */
  above_base_mb: number | null;
  seconds_per_epoch: number | null;
  wall_s: number | null;
  cpu_s: number | null;
  note?: string;
}

const work = mkdtempSync(join(tmpdir(), "neuralrg-mem-"));

function measure(L: number, batch: number, dtype: DType, workers: number, epochs: number) {
  const dir = join(work, `L${L}-b${batch}-${dtype}-w${workers}`);
  const args = [
    "train",
    "--L",
    String(L),
    "--batch",
    String(batch),
    "--dtype",
    dtype,
    "--workers",
    String(workers),
    "--epochs",
    String(epochs),
    "--nlayers",
    String(net.nlayers),
    "--nmlp",
    String(net.nmlp),
    "--nhidden",
    String(net.nhidden),
    "--kernel",
    opts.kernel,
    "--save-period",
    String(Math.max(1, epochs)),
    "--progress",
    "off",
    "--out",
    dir,
    "--overwrite",
  ];
  const cmd = [process.execPath, "bin/run-ts.mjs", "bench/rss-child.ts", ...args];
  const full = hasNice ? ["nice", "-n", String(opts.nice), ...cmd] : cmd;
  const r = spawnSync(full[0], full.slice(1), { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
  const line = (r.stdout ?? "")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) return { note: `failed: ${(r.stderr ?? "").trim().split("\n").slice(-1)[0] ?? r.error?.message}` };
  const res = JSON.parse(line) as { exit: number; peak_rss_mb: number; wall_s: number; cpu_s: number };
  let spe: number | null = null;
  try {
    spe = (JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { seconds_per_epoch_median: number })
      .seconds_per_epoch_median;
  } catch {
    /* no summary: the run failed */
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    ...res,
    spe,
    note: res.exit === 0 ? undefined : `exit ${res.exit}: ${(r.stderr ?? "").trim().split("\n").slice(-1)[0]}`,
  };
}

function estimateMb(L: number, batch: number, dtype: DType, workers: number): number {
  const config: TrainConfig = {
    target: { kind: "ising", L, T: 2.269185314213022 },
    flow: { L, layout: "mera", depth: Math.log2(L), ...net },
    batch,
    epochs: opts.epochs,
    lr: 1e-3,
    weightDecay: 0,
    seed: 42,
    dtype,
    symmetrize: true,
    init: "identity",
  };
  return estimateTrainingBytes(config, workers) / 2 ** 20;
}

process.stderr.write("fixed cost (L = 2, batch 1) …\n");
const base = measure(2, 1, "float64", 1, 1);
const baseMb = "peak_rss_mb" in base ? base.peak_rss_mb : null;

const rows: Row[] = [];
for (const L of list(opts.L).map(Number)) {
  for (const batch of list(opts.batch).map(Number)) {
    for (const dtype of list(opts.dtype) as DType[]) {
      for (const workers of list(opts.workers).map(Number)) {
        process.stderr.write(`L = ${L}, batch ${batch}, ${dtype}, ${workers} worker(s) …\n`);
        const r = measure(L, batch, dtype, workers, opts.epochs);
        const peak = "peak_rss_mb" in r ? r.peak_rss_mb : null;
        rows.push({
          L,
          batch,
          dtype,
          workers,
          epochs: opts.epochs,
          peak_rss_mb: peak,
          estimate_mb: estimateMb(L, batch, dtype, workers),
          above_base_mb: peak !== null && baseMb !== null ? peak - baseMb : null,
          seconds_per_epoch: "spe" in r ? r.spe : null,
          wall_s: "wall_s" in r ? r.wall_s : null,
          cpu_s: "cpu_s" in r ? r.cpu_s : null,
          note: r.note,
        });
      }
    }
  }
}
rmSync(work, { recursive: true, force: true });

const f = (x: number | null | undefined, d = 0) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(d);
const lines = [
  "| L | batch | dtype | workers | peak RSS MB | above fixed cost MB | estimate MB | s/epoch | CPU s (run) | note |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.L} | ${r.batch} | ${r.dtype} | ${r.workers} | ${f(r.peak_rss_mb)} | ${f(r.above_base_mb)} | ${f(r.estimate_mb)} | ${f(r.seconds_per_epoch, 3)} | ${f(r.cpu_s, 1)} | ${r.note ?? ""} |`,
  ),
];
const header =
  `Measured ${new Date().toISOString()}: \`neuralrg train\` with --nlayers ${net.nlayers} --nmlp ${net.nmlp} --nhidden ${net.nhidden} ` +
  `(${opts.net} network), full-depth MERA, symmetrised loss, kernel ${opts.kernel}, ${opts.epochs} epochs, one process per row. ` +
  `Fixed cost of a process (L = 2, batch 1): ${f(baseMb)} MB. "estimate" is estimateTrainingBytes (train/run.ts).\n\n`;
const md = lines.join("\n") + "\n";
mkdirSync(opts.out, { recursive: true });
writeJsonAtomic(join(opts.out, `${opts.name}.json`), {
  ...provenance(),
  net: opts.net,
  kernel: opts.kernel,
  base_rss_mb: baseMb,
  rows,
});
writeFileAtomic(join(opts.out, `${opts.name}.md`), header + md);
process.stdout.write(header + md);
