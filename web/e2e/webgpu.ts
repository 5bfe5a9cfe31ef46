/**
 * WebGPU end-to-end check (`npm run test:webgpu`, after `npm run build:web`): Debian's Chromium,
 * headless with --enable-unsafe-webgpu (on a machine without a GPU Chromium then offers Dawn's
 * SwiftShader adapter, a CPU implementation of Vulkan).
 *
 * 1. gpu-check.html: the PDD loss per sample and the parameter gradient of the WGSL kernel
 *    (float32) against the float64 JS kernel, next to the WebAssembly float32 kernel's deviation
 *    from the same reference, for several flows, symmetrised and plain;
 * 2. the playground: trains the same configuration on the webgpu backend and on wasm; the
 *    webgpu F sequence must follow the CLI's `--dtype float32 --kernel wasm` run of the same
 *    config and seed (what the page stores for a webgpu run) within float32 rounding, and the
 *    epochs/s of both backends are printed.
 * Without a WebGPU adapter it prints what Chromium reported and checks that the page says it
 * uses wasm because WebGPU is unavailable.
 *
 * Environment: CHROMIUM_PATH (default /usr/bin/chromium); WEBGPU_EPOCHS (default 30); WEBGPU_OFF=1
 * launches Chromium without WebGPU to check the fallback.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { createChecks } from "./checks.ts";
import { PAGE_RECIPE_FLAGS, trainOnPage } from "./page.ts";
import { serve } from "./serve.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(ROOT, "web", "dist");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// WEBGPU_OFF=1: without --enable-unsafe-webgpu (Chromium then offers no adapter): checks the wasm fallback
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  process.env.WEBGPU_OFF === "1" ? "--disable-gpu" : "--enable-unsafe-webgpu",
];
const EPOCHS = Number(process.env.WEBGPU_EPOCHS ?? 30);
const T = 2.269;

const { check, fatal, finish } = createChecks("webgpu e2e");

interface CheckRow {
  config: string;
  symmetrize: boolean;
  batch: number;
  lossGpu: number;
  lossWasm32: number;
  gradGpu: number;
  gradWasm32: number;
  gradGpuVsWasm32: number;
  msGpu: number;
  msWasm32: number;
}

interface PageView {
  ready: boolean;
  webgpu: { available: boolean; reason?: string; adapter?: string };
  state: string;
  epoch: number;
  epochsPerSecond: number;
  info: { backend: string; trainConfig: { dtype: string; kernel: string } } | null;
  metrics: { epoch: number; F: number; seconds: number }[];
  messages: { text: string; error: boolean }[];
}

const view = (page: Page): Promise<PageView> =>
  page.evaluate(() =>
    JSON.parse(
      JSON.stringify((window as unknown as { __playground: unknown }).__playground, (_k, v) =>
        ArrayBuffer.isView(v) ? [] : v,
      ),
    ),
  );

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

/** Train L×L on `backend` in the page for EPOCHS epochs; returns the page's view at the end. */
async function trainOn(page: Page, url: string, backend: string, L: number): Promise<PageView> {
  await page.goto(url);
  await page.waitForFunction(
    () => (window as unknown as { __playground: { ready: boolean } }).__playground.ready,
    null,
    { timeout: 60_000 },
  );
  await trainOnPage(page, { L, epochs: EPOCHS, backend, T, timeoutMs: 600_000 });
  return view(page);
}

