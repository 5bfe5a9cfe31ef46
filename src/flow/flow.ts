/**
 * The hierarchical flow x = g(z) (Eq. 1, Fig. 1a): a composition of layers of 2×2 block
 * bijectors (kernels/block.ts) placed by a layout (layout.ts), with a standard normal prior.
 *
 * Bijector contract: generate(params, z) → {x, logDet = ln|det ∂x/∂z|} and
 * infer(params, x) → {z, logDet = ln|det ∂z/∂x|}, both on batches (batch axis first, rows of
 * N = L² sites). The *WithTape variants keep each layer's input so that the matching backward
 * functions can propagate adjoints to the input and to the parameters.
 *
 * Memory: a layer reads and writes only the sites of its blocks (4·nblocks of the N sites; at
 * MERA level l that is N/4^l), so the tape stores each layer's input at those sites only, in
 * block order (batch × 4·nblocks), and the backward pass runs the kernel on that compact layout
 * (the block index becomes the identity). A full-depth MERA pass then tapes ≈ 2.7·N numbers per
 * row instead of 2·log2(L)·N (12·N at L = 64); the arithmetic, and so every result, is unchanged.
 * The copies between the two layouts are the kernel's (kernels/sites.ts; in wasm for the wasm
 * kernel, about 3× faster than a JavaScript loop).
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { BlockIndex, Direction, LayerSpec } from "../kernels/block.ts";
import type { KernelImpl, KernelName } from "../kernels/wasm.ts";
import { getKernel } from "../kernels/wasm.ts";
import type { FlowConfig } from "./config.ts";
import type { BlockLayer } from "./layout.ts";
import { buildLayers, latentScale } from "./layout.ts";
import { couplingSize, netSize, paramCount } from "./params.ts";

const LN_2PI = Math.log(2 * Math.PI);

export interface FlowModel {
  readonly config: FlowConfig;
  /** layers in inference order */
  readonly layers: readonly BlockLayer[];
  /** kernel specs, parallel to `layers` */
  readonly specs: readonly LayerSpec[];
  readonly nvars: number;
  readonly nparams: number;
  /** scale at which each site becomes a latent variable (layout.ts: latentScale) */
  readonly scaleOfSite: Int32Array;
  /** the block-layer kernel: "js" (typed arrays) or "wasm" (WebAssembly SIMD); same results up to rounding */
  readonly kernel: KernelImpl;
}

export function createFlow(config: FlowConfig, kernel: KernelName = "js"): FlowModel {
  const layers = buildLayers(config);
  const ns = netSize(config);
  const cs = couplingSize(config);
  const specs = layers.map((_, l) => ({
    nlayers: config.nlayers,
    nh: config.nmlp,
    H: config.nhidden,
    netSize: ns,
    base: l * config.nlayers * cs,
    activation: config.activation,
  }));
  return {
    config: { ...config },
    layers,
    specs,
    nvars: config.L * config.L,
    nparams: paramCount(config),
    scaleOfSite: latentScale(config.L, config.layout === "tebd" ? 0 : config.depth),
    kernel: getKernel(kernel),
  };
}

export interface Tape {
  dir: Direction;
  batch: number;
  /**
   * input of each applied layer, in application order, at the layer's block sites only:
   * inputs[q][b·M + 4k + c] = state[b·N + blocks[4k + c]] with M = 4·nblocks of that layer
   */
  inputs: Real[];
}

/** The identity block index of a compact row of `nblocks` blocks (site 4k + c of block k). */
const identityIndex = new Map<number, BlockIndex>();
function compactIndex(nblocks: number): BlockIndex {
  let idx = identityIndex.get(nblocks);
  if (!idx) {
    const blocks = new Int32Array(4 * nblocks);
    for (let i = 0; i < blocks.length; i++) blocks[i] = i;
    idx = { blocks, nblocks };
    identityIndex.set(nblocks, idx);
  }
  return idx;
}

function checkBatch(model: FlowModel, a: Real, batch: number, what: string): void {
  if (a.length !== batch * model.nvars) {
    throw new RangeError(`${what} has length ${a.length}, expected batch × N = ${batch} × ${model.nvars}`);
  }
}

function layerOrder(model: FlowModel, dir: Direction): number[] {
  const order = model.layers.map((_, i) => i);
  return dir === "generate" ? order.reverse() : order;
}

/** What a pass keeps: nothing, the compact tape for `backward`, or the full state before every layer. */
type Keep = "none" | "tape" | "states";

function run(model: FlowModel, params: Real, input: Real, batch: number, dir: Direction, keep: Keep, inverse = false) {
  checkBatch(model, input, batch, dir === "generate" ? "z" : "x");
  if (params.length !== model.nparams) {
    throw new RangeError(`parameter array has ${params.length} entries, the flow needs ${model.nparams}`);
  }
  const state = input.slice() as Real;
  const logDet = new Float64Array(batch);
  const inputs: Real[] = [];
  const outputs: Real[] = [];
  const dtype = dtypeOf(state);
  for (const l of layerOrder(model, dir)) {
    const layer = model.layers[l];
    const sites = layer.blocks.subarray(0, 4 * layer.nblocks);
    const atSites = () =>
      model.kernel.gatherSites(state, model.nvars, sites, batch, alloc(dtype, batch * sites.length));
    if (keep === "tape") inputs.push(atSites());
    else if (keep === "states") inputs.push(state.slice() as Real);
    model.kernel.layerForward(model.specs[l], params, dir, state, model.nvars, layer, logDet, 0, batch);
    if (inverse) outputs.push(atSites());
  }
  return { out: state, logDet, inputs, outputs };
}

