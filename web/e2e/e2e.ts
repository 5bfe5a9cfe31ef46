/**
 * End-to-end test of the browser playground in a real headless browser (Debian's chromium,
 * driven by playwright-core; no browser download). Run with `npm run test:web`, which builds
 * web/dist first.
 *
 * 1. serves web/dist on 127.0.0.1 (a plain static server: the build needs nothing else);
 * 2. opens the page, checks the WebAssembly SIMD kernel loaded in the worker;
 * 3. trains 4×4 at T = 2.269 for 40 epochs on wasm; checks F decreased towards the exact −ln Z
 *    shown on the page (and that the shown value equals the core's, computed here in Node), that
 *    the browser's F sequence equals a CLI run's with the same config and seed, and that the
 *    chart, sample grid, collective-variable and latent canvases are drawn;
 * 4. clicks a latent component (wander) and runs a short latent vs physical HMC;
 * 5. saves a screenshot to web/screenshots/playground.png;
 * 6. exports checkpoint.json + config.json, loads them with the CLI's loader and runs
 *    `neuralrg sample --run DIR`, then reloads the page, imports the checkpoint and checks the
 *    model came back (epoch, F on fresh samples) and the views are drawn again
 *    (screenshot web/screenshots/playground-imported.png).
 *
 * Environment: CHROMIUM_PATH (default /usr/bin/chromium). Prints epochs/s in the browser and in
 * the CLI for the same run.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { createChecks } from "./checks.ts";
import { PAGE_RECIPE_FLAGS, trainOnPage } from "./page.ts";
import { serve } from "./serve.ts";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { loadTrainedRun } from "../../src/train/run.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(ROOT, "web", "dist");
const SHOTS = join(ROOT, "web", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const EPOCHS = 40;
const T = 2.269;

const { check, fatal, finish } = createChecks("e2e");

interface PageView {
  ready: boolean;
  wasm: { available: boolean; reason?: string };
  state: string;
  epoch: number;
  epochsPerSecond: number;
  info: { exact: number; backend: string; nparams: number } | null;
  metrics: { epoch: number; F: number; FstdErr: number; relErr: number; seconds: number }[];
  samples: { epoch: number } | null;
  wander: { site: number; changedSites: number; scale: number } | null;
  hmc: {
    latent: { S: { mean: number; error: number }; acceptance: number; trace: ArrayLike<number> };
    physical: { S: { mean: number; error: number }; acceptance: number; trace: ArrayLike<number> };
    exactS: number | null;
  } | null;
  imported: { epoch: number; F: { mean: number; stdErr: number; n: number } } | null;
  messages: { text: string; error: boolean }[];
}

const view = (page: Page): Promise<PageView> =>
  page.evaluate(() => {
    const p = (window as unknown as { __playground: unknown }).__playground;
    return JSON.parse(
      JSON.stringify(p, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)),
    );
  });

/** Fraction of a canvas's pixels that are not (near) white, and the number of distinct colours seen. */
const canvasInk = (page: Page, id: string): Promise<{ ink: number; colours: number; width: number; height: number }> =>
  page.evaluate((cid) => {
    const c = document.getElementById(cid) as HTMLCanvasElement | null;
    if (!c || c.width === 0 || c.height === 0) return { ink: 0, colours: 0, width: 0, height: 0 };
    const d = (c.getContext("2d") as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) ink++;
      if (colours.size < 5000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    }
    return { ink: ink / (d.length / 4), colours: colours.size, width: c.width, height: c.height };
  }, id);

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;

