/**
 * User-defined targets: any differentiable log-density log π(x) on an L×L periodic
 * lattice, declared with `defineTarget({...})` and used in code (`userTarget(spec)`) or loaded
 * from a module file (`--target ./my-energy.ts`, `makeTarget({ kind: "user", module })`).
 *
 * ## Three ways to give the log-density (exactly one)
 * - `logProb(x)` of ONE configuration (x: Float64Array of length N = L², site (i, j) at
 *   x[i*L + j]) with `grad(x, out)` writing ∂ log π/∂x into `out`. Plain JavaScript.
 * - `logProbBatch(x, batch, out, grad?)`: the `Target.logProb` signature on a batch (row b at
 *   x[b*N…]); it must fill `grad` whenever one is passed. The fastest form.
 * - `logProbJax(phi, np)`: the log-density written in jax-js array ops; `phi` has shape
 *   [batch, L, L] and the result must have shape [batch]. `np` is jax-js's numpy namespace
 *   (passed in, so the module need not import jax-js). The gradient comes from jax-js reverse-
 *   mode autodiff (`vjp`). jax-js arrays are reference counted with MOVE semantics: every op
 *   consumes its operands, so write `phi.ref` for each use of `phi` but the last (see
 *   src/engine/jax.ts). Evaluated on jax-js's "wasm" device by default (float64 arithmetic,
 *   but exp/log/tanh in float32 precision); set `jaxDevice: "cpu"` for float64
 *   transcendentals (slower). About 30–60 ms per batch of 512 8×8 configurations on "wasm":
 *   usable for training, but a hand-written gradient is much faster.
 *
 * ## Why no finite differences
 * A gradient by finite differences costs 2N log-density evaluations per configuration and has
 * truncation/rounding errors of ≈ 1e-6 relative: too slow and too noisy for training. A target
 * without a gradient is therefore REJECTED with a message saying so; give `grad`, use the
 * batched form, or write it in jax-js ops for autodiff.
 *
 * ## Validation (at construction, so every process and worker thread checks the same thing)
 * - shape: L an integer power of two in 2..1024 (the hierarchical flow halves it per level);
 *   the jax form must return shape [batch];
 * - finiteness: log π and its gradient finite on random configurations (N(0,1), 2·N(0,1) and
 *   N(1,1) entries);
 * - a declared `z2Symmetric: true` is checked numerically: log π(−x) = log π(x) on the same
 *   random configurations (relative tolerance 1e-6);
 * - a hand-written gradient is checked against central finite differences of log π
 *   (directional derivatives at three points and single sites at one point);
 * - `exactNegLogZ`, when given, must be a finite number (it is trusted, not checked).
 * Failures throw a `UserTargetError` (a RangeError) with a one-line message naming the module
 * and the problem; the CLI exits with status 2.
 *
 * ## Module files
 * Loading a target from a module file: user-module.ts.
 */
import { createRequire } from "node:module";
import type { Array as JaxArrayT, numpy as JaxNumpyNs, vjp as JaxVjp } from "@jax-js/jax";
import type { Real } from "../engine/real.ts";
import { Rng } from "../engine/rng.ts";
import { isPowerOfTwo } from "../engine/math.ts";
import type { Target } from "./target.ts";

/** A jax-js array. */
export type JaxArray = JaxArrayT;
/** jax-js's numpy namespace, passed to `logProbJax`. */
export type JaxNumpy = typeof JaxNumpyNs;

interface JaxModule {
  numpy: JaxNumpy;
  vjp: typeof JaxVjp;
}
let jaxModule: JaxModule | null = null;

/**
 * jax-js, loaded on first use of a `logProbJax` target (importing it costs ≈ 0.4 s, which every
 * CLI start and worker thread would otherwise pay). It is required synchronously — targets are
 * built synchronously, also in worker threads — so this is jax-js's CommonJS build, the same
 * instance a module loaded through tsx's CommonJS loader gets if it imports "@jax-js/jax"
 * itself; src/engine/jax.ts (the ESM build, asynchronous initialisation) is therefore not used
 * here. Its cpu and wasm backends are ready at load; the one thing to do first is the
 * Float16Array stub that engine/jax.ts also installs (Node 20 has none; jax-js tests for it).
 */