async function main(): Promise<void> {
  if (!existsSync(join(DIST, "gpu-check.html"))) fatal(`no build in ${DIST}: run \`npm run build:web\` first`);
  if (!existsSync(CHROMIUM)) fatal(`no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const version = spawnSync(CHROMIUM, ["--version"], { encoding: "utf8" }).stdout.trim();
  const { server, url } = await serve(resolve(DIST));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  const pageErrors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    console.log(`${version}, flags: ${FLAGS.join(" ")}`);
    await page.goto(`${url}gpu-check.html`);
    await page.waitForFunction(() => (window as unknown as { __gpuCheck?: unknown }).__gpuCheck !== undefined, null, {
      timeout: 600_000,
    });
    const res = (await page.evaluate(() => (window as unknown as { __gpuCheck: unknown }).__gpuCheck)) as {
      adapter: string | null;
      reason?: string;
      rows: CheckRow[];
      error?: string;
    };
    if (res.error) fatal(`gpu-check.html failed: ${res.error}`);

    if (res.adapter === null) {
      console.log(`WebGPU unavailable: ${res.reason}`);
      const v = await trainOn(page, url, "wasm", 4);
      check(!v.webgpu.available, "the playground detects that WebGPU is unavailable", v.webgpu.reason ?? "");
      check(
        v.messages.some((m) => m.text.includes("WebGPU is unavailable") && m.text.includes("uses the wasm backend")),
        "and says it uses wasm because of that",
      );
      check(v.info?.backend === "wasm", "training ran on wasm");
    } else {
      console.log(`adapter: ${res.adapter}`);
      for (const r of res.rows) {
        console.log(
          `${r.config} ${r.symmetrize ? "q_sym" : "q    "} batch ${r.batch}: loss dev. webgpu ${r.lossGpu.toExponential(1)} (wasm f32 ${r.lossWasm32.toExponential(1)}), ` +
            `gradient dev. webgpu ${r.gradGpu.toExponential(1)} (wasm f32 ${r.gradWasm32.toExponential(1)}), webgpu vs wasm f32 ${r.gradGpuVsWasm32.toExponential(1)}; ` +
            `one loss+gradient: webgpu ${r.msGpu.toFixed(1)} ms, wasm f32 ${r.msWasm32.toFixed(1)} ms`,
        );
        // float32 kernels (ε = 6e-8): per-sample losses, sums of ~N float32 log-determinant terms,
        // to 1e-5 of their largest value; the gradient, whose per-row contributions the GPU sums in
        // float32 (the wasm kernel folds its sums into float64, hence its smaller deviation), to
        // 1e-4 normwise. Measured: ≤ 2e-6 and ≤ 5e-6.
        check(
          r.lossGpu < 1e-5,
          `${r.config} ${r.symmetrize ? "q_sym" : "q"}: webgpu loss = float64 reference within float32 rounding`,
          r.lossGpu.toExponential(2),
        );
        check(
          r.gradGpu < 1e-4,
          `${r.config} ${r.symmetrize ? "q_sym" : "q"}: webgpu gradient = float64 reference within float32 rounding`,
          r.gradGpu.toExponential(2),
        );
      }
      check(res.rows.length === 10, "all 10 cases ran");

      // ---- the playground on both backends, and the CLI's float32 wasm run of the same config
      const L = 8;
      const gpu = await trainOn(page, url, "webgpu", L);
      check(
        gpu.info?.backend === "webgpu" &&
          gpu.info.trainConfig.dtype === "float32" &&
          gpu.info.trainConfig.kernel === "wasm",
        "the playground trained on webgpu (stored as --dtype float32 --kernel wasm)",
      );
      const wasm = await trainOn(page, url, "wasm", L);
      check(wasm.info?.backend === "wasm", "the playground trained on wasm");
      const cliDir = mkdtempSync(join(tmpdir(), "neuralrg-webgpu-cli-"));
      const cli = spawnSync(
        process.execPath,
        [
          join(ROOT, "bin", "neuralrg.mjs"),
          "train",
          "--L",
          String(L),
          "--T",
          String(T),
          "--depth",
          "3",
          "--nlayers",
          "4",
          "--nmlp",
          "2",
          "--nhidden",
          "10",
          "--batch",
          "256",
          "--lr",
          "0.005",
          "--seed",
          "42",
          "--epochs",
          String(EPOCHS),
          "--kernel",
          "wasm",
          "--dtype",
          "float32",
          ...PAGE_RECIPE_FLAGS,
          "--out",
          join(cliDir, "run"),
          "--progress",
          "off",
          "--save-period",
          String(EPOCHS),
        ],
        { encoding: "utf8" },
      );
      check(
        cli.status === 0,
        "CLI float32 wasm run of the same config",
        cli.status === 0 ? "" : cli.stderr.slice(0, 300),
      );
      if (cli.status === 0) {
        const rows = readFileSync(join(cliDir, "run", "metrics.csv"), "utf8")
          .trim()
          .split("\n");
        const iF = rows[0].split(",").indexOf("F");
        const cliF = rows.slice(1).map((r) => Number(r.split(",")[iF]));
        const dev = cliF.map((f, i) => Math.abs(f - gpu.metrics[i].F) / Math.abs(f));
        const dev64 = cliF.map((f, i) => Math.abs(f - wasm.metrics[i].F) / Math.abs(f));
        check(dev[0] < 1e-6, "epoch 1: webgpu F = CLI float32 F", dev[0].toExponential(1));
        check(
          Math.max(...dev) < 1e-4,
          `webgpu F follows the CLI float32 run over ${EPOCHS} epochs`,
          `max relative difference ${Math.max(...dev).toExponential(1)} (wasm float64 page run vs the same: ${Math.max(...dev64).toExponential(1)})`,
        );
      }
      const gpuMed = median(gpu.metrics.map((m) => m.seconds));
      const wasmMed = median(wasm.metrics.map((m) => m.seconds));
      console.log(
        `speed ${L}×${L}, batch 256, nlayers 4, nmlp 2, nhidden 10 (playground defaults), ${EPOCHS} epochs: ` +
          `webgpu ${(1 / gpuMed).toFixed(2)} epochs/s (median epoch ${(1000 * gpuMed).toFixed(0)} ms; ${gpu.epochsPerSecond.toFixed(2)} epochs/s incl. messaging), ` +
          `wasm ${(1 / wasmMed).toFixed(2)} epochs/s (median epoch ${(1000 * wasmMed).toFixed(0)} ms; ${wasm.epochsPerSecond.toFixed(2)} incl. messaging); adapter ${res.adapter}`,
      );
      check(!gpu.messages.some((m) => m.error) && !wasm.messages.some((m) => m.error), "no error messages on the page");
    }
    check(pageErrors.length === 0, "no page or console errors", pageErrors.join("; ").slice(0, 500));
  } finally {
    await browser.close();
    server.close();
  }
  finish();
}

main().catch((err) => fatal(String(err?.stack ?? err)));
