/**
 * The playground page: controls → messages to the training worker (worker.ts); the worker's
 * messages → the live views. All computation happens in the worker; this file only validates
 * the controls, draws, and moves files in and out.
 *
 * Test hook: `window.__playground` exposes the page's state (metrics, run info, last messages)
 * for the end-to-end test (web/e2e/e2e.ts).
 */
import { paramCount } from "../../src/flow/params.ts";
import { COLORS, drawLattice, label, lineChart, maxAbs, setupCanvas, spinColour } from "./draw.ts";
import {
  cliTrainArgs,
  DEFAULT_CONFIG,
  estimateTrainingBytes,
  parseConfig,
  TC,
  T_RANGE,
  type Backend,
  type EpochPoint,
  type HmcMessage,
  type PlaygroundConfig,
  type Response,
  type RunInfo,
  type RunState,
  type SamplesMessage,
  type WanderMessage,
  type WebGpuStatus,
} from "./protocol.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing element #${id}`);
  return el as T;
};

interface PageState {
  ready: boolean;
  wasm: { available: boolean; reason?: string };
  webgpu: WebGpuStatus;
  info: RunInfo | null;
  metrics: EpochPoint[];
  state: RunState;
  epoch: number;
  epochsPerSecond: number;
  samples: SamplesMessage | null;
  wander: WanderMessage | null;
  hmc: HmcMessage | null;
  imported: { epoch: number; F: { mean: number; stdErr: number; n: number } } | null;
  exported: { epoch: number; bytes: number } | null;
  messages: { text: string; error: boolean }[];
  selectedSite: number;
}

const page: PageState = {
  ready: false,
  wasm: { available: false },
  webgpu: { available: false },
  info: null,
  metrics: [],
  state: "idle",
  epoch: 0,
  epochsPerSecond: 0,
  samples: null,
  wander: null,
  hmc: null,
  imported: null,
  exported: null,
  messages: [],
  selectedSite: -1,
};
(window as unknown as { __playground: PageState }).__playground = page;

// ------------------------------------------------------------------------------ messages

function say(text: string, error = false): void {
  page.messages.push({ text, error });
  if (page.messages.length > 6) page.messages.shift();
  const box = $("messages");
  box.replaceChildren(
    ...page.messages.map((m) => {
      const d = document.createElement("div");
      d.className = m.error ? "msg error" : "msg";
      d.textContent = m.text;
      return d;
    }),
  );
}

function unsupported(text: string): void {
  const b = $("unsupported");
  b.hidden = false;
  b.textContent = text;
}

// ------------------------------------------------------------------------------ controls

const num = (id: string): number => Number(($(id) as HTMLInputElement).value);

function fillDepth(L: number, keep?: number): void {
  const sel = $<HTMLSelectElement>("depth");
  const max = Math.round(Math.log2(L));
  const want = Math.min(keep ?? max, max);
  sel.replaceChildren(
    ...Array.from({ length: max }, (_, i) => {
      const o = document.createElement("option");
      o.value = String(i + 1);
      o.textContent = `${i + 1}${i + 1 === max ? " (full MERA)" : ""}`;
      if (i + 1 === want) o.selected = true;
      return o;
    }),
  );
}

function rawConfig(): Record<string, unknown> {
  return {
    L: num("L"),
    T: num("T"),
    depth: num("depth"),
    nlayers: num("nlayers"),
    nmlp: num("nmlp"),
    nhidden: num("nhidden"),
    batch: num("batch"),
    lr: num("lr"),
    seed: num("seed"),
    epochs: num("epochs"),
    backend: $<HTMLSelectElement>("backend").value,
    symmetrize: $<HTMLInputElement>("symmetrize").checked,
  };
}

function setControls(c: PlaygroundConfig): void {
  const set = (id: string, v: number | string): void => {
    ($(id) as HTMLInputElement).value = String(v);
  };
  if ([4, 8, 16, 32].includes(c.L)) set("L", c.L);
  fillDepth(c.L, c.depth);
  if (c.T >= T_RANGE[0] && c.T <= T_RANGE[1]) set("T", c.T);
  for (const k of ["nlayers", "nmlp", "nhidden", "batch", "lr", "seed", "epochs"] as const) set(k, c[k]);
  $<HTMLInputElement>("symmetrize").checked = c.symmetrize;
  showT();
  updateEstimate();
}