async function main(): Promise<void> {
  if (!existsSync(join(DIST, "index.html")))
    fatal(`no build in ${DIST}: run \`npm run build:web\` first (npm run test:web does both)`);
  if (!existsSync(CHROMIUM)) {
    fatal(
      `no Chromium at ${CHROMIUM}. Install Debian's package: \`apt-get update && apt-get install -y chromium\` ` +
        "(or set CHROMIUM_PATH to a Chromium/Chrome binary). playwright-core never downloads a browser.",
    );
  }
  mkdirSync(SHOTS, { recursive: true });
  const { server, url } = await serve(resolve(DIST));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  const pageErrors: string[] = [];
  try {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1440, height: 1000 },
      deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    await page.goto(url);
    await page.waitForFunction(
      () => (window as unknown as { __playground: { ready: boolean } }).__playground.ready,
      null,
      { timeout: 30_000 },
    );
    let v = await view(page);
    check(v.wasm.available, "the WebAssembly SIMD kernel loaded in the worker", v.wasm.reason ?? "");
    check(
      (await page.textContent("#backend-badge"))?.includes("wasm SIMD kernel ready") === true,
      "the page shows the kernel state",
    );

    // ---- train 4×4 on wasm
    await trainOnPage(page, { L: 4, epochs: EPOCHS, backend: "wasm", T, timeoutMs: 120_000 });
    await page.waitForTimeout(300); // let the last frame draw
    v = await view(page);
    const exactNode = relaxedIsing({ L: 4, T }).exactNegLogZ;
    const F = v.metrics.map((m) => m.F);
    check(v.info?.backend === "wasm", "trained on the wasm backend", String(v.info?.backend));
    check(
      v.metrics.length === EPOCHS && v.metrics.every((m, i) => m.epoch === i + 1),
      `${EPOCHS} epochs reported in order`,
    );
    check(
      Math.abs((v.info?.exact ?? NaN) - exactNode) < 1e-12,
      "exact −ln Z from the worker equals the core's in Node",
      `${v.info?.exact} vs ${exactNode}`,
    );
    const shown = await page.textContent('#train-stats b[data-k="exact"]');
    check(shown === exactNode.toFixed(4), "the exact −ln Z shown on the page", `${shown}`);
    const first = mean(F.slice(0, 5));
    const last = mean(F.slice(-5));
    check(last < first, "F decreased", `first 5 epochs ${first.toFixed(3)} → last 5 ${last.toFixed(3)}`);
    check(
      Math.abs(last - exactNode) < 0.5 * Math.abs(first - exactNode),
      "F moved towards the exact value",
      `|F − exact| ${Math.abs(first - exactNode).toFixed(3)} → ${Math.abs(last - exactNode).toFixed(3)}`,
    );
    check(
      last > exactNode - 0.5,
      "F stays above the exact value (variational bound, up to noise)",
      `${last.toFixed(3)} vs ${exactNode.toFixed(3)}`,
    );
    for (const id of ["chart-F", "samples", "collective", "latent"]) {
      const ink = await canvasInk(page, id);
      check(
        ink.width > 0 && ink.ink > 0.02 && ink.colours > 3,
        `canvas #${id} is drawn`,
        `${(100 * ink.ink).toFixed(1)}% ink, ${ink.colours} colours, ${ink.width}×${ink.height}`,
      );
    }
    check(v.samples?.epoch === EPOCHS, "the sample grid shows the final model", `epoch ${v.samples?.epoch}`);
    const browserRate = v.epochsPerSecond;
    const browserMedian = median(v.metrics.map((m) => m.seconds));

    // ---- the CLI on the same run: same F sequence, and its speed
    const cliDir = mkdtempSync(join(tmpdir(), "neuralrg-e2e-cli-"));
    const t0 = performance.now();
    const cli = spawnSync(
      process.execPath,
      [
        join(ROOT, "bin", "neuralrg.mjs"),
        "train",
        "--L",
        "4",
        "--T",
        String(T),
        "--depth",
        "2",
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
        "float64",
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
    const cliWall = (performance.now() - t0) / 1000;
    check(cli.status === 0, "CLI training of the same config ran", cli.status === 0 ? "" : cli.stderr.slice(0, 300));
    if (cli.status === 0) {
      const rows = readFileSync(join(cliDir, "run", "metrics.csv"), "utf8")
        .trim()
        .split("\n");
      const head = rows[0].split(",");
      const iF = head.indexOf("F"),
        iS = head.indexOf("seconds");
      const cliF = rows.slice(1).map((r) => Number(r.split(",")[iF]));
      const cliSec = rows.slice(1).map((r) => Number(r.split(",")[iS]));
      const maxDiff = Math.max(...cliF.map((f, i) => Math.abs(f - F[i]) / Math.abs(f)));
      check(
        cliF.length === EPOCHS && maxDiff < 1e-9,
        "browser F sequence equals the CLI's (same config, seed, kernel)",
        `max relative difference ${maxDiff.toExponential(1)}`,
      );
      const cliMedian = median(cliSec);
      console.log(
        `speed 4×4, batch 256, nlayers 4, nmlp 2, nhidden 10, wasm: browser ${(1 / browserMedian).toFixed(1)} epochs/s ` +
          `(median epoch ${(1000 * browserMedian).toFixed(1)} ms; ${browserRate.toFixed(1)} epochs/s including the worker's messaging), ` +
          `CLI ${(1 / cliMedian).toFixed(1)} epochs/s (median epoch ${(1000 * cliMedian).toFixed(1)} ms; ${cliWall.toFixed(1)} s wall for the whole command)`,
      );
    }

    // ---- latent wander: click the top-scale component (site 0, top-left cell)
    const box = await page.locator("#latent").boundingBox();
    if (box) await page.mouse.click(box.x + 8, box.y + 18 + 8);
    await page.waitForFunction(
      () => (window as unknown as { __playground: { wander: unknown } }).__playground.wander !== null,
      null,
      { timeout: 30_000 },
    );
    v = await view(page);
    check(
      v.wander?.site === 0 && (v.wander?.changedSites ?? 0) > 0,
      "latent wander: flipping z₀ changes the configuration",
      `scale ${v.wander?.scale}, ${v.wander?.changedSites} sites changed`,
    );
    const wi = await canvasInk(page, "wander");
    check(wi.ink > 0.02, "wander canvas is drawn", `${(100 * wi.ink).toFixed(1)}% ink`);

    // ---- HMC, latent vs physical
    await page.fill("#hmc-chains", "16");
    await page.fill("#hmc-ntraj", "120");
    await page.fill("#hmc-warmup", "30");
    await page.click("#hmc");
    await page.waitForFunction(
      () => (window as unknown as { __playground: { hmc: unknown } }).__playground.hmc !== null,
      null,
      { timeout: 120_000 },
    );
    await page.waitForTimeout(200);
    v = await view(page);
    const h = v.hmc;
    check(
      !!h && h.latent.trace.length === 150 && h.physical.trace.length === 150,
      "HMC traces (150 trajectories each)",
    );
    check(
      !!h && h.latent.acceptance > 0 && h.physical.acceptance > 0,
      "both HMC samplers accept moves",
      h
        ? `latent ${(100 * h.latent.acceptance).toFixed(0)}%, physical ${(100 * h.physical.acceptance).toFixed(0)}%`
        : "",
    );
    if (h) {
      console.log(
        `HMC S: latent ${h.latent.S.mean.toFixed(4)} ± ${h.latent.S.error.toFixed(4)}, physical ${h.physical.S.mean.toFixed(4)} ± ${h.physical.S.error.toFixed(4)}, exact ${h.exactS?.toFixed(4)}`,
      );
    }
    const hi = await canvasInk(page, "chart-hmc");
    check(hi.ink > 0.01, "HMC chart is drawn", `${(100 * hi.ink).toFixed(1)}% ink`);

    const shot = join(SHOTS, "playground.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot ${shot}`);

    // ---- export → CLI → import
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-e2e-export-"));
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    await dl.saveAs(join(dir, "checkpoint.json"));
    const [dl2] = await Promise.all([page.waitForEvent("download"), page.click("#download-config")]);
    await dl2.saveAs(join(dir, "config.json"));
    check(
      dl.suggestedFilename() === "checkpoint.json" && dl2.suggestedFilename() === "config.json",
      "export downloads checkpoint.json and config.json",
    );
    copyFileSync(join(dir, "checkpoint.json"), join(dir, "exported-checkpoint.json"));
    const ck = loadCheckpoint(join(dir, "checkpoint.json"));
    check(
      ck.epoch === EPOCHS,
      "the exported checkpoint loads with the CLI's loader (checksum, format)",
      `epoch ${ck.epoch}, ${ck.params.length} parameters, ${ck.nodeVersion.slice(0, 40)}…`,
    );
    const run = loadTrainedRun(dir);
    check(run.model.nparams === ck.params.length, "loadTrainedRun accepts the exported run directory");
    // the CLI's sample command writes into DIR/samples and DIR/plots (a `neuralrg train` run has them)
    mkdirSync(join(dir, "samples"), { recursive: true });
    mkdirSync(join(dir, "plots"), { recursive: true });
    const sample = spawnSync(
      process.execPath,
      [
        join(ROOT, "bin", "neuralrg.mjs"),
        "sample",
        "--run",
        dir,
        "--method",
        "iw",
        "--n",
        "1024",
        "--progress",
        "off",
        "--json",
      ],
      { encoding: "utf8" },
    );
    check(
      sample.status === 0,
      "`neuralrg sample --run DIR --method iw` runs on the exported model",
      sample.status === 0 ? "" : sample.stderr.slice(0, 300),
    );
    if (sample.status === 0) {
      const text = sample.stdout;
      const s = JSON.parse(text.slice(text.indexOf("{"))) as Record<string, unknown>;
      console.log(`CLI iw on the browser model: ${JSON.stringify(s).slice(0, 300)}`);
    }

    // the page's "continue with the CLI" command resumes the exported run
    const cmd = (await page.textContent("#cli-command")) ?? "";
    const resumeArgs = cmd
      .replace(/^neuralrg train --out DIR --resume /, "")
      .replace(/ --epochs \d+$/, "")
      .split(" ");
    const resume = spawnSync(
      process.execPath,
      [
        join(ROOT, "bin", "neuralrg.mjs"),
        "train",
        "--out",
        dir,
        "--resume",
        ...resumeArgs,
        "--epochs",
        String(EPOCHS + 10),
        "--progress",
        "off",
      ],
      { encoding: "utf8" },
    );
    check(
      resume.status === 0 && loadCheckpoint(join(dir, "checkpoint.json")).epoch === EPOCHS + 10,
      "the CLI resumes the exported model with the command the page shows",
      resume.status === 0 ? cmd : resume.stderr.slice(0, 300),
    );

    await page.reload();
    await page.waitForFunction(
      () => (window as unknown as { __playground: { ready: boolean } }).__playground.ready,
      null,
      { timeout: 30_000 },
    );
    await page.setInputFiles("#import", join(dir, "exported-checkpoint.json"));
    await page.waitForFunction(
      () =>
        (window as unknown as { __playground: { imported: unknown; samples: unknown } }).__playground.imported !==
          null && (window as unknown as { __playground: { samples: unknown } }).__playground.samples !== null,
      null,
      { timeout: 60_000 },
    );
    await page.waitForTimeout(200);
    v = await view(page);
    const imp = v.imported;
    check(imp?.epoch === EPOCHS, "the checkpoint imports back into the page", `epoch ${imp?.epoch}`);
    check(
      !!imp && Math.abs(imp.F.mean - last) < 0.05 * Math.abs(exactNode),
      "the imported model's F on fresh samples matches training",
      imp ? `${imp.F.mean.toFixed(3)} ± ${imp.F.stdErr.toFixed(3)} vs last training F ${last.toFixed(3)}` : "",
    );
    for (const id of ["samples", "collective", "latent"]) {
      const ink = await canvasInk(page, id);
      check(ink.ink > 0.02, `after import, canvas #${id} is drawn`);
    }
    await page.screenshot({ path: join(SHOTS, "playground-imported.png"), fullPage: true });
    check(
      !v.messages.some((m) => m.error),
      "no error messages on the page",
      v.messages
        .filter((m) => m.error)
        .map((m) => m.text)
        .join("; "),
    );
    check(pageErrors.length === 0, "no page errors or console errors", pageErrors.join("; ").slice(0, 500));
    await context.close();
  } finally {
    await browser.close();
    server.close();
  }
  finish();
}

main().catch((err) => fatal(String(err?.stack ?? err)));
