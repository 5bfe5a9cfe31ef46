/**
 * The wasm kernel's own exp, expm1 (inside the ELU) and tanh, elementwise against Math.exp,
 * Math.expm1 and Math.tanh (float64, correctly rounded to ≲ 1 ulp), in both builds (plain SIMD
 * and relaxed SIMD with fused multiply-adds) and both precisions. Errors are relative to the
 * exact value, over a dense grid plus the edges of the range reduction (multiples of ln 2 / 2).
 * Float32: ≤ 1.5 float32 ulp (2^-23 ≈ 1.2e-7 relative each), float64 ≤ 3 ulp (2^-52 each); measured
 * worst cases: ELU 0.66 / 1.66, exp 0.67 / 1.41, tanh 1.23 / 2.61 ulp (both builds).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { relaxedSimdAvailable, WASM_RELAXED_URL, WASM_URL } from "../../src/kernels/wasm.ts";

interface Elementwise {
  memory: WebAssembly.Memory;
  heapBase(): number;
  eluInPlace32(p: number, n: number): void;
  eluInPlace64(p: number, n: number): void;
  expInPlace32(p: number, n: number): void;
  expInPlace64(p: number, n: number): void;
  tanhInPlace32(p: number, n: number): void;
  tanhInPlace64(p: number, n: number): void;
}

function load(url: URL): Elementwise {
  const bytes = readFileSync(url);
  if (url === WASM_RELAXED_URL) expect(relaxedSimdAvailable(bytes)).toBe(true);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Elementwise;
}

/** Apply fn in place to xs (rounded to the precision first); returns the results and the rounded inputs. */
function apply(ex: Elementwise, f32: boolean, name: "elu" | "exp" | "tanh", xs: number[]) {
  const n = Math.ceil(xs.length / 4) * 4;
  const p = (ex.heapBase() + 15) & ~15;
  const need = p + n * 8;
  if (ex.memory.buffer.byteLength < need) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
  const T = f32 ? Float32Array : Float64Array;
  const arr = new T(ex.memory.buffer, p, n);
  arr.fill(0);
  arr.set(xs);
  const inputs = Array.from(arr.subarray(0, xs.length));
  const fn = { elu: ex.eluInPlace32, exp: ex.expInPlace32, tanh: ex.tanhInPlace32 }[name];
  const fn64 = { elu: ex.eluInPlace64, exp: ex.expInPlace64, tanh: ex.tanhInPlace64 }[name];
  (f32 ? fn : fn64)(p, n);
  return { inputs, out: Array.from(new T(ex.memory.buffer, p, n).subarray(0, xs.length)) };
}

const grid = (a: number, b: number, n: number) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
// edges of the range reduction (x = (k + ½)·ln 2 and its neighbours), tiny and huge arguments
const edges = grid(-40, 10, 200).flatMap((k) => {
  const x = (Math.round(k) + 0.5) * Math.LN2;
  return [x * (1 - 1e-7), x, x * (1 + 1e-7)];
});
const tiny = [1e-30, 1e-10, 1e-7, 3e-5, 1e-3].flatMap((v) => [v, -v]);

describe.each([
  ["simd", WASM_URL],
  ["relaxed-simd", WASM_RELAXED_URL],
] as const)("%s build: exp, ELU and tanh", (_name, url) => {
  const ex = load(url);
  const cases = [
    [
      "elu",
      [...grid(-30, 5, 20000), ...edges.filter((x) => x > -30 && x < 5), ...tiny, 0],
      (x: number) => (x > 0 ? x : Math.expm1(x)),
    ],
    ["exp", [...grid(-80, 80, 20000), ...edges, ...tiny, 0], Math.exp],
    ["tanh", [...grid(-20, 20, 20000), ...tiny, 0], Math.tanh],
  ] as const;
  it.each(cases)("%s", (name, xs, exact) => {
    for (const f32 of [true, false]) {
      const { inputs, out } = apply(ex, f32, name, [...xs]);
      const ulp = f32 ? 2 ** -23 : 2 ** -52;
      let worst = 0;
      let at = 0;
      inputs.forEach((x, i) => {
        const e = exact(x);
        const err = Math.abs(out[i] - e) / Math.max(Math.abs(e), f32 ? 1e-37 : 1e-300);
        if (err > worst) ((worst = err), (at = x));
      });
      expect(worst / ulp, `${name} ${f32 ? "f32" : "f64"} worst at x = ${at}`).toBeLessThanOrEqual(f32 ? 1.5 : 3);
    }
  });
});