function showT(): void {
  $("T-value").textContent = num("T").toFixed(3);
}

function updateEstimate(): PlaygroundConfig | null {
  const est = $("estimate");
  try {
    const c = parseConfig(rawConfig());
    const np = paramCount({
      L: c.L,
      layout: "mera",
      depth: c.depth,
      nlayers: c.nlayers,
      nmlp: c.nmlp,
      nhidden: c.nhidden,
    });
    est.textContent = `${np.toLocaleString()} parameters · about ${Math.max(1, Math.round(estimateTrainingBytes(c) / 2 ** 20))} MB per epoch`;
    est.classList.remove("error");
    $<HTMLButtonElement>("start").disabled = !page.ready;
    return c;
  } catch (err) {
    est.textContent = (err as Error).message;
    $<HTMLButtonElement>("start").disabled = true;
    return null;
  }
}

function updateButtons(): void {
  const s = page.state;
  const has = page.info !== null;
  $<HTMLButtonElement>("pause").disabled = s !== "running";
  $<HTMLButtonElement>("resume").disabled = s !== "paused";
  $<HTMLButtonElement>("reset").disabled = !has;
  $<HTMLButtonElement>("export").disabled = !has;
  $<HTMLButtonElement>("hmc").disabled = !has;
  const badge = $("state-badge");
  badge.textContent = has ? `${s} · epoch ${page.epoch}` : s;
  badge.className = s === "running" ? "badge running" : "badge";
  badge.dataset.state = s;
}

function showBackend(): void {
  const b = $("backend-badge");
  const active = page.info?.backend;
  if (!page.ready) {
    b.textContent = "loading kernel…";
    return;
  }
  const wasmText = page.wasm.available ? "wasm SIMD kernel ready" : "wasm kernel unavailable";
  const gpuText = page.webgpu.available ? `WebGPU ready (${page.webgpu.adapter ?? "adapter"})` : "WebGPU unavailable";
  b.textContent = active
    ? `backend: ${active} (active) · ${wasmText} · ${gpuText}`
    : `${wasmText} · ${gpuText} · backend: ${$<HTMLSelectElement>("backend").value}`;
  b.dataset.webgpu = page.webgpu.available ? "available" : "unavailable";
  b.className = page.wasm.available ? "badge" : "badge warn";
  b.dataset.backend = active ?? "";
}

// ------------------------------------------------------------------------------ drawing

let chartQueued = false;
function queueChart(): void {
  if (chartQueued) return;
  chartQueued = true;
  requestAnimationFrame(() => {
    chartQueued = false;
    drawTraining();
  });
}

function movingAverage(ys: number[], w: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < ys.length; i++) {
    s += ys[i];
    if (i >= w) s -= ys[i - w];
    out.push(s / Math.min(i + 1, w));
  }
  return out;
}

function panelWidth(canvasId: string): number {
  const parent = $(canvasId).parentElement as HTMLElement;
  return Math.max(280, parent.clientWidth - 26);
}

