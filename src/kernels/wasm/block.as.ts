// @ts-nocheck — AssemblyScript source (compiled by `npm run build:wasm`, not by tsc).
/**
 * WebAssembly SIMD port of kernels/block.ts + kernels/mlp.ts: one layer of 2×2 Real NVP block
 * bijectors over a batch, forward and hand-derived backward, in float32 (f32x4: 4 rows per
 * v128) and float64 (f64x2: 2 rows per v128). The JS kernel is the specification; every
 * floating-point expression below keeps its order of operations, so the float64 results
 * differ from it only through exp / expm1 / tanh (accurate to about an ulp here).
 *
 * A "row" of the kernel is one block of one configuration. Rows are processed in groups of
 * LANES configurations sharing the same block k: the 4 block components of the group are
 * gathered into 4 vectors (structure of arrays), pushed through the nlayers couplings with
 * splatted weights, and scattered back. The last group of a block may be partial: its unused
 * lanes repeat the last valid configuration, are never stored, and carry zero adjoints in the
 * backward pass (so they add nothing to the parameter gradient).
 *
 * Memory (all regions provided by the caller, 16-byte aligned):
 *   P     this layer's parameters (nlayers couplings, flow/params.ts layout), element type T
 *   X     the batch rows (nb × N, element type T): the state (forward, in place) or the
 *         layer input (backward)
 *   GR    backward only: adjoint rows (nb × N, T), in place: output adjoint → input adjoint
 *   BLK   4 × nblocks int32 site indices
 *   LD    nb float64: forward adds each row's log-determinant (caller zeroes it);
 *         backward reads the log-determinant adjoints
 *   GP    backward only: float64 parameter gradient of this layer (overwritten)
 *   ACC   backward only: one v128 per parameter (per-lane partial sums)
 *   S     scratch, scratchBytes(nlayers, nh, H) bytes
 * Directions: dir 0 = generate (z → x), 1 = infer (x → z).
 */

// ---------------------------------------------------------------------------------------
// generic helpers over the lane type T (f32 or f64); the dead branch is removed at compile time

@inline function isF32<T>(): bool { return sizeof<T>() == 4; }
@inline function lanes<T>(): i32 { return <i32>(16 / sizeof<T>()); }
@inline function splat<T>(x: f64): v128 { return v128.splat<T>(<T>x); }
@inline function ldw<T>(p: usize): v128 { return v128.load_splat<T>(p); }
@inline function vadd<T>(a: v128, b: v128): v128 { return v128.add<T>(a, b); }
@inline function vsub<T>(a: v128, b: v128): v128 { return v128.sub<T>(a, b); }
@inline function vmul<T>(a: v128, b: v128): v128 { return v128.mul<T>(a, b); }
@inline function vld(p: usize): v128 { return v128.load(p); }
@inline function vst(p: usize, v: v128): void { v128.store(p, v); }
@inline function accAdd<T>(p: usize, v: v128): void { v128.store(p, v128.add<T>(v128.load(p), v)); }

/**
 * e^x − 1 (or e^x if `plusOne`) for every lane, accurate near 0. x = n·ln2 + r with
 * |r| ≤ ln2/2: n is rounded by adding 1.5·2^(mantissa bits) (whose low bits then hold n, from
 * which 2^n is built by shifting into the exponent field); q = expm1(r) by polynomial, then
 * expm1(x) = 2^n·q + (2^n − 1) (exact for n = 0), e^x = 2^n·q + 2^n.
 * Arguments are clamped to [lo, hi] (hi is only applied if `upper`).
 */