function jax(): JaxModule {
  if (!jaxModule) {
    const g = globalThis as { Float16Array?: unknown };
    if (typeof g.Float16Array === "undefined") {
      g.Float16Array = class Float16ArrayUnavailable {
        constructor() {
          throw new Error("float16 is not supported in this environment (Node has no Float16Array)");
        }
      };
    }
    jaxModule = createRequire(import.meta.url)("@jax-js/jax") as JaxModule;
  }
  return jaxModule;
}

/** Largest L accepted for user targets. */
export const MAX_USER_L = 1024;
/** File extensions a target module may have. */
export const USER_MODULE_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"] as const;

/** The description of a user-defined target (what a module default-exports). */
export interface UserTargetSpec {
  /** Linear lattice size: a power of two in 2..1024. */
  L: number;
  /** A short name for logs and run directories (default: the module's file name, or "user"). */
  name?: string;
  /** log π(x) of one configuration: x has length L*L, site (i, j) at x[i*L + j]. Needs `grad`. */
  logProb?: (x: Float64Array) => number;
  /** ∂ log π/∂x of one configuration, written into `out` (length L*L). */
  grad?: (x: Float64Array, out: Float64Array) => void;
  /**
   * Batched form (the `Target.logProb` signature): out[b] = log π(row b of x) for b < batch,
   * and, when `grad` is passed, grad[b*N + i] = ∂ log π/∂x_i of row b.
   */
  logProbBatch?: (x: Float64Array, batch: number, out: Float64Array, grad?: Float64Array) => void;
  /**
   * log π in jax-js ops: `phi` has shape [batch, L, L] (float64), the result shape [batch].
   * Must consume `phi` (use `phi.ref` for every use but the last). Gradient by autodiff.
   */
  logProbJax?: (phi: JaxArray, np: JaxNumpy) => JaxArray;
  /** jax-js device for `logProbJax`: "wasm" (default, fast) or "cpu" (float64 transcendentals). */
  jaxDevice?: "wasm" | "cpu";
  /** Declares π(−x) = π(x) (checked numerically); enables the symmetrised model of Eq. (S4). */
  z2Symmetric?: boolean;
  /** Exact −ln Z, when known: reported next to F as the relative error. */
  exactNegLogZ?: number;
}

/**
 * Declare a user-defined target (an identity function that gives the object its type).
 *
 * @example
 * ```ts
 * export default defineTarget({
 *   L: 8,
 *   z2Symmetric: true,
 *   logProb: (x) => -0.5 * x.reduce((s, v) => s + v * v, 0),
 *   grad: (x, out) => { for (let i = 0; i < x.length; i++) out[i] = -x[i]; },
 * });
 * ```
 */
export function defineTarget<T extends UserTargetSpec>(spec: T): T {
  return spec;
}

/** A user target failed validation or could not be loaded. The message is one line. */
export class UserTargetError extends RangeError {
  override readonly name = "UserTargetError";
}

const SPEC_KEYS = [
  "L",
  "name",
  "logProb",
  "grad",
  "logProbBatch",
  "logProbJax",
  "jaxDevice",
  "z2Symmetric",
  "exactNegLogZ",
];

type BatchEval = (x: Float64Array, batch: number, out: Float64Array, grad?: Float64Array) => void;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === "number") return String(v);
  return `a ${typeof v}`;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(6) : String(v);
}

/** Options of `userTarget` beyond the spec (set by the module loader). */
export interface UserTargetOptions {
  /** absolute path of the module the spec came from (stored in the config) */
  module?: string;
  /** SHA-256 of the module's source (stored in the config) */
  sha256?: string;
  /** how to name the target in error messages (default: the module path, or "user target") */
  label?: string;
}

