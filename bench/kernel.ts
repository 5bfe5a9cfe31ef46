/**
 * Block-layer kernel benchmark: one layer of R = 32,768 rows (batch 512 × 64 blocks of a 16×16
 * lattice), nlayers 10, nmlp 3, nhidden 10, on one core. Times the forward (layerForward) and
 * forward + backward (layerForward then layerBackward, which recomputes the forward per row)
 * for the JS kernel and the WebAssembly SIMD kernel in float32 and float64; prints one JSON line
 * and a Markdown table. Reference (notes/performance.md): PyTorch 1 thread, forward 79 ms,
 * forward + backward 136 ms.
 *
 * Run: node bin/run-ts.mjs bench/kernel.ts [--reps 5] [--quick] [--infer] [--batch 512]
 * (or npm run bench:kernel). Times are per-call process CPU time (robust when other processes
 * share the machine), with wall-clock medians alongside.
 */
import { Rng } from "../src/engine/rng.ts";
import type { Real } from "../src/engine/real.ts";
import type { Direction, LayerSpec } from "../src/kernels/block.ts";
import { blockLayer } from "../src/flow/layout.ts";
import type { KernelImpl } from "../src/kernels/wasm.ts";
import { jsKernel, wasmKernel } from "../src/kernels/wasm.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const quick = argv.includes("--quick");
const reps = opt("--reps", quick ? 2 : 5);
const L = 16;
const batch = opt("--batch", 512);
const nlayers = 10;
const nh = 3;
const H = 10;
const N = L * L;
const idx = blockLayer(L, 0, 0, "disentangler");
const R = batch * idx.nblocks;
const netSize = 2 * H + H + (nh - 1) * (H * H + H) + 2 * H + 2;
const cs = 2 * netSize + 2;
const spec: LayerSpec = { nlayers, nh, H, netSize, base: 0 };

// torch-like initialisation U(−1/√fan_in, 1/√fan_in), tanh scales ±0.5
const rng = Rng.fromSeed(42);
const P64 = new Float64Array(nlayers * cs);
{
  const dims = [2, ...Array.from({ length: nh }, () => H), 2];
  let o = 0;
  for (let c = 0; c < nlayers; c++) {
    for (let net = 0; net < 2; net++) {
      for (let k = 0; k + 1 < dims.length; k++) {
        const b = 1 / Math.sqrt(dims[k]);
        for (let i = 0; i < dims[k] * dims[k + 1] + dims[k + 1]; i++) P64[o++] = (2 * rng.uniform() - 1) * b;
      }
    }
    P64[o++] = (2 * rng.uniform() - 1) * 0.5;
    P64[o++] = (2 * rng.uniform() - 1) * 0.5;
  }
}
const x64 = new Float64Array(batch * N);
rng.fillNormal(x64);
const g64 = new Float64Array(batch * N);
rng.fillNormal(g64);
const gld = new Float64Array(batch).fill(1);

interface Row {
  engine: string;
  /** per-call process CPU time, median over the repetitions (robust on a shared machine) */
  fwd_ms: number;
  fwdbwd_ms: number;
  /** per-call wall-clock time, median */
  fwd_wall_ms: number;
  fwdbwd_wall_ms: number;
}

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

/** Runs f once; returns [wall ms, process CPU ms]. */
function clock(f: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const t = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [t, (c.user + c.system) / 1000];
}

function time(k: KernelImpl, f32: boolean, dir: Direction, n: number, warm: number): Row {
  const P: Real = f32 ? Float32Array.from(P64) : P64;
  const x: Real = f32 ? Float32Array.from(x64) : x64;
  const g: Real = f32 ? Float32Array.from(g64) : g64;
  const G = new Float64Array(P64.length);
  const ld = new Float64Array(batch);
  const state = x.slice();
  const grad = g.slice();
  const fwd = () => {
    state.set(x);
    k.layerForward(spec, P, dir, state, N, idx, ld, 0, batch);
  };
  const fb = () => {
    fwd();
    grad.set(g);
    k.layerBackward(spec, P, G, dir, x, grad, N, idx, gld, 0, batch);
  };
  for (let i = 0; i < warm; i++) fb();
  const tf: number[] = [];
  const cf: number[] = [];
  const tb: number[] = [];
  const cb: number[] = [];
  for (let i = 0; i < n; i++) {
    const [w1, c1] = clock(fwd);
    tf.push(w1);
    cf.push(c1);
    const [w2, c2] = clock(fb);
    tb.push(w2);
    cb.push(c2);
  }
  const name = k.name === "js" ? `js-${f32 ? "f32" : "f64"}` : `wasm-${f32 ? "f32" : "f64"}`;
  const r = (v: number) => +v.toFixed(1);
  return {
    engine: name,
    fwd_ms: r(median(cf)),
    fwdbwd_ms: r(median(cb)),
    fwd_wall_ms: r(median(tf)),
    fwdbwd_wall_ms: r(median(tb)),
  };
}

const dir: Direction = argv.includes("--infer") ? "infer" : "generate";
const rows: Row[] = [];
rows.push(time(jsKernel, false, dir, quick ? 1 : Math.min(reps, 3), 1));
// wasm: several warm-up calls so that V8 tiers the module up from Liftoff to TurboFan
rows.push(time(wasmKernel, true, dir, reps, 3));
rows.push(time(wasmKernel, false, dir, reps, 3));
const torch = { engine: "pytorch-1thread (notes)", fwd_ms: 79, fwdbwd_ms: 136 };

console.log(
  JSON.stringify({
    bench: "kernel",
    R,
    batch,
    nblocks: idx.nblocks,
    nlayers,
    nmlp: nh,
    nhidden: H,
    dir,
    results: rows,
    reference: torch,
  }),
);
console.log();
console.log(
  `R = ${R} rows (batch ${batch} × ${idx.nblocks} blocks), nlayers ${nlayers}, nmlp ${nh}, nhidden ${H}, ${dir}, one core`,
);
console.log();
console.log(
  "| engine | forward (ms) | forward + backward (ms) | fwd+bwd speed-up vs JS | wall: forward / fwd+bwd (ms) |",
);
console.log("|---|---:|---:|---:|---:|");
const js = rows[0].fwdbwd_ms;
for (const r of rows) {
  console.log(
    `| ${r.engine} | ${r.fwd_ms} | ${r.fwdbwd_ms} | ${(js / r.fwdbwd_ms).toFixed(1)}× | ${r.fwd_wall_ms} / ${r.fwdbwd_wall_ms} |`,
  );
}
console.log(`| ${torch.engine} | ${torch.fwd_ms} | ${torch.fwdbwd_ms} | ${(js / torch.fwdbwd_ms).toFixed(1)}× | |`);
console.log();
console.log("Times are medians of per-call process CPU time (wall-clock medians in the last column);");
console.log("forward + backward = layerForward then layerBackward (which recomputes the forward per row).");
