/// <reference types="@webgpu/types" />
/**
 * gpu-check.html: the WebGPU kernel against the CPU kernels, in the browser (run by
 * web/e2e/webgpu.ts, or open the page by hand). For several flows, with random parameters
 * (non-zero scales and t layers) and prior samples, it computes the PDD loss per sample and the
 * parameter gradient (symmetrised and plain) three ways:
 *   - WebGPU (float32 kernels, src/gpu/objective.ts),
 *   - the WebAssembly SIMD kernel in float32 (the same path as `neuralrg train --dtype float32`),
 *   - the plain JS kernel in float64 (the reference),
 * and reports the largest deviations, normwise for the gradient: ‖g − g_ref‖∞ / ‖g_ref‖∞.
 * Result: `window.__gpuCheck` and a table on the page.
 */
import { alloc, type Real } from "../../src/engine/real.ts";
import { Rng } from "../../src/engine/rng.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { initParams, viewParams } from "../../src/flow/params.ts";
import { loadWasmKernel } from "../../src/kernels/wasm.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { GpuObjective, probeWebGpu } from "../../src/gpu/objective.ts";

export interface CheckRow {
  config: string;
  symmetrize: boolean;
  batch: number;
  /** max |loss_i − ref_i| / max |ref_i| over samples */
  lossGpu: number;
  lossWasm32: number;
  /** ‖g − g_ref‖∞ / ‖g_ref‖∞ */
  gradGpu: number;
  gradWasm32: number;
  /** GPU vs wasm float32 directly */
  gradGpuVsWasm32: number;
  msGpu: number;
  msWasm32: number;
}

function maxRel(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

/**
 * `init`: "torch" (random t output layers: q(x) and q(−x) differ a lot, the q(−x) branch of q_sym
 * carries little weight) or "identity" (t starts at 0, so q(x) ≈ q(−x) and both branches of the
 * symmetrised loss matter); tanh scales random in both.
 */
const CASES: { flow: FlowConfig; batch: number; T: number; init: "torch" | "identity" }[] = [
  { flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4 }, batch: 16, T: 2.269, init: "torch" },
  { flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 64, T: 2.269, init: "torch" },
  { flow: { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 }, batch: 64, T: 2.269, init: "identity" },
  { flow: { L: 16, layout: "mera", depth: 4, nlayers: 4, nmlp: 0, nhidden: 3 }, batch: 37, T: 3.0, init: "torch" },
  { flow: { L: 16, layout: "mera", depth: 2, nlayers: 3, nmlp: 3, nhidden: 6 }, batch: 128, T: 2.0, init: "identity" },
];

async function run(): Promise<{ adapter: string | null; reason?: string; rows: CheckRow[] }> {
  const probe = await probeWebGpu((navigator as Navigator & { gpu?: GPU }).gpu);
  if (!probe.available) return { adapter: null, reason: probe.reason, rows: [] };
  await loadWasmKernel(async (url) => (await fetch(url)).arrayBuffer());
  const rows: CheckRow[] = [];
  for (const c of CASES) {
    const rng = Rng.fromSeed(11);
    const p64 = initParams(c.flow, "float64", () => rng.uniform(), c.init).data as Float64Array;
    // non-zero tanh scales so that every part of the coupling is exercised
    const N = c.flow.L * c.flow.L;
    const view = viewParams(c.flow, p64);
    for (const layer of view.layers)
      for (const cp of layer) for (let i = 0; i < 2; i++) cp.sScale[i] = (2 * rng.uniform() - 1) * 0.5;
    const p32 = Float32Array.from(p64);
    const pRef = Float64Array.from(p32); // the reference sees the float32-rounded inputs
    const z32 = alloc("float32", c.batch * N) as Float32Array;
    rng.fillNormal(z32);
    const zRef = Float64Array.from(z32);
    const target = relaxedIsing({ L: c.flow.L, T: c.T });
    for (const symmetrize of [true, false]) {
      const ref = pddLossAndGrad(createFlow(c.flow, "js"), pRef, target, zRef, c.batch, { symmetrize });
      let t0 = performance.now();
      const w = pddLossAndGrad(createFlow(c.flow, "wasm"), p32, target, z32 as Real, c.batch, { symmetrize });
      const msWasm32 = performance.now() - t0;
      const gpu = await GpuObjective.create(probe.device, createFlow(c.flow, "js"), target, { symmetrize }, c.batch);
      await gpu.lossAndGrad(p32, z32, c.batch, N); // warm-up (pipeline compilation)
      t0 = performance.now();
      const g = await gpu.lossAndGrad(p32, z32, c.batch, N);
      const msGpu = performance.now() - t0;
      gpu.destroy();
      rows.push({
        config: `L=${c.flow.L} depth=${c.flow.depth} nlayers=${c.flow.nlayers} nmlp=${c.flow.nmlp} nhidden=${c.flow.nhidden} init=${c.init}`,
        symmetrize,
        batch: c.batch,
        lossGpu: maxRel(g.perSample, ref.perSample),
        lossWasm32: maxRel(w.perSample, ref.perSample),
        gradGpu: maxRel(g.grad, ref.grad),
        gradWasm32: maxRel(w.grad, ref.grad),
        gradGpuVsWasm32: maxRel(g.grad, w.grad),
        msGpu,
        msWasm32,
      });
    }
  }
  return { adapter: probe.adapter, rows };
}

const out = document.getElementById("out") as HTMLElement;
run().then(
  (r) => {
    (window as unknown as { __gpuCheck: unknown }).__gpuCheck = r;
    out.textContent =
      r.adapter === null
        ? `WebGPU unavailable: ${r.reason}`
        : `adapter: ${r.adapter}\n` + r.rows.map((x) => JSON.stringify(x)).join("\n");
  },
  (err: unknown) => {
    (window as unknown as { __gpuCheck: unknown }).__gpuCheck = { error: String(err) };
    out.textContent = `error: ${String(err)}`;
  },
);