/** A validated user-defined target. */
export class UserTarget implements Target {
  readonly kind = "user";
  readonly L: number;
  readonly nvars: number;
  readonly z2Symmetric: boolean;
  readonly exactNegLogZ?: number;
  readonly name: string;
  /** absolute module path when loaded from a file */
  readonly module?: string;
  readonly config: Readonly<Record<string, number | string | boolean>>;
  /** how the gradient is obtained */
  readonly gradient: "hand-written" | "autodiff";
  private readonly evaluate: BatchEval;
  private x64 = new Float64Array(0);
  private g64 = new Float64Array(0);

  constructor(spec: UserTargetSpec, opts: UserTargetOptions = {}) {
    const label = opts.label ?? (opts.module ? `user target ${opts.module}` : "user target");
    const fail = (problem: string): never => {
      throw new UserTargetError(`${label}: ${problem}`);
    };
    if (spec === null || typeof spec !== "object")
      fail(`expected an object from defineTarget({...}), got ${describe(spec)}`);
    for (const k of Object.keys(spec)) {
      if (!SPEC_KEYS.includes(k)) fail(`unknown property "${k}": accepted properties are ${SPEC_KEYS.join(", ")}`);
    }
    const L = spec.L;
    if (typeof L !== "number" || !Number.isInteger(L) || L < 2 || L > MAX_USER_L || !isPowerOfTwo(L)) {
      fail(
        `wrong shape: L = ${describe(L)} is invalid: L must be a power of two in 2..${MAX_USER_L} (the hierarchical flow halves the lattice at every level)`,
      );
    }
    const forms = (["logProb", "logProbBatch", "logProbJax"] as const).filter((k) => spec[k] !== undefined);
    if (forms.length === 0)
      fail(
        "no log-density: give one of logProb(x) (with grad), logProbBatch(x, batch, out, grad) or logProbJax(phi, np)",
      );
    if (forms.length > 1) fail(`give exactly one of logProb, logProbBatch, logProbJax (got ${forms.join(" and ")})`);
    const form = forms[0];
    if (typeof spec[form] !== "function") fail(`${form} must be a function, got ${describe(spec[form])}`);
    if (spec.grad !== undefined && form !== "logProb")
      fail(`grad goes with logProb only (${form} provides its own gradient)`);
    if (spec.grad !== undefined && typeof spec.grad !== "function")
      fail(`grad must be a function, got ${describe(spec.grad)}`);
    if (spec.jaxDevice !== undefined && form !== "logProbJax") fail("jaxDevice applies to logProbJax only");
    if (spec.jaxDevice !== undefined && spec.jaxDevice !== "wasm" && spec.jaxDevice !== "cpu")
      fail(`jaxDevice = ${String(spec.jaxDevice)} is invalid: use "wasm" or "cpu"`);
    if (spec.z2Symmetric !== undefined && typeof spec.z2Symmetric !== "boolean")
      fail(`z2Symmetric must be true or false, got ${describe(spec.z2Symmetric)}`);
    if (
      spec.exactNegLogZ !== undefined &&
      (typeof spec.exactNegLogZ !== "number" || !Number.isFinite(spec.exactNegLogZ))
    ) {
      fail(`exactNegLogZ = ${describe(spec.exactNegLogZ)} is invalid: it must be a finite number (or omitted)`);
    }
    if (spec.name !== undefined && (typeof spec.name !== "string" || spec.name === ""))
      fail("name must be a non-empty string");
    if (form === "logProb" && spec.grad === undefined) {
      fail(
        "no gradient: training needs ∂ log π/∂x; give grad(x, out), use logProbBatch(x, batch, out, grad), or write the log-density in jax-js ops as logProbJax(phi, np) for autodiff (finite differences are not used: too slow and too inaccurate for training)",
      );
    }
    const N = L * L;
    this.L = L;
    this.nvars = N;
    this.z2Symmetric = spec.z2Symmetric ?? false;
    if (spec.exactNegLogZ !== undefined) this.exactNegLogZ = spec.exactNegLogZ;
    this.name = spec.name ?? (opts.module ? opts.module.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "") : "user");
    this.module = opts.module;
    this.gradient = form === "logProbJax" ? "autodiff" : "hand-written";
    const config: Record<string, number | string | boolean> = { kind: "user", L };
    if (opts.module) config.module = opts.module;
    if (opts.sha256) config.sha256 = opts.sha256;
    if (!opts.module) config.name = this.name;
    this.config = config;

