/**
 * `npm run bench`: seconds per training epoch of the README configuration of the original code
 * (batch 512, 10 couplings per block, MLP 2→10→10→10→2, full-depth MERA, symmetrised loss) at
 * L = 4, 8, 16, 32, for our kernels (wasm float32/float64 on one core, the default
 * configuration of `train` — its default dtype, --workers auto — and wasm float32 on two cores)
 * against baselines measured in the same run: our plain typed-array kernel (js; --skip-js
 * leaves it out), the jax-js autodiff path (--jax, L = 4 only: minutes per epoch), and — when
 * `python3 -c "import torch"` works and the original code is available (--original DIR or
 * NEURALRG_ORIGINAL_SRC) — the original PyTorch code pinned to the same core. Each variant runs
 * in its own process (peak RSS is its own). Then bench/profile.ts (pinned to one core): where an
 * epoch's time goes and the kernel's GFLOP/s against the machine's measured peak.
 *
 * Ratios: every variant's cost — CPU time per epoch for one core, wall time for the variants
 * that use more (and for the WebGPU kernel) — over the original's CPU time per epoch (robust to
 * other load on the machine).
 *
 * --backend webgpu adds the WGSL kernel on the WebGPU adapter (`webgpu` package; printed with its
 * epochs/s next to the wasm kernel's). On SwiftShader (a CPU emulation of a GPU) that measures
 * correctness plumbing, not GPU speed.
 *
 * Writes bench/results/latest.json and latest.md, and prints the Markdown.
 *   npm run bench -- --L 16,32 --skip-js --original DIR
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { writeFileAtomic, writeJsonAtomic } from "../src/io/atomic.ts";
import { provenance } from "../src/io/provenance.ts";
import { availableParallelism } from "node:os";
import { wasmKernelVariant } from "../src/kernels/wasm.ts";
import { TRAIN_DEFAULTS } from "../src/train/trainer.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const opts = new Command()
  .option("--L <list>", "lattice sizes", "4,8,16,32")
  .option("--epochs <n>", "timed epochs per variant (median reported)", Number, 10)
  .option("--quick", "fewer variants: wasm float32 ×1/×2, default configuration, js, original", false)
  .option("--skip-js", "leave out the js kernel baseline (90 s per L ≥ 16)", false)
  .option("--no-profile", "leave out bench/profile.ts")
  .option("--jax", "also time the jax-js autodiff path at L = 4 (minutes per epoch)", false)
  .option("--original <dir>", "checkout of the original NeuralRG code (default: $NEURALRG_ORIGINAL_SRC)")
  .option("--out <dir>", "output directory", join(here, "results"))
  .option(
    "--backend <b>",
    "cpu, or webgpu: also time the WGSL kernel on the WebGPU adapter (timing stops after 120 s, ≥ 3 epochs)",
    "cpu",
  )
  .parse()
  .opts<{
    L: string;
    epochs: number;
    quick: boolean;
    skipJs: boolean;
    profile: boolean;
    jax: boolean;
    original?: string;
    out: string;
    backend: string;
  }>();
if (opts.backend !== "cpu" && opts.backend !== "webgpu") {
  process.stderr.write(`--backend = ${opts.backend} is invalid: backend must be one of cpu, webgpu\n`);
  process.exit(2);
}
let adapter: string | null = null;
if (opts.backend === "webgpu") {
  const { probeNodeWebGpu } = await import("../src/gpu/node.ts");
  const p = probeNodeWebGpu();
  if (!p.available) {
    process.stderr.write(p.reason + "\n");
    process.exit(2);
  }
  adapter = p.adapter;
  process.stderr.write(`WebGPU adapter: ${adapter}\n`);
}

const Ls = opts.L.split(",").map(Number);
const hasTaskset = spawnSync("taskset", ["-V"]).status === 0;
const pin = (cores: string, cmd: string[]) => (hasTaskset ? ["taskset", "-c", cores, ...cmd] : cmd);
const originalSrc = opts.original ?? process.env.NEURALRG_ORIGINAL_SRC;
const torchOk = spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;
const runOriginal = torchOk && originalSrc !== undefined && existsSync(join(originalSrc, "main.py"));

interface Row {
  variant: string;
  L: number;
  epoch_s_median: number | null;
  epoch_cpu_s_median: number | null;
  warmup_s: number | null;
  epochs_timed: number;
  peak_rss_mb: number | null;
  workers?: number | null;
  note?: string;
}

function runJson(cmd: string[], timeoutMs: number): Record<string, number> | null {
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 24 });
  const line = (r.stdout ?? "")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) {
    process.stderr.write(`  (no result: ${r.error?.message ?? (r.stderr ?? "").split("\n").slice(-3).join(" ")})\n`);
    return null;
  }
  return JSON.parse(line) as Record<string, number>;
}

/**
 * Epochs every variant runs before its timed ones, the original included: the first holds
 * start-up; in the next ones V8 is still optimising our JavaScript (measured at L = 16, float32:
 * 554, 373, 327, 328, then 286–315 ms per epoch).
 */