@inline function vexpCore<T>(x: v128, plusOne: bool, upper: bool): v128 {
  if (isF32<T>()) {
    x = f32x4.pmax(x, f32x4.splat(-87.0));
    if (upper) x = f32x4.pmin(x, f32x4.splat(88.0));
    const magic = f32x4.splat(12582912.0); // 1.5·2^23
    const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
    const n = f32x4.sub(t, magic);
    let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
    r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
    // e^r − 1 = 2·O/(E − O), (E + O)/(E − O) the [3/3] Padé approximant of e^r split into even
    // and odd parts (truncation < 2e-8 relative for |r| ≤ ln2/2)
    const r2 = f32x4.mul(r, r);
    const e = f32x4.add(f32x4.mul(r2, f32x4.splat(0.1)), f32x4.splat(1.0));
    const o = f32x4.mul(f32x4.add(f32x4.mul(r2, f32x4.splat(8.3333333333333332e-3)), f32x4.splat(0.5)), r);
    const q = f32x4.div(f32x4.add(o, o), f32x4.sub(e, o));
    const two = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
    if (plusOne) return f32x4.add(f32x4.mul(two, q), two);
    return f32x4.add(f32x4.mul(two, q), f32x4.sub(two, f32x4.splat(1.0)));
  } else {
    x = f64x2.pmax(x, f64x2.splat(-708.0));
    if (upper) x = f64x2.pmin(x, f64x2.splat(709.0));
    const magic = f64x2.splat(6755399441055744.0); // 1.5·2^52
    const t = f64x2.add(f64x2.mul(x, f64x2.splat(1.4426950408889634)), magic);
    const n = f64x2.sub(t, magic);
    // fdlibm split of ln 2: n·LN2_HI is exact for |n| < 2^20
    let r = f64x2.sub(x, f64x2.mul(n, f64x2.splat(6.93147180369123816490e-01)));
    r = f64x2.sub(r, f64x2.mul(n, f64x2.splat(1.90821492927058770002e-10)));
    // e^r − 1 = 2·O/(E − O), (E + O)/(E − O) the [6/6] Padé approximant of e^r split into even
    // and odd parts (truncation < 1e-18, rounding ≈ 2 ulp for |r| ≤ ln2/2)
    const r2 = f64x2.mul(r, r);
    let e = f64x2.add(f64x2.mul(r2, f64x2.splat(1.5031265031265031e-6)), f64x2.splat(1.2626262626262627e-3));
    e = f64x2.add(f64x2.mul(e, r2), f64x2.splat(1.1363636363636363e-1));
    e = f64x2.add(f64x2.mul(e, r2), f64x2.splat(1.0));
    let o = f64x2.add(f64x2.mul(r2, f64x2.splat(6.3131313131313131e-5)), f64x2.splat(1.5151515151515152e-2));
    o = f64x2.add(f64x2.mul(o, r2), f64x2.splat(0.5));
    o = f64x2.mul(o, r);
    const q = f64x2.div(f64x2.add(o, o), f64x2.sub(e, o));
    const two = i64x2.shl(i64x2.add(t, i64x2.splat(1023)), 52);
    if (plusOne) return f64x2.add(f64x2.mul(two, q), two);
    return f64x2.add(f64x2.mul(two, q), f64x2.sub(two, f64x2.splat(1.0)));
  }
}

/** e^x (any x). */
@inline function vexp<T>(x: v128): v128 { return vexpCore<T>(x, true, true); }
/** e^x − 1 for x ≤ 0. */
@inline function vexpm1Neg<T>(x: v128): v128 { return vexpCore<T>(x, false, false); }

/** tanh(h) = sign(h)·(−e)/(e + 2), e = expm1(−2|h|) ∈ (−1, 0]: accurate for small and large |h|. */
@inline function vtanh<T>(h: v128): v128 {
  const e = vexpm1Neg<T>(v128.mul<T>(v128.abs<T>(h), splat<T>(-2.0)));
  const t = v128.div<T>(v128.neg<T>(e), v128.add<T>(e, splat<T>(2.0)));
  return v128.or(t, v128.and(h, splat<T>(-0.0)));
}

/** ELU: u > 0 ? u : expm1(u), as max(u, 0) + expm1(min(u, 0)) (expm1(0) = 0 exactly). */
@inline function velu<T>(u: v128): v128 {
  const zero = splat<T>(0.0);
  return v128.add<T>(v128.pmax<T>(u, zero), vexpm1Neg<T>(v128.pmin<T>(u, zero)));
}

/** ELU'(u) from a = ELU(u): a > 0 ? 1 : a + 1, as min(a, 0) + 1. */
@inline function veluGrad<T>(a: v128): v128 {
  return v128.add<T>(v128.pmin<T>(a, splat<T>(0.0)), splat<T>(1.0));
}

// ---------------------------------------------------------------------------------------
// scratch layout (v128 slots), set up at the start of every call

let sV: usize = 0; // 4 × (nlayers + 1): block values before each coupling, then the output
let sTH: usize = 0; // 2 × nlayers: tanh of the raw s outputs
let sEX: usize = 0; // 2 × nlayers: the exp factors e^{±s}
let sAS: usize = 0; // nlayers × nh × H: hidden activations of the s nets
let sAT: usize = 0; // nlayers × nh × H: hidden activations of the t nets
let sGA: usize = 0; // H
let sGB: usize = 0; // H
let sOUT: usize = 0; // 4: s0, s1, t0, t1 raw outputs
let sGIN: usize = 0; // 2: input adjoints of one net
let sGV: usize = 0; // 4: adjoint of the block values

function slots(nl: i32, nh: i32, H: i32): i32 {
  const h = H > 1 ? H : 1;
  return 4 * (nl + 1) + 4 * nl + 2 * nl * nh * H + 2 * h + 4 + 2 + 4;
}

