/**
 * Where the time of a training epoch goes, and how close the fused kernel runs to the machine's
 * arithmetic peak. Run by `npm run bench` (pinned to one core) or alone:
 *   node bin/run-ts.mjs bench/profile.ts [--L 16] [--reps 7] [--epochs 5]
 * Prints Markdown tables, then one JSON line.
 *
 * 1. Peak: bench/peak.as.ts (12 independent mul + add chains of f32x4 / f64x2), compiled in
 *    memory with asc.
 * 2. Epoch (README network, batch 512, symmetrised loss, wasm kernel, one thread; float32 also
 *    with `train`'s default network, batch and path gradient): wall time
 *    inside the wasm exports (forward and backward), in the copies into and out of linear
 *    memory (kernels/wasm.ts timers), in the target's energy and gradient, and the rest (flow
 *    gathers and scatters of the tape, the objective's arithmetic, Adam, drawing z).
 * 3. Kernel parts by ablation: one layer of R = 32,768 rows (batch 512 × 64 blocks, L = 16) timed
 *    with variants of block.as.ts compiled in memory: ELU → max(u, 0) (no transcendental), tanh
 *    and exp → identity, and the coupling networks removed (only gather / scatter, coupling
 *    arithmetic and gradient flushes remain). Differences of per-call CPU-time medians give the
 *    parts; the variants compute wrong numbers and serve for timing only.
 * 4. GFLOP/s: the coupling networks' multiply-adds (2 flops each) per second of kernel time,
 *    against the peak of 1.
 * 5. A lower bound of the epoch: the kernel's multiplications (MLP and ELU; multiplyBound) at the
 *    peak of 1, plus the measured time outside the kernel.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as asc from "assemblyscript/asc";
import { Command } from "commander";
import { Rng } from "../src/engine/rng.ts";
import type { Real } from "../src/engine/real.ts";
import { blockLayer } from "../src/flow/layout.ts";
import type { LayerSpec } from "../src/kernels/block.ts";
import {
  initWasmKernel,
  profileWasmKernel,
  WASM_RELAXED_URL,
  WASM_URL,
  wasmKernelVariant,
  wasmLayerBackward,
  wasmLayerForward,
} from "../src/kernels/wasm.ts";
import { relaxedIsing } from "../src/targets/ising.ts";
import type { TrainConfig } from "../src/train/trainer.ts";
import { createTrainer, TRAIN_DEFAULTS, trainEpoch } from "../src/train/trainer.ts";
import { trainConfig } from "../src/train/config.ts";
import { TRAIN_DEFAULT_NETWORK } from "./quality-recipes.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const o = new Command()
  .option("--L <n>", "lattice size of the epoch profile", Number, 16)
  .option("--reps <n>", "timed calls per kernel variant (median)", Number, 7)
  .option("--epochs <n>", "timed epochs of the epoch profile", Number, 5)
  .parse()
  .opts<{ L: number; reps: number; epochs: number }>();

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// the build this process runs (relaxed SIMD where available): peak, epoch and ablations use it
const kernelVariant = wasmKernelVariant();
const relaxed = kernelVariant === "relaxed-simd";
const committed = readFileSync(relaxed ? WASM_RELAXED_URL : WASM_URL);

// ---------------------------------------------------------------------------------------
// in-memory compilation with the flags of `npm run build:wasm` (-O3 --noAssert --runtime stub --enable simd [--enable relaxed-simd] --use abort=)

async function compile(name: string, source: string): Promise<Uint8Array<ArrayBuffer>> {
  const r = await asc.compileString(
    { [name]: source },
    {
      optimizeLevel: 3,
      shrinkLevel: 0,
      noAssert: true,
      runtime: "stub",
      enable: relaxed ? ["simd", "relaxed-simd"] : ["simd"],
      use: ["abort="],
    },
  );
  if (r.error || !r.binary) throw new Error(`asc failed on ${name}: ${r.error?.message ?? ""}\n${r.stderr.toString()}`);
  return new Uint8Array(r.binary);
}

// ---------------------------------------------------------------------------------------
// 1. peak

async function peak(): Promise<{ f32: number; f64: number }> {
  const bin = await compile("peak.ts", readFileSync(join(here, "peak.as.ts"), "utf8"));
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bin), {}).exports as {
    peak32(n: number, m: number, c: number): number;
    peak64(n: number, m: number, c: number): number;
  };
  const run = (f: (n: number, m: number, c: number) => number, flopsPerStep: number) => {
    // V8 first runs Liftoff code and swaps in TurboFan code when its background compile is done
    // (late when the machine is busy): repeat until 5 repetitions in a row bring no new best
    let best = 0;
    for (let i = 0, since = 0; since < 5 && i < 200; i++, since++) {
      const n = 1e7;
      const t = cpuMs(); // CPU time: robust to other processes sharing the core
      f(n, 0.999, 0.001);
      const g = (n * 12 * flopsPerStep) / ((cpuMs() - t) / 1000) / 1e9;
      if (g > 1.02 * best) since = 0;
      best = Math.max(best, g);
    }
    return best;
  };
  return { f32: run(ex.peak32, 8), f64: run(ex.peak64, 4) };
}

// ---------------------------------------------------------------------------------------
// 3. kernel variants

const kernelSrc = readFileSync(join(root, "src/kernels/wasm/block.as.ts"), "utf8");
type Edit = [string, string];
const EDITS: Record<string, Edit[]> = {
  noElu: [["return v128.pmax<T>(u, vexpm1Neg<T>(m));", "return v128.pmax<T>(u, zero);"]],
  noTanhExp: [
    [
      "@inline function vexp<T>(x: v128): v128 { return vexpCore<T>(x, true, true); }",
      "@inline function vexp<T>(x: v128): v128 { return x; }",
    ],
    ["@inline function vtanh<T>(h: v128): v128 {", "@inline function vtanh<T>(h: v128): v128 {\n  if (true) return h;"],
  ],
  noMlp: [
    [
      "@inline function netForward<T, A>(w: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, out: usize): void {",
      "@inline function netForward<T, A>(w: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, out: usize): void {\n  if (nh >= 0) { const z = splat<T>(0.0); vst(out, z); vst(out + 16, z); vst(out + 32, z); vst(out + 48, z); return; }",
    ],
    [
      "@inline function netBackward<T, A>(w: usize, a: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, g: usize): void {",
      "@inline function netBackward<T, A>(w: usize, a: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, g: usize): void {\n  if (nh >= 0) { const z = splat<T>(0.0); vst(sGIN, z); vst(sGIN + 16, z); vst(sGIN + 32, z); vst(sGIN + 48, z); return; }",
    ],
  ],
};
function variant(names: string[]): string {
  let s = kernelSrc;
  for (const n of names) {
    for (const [from, to] of EDITS[n]) {
      if (!s.includes(from))
        throw new Error(`bench/profile.ts: ablation '${n}' no longer matches block.as.ts (update EDITS)`);
      s = s.replace(from, to);
    }
  }
  return s;
}

const nlayers = 10;
const nh = 3;
const H = 10;
/** multiply-adds of one coupling network per row: 2 → H → … → H → 2 */
const macsNet = 2 * H + (nh - 1) * H * H + 2 * H;
/** flops of the coupling networks per row and coupling: forward (2 nets), backward (weight gradient + input adjoint) */
const fwdFlops = 2 * 2 * macsNet;
const bwdFlops = 2 * fwdFlops;