const WARMUP_EPOCHS = 3;

// the slow baselines (js, jax: seconds to minutes per epoch) get one untimed epoch
const ours = (impl: string, L: number, dtype: string, workers: number | "auto", epochs: number, maxSeconds = 1e9) =>
  pin(workers === 1 ? "1" : "0,1", [
    process.execPath,
    "bin/run-ts.mjs",
    "bench/epoch.ts",
    "--impl",
    impl,
    "--L",
    String(L),
    "--dtype",
    dtype,
    "--workers",
    String(workers),
    "--epochs",
    String(epochs),
    "--warmup-epochs",
    String(impl === "js" || impl === "jax" ? 1 : WARMUP_EPOCHS),
    "--max-seconds",
    String(maxSeconds),
  ]);

const rows: Row[] = [];
for (const L of Ls) {
  const variants: { name: string; cmd: string[]; timeout: number; note?: string; torch?: boolean }[] = [];
  if (runOriginal)
    variants.push({
      name: "PyTorch original (1 core)",
      cmd: [
        process.execPath,
        "bin/run-ts.mjs",
        "bench/original.ts",
        originalSrc!,
        String(L),
        String(opts.epochs),
        String(WARMUP_EPOCHS),
      ],
      timeout: 1_800_000,
      torch: true,
    });
  if (!opts.skipJs)
    variants.push({
      name: "js kernel float64 (1 core)",
      cmd: ours("js", L, "float64", 1, opts.epochs, 90),
      timeout: 1_200_000,
      note: L >= 16 ? "timing stops after 90 s (≥ 3 epochs)" : undefined,
    });
  if (opts.jax && L === 4)
    variants.push({
      name: "jax-js autodiff float32 (1 core)",
      cmd: ours("jax", L, "float32", 1, 1),
      timeout: 1_800_000,
      note: "1 timed epoch",
    });
  variants.push({ name: "wasm float32 (1 core)", cmd: ours("wasm", L, "float32", 1, opts.epochs), timeout: 1_200_000 });
  if (!opts.quick)
    variants.push({
      name: "wasm float64 (1 core)",
      cmd: ours("wasm", L, "float64", 1, opts.epochs),
      timeout: 1_200_000,
    });
  variants.push({
    name: `default: ${TRAIN_DEFAULTS.dtype}, --workers auto (${availableParallelism()} cores)`,
    cmd: ours("wasm", L, "default", "auto", opts.epochs),
    timeout: 1_200_000,
    note: "workers load in the background during the first epochs",
  });
  if (!opts.quick)
    variants.push({
      name: "wasm float32 (2 cores)",
      cmd: ours("wasm", L, "float32", 2, opts.epochs),
      timeout: 1_200_000,
    });
  if (adapter !== null) {
    const cmd = [
      process.execPath,
      "bin/run-ts.mjs",
      "bench/epoch.ts",
      "--impl",
      "webgpu",
      "--L",
      String(L),
      "--dtype",
      "float32",
      "--epochs",
      String(opts.epochs),
      "--max-seconds",
      "120",
    ];
    variants.push({
      name: `webgpu float32 (${adapter})`,
      cmd,
      timeout: 1_800_000,
      note: "timing stops after 120 s (≥ 3 epochs)",
    });
  }
  for (const v of variants) {
    process.stderr.write(`L = ${L}: ${v.name} …\n`);
    const r = runJson(v.cmd, v.timeout);
    rows.push(
      v.torch
        ? {
            variant: v.name,
            L,
            epoch_s_median: r?.epoch_s_median ?? null,
            epoch_cpu_s_median: r?.epoch_cpu_s_median ?? null,
            warmup_s: r?.first_epoch_s ?? null,
            epochs_timed: r ? Number(r.epochs) : 0,
            peak_rss_mb: null,
            note: "warm-up = first epoch incl. start-up",
          }
        : {
            variant: v.name,
            L,
            epoch_s_median: r?.epoch_s_median ?? null,
            epoch_cpu_s_median: r?.epoch_cpu_s_median ?? null,
            warmup_s: r?.warmup_s ?? null,
            epochs_timed: r?.epochs_timed ?? 0,
            peak_rss_mb: r?.peak_rss_mb ?? null,
            workers: r?.workers ?? null,
            note: v.note,
          },
    );
  }
}