/** Bytes of scratch needed for a layer spec. */
export function scratchBytes(nl: i32, nh: i32, H: i32): i32 {
  return slots(nl, nh, H) << 4;
}

/** First free byte after the module's static data (16-aligned). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

function setupScratch(pS: usize, nl: i32, nh: i32, H: i32): void {
  const h: usize = H > 1 ? <usize>H : 1;
  const nlu = <usize>nl;
  const per = <usize>(nh * H);
  sV = pS;
  sTH = sV + ((4 * (nlu + 1)) << 4);
  sEX = sTH + ((2 * nlu) << 4);
  sAS = sEX + ((2 * nlu) << 4);
  sAT = sAS + ((nlu * per) << 4);
  sGA = sAT + ((nlu * per) << 4);
  sGB = sGA + (h << 4);
  sOUT = sGB + (h << 4);
  sGIN = sOUT + (4 << 4);
  sGV = sGIN + (2 << 4);
}

// ---------------------------------------------------------------------------------------
// one coupling network 2 → H → … → H → 2 (ELU hidden, linear output), LANES rows at once

/**
 * One hidden dense layer H → H with ELU: cur[i] = ELU(b_i + Σ_j W[i][j]·prev[j]) (W at pw,
 * row-major, then b). Output units go in tiles of 4 (then 2, then 1) that share the loads of
 * prev[j] and give the CPU independent dependency chains; each sum keeps the JS order.
 */
@inline function denseElu<T>(pw: usize, Hu: usize, prev: usize, cur: usize): void {
  const sz: usize = sizeof<T>();
  const rowB = Hu * sz;
  const bk = pw + Hu * rowB;
  let i: usize = 0;
  for (; i + 4 <= Hu; i += 4) {
    const w0 = pw + i * rowB;
    const w1 = w0 + rowB;
    const w2 = w1 + rowB;
    const w3 = w2 + rowB;
    let u0 = ldw<T>(bk + i * sz);
    let u1 = ldw<T>(bk + (i + 1) * sz);
    let u2 = ldw<T>(bk + (i + 2) * sz);
    let u3 = ldw<T>(bk + (i + 3) * sz);
    for (let j: usize = 0; j < Hu; j++) {
      const a = vld(prev + (j << 4));
      const o = j * sz;
      u0 = vadd<T>(u0, vmul<T>(ldw<T>(w0 + o), a));
      u1 = vadd<T>(u1, vmul<T>(ldw<T>(w1 + o), a));
      u2 = vadd<T>(u2, vmul<T>(ldw<T>(w2 + o), a));
      u3 = vadd<T>(u3, vmul<T>(ldw<T>(w3 + o), a));
    }
    vst(cur + (i << 4), velu<T>(u0));
    vst(cur + ((i + 1) << 4), velu<T>(u1));
    vst(cur + ((i + 2) << 4), velu<T>(u2));
    vst(cur + ((i + 3) << 4), velu<T>(u3));
  }
  for (; i + 2 <= Hu; i += 2) {
    const w0 = pw + i * rowB;
    const w1 = w0 + rowB;
    let u0 = ldw<T>(bk + i * sz);
    let u1 = ldw<T>(bk + (i + 1) * sz);
    for (let j: usize = 0; j < Hu; j++) {
      const a = vld(prev + (j << 4));
      const o = j * sz;
      u0 = vadd<T>(u0, vmul<T>(ldw<T>(w0 + o), a));
      u1 = vadd<T>(u1, vmul<T>(ldw<T>(w1 + o), a));
    }
    vst(cur + (i << 4), velu<T>(u0));
    vst(cur + ((i + 1) << 4), velu<T>(u1));
  }
  if (i < Hu) {
    const w0 = pw + i * rowB;
    let u0 = ldw<T>(bk + i * sz);
    for (let j: usize = 0; j < Hu; j++) u0 = vadd<T>(u0, vmul<T>(ldw<T>(w0 + j * sz), vld(prev + (j << 4))));
    vst(cur + (i << 4), velu<T>(u0));
  }
}

/**
 * gnext[j] = Σ_i gcur[i]·W[i][j] (W at pw, H × H row-major), columns in tiles of 4 (then 2,
 * then 1); each sum starts at 0 and runs over i ascending, as in the JS kernel.
 */
