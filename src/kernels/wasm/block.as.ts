// @ts-nocheck — AssemblyScript source (compiled by `npm run build:wasm`, not by tsc).
/**
 * WebAssembly SIMD port of kernels/block.ts + kernels/mlp.ts (and, at the end, kernels/sites.ts): one layer of 2×2 Real NVP block
 * bijectors over a batch, forward and hand-derived backward, in float32 (f32x4: 4 rows per
 * v128) and float64 (f64x2: 2 rows per v128). The JS kernel is the specification; every sum
 * and product below keeps its order of operations, so in the plain build (block.wasm) the
 * float64 results differ from it only through exp / expm1 / tanh (here within 3 ulp: range
 * reduction + [6/6] Padé in float64, a degree-6 polynomial in float32; measured in
 * test/kernels/wasm-transcendentals.test.ts; ELU'(u) is recovered from the stored activation
 * exactly as in JS). The relaxed-SIMD build (block-relaxed.wasm, same source with
 * ASC_FEATURE_RELAXED_SIMD) fuses each a·b + c into one multiply-add where the CPU has one: one
 * rounding less per product, same order of the sums.
 *
 * Two type parameters choose each export's code at compile time: T the lane type (f32, f64),
 * A the variant (activation ELU or rational; backward with or without parameter gradient).
 *
 * A "row" of the kernel is one block of one configuration. Rows are processed in groups of
 * 2·LANES configurations sharing the same block k (8 rows in float32, 4 in float64): the 4
 * block components of the group are gathered into pairs of vectors (A: the first LANES rows,
 * B: the next; structure of arrays), pushed through the nlayers couplings with splatted
 * weights (each weight load serves both vectors), and scattered back. The last group of a
 * block may be partial: its unused lanes repeat the last valid configuration, are never
 * stored, and carry zero adjoints in the backward pass (so they add nothing to the parameter
 * gradient). The backward pass recomputes the block's forward for the group (activations of
 * all couplings in a small scratch area), then back-propagates, adding parameter gradients to
 * per-lane accumulators (one v128 per parameter, one update per pair) that are summed into
 * float64 at the end (float32: every FLUSH32 groups).
 *
 * Speed (bench/kernel.ts): dense layers run in tiles of 2 output units (forward) or 2 input
 * columns (backward) × 2 vectors, giving independent dependency chains and sharing loads;
 * inner loops use pointer induction variables and constant offsets (few integer
 * instructions); the backward of a hidden layer fuses the weight gradient, the input adjoint
 * and the ELU' of the layer below. Wider tiles measured slower (register spills). The
 * activation runs in a loop of its own over each layer's sums (its constants then stay in
 * registers). Keeping the forward's activations for the backward instead of recomputing them
 * measured slower: they leave the caches (docs/performance.md).
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
 * a·b + c. In the relaxed-SIMD build (`--enable relaxed-simd`, block-relaxed.wasm) a fused
 * multiply-add where the CPU has one (one rounding instead of two); in the plain build the
 * product rounded, then the sum.
 */
@inline function vfma<T>(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.relaxed_madd<T>(a, b, c);
  return v128.add<T>(v128.mul<T>(a, b), c);
}

/**
 * e^x − 1 (or e^x if `plusOne`) for every lane, accurate near 0. x = n·ln2 + r with
 * |r| ≤ ln2/2: n is rounded by adding 1.5·2^(mantissa bits) (whose low bits then hold n, from
 * which 2^n is built by shifting into the exponent field); q = expm1(r) by polynomial, then
 * expm1(x) = 2^n·q + (2^n − 1) (exact for n = 0), e^x = 2^n·q + 2^n.
 * Arguments are clamped below (and above if `upper`, i.e. for e^x of any x).
 */
