/**
 * The array/autodiff engine behind one small interface: @jax-js/jax 0.1.25.
 *
 * Used as the independent reference for our hand-written kernels (flow/reference.ts) and as
 * the generality layer (user-defined targets, Jacobians). The training hot path does not go
 * through here.
 *
 * ## Devices and precision
 * jax-js has two backends usable in Node:
 *   - "wasm": compiled WebAssembly kernels, single-threaded in Node 20 (no global `Worker`).
 *     float64 arrays are stored and added/multiplied in float64, BUT exp and log (hence tanh,
 *     expm1, logaddexp, ELU, …) are evaluated by float32 polynomial approximations and promoted
 *     back: absolute errors ≈ 1e-7 (tanh) to ≈ 1e-5 (log near 1). See flow/reference.ts for
 *     the measured numbers.
 *   - "cpu": interpreted JavaScript over typed arrays; float64 transcendentals use Math.*, so
 *     results agree with a plain float64 JS evaluation to ≈ 1e-14. Slower, but exact: this is
 *     the default device of the reference flow.
 * `initEngine()` initialises both and keeps "wasm" as jax-js's default device; pass a device
 * explicitly (or use `withDevice`) where precision matters.
 *
 * ## Ownership (read before writing any jax-js code)
 * jax-js arrays are reference counted with MOVE semantics:
 *   - a new array has reference count 1;
 *   - passing an array to any jax-js function or method (including `x.add(y)`, `x.reshape()`,
 *     `x.dataSync()`, `x.item()`) CONSUMES it (count − 1; freed at 0);
 *   - `x.ref` returns `x` with count + 1: write `x.ref` for every use but the last;
 *   - `x.dispose()` drops one reference (e.g. for an argument a function ignores).
 * Our own functions follow the same rule: every function here that takes a `JaxArray`
 * consumes it unless its doc comment says otherwise; functions taking typed arrays never keep
 * or mutate them. Functions passed to `valueAndGrad`/`jit`/`vjp`/`jacfwd` must consume their
 * arguments exactly once too. A leak shows up as growing wasm memory over repeated calls (the
 * wasm allocator keeps per-size-class free lists, so a correct program reaches a plateau; the
 * linear memory itself never shrinks): test/engine/jax.test.ts checks this. An array that is
 * never consumed also pins the whole lazy graph that produced it (leaking one unrealised
 * scalar loss per step leaked ≈ 1.4 MB/step in a 400 kB example).
 *
 * ## Known jax-js 0.1.25 defects (each has a test in test/engine/jax.test.ts)
 *   - JS-heap leak in EAGER grad: the JVP/transpose caches are Maps keyed by Jaxpr objects and
 *     eager `valueAndGrad` linearises into a fresh Jaxpr on every call, so every call keeps
 *     its graph alive: ≈ 4 kB per call for a toy function, ≈ 7 MB per call for the L = 4
 *     reference flow loss. Fine for tests (tens of calls); do not train through eager grad.
 *     `jit(valueAndGrad(f))` does not leak …
 *   - … but `jit` is not trustworthy for gradients: jit(valueAndGrad(q)) with
 *     q(x) = mean(sum(matmul(x, A) ⊙ x, 1)) returns a wrong gradient on wasm and throws
 *     "bufidx out of bounds" on cpu; and gathers (`np.take`) cannot be jitted under grad at all
 *     ("routine primitive scatter input is not imm"). Always check a jitted gradient against
 *     the eager one.
 *   - `jacfwd` returns [nin, nout] (the transpose of JAX's convention): `jacobianFlat`
 *     transposes. `jacrev` fails on graphs with `np.stack` of scalars.
 */
import {
  defaultDevice,
  init,
  jacfwd as jaxJacfwd,
  jit as jaxJit,
  numpy as np,
  random,
  valueAndGrad as jaxValueAndGrad,
  vjp as jaxVjp,
} from "@jax-js/jax";
import type { Array as JaxArrayT, DType as JaxDTypeT, OwnedFunction } from "@jax-js/jax";
import type { DType, Real } from "./real.ts";

/** A jax-js array (alias so callers need not import jax-js, whose `Array` shadows the JS one). */
export type JaxArray = JaxArrayT;
export type EngineDevice = "cpu" | "wasm";

let initPromise: Promise<void> | null = null;
let initialised = false;

/**
 * Node 20 has no Float16Array; jax-js tests `data instanceof Float16Array` when creating
 * arrays from Float64Array data, which throws a ReferenceError without it. Install a class
 * nothing is an instance of (constructing it throws: we never use float16).
 */
