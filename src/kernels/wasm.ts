/**
 * WebAssembly SIMD implementation of the block-layer kernel (source: wasm/block.as.ts, built
 * by `npm run build:wasm` into wasm/block.wasm), with exactly the signatures of
 * `layerForward` / `layerBackward` in block.ts, and the kernel-selection hook.
 *
 * Precision follows the state (forward) or adjoint (backward) array: Float32Array runs the
 * f32x4 kernel (8 rows per step in two vectors), Float64Array the f64x2 kernel (4 rows per
 * step). Parameters are converted to that precision on the way in; log-determinants and
 * parameter gradients are returned in float64 (the float32 kernel folds its per-lane partial
 * sums into float64 every 128 rows). Float64 agrees with the JS kernel to ~1e-13 relative
 * (only exp / expm1 / tanh differ, by ≲ 2 ulp); float32 to ~1e-6 (normwise).
 *
 * Memory: one module instance per process (per worker), instantiated synchronously on first
 * use from WASM_URL with node:fs (Node), or given beforehand by `initWasmKernel` (a browser,
 * which fetches the bytes itself). Each call copies this layer's parameters and the rows [b0, b1) into linear memory,
 * runs, and copies the results back; the memory grows to the largest call seen and is reused,
 * so repeated calls allocate nothing in wasm.
 *
 * Leaf module: imports nothing from flows, training or the CLI.
 */
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import type { Real } from "../engine/real.ts";
import type { BlockIndex, Direction, LayerSpec } from "./block.ts";
import { layerBackward, layerForward } from "./block.ts";
import { gatherSites, scatterSites } from "./sites.ts";

type ForwardExport = (
  dir: number,
  nl: number,
  nh: number,
  H: number,
  netSize: number,
  pP: number,
  pX: number,
  N: number,
  nb: number,
  pBlk: number,
  nblocks: number,
  pLd: number,
  pS: number,
) => void;

type BackwardExport = (
  dir: number,
  nl: number,
  nh: number,
  H: number,
  netSize: number,
  pP: number,
  pX: number,
  pGr: number,
  N: number,
  nb: number,
  pBlk: number,
  nblocks: number,
  pGld: number,
  pGP: number,
  pAcc: number,
  pS: number,
) => void;

/** The module's exports: one forward and one backward pass per precision and activation (suffix r: "rational"). */
interface BlockExports {
  memory: WebAssembly.Memory;
  scratchBytes(nl: number, nh: number, H: number): number;
  heapBase(): number;
  forward32: ForwardExport;
  forward64: ForwardExport;
  backward32: BackwardExport;
  backward64: BackwardExport;
  forward32r: ForwardExport;
  forward64r: ForwardExport;
  backward32r: BackwardExport;
  backward64r: BackwardExport;
  /** input adjoint only (no parameter gradient) */
  backward32n: BackwardExport;
  backward64n: BackwardExport;
  backward32rn: BackwardExport;
  backward64rn: BackwardExport;
  /** kernels/sites.ts in wasm memory (element bits copied as integers) */
  gatherSites32: SitesExport;
  gatherSites64: SitesExport;
  scatterSites32: SitesExport;
  scatterSites64: SitesExport;
}

/** (from, N, sites, M, rows, to): gather full rows at `from` into compact rows at `to`, or scatter back. */
type SitesExport = (pFrom: number, N: number, pSites: number, M: number, nb: number, pTo: number) => void;

/**
 * Where the compiled kernel lives (next to this file): the plain WebAssembly SIMD build, and the
 * same source built with relaxed SIMD (`ASC_FEATURE_RELAXED_SIMD`: fused multiply-adds where
 * the CPU has them; about 20 % faster per layer call, see docs/performance.md). The relaxed build
 * is used where the engine accepts it (Chrome ≥ 114, Node ≥ 22, Node 20 behind the V8 flag that
 * `relaxedSimdAvailable` sets), the plain one elsewhere.
 */
export const WASM_URL = new URL("./wasm/block.wasm", import.meta.url);
export const WASM_RELAXED_URL = new URL("./wasm/block-relaxed.wasm", import.meta.url);