/**
 * Multiplications (a multiply or a fused multiply-add, each one slot of the CPU's multiply
 * pipes) per ELU evaluation in block.as.ts's vexpCore for x ≤ 0: n (1), the reduction r (1 fused
 * in the relaxed float32 build, 2 Cody–Waite in the plain one; 1 in float64), r² (1), the
 * polynomial (float32: 4) or the Padé parts (float64: 3 + 2 + 1), q (float32: 1) and the scaling (1);
 * the float64 division is not counted.
 */
function eluMultiplies(f32: boolean, relaxedBuild: boolean): number {
  return f32 ? (relaxedBuild ? 9 : 10) : 10;
}

/**
 * A lower bound of the kernel's time per epoch: its multiplications at the machine's measured
 * peak rate (peak GFLOP/s counts 2 flops per multiply-add, so a multiply takes 2 / peak). Per row,
 * coupling and net, the forward runs the MLP's multiply-adds and nh·H ELUs; the backward
 * recomputes the forward, then 2 multiplies per weight (input adjoint, weight gradient) and one
 * per ELU' — every call twice per epoch (generate, infer at −x). The couplings' tanh/exp, the
 * gathers and the gradient flushes are left out (it stays a lower bound).
 */
function multiplyBound(rows: number, f32: boolean, peakGflops: number): { multiplies: number; ms: number } {
  const fwd = macsNet + nh * H * eluMultiplies(f32, relaxed);
  const bwd = fwd + 2 * macsNet + nh * H;
  const multiplies = rows * nlayers * 2 * 2 * (fwd + bwd);
  return { multiplies, ms: ((2 * multiplies) / (peakGflops * 1e9)) * 1000 };
}