const fmt = (x: number | null, d = 3) => (x === null || !Number.isFinite(x) ? "—" : x.toFixed(d));
const lines = [
  "| L | variant | wall s/epoch | CPU s/epoch | cost / original CPU | × js kernel | warm-up s | epochs timed | peak RSS MB | note |",
  "|---|---|---|---|---|---|---|---|---|---|",
];
for (const r of rows) {
  // cost: CPU time for one core (robust to other load), wall time for more than one and for WebGPU; the original: CPU time
  const multi = (x: Row) => x.variant.includes("2 cores") || (x.workers ?? 1) > 1 || x.variant.startsWith("webgpu");
  const cost = (x: Row | undefined) =>
    x === undefined ? null : !x.variant.startsWith("PyTorch") && multi(x) ? x.epoch_s_median : x.epoch_cpu_s_median;
  const torch = rows.find((x) => x.L === r.L && x.variant.startsWith("PyTorch"))?.epoch_cpu_s_median ?? null;
  const js = cost(rows.find((x) => x.L === r.L && x.variant.startsWith("js kernel")));
  const mine = cost(r);
  const ratio = (b: number | null) => (b && mine ? (mine / b).toFixed(3) : "—");
  const note = [r.workers && r.workers > 1 ? `${r.workers} workers (wall)` : "", r.note ?? ""]
    .filter((t) => t)
    .join("; ");
  lines.push(
    `| ${r.L} | ${r.variant} | ${fmt(r.epoch_s_median)} | ${fmt(r.epoch_cpu_s_median)} | ${ratio(torch)} | ${ratio(js)} | ${fmt(r.warmup_s, 2)} | ${r.epochs_timed} | ${r.peak_rss_mb ?? "—"} | ${note} |`,
  );
}
let md = lines.join("\n") + "\n";
let profile: Record<string, unknown> | null = null;
if (opts.profile) {
  process.stderr.write("profile (bench/profile.ts) …\n");
  const cmd = pin("1", [process.execPath, "bin/run-ts.mjs", "bench/profile.ts"]);
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: "utf8", timeout: 1_200_000, maxBuffer: 1 << 24 });
  const out = (r.stdout ?? "").trim().split("\n");
  const json = out.filter((l) => l.startsWith("{")).pop();
  if (json) {
    profile = JSON.parse(json) as Record<string, unknown>;
    md +=
      "\n" +
      out
        .filter((l) => !l.startsWith("{"))
        .join("\n")
        .trim() +
      "\n";
  } else {
    process.stderr.write(`  (no profile: ${(r.stderr ?? "").split("\n").slice(-3).join(" ")})\n`);
  }
}
let load = "unknown";
try {
  load = execFileSync("sh", ["-c", "cat /proc/loadavg | cut -d' ' -f1-3"], { encoding: "utf8" }).trim();
} catch {
  /* not Linux */
}
mkdirSync(opts.out, { recursive: true });
let cpu = "unknown";
try {
  cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: "utf8" }).trim();
} catch {
  /* not Linux */
}
// the build the variants' processes load (the same engine decides)
const wasmBuild = wasmKernelVariant();
writeJsonAtomic(join(opts.out, "latest.json"), {
  ...provenance(),
  cpu,
  cores: availableParallelism(),
  load_average_at_end: load,
  torch: runOriginal,
  wasm_build: wasmBuild,
  ...(adapter !== null ? { webgpuAdapter: adapter } : {}),
  rows,
  profile,
} as never);
writeFileAtomic(
  join(opts.out, "latest.md"),
  `Measured ${new Date().toISOString()} on ${cpu} (${availableParallelism()} cores; load average ${load} at the end: other work shared the machine; wasm kernel build: ${wasmBuild}, Node ${process.version}); ratios are against baselines measured in the same run.\n\n${md}`,
);
process.stdout.write(md);
if (adapter !== null) {
  process.stdout.write(`\nWebGPU adapter: ${adapter}\n`);
  for (const r of rows.filter((x) => x.variant.startsWith("webgpu") || x.variant === "wasm float32 (1 core)")) {
    process.stdout.write(
      `L = ${r.L}: ${r.variant}: ${r.epoch_s_median ? (1 / r.epoch_s_median).toFixed(3) : "—"} epochs/s\n`,
    );
  }
}
if (!runOriginal)
  process.stdout.write(
    `\n(PyTorch original not run: ${torchOk ? "no --original DIR / NEURALRG_ORIGINAL_SRC" : "python3 cannot import torch"})\n`,
  );