    if (form === "logProb") {
      const f = spec.logProb as (x: Float64Array) => number;
      const g = spec.grad as (x: Float64Array, out: Float64Array) => void;
      const row = new Float64Array(N);
      const grow = new Float64Array(N);
      this.evaluate = (x, batch, out, grad) => {
        for (let b = 0; b < batch; b++) {
          row.set(x.subarray(b * N, (b + 1) * N));
          const v = f(row);
          if (typeof v !== "number")
            fail(`logProb returned ${describe(v)}, expected a number (one log-density per configuration)`);
          out[b] = v;
          if (grad) {
            row.set(x.subarray(b * N, (b + 1) * N));
            grow.fill(NaN);
            g(row, grow);
            grad.set(grow, b * N);
          }
        }
      };
    } else if (form === "logProbBatch") {
      const f = spec.logProbBatch as BatchEval;
      this.evaluate = (x, batch, out, grad) => f(x, batch, out, grad);
    } else {
      this.evaluate = jaxEvaluator(
        spec.logProbJax as (phi: JaxArray, np: JaxNumpy) => JaxArray,
        L,
        spec.jaxDevice ?? "wasm",
        fail,
      );
    }
    try {
      validate(this, form, fail);
    } catch (err) {
      if (err instanceof UserTargetError) throw err;
      const jaxHint =
        form === "logProbJax" && /freed|\.ref|move semantics|reference/i.test(firstLine(err))
          ? " (every jax-js op consumes its operands: write phi.ref for each use of phi but the last)"
          : "";
      fail(`${form} threw on a random configuration: ${firstLine(err)}${jaxHint}`);
    }
  }

  /** log π(x) per row into out; ∂ log π/∂x into grad when given. */
  logProb(x: Real, batch: number, out: Float64Array, grad?: Real): void {
    const n = batch * this.nvars;
    if (x.length < n)
      throw new RangeError(`x has length ${x.length}, expected ≥ ${n} (batch ${batch} × N ${this.nvars})`);
    let xs: Float64Array;
    if (x instanceof Float64Array) xs = x.length === n ? x : x.subarray(0, n);
    else {
      if (this.x64.length < n) this.x64 = new Float64Array(n);
      xs = this.x64.subarray(0, n);
      xs.set(x.subarray(0, n));
    }
    if (!grad) {
      this.evaluate(xs, batch, out);
      return;
    }
    if (grad instanceof Float64Array) {
      this.evaluate(xs, batch, out, grad.length === n ? grad : grad.subarray(0, n));
      return;
    }
    if (this.g64.length < n) this.g64 = new Float64Array(n);
    const g = this.g64.subarray(0, n);
    this.evaluate(xs, batch, out, g);
    grad.set(g);
  }
}