const KL = 16;
const N = KL * KL;
const batch = 512;
const idx = blockLayer(KL, 0, 0, "disentangler");
const R = batch * idx.nblocks;
const netSize = 2 * H + H + (nh - 1) * (H * H + H) + 2 * H + 2;
const eluSpec: LayerSpec = { nlayers, nh, H, netSize, base: 0 };
const rationalSpec: LayerSpec = { ...eluSpec, activation: "rational" };
const rng = Rng.fromSeed(42);
const P64 = new Float64Array(nlayers * (2 * netSize + 2));
{
  // torch-like initialisation U(−1/√fan_in, 1/√fan_in), tanh scales ±0.5 (as bench/kernel.ts)
  const dims = [2, ...Array.from({ length: nh }, () => H), 2];
  let k = 0;
  for (let c = 0; c < nlayers; c++) {
    for (let net = 0; net < 2; net++) {
      for (let d = 0; d + 1 < dims.length; d++) {
        const b = 1 / Math.sqrt(dims[d]);
        for (let i = 0; i < dims[d] * dims[d + 1] + dims[d + 1]; i++) P64[k++] = (2 * rng.uniform() - 1) * b;
      }
    }
    P64[k++] = (2 * rng.uniform() - 1) * 0.5;
    P64[k++] = (2 * rng.uniform() - 1) * 0.5;
  }
}
const x64 = new Float64Array(batch * N);
rng.fillNormal(x64);
const g64 = new Float64Array(batch * N);
rng.fillNormal(g64);
const gld = new Float64Array(batch).fill(1 / batch);

interface KernelTiming {
  fwd_ms: number;
  bwd_ms: number;
  fwd_copy_ms: number;
  bwd_copy_ms: number;
}

function timeKernel(f32: boolean, reps: number, spec: LayerSpec = eluSpec): KernelTiming {
  const T = f32 ? Float32Array : Float64Array;
  const P: Real = T.from(P64);
  const x: Real = T.from(x64);
  const g: Real = T.from(g64);
  const state = x.slice();
  const grad = g.slice();
  const G = new Float64Array(P.length);
  const ld = new Float64Array(batch);
  const tf: number[] = [];
  const tb: number[] = [];
  const cf: number[] = [];
  const cb: number[] = [];
  // V8 runs a new module's baseline code first and swaps in optimised code when its background
  // compile is done (later for a larger module): call until 5 calls in a row bring no new best
  let best = Infinity;
  for (let i = 0, since = 0; since < 5 && i < 100; i++, since++) {
    state.set(x);
    grad.set(g);
    const c = cpuMs();
    wasmLayerForward(spec, P, "generate", state, N, idx, ld, 0, batch);
    wasmLayerBackward(spec, P, G, "generate", x, grad, N, idx, gld, 0, batch);
    const t = cpuMs() - c;
    if (t < best * 0.99) ((best = t), (since = 0));
  }
  for (let i = 0; i < reps + 3; i++) {
    state.set(x);
    const tm = profileWasmKernel(true)!;
    let c = cpuMs();
    wasmLayerForward(spec, P, "generate", state, N, idx, ld, 0, batch);
    const a = cpuMs() - c;
    grad.set(g);
    c = cpuMs();
    wasmLayerBackward(spec, P, G, "generate", x, grad, N, idx, gld, 0, batch);
    const b = cpuMs() - c;
    profileWasmKernel(false);
    if (i >= 3) {
      tf.push(a);
      tb.push(b);
      cf.push(tm.forwardCopy);
      cb.push(tm.backwardCopy);
    }
  }
  return { fwd_ms: median(tf), bwd_ms: median(tb), fwd_copy_ms: median(cf), bwd_copy_ms: median(cb) };
}