/** Which build runs: "relaxed-simd" (block-relaxed.wasm) or "simd" (block.wasm). */
export type WasmVariant = "relaxed-simd" | "simd";

/**
 * The build asked for by NEURALRG_WASM_SIMD (Node only): "auto" (default: relaxed where
 * available), "relaxed" (fail if unavailable) or "plain" (block.wasm, e.g. to compare the two).
 */
export function requestedWasmVariant(env: Record<string, string | undefined> | undefined): "auto" | WasmVariant {
  const v = env?.NEURALRG_WASM_SIMD;
  if (v === undefined || v === "" || v === "auto") return "auto";
  if (v === "relaxed") return "relaxed-simd";
  if (v === "plain") return "simd";
  throw new RangeError(`NEURALRG_WASM_SIMD = ${JSON.stringify(v)} is invalid: expected auto, relaxed or plain`);
}

/**
 * Whether this engine compiles the relaxed-SIMD build (given its bytes). Node 20 ships relaxed
 * SIMD behind a V8 flag, which is set here (process-wide, before the first compile) when the
 * module does not validate without it.
 */
export function relaxedSimdAvailable(bytes: BufferSource): boolean {
  if (WebAssembly.validate(bytes)) return true;
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    return false; // a browser: node:v8 is a stand-in
  }
  return WebAssembly.validate(bytes);
}

/** The instance and the build it came from (set together). */
let wasm: BlockExports | null = null;
let variant: WasmVariant = "simd";

function kernelExports(): BlockExports {
  if (wasm === null) {
    const want = requestedWasmVariant(typeof process === "undefined" ? undefined : process.env);
    const relaxed = want === "simd" ? null : readFileSync(WASM_RELAXED_URL);
    const useRelaxed = relaxed !== null && relaxedSimdAvailable(relaxed);
    if (want === "relaxed-simd" && !useRelaxed) {
      throw new Error(
        "NEURALRG_WASM_SIMD = relaxed, but this engine does not compile relaxed SIMD (use auto or plain)",
      );
    }
    const module = new WebAssembly.Module(useRelaxed ? relaxed : readFileSync(WASM_URL));
    wasm = new WebAssembly.Instance(module, {}).exports as unknown as BlockExports;
    variant = useRelaxed ? "relaxed-simd" : "simd";
  }
  return wasm;
}

/**
 * Instantiate the kernel from the given compiled module or bytes of block.wasm (or
 * block-relaxed.wasm: say so with `as`), instead of the default synchronous load with node:fs on
 * first use. Rejects when the engine cannot compile the module (e.g. no WebAssembly SIMD); the
 * previous instance, if any, is then kept.
 */
export async function initWasmKernel(
  source: WebAssembly.Module | BufferSource,
  as: WasmVariant = "simd",
): Promise<void> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, {});
  wasm = instance.exports as unknown as BlockExports;
  variant = as;
}

/**
 * For environments without node:fs (a browser or Web Worker): fetch and instantiate the relaxed
 * build where the engine compiles it, else the plain one. Returns the build chosen.
 */
export async function loadWasmKernel(fetchBytes: (url: URL) => Promise<ArrayBuffer>): Promise<WasmVariant> {
  try {
    const relaxed = await fetchBytes(WASM_RELAXED_URL);
    if (relaxedSimdAvailable(relaxed)) {
      await initWasmKernel(relaxed, "relaxed-simd");
      return "relaxed-simd";
    }
  } catch {
    // fall back to the plain build below
  }
  await initWasmKernel(await fetchBytes(WASM_URL), "simd");
  return "simd";
}

/**
 * For run records (next to io/provenance.ts's fields): the wasm build this process ran, if it ran
 * one (does not instantiate one). The two builds agree to rounding, not bit for bit.
 */
export function wasmBuildRecord(): { wasmBuild?: WasmVariant } {
  return wasm === null ? {} : { wasmBuild: variant };
}

/** The build in use ("relaxed-simd" or "simd"), instantiating the default one if none is yet. */
export function wasmKernelVariant(): WasmVariant {
  kernelExports();
  return variant;
}

/** True once the kernel module is instantiated (by first use or `initWasmKernel`). */
export function wasmKernelReady(): boolean {
  return wasm !== null;
}