@inline function denseBackT<T>(pw: usize, Hu: usize, gcur: usize, gnext: usize): void {
  const sz: usize = sizeof<T>();
  const rowB = Hu * sz;
  let j: usize = 0;
  for (; j + 4 <= Hu; j += 4) {
    let s0 = splat<T>(0.0);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    let w = pw + j * sz;
    for (let i: usize = 0; i < Hu; i++) {
      const g = vld(gcur + (i << 4));
      s0 = vadd<T>(s0, vmul<T>(g, ldw<T>(w)));
      s1 = vadd<T>(s1, vmul<T>(g, ldw<T>(w + sz)));
      s2 = vadd<T>(s2, vmul<T>(g, ldw<T>(w + 2 * sz)));
      s3 = vadd<T>(s3, vmul<T>(g, ldw<T>(w + 3 * sz)));
      w += rowB;
    }
    vst(gnext + (j << 4), s0);
    vst(gnext + ((j + 1) << 4), s1);
    vst(gnext + ((j + 2) << 4), s2);
    vst(gnext + ((j + 3) << 4), s3);
  }
  for (; j + 2 <= Hu; j += 2) {
    let s0 = splat<T>(0.0);
    let s1 = s0;
    let w = pw + j * sz;
    for (let i: usize = 0; i < Hu; i++) {
      const g = vld(gcur + (i << 4));
      s0 = vadd<T>(s0, vmul<T>(g, ldw<T>(w)));
      s1 = vadd<T>(s1, vmul<T>(g, ldw<T>(w + sz)));
      w += rowB;
    }
    vst(gnext + (j << 4), s0);
    vst(gnext + ((j + 1) << 4), s1);
  }
  if (j < Hu) {
    let s0 = splat<T>(0.0);
    let w = pw + j * sz;
    for (let i: usize = 0; i < Hu; i++) {
      s0 = vadd<T>(s0, vmul<T>(vld(gcur + (i << 4)), ldw<T>(w)));
      w += rowB;
    }
    vst(gnext + (j << 4), s0);
  }
}

/** Evaluate the net with parameters at w on (x0, x1); activations to act, outputs to out[0..1]. */
@inline function netForward<T>(w: usize, nh: i32, H: i32, x0: v128, x1: v128, act: usize, out: usize): void {
  const sz: usize = sizeof<T>();
  if (nh == 0) {
    vst(out, vadd<T>(vadd<T>(vmul<T>(ldw<T>(w), x0), vmul<T>(ldw<T>(w + sz), x1)), ldw<T>(w + 4 * sz)));
    vst(out + 16, vadd<T>(vadd<T>(vmul<T>(ldw<T>(w + 2 * sz), x0), vmul<T>(ldw<T>(w + 3 * sz), x1)), ldw<T>(w + 5 * sz)));
    return;
  }
  const Hu = <usize>H;
  // first dense layer 2 → H
  const bb = w + 2 * Hu * sz;
  for (let i: usize = 0; i < Hu; i++) {
    const u = vadd<T>(vadd<T>(vmul<T>(ldw<T>(w + 2 * i * sz), x0), vmul<T>(ldw<T>(w + (2 * i + 1) * sz), x1)), ldw<T>(bb + i * sz));
    vst(act + (i << 4), velu<T>(u));
  }
  let p = w + 3 * Hu * sz;
  let prev = act;
  // hidden H → H layers
  for (let k = 1; k < nh; k++) {
    const cur = prev + (Hu << 4);
    denseElu<T>(p, Hu, prev, cur);
    p += (Hu * Hu + Hu) * sz;
    prev = cur;
  }
  // last dense layer H → 2
  let o0 = ldw<T>(p + 2 * Hu * sz);
  let o1 = ldw<T>(p + (2 * Hu + 1) * sz);
  for (let j: usize = 0; j < Hu; j++) {
    const a = vld(prev + (j << 4));
    o0 = vadd<T>(o0, vmul<T>(ldw<T>(p + j * sz), a));
    o1 = vadd<T>(o1, vmul<T>(ldw<T>(p + (Hu + j) * sz), a));
  }
  vst(out, o0);
  vst(out + 16, o1);
}

/**
 * Back-propagate (g0, g1) through the net at w (activations at act, inputs x0, x1):
 * adds the parameter gradient to the per-lane accumulators at a (one v128 per parameter)
 * and writes the input adjoints to sGIN[0..1].
 */