// ---------------------------------------------------------------------------------------
// 2. epoch

/** readme: the original's README network and gradient; defaults: `train`'s network, batch and path gradient */
type ProfileNetwork = "readme" | "defaults";

interface EpochProfile {
  dtype: string;
  network: ProfileNetwork;
  /** CPU time of the epoch; the parts below are in the same unit */
  epoch_ms: number;
  epoch_wall_ms: number;
  fwd_run_ms: number;
  bwd_run_ms: number;
  copy_ms: number;
  target_ms: number;
  rest_ms: number;
  /** README network only (NaN for defaults) */
  mlp_gflop: number;
  /** block rows of one pass through the flow (batch × blocks of all layers) */
  rows: number;
}

async function epochProfile(
  dtype: "float32" | "float64",
  L: number,
  epochs: number,
  network: ProfileNetwork,
): Promise<EpochProfile> {
  await initWasmKernel(committed, kernelVariant);
  const readme = network === "readme";
  const config: TrainConfig = trainConfig(
    { kind: "ising", L, T: 2 / Math.log(1 + Math.SQRT2) },
    {
      ...(readme ? { nlayers, nmlp: nh, nhidden: H, batch } : TRAIN_DEFAULT_NETWORK),
      ...(readme ? {} : { gradient: "path" as const }),
      epochs: 1e9,
      lr: 1e-3,
      weightDecay: 0,
      seed: 1,
      dtype,
      symmetrize: true,
      init: "torch",
      kernel: "wasm",
    },
  );
  const target = relaxedIsing({ L, T: config.target.T as number });
  let targetMs = 0;
  const logProb = target.logProb.bind(target);
  target.logProb = (x, b, out, grad) => {
    const t = performance.now();
    logProb(x, b, out, grad);
    targetMs += performance.now() - t;
  };
  const state = createTrainer(config, target);
  // untimed, as in bench/epoch.ts: start-up, then V8 optimising the JavaScript
  for (let e = 0; e < 4; e++) trainEpoch(state);
  const wall: number[] = [];
  const cpu: number[] = [];
  const parts: number[][] = [];
  for (let e = 0; e < epochs; e++) {
    targetMs = 0;
    const tm = profileWasmKernel(true)!;
    const c = cpuMs();
    const t = performance.now();
    trainEpoch(state);
    const w = performance.now() - t;
    cpu.push(cpuMs() - c);
    profileWasmKernel(false);
    wall.push(w);
    parts.push([tm.forwardRun, tm.backwardRun, tm.forwardCopy + tm.backwardCopy, targetMs]);
  }
  // the epoch with the median CPU time, whole; its parts are timed in wall time and scaled to
  // its CPU time (other processes sharing the core stretch every part alike)
  const k = cpu.indexOf(median(cpu));
  const sc = cpu[k] / wall[k];
  const [f, b, cp, tg] = parts[k].map((v) => v * sc);
  const rows = config.batch * state.model.layers.reduce((s, l) => s + l.nblocks, 0);
  // 2 forward passes (generate, infer) and 2 backward calls, each recomputing its forward
  const mlpFlops = rows * nlayers * (4 * fwdFlops + 2 * bwdFlops);
  return {
    dtype,
    network,
    epoch_ms: cpu[k],
    epoch_wall_ms: wall[k],
    fwd_run_ms: f,
    bwd_run_ms: b,
    copy_ms: cp,
    target_ms: tg,
    rest_ms: cpu[k] - f - b - cp - tg,
    mlp_gflop: readme ? mlpFlops / 1e9 : NaN,
    rows,
  };
}