/** jax-js evaluation of log π and its gradient (reverse mode: one vjp with cotangent ones). */
function jaxEvaluator(
  fn: (phi: JaxArray, np: JaxNumpy) => JaxArray,
  L: number,
  device: "wasm" | "cpu",
  fail: (p: string) => never,
): BatchEval {
  const { numpy: jnp, vjp: jaxVjp } = jax();
  const checkShape = (y: JaxArray, batch: number): void => {
    const s = y.shape;
    if (s.length !== 1 || s[0] !== batch) {
      const shown = `[${s.join(", ")}]`;
      y.dispose();
      fail(
        `wrong shape: logProbJax returned shape ${shown} for input shape [${batch}, ${L}, ${L}], expected [${batch}] (one log-density per configuration)`,
      );
    }
  };
  return (x, batch, out, grad) => {
    const xa = jnp.array(x, { shape: [batch, L, L], dtype: jnp.float64, device });
    if (!grad) {
      const y = fn(xa, jnp);
      checkShape(y, batch);
      const d = y.dataSync();
      for (let b = 0; b < batch; b++) out[b] = d[b];
      return;
    }
    const [y, vjpFn] = jaxVjp((v: JaxArray) => fn(v, jnp), [xa]) as unknown as [
      JaxArray,
      ((ct: JaxArray) => JaxArray[]) & { dispose(): void },
    ];
    try {
      checkShape(y, batch);
    } catch (err) {
      vjpFn.dispose();
      throw err;
    }
    const ct = jnp.ones([batch], { dtype: jnp.float64, device });
    const [g] = vjpFn(ct);
    vjpFn.dispose();
    const d = y.dataSync();
    for (let b = 0; b < batch; b++) out[b] = d[b];
    const gd = g.dataSync();
    for (let i = 0; i < batch * L * L; i++) grad[i] = gd[i];
  };
}

/**
 * The random configurations of the checks: N(0,1), 2·N(0,1) and N(1,1) entries, then the same
 * configurations negated (for the symmetry check, and finiteness on both signs).
 */
function checkConfigurations(N: number): { x: Float64Array; kinds: string[]; half: number } {
  const rng = Rng.fromSeed(20180622);
  const base = ["N(0,1)", "N(0,1)", "N(0,1)", "2·N(0,1)", "2·N(0,1)", "N(1,1)"];
  const half = base.length;
  const kinds = [...base, ...base.map((k) => `−${k}`)];
  const x = new Float64Array(kinds.length * N);
  rng.fillNormal(x.subarray(0, half * N));
  for (let b = 0; b < half; b++) {
    for (let i = b * N; i < (b + 1) * N; i++) {
      if (base[b] === "2·N(0,1)") x[i] *= 2;
      if (base[b] === "N(1,1)") x[i] += 1;
      x[half * N + i] = -x[i];
    }
  }
  return { x, kinds, half };
}

function validate(t: UserTarget, form: string, fail: (p: string) => never): void {
  const N = t.nvars;
  const { x, kinds, half } = checkConfigurations(N);
  const B = kinds.length;
  const out = new Float64Array(B).fill(NaN);
  const grad = new Float64Array(B * N).fill(NaN);
  const hint = form === "logProb" ? ` (x has length L*L = ${N}: does the code read outside it?)` : "";
  t.logProb(x, B, out);
  for (let b = 0; b < B; b++) {
    if (!Number.isFinite(out[b]))
      fail(`${form} is not finite (${out[b]}) on a random configuration with ${kinds[b]} entries${hint}`);
  }
  const out2 = new Float64Array(B).fill(NaN);
  t.logProb(x, B, out2, grad);
  for (let b = 0; b < B; b++) {
    if (!Number.isFinite(out2[b]))
      fail(
        `${form} is not finite (${out2[b]}) when the gradient is requested, on a configuration with ${kinds[b]} entries`,
      );
    const tol = 1e-9 * (1 + Math.abs(out[b]));
    if (Math.abs(out2[b] - out[b]) > tol)
      fail(`${form} is not deterministic: ${fmt(out[b])} and then ${fmt(out2[b])} for the same configuration`);
  }
  const gname = form === "logProb" ? "grad" : `the gradient of ${form}`;
  for (let k = 0; k < B * N; k++) {
    if (!Number.isFinite(grad[k])) {
      fail(
        `${gname} is not finite (${grad[k]}) at site ${k % N} of a random configuration with ${kinds[Math.floor(k / N)]} entries${form === "logProbJax" ? "" : " (unset entries are NaN)"}`,
      );
    }
  }
  if (t.z2Symmetric) {
    for (let b = 0; b < half; b++) {
      const tol = 1e-6 * (1 + Math.abs(out[b]));
      if (!(Math.abs(out[half + b] - out[b]) <= tol)) {
        fail(
          `false symmetry claim: z2Symmetric is true but log π(−x) ≠ log π(x) on a random configuration with ${kinds[b]} entries (log π(x) = ${fmt(out[b])}, log π(−x) = ${fmt(out[half + b])}); remove z2Symmetric or fix the density`,
        );
      }
    }
  }
  if (form === "logProbJax") return; // autodiff: correct by construction, and float32 transcendentals would defeat a finite-difference check
  checkGradient(t, x, out, grad, gname, fail);
}