@inline function netBackward<T>(w: usize, a: usize, nh: i32, H: i32, x0: v128, x1: v128, act: usize, g0: v128, g1: v128): void {
  const sz: usize = sizeof<T>();
  if (nh == 0) {
    accAdd<T>(a, vmul<T>(g0, x0));
    accAdd<T>(a + 16, vmul<T>(g0, x1));
    accAdd<T>(a + 32, vmul<T>(g1, x0));
    accAdd<T>(a + 48, vmul<T>(g1, x1));
    accAdd<T>(a + 64, g0);
    accAdd<T>(a + 80, g1);
    vst(sGIN, vadd<T>(vmul<T>(g0, ldw<T>(w)), vmul<T>(g1, ldw<T>(w + 2 * sz))));
    vst(sGIN + 16, vadd<T>(vmul<T>(g0, ldw<T>(w + sz)), vmul<T>(g1, ldw<T>(w + 3 * sz))));
    return;
  }
  const Hu = <usize>H;
  const lastOff: usize = Hu * 3 + <usize>(nh - 1) * (Hu * Hu + Hu);
  const lw = w + lastOff * sz;
  const la = a + (lastOff << 4);
  const lact = act + ((<usize>(nh - 1) * Hu) << 4);
  // last layer H → 2
  for (let j: usize = 0; j < Hu; j++) {
    const av = vld(lact + (j << 4));
    accAdd<T>(la + (j << 4), vmul<T>(g0, av));
    accAdd<T>(la + ((Hu + j) << 4), vmul<T>(g1, av));
    vst(sGA + (j << 4), vadd<T>(vmul<T>(g0, ldw<T>(lw + j * sz)), vmul<T>(g1, ldw<T>(lw + (Hu + j) * sz))));
  }
  accAdd<T>(la + ((2 * Hu) << 4), g0);
  accAdd<T>(la + ((2 * Hu + 1) << 4), g1);
  // hidden layers from the top: gcur holds ∂/∂(post-activation) of layer k
  let gcur = sGA;
  let gnext = sGB;
  for (let k = nh - 1; k >= 1; k--) {
    const off: usize = Hu * 3 + <usize>(k - 1) * (Hu * Hu + Hu);
    const pw = w + off * sz;
    const pa = a + (off << 4);
    const bka = pa + ((Hu * Hu) << 4);
    const cur = act + ((<usize>k * Hu) << 4);
    const prev = cur - (Hu << 4);
    for (let i: usize = 0; i < Hu; i++) {
      const gu = vmul<T>(vld(gcur + (i << 4)), veluGrad<T>(vld(cur + (i << 4))));
      vst(gcur + (i << 4), gu);
      accAdd<T>(bka + (i << 4), gu);
      const rowA = pa + ((i * Hu) << 4);
      for (let j: usize = 0; j < Hu; j++) accAdd<T>(rowA + (j << 4), vmul<T>(gu, vld(prev + (j << 4))));
    }
    denseBackT<T>(pw, Hu, gcur, gnext);
    const t = gcur;
    gcur = gnext;
    gnext = t;
  }
  // first layer 2 → H
  let gx0 = splat<T>(0.0);
  let gx1 = splat<T>(0.0);
  for (let i: usize = 0; i < Hu; i++) {
    const gu = vmul<T>(vld(gcur + (i << 4)), veluGrad<T>(vld(act + (i << 4))));
    accAdd<T>(a + ((2 * i) << 4), vmul<T>(gu, x0));
    accAdd<T>(a + ((2 * i + 1) << 4), vmul<T>(gu, x1));
    accAdd<T>(a + ((2 * Hu + i) << 4), gu);
    gx0 = vadd<T>(gx0, vmul<T>(gu, ldw<T>(w + 2 * i * sz)));
    gx1 = vadd<T>(gx1, vmul<T>(gu, ldw<T>(w + (2 * i + 1) * sz)));
  }
  vst(sGIN, gx0);
  vst(sGIN + 16, gx1);
}

// ---------------------------------------------------------------------------------------
// one block through all couplings (groups A = (v0, v3), B = (v1, v2))

/** Forward from sV[0..3]; records every stage, tanh and exp factor; returns the log-det. */
@inline function blockForward<T>(gen: bool, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize): v128 {
  const sz: usize = sizeof<T>();
  const per = (<usize>(nh * H)) << 4;
  const cs = <usize>(2 * netSize + 2) * sz;
  const ns = <usize>netSize * sz;
  let ld = splat<T>(0.0);
  for (let q = 0; q < nl; q++) {
    const c = gen ? q : nl - 1 - q;
    const odd = (c & 1) != 0;
    const ci0: usize = odd ? 16 : 0;
    const ci1: usize = odd ? 32 : 48;
    const ui0: usize = odd ? 0 : 16;
    const ui1: usize = odd ? 48 : 32;
    const vi = sV + (<usize>q << 6);
    const vo = vi + 64;
    const x0 = vld(vi + ci0);
    const x1 = vld(vi + ci1);
    const po = pP + <usize>c * cs;
    netForward<T>(po, nh, H, x0, x1, sAS + <usize>q * per, sOUT);
    netForward<T>(po + ns, nh, H, x0, x1, sAT + <usize>q * per, sOUT + 32);
    const th0 = vtanh<T>(vld(sOUT));
    const th1 = vtanh<T>(vld(sOUT + 16));
    const tq = sTH + (<usize>q << 5);
    vst(tq, th0);
    vst(tq + 16, th1);
    const s0 = vmul<T>(ldw<T>(po + 2 * ns), th0);
    const s1 = vmul<T>(ldw<T>(po + 2 * ns + sz), th1);
    vst(vo + ci0, x0);
    vst(vo + ci1, x1);
    const eq = sEX + (<usize>q << 5);
    if (gen) {
      const e0 = vexp<T>(s0);
      const e1 = vexp<T>(s1);
      vst(vo + ui0, vadd<T>(vmul<T>(vld(vi + ui0), e0), vld(sOUT + 32)));
      vst(vo + ui1, vadd<T>(vmul<T>(vld(vi + ui1), e1), vld(sOUT + 48)));
      vst(eq, e0);
      vst(eq + 16, e1);
      ld = vadd<T>(ld, vadd<T>(s0, s1));
    } else {
      const e0 = vexp<T>(v128.neg<T>(s0));
      const e1 = vexp<T>(v128.neg<T>(s1));
      vst(vo + ui0, vmul<T>(vsub<T>(vld(vi + ui0), vld(sOUT + 32)), e0));
      vst(vo + ui1, vmul<T>(vsub<T>(vld(vi + ui1), vld(sOUT + 48)), e1));
      vst(eq, e0);
      vst(eq + 16, e1);
      ld = vsub<T>(ld, vadd<T>(s0, s1));
    }
  }
  return ld;
}

