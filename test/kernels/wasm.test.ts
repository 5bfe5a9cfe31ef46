/**
 * The WebAssembly SIMD kernel against the JS kernel (block.ts), which is the specification:
 * float64 forward (output, log-det) to ≤ 1e-12 and backward (input adjoint, parameter
 * gradient) to ≤ 1e-10 relative, elementwise: max_i |a_i − b_i| / max(|b_i|, 1e-3 · max_j |b_j|)
 * (the floor at a thousandth of the array's largest entry covers entries that are sums of
 * cancelling terms, much smaller than their terms).
 * float32 within 1e-5 of the float64 JS kernel run on the same float32-rounded inputs, normwise:
 * max_i |a_i − b_i| / max_j |b_j|. Elementwise, float32 cannot do better than the problem's
 * conditioning allows: perturbing the inputs and parameters by one float32 ulp already moves
 * individual outputs of a 10-coupling layer by ~1e-5 relative.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import type { Real } from "../../src/engine/real.ts";
import type { Activation } from "../../src/kernels/activation.ts";
import type { BlockIndex, Direction, LayerSpec } from "../../src/kernels/block.ts";
import { layerBackward, layerForward } from "../../src/kernels/block.ts";
import {
  getKernel,
  initWasmKernel,
  jsKernel,
  requestedWasmVariant,
  WASM_RELAXED_URL,
  WASM_URL,
  wasmKernel,
  relaxedSimdAvailable,
  wasmLayerBackward,
  wasmLayerForward,
  wasmMemoryBytes,
} from "../../src/kernels/wasm.ts";

interface Case {
  nlayers: number;
  nmlp: number;
  nhidden: number;
  batch: number;
  seed: number;
  activation?: Activation;
}

function netSizeOf(nh: number, H: number): number {
  if (nh === 0) return 2 * 2 + 2;
  return 2 * H + H + (nh - 1) * (H * H + H) + H * 2 + 2;
}

/** A random problem: a layer at a non-zero offset of P, blocks on a random subset of N sites. */
function problem(c: Case) {
  const rng = Rng.fromSeed(c.seed);
  const N = 20;
  const nblocks = 4; // 16 of the 20 sites: the other 4 must pass through untouched
  const perm = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const idx: BlockIndex = { blocks: Int32Array.from(perm.slice(0, 4 * nblocks)), nblocks };
  const ns = netSizeOf(c.nmlp, c.nhidden);
  const cs = 2 * ns + 2;
  const base = 7;
  const spec: LayerSpec = { nlayers: c.nlayers, nh: c.nmlp, H: c.nhidden, netSize: ns, base, activation: c.activation };
  const P = new Float64Array(base + c.nlayers * cs + 5);
  // weights U(−b, b) with b = 1.5/√fan_in (torch's init, widened so that the couplings are far
  // from the identity and the ELUs see both signs); tanh scales in ±0.8
  const dims = [2, ...Array.from({ length: c.nmlp }, () => c.nhidden), 2];
  for (let i = 0; i < P.length; i++) P[i] = (2 * rng.uniform() - 1) * 0.5; // padding around the layer
  for (let q = 0; q < c.nlayers; q++) {
    let o = base + q * cs;
    for (let net = 0; net < 2; net++) {
      for (let k = 0; k + 1 < dims.length; k++) {
        const bound = 1.5 / Math.sqrt(dims[k]);
        for (let i = 0; i < dims[k] * dims[k + 1] + dims[k + 1]; i++) P[o++] = (2 * rng.uniform() - 1) * bound;
      }
    }
    for (let k = 0; k < 2; k++) P[o++] = (2 * rng.uniform() - 1) * 0.8;
  }
  const x = new Float64Array(c.batch * N);
  rng.fillNormal(x);
  const gOut = new Float64Array(c.batch * N);
  rng.fillNormal(gOut);
  const gLd = new Float64Array(c.batch);
  rng.fillNormal(gLd);
  return { spec, P, idx, N, x, gOut, gLd };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let e = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d === 0) continue;
    e = Math.max(e, d / Math.max(Math.abs(b[i]), 1e-3 * scale));
  }
  return e;
}

function normErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d === 0 ? 0 : d / scale;
}

type Fwd = typeof layerForward;
type Bwd = typeof layerBackward;