const PAGE = 65536;
const align16 = (n: number): number => (n + 15) & ~15;

/** Grow the linear memory to at least `bytes`; returns the (possibly new) buffer. */
function ensureMemory(ex: BlockExports, bytes: number): ArrayBuffer {
  const mem = ex.memory;
  const have = mem.buffer.byteLength;
  if (have < bytes) mem.grow(Math.ceil((bytes - have) / PAGE));
  return mem.buffer as ArrayBuffer;
}

/**
 * Wall-clock milliseconds spent inside the wasm exports ("run") and in the copies into and out
 * of linear memory around them ("copy"), accumulated while enabled (bench/profile.ts).
 */
export interface KernelTimers {
  forwardRun: number;
  forwardCopy: number;
  backwardRun: number;
  backwardCopy: number;
  calls: number;
}

let timers: KernelTimers | null = null;

/** Start accumulating into a fresh KernelTimers (returned), or stop (null). */
export function profileWasmKernel(on: boolean): KernelTimers | null {
  timers = on ? { forwardRun: 0, forwardCopy: 0, backwardRun: 0, backwardCopy: 0, calls: 0 } : null;
  return timers;
}

/** Current size of the kernel's linear memory in bytes (0 before first use); for leak tests. */
export function wasmMemoryBytes(): number {
  return wasm === null ? 0 : wasm.memory.buffer.byteLength;
}

function checkArgs(spec: LayerSpec, P: Real, N: number, idx: BlockIndex, rows: Real, b1: number): number {
  const np = spec.nlayers * (2 * spec.netSize + 2);
  if (spec.base < 0 || spec.base + np > P.length) {
    throw new RangeError(`layer parameters [${spec.base}, ${spec.base + np}) outside P (length ${P.length})`);
  }
  if (rows.length < b1 * N) throw new RangeError(`rows up to ${b1} need ${b1 * N} entries, have ${rows.length}`);
  const blocks = idx.blocks;
  if (blocks.length < 4 * idx.nblocks) throw new RangeError("block index shorter than 4 × nblocks");
  checkSitesInRows(blocks, 4 * idx.nblocks, N, "block site");
  return np;
}

/** The first `count` sites must lie in a row of N (the kernel indexes memory with them unchecked). */
function checkSitesInRows(sites: Int32Array, count: number, N: number, what: string): void {
  for (let i = 0; i < count; i++) {
    const s = sites[i];
    if (!(s >= 0 && s < N)) throw new RangeError(`${what} ${s} outside [0, ${N})`);
  }
}

/** The export for a call: <pass><bits>, suffix r for the rational activation, n for no parameter gradient. */
function exportName<P extends "forward" | "backward">(
  pass: P,
  f32: boolean,
  spec: LayerSpec,
  inputAdjointOnly: boolean,
): Extract<keyof BlockExports, `${P}${string}`> {
  const name = `${pass}${f32 ? 32 : 64}${spec.activation === "rational" ? "r" : ""}${inputAdjointOnly ? "n" : ""}`;
  return name as Extract<keyof BlockExports, `${P}${string}`>;
}