function drawTraining(): void {
  const W = panelWidth("chart-F");
  const H = 290;
  const ctx = setupCanvas($<HTMLCanvasElement>("chart-F"), W, H);
  const m = page.metrics;
  const info = page.info;
  const exact = info?.exact ?? NaN;
  const xs = m.map((p) => p.epoch);
  const F = m.map((p) => p.F);
  const w = Math.max(1, Math.min(25, Math.round(m.length / 20)));
  const Fs = movingAverage(F, w);
  const rel = Fs.map((f) => (f - exact) / Math.abs(exact));
  const left = Math.round(W * 0.58);
  // F: skip the first few epochs from the y range once training is under way (they dwarf the rest)
  const tail = F.length > 50 ? F.slice(Math.floor(F.length * 0.1)) : F;
  const yr: [number, number] | undefined = tail.length > 4 ? [Math.min(exact, ...tail), Math.max(...tail)] : undefined;
  const imp = page.imported;
  const importedSeries = imp
    ? [
        {
          xs: [imp.epoch],
          ys: [imp.F.mean],
          errors: [imp.F.stdErr],
          colour: COLORS.F,
          markers: true,
          name: "imported: F on fresh samples",
        },
      ]
    : [];
  const importedRel = imp
    ? [{ xs: [imp.epoch], ys: [(imp.F.mean - exact) / Math.abs(exact)], colour: COLORS.relErr, markers: true }]
    : [];
  lineChart(ctx, {
    x: 0,
    y: 0,
    width: left,
    height: H,
    title: "F per epoch (batch estimate) and exact −ln Z",
    xlabel: "epoch",
    ylabel: "F",
    series: [
      { xs, ys: F, colour: "#a9c1de", width: 1 },
      ...(m.length ? [{ xs, ys: Fs, colour: COLORS.F, width: 2, name: `F (avg of ${w})` }] : []),
      ...importedSeries,
    ],
    hlines: Number.isFinite(exact) ? [{ y: exact, colour: COLORS.exact, name: "exact −ln Z" }] : [],
    yRange: yr,
  });
  lineChart(ctx, {
    x: left,
    y: 0,
    width: W - left,
    height: H,
    title: "relative error (F − exact)/|exact|",
    xlabel: "epoch",
    logY: true,
    series: [{ xs, ys: rel, colour: COLORS.relErr, width: 2 }, ...importedRel],
  });
  const last = m[m.length - 1];
  const stats = $("train-stats");
  if (!info) {
    stats.textContent = "Press Start to train.";
    return;
  }
  const T = info.config.T;
  const parts = [
    `<b>${info.config.L}×${info.config.L}</b> at T = ${T.toFixed(3)} (T/T<sub>c</sub> = ${(T / info.Tc).toFixed(3)})`,
    `epoch <b data-k="epoch">${page.epoch}</b> / ${info.config.epochs}`,
    last ? `F = <b data-k="F">${Fs[Fs.length - 1].toFixed(4)}</b>` : "",
    !last && imp
      ? `F = <b data-k="F">${imp.F.mean.toFixed(4)} ± ${imp.F.stdErr.toFixed(4)}</b> (${imp.F.n} fresh samples)`
      : "",
    `exact −ln Z = <b data-k="exact">${exact.toFixed(4)}</b>`,
    last ? `rel. error <b data-k="rel">${rel[rel.length - 1].toExponential(2)}</b>` : "",
    !last && imp ? `rel. error <b data-k="rel">${((imp.F.mean - exact) / Math.abs(exact)).toExponential(2)}</b>` : "",
    page.epochsPerSecond > 0 ? `<b data-k="rate">${page.epochsPerSecond.toFixed(1)}</b> epochs/s` : "",
    `${info.nparams.toLocaleString()} parameters`,
    `backend ${info.backend}`,
  ];
  stats.innerHTML = parts.filter(Boolean).join(" · ");
}

function drawSamples(s: SamplesMessage): void {
  const W = panelWidth("samples");
  const L = s.L;
  const gap = 10;
  const labelW = 62;
  const cell = Math.max(1, Math.min(20, Math.floor((W - labelW - gap * (s.count - 1)) / (s.count * L))));
  const size = cell * L;
  const H = 2 * size + gap + 24;
  const ctx = setupCanvas($<HTMLCanvasElement>("samples"), W, H);
  const N = L * L;
  label(ctx, "tanh x", 0, 4 + size / 2 + 4);
  label(ctx, "spins s", 0, 4 + size + gap + size / 2 + 4);
  for (let b = 0; b < s.count; b++) {
    const x = labelW + b * (size + gap);
    drawLattice(ctx, s.fields, L, x, 4, cell, 1, b * N);
    drawLattice(ctx, s.spins, L, x, 4 + size + gap, cell, 1, b * N, spinColour);
  }
  label(ctx, `epoch ${s.epoch}`, W - 4, H - 4, "right", 11, COLORS.axis);
}