/** x = g(z) and ln|det ∂x/∂z| per row. */
export function generate(model: FlowModel, params: Real, z: Real, batch: number): { x: Real; logDet: Float64Array } {
  const r = run(model, params, z, batch, "generate", "none");
  return { x: r.out, logDet: r.logDet };
}

/** z = g⁻¹(x) and ln|det ∂z/∂x| per row. */
export function infer(model: FlowModel, params: Real, x: Real, batch: number): { z: Real; logDet: Float64Array } {
  const r = run(model, params, x, batch, "infer", "none");
  return { z: r.out, logDet: r.logDet };
}

export function generateWithTape(
  model: FlowModel,
  params: Real,
  z: Real,
  batch: number,
): { x: Real; logDet: Float64Array; tape: Tape } {
  const r = run(model, params, z, batch, "generate", "tape");
  return { x: r.out, logDet: r.logDet, tape: { dir: "generate", batch, inputs: r.inputs } };
}

/**
 * generateWithTape that also records the tape of the inverse pass at its output x: every
 * layer's output at its blocks is the input of that layer in the inference direction, so
 * `inverseTape` is what inferWithTape(x) would record (up to rounding: f(g(z)) = z exactly only
 * in exact arithmetic) without running the inference pass; with it, ln q(x) = ln p(z) − logDet.
 */
export function generateWithTapes(
  model: FlowModel,
  params: Real,
  z: Real,
  batch: number,
): { x: Real; logDet: Float64Array; tape: Tape; inverseTape: Tape } {
  const r = run(model, params, z, batch, "generate", "tape", true);
  return {
    x: r.out,
    logDet: r.logDet,
    tape: { dir: "generate", batch, inputs: r.inputs },
    inverseTape: { dir: "infer", batch, inputs: r.outputs.reverse() },
  };
}

export function inferWithTape(
  model: FlowModel,
  params: Real,
  x: Real,
  batch: number,
): { z: Real; logDet: Float64Array; tape: Tape } {
  const r = run(model, params, x, batch, "infer", "tape");
  return { z: r.out, logDet: r.logDet, tape: { dir: "infer", batch, inputs: r.inputs } };
}

/**
 * The full state (batch × N) before every layer of a pass, in application order, and its
 * output (for inspecting intermediate variables, e.g. collective variables; not for backward).
 */
export function passStates(
  model: FlowModel,
  params: Real,
  input: Real,
  batch: number,
  dir: Direction,
): { out: Real; logDet: Float64Array; states: Real[] } {
  const r = run(model, params, input, batch, dir, "states");
  return { out: r.out, logDet: r.logDet, states: r.inputs };
}

/**
 * Vector–Jacobian product of a taped pass: given the adjoint `gOut` of its output (consumed:
 * overwritten with the adjoint of its input, which is also returned) and the adjoint gLogDet of
 * each row's log-determinant, accumulates the parameter gradient into gParams (null: only the
 * input adjoint is wanted, which the wasm kernel then computes without the parameter gradient).
 */
export function backward(
  model: FlowModel,
  params: Real,
  tape: Tape,
  gOut: Real,
  gLogDet: Float64Array,
  gParams: Float64Array | null,
): Real {
  checkBatch(model, gOut, tape.batch, "output adjoint");
  const order = layerOrder(model, tape.dir);
  const batch = tape.batch;
  let work = alloc(dtypeOf(gOut), 0);
  for (let q = order.length - 1; q >= 0; q--) {
    const l = order[q];
    const layer = model.layers[l];
    const M = 4 * layer.nblocks;
    const sites = layer.blocks.subarray(0, M);
    if (tape.inputs[q].length !== batch * M)
      throw new RangeError(`tape entry ${q} has length ${tape.inputs[q].length}, expected batch × ${M}`);
    if (work.length < batch * M) work = alloc(dtypeOf(gOut), batch * M);
    const g = model.kernel.gatherSites(gOut, model.nvars, sites, batch, work.subarray(0, batch * M) as Real);
    model.kernel.layerBackward(
      model.specs[l],
      params,
      gParams,
      tape.dir,
      tape.inputs[q],
      g,
      M,
      compactIndex(layer.nblocks),
      gLogDet,
      0,
      batch,
    );
    model.kernel.scatterSites(g, model.nvars, sites, batch, gOut);
  }
  return gOut;
}

/** ln p(z) of the standard normal prior, per row. */
export function priorLogProb(z: Real, batch: number, nvars: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let i = b * nvars; i < (b + 1) * nvars; i++) s += z[i] * z[i];
    out[b] = -0.5 * s - 0.5 * nvars * LN_2PI;
  }
  return out;
}

/** ln q(x) = ln p(g⁻¹(x)) + ln|det ∂z/∂x| (Eq. 1), per row. */
export function logProb(model: FlowModel, params: Real, x: Real, batch: number): Float64Array {
  const { z, logDet } = infer(model, params, x, batch);
  const lp = priorLogProb(z, batch, model.nvars);
  for (let b = 0; b < batch; b++) lp[b] += logDet[b];
  return lp;
}

/** Draw x ~ q: z ~ N(0, 1), x = g(z); returns x, z and ln q(x) = ln p(z) − ln|det ∂x/∂z|. */
export function sample(
  model: FlowModel,
  params: Real,
  batch: number,
  normal: (out: Real) => void,
): { x: Real; z: Real; logQ: Float64Array } {
  const z = alloc(dtypeOf(params), batch * model.nvars);
  normal(z);
  const { x, logDet } = generate(model, params, z, batch);
  const logQ = priorLogProb(z, batch, model.nvars);
  for (let b = 0; b < batch; b++) logQ[b] -= logDet[b];
  return { x, z, logQ };
}