function runPair(fwd: Fwd, bwd: Bwd, c: Case, dir: Direction, f32: boolean, b0: number, b1: number) {
  const { spec, P, idx, N, x, gOut, gLd } = problem(c);
  const cast = (a: Float64Array): Real => (f32 ? Float32Array.from(a) : a.slice());
  const Pk = cast(P);
  const state = cast(x);
  const logdet = new Float64Array(c.batch).fill(0.25);
  fwd(spec, Pk, dir, state, N, idx, logdet, b0, b1);
  const grad = cast(gOut);
  const G = new Float64Array(P.length).fill(0.5);
  bwd(spec, Pk, G, dir, cast(x), grad, N, idx, gLd, b0, b1);
  return { state: Float64Array.from(state), logdet, grad: Float64Array.from(grad), G };
}

/** Inputs rounded to float32, evaluated by the JS kernel in float64 (the float32 kernel's target). */
function runRef32(c: Case, dir: Direction, b0: number, b1: number) {
  const { spec, P, idx, N, x, gOut, gLd } = problem(c);
  const r = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  const state = r(x);
  const logdet = new Float64Array(c.batch).fill(0.25);
  layerForward(spec, r(P), dir, state, N, idx, logdet, b0, b1);
  const grad = r(gOut);
  const G = new Float64Array(P.length).fill(0.5);
  layerBackward(spec, r(P), G, dir, r(x), grad, N, idx, gLd, b0, b1);
  return { state, logdet, grad, G };
}

const cases: Case[] = [];
{
  const rng = Rng.fromSeed(2024);
  const fixed: Omit<Case, "seed">[] = [
    { nlayers: 10, nmlp: 3, nhidden: 10, batch: 13 },
    { nlayers: 1, nmlp: 0, nhidden: 1, batch: 1 },
    { nlayers: 2, nmlp: 0, nhidden: 4, batch: 6 },
    { nlayers: 3, nmlp: 1, nhidden: 1, batch: 5 },
    { nlayers: 4, nmlp: 2, nhidden: 5, batch: 7 },
    { nlayers: 5, nmlp: 4, nhidden: 3, batch: 9 },
  ];
  fixed.forEach((f, i) => cases.push({ ...f, seed: 100 + i }));
  for (let i = 0; i < 6; i++) {
    cases.push({
      nlayers: 1 + rng.int(6),
      nmlp: rng.int(4),
      nhidden: 1 + rng.int(12),
      batch: 1 + rng.int(11),
      seed: 200 + i,
    });
  } // the "rational" activation (kernels/activation.ts)
  const rational: Omit<Case, "seed">[] = [
    { nlayers: 10, nmlp: 3, nhidden: 10, batch: 13 },
    { nlayers: 3, nmlp: 1, nhidden: 1, batch: 5 },
    { nlayers: 4, nmlp: 2, nhidden: 5, batch: 7 },
    { nlayers: 2, nmlp: 1, nhidden: 16, batch: 9 },
  ];
  rational.forEach((f, i) => cases.push({ ...f, seed: 300 + i, activation: "rational" }));
}

const report: string[] = [];

// both builds (block.wasm, block-relaxed.wasm with fused multiply-adds); the default build
// (relaxed where available) is loaded last and serves the tests below
const BUILDS = [
  ["simd", WASM_URL],
  ["relaxed-simd", WASM_RELAXED_URL],
] as const;