/** Same contract as `layerForward` in block.ts. */
export function wasmLayerForward(
  spec: LayerSpec,
  P: Real,
  dir: Direction,
  state: Real,
  N: number,
  idx: BlockIndex,
  logdet: Float64Array,
  b0: number,
  b1: number,
): void {
  const nb = b1 - b0;
  if (nb <= 0 || idx.nblocks === 0) return;
  const np = checkArgs(spec, P, N, idx, state, b1);
  const ex = kernelExports();
  const f32 = state instanceof Float32Array;
  const sz = f32 ? 4 : 8;
  const pP = align16(ex.heapBase());
  const pX = align16(pP + np * sz);
  const pBlk = align16(pX + nb * N * sz);
  const pLd = align16(pBlk + 16 * idx.nblocks);
  const pS = align16(pLd + 8 * nb);
  const end = pS + ex.scratchBytes(spec.nlayers, spec.nh, spec.H);
  const tm = timers;
  const t0 = tm ? performance.now() : 0;
  const buf = ensureMemory(ex, end);
  const T = f32 ? Float32Array : Float64Array;
  new T(buf, pP, np).set(P.subarray(spec.base, spec.base + np));
  const x = new T(buf, pX, nb * N);
  x.set(state.subarray(b0 * N, b1 * N));
  new Int32Array(buf, pBlk, 4 * idx.nblocks).set(idx.blocks.subarray(0, 4 * idx.nblocks));
  const ld = new Float64Array(buf, pLd, nb);
  ld.fill(0);
  const run = ex[exportName("forward", f32, spec, false)];
  const t1 = tm ? performance.now() : 0;
  run(
    dir === "generate" ? 0 : 1,
    spec.nlayers,
    spec.nh,
    spec.H,
    spec.netSize,
    pP,
    pX,
    N,
    nb,
    pBlk,
    idx.nblocks,
    pLd,
    pS,
  );
  const t2 = tm ? performance.now() : 0;
  state.set(x, b0 * N);
  for (let b = 0; b < nb; b++) logdet[b0 + b] += ld[b];
  if (tm) {
    const t3 = performance.now();
    tm.forwardRun += t2 - t1;
    tm.forwardCopy += t1 - t0 + (t3 - t2);
    tm.calls++;
  }
}

/** Same contract as `layerBackward` in block.ts (G null: the input adjoint only, by the exports without parameter gradient). */
export function wasmLayerBackward(
  spec: LayerSpec,
  P: Real,
  G: Float64Array | null,
  dir: Direction,
  input: Real,
  grad: Real,
  N: number,
  idx: BlockIndex,
  gLogdet: Float64Array,
  b0: number,
  b1: number,
): void {
  const nb = b1 - b0;
  if (nb <= 0 || idx.nblocks === 0) return;
  const np = checkArgs(spec, P, N, idx, input, b1);
  if (grad.length < b1 * N) throw new RangeError(`grad rows up to ${b1} need ${b1 * N} entries, have ${grad.length}`);
  if (G !== null && spec.base + np > G.length)
    throw new RangeError(`G (length ${G.length}) is shorter than the layer's parameters`);
  const ex = kernelExports();
  const f32 = grad instanceof Float32Array;
  const sz = f32 ? 4 : 8;
  const pP = align16(ex.heapBase());
  const pX = align16(pP + np * sz);
  const pGr = align16(pX + nb * N * sz);
  const pBlk = align16(pGr + nb * N * sz);
  const pGld = align16(pBlk + 16 * idx.nblocks);
  const pGP = align16(pGld + 8 * nb);
  const pAcc = align16(pGP + 8 * np);
  const pS = align16(pAcc + 16 * np);
  const end = pS + ex.scratchBytes(spec.nlayers, spec.nh, spec.H);
  const tm = timers;
  const t0 = tm ? performance.now() : 0;
  const buf = ensureMemory(ex, end);
  const T = f32 ? Float32Array : Float64Array;
  new T(buf, pP, np).set(P.subarray(spec.base, spec.base + np));
  new T(buf, pX, nb * N).set(input.subarray(b0 * N, b1 * N));
  const g = new T(buf, pGr, nb * N);
  g.set(grad.subarray(b0 * N, b1 * N));
  new Int32Array(buf, pBlk, 4 * idx.nblocks).set(idx.blocks.subarray(0, 4 * idx.nblocks));
  new Float64Array(buf, pGld, nb).set(gLogdet.subarray(b0, b1));
  const run = ex[exportName("backward", f32, spec, G === null)];
  const t1 = tm ? performance.now() : 0;
  run(
    dir === "generate" ? 0 : 1,
    spec.nlayers,
    spec.nh,
    spec.H,
    spec.netSize,
    pP,
    pX,
    pGr,
    N,
    nb,
    pBlk,
    idx.nblocks,
    pGld,
    pGP,
    pAcc,
    pS,
  );
  const t2 = tm ? performance.now() : 0;
  grad.set(g, b0 * N);
  if (G !== null) {
    const gp = new Float64Array(buf, pGP, np);
    const base = spec.base;
    for (let i = 0; i < np; i++) G[base + i] += gp[i];
  }
  if (tm) {
    const t3 = performance.now();
    tm.backwardRun += t2 - t1;
    tm.backwardCopy += t1 - t0 + (t3 - t2);
    tm.calls++;
  }
}