/** Backward through the recorded block: sGV holds the output adjoint on entry, the input adjoint on exit. */
@inline function blockBackward<T>(gen: bool, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize, pAcc: usize, gld: v128): void {
  const sz: usize = sizeof<T>();
  const per = (<usize>(nh * H)) << 4;
  const csn = <usize>(2 * netSize + 2);
  const ns = <usize>netSize;
  for (let q = nl - 1; q >= 0; q--) {
    const c = gen ? q : nl - 1 - q;
    const odd = (c & 1) != 0;
    const ci0: usize = odd ? 16 : 0;
    const ci1: usize = odd ? 32 : 48;
    const ui0: usize = odd ? 0 : 16;
    const ui1: usize = odd ? 48 : 32;
    const vi = sV + (<usize>q << 6);
    const vo = vi + 64;
    const po = pP + <usize>c * csn * sz;
    const pa = pAcc + ((<usize>c * csn) << 4);
    const pScale = po + 2 * ns * sz;
    const aScale = pa + ((2 * ns) << 4);
    const x0 = vld(vi + ci0);
    const x1 = vld(vi + ci1);
    const tq = sTH + (<usize>q << 5);
    const th0 = vld(tq);
    const th1 = vld(tq + 16);
    const sc0 = ldw<T>(pScale);
    const sc1 = ldw<T>(pScale + sz);
    const gy0 = vld(sGV + ui0);
    const gy1 = vld(sGV + ui1);
    const eq = sEX + (<usize>q << 5);
    const e0 = vld(eq);
    const e1 = vld(eq + 16);
    const gu0 = vmul<T>(gy0, e0);
    const gu1 = vmul<T>(gy1, e1);
    let gt0: v128, gt1: v128, gs0: v128, gs1: v128;
    if (gen) {
      // y = u e^s + t
      gt0 = gy0;
      gt1 = gy1;
      gs0 = vadd<T>(vmul<T>(vmul<T>(gy0, vld(vi + ui0)), e0), gld);
      gs1 = vadd<T>(vmul<T>(vmul<T>(gy1, vld(vi + ui1)), e1), gld);
    } else {
      // y = (u − t) e^{−s}
      gt0 = v128.neg<T>(gu0);
      gt1 = v128.neg<T>(gu1);
      gs0 = vsub<T>(vmul<T>(v128.neg<T>(gy0), vld(vo + ui0)), gld);
      gs1 = vsub<T>(vmul<T>(v128.neg<T>(gy1), vld(vo + ui1)), gld);
    }
    // s = scale ⊙ tanh(h)
    accAdd<T>(aScale, vmul<T>(gs0, th0));
    accAdd<T>(aScale + 16, vmul<T>(gs1, th1));
    const one = splat<T>(1.0);
    const gh0 = vmul<T>(vmul<T>(gs0, sc0), vsub<T>(one, vmul<T>(th0, th0)));
    const gh1 = vmul<T>(vmul<T>(gs1, sc1), vsub<T>(one, vmul<T>(th1, th1)));
    let gc0 = vld(sGV + ci0);
    let gc1 = vld(sGV + ci1);
    netBackward<T>(po, pa, nh, H, x0, x1, sAS + <usize>q * per, gh0, gh1);
    gc0 = vadd<T>(gc0, vld(sGIN));
    gc1 = vadd<T>(gc1, vld(sGIN + 16));
    netBackward<T>(po + ns * sz, pa + (ns << 4), nh, H, x0, x1, sAT + <usize>q * per, gt0, gt1);
    gc0 = vadd<T>(gc0, vld(sGIN));
    gc1 = vadd<T>(gc1, vld(sGIN + 16));
    vst(sGV + ci0, gc0);
    vst(sGV + ci1, gc1);
    vst(sGV + ui0, gu0);
    vst(sGV + ui1, gu1);
  }
}