describe.each(BUILDS)("%s build", (variant, url) => {
  beforeAll(async () => {
    const bytes = readFileSync(url);
    if (variant === "relaxed-simd") expect(relaxedSimdAvailable(bytes)).toBe(true); // sets the V8 flag (Node 20)
    await initWasmKernel(bytes, variant);
  });

  describe.each(cases)("wasm kernel %o", (c) => {
    it.each(["generate", "infer"] as const)("float64 %s equals the JS kernel", (dir) => {
      // the whole batch, and a sub-range of rows
      const ranges: [number, number][] = [[0, c.batch]];
      if (c.batch > 2) ranges.push([1, c.batch - 1]);
      for (const [b0, b1] of ranges) {
        const js = runPair(layerForward, layerBackward, c, dir, false, b0, b1);
        const wa = runPair(wasmLayerForward, wasmLayerBackward, c, dir, false, b0, b1);
        const e = {
          out: relErr(wa.state, js.state),
          logdet: relErr(wa.logdet, js.logdet),
          gin: relErr(wa.grad, js.grad),
          gparam: relErr(wa.G, js.G),
        };
        report.push(`f64 ${dir} ${JSON.stringify(c)} [${b0},${b1}) ${JSON.stringify(e)}`);
        expect(e.out).toBeLessThanOrEqual(1e-12);
        expect(e.logdet).toBeLessThanOrEqual(1e-12);
        expect(e.gin).toBeLessThanOrEqual(1e-10);
        expect(e.gparam).toBeLessThanOrEqual(1e-10);
        // rows outside [b0, b1) and sites outside the blocks are untouched
        const { x, gOut } = problem(c);
        for (let i = 0; i < x.length; i++) {
          const b = Math.floor(i / 20);
          if (b < b0 || b >= b1) {
            expect(wa.state[i]).toBe(x[i]);
            expect(wa.grad[i]).toBe(gOut[i]);
          }
        }
        for (let b = 0; b < c.batch; b++) if (b < b0 || b >= b1) expect(wa.logdet[b]).toBe(0.25);
      }
    });

    it.each(["generate", "infer"] as const)(
      "%s backward without parameter gradient (G = null) gives the same input adjoint, bit for bit",
      (dir) => {
        for (const f32 of [false, true]) {
          const full = runPair(wasmLayerForward, wasmLayerBackward, c, dir, f32, 0, c.batch);
          const { spec, P, idx, N, x, gOut, gLd } = problem(c);
          const cast = (a: Float64Array): Real => (f32 ? Float32Array.from(a) : a.slice());
          const grad = cast(gOut);
          wasmLayerBackward(spec, cast(P), null, dir, cast(x), grad, N, idx, gLd, 0, c.batch);
          expect(Float64Array.from(grad)).toEqual(full.grad);
          // the JS kernel accepts null as well
          const gradJs = cast(gOut);
          layerBackward(spec, cast(P), null, dir, cast(x), gradJs, N, idx, gLd, 0, c.batch);
          expect(normErr(Float64Array.from(gradJs), full.grad)).toBeLessThanOrEqual(f32 ? 1e-5 : 1e-10);
        }
      },
    );

    it.each(["generate", "infer"] as const)("float32 %s is within 1e-5 of the float64 JS kernel", (dir) => {
      const ref = runRef32(c, dir, 0, c.batch);
      const wa = runPair(wasmLayerForward, wasmLayerBackward, c, dir, true, 0, c.batch);
      const e = {
        out: normErr(wa.state, ref.state),
        logdet: normErr(wa.logdet, ref.logdet),
        gin: normErr(wa.grad, ref.grad),
        gparam: normErr(wa.G, ref.G),
      };
      report.push(`f32 ${dir} ${JSON.stringify(c)} ${JSON.stringify(e)}`);
      expect(e.out).toBeLessThanOrEqual(1e-5);
      expect(e.logdet).toBeLessThanOrEqual(1e-5);
      expect(e.gin).toBeLessThanOrEqual(1e-5);
      expect(e.gparam).toBeLessThanOrEqual(1e-5);
    });
  });
});

describe("the activation option reaches both kernels", () => {
  it.each([false, true])("ELU and rational layers differ, in each kernel the same way (float32 = %s)", (f32) => {
    const c: Case = { nlayers: 3, nmlp: 2, nhidden: 6, batch: 8, seed: 77 };
    const elu = [runPair(layerForward, layerBackward, c, "generate", f32, 0, 8)];
    const rat = [runPair(layerForward, layerBackward, { ...c, activation: "rational" }, "generate", f32, 0, 8)];
    elu.push(runPair(wasmLayerForward, wasmLayerBackward, c, "generate", f32, 0, 8));
    rat.push(runPair(wasmLayerForward, wasmLayerBackward, { ...c, activation: "rational" }, "generate", f32, 0, 8));
    for (let k = 0; k < 2; k++) {
      expect(normErr(rat[k].state, elu[k].state)).toBeGreaterThan(1e-3);
      expect(normErr(rat[k].G, elu[k].G)).toBeGreaterThan(1e-3);
    }
    // every call picks its export (one per activation): ELU after rational is ELU again
    const again = runPair(wasmLayerForward, wasmLayerBackward, c, "generate", f32, 0, 8);
    expect(normErr(again.state, elu[1].state)).toBe(0);
    expect(normErr(again.G, elu[1].G)).toBe(0);
  });
});