function checkSites(a: Real, N: number, sites: Int32Array, batch: number, c: Real): void {
  if (a.length < batch * N) throw new RangeError(`rows up to ${batch} need ${batch * N} entries, have ${a.length}`);
  if (c.length < batch * sites.length) {
    throw new RangeError(`compact rows up to ${batch} need ${batch * sites.length} entries, have ${c.length}`);
  }
  checkSitesInRows(sites, sites.length, N, "site");
}

/**
 * The wasm side of gatherSites / scatterSites: the full rows and the sites copied into wasm
 * memory (from the heap base, like a layer call), the compact rows too for a scatter, the copy
 * done there, and the layout written copied back out.
 */
function copySitesInWasm(
  full: Real,
  N: number,
  sites: Int32Array,
  batch: number,
  compact: Real,
  gather: boolean,
): void {
  checkSites(full, N, sites, batch, compact);
  const M = sites.length;
  const ex = kernelExports();
  const f32 = full instanceof Float32Array;
  const T = f32 ? Float32Array : Float64Array;
  const pFull = align16(ex.heapBase());
  const pSites = align16(pFull + batch * N * (f32 ? 4 : 8));
  const pCompact = align16(pSites + 4 * M);
  const buf = ensureMemory(ex, pCompact + batch * M * (f32 ? 4 : 8));
  const fullW = new T(buf, pFull, batch * N);
  const compactW = new T(buf, pCompact, batch * M);
  fullW.set(full.subarray(0, batch * N));
  new Int32Array(buf, pSites, M).set(sites);
  if (gather) {
    (f32 ? ex.gatherSites32 : ex.gatherSites64)(pFull, N, pSites, M, batch, pCompact);
    compact.set(compactW);
  } else {
    compactW.set(compact.subarray(0, batch * M));
    (f32 ? ex.scatterSites32 : ex.scatterSites64)(pCompact, N, pSites, M, batch, pFull);
    full.set(fullW);
  }
}

/**
 * gatherSites (kernels/sites.ts) in wasm — about 3× faster than the JavaScript loop (its indexed
 * typed-array accesses cost ≈ 3 ns per element here). Bit for bit the same copy; arrays of
 * different element types take the JavaScript loop.
 */
export function wasmGatherSites(a: Real, N: number, sites: Int32Array, batch: number, out: Real): Real {
  if (batch <= 0 || sites.length === 0) return out;
  if (a instanceof Float32Array !== out instanceof Float32Array) return gatherSites(a, N, sites, batch, out);
  copySitesInWasm(a, N, sites, batch, out, true);
  return out;
}

/** scatterSites (kernels/sites.ts) in wasm, as wasmGatherSites. */
export function wasmScatterSites(c: Real, N: number, sites: Int32Array, batch: number, a: Real): void {
  if (batch <= 0 || sites.length === 0) return;
  if (a instanceof Float32Array !== c instanceof Float32Array) return scatterSites(c, N, sites, batch, a);
  copySitesInWasm(a, N, sites, batch, c, false);
}

/** A block-layer kernel: the operations the flow composes. */
export interface KernelImpl {
  readonly name: KernelName;
  readonly layerForward: typeof layerForward;
  readonly layerBackward: typeof layerBackward;
  readonly gatherSites: typeof gatherSites;
  readonly scatterSites: typeof scatterSites;
}

export type KernelName = "js" | "wasm";

/** The reference typed-array kernel (block.ts, sites.ts). */
export const jsKernel: KernelImpl = { name: "js", layerForward, layerBackward, gatherSites, scatterSites };

/** The WebAssembly SIMD kernel (this module). */
export const wasmKernel: KernelImpl = {
  name: "wasm",
  layerForward: wasmLayerForward,
  layerBackward: wasmLayerBackward,
  gatherSites: wasmGatherSites,
  scatterSites: wasmScatterSites,
};

export function getKernel(name: KernelName): KernelImpl {
  switch (name) {
    case "js":
      return jsKernel;
    case "wasm":
      return wasmKernel;
    default:
      throw new RangeError(`unknown kernel ${String(name)} (expected "js" or "wasm")`);
  }
}