function drawCollective(s: SamplesMessage): void {
  const W = panelWidth("collective");
  const images = [
    { title: `x (${s.L}×${s.L})`, values: s.physical, size: s.L },
    ...s.levels.map((l) => ({ title: `scale ${2 << l.level} (${l.size}×${l.size})`, values: l.values, size: l.size })),
  ];
  const gap = 12;
  const D = Math.max(40, Math.min(150, Math.floor((W - gap * (images.length - 1)) / images.length)));
  const H = D + 52;
  const ctx = setupCanvas($<HTMLCanvasElement>("collective"), W, H);
  images.forEach((im, k) => {
    const x = k * (D + gap);
    const cell = D / im.size;
    const scale = maxAbs(im.values) || 1;
    drawLattice(ctx, im.values, im.size, x, 18, cell, scale);
    label(ctx, im.title, x, 12, "left", 11);
    label(ctx, `max |v| ${scale.toFixed(2)}`, x, 18 + D + 14, "left", 10, COLORS.axis);
  });
  label(ctx, "blue < 0 < red; each image scaled to its own max |v|", 0, H - 2, "left", 10, COLORS.axis);
}

let latentGeom = { x: 0, y: 0, cell: 1, L: 0 };

function drawLatent(s: SamplesMessage): void {
  const W = panelWidth("latent");
  const L = s.L;
  const cell = Math.max(4, Math.min(28, Math.floor(Math.min(W - 180, 300) / L)));
  const size = cell * L;
  const H = size + 28;
  const ctx = setupCanvas($<HTMLCanvasElement>("latent"), W, H);
  latentGeom = { x: 0, y: 18, cell, L };
  label(ctx, "latent z of the first sample (scale: thicker outline = coarser)", 0, 12, "left", 11);
  drawLattice(ctx, s.latent, L, 0, 18, cell, 3);
  const maxScale = Math.max(...s.scaleOfSite);
  for (let i = 0; i < L * L; i++) {
    const sc = s.scaleOfSite[i];
    if (sc === 0) continue;
    const r = Math.floor(i / L),
      c = i % L;
    ctx.strokeStyle = sc === maxScale ? "#111" : "#333";
    ctx.lineWidth = Math.min(cell / 3, 0.8 + sc * 0.9);
    ctx.strokeRect(
      c * cell + ctx.lineWidth / 2,
      18 + r * cell + ctx.lineWidth / 2,
      cell - ctx.lineWidth,
      cell - ctx.lineWidth,
    );
  }
  if (page.selectedSite >= 0 && page.selectedSite < L * L) {
    const r = Math.floor(page.selectedSite / L),
      c = page.selectedSite % L;
    ctx.strokeStyle = "#f0b400";
    ctx.lineWidth = 3;
    ctx.strokeRect(c * cell - 1, 18 + r * cell - 1, cell + 2, cell + 2);
  }
  // legend of scales
  const counts = new Map<number, number>();
  for (const sc of s.scaleOfSite) counts.set(sc, (counts.get(sc) ?? 0) + 1);
  let y = 34;
  for (const [sc, n] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
    label(ctx, `scale ${sc}${sc === maxScale ? " (top)" : ""}: ${n} components`, size + 16, y, "left", 11, COLORS.axis);
    y += 16;
  }
}

function drawWander(w: WanderMessage): void {
  const W = panelWidth("wander");
  const L = w.L;
  const delta = w.flipped.map((v, i) => v - w.original[i]);
  const images = [
    { title: "x = g(z)", values: w.original, size: L, scale: maxAbs(w.original) },
    { title: "x′ = g(z′)", values: w.flipped, size: L, scale: maxAbs(w.original) },
    { title: "x′ − x", values: delta, size: L, scale: maxAbs(delta) },
  ];
  const levelDeltas = w.flippedLevels.map((l, k) => {
    const o = w.originalLevels[k];
    const d = l.values.map((v, i) => v - o.values[i]);
    return { title: `Δ scale ${2 << l.level}`, values: d, size: l.size, scale: maxAbs(d) };
  });
  const gap = 12;
  const D = Math.max(40, Math.min(130, Math.floor((W - 2 * gap) / 3)));
  const d2 = levelDeltas.length
    ? Math.max(30, Math.min(90, Math.floor((W - gap * (levelDeltas.length - 1)) / levelDeltas.length)))
    : 0;
  const H = D + 34 + (levelDeltas.length ? d2 + 48 : 0);
  const ctx = setupCanvas($<HTMLCanvasElement>("wander"), W, H);
  images.forEach((im, k) => {
    const x = k * (D + gap);
    drawLattice(ctx, im.values, im.size, x, 16, D / im.size, im.scale || 1);
    label(ctx, im.title, x, 11, "left", 11);
  });
  levelDeltas.forEach((im, k) => {
    const x = k * (d2 + gap);
    const y = D + 34;
    drawLattice(ctx, im.values, im.size, x, y + 14, d2 / im.size, im.scale || 1);
    label(ctx, im.title, x, y + 9, "left", 10);
    label(ctx, `max ${im.scale.toPrecision(2)}`, x, y + 14 + d2 + 12, "left", 10, COLORS.axis);
  });
  const st = $("wander-stats");
  const r = Math.floor(w.site / L),
    c = w.site % L;
  st.innerHTML =
    `flipped z at site (${r}, ${c}), scale <b>${w.scale}</b>: ` +
    `<b data-k="changed">${w.changedSites}</b> of ${L * L} sites changed, effective number <b>${w.effectiveSites.toFixed(1)}</b>, ` +
    `max |Δx| = ${w.maxAbsChange.toFixed(3)}`;
}