describe("wasm kernel housekeeping", () => {
  it("reads NEURALRG_WASM_SIMD", () => {
    expect(requestedWasmVariant({})).toBe("auto");
    expect(requestedWasmVariant({ NEURALRG_WASM_SIMD: "plain" })).toBe("simd");
    expect(requestedWasmVariant({ NEURALRG_WASM_SIMD: "relaxed" })).toBe("relaxed-simd");
    expect(() => requestedWasmVariant({ NEURALRG_WASM_SIMD: "avx" })).toThrow(
      /"avx" is invalid: expected auto, relaxed or plain/,
    );
  });

  it("getKernel selects the implementations", () => {
    expect(getKernel("js")).toBe(jsKernel);
    expect(getKernel("wasm")).toBe(wasmKernel);
    expect(wasmKernel.layerForward).toBe(wasmLayerForward);
    expect(jsKernel.layerBackward).toBe(layerBackward);
    expect(() => getKernel("gpu" as "js")).toThrow(RangeError);
  });

  it("memory does not grow over 1000 calls of the same size", () => {
    const c: Case = { nlayers: 2, nmlp: 1, nhidden: 4, batch: 9, seed: 5 };
    const { spec, P, idx, N, x, gOut, gLd } = problem(c);
    const G = new Float64Array(P.length);
    const logdet = new Float64Array(c.batch);
    const once = () => {
      const s = x.slice();
      wasmLayerForward(spec, P, "generate", s, N, idx, logdet, 0, c.batch);
      wasmLayerBackward(spec, P, G, "infer", x, gOut.slice(), N, idx, gLd, 0, c.batch);
    };
    once();
    const bytes = wasmMemoryBytes();
    for (let i = 0; i < 1000; i++) once();
    expect(wasmMemoryBytes()).toBe(bytes);
  });

  it("saturating activations (huge pre-activations, tanh at ±1) match the JS kernel", () => {
    const c: Case = { nlayers: 3, nmlp: 2, nhidden: 6, batch: 7, seed: 9 };
    const { spec, P, idx, N, x, gOut, gLd } = problem(c);
    const big = P.map((v) => v * 40);
    for (let q = 0; q < c.nlayers; q++) {
      const o = spec.base + q * (2 * spec.netSize + 2) + 2 * spec.netSize;
      big[o] = 0.7;
      big[o + 1] = -0.6;
    }
    const xs = x.map((v) => v * 30);
    for (const dir of ["generate", "infer"] as const) {
      const run = (fwd: Fwd, bwd: Bwd, f32: boolean) => {
        const cast = (a: Float64Array): Real => (f32 ? Float32Array.from(a) : a.slice());
        const state = cast(xs);
        const logdet = new Float64Array(c.batch);
        fwd(spec, cast(big), dir, state, N, idx, logdet, 0, c.batch);
        const grad = cast(gOut);
        const G = new Float64Array(big.length);
        bwd(spec, cast(big), G, dir, cast(xs), grad, N, idx, gLd, 0, c.batch);
        return [Float64Array.from(state), logdet, Float64Array.from(grad), G];
      };
      const js = run(layerForward, layerBackward, false);
      const w64 = run(wasmLayerForward, wasmLayerBackward, false);
      const w32 = run(wasmLayerForward, wasmLayerBackward, true);
      for (let k = 0; k < 4; k++) {
        expect(w64[k].every(Number.isFinite)).toBe(true);
        expect(w32[k].every(Number.isFinite)).toBe(true);
        expect(relErr(w64[k], js[k])).toBeLessThanOrEqual(k < 2 ? 1e-12 : 1e-10);
      }
    }
  });

  it("rejects block sites outside the row", () => {
    const c: Case = { nlayers: 1, nmlp: 1, nhidden: 2, batch: 2, seed: 6 };
    const { spec, P, N, x } = problem(c);
    const bad: BlockIndex = { blocks: Int32Array.from([0, 1, 2, N]), nblocks: 1 };
    expect(() => wasmLayerForward(spec, P, "generate", x.slice(), N, bad, new Float64Array(2), 0, 2)).toThrow(
      RangeError,
    );
  });

  it("reports the errors reached", () => {
    if (process.env.WASM_KERNEL_REPORT) console.log(report.join("\n"));
    expect(report.length).toBeGreaterThan(0);
  });
});