// ---------------------------------------------------------------------------------------

const pk = await peak();
const epochs: EpochProfile[] = [];
for (const d of ["float32", "float64"] as const) epochs.push(await epochProfile(d, o.L, o.epochs, "readme"));
epochs.push(await epochProfile("float32", o.L, o.epochs, "defaults"));

const variants: Record<string, string[]> = {
  full: [],
  noElu: ["noElu"],
  noTrans: ["noElu", "noTanhExp"],
  noTransMlp: ["noElu", "noTanhExp", "noMlp"],
};
const kt: Record<string, Record<string, KernelTiming>> = { f32: {}, f64: {} };
let fullMatches = false;
for (const [name, edits] of Object.entries(variants)) {
  const bin = await compile("block.ts", variant(edits));
  if (name === "full") fullMatches = Buffer.compare(Buffer.from(bin), committed) === 0;
  await initWasmKernel(bin, kernelVariant);
  kt.f32[name] = timeKernel(true, o.reps);
  kt.f64[name] = timeKernel(false, o.reps);
  if (name === "full") {
    kt.f32.rational = timeKernel(true, o.reps, rationalSpec);
    kt.f64.rational = timeKernel(false, o.reps, rationalSpec);
  }
}
await initWasmKernel(committed, kernelVariant);

const f1 = (v: number) => v.toFixed(1);
const pct = (p: number, t: number) => `${((100 * p) / t).toFixed(0)} %`;
const out: string[] = [];
out.push(
  `Peak (12 independent mul + add chains, one core): float32 ${f1(pk.f32)} GFLOP/s, float64 ${f1(pk.f64)} GFLOP/s.`,
);
out.push("");
out.push(
  `Epoch at L = ${o.L} (README: batch ${batch}, ${nlayers} couplings, MLP 2→${H}→${H}→${H}→2, the original's reparametrised gradient; train defaults: batch ${TRAIN_DEFAULTS.batch}, ${TRAIN_DEFAULTS.nlayers} couplings, MLP 2→${TRAIN_DEFAULTS.nhidden}→2 (${TRAIN_DEFAULTS.activation}), ${TRAIN_DEFAULTS.nrepeat} layer groups, path gradient; symmetrised, wasm kernel, one thread; the epoch with the median CPU time of ${o.epochs} after 4, CPU ms, parts in proportion to their wall times):`,
);
out.push("");
out.push(
  "| network | dtype | epoch | wasm forward | wasm backward | copies in/out of wasm memory | target energy + gradient | rest (tape gathers, objective, Adam, z) | MLP GFLOP/s (epoch) | MLP GFLOP/s (in wasm) | peak |",
);
out.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
const gf = (v: number) => (Number.isNaN(v) ? "—" : f1(v));
for (const e of epochs) {
  const peakD = e.dtype === "float32" ? pk.f32 : pk.f64;
  const inWasm = e.fwd_run_ms + e.bwd_run_ms;
  out.push(
    `| ${e.network === "readme" ? "README" : "train defaults"} | ${e.dtype} | ${f1(e.epoch_ms)} | ${f1(e.fwd_run_ms)} (${pct(e.fwd_run_ms, e.epoch_ms)}) | ${f1(e.bwd_run_ms)} (${pct(e.bwd_run_ms, e.epoch_ms)}) | ${f1(e.copy_ms)} (${pct(e.copy_ms, e.epoch_ms)}) | ${f1(e.target_ms)} (${pct(e.target_ms, e.epoch_ms)}) | ${f1(e.rest_ms)} (${pct(e.rest_ms, e.epoch_ms)}) | ${gf(e.mlp_gflop / (e.epoch_ms / 1000))} | ${gf(e.mlp_gflop / (inWasm / 1000))} | ${f1(peakD)} |`,
  );
}
out.push("");
out.push(
  "Lower bound of the kernel (README network): its multiplications (MLP multiply-adds, ELU polynomials; bench/profile.ts multiplyBound) at the peak rate above, and the epoch it would give with the measured rest:",
);
out.push("");
out.push(
  "| dtype | multiplies per epoch | bound ms | kernel ms (measured) | kernel speed / bound | epoch floor ms (bound + the rest measured) | epoch ms (measured) |",
);
out.push("|---|---:|---:|---:|---:|---:|---:|");
const bounds: Record<string, unknown>[] = [];
for (const e of epochs.filter((p) => p.network === "readme")) {
  const f32 = e.dtype === "float32";
  const b = multiplyBound(e.rows, f32, f32 ? pk.f32 : pk.f64);
  const kernel = e.fwd_run_ms + e.bwd_run_ms;
  const floor = b.ms + e.epoch_ms - kernel;
  bounds.push({ dtype: e.dtype, multiplies: b.multiplies, bound_ms: b.ms, kernel_ms: kernel, floor_ms: floor });
  out.push(
    `| ${e.dtype} | ${(b.multiplies / 1e9).toFixed(2)} G | ${f1(b.ms)} | ${f1(kernel)} | ${pct(b.ms, kernel)} | ${f1(floor)} | ${f1(e.epoch_ms)} |`,
  );
}
out.push("");
out.push(
  `Kernel parts (one layer, R = ${R} rows, per call, CPU ms; by ablation, see bench/profile.ts${fullMatches ? "" : "; NOTE: the in-memory build differs from the committed build"}):`,
);
out.push("");
out.push(
  "| dtype | call | total | ELU exp | tanh + exp(s) | MLP matmuls | gather/scatter, couplings, flushes | of which JS copies | MLP GFLOP/s | of peak |",
);
out.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
const kernelRows: Record<string, unknown>[] = [];
for (const d of ["f32", "f64"] as const) {
  const v = kt[d];
  const peakD = d === "f32" ? pk.f32 : pk.f64;
  for (const call of ["fwd", "bwd"] as const) {
    const t = (n: string) => (call === "fwd" ? v[n].fwd_ms : v[n].bwd_ms);
    const copy = call === "fwd" ? v.full.fwd_copy_ms : v.full.bwd_copy_ms;
    const total = t("full");
    const elu = t("full") - t("noElu");
    const th = t("noElu") - t("noTrans");
    const mlp = t("noTrans") - t("noTransMlp");
    const rest = t("noTransMlp");
    const flops = R * nlayers * (call === "fwd" ? fwdFlops : fwdFlops + bwdFlops);
    const gf = flops / (total / 1000) / 1e9;
    kernelRows.push({
      dtype: d,
      call,
      total_ms: total,
      elu_ms: elu,
      tanh_exp_ms: th,
      mlp_ms: mlp,
      rest_ms: rest,
      copy_ms: copy,
      gflops: gf,
      peak_gflops: peakD,
    });
    out.push(
      `| ${d} | ${call === "fwd" ? "forward" : "backward (recomputes the forward)"} | ${f1(total)} | ${f1(elu)} (${pct(elu, total)}) | ${f1(th)} (${pct(th, total)}) | ${f1(mlp)} (${pct(mlp, total)}) | ${f1(rest)} (${pct(rest, total)}) | ${f1(copy)} | ${f1(gf)} | ${pct(gf, peakD)} |`,
    );
  }
}
out.push("");
out.push(
  `With \`--activation rational\` (the same call, full kernel): float32 forward ${f1(kt.f32.rational.fwd_ms)}, backward ${f1(kt.f32.rational.bwd_ms)}; float64 forward ${f1(kt.f64.rational.fwd_ms)}, backward ${f1(kt.f64.rational.bwd_ms)} ms.`,
);
out.push("");
out.push(
  `MLP flops of one layer call: forward ${fwdFlops} per row and coupling (2 nets × ${macsNet} multiply-adds × 2), backward ${bwdFlops} more (weight gradient + input adjoint).`,
);
process.stdout.write(out.join("\n") + "\n\n");
console.log(
  JSON.stringify({
    bench: "profile",
    L: o.L,
    peak_gflops: pk,
    epochs,
    kernel: kernelRows,
    multiply_bound: bounds,
    kernel_rational: { f32: kt.f32.rational, f64: kt.f64.rational },
    kernel_build_matches_committed: fullMatches,
  }),
);