function drawHmc(h: HmcMessage): void {
  const fmt = (m: { mean: number; error: number }, d = 4): string => `${m.mean.toFixed(d)} ± ${m.error.toFixed(d)}`;
  const rows = [h.latent, h.physical].map(
    (r) =>
      `<tr><td>${r.method} HMC</td><td>${fmt(r.S)}</td><td>${fmt(r.energy)}</td><td>${(100 * r.acceptance).toFixed(0)}%</td><td>${r.stepSize.toFixed(3)}</td><td>${r.seconds.toFixed(1)} s</td></tr>`,
  );
  rows.push(
    `<tr><td>exact</td><td>${h.exactS !== null ? h.exactS.toFixed(4) : "— (enumeration only for L ≤ 4)"}</td><td>${h.exactEnergy.toFixed(4)}</td><td></td><td></td><td></td></tr>`,
  );
  $("hmc-stats").innerHTML =
    `<table class="hmc"><tr><th></th><th>S</th><th>energy / site</th><th>acceptance</th><th>step size</th><th>time</th></tr>${rows.join("")}</table>` +
    `<span class="hint">${h.chains} chains each, from N(0, 1) starts; mean ± τ<sub>int</sub>-corrected error after the ${h.latent.warmup} warm-up trajectories. ` +
    `Latent HMC moves in z, where the trained flow has made π nearly Gaussian; physical HMC moves in x.</span>`;
  const W = panelWidth("chart-hmc");
  const ctx = setupCanvas($<HTMLCanvasElement>("chart-hmc"), W, 250);
  const xs = Array.from(h.latent.trace, (_, i) => i + 1);
  lineChart(ctx, {
    x: 0,
    y: 0,
    width: W,
    height: 250,
    title: "chain-averaged S per trajectory",
    xlabel: "trajectory",
    ylabel: "S",
    series: [
      { xs, ys: Array.from(h.latent.trace), colour: COLORS.latent, width: 2, name: "latent HMC" },
      {
        xs: Array.from(h.physical.trace, (_, i) => i + 1),
        ys: Array.from(h.physical.trace),
        colour: COLORS.physical,
        width: 2,
        name: "physical HMC",
      },
    ],
    hlines: h.exactS !== null ? [{ y: h.exactS, colour: COLORS.exact, name: "exact S" }] : [],
  });
}

function redrawAll(): void {
  drawTraining();
  if (page.samples) {
    drawSamples(page.samples);
    drawCollective(page.samples);
    drawLatent(page.samples);
  }
  if (page.wander) drawWander(page.wander);
  if (page.hmc) drawHmc(page.hmc);
}

// ------------------------------------------------------------------------------ worker

function startWorker(): Worker | null {
  if (typeof Worker === "undefined") {
    unsupported(
      "This browser has no Web Workers: the playground trains in a worker so the page stays responsive. Use a current Chrome, Firefox or Safari.",
    );
    return null;
  }
  if (typeof WebAssembly !== "object") say("This browser has no WebAssembly: only the js backend can run.", true);
  try {
    return new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  } catch (err) {
    unsupported(`Cannot start the training worker (${(err as Error).message}). Module workers need a current browser.`);
    return null;
  }
}

const worker = startWorker();
const send = (msg: unknown): void => worker?.postMessage(msg);

