/**
 * A/B timing of two builds of the wasm block kernel on one layer call (R = 32,768 rows: L = 16,
 * level 0, batch 512, the README network), alternating A and B so that load from other work hits
 * both alike. CPU-time medians per call, and the best round of each.
 *
 *   node bin/run-ts.mjs bench/ab-kernel.ts A.wasm B.wasm [rounds] [activation]
 */
import { readFileSync } from "node:fs";
import { cpuUsage } from "node:process";
import { blockLayer } from "../src/flow/layout.ts";
import { initWasmKernel, relaxedSimdAvailable, wasmLayerBackward, wasmLayerForward } from "../src/kernels/wasm.ts";
import type { LayerSpec } from "../src/kernels/block.ts";
import type { Activation } from "../src/kernels/activation.ts";
import { Rng } from "../src/engine/rng.ts";

const [a, b, roundsArg, act] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: ab-kernel.ts A.wasm B.wasm [rounds] [elu|rational]");
const rounds = Number(roundsArg ?? 5);
const cpuMs = () => {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];

const nlayers = 10,
  nh = 3,
  H = 10,
  L = 16,
  N = L * L,
  batch = 512;
const idx = blockLayer(L, 0, 0, "disentangler");
const netSize = 2 * H + H + (nh - 1) * (H * H + H) + 2 * H + 2;
const spec: LayerSpec = { nlayers, nh, H, netSize, base: 0, ...(act ? { activation: act as Activation } : {}) };
const rng = Rng.fromSeed(42);
const P64 = new Float64Array(nlayers * (2 * netSize + 2));
for (let i = 0; i < P64.length; i++) P64[i] = (2 * rng.uniform() - 1) * 0.3;
const x64 = new Float64Array(batch * N);
rng.fillNormal(x64);
const g64 = new Float64Array(batch * N);
rng.fillNormal(g64);
const gld = new Float64Array(batch).fill(1 / batch);

function time(f32: boolean, reps: number): [number, number] {
  const T = f32 ? Float32Array : Float64Array;
  const P = T.from(P64),
    x = T.from(x64),
    g = T.from(g64);
  const state = x.slice(),
    grad = g.slice();
  const G = new Float64Array(P.length),
    ld = new Float64Array(batch);
  const tf: number[] = [],
    tb: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    state.set(x);
    let c = cpuMs();
    wasmLayerForward(spec, P, "generate", state, N, idx, ld, 0, batch);
    const f = cpuMs() - c;
    grad.set(g);
    c = cpuMs();
    wasmLayerBackward(spec, P, G, "generate", x, grad, N, idx, gld, 0, batch);
    const bw = cpuMs() - c;
    if (i >= 2) (tf.push(f), tb.push(bw));
  }
  return [median(tf), median(tb)];
}

const mods = [a, b].map((f) => {
  const bytes = readFileSync(f);
  // relaxed-SIMD builds need the engine's support (Node 20: a V8 flag, set by relaxedSimdAvailable)
  if (!relaxedSimdAvailable(bytes)) throw new Error(`${f} does not compile here`);
  return new WebAssembly.Module(bytes);
});
// the fastest round of each (other work on a shared machine only ever adds time)
const best = [Array<number>(4).fill(Infinity), Array<number>(4).fill(Infinity)];
for (let r = 0; r < rounds; r++) {
  const line: string[] = [];
  for (const [k, m] of mods.entries()) {
    await initWasmKernel(m);
    const t = [...time(true, 9), ...time(false, 9)];
    t.forEach((v, i) => (best[k][i] = Math.min(best[k][i], v)));
    line.push(`${"AB"[k]}: f32 ${t[0].toFixed(1)}/${t[1].toFixed(1)} f64 ${t[2].toFixed(1)}/${t[3].toFixed(1)}`);
  }
  console.log(`round ${r + 1}: ${line.join("   ")}`);
}
const fmt = (t: number[]) => `f32 ${t[0].toFixed(1)}/${t[1].toFixed(1)} f64 ${t[2].toFixed(1)}/${t[3].toFixed(1)}`;
console.log(`best:    A: ${fmt(best[0])}   B: ${fmt(best[1])}   (forward/backward CPU ms per call)`);
