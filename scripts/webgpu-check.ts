/**
 * `npm run check:webgpu -- [--L 16] [--epochs 30] [--batch 512] …`: trains the same run twice
 * through the CLI, `neuralrg train --backend webgpu` (the WGSL kernel, float32) and
 * `neuralrg train --dtype float32 --kernel wasm` (the WebAssembly kernel, float32), same seed,
 * and compares the training F of every epoch: the two compute the same float32 quantities, so
 * they differ by rounding only (bound: --tol, relative). Prints the adapter, the largest
 * deviation and both kernels' epochs/s; exit status 1 when the deviation exceeds the bound, 2
 * when no WebGPU adapter can be had.
 *
 * Adapter: the system's (a GPU); where there is none and VK_ICD_FILENAMES is unset, SwiftShader
 * (Debian's chromium package) when installed — a CPU emulation: a check of correctness, not of speed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { readMetrics } from "../src/io/metrics.ts";
import { webGpuAdapterOrSwiftShader } from "../src/gpu/node.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const o = new Command()
  .option("--L <n>", "lattice size", "16")
  .option("--epochs <n>", "epochs", "30")
  .option("--batch <n>", "batch", "512")
  .option("--nlayers <n>", "couplings per block", "10")
  .option("--nmlp <n>", "hidden layers", "3")
  .option("--nhidden <n>", "hidden units", "10")
  .option("--seed <n>", "seed", "42")
  .option("--tol <x>", "largest accepted relative deviation of F", "1e-5")
  .option("--keep <dir>", "keep both run directories under DIR (default: a temporary directory, removed)")
  .parse()
  .opts<{
    L: string;
    epochs: string;
    batch: string;
    nlayers: string;
    nmlp: string;
    nhidden: string;
    seed: string;
    tol: string;
    keep?: string;
  }>();

const probe = webGpuAdapterOrSwiftShader();
if (!probe.available) {
  process.stderr.write(probe.reason + "\n");
  process.exit(2);
}
process.stdout.write(
  `WebGPU adapter: ${probe.adapter}${probe.swiftshader ? ` (SwiftShader via VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}: a CPU emulation, timings are not GPU timings)` : ""}\n`,
);

const dir = o.keep ?? mkdtempSync(join(tmpdir(), "neuralrg-webgpu-check-"));
const common = [
  "train",
  "--L",
  o.L,
  "--epochs",
  o.epochs,
  "--batch",
  o.batch,
  "--nlayers",
  o.nlayers,
  "--nmlp",
  o.nmlp,
  "--nhidden",
  o.nhidden,
  "--seed",
  o.seed,
  "--dtype",
  "float32",
  "--gradient",
  "reparam",
  "--eval-samples",
  o.batch,
  "--progress",
  "off",
  "--overwrite",
];
const runs = { webgpu: ["--backend", "webgpu"], wasm: ["--kernel", "wasm"] };
const F: Record<string, number[]> = {};
const seconds: Record<string, number> = {};
for (const [name, extra] of Object.entries(runs)) {
  const out = join(dir, name);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "neuralrg.mjs"), ...common, ...extra, "--out", out], {
    encoding: "utf8",
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) {
    process.stderr.write(`neuralrg train ${extra.join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}\n`);
    process.exit(1);
  }
  const rows = readMetrics(join(out, "metrics.csv")).rows;
  F[name] = rows.map((row) => Number(row.F));
  const s = rows.map((row) => Number(row.seconds)).sort((a, b) => a - b);
  seconds[name] = s[Math.floor(s.length / 2)];
  process.stdout.write(
    `${name}: ${rows.length} epochs in ${((performance.now() - t0) / 1000).toFixed(1)} s (with start-up and evaluation); median ${seconds[name].toFixed(3)} s/epoch = ${(1 / seconds[name]).toFixed(3)} epochs/s\n`,
  );
}
if (o.keep === undefined) rmSync(dir, { recursive: true, force: true });

const n = Number(o.epochs);
if (F.webgpu.length !== n || F.wasm.length !== n) {
  process.stderr.write(`expected ${n} epochs, got ${F.webgpu.length} (webgpu) and ${F.wasm.length} (wasm)\n`);
  process.exit(1);
}
let worst = 0;
let at = 0;
for (let e = 0; e < n; e++) {
  const d = Math.abs(F.webgpu[e] - F.wasm[e]) / Math.abs(F.wasm[e]);
  if (!(d <= worst)) [worst, at] = [d, e + 1];
}
const tol = Number(o.tol);
process.stdout.write(
  `L = ${o.L}, batch ${o.batch}, ${n} epochs: largest |F_webgpu − F_wasm| / |F_wasm| = ${worst.toExponential(2)} (epoch ${at}), bound ${tol}\n`,
);
process.stdout.write(
  `epochs/s: webgpu ${(1 / seconds.webgpu).toFixed(3)}, wasm float32 (1 thread) ${(1 / seconds.wasm).toFixed(3)}\n`,
);
process.exit(worst <= tol ? 0 : 1);