function onMessage(r: Response): void {
  switch (r.type) {
    case "ready":
      page.ready = true;
      page.wasm = r.wasm;
      $("version").textContent = `neuralrg ${r.version}`;
      if (!r.wasm.available) {
        $<HTMLSelectElement>("backend").value = "js";
        ($("backend").querySelector('option[value="wasm"]') as HTMLOptionElement).disabled = true;
        say(
          `The WebAssembly SIMD kernel cannot run here (${r.wasm.reason ?? "unknown reason"}); using the js backend (slower).`,
          true,
        );
      }
      page.webgpu = r.webgpu;
      {
        const opt = $("backend").querySelector('option[value="webgpu"]') as HTMLOptionElement;
        opt.disabled = !(r.webgpu.available && r.wasm.available);
        opt.textContent = r.webgpu.available
          ? `webgpu (WGSL kernel, float32; ${r.webgpu.adapter ?? "adapter"})`
          : "webgpu (unavailable here)";
        if (!r.webgpu.available)
          say(
            `WebGPU is unavailable in this browser (${r.webgpu.reason ?? "unknown reason"}): training uses the ${r.wasm.available ? "wasm" : "js"} backend.`,
          );
      }
      showBackend();
      updateEstimate();
      break;
    case "started":
      page.info = r.info;
      page.metrics = [];
      page.hmc = null;
      page.wander = null;
      page.imported = null;
      page.selectedSite = -1;
      $("hmc-stats").textContent = "";
      $("wander-stats").textContent = "Click a cell of z to flip that latent component.";
      setupCanvas($<HTMLCanvasElement>("chart-hmc"), panelWidth("chart-hmc"), 10);
      setupCanvas($<HTMLCanvasElement>("wander"), panelWidth("wander"), 10);
      showBackend();
      say(
        `Training ${r.info.config.L}×${r.info.config.L} at T = ${r.info.config.T} with ${r.info.nparams.toLocaleString()} parameters on ${r.info.backend}.`,
      );
      queueChart();
      break;
    case "epochs":
      for (const p of r.points) page.metrics.push(p);
      if (r.points.length) page.epoch = r.points[r.points.length - 1].epoch;
      queueChart();
      break;
    case "status":
      page.state = r.state;
      page.epoch = r.epoch;
      page.epochsPerSecond = r.epochsPerSecond;
      if (r.state === "idle") page.info = null;
      if (r.message) say(r.message);
      updateButtons();
      showBackend();
      queueChart();
      break;
    case "samples":
      page.samples = r;
      drawSamples(r);
      drawCollective(r);
      drawLatent(r);
      break;
    case "wander":
      page.wander = r;
      page.selectedSite = r.site;
      if (page.samples) drawLatent(page.samples);
      drawWander(r);
      break;
    case "hmc-progress":
      $("hmc-progress").textContent = `${r.method} HMC: ${r.done} / ${r.total} trajectories`;
      break;
    case "hmc":
      page.hmc = r;
      $("hmc-progress").textContent = "";
      drawHmc(r);
      break;
    case "checkpoint": {
      const links = $("export-links");
      const mk = (name: string, text: string): HTMLAnchorElement => {
        const a = document.createElement("a");
        a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
        a.download = name;
        a.textContent = name;
        a.id = `download-${name.replace(".json", "")}`;
        return a;
      };
      const ck = mk("checkpoint.json", r.checkpoint);
      const cf = mk("config.json", r.config);
      const cmd = document.createElement("code");
      cmd.id = "cli-command";
      cmd.textContent = page.info
        ? `neuralrg train --out DIR --resume ${cliTrainArgs(page.info.trainConfig)} --epochs ${page.info.config.epochs}`
        : "";
      const p = document.createElement("p");
      p.append("Continue with the CLI: ", cmd);
      links.replaceChildren(document.createTextNode(`epoch ${r.epoch}: `), ck, cf, p);
      page.exported = { epoch: r.epoch, bytes: r.checkpoint.length };
      ck.click();
      say(
        `Exported checkpoint.json (epoch ${r.epoch}, ${(r.checkpoint.length / 1024).toFixed(0)} KB); click config.json to save the run config too.`,
      );
      break;
    }
    case "imported":
      page.info = r.info;
      page.metrics = [];
      page.hmc = null;
      page.wander = null;
      page.selectedSite = -1;
      page.imported = { epoch: r.info.epoch, F: r.F };
      page.epoch = r.info.epoch;
      setControls(r.info.config);
      showBackend();
      say(
        `Imported a model at epoch ${r.info.epoch}: F = ${r.F.mean.toFixed(4)} ± ${r.F.stdErr.toFixed(4)} on ${r.F.n} fresh samples (exact −ln Z = ${r.info.exact.toFixed(4)}).`,
      );
      queueChart();
      break;
    case "error":
      say(r.request ? `${r.request}: ${r.message}` : r.message, true);
      break;
  }
}

