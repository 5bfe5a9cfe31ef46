// @ts-nocheck — AssemblyScript source, compiled in memory by bench/profile.ts (not by tsc).
/**
 * The machine's WebAssembly SIMD arithmetic peak: 12 independent chains a ← a·m + c (one mul
 * and one add per vector, 12 chains so that throughput, not latency, limits) in float32
 * (f32x4: 8 flops per step of a chain) and float64 (f64x2: 4 flops). Compiled with relaxed SIMD
 * (as the kernel where the engine has it) each step is one fused multiply-add; without, a mul
 * and an add: the peak for the kernel's mix in either build.
 */
@inline function fma32(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}
@inline function fma64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}
export function peak32(n: i32, m: f32, c: f32): f32 {
  const vm = f32x4.splat(m);
  const vc = f32x4.splat(c);
  let a0 = f32x4.splat(1.0);
  let a1 = f32x4.splat(1.1);
  let a2 = f32x4.splat(1.2);
  let a3 = f32x4.splat(1.3);
  let a4 = f32x4.splat(1.4);
  let a5 = f32x4.splat(1.5);
  let a6 = f32x4.splat(1.6);
  let a7 = f32x4.splat(1.7);
  let a8 = f32x4.splat(1.8);
  let a9 = f32x4.splat(1.9);
  let a10 = f32x4.splat(2.0);
  let a11 = f32x4.splat(2.1);
  for (let i = 0; i < n; i++) {
    a0 = fma32(a0, vm, vc);
    a1 = fma32(a1, vm, vc);
    a2 = fma32(a2, vm, vc);
    a3 = fma32(a3, vm, vc);
    a4 = fma32(a4, vm, vc);
    a5 = fma32(a5, vm, vc);
    a6 = fma32(a6, vm, vc);
    a7 = fma32(a7, vm, vc);
    a8 = fma32(a8, vm, vc);
    a9 = fma32(a9, vm, vc);
    a10 = fma32(a10, vm, vc);
    a11 = fma32(a11, vm, vc);
  }
  let s = a0;
  s = f32x4.add(s, a1);
  s = f32x4.add(s, a2);
  s = f32x4.add(s, a3);
  s = f32x4.add(s, a4);
  s = f32x4.add(s, a5);
  s = f32x4.add(s, a6);
  s = f32x4.add(s, a7);
  s = f32x4.add(s, a8);
  s = f32x4.add(s, a9);
  s = f32x4.add(s, a10);
  s = f32x4.add(s, a11);
  return f32x4.extract_lane(s, 0);
}

export function peak64(n: i32, m: f64, c: f64): f64 {
  const vm = f64x2.splat(m);
  const vc = f64x2.splat(c);
  let a0 = f64x2.splat(1.0);
  let a1 = f64x2.splat(1.1);
  let a2 = f64x2.splat(1.2);
  let a3 = f64x2.splat(1.3);
  let a4 = f64x2.splat(1.4);
  let a5 = f64x2.splat(1.5);
  let a6 = f64x2.splat(1.6);
  let a7 = f64x2.splat(1.7);
  let a8 = f64x2.splat(1.8);
  let a9 = f64x2.splat(1.9);
  let a10 = f64x2.splat(2.0);
  let a11 = f64x2.splat(2.1);
  for (let i = 0; i < n; i++) {
    a0 = fma64(a0, vm, vc);
    a1 = fma64(a1, vm, vc);
    a2 = fma64(a2, vm, vc);
    a3 = fma64(a3, vm, vc);
    a4 = fma64(a4, vm, vc);
    a5 = fma64(a5, vm, vc);
    a6 = fma64(a6, vm, vc);
    a7 = fma64(a7, vm, vc);
    a8 = fma64(a8, vm, vc);
    a9 = fma64(a9, vm, vc);
    a10 = fma64(a10, vm, vc);
    a11 = fma64(a11, vm, vc);
  }
  let s = a0;
  s = f64x2.add(s, a1);
  s = f64x2.add(s, a2);
  s = f64x2.add(s, a3);
  s = f64x2.add(s, a4);
  s = f64x2.add(s, a5);
  s = f64x2.add(s, a6);
  s = f64x2.add(s, a7);
  s = f64x2.add(s, a8);
  s = f64x2.add(s, a9);
  s = f64x2.add(s, a10);
  s = f64x2.add(s, a11);
  return f64x2.extract_lane(s, 0);
}