function polyfillFloat16(): void {
  const g = globalThis as { Float16Array?: unknown };
  if (typeof g.Float16Array === "undefined") {
    g.Float16Array = class Float16ArrayUnavailable {
      constructor() {
        throw new Error("float16 is not supported in this environment (Node has no Float16Array)");
      }
    };
  }
}

/**
 * Initialise jax-js for Node: the Float16Array polyfill, then the "wasm" and "cpu" backends.
 * Idempotent and safe to call concurrently; every other function here requires it to have
 * resolved.
 */
export function initEngine(): Promise<void> {
  if (initPromise === null) {
    polyfillFloat16();
    initPromise = init("wasm", "cpu").then((devices) => {
      for (const d of ["wasm", "cpu"] as const) {
        if (!devices.includes(d))
          throw new Error(`jax-js backend "${d}" failed to initialise (available: ${devices.join(", ")})`);
      }
      defaultDevice("wasm");
      initialised = true;
    });
  }
  return initPromise;
}

function requireEngine(): void {
  if (!initialised) throw new Error("the jax-js engine is not initialised: await initEngine() first");
}

/** Run `fn` with jax-js's default device set to `device` (restored afterwards). */
export function withDevice<T>(device: EngineDevice, fn: () => T): T {
  requireEngine();
  const prev = defaultDevice();
  defaultDevice(device);
  try {
    return fn();
  } finally {
    defaultDevice(prev);
  }
}

export function jaxDType(dtype: DType): JaxDTypeT {
  return dtype === "float64" ? np.float64 : np.float32;
}

export interface ArrayOptions {
  /** default: the length of the data (1-D) */
  shape?: number[];
  /** default: the dtype of the data */
  dtype?: DType;
  /** default: jax-js's current default device */
  device?: EngineDevice;
}

/**
 * A new jax-js array holding a copy of `data` (our storage policy: flat, row-major, batch axis
 * first). A Float32Array requested as float64 (or the reverse) is converted first.
 */
export function fromReal(data: Real, opts: ArrayOptions = {}): JaxArray {
  requireEngine();
  const dtype = opts.dtype ?? (data instanceof Float64Array ? "float64" : "float32");
  let src: Real = data;
  if (dtype === "float64" && !(data instanceof Float64Array)) src = Float64Array.from(data);
  if (dtype === "float32" && !(data instanceof Float32Array)) src = Float32Array.from(data);
  const shape = opts.shape ?? [data.length];
  checkShape(shape, data.length);
  return np.array(src, { shape, dtype: jaxDType(dtype), device: opts.device });
}

/** A new int32 jax-js array (indices for `np.take` and friends). */
export function fromInt32(data: Int32Array, opts: { shape?: number[]; device?: EngineDevice } = {}): JaxArray {
  requireEngine();
  const shape = opts.shape ?? [data.length];
  checkShape(shape, data.length);
  return np.array(data, { shape, dtype: np.int32, device: opts.device });
}

function checkShape(shape: number[], n: number): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== n) throw new RangeError(`shape [${shape.join(", ")}] has ${size} entries but the data has ${n}`);
}

/** Realise `a` and copy it out as float64 (CONSUMES `a`). */
export function toFloat64(a: JaxArray): Float64Array {
  const d = a.dataSync();
  return d instanceof Float64Array ? d : Float64Array.from(d);
}

/** Realise `a` and copy it out in the requested dtype (CONSUMES `a`). */
export function toReal(a: JaxArray, dtype: DType): Real {
  const d = a.dataSync();
  if (dtype === "float64") return d instanceof Float64Array ? d : Float64Array.from(d);
  return d instanceof Float32Array ? d : Float32Array.from(d);
}

/** The value of a one-element array (CONSUMES `a`). */
export function toScalar(a: JaxArray): number {
  return a.item();
}

/**
 * Value and gradient of a scalar function of one flat parameter vector (eager reverse mode:
 * keeps a few kB–MB of JS heap per call, see the header).
 * `f` receives a jax-js array of shape [theta.length] (it must consume it) and returns a
 * scalar array. `theta` itself is not modified.
 */
export function valueAndGradFlat(
  f: (theta: JaxArray) => JaxArray,
  theta: Real,
  opts: { dtype?: DType; device?: EngineDevice } = {},
): { value: number; grad: Float64Array } {
  const t = fromReal(theta, { dtype: opts.dtype, device: opts.device });
  const [v, g] = jaxValueAndGrad(f)(t);
  return { value: toScalar(v), grad: toFloat64(g) };
}