@inline function vexpCore<T>(x: v128, plusOne: bool, upper: bool): v128 {
  if (isF32<T>()) {
    // expm1(x) = −1 in float32 for x < −17.4: clamping there keeps 2^n normal (no slow subnormals)
    x = f32x4.pmax(x, f32x4.splat(upper ? -87.0 : -20.0));
    if (upper) x = f32x4.pmin(x, f32x4.splat(88.0));
    // 1.5·2^23 + 127: t's low mantissa bits hold n + 127, so t << 23 is 2^n (the bits above vanish)
    const magic = f32x4.splat(12583039.0);
    const t = vfma<f32>(x, f32x4.splat(1.44269504088896341), magic);
    const n = f32x4.sub(t, magic);
    let r: v128;
    if (ASC_FEATURE_RELAXED_SIMD && !upper) {
      // x ≤ 0, fused: r = x − n·ln2_f32 rounded once; ln2_f32 − ln2 ≈ 1.9e-9 moves e^x by
      // ≲ |n|·1.9e-9 relative, i.e. expm1(x) by < 1e-8 relative (|n| ≤ 29, |expm1| > 0.29 if n ≠ 0)
      r = vfma<f32>(n, f32x4.splat(-0.693147182464599609375), x);
    } else {
      // Cody–Waite: n·0.693359375 is exact (few mantissa bits), then the small remainder
      r = vfma<f32>(n, f32x4.splat(-0.693359375), x);
      r = vfma<f32>(n, f32x4.splat(2.12194440e-4), r);
    }
    // e^r − 1 = r + r²·P(r), P of degree 4 fitted to minimise the largest relative error of
    // e^r − 1 on |r| ≤ ln2/2 (1.3e-8, below float32 rounding); no division
    const r2 = f32x4.mul(r, r);
    let p = vfma<f32>(r, f32x4.splat(1.3882513906378954e-3), f32x4.splat(8.36654727056627e-3));
    p = vfma<f32>(p, r, f32x4.splat(4.166720074894807e-2));
    p = vfma<f32>(p, r, f32x4.splat(1.6666543422810656e-1));
    p = vfma<f32>(p, r, f32x4.splat(4.999999814951715e-1));
    const q = vfma<f32>(r2, p, r);
    const two = i32x4.shl(t, 23);
    if (plusOne) return vfma<f32>(two, q, two);
    return vfma<f32>(two, q, f32x4.sub(two, f32x4.splat(1.0)));
  } else {
    // expm1(x) = −1 in float64 for x < −37.5: clamping there keeps 2^n normal (no slow subnormals)
    x = f64x2.pmax(x, f64x2.splat(upper ? -708.0 : -40.0));
    if (upper) x = f64x2.pmin(x, f64x2.splat(709.0));
    // 1.5·2^52 + 1023: t's low mantissa bits hold n + 1023, so t << 52 is 2^n
    const magic = f64x2.splat(6755399441056767.0);
    const t = vfma<f64>(x, f64x2.splat(1.4426950408889634), magic);
    const n = f64x2.sub(t, magic);
    let r: v128;
    if (upper) {
      // e^x for any x: fdlibm split of ln 2 (n·LN2_HI is exact for |n| < 2^20)
      r = f64x2.sub(x, f64x2.mul(n, f64x2.splat(6.93147180369123816490e-01)));
      r = f64x2.sub(r, f64x2.mul(n, f64x2.splat(1.90821492927058770002e-10)));
    } else {
      // x ≤ 0: one-step reduction. Its error (≲ |n|·2^-54 in r) moves the result by about
      // e^x·|n|·2^-54 ≤ 2^-55 absolutely, while |expm1(x)| > 0.29 whenever n ≠ 0: < 1e-16 relative.
      r = vfma<f64>(n, f64x2.splat(-0.6931471805599453), x);
    }
    // e^r − 1 = 2·O/(E − O), (E + O)/(E − O) the [6/6] Padé approximant of e^r split into even
    // and odd parts (truncation < 1e-18, rounding ≈ 2 ulp for |r| ≤ ln2/2)
    const r2 = f64x2.mul(r, r);
    let e = vfma<f64>(r2, f64x2.splat(1.5031265031265031e-6), f64x2.splat(1.2626262626262627e-3));
    e = vfma<f64>(e, r2, f64x2.splat(1.1363636363636363e-1));
    e = vfma<f64>(e, r2, f64x2.splat(1.0));
    let o = vfma<f64>(r2, f64x2.splat(6.3131313131313131e-5), f64x2.splat(1.5151515151515152e-2));
    o = vfma<f64>(o, r2, f64x2.splat(0.5));
    o = f64x2.mul(o, r);
    const q = f64x2.div(f64x2.add(o, o), f64x2.sub(e, o));
    const two = i64x2.shl(t, 52);
    if (plusOne) return vfma<f64>(two, q, two);
    return vfma<f64>(two, q, f64x2.sub(two, f64x2.splat(1.0)));
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

/**
 * The kernel variant, chosen at compile time by the second type parameter A of the functions
 * below: the hidden activation of kernels/activation.ts (ELU or "rational"), and whether the
 * backward pass accumulates the parameter gradient or only propagates the input adjoint (the
 * score ∇ₓ ln q(x) of the path gradient needs no parameter gradient). Each export exists once per
 * variant, so the inner loops test nothing at run time.
 */
type Elu = i8;
type Rational = i16;
type EluNoGrad = i32;
type RationalNoGrad = i64;
@inline function isRational<A>(): bool { return sizeof<A>() == 2 || sizeof<A>() == 8; }
@inline function paramGrad<A>(): bool { return sizeof<A>() <= 2; }

/**
 * ELU: u > 0 ? u : expm1(u), as max(u, expm1(min(u, 0)));
 * rational: u > 0 ? u : u / (1 − u), as max(u, 0) + m / (1 − m) with m = min(u, 0).
 * (An if, not a select: a select would evaluate the exponential for both.)
 */
@inline function velu<T, A>(u: v128): v128 {
  const zero = splat<T>(0.0);
  const m = v128.pmin<T>(u, zero);
  if (isRational<A>()) return v128.add<T>(v128.pmax<T>(u, zero), v128.div<T>(m, v128.sub<T>(splat<T>(1.0), m)));
  // expm1(u) ≥ u for u ≤ 0 (also as computed: q = r + r²·P(r) ≥ r when n = 0), and expm1(0) = 0
  return v128.pmax<T>(u, vexpm1Neg<T>(m));
}

/** The activation's slope from its output a: ELU a > 0 ? 1 : a + 1, as min(a, 0) + 1; rational: its square. */
@inline function veluGrad<T, A>(a: v128): v128 {
  const b = v128.add<T>(v128.pmin<T>(a, splat<T>(0.0)), splat<T>(1.0));
  if (isRational<A>()) return v128.mul<T>(b, b);
  return b;
}

// ---------------------------------------------------------------------------------------
// pairs: every scratch slot holds two vectors, A at +0 and B at +16 (2·LANES rows)

@inline function accAdd2<T>(p: usize, a: v128, b: v128): void {
  v128.store(p, v128.add<T>(v128.load(p), v128.add<T>(a, b)));
}
/** accAdd2(p, a·x, b·y), the second product fused into the sum. */
@inline function accFma2<T>(p: usize, a: v128, x: v128, b: v128, y: v128): void {
  v128.store(p, v128.add<T>(v128.load(p), vfma<T>(b, y, v128.mul<T>(a, x))));
}
/** accFma2 at p + 16 (a constant offset costs no integer instruction). */
@inline function accFma2At16<T>(p: usize, a: v128, x: v128, b: v128, y: v128): void {
  v128.store(p, v128.add<T>(v128.load(p, 16), vfma<T>(b, y, v128.mul<T>(a, x))), 16);
}

// ---------------------------------------------------------------------------------------
// scratch layout (32-byte slots), set up at the start of every call

let sV: usize = 0; // 4 × (nlayers + 1): block values before each coupling, then the output
let sTH: usize = 0; // 2 × nlayers: tanh of the raw s outputs
let sEX: usize = 0; // 2 × nlayers: the exp factors e^{±s}
let sAS: usize = 0; // nlayers × nh × H: hidden activations of the s nets
let sAT: usize = 0; // nlayers × nh × H: hidden activations of the t nets
let sGA: usize = 0; // H
let sGB: usize = 0; // H
let sOUT: usize = 0; // 4: raw outputs s0, s1, t0, t1 (backward: their adjoints)
let sGIN: usize = 0; // 2: input adjoints of one net
let sGV: usize = 0; // 4: adjoint of the block values
let sLD: usize = 0; // 1: log-determinant of the group

function slots(nl: i32, nh: i32, H: i32): i32 {
  const h = H > 1 ? H : 1;
  return 4 * (nl + 1) + 4 * nl + 2 * nl * nh * H + 2 * h + 4 + 2 + 4 + 1;
}

/** Bytes of scratch needed for a layer spec. */
export function scratchBytes(nl: i32, nh: i32, H: i32): i32 {
  return slots(nl, nh, H) << 5;
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
  sTH = sV + ((4 * (nlu + 1)) << 5);
  sEX = sTH + ((2 * nlu) << 5);
  sAS = sEX + ((2 * nlu) << 5);
  sAT = sAS + ((nlu * per) << 5);
  sGA = sAT + ((nlu * per) << 5);
  sGB = sGA + (h << 5);
  sOUT = sGB + (h << 5);
  sGIN = sOUT + (4 << 5);
  sGV = sGIN + (2 << 5);
  sLD = sGV + (4 << 5);
}

// ---------------------------------------------------------------------------------------
// one coupling network 2 → H → … → H → 2 (ELU hidden, linear output), 2·LANES rows at once

/** act[i] = ELU((W[i][0]·x0 + W[i][1]·x1) + b[i]) for both vectors of the pair. */
@inline function firstUnit<T, A>(w: usize, bb: usize, i: usize, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize): void {
  const sz: usize = sizeof<T>();
  const w0 = ldw<T>(w + 2 * i * sz);
  const w1 = ldw<T>(w + (2 * i + 1) * sz);
  const b = ldw<T>(bb + i * sz);
  const ua = vadd<T>(vfma<T>(w1, x1a, vmul<T>(w0, x0a)), b);
  const ub = vadd<T>(vfma<T>(w1, x1b, vmul<T>(w0, x0b)), b);
  vst(act + (i << 5), ua);
  vst(act + (i << 5) + 16, ub);
}

/**
 * The activation applied in place to n vectors from p: a loop of its own, after the layer's
 * sums, so that its constants stay in registers (they would be reloaded between the sums' tiles).
 */
@inline function activateInPlace<T, A>(p: usize, n: usize): void {
  const end = p + (n << 4);
  for (let q = p; q < end; q += 32) {
    vst(q, velu<T, A>(vld(q)));
    vst(q + 16, velu<T, A>(vld(q + 16)));
  }
}

/**
 * One hidden dense layer H → H with ELU: cur[i] = ELU(b_i + Σ_j W[i][j]·prev[j]) (W at pw,
 * row-major, then b), for both vectors of the pair. Output units go in pairs (then 1): every
 * weight load serves 2 vectors, every activation load 2 units, and the 4 sums are independent
 * dependency chains (wider tiles measured slower: register spills); each sum keeps the JS order.
 */
@inline function denseElu<T, A>(pw: usize, Hu: usize, prev: usize, cur: usize): void {
  const sz: usize = sizeof<T>();
  const rowB = Hu * sz;
  const bk = pw + Hu * rowB;
  const aEnd = prev + (Hu << 5);
  const aEnd2 = prev + ((Hu & ~(<usize>1)) << 5);
  let i: usize = 0;
  // 4 output units at a time: 8 sums, each activation load serves 4 units
  for (; i + 4 <= Hu; i += 4) {
    let u0a = ldw<T>(bk + i * sz);
    let u1a = v128.load_splat<T>(bk + i * sz, sizeof<T>());
    let u2a = v128.load_splat<T>(bk + i * sz, 2 * sizeof<T>());
    let u3a = v128.load_splat<T>(bk + i * sz, 3 * sizeof<T>());
    let u0b = u0a;
    let u1b = u1a;
    let u2b = u2a;
    let u3b = u3a;
    let w0 = pw + i * rowB;
    for (let ap = prev; ap < aEnd; ap += 32) {
      const aa = v128.load(ap);
      const ab = v128.load(ap, 16);
      const c0 = ldw<T>(w0);
      u0a = vfma<T>(c0, aa, u0a);
      u0b = vfma<T>(c0, ab, u0b);
      const c1 = ldw<T>(w0 + rowB);
      u1a = vfma<T>(c1, aa, u1a);
      u1b = vfma<T>(c1, ab, u1b);
      const c2 = ldw<T>(w0 + 2 * rowB);
      u2a = vfma<T>(c2, aa, u2a);
      u2b = vfma<T>(c2, ab, u2b);
      const c3 = ldw<T>(w0 + 3 * rowB);
      u3a = vfma<T>(c3, aa, u3a);
      u3b = vfma<T>(c3, ab, u3b);
      w0 += sz;
    }
    const d = cur + (i << 5);
    vst(d, u0a);
    vst(d + 16, u0b);
    vst(d + 32, u1a);
    vst(d + 48, u1b);
    vst(d + 64, u2a);
    vst(d + 80, u2b);
    vst(d + 96, u3a);
    vst(d + 112, u3b);
  }
  for (; i + 2 <= Hu; i += 2) {
    let u0a = ldw<T>(bk + i * sz);
    let u1a = v128.load_splat<T>(bk + i * sz, sizeof<T>());
    let u0b = u0a;
    let u1b = u1a;
    let w0 = pw + i * rowB;
    let ap = prev;
    // j in steps of 2 (pointer induction variables, constant offsets: few integer ops)
    for (; ap < aEnd2; ap += 64) {
      const w1 = w0 + rowB;
      const aa0 = v128.load(ap);
      const ab0 = v128.load(ap, 16);
      const aa1 = v128.load(ap, 32);
      const ab1 = v128.load(ap, 48);
      const c00 = ldw<T>(w0);
      const c01 = v128.load_splat<T>(w0, sizeof<T>());
      const c10 = ldw<T>(w1);
      const c11 = v128.load_splat<T>(w1, sizeof<T>());
      u0a = vfma<T>(c01, aa1, vfma<T>(c00, aa0, u0a));
      u0b = vfma<T>(c01, ab1, vfma<T>(c00, ab0, u0b));
      u1a = vfma<T>(c11, aa1, vfma<T>(c10, aa0, u1a));
      u1b = vfma<T>(c11, ab1, vfma<T>(c10, ab0, u1b));
      w0 += 2 * sz;
    }
    if (ap < aEnd) {
      const aa0 = v128.load(ap);
      const ab0 = v128.load(ap, 16);
      const c00 = ldw<T>(w0);
      const c10 = ldw<T>(w0 + rowB);
      u0a = vfma<T>(c00, aa0, u0a);
      u0b = vfma<T>(c00, ab0, u0b);
      u1a = vfma<T>(c10, aa0, u1a);
      u1b = vfma<T>(c10, ab0, u1b);
    }
    const d = cur + (i << 5);
    vst(d, u0a);
    vst(d + 16, u0b);
    vst(d + 32, u1a);
    vst(d + 48, u1b);
  }
  if (i < Hu) {
    let u0a = ldw<T>(bk + i * sz);
    let u0b = u0a;
    let w0 = pw + i * rowB;
    for (let ap = prev; ap < aEnd; ap += 32) {
      const c0 = ldw<T>(w0);
      u0a = vfma<T>(c0, v128.load(ap), u0a);
      u0b = vfma<T>(c0, v128.load(ap, 16), u0b);
      w0 += sz;
    }
    vst(cur + (i << 5), u0a);
    vst(cur + (i << 5) + 16, u0b);
  }
  activateInPlace<T, A>(cur, Hu << 1);
}

/** gnext[j] = g·ELU'(a) (a the post-activation) for both vectors, also added to the bias accumulator pb[j]. */
@inline function gradOut<T, A>(gnext: usize, pb: usize, j: usize, ga: v128, gb: v128, aa: v128, ab: v128): void {
  const ua = vmul<T>(ga, veluGrad<T, A>(aa));
  const ub = vmul<T>(gb, veluGrad<T, A>(ab));
  vst(gnext + (j << 5), ua);
  vst(gnext + (j << 5) + 16, ub);
  if (paramGrad<A>()) accAdd2<T>(pb + (j << 4), ua, ub);
}

/**
 * Backward of a hidden dense layer H → H given gu = ∂/∂(pre-activation) (W at pw, H × H
 * row-major; accumulators of W at pa): accumulates dW[i][j] += gu[i]·prev[j], and with
 * g_j = Σ_i gu[i]·W[i][j] (sum from 0 over i ascending, as in the JS kernel) writes the layer
 * below's pre-activation adjoint gnext[j] = g_j·ELU'(prev[j]) and adds it to that layer's bias
 * accumulators at pb. Columns j go in tiles of 2 (then 1) whose prev[j] and partial sums stay
 * in registers; one accumulator update serves both vectors of the pair.
 */
@inline function denseBack<T, A>(pw: usize, pa: usize, Hu: usize, gu: usize, prev: usize, gnext: usize, pb: usize): void {
  const sz: usize = sizeof<T>();
  const rowB = Hu * sz;
  const rowA = Hu << 4;
  const gEnd = gu + (Hu << 5);
  let j: usize = 0;
  for (; j + 2 <= Hu; j += 2) {
    const p0a = vld(prev + (j << 5));
    const p0b = vld(prev + (j << 5) + 16);
    const p1a = vld(prev + (j << 5) + 32);
    const p1b = vld(prev + (j << 5) + 48);
    let s0a = splat<T>(0.0);
    let s0b = s0a;
    let s1a = s0a;
    let s1b = s0a;
    let w = pw + j * sz;
    let ac = pa + (j << 4);
    for (let gp = gu; gp < gEnd; gp += 32) {
      const ga = v128.load(gp);
      const gb = v128.load(gp, 16);
      const c0 = ldw<T>(w);
      const c1 = v128.load_splat<T>(w, sizeof<T>());
      s0a = vfma<T>(ga, c0, s0a);
      s0b = vfma<T>(gb, c0, s0b);
      s1a = vfma<T>(ga, c1, s1a);
      s1b = vfma<T>(gb, c1, s1b);
      if (paramGrad<A>()) accFma2<T>(ac, ga, p0a, gb, p0b);
      if (paramGrad<A>()) accFma2At16<T>(ac, ga, p1a, gb, p1b);
      w += rowB;
      ac += rowA;
    }
    gradOut<T, A>(gnext, pb, j, s0a, s0b, p0a, p0b);
    gradOut<T, A>(gnext, pb, j + 1, s1a, s1b, p1a, p1b);
  }
  if (j < Hu) {
    const p0a = vld(prev + (j << 5));
    const p0b = vld(prev + (j << 5) + 16);
    let s0a = splat<T>(0.0);
    let s0b = s0a;
    let w = pw + j * sz;
    let ac = pa + (j << 4);
    for (let gp = gu; gp < gEnd; gp += 32) {
      const ga = v128.load(gp);
      const gb = v128.load(gp, 16);
      const c0 = ldw<T>(w);
      s0a = vfma<T>(ga, c0, s0a);
      s0b = vfma<T>(gb, c0, s0b);
      if (paramGrad<A>()) accFma2<T>(ac, ga, p0a, gb, p0b);
      w += rowB;
      ac += rowA;
    }
    gradOut<T, A>(gnext, pb, j, s0a, s0b, p0a, p0b);
  }
}

/** Evaluate the net with parameters at w on the pair (x0, x1); activations to act, outputs (2 slots) to out. */
@inline function netForward<T, A>(w: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, out: usize): void {
  const sz: usize = sizeof<T>();
  if (nh == 0) {
    const w00 = ldw<T>(w);
    const w01 = ldw<T>(w + sz);
    const w10 = ldw<T>(w + 2 * sz);
    const w11 = ldw<T>(w + 3 * sz);
    const b0 = ldw<T>(w + 4 * sz);
    const b1 = ldw<T>(w + 5 * sz);
    vst(out, vadd<T>(vfma<T>(w01, x1a, vmul<T>(w00, x0a)), b0));
    vst(out + 16, vadd<T>(vfma<T>(w01, x1b, vmul<T>(w00, x0b)), b0));
    vst(out + 32, vadd<T>(vfma<T>(w11, x1a, vmul<T>(w10, x0a)), b1));
    vst(out + 48, vadd<T>(vfma<T>(w11, x1b, vmul<T>(w10, x0b)), b1));
    return;
  }
  const Hu = <usize>H;
  // first dense layer 2 → H, 2 units (4 ELUs) at a time
  const bb = w + 2 * Hu * sz;
  let i: usize = 0;
  for (; i + 2 <= Hu; i += 2) {
    firstUnit<T, A>(w, bb, i, x0a, x0b, x1a, x1b, act);
    firstUnit<T, A>(w, bb, i + 1, x0a, x0b, x1a, x1b, act);
  }
  if (i < Hu) firstUnit<T, A>(w, bb, i, x0a, x0b, x1a, x1b, act);
  activateInPlace<T, A>(act, Hu << 1);
  let p = w + 3 * Hu * sz;
  let prev = act;
  // hidden H → H layers
  for (let k = 1; k < nh; k++) {
    const cur = prev + (Hu << 5);
    denseElu<T, A>(p, Hu, prev, cur);
    p += (Hu * Hu + Hu) * sz;
    prev = cur;
  }
  // last dense layer H → 2
  let o0a = ldw<T>(p + 2 * Hu * sz);
  let o1a = ldw<T>(p + (2 * Hu + 1) * sz);
  let o0b = o0a;
  let o1b = o1a;
  const huSz = Hu * sz;
  let wp = p;
  const aEnd = prev + (Hu << 5);
  for (let ap = prev; ap < aEnd; ap += 32) {
    const aa = v128.load(ap);
    const ab = v128.load(ap, 16);
    const c0 = ldw<T>(wp);
    const c1 = ldw<T>(wp + huSz);
    o0a = vfma<T>(c0, aa, o0a);
    o0b = vfma<T>(c0, ab, o0b);
    o1a = vfma<T>(c1, aa, o1a);
    o1b = vfma<T>(c1, ab, o1b);
    wp += sz;
  }
  vst(out, o0a);
  vst(out + 16, o0b);
  vst(out + 32, o1a);
  vst(out + 48, o1b);
}

/** Offset (in parameters, from the net's start) of the bias of hidden layer m (0: the first dense layer). */
@inline function biasOff(m: i32, Hu: usize): usize {
  return m == 0 ? 2 * Hu : Hu * 3 + <usize>(m - 1) * (Hu * Hu + Hu) + Hu * Hu;
}

/**
 * Back-propagate the output adjoints (g0, g1) (2 slots at g) through the net at w (activations
 * at act, inputs x0, x1): adds the parameter gradient to the per-lane accumulators at a (one
 * v128 per parameter) and writes the input adjoints to sGIN (2 slots).
 */
@inline function netBackward<T, A>(w: usize, a: usize, nh: i32, H: i32, x0a: v128, x0b: v128, x1a: v128, x1b: v128, act: usize, g: usize): void {
  const sz: usize = sizeof<T>();
  const g0a = vld(g);
  const g0b = vld(g + 16);
  const g1a = vld(g + 32);
  const g1b = vld(g + 48);
  if (nh == 0) {
    if (paramGrad<A>()) accFma2<T>(a, g0a, x0a, g0b, x0b);
    if (paramGrad<A>()) accFma2<T>(a + 16, g0a, x1a, g0b, x1b);
    if (paramGrad<A>()) accFma2<T>(a + 32, g1a, x0a, g1b, x0b);
    if (paramGrad<A>()) accFma2<T>(a + 48, g1a, x1a, g1b, x1b);
    if (paramGrad<A>()) accAdd2<T>(a + 64, g0a, g0b);
    if (paramGrad<A>()) accAdd2<T>(a + 80, g1a, g1b);
    const w00 = ldw<T>(w);
    const w01 = ldw<T>(w + sz);
    const w10 = ldw<T>(w + 2 * sz);
    const w11 = ldw<T>(w + 3 * sz);
    vst(sGIN, vfma<T>(g1a, w10, vmul<T>(g0a, w00)));
    vst(sGIN + 16, vfma<T>(g1b, w10, vmul<T>(g0b, w00)));
    vst(sGIN + 32, vfma<T>(g1a, w11, vmul<T>(g0a, w01)));
    vst(sGIN + 48, vfma<T>(g1b, w11, vmul<T>(g0b, w01)));
    return;
  }
  const Hu = <usize>H;
  const lastOff: usize = Hu * 3 + <usize>(nh - 1) * (Hu * Hu + Hu);
  const lw = w + lastOff * sz;
  const la = a + (lastOff << 4);
  const lact = act + ((<usize>(nh - 1) * Hu) << 5);
  // last layer H → 2; sGA ← ∂/∂(pre-activation) of the top hidden layer
  const topBias = a + (biasOff(nh - 1, Hu) << 4);
  {
    const huSz = Hu * sz;
    const huA = Hu << 4;
    let lap = la;
    let lwp = lw;
    let gp = sGA;
    let bp = topBias;
    const aEnd = lact + (Hu << 5);
    for (let ap = lact; ap < aEnd; ap += 32) {
      const aa = v128.load(ap);
      const ab = v128.load(ap, 16);
      if (paramGrad<A>()) accFma2<T>(lap, g0a, aa, g0b, ab);
      if (paramGrad<A>()) accFma2<T>(lap + huA, g1a, aa, g1b, ab);
      const c0 = ldw<T>(lwp);
      const c1 = ldw<T>(lwp + huSz);
      // adjoint of the top hidden layer's pre-activation (ELU' from its output) and its bias
      const ua = vmul<T>(vfma<T>(g1a, c1, vmul<T>(g0a, c0)), veluGrad<T, A>(aa));
      const ub = vmul<T>(vfma<T>(g1b, c1, vmul<T>(g0b, c0)), veluGrad<T, A>(ab));
      v128.store(gp, ua);
      v128.store(gp, ub, 16);
      if (paramGrad<A>()) accAdd2<T>(bp, ua, ub);
      lap += 16;
      lwp += sz;
      gp += 32;
      bp += 16;
    }
  }
  if (paramGrad<A>()) accAdd2<T>(la + ((2 * Hu) << 4), g0a, g0b);
  if (paramGrad<A>()) accAdd2<T>(la + ((2 * Hu + 1) << 4), g1a, g1b);
  // hidden layers from the top: gcur holds ∂/∂(pre-activation) of layer k
  let gcur = sGA;
  let gnext = sGB;
  for (let k = nh - 1; k >= 1; k--) {
    const off: usize = Hu * 3 + <usize>(k - 1) * (Hu * Hu + Hu);
    const prev = act + ((<usize>(k - 1) * Hu) << 5);
    denseBack<T, A>(w + off * sz, a + (off << 4), Hu, gcur, prev, gnext, a + (biasOff(k - 1, Hu) << 4));
    const t = gcur;
    gcur = gnext;
    gnext = t;
  }
  // first layer 2 → H
  let gx0a = splat<T>(0.0);
  let gx0b = gx0a;
  let gx1a = gx0a;
  let gx1b = gx0a;
  {
    let acp = a;
    let wp = w;
    const gEnd = gcur + (Hu << 5);
    for (let gp = gcur; gp < gEnd; gp += 32) {
      const ga = v128.load(gp);
      const gb = v128.load(gp, 16);
      if (paramGrad<A>()) accFma2<T>(acp, ga, x0a, gb, x0b);
      if (paramGrad<A>()) accFma2At16<T>(acp, ga, x1a, gb, x1b);
      const c0 = ldw<T>(wp);
      const c1 = v128.load_splat<T>(wp, sizeof<T>());
      gx0a = vfma<T>(ga, c0, gx0a);
      gx0b = vfma<T>(gb, c0, gx0b);
      gx1a = vfma<T>(ga, c1, gx1a);
      gx1b = vfma<T>(gb, c1, gx1b);
      acp += 32;
      wp += 2 * sz;
    }
  }
  vst(sGIN, gx0a);
  vst(sGIN + 16, gx0b);
  vst(sGIN + 32, gx1a);
  vst(sGIN + 48, gx1b);
}

// ---------------------------------------------------------------------------------------
// one block through all couplings (groups A = (v0, v3), B = (v1, v2)); slot offsets of the
// block values: v_k at 32·k

/** Forward from sV[0..3]; records every stage, tanh and exp factor; the log-det goes to sLD. */
@inline function blockForward<T, A>(gen: bool, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize): void {
  const sz: usize = sizeof<T>();
  const per = (<usize>(nh * H)) << 5;
  const cs = <usize>(2 * netSize + 2) * sz;
  const ns = <usize>netSize * sz;
  let lda = splat<T>(0.0);
  let ldb = lda;
  for (let q = 0; q < nl; q++) {
    const c = gen ? q : nl - 1 - q;
    const odd = (c & 1) != 0;
    const ci0: usize = odd ? 32 : 0;
    const ci1: usize = odd ? 64 : 96;
    const ui0: usize = odd ? 0 : 32;
    const ui1: usize = odd ? 96 : 64;
    const vi = sV + (<usize>q << 7);
    const vo = vi + 128;
    const x0a = vld(vi + ci0);
    const x0b = vld(vi + ci0 + 16);
    const x1a = vld(vi + ci1);
    const x1b = vld(vi + ci1 + 16);
    const po = pP + <usize>c * cs;
    netForward<T, A>(po, nh, H, x0a, x0b, x1a, x1b, sAS + <usize>q * per, sOUT);
    netForward<T, A>(po + ns, nh, H, x0a, x0b, x1a, x1b, sAT + <usize>q * per, sOUT + 64);
    vst(vo + ci0, x0a);
    vst(vo + ci0 + 16, x0b);
    vst(vo + ci1, x1a);
    vst(vo + ci1 + 16, x1b);
    const sc0 = ldw<T>(po + 2 * ns);
    const sc1 = ldw<T>(po + 2 * ns + sz);
    const tq = sTH + (<usize>q << 6);
    const eq = sEX + (<usize>q << 6);
    for (let h: usize = 0; h < 32; h += 16) {
      const th0 = vtanh<T>(vld(sOUT + h));
      const th1 = vtanh<T>(vld(sOUT + 32 + h));
      vst(tq + h, th0);
      vst(tq + 32 + h, th1);
      const s0 = vmul<T>(sc0, th0);
      const s1 = vmul<T>(sc1, th1);
      let ld = vld(sLD + h);
      if (gen) {
        const e0 = vexp<T>(s0);
        const e1 = vexp<T>(s1);
        vst(vo + ui0 + h, vfma<T>(vld(vi + ui0 + h), e0, vld(sOUT + 64 + h)));
        vst(vo + ui1 + h, vfma<T>(vld(vi + ui1 + h), e1, vld(sOUT + 96 + h)));
        vst(eq + h, e0);
        vst(eq + 32 + h, e1);
        ld = vadd<T>(ld, vadd<T>(s0, s1));
      } else {
        const e0 = vexp<T>(v128.neg<T>(s0));
        const e1 = vexp<T>(v128.neg<T>(s1));
        vst(vo + ui0 + h, vmul<T>(vsub<T>(vld(vi + ui0 + h), vld(sOUT + 64 + h)), e0));
        vst(vo + ui1 + h, vmul<T>(vsub<T>(vld(vi + ui1 + h), vld(sOUT + 96 + h)), e1));
        vst(eq + h, e0);
        vst(eq + 32 + h, e1);
        ld = vsub<T>(ld, vadd<T>(s0, s1));
      }
      vst(sLD + h, ld);
    }
  }
}

/**
 * Backward through the recorded block: sGV holds the output adjoint on entry, the input
 * adjoint on exit; gLd (a slot) holds the log-determinant adjoints.
 */
@inline function blockBackward<T, A>(gen: bool, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize, pAcc: usize, gLd: usize): void {
  const sz: usize = sizeof<T>();
  const per = (<usize>(nh * H)) << 5;
  const csn = <usize>(2 * netSize + 2);
  const ns = <usize>netSize;
  const one = splat<T>(1.0);
  for (let q = nl - 1; q >= 0; q--) {
    const c = gen ? q : nl - 1 - q;
    const odd = (c & 1) != 0;
    const ci0: usize = odd ? 32 : 0;
    const ci1: usize = odd ? 64 : 96;
    const ui0: usize = odd ? 0 : 32;
    const ui1: usize = odd ? 96 : 64;
    const vi = sV + (<usize>q << 7);
    const vo = vi + 128;
    const po = pP + <usize>c * csn * sz;
    const pa = pAcc + ((<usize>c * csn) << 4);
    const pScale = po + 2 * ns * sz;
    const aScale = pa + ((2 * ns) << 4);
    const sc0 = ldw<T>(pScale);
    const sc1 = ldw<T>(pScale + sz);
    const tq = sTH + (<usize>q << 6);
    const eq = sEX + (<usize>q << 6);
    // coupling: sOUT ← adjoints of the raw outputs (s0, s1, t0, t1); sGV[u] ← adjoints of u
    let ts0 = splat<T>(0.0);
    let ts1 = ts0;
    for (let h: usize = 0; h < 32; h += 16) {
      const th0 = vld(tq + h);
      const th1 = vld(tq + 32 + h);
      const gy0 = vld(sGV + ui0 + h);
      const gy1 = vld(sGV + ui1 + h);
      const e0 = vld(eq + h);
      const e1 = vld(eq + 32 + h);
      const gld = vld(gLd + h);
      const gu0 = vmul<T>(gy0, e0);
      const gu1 = vmul<T>(gy1, e1);
      let gt0: v128, gt1: v128, gs0: v128, gs1: v128;
      if (gen) {
        // y = u e^s + t
        gt0 = gy0;
        gt1 = gy1;
        gs0 = vfma<T>(vmul<T>(gy0, vld(vi + ui0 + h)), e0, gld);
        gs1 = vfma<T>(vmul<T>(gy1, vld(vi + ui1 + h)), e1, gld);
      } else {
        // y = (u − t) e^{−s}
        gt0 = v128.neg<T>(gu0);
        gt1 = v128.neg<T>(gu1);
        gs0 = vsub<T>(vmul<T>(v128.neg<T>(gy0), vld(vo + ui0 + h)), gld);
        gs1 = vsub<T>(vmul<T>(v128.neg<T>(gy1), vld(vo + ui1 + h)), gld);
      }
      // s = scale ⊙ tanh(h)
      ts0 = vfma<T>(gs0, th0, ts0);
      ts1 = vfma<T>(gs1, th1, ts1);
      vst(sOUT + h, vmul<T>(vmul<T>(gs0, sc0), vsub<T>(one, vmul<T>(th0, th0))));
      vst(sOUT + 32 + h, vmul<T>(vmul<T>(gs1, sc1), vsub<T>(one, vmul<T>(th1, th1))));
      vst(sOUT + 64 + h, gt0);
      vst(sOUT + 96 + h, gt1);
      vst(sGV + ui0 + h, gu0);
      vst(sGV + ui1 + h, gu1);
    }
    if (paramGrad<A>()) accAdd<T>(aScale, ts0);
    if (paramGrad<A>()) accAdd<T>(aScale + 16, ts1);
    const x0a = vld(vi + ci0);
    const x0b = vld(vi + ci0 + 16);
    const x1a = vld(vi + ci1);
    const x1b = vld(vi + ci1 + 16);
    let gc0a = vld(sGV + ci0);
    let gc0b = vld(sGV + ci0 + 16);
    let gc1a = vld(sGV + ci1);
    let gc1b = vld(sGV + ci1 + 16);
    netBackward<T, A>(po, pa, nh, H, x0a, x0b, x1a, x1b, sAS + <usize>q * per, sOUT);
    gc0a = vadd<T>(gc0a, vld(sGIN));
    gc0b = vadd<T>(gc0b, vld(sGIN + 16));
    gc1a = vadd<T>(gc1a, vld(sGIN + 32));
    gc1b = vadd<T>(gc1b, vld(sGIN + 48));
    netBackward<T, A>(po + ns * sz, pa + (ns << 4), nh, H, x0a, x0b, x1a, x1b, sAT + <usize>q * per, sOUT + 64);
    gc0a = vadd<T>(gc0a, vld(sGIN));
    gc0b = vadd<T>(gc0b, vld(sGIN + 16));
    gc1a = vadd<T>(gc1a, vld(sGIN + 32));
    gc1b = vadd<T>(gc1b, vld(sGIN + 48));
    vst(sGV + ci0, gc0a);
    vst(sGV + ci0 + 16, gc0b);
    vst(sGV + ci1, gc1a);
    vst(sGV + ci1 + 16, gc1b);
  }
}

// ---------------------------------------------------------------------------------------
// gather / scatter of one vector (lane l ↔ address p_l; f64 uses p0, p1 only)

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
  if (cnt <= 0) return;
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
  if (cnt <= 0) return;
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

// float32 lanes are folded into the float64 gradient every FLUSH32 groups of 8 rows
// (so each float32 partial sum has at most 32 terms)
const FLUSH32: i32 = 16;

// ---------------------------------------------------------------------------------------
// the layer: groups of 2·LANES configurations (vector A: rows b … b+L−1, B: b+L … b+2L−1)

/** Row addresses of the 2L lanes of a group starting at row b (clamped to the last valid row). */
@inline function rowAddr(base: usize, rowB: usize, b: i32, l: i32, nb: i32): usize {
  const r = b + l < nb ? b + l : nb - 1;
  return base + <usize>r * rowB;
}

/** Gathers component offset o of the group's rows into slot p (A and B). */
@inline function gatherPair<T>(p: usize, o: usize, r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize): void {
  if (isF32<T>()) {
    vst(p, gather<T>(r0 + o, r1 + o, r2 + o, r3 + o));
    vst(p + 16, gather<T>(r4 + o, r5 + o, r6 + o, r7 + o));
  } else {
    vst(p, gather<T>(r0 + o, r1 + o, 0, 0));
    vst(p + 16, gather<T>(r2 + o, r3 + o, 0, 0));
  }
}

@inline function scatterPair<T>(p: usize, cnt: i32, o: usize, r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize): void {
  const L = lanes<T>();
  if (isF32<T>()) {
    scatter<T>(vld(p), cnt, r0 + o, r1 + o, r2 + o, r3 + o);
    scatter<T>(vld(p + 16), cnt - L, r4 + o, r5 + o, r6 + o, r7 + o);
  } else {
    scatter<T>(vld(p), cnt, r0 + o, r1 + o, 0, 0);
    scatter<T>(vld(p + 16), cnt - L, r2 + o, r3 + o, 0, 0);
  }
}

@inline function forwardImpl<T, A>(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  setupScratch(pS, nl, nh, H);
  const gen = dir == 0;
  const sz: usize = sizeof<T>();
  const L = lanes<T>();
  const rowB = <usize>N * sz;
  const outV = sV + (<usize>nl << 7);
  const zero = splat<T>(0.0);
  for (let k = 0; k < nblocks; k++) {
    const kb = pBlk + (<usize>k << 4);
    const o0 = <usize>load<i32>(kb) * sz;
    const o1 = <usize>load<i32>(kb, 4) * sz;
    const o2 = <usize>load<i32>(kb, 8) * sz;
    const o3 = <usize>load<i32>(kb, 12) * sz;
    for (let b = 0; b < nb; b += 2 * L) {
      const cnt = nb - b < 2 * L ? nb - b : 2 * L;
      const r0 = rowAddr(pX, rowB, b, 0, nb);
      const r1 = rowAddr(pX, rowB, b, 1, nb);
      const r2 = rowAddr(pX, rowB, b, 2, nb);
      const r3 = rowAddr(pX, rowB, b, 3, nb);
      const r4 = rowAddr(pX, rowB, b, 4, nb);
      const r5 = rowAddr(pX, rowB, b, 5, nb);
      const r6 = rowAddr(pX, rowB, b, 6, nb);
      const r7 = rowAddr(pX, rowB, b, 7, nb);
      gatherPair<T>(sV, o0, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 32, o1, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 64, o2, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 96, o3, r0, r1, r2, r3, r4, r5, r6, r7);
      vst(sLD, zero);
      vst(sLD + 16, zero);
      blockForward<T, A>(gen, nl, nh, H, netSize, pP);
      scatterPair<T>(outV, cnt, o0, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(outV + 32, cnt, o1, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(outV + 64, cnt, o2, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(outV + 96, cnt, o3, r0, r1, r2, r3, r4, r5, r6, r7);
      addLanesF64<T>(pLd + (<usize>b << 3), vld(sLD), cnt);
      addLanesF64<T>(pLd + (<usize>(b + L) << 3), vld(sLD + 16), cnt - L);
    }
  }
}

@inline function backwardImpl<T, A>(
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
  if (paramGrad<A>()) {
    for (let i: usize = 0; i < <usize>np; i++) {
      vst(pAcc + (i << 4), zero);
      store<f64>(pGP + (i << 3), 0.0);
    }
  }
  const dx = pX - pGr;
  let groups = 0;
  for (let k = 0; k < nblocks; k++) {
    const kb = pBlk + (<usize>k << 4);
    const o0 = <usize>load<i32>(kb) * sz;
    const o1 = <usize>load<i32>(kb, 4) * sz;
    const o2 = <usize>load<i32>(kb, 8) * sz;
    const o3 = <usize>load<i32>(kb, 12) * sz;
    for (let b = 0; b < nb; b += 2 * L) {
      const cnt = nb - b < 2 * L ? nb - b : 2 * L;
      const r0 = rowAddr(pGr, rowB, b, 0, nb);
      const r1 = rowAddr(pGr, rowB, b, 1, nb);
      const r2 = rowAddr(pGr, rowB, b, 2, nb);
      const r3 = rowAddr(pGr, rowB, b, 3, nb);
      const r4 = rowAddr(pGr, rowB, b, 4, nb);
      const r5 = rowAddr(pGr, rowB, b, 5, nb);
      const r6 = rowAddr(pGr, rowB, b, 6, nb);
      const r7 = rowAddr(pGr, rowB, b, 7, nb);
      // the layer input (X) at the same row offsets as the adjoint rows (GR)
      gatherPair<T>(sV, o0 + dx, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 32, o1 + dx, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 64, o2 + dx, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sV + 96, o3 + dx, r0, r1, r2, r3, r4, r5, r6, r7);
      blockForward<T, A>(gen, nl, nh, H, netSize, pP);
      gatherPair<T>(sGV, o0, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sGV + 32, o1, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sGV + 64, o2, r0, r1, r2, r3, r4, r5, r6, r7);
      gatherPair<T>(sGV + 96, o3, r0, r1, r2, r3, r4, r5, r6, r7);
      // zero adjoints in unused lanes: they then add nothing anywhere
      const ma = laneMask<T>(cnt);
      const mb = laneMask<T>(cnt - L);
      for (let s: usize = 0; s < 128; s += 32) {
        vst(sGV + s, v128.and(ma, vld(sGV + s)));
        vst(sGV + s + 16, v128.and(mb, vld(sGV + s + 16)));
      }
      // log-det adjoints → sLD (A, B)
      vst(sLD, v128.and(ma, loadF64Lanes<T>(pGld + (<usize>b << 3))));
      vst(sLD + 16, v128.and(mb, loadF64Lanes<T>(pGld + (<usize>(b + L) << 3))));
      blockBackward<T, A>(gen, nl, nh, H, netSize, pP, pAcc, sLD);
      scatterPair<T>(sGV, cnt, o0, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(sGV + 32, cnt, o1, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(sGV + 64, cnt, o2, r0, r1, r2, r3, r4, r5, r6, r7);
      scatterPair<T>(sGV + 96, cnt, o3, r0, r1, r2, r3, r4, r5, r6, r7);
      if (isF32<T>() && paramGrad<A>()) {
        if (++groups == FLUSH32) {
          flush<T>(pAcc, pGP, np);
          groups = 0;
        }
      }
    }
  }
  if (paramGrad<A>()) flush<T>(pAcc, pGP, np);
}

// exports: <pass><bits> with ELU, <pass><bits>r with the rational activation; backward…n: the
// input adjoint only (no parameter gradient: GP and ACC are not touched). One export per pass and
// precision picking the variant from its arguments (all variants inlined into it) measured slower:
// train-default epochs 0.056–0.058 → 0.064–0.065 s (docs/performance.md).

export function forward32(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f32, Elu>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function forward64(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f64, Elu>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function backward32(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f32, Elu>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward64(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f64, Elu>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function forward32r(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f32, Rational>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function forward64r(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pLd: usize, pS: usize,
): void {
  forwardImpl<f64, Rational>(dir, nl, nh, H, netSize, pP, pX, N, nb, pBlk, nblocks, pLd, pS);
}

export function backward32r(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f32, Rational>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward64r(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f64, Rational>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward32n(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f32, EluNoGrad>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward64n(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f64, EluNoGrad>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward32rn(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f32, RationalNoGrad>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

export function backward64rn(
  dir: i32, nl: i32, nh: i32, H: i32, netSize: i32, pP: usize,
  pX: usize, pGr: usize, N: i32, nb: i32, pBlk: usize, nblocks: i32, pGld: usize,
  pGP: usize, pAcc: usize, pS: usize,
): void {
  backwardImpl<f64, RationalNoGrad>(dir, nl, nh, H, netSize, pP, pX, pGr, N, nb, pBlk, nblocks, pGld, pGP, pAcc, pS);
}

// elementwise exports for the accuracy tests of the transcendental functions (test/kernels):
// n values at p (n a multiple of the lane count), replaced in place

export function eluInPlace32(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 2); q += 16) vst(q, velu<f32, Elu>(vld(q)));
}
export function eluInPlace64(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 3); q += 16) vst(q, velu<f64, Elu>(vld(q)));
}
export function expInPlace32(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 2); q += 16) vst(q, vexp<f32>(vld(q)));
}
export function expInPlace64(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 3); q += 16) vst(q, vexp<f64>(vld(q)));
}
export function tanhInPlace32(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 2); q += 16) vst(q, vtanh<f32>(vld(q)));
}
export function tanhInPlace64(p: usize, n: i32): void {
  for (let q = p; q < p + (<usize>n << 3); q += 16) vst(q, vtanh<f64>(vld(q)));
}

// ---------------------------------------------------------------------------------------
// copies between full rows (nb × N) and a layer's compact rows (nb × M) at the M sites listed
// at pSites (int32): kernels/sites.ts. Element bits are copied as integers (w = 4 or 8 bytes).

/** gather: compact[b·M + i] = full[b·N + sites[i]]; else the reverse (scatter). */
@inline function copySites<I>(gather: bool, pFull: usize, N: i32, pSites: usize, M: i32, nb: i32, pCompact: usize): void {
  const w = <usize>sizeof<I>();
  const rowF = <usize>N * w;
  const sEnd = pSites + (<usize>M << 2);
  let f = pFull;
  let c = pCompact;
  for (let b = 0; b < nb; b++) {
    for (let s = pSites; s < sEnd; s += 4) {
      const at = f + <usize>load<i32>(s) * w;
      if (gather) store<I>(c, load<I>(at));
      else store<I>(at, load<I>(c));
      c += w;
    }
    f += rowF;
  }
}

export function gatherSites32(pFull: usize, N: i32, pSites: usize, M: i32, nb: i32, pCompact: usize): void {
  copySites<i32>(true, pFull, N, pSites, M, nb, pCompact);
}
export function gatherSites64(pFull: usize, N: i32, pSites: usize, M: i32, nb: i32, pCompact: usize): void {
  copySites<i64>(true, pFull, N, pSites, M, nb, pCompact);
}
export function scatterSites32(pCompact: usize, N: i32, pSites: usize, M: i32, nb: i32, pFull: usize): void {
  copySites<i32>(false, pFull, N, pSites, M, nb, pCompact);
}
export function scatterSites64(pCompact: usize, N: i32, pSites: usize, M: i32, nb: i32, pFull: usize): void {
  copySites<i64>(false, pFull, N, pSites, M, nb, pCompact);
}
