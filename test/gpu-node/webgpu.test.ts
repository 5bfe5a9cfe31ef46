/**
 * The WGSL block kernel in Node (`--backend webgpu`, package `webgpu`): on the machine's adapter,
 * or on SwiftShader (Debian's chromium package) where there is no GPU. Where no adapter can be had
 * the adapter tests are skipped with the reason printed — unless NEURALRG_WEBGPU_REQUIRED=1 (CI,
 * which installs SwiftShader), where that is a failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alloc, type Real } from "../../src/engine/real.ts";
import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { initParams, viewParams } from "../../src/flow/params.ts";
import { GpuNllObjective } from "../../src/gpu/nll.ts";
import { GpuObjective } from "../../src/gpu/objective.ts";
import { openNodeWebGpu, webGpuAdapterOrSwiftShader, type NodeWebGpu } from "../../src/gpu/node.ts";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { readMetrics } from "../../src/io/metrics.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { nllLossAndGrad } from "../../src/train/nll.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { expectOneLineError } from "../cli/helpers.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "neuralrg.mjs");
const probe = webGpuAdapterOrSwiftShader();
const required = process.env.NEURALRG_WEBGPU_REQUIRED === "1";
if (probe.available)
  console.log(
    `WebGPU adapter: ${probe.adapter}${probe.swiftshader ? ` (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})` : ""}`,
  );
else console.log(`WebGPU adapter tests skipped: ${probe.reason}`);

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** max_i |a_i − ref_i| / max_i |ref_i| */
function maxRel(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

let tmp: string;
/** data for `fit` at L = 4 (CPU, a fraction of a second each) */
let gaussData: string;
let isingData: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "neuralrg-gpu-node-"));
  gaussData = join(tmp, "gauss4.npy");
  isingData = join(tmp, "ising4.npy");
  expect(cli(["data", "gaussian", "--L", "4", "--n", "360", "--out", gaussData]).code).toBe(0);
  const r = cli(["data", "ising", "--L", "4", "--n", "360", "--warmup", "50", "--progress", "off", "--out", isingData]);
  expect(r.code, r.err).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("--backend webgpu without an adapter or without the package", () => {
  it.runIf(process.platform === "linux")(
    "no adapter (VK_ICD_FILENAMES naming no driver): one-line error, exit 2, nothing written",
    () => {
      const out = join(tmp, "no-adapter");
      const r = cli(["train", "--backend", "webgpu", "--L", "4", "--epochs", "1", "--out", out], {
        ...process.env,
        VK_ICD_FILENAMES: join(tmp, "no-such-icd.json"),
      });
      expect(r.code).toBe(2);
      expectOneLineError(r.err, "no WebGPU adapter", "VK_ICD_FILENAMES");
      expect(existsSync(out)).toBe(false);
      const f = cli(["fit", "--data", gaussData, "--backend", "webgpu", "--epochs", "1", "--out", out], {
        ...process.env,
        VK_ICD_FILENAMES: join(tmp, "no-such-icd.json"),
      });
      expect(f.code).toBe(2);
      expectOneLineError(f.err, "no WebGPU adapter", "VK_ICD_FILENAMES");
      expect(existsSync(out)).toBe(false);
    },
  );

  it("package missing: one-line error saying npm i webgpu, exit 2, nothing written; version says so too", () => {
    const out = join(tmp, "no-package");
    const env = {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${join(import.meta.dirname, "blocker.cjs")}`,
    };
    const r = cli(["train", "--backend", "webgpu", "--L", "4", "--epochs", "1", "--out", out], env);
    expect(r.code).toBe(2);
    expectOneLineError(r.err, "npm i webgpu");
    expect(existsSync(out)).toBe(false);
    const f = cli(["fit", "--data", gaussData, "--backend", "webgpu", "--epochs", "1", "--out", out], env);
    expect(f.code).toBe(2);
    expectOneLineError(f.err, "npm i webgpu");
    expect(existsSync(out)).toBe(false);
    const v = cli(["version"], env);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/webgpu: unavailable: .*npm i webgpu/);
  });

  it.runIf(process.platform === "linux")(
    "scan --backend webgpu without an adapter: one-line error, exit 2, no scan directory",
    () => {
      const out = join(tmp, "scan-no-adapter");
      const r = cli(
        ["scan", "--backend", "webgpu", "--L", "4", "--T", "2.0,2.5", "--depth", "2", "--epochs", "1", "--out", out],
        { ...process.env, VK_ICD_FILENAMES: join(tmp, "no-such-icd.json") },
      );
      expect(r.code).toBe(2);
      expectOneLineError(r.err, "no WebGPU adapter");
      expect(existsSync(out)).toBe(false);
    },
  );

  it("settings the WebGPU objective does not have: one-line errors, exit 2, nothing written", () => {
    for (const [args, fragment] of [
      [["--dtype", "float64"], "dtype = float64"],
      [["--workers", "2"], "workers = 2"],
      [["--no-symmetrize", "--symmetry-weight", "0.1"], "symmetry-weight = 0.1"],
      [["--nll-weight", "0.5"], "experience buffer"],
      [["--gradient", "path"], "gradient = path"],
      [["--batch-final", "512"], "batch-final = 512"],
    ] as const) {
      const out = join(tmp, "refused");
      const r = cli(["train", "--backend", "webgpu", "--L", "4", "--epochs", "1", "--out", out, ...args]);
      expect(r.code, r.err).toBe(2);
      expectOneLineError(r.err, fragment);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("fit --backend webgpu: --dtype float64 and --workers refused (one line, exit 2, nothing written)", () => {
    for (const [args, fragment] of [
      [["--dtype", "float64"], "dtype = float64"],
      [["--workers", "2"], "--workers"], // fit has no worker threads at all
    ] as const) {
      const out = join(tmp, "fit-refused");
      const r = cli(["fit", "--data", gaussData, "--backend", "webgpu", "--epochs", "1", "--out", out, ...args]);
      expect(r.code, r.err).toBe(2);
      expectOneLineError(r.err, fragment);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe.runIf(probe.available || required)("WebGPU kernel on the Node adapter", () => {
  it("an adapter is available", () => {
    expect(probe.available, probe.available ? "" : probe.reason).toBe(true);
  });

  it("neuralrg version prints the adapter", () => {
    const r = cli(["version", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).webgpu.adapter).toBe(probe.available ? probe.adapter : "(none)");
  });

  /**
   * The playground's check (gpu-check.ts), in Node: random parameters with non-zero tanh scales,
   * prior samples; loss per sample and gradient against the float64 JS kernel on the same
   * float32-rounded inputs (normwise: max |g − g_ref| / max |g_ref|).
   */
  describe("loss and gradient against the float64 JS kernel", () => {
    let gpu: NodeWebGpu;
    beforeAll(async () => {
      gpu = await openNodeWebGpu();
    });
    afterAll(() => gpu?.destroy());
    const cases: { flow: FlowConfig; batch: number; init: "torch" | "identity" }[] = [
      { flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 }, batch: 16, init: "torch" },
      { flow: { L: 4, layout: "mera", depth: 2, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 32, init: "identity" },
      { flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 64, init: "torch" },
      { flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 64, init: "identity" },
      // nrepeat (layer groups repeated per level): the objective is generic over the layer list
      {
        flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4, nrepeat: 2 },
        batch: 16,
        init: "torch",
      },
      {
        flow: { L: 8, layout: "tree", depth: 3, nlayers: 2, nmlp: 1, nhidden: 4, nrepeat: 3 },
        batch: 32,
        init: "torch",
      }, // the rational hidden activation (src/kernels/activation.ts) in the WGSL kernel
      {
        flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10, activation: "rational" },
        batch: 64,
        init: "torch",
      },
    ];
    for (const c of cases) {
      for (const symmetrize of [true, false]) {
        it(`L = ${c.flow.L}, ${c.flow.layout}, nlayers ${c.flow.nlayers}, nrepeat ${c.flow.nrepeat ?? 1}, ${c.flow.activation ?? "elu"}, init ${c.init}, ${symmetrize ? "q_sym (Eq. S4)" : "plain q (Eq. 5)"}: ≤ 1e-5 relative`, async () => {
          const rng = Rng.fromSeed(11);
          const p64 = initParams(c.flow, "float64", () => rng.uniform(), c.init).data as Float64Array;
          for (const layer of viewParams(c.flow, p64).layers)
            for (const cp of layer) for (let i = 0; i < 2; i++) cp.sScale[i] = (2 * rng.uniform() - 1) * 0.5;
          const p32 = Float32Array.from(p64);
          const N = c.flow.L * c.flow.L;
          const z32 = alloc("float32", c.batch * N) as Float32Array;
          rng.fillNormal(z32);
          const target = relaxedIsing({ L: c.flow.L, T: 2.269 });
          const ref = pddLossAndGrad(
            createFlow(c.flow, "js"),
            Float64Array.from(p32),
            target,
            Float64Array.from(z32),
            c.batch,
            { symmetrize },
          );
          const o = await GpuObjective.create(gpu.device, createFlow(c.flow, "js"), target, { symmetrize }, c.batch);
          const g = await o.lossAndGrad(p32 as Real, z32 as Real, c.batch, N);
          o.destroy();
          expect(maxRel(g.perSample, ref.perSample)).toBeLessThanOrEqual(1e-5);
          expect(maxRel(g.grad, ref.grad)).toBeLessThanOrEqual(1e-5);
          // the gradient is not trivially small: a wrong or missing term would show
          expect(Math.max(...ref.grad.map(Math.abs))).toBeGreaterThan(1e-3);
        });
      }
    }
  });

  it("neuralrg train --backend webgpu --L 16: the float32 wasm kernel's F sequence to ≤ 1e-5 relative over 30 epochs", () => {
    // a small batch and network keep the emulated GPU's time short; npm run check:webgpu runs the full-size run
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, "bin", "run-ts.mjs"),
        join(ROOT, "scripts", "webgpu-check.ts"),
        "--L",
        "16",
        "--epochs",
        "30",
        "--batch",
        "8",
        "--nlayers",
        "2",
      ],
      { encoding: "utf8", cwd: ROOT },
    );
    console.log(r.stdout.trim());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/largest \|F_webgpu − F_wasm\| \/ \|F_wasm\| = \S+ \(epoch \d+\), bound 0.00001/);
  });

  it("scan --backend webgpu: every point follows the float32 wasm kernel's F sequence (≤ 1e-5 relative)", () => {
    const args = [
      "scan",
      "--L",
      "4",
      "--T",
      "2.0,2.5",
      "--depth",
      "2",
      "--epochs",
      "5",
      "--batch",
      "16",
      "--nlayers",
      "2",
      "--jobs",
      "2",
      "--eval-samples",
      "16",
      "--progress",
      "off",
      "--gradient",
      "reparam",
    ];
    const gpuDir = join(tmp, "scan-gpu");
    const cpuDir = join(tmp, "scan-cpu");
    const g = cli([...args, "--backend", "webgpu", "--out", gpuDir]);
    expect(g.code, g.err).toBe(0);
    expect(g.err).toContain("WebGPU adapter: ");
    expect(cli([...args, "--dtype", "float32", "--out", cpuDir]).code).toBe(0);
    for (const T of ["2.0", "2.5"]) {
      const sub = (d: string) => join(d, readdirSync(d).find((n) => n.startsWith(`T${T}-`)) as string, "metrics.csv");
      const a = readMetrics(sub(gpuDir)).rows.map((r) => Number(r.F));
      const b = readMetrics(sub(cpuDir)).rows.map((r) => Number(r.F));
      expect(a).toHaveLength(5);
      expect(maxRel(a, b)).toBeLessThanOrEqual(1e-5);
    }
  });

  it("a resumed run is bit-identical to an uninterrupted one on the same adapter", () => {
    const common = [
      "train",
      "--backend",
      "webgpu",
      "--L",
      "4",
      "--batch",
      "16",
      "--nlayers",
      "2",
      "--nhidden",
      "6",
      "--save-period",
      "3",
      "--eval-samples",
      "16",
      "--progress",
      "off",
      // a constant lr and no annealing: both schedules span --epochs, so stopping at 3 is another schedule
      "--lr-decay",
      "constant",
      "--warmup",
      "0",
      "--anneal",
      "0",
    ];
    const whole = join(tmp, "whole");
    const parts = join(tmp, "parts");
    expect(cli([...common, "--epochs", "6", "--out", whole]).code).toBe(0);
    expect(cli([...common, "--epochs", "3", "--out", parts]).code).toBe(0);
    const resumed = cli([...common, "--epochs", "6", "--out", parts, "--resume"]);
    expect(resumed.code, resumed.err).toBe(0);
    const F = (dir: string) => readMetrics(join(dir, "metrics.csv")).rows.map((row) => row.F);
    expect(F(parts)).toHaveLength(6);
    expect(F(parts)).toEqual(F(whole));
    const a = loadCheckpoint(join(whole, "checkpoint.json"));
    const b = loadCheckpoint(join(parts, "checkpoint.json"));
    expect(b.epoch).toBe(6);
    expect(Array.from(b.params)).toEqual(Array.from(a.params));
    expect(Array.from(b.optimiser.m)).toEqual(Array.from(a.optimiser.m));
  });

  /**
   * The maximum-likelihood objective of fit (gpu/nll.ts) against nllLossAndGrad of the float64
   * JS kernel on the same float32-rounded parameters and data rows.
   */
  describe("fit: NLL and gradient against the float64 JS kernel", () => {
    let gpu: NodeWebGpu;
    beforeAll(async () => {
      gpu = await openNodeWebGpu();
    });
    afterAll(() => gpu?.destroy());
    const cases: { flow: FlowConfig; batch: number; init: "torch" | "identity" }[] = [
      { flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 }, batch: 16, init: "torch" },
      { flow: { L: 4, layout: "mera", depth: 2, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 32, init: "identity" },
      { flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 32, init: "torch" },
    ];
    for (const c of cases) {
      for (const symmetrize of [true, false]) {
        it(`L = ${c.flow.L}, nlayers ${c.flow.nlayers}, init ${c.init}, ${symmetrize ? "q_sym (Eq. S4)" : "plain q"}: ≤ 1e-5 relative`, async () => {
          const rng = Rng.fromSeed(23);
          const p64 = initParams(c.flow, "float64", () => rng.uniform(), c.init).data as Float64Array;
          for (const layer of viewParams(c.flow, p64).layers)
            for (const cp of layer) for (let i = 0; i < 2; i++) cp.sScale[i] = (2 * rng.uniform() - 1) * 0.5;
          const p32 = Float32Array.from(p64);
          const N = c.flow.L * c.flow.L;
          // data rows: correlated, shifted and scaled away from the prior, so that z ≠ x matters
          const x32 = alloc("float32", c.batch * N) as Float32Array;
          rng.fillNormal(x32);
          for (let i = 0; i < x32.length; i++) x32[i] = 1.5 * x32[i] + 0.5 * x32[i - (i % N)] + 0.3;
          const ref = nllLossAndGrad(
            createFlow(c.flow, "js"),
            Float64Array.from(p32),
            Float64Array.from(x32),
            c.batch,
            {
              symmetrize,
            },
          );
          const o = await GpuNllObjective.create(gpu.device, createFlow(c.flow, "js"), { symmetrize }, c.batch);
          const g = await o.lossAndGrad(p32 as Real, x32 as Real, c.batch);
          o.destroy();
          expect(maxRel(g.perSample, ref.perSample)).toBeLessThanOrEqual(1e-5);
          expect(maxRel(g.grad, ref.grad)).toBeLessThanOrEqual(1e-5);
          expect(Math.max(...ref.grad.map(Math.abs))).toBeGreaterThan(1e-3);
        });
      }
    }
  });

  const fitCommon = (data: string) => [
    "fit",
    "--data",
    data,
    "--batch",
    "32",
    "--nlayers",
    "2",
    "--nhidden",
    "6",
    "--progress",
    "off",
    "--no-figures",
  ];

  it("neuralrg fit --backend webgpu --L 4: the float32 CPU fit's loss sequence to ≤ 1e-4 relative; provenance names the adapter", () => {
    for (const [data, extra] of [
      [gaussData, []],
      // q_sym from the identity flow has gradient components that vanish exactly (the x and −x
      // passes cancel) and are rounding noise in float32, which Adam's first steps amplify to ±lr
      // on either kernel: q_sym is checked from the torch init (its gradient is checked above)
      [isingData, ["--symmetrize", "--init", "torch"]],
    ] as const) {
      // one metrics row per Adam step: train_nll is that step's minibatch NLL
      const args = [...fitCommon(data), "--epochs", "3", "--eval-period", "1", ...extra];
      const gpuDir = join(tmp, `fit-gpu-${extra.length}`);
      const cpuDir = join(tmp, `fit-cpu-${extra.length}`);
      const g = cli([...args, "--backend", "webgpu", "--out", gpuDir]);
      expect(g.code, g.err).toBe(0);
      expect(g.err).toContain("WebGPU adapter: ");
      const c = cli([...args, "--dtype", "float32", "--out", cpuDir]);
      expect(c.code, c.err).toBe(0);
      const rows = (d: string) => readMetrics(join(d, "metrics.csv")).rows;
      const a = rows(gpuDir);
      const b = rows(cpuDir);
      expect(a).toHaveLength(1 + 3 * 10); // 324 training rows / 32 = 10 steps per epoch
      for (const col of ["train_nll", "test_nll", "grad_norm"]) {
        const av = a.slice(1).map((r) => Number(r[col]));
        const bv = b.slice(1).map((r) => Number(r[col]));
        expect(av.every(Number.isFinite)).toBe(true);
        expect(maxRel(av, bv), col).toBeLessThanOrEqual(1e-4);
      }
      // the loss moved: agreement is not that of two untrained flows
      expect(Number(b[30].test_nll)).toBeLessThan(Number(b[0].test_nll));
      const prov = JSON.parse(readFileSync(join(gpuDir, "provenance.json"), "utf8"));
      expect(prov.backend).toBe("webgpu");
      expect(prov.adapter).toBe(probe.available ? probe.adapter : "(none)");
      expect(JSON.parse(readFileSync(join(gpuDir, "config.json"), "utf8")).dtype).toBe("float32");
    }
  });

  it("a resumed fit on the GPU is bit-identical to an uninterrupted one", () => {
    const common = [...fitCommon(gaussData), "--backend", "webgpu", "--symmetrize"];
    const whole = join(tmp, "fit-whole");
    const parts = join(tmp, "fit-parts");
    expect(cli([...common, "--epochs", "4", "--out", whole]).code).toBe(0);
    expect(cli([...common, "--epochs", "2", "--out", parts]).code).toBe(0);
    const resumed = cli([...common, "--epochs", "4", "--out", parts, "--resume"]);
    expect(resumed.code, resumed.err).toBe(0);
    const cols = (dir: string) =>
      readMetrics(join(dir, "metrics.csv")).rows.map((r) => [r.step, r.train_nll, r.test_nll, r.grad_norm]);
    expect(cols(parts)).toHaveLength(5);
    expect(cols(parts)).toEqual(cols(whole));
    const a = loadCheckpoint(join(whole, "checkpoint.json"));
    const b = loadCheckpoint(join(parts, "checkpoint.json"));
    expect(b.epoch).toBe(40);
    expect(Array.from(b.params)).toEqual(Array.from(a.params));
    expect(Array.from(b.optimiser.m)).toEqual(Array.from(a.optimiser.m));
    expect(Array.from(b.optimiser.v)).toEqual(Array.from(a.optimiser.v));
  });
});