if (worker) {
  worker.onmessage = (e: MessageEvent<Response>) => onMessage(e.data);
  worker.onerror = (e: ErrorEvent) => {
    unsupported(`The training worker failed: ${e.message || "unknown error"}.`);
    e.preventDefault();
  };
}

// ------------------------------------------------------------------------------ wiring

function init(): void {
  const Tc = TC;
  const pct = (100 * (Tc - T_RANGE[0])) / (T_RANGE[1] - T_RANGE[0]);
  $("tc-mark").style.left = `${pct}%`;
  setControls(DEFAULT_CONFIG);
  $<HTMLSelectElement>("backend").value = DEFAULT_CONFIG.backend;
  $("L").addEventListener("change", () => {
    fillDepth(num("L"));
    updateEstimate();
  });
  $("T").addEventListener("input", showT);
  $("set-tc").addEventListener("click", () => {
    ($("T") as HTMLInputElement).value = Tc.toFixed(3);
    showT();
  });
  for (const id of ["depth", "nlayers", "nmlp", "nhidden", "batch", "lr", "seed", "epochs", "symmetrize", "T"]) {
    $(id).addEventListener("input", () => updateEstimate());
  }
  $("backend").addEventListener("change", () => {
    showBackend();
    updateEstimate();
  });
  $("start").addEventListener("click", () => {
    const c = updateEstimate();
    if (!c) return say($("estimate").textContent ?? "invalid settings", true);
    send({ type: "start", config: c });
  });
  $("pause").addEventListener("click", () => send({ type: "pause" }));
  $("resume").addEventListener("click", () => send({ type: "resume" }));
  $("reset").addEventListener("click", () => {
    send({ type: "reset" });
    page.metrics = [];
    page.samples = null;
    page.hmc = null;
    page.wander = null;
    page.imported = null;
    for (const id of ["samples", "collective", "latent", "wander", "chart-hmc"])
      setupCanvas($<HTMLCanvasElement>(id), panelWidth(id), 10);
    $("hmc-stats").textContent = "";
    $("export-links").textContent = "";
    queueChart();
  });
  $("export").addEventListener("click", () => send({ type: "export" }));
  $<HTMLInputElement>("import").addEventListener("change", async (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    try {
      const text = await file.text();
      send({ type: "import", text, name: file.name, backend: $<HTMLSelectElement>("backend").value as Backend });
    } catch (err) {
      say(`cannot read ${file.name}: ${(err as Error).message}`, true);
    }
    input.value = "";
  });
  $("hmc").addEventListener("click", () => {
    $("hmc-progress").textContent = "running…";
    send({ type: "hmc", chains: num("hmc-chains"), ntraj: num("hmc-ntraj"), warmup: num("hmc-warmup") });
  });
  $("latent").addEventListener("click", (e) => {
    const g = latentGeom;
    if (!page.samples || g.L === 0) return;
    const rect = ($("latent") as HTMLCanvasElement).getBoundingClientRect();
    const c = Math.floor((e.clientX - rect.left - g.x) / g.cell);
    const r = Math.floor((e.clientY - rect.top - g.y) / g.cell);
    if (r < 0 || c < 0 || r >= g.L || c >= g.L) return;
    send({ type: "wander", site: r * g.L + c });
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(redrawAll, 150);
  });
  updateButtons();
  drawTraining();
  for (const id of ["samples", "collective", "latent", "wander", "chart-hmc"])
    setupCanvas($<HTMLCanvasElement>(id), panelWidth(id), 10);
}

init();