/** Central finite differences of log π against the given gradient. */
function checkGradient(
  t: UserTarget,
  x: Float64Array,
  f0: Float64Array,
  grad: Float64Array,
  gname: string,
  fail: (p: string) => never,
): void {
  const N = t.nvars;
  const rng = Rng.fromSeed(7);
  const h = 1e-4;
  const one = new Float64Array(2);
  const pair = new Float64Array(2 * N);
  const fd = (b: number, dir: Float64Array): number => {
    for (let i = 0; i < N; i++) {
      pair[i] = x[b * N + i] + h * dir[i];
      pair[N + i] = x[b * N + i] - h * dir[i];
    }
    t.logProb(pair, 2, one);
    return (one[0] - one[1]) / (2 * h);
  };
  const tolFor = (b: number, an: number, gnorm: number): number =>
    1e-4 * (1 + Math.abs(an) + gnorm / Math.sqrt(N)) + 1e-10 * Math.abs(f0[b]);
  const wrong = (what: string, an: number, num: number): never => {
    const sign =
      Math.abs(an + num) < 1e-3 * (Math.abs(an) + Math.abs(num))
        ? "; it has the wrong sign: grad must be ∂ log π/∂x = −∂S/∂x"
        : "";
    return fail(
      `${gname} disagrees with central finite differences of log π ${what}: gradient ${fmt(an)}, finite difference ${fmt(num)}${sign}`,
    );
  };
  const dir = new Float64Array(N);
  for (let b = 0; b < 3; b++) {
    let gnorm = 0;
    for (let i = 0; i < N; i++) gnorm += grad[b * N + i] ** 2;
    gnorm = Math.sqrt(gnorm);
    for (let k = 0; k < 2; k++) {
      rng.fillNormal(dir);
      let nrm = 0;
      for (let i = 0; i < N; i++) nrm += dir[i] * dir[i];
      nrm = Math.sqrt(nrm);
      let an = 0;
      for (let i = 0; i < N; i++) {
        dir[i] /= nrm;
        an += grad[b * N + i] * dir[i];
      }
      const num = fd(b, dir);
      if (!(Math.abs(num - an) <= tolFor(b, an, gnorm))) wrong(`along a random direction`, an, num);
    }
  }
  // single sites at the first configuration (catches index mistakes a random direction may blur)
  let gnorm = 0;
  for (let i = 0; i < N; i++) gnorm += grad[i] ** 2;
  gnorm = Math.sqrt(gnorm);
  const sites = N <= 16 ? Array.from({ length: N }, (_, i) => i) : Array.from({ length: 16 }, () => rng.int(N));
  for (const s of sites) {
    dir.fill(0);
    dir[s] = 1;
    const num = fd(0, dir);
    if (!(Math.abs(num - grad[s]) <= tolFor(0, grad[s], gnorm))) wrong(`at site ${s}`, grad[s], num);
  }
}

/** Validate a spec and wrap it as a Target (for targets defined in code; see also `loadUserTarget`). */
export function userTarget(spec: UserTargetSpec, opts: UserTargetOptions = {}): UserTarget {
  return new UserTarget(spec, opts);
}

/** The first line of an error's message (one-line errors). */
export function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return (
    m
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? m
  );
}