// ---------------------------------------------------------------------------------------
// gather / scatter of one group (lane l ↔ address p_l; f64 uses p0, p1 only)

@inline function gather<T>(p0: usize, p1: usize, p2: usize, p3: usize): v128 {
  if (isF32<T>()) {
    let v = v128.load32_zero(p0);
    v = v128.load32_lane(p1, v, 1);
    v = v128.load32_lane(p2, v, 2);
    return v128.load32_lane(p3, v, 3);
  }
  return v128.load64_lane(p1, v128.load64_zero(p0), 1);
}

@inline function scatter<T>(v: v128, cnt: i32, p0: usize, p1: usize, p2: usize, p3: usize): void {
  if (isF32<T>()) {
    v128.store32_lane(p0, v, 0);
    if (cnt > 1) v128.store32_lane(p1, v, 1);
    if (cnt > 2) v128.store32_lane(p2, v, 2);
    if (cnt > 3) v128.store32_lane(p3, v, 3);
  } else {
    v128.store64_lane(p0, v, 0);
    if (cnt > 1) v128.store64_lane(p1, v, 1);
  }
}

/** All-ones in the lanes < cnt. */
@inline function laneMask<T>(cnt: i32): v128 {
  if (isF32<T>()) return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
  return i32x4.lt_s(i32x4(0, 0, 1, 1), i32x4.splat(cnt));
}

/** Lanes of a float64 array at p (lane l from p + 8l), converted to T. */
@inline function loadF64Lanes<T>(p: usize): v128 {
  if (isF32<T>()) return f32x4(<f32>load<f64>(p), <f32>load<f64>(p, 8), <f32>load<f64>(p, 16), <f32>load<f64>(p, 24));
  return v128.load(p);
}

/** Adds the first cnt lanes of v to the float64 array at p. */
@inline function addLanesF64<T>(p: usize, v: v128, cnt: i32): void {
  if (isF32<T>()) {
    store<f64>(p, load<f64>(p) + <f64>f32x4.extract_lane(v, 0));
    if (cnt > 1) store<f64>(p, load<f64>(p, 8) + <f64>f32x4.extract_lane(v, 1), 8);
    if (cnt > 2) store<f64>(p, load<f64>(p, 16) + <f64>f32x4.extract_lane(v, 2), 16);
    if (cnt > 3) store<f64>(p, load<f64>(p, 24) + <f64>f32x4.extract_lane(v, 3), 24);
  } else {
    store<f64>(p, load<f64>(p) + f64x2.extract_lane(v, 0));
    if (cnt > 1) store<f64>(p, load<f64>(p, 8) + f64x2.extract_lane(v, 1), 8);
  }
}