/**
 * Dense Jacobian ∂f/∂x, row-major [nout × nin] (J[i·nin + j] = ∂f_i/∂x_j), of f: R^nin → R^nout
 * by forward-mode AD. `f` receives an array of shape [x.length] and must consume it; its
 * output is flattened.
 *
 * Quirk (jax-js 0.1.25): `jacfwd` returns the TRANSPOSE of JAX's convention, shape
 * [nin, ...outShape] (the tangent basis axis is vmapped to the front); we transpose here.
 * `jacrev` fails on some graphs (a concatenate/stack transpose rule), so it is not wrapped.
 */
export function jacobianFlat(
  f: (x: JaxArray) => JaxArray,
  x: Real,
  opts: { dtype?: DType; device?: EngineDevice } = {},
): Float64Array {
  const nin = x.length;
  const xa = fromReal(x, { dtype: opts.dtype, device: opts.device });
  const jt = toFloat64(jaxJacfwd((v: JaxArray) => f(v).reshape([-1]))(xa)); // [nin × nout]
  const nout = jt.length / nin;
  const J = new Float64Array(nin * nout);
  for (let j = 0; j < nin; j++) for (let i = 0; i < nout; i++) J[i * nin + j] = jt[j * nout + i];
  return J;
}

/**
 * Vector–Jacobian product: returns f(x) and cotangentᵀ ∂f/∂x, both copied out.
 * `f` receives an array of shape [x.length] and must consume it; `cotangent` has f's output size.
 */
export function vjpFlat(
  f: (x: JaxArray) => JaxArray,
  x: Real,
  cotangent: Real,
  opts: { dtype?: DType; device?: EngineDevice } = {},
): { value: Float64Array; vjp: Float64Array } {
  const xa = fromReal(x, { dtype: opts.dtype, device: opts.device });
  const [out, vjpFn] = jaxVjp(f, [xa]);
  const shape = out.shape;
  const ct = fromReal(cotangent, {
    shape,
    dtype: opts.dtype ?? (x instanceof Float64Array ? "float64" : "float32"),
    device: opts.device,
  });
  const [g] = vjpFn(ct);
  vjpFn.dispose();
  return { value: toFloat64(out), vjp: toFloat64(g) };
}

/**
 * `jit` of a function of jax-js arrays (operator fusion, compiled per input shape). The
 * compiled function follows the same ownership rules as `f`; call `.dispose()` on it when done
 * to free its captured constants. See the header: jitted gradients can be wrong in 0.1.25.
 */
export function jit<A extends JaxArray[], R extends JaxArray | JaxArray[]>(
  f: (...args: A) => R,
): OwnedFunction<(...args: A) => R> {
  requireEngine();
  return jaxJit(f) as unknown as OwnedFunction<(...args: A) => R>;
}

/**
 * `valueAndGrad` of a scalar function of one jax-js array (re-exported with a concrete type):
 * returns [value, gradient], both new arrays owned by the caller; the argument is consumed.
 */
export function valueAndGrad(f: (x: JaxArray) => JaxArray): (x: JaxArray) => [JaxArray, JaxArray] {
  requireEngine();
  return jaxValueAndGrad(f) as unknown as (x: JaxArray) => [JaxArray, JaxArray];
}

// ---- keys (explicit randomness inside jax-js; our own numerical code uses engine/rng.ts) ----

/** A jax-js PRNG key (uint32 [2]) from a 32-bit integer seed. */
export function makeKey(seed: number): JaxArray {
  requireEngine();
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed = ${seed} is invalid: seed must be an integer in 0..4294967295`);
  }
  return random.key(seed);
}

/** Split a key into `n` new keys (CONSUMES `key`; each returned key is owned by the caller). */
export function splitKey(key: JaxArray, n = 2): JaxArray[] {
  const ks = random.split(key, n);
  const out: JaxArray[] = [];
  for (let i = 0; i < n; i++) out.push(ks.ref.slice(i));
  ks.dispose();
  return out;
}

/** Standard normal samples of the given shape and dtype (CONSUMES `key`). */
export function normal(key: JaxArray, shape: number[], dtype: DType = "float64"): JaxArray {
  // random.normal has no dtype option: cast (jax-js notes).
  return random.normal(key, shape).astype(jaxDType(dtype));
}

/**
 * Bytes currently reserved by the process outside the JS heap (`process.memoryUsage().external`),
 * which includes jax-js's wasm linear memory. The wasm memory grows in 64 KiB pages and never
 * shrinks, so a leak-free loop shows a plateau. A rough probe for tests.
 */
export function externalMemoryBytes(): number {
  return process.memoryUsage().external;
}