/** Sums the lanes of every accumulator into the float64 gradient and zeroes the accumulators. */
function flush<T>(pAcc: usize, pGP: usize, n: i32): void {
  const zero = splat<T>(0.0);
  for (let i: usize = 0; i < <usize>n; i++) {
    const v = vld(pAcc + (i << 4));
    let s: f64;
    if (isF32<T>()) {
      s = (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
    } else {
      s = f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
    }
    store<f64>(pGP + (i << 3), load<f64>(pGP + (i << 3)) + s);
    vst(pAcc + (i << 4), zero);
  }
}

// float32 lanes are folded into the float64 gradient every FLUSH32 groups (bounded f32 sums)
const FLUSH32: i32 = 32;

// ---------------------------------------------------------------------------------------
// the layer

@inline function forwardImpl<T>(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  setupScratch(pS, nl, nh, H);
  const gen = dir == 0;
  const sz: usize = sizeof<T>();
  const L = lanes<T>();
  const rowB = <usize>N * sz;
  const outV = sV + (<usize>nl << 6);
  for (let k = 0; k < nblocks; k++) {
    const kb = pBlk + (<usize>k << 4);
    const o0 = <usize>load<i32>(kb) * sz;
    const o1 = <usize>load<i32>(kb, 4) * sz;
    const o2 = <usize>load<i32>(kb, 8) * sz;
    const o3 = <usize>load<i32>(kb, 12) * sz;
    for (let b = 0; b < nb; b += L) {
      const cnt = nb - b < L ? nb - b : L;
      const r0 = pX + <usize>b * rowB;
      const r1 = cnt > 1 ? r0 + rowB : r0;
      const r2 = cnt > 2 ? r1 + rowB : r1;
      const r3 = cnt > 3 ? r2 + rowB : r2;
      vst(sV, gather<T>(r0 + o0, r1 + o0, r2 + o0, r3 + o0));
      vst(sV + 16, gather<T>(r0 + o1, r1 + o1, r2 + o1, r3 + o1));
      vst(sV + 32, gather<T>(r0 + o2, r1 + o2, r2 + o2, r3 + o2));
      vst(sV + 48, gather<T>(r0 + o3, r1 + o3, r2 + o3, r3 + o3));
      const ld = blockForward<T>(gen, nl, nh, H, netSize, pP);
      scatter<T>(vld(outV), cnt, r0 + o0, r1 + o0, r2 + o0, r3 + o0);
      scatter<T>(vld(outV + 16), cnt, r0 + o1, r1 + o1, r2 + o1, r3 + o1);
      scatter<T>(vld(outV + 32), cnt, r0 + o2, r1 + o2, r2 + o2, r3 + o2);
      scatter<T>(vld(outV + 48), cnt, r0 + o3, r1 + o3, r2 + o3, r3 + o3);
      addLanesF64<T>(pLd + (<usize>b << 3), ld, cnt);
    }
  }
}

@inline function backwardImpl<T>(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  setupScratch(pS, nl, nh, H);
  const gen = dir == 0;
  const sz: usize = sizeof<T>();
  const L = lanes<T>();
  const rowB = <usize>N * sz;
  const np = nl * (2 * netSize + 2);
  const zero = splat<T>(0.0);
  for (let i: usize = 0; i < <usize>np; i++) {
    vst(pAcc + (i << 4), zero);
    store<f64>(pGP + (i << 3), 0.0);
  }
  let groups = 0;
  for (let k = 0; k < nblocks; k++) {
    const kb = pBlk + (<usize>k << 4);
    const o0 = <usize>load<i32>(kb) * sz;
    const o1 = <usize>load<i32>(kb, 4) * sz;
    const o2 = <usize>load<i32>(kb, 8) * sz;
    const o3 = <usize>load<i32>(kb, 12) * sz;
    for (let b = 0; b < nb; b += L) {
      const cnt = nb - b < L ? nb - b : L;
      const dx = pX - pGr;
      const r0 = pGr + <usize>b * rowB;
      const r1 = cnt > 1 ? r0 + rowB : r0;
      const r2 = cnt > 2 ? r1 + rowB : r1;
      const r3 = cnt > 3 ? r2 + rowB : r2;
      vst(sV, gather<T>(dx + r0 + o0, dx + r1 + o0, dx + r2 + o0, dx + r3 + o0));
      vst(sV + 16, gather<T>(dx + r0 + o1, dx + r1 + o1, dx + r2 + o1, dx + r3 + o1));
      vst(sV + 32, gather<T>(dx + r0 + o2, dx + r1 + o2, dx + r2 + o2, dx + r3 + o2));
      vst(sV + 48, gather<T>(dx + r0 + o3, dx + r1 + o3, dx + r2 + o3, dx + r3 + o3));
      blockForward<T>(gen, nl, nh, H, netSize, pP);
      const m = laneMask<T>(cnt);
      vst(sGV, v128.and(m, gather<T>(r0 + o0, r1 + o0, r2 + o0, r3 + o0)));
      vst(sGV + 16, v128.and(m, gather<T>(r0 + o1, r1 + o1, r2 + o1, r3 + o1)));
      vst(sGV + 32, v128.and(m, gather<T>(r0 + o2, r1 + o2, r2 + o2, r3 + o2)));
      vst(sGV + 48, v128.and(m, gather<T>(r0 + o3, r1 + o3, r2 + o3, r3 + o3)));
      const gld = v128.and(m, loadF64Lanes<T>(pGld + (<usize>b << 3)));
      blockBackward<T>(gen, nl, nh, H, netSize, pP, pAcc, gld);
      scatter<T>(vld(sGV), cnt, r0 + o0, r1 + o0, r2 + o0, r3 + o0);
      scatter<T>(vld(sGV + 16), cnt, r0 + o1, r1 + o1, r2 + o1, r3 + o1);
      scatter<T>(vld(sGV + 32), cnt, r0 + o2, r1 + o2, r2 + o2, r3 + o2);
      scatter<T>(vld(sGV + 48), cnt, r0 + o3, r1 + o3, r2 + o3, r3 + o3);
      if (isF32<T>()) {
        if (++groups == FLUSH32) {
          flush<T>(pAcc, pGP, np);
          groups = 0;
        }
      }
    }
  }
  flush<T>(pAcc, pGP, np);
}

export function forward32(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f32>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function forward64(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f64>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function backward32(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f32>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward64(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f64>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}
