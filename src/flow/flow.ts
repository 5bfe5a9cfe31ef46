/**
 * The hierarchical flow x = g(z) (Eq. 1, Fig. 1a): a composition of layers of 2×2 block
 * bijectors (kernels/block.ts) placed by a layout (layout.ts), with a standard normal prior.
 *
 * Bijector contract (STYLE): generate(params, z) → {x, logDet = ln|det ∂x/∂z|} and
 * infer(params, x) → {z, logDet = ln|det ∂z/∂x|}, both on batches (batch axis first, rows of
 * N = L² sites). The *WithTape variants keep each layer's input so that the matching backward
 * functions can propagate adjoints to the input and to the parameters.
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { Direction, LayerSpec } from "../kernels/block.ts";
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
  /** input of each applied layer, in application order */
  inputs: Real[];
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

function run(model: FlowModel, params: Real, input: Real, batch: number, dir: Direction, tape: boolean) {
  checkBatch(model, input, batch, dir === "generate" ? "z" : "x");
  if (params.length !== model.nparams) {
    throw new RangeError(`parameter array has ${params.length} entries, the flow needs ${model.nparams}`);
  }
  const state = input.slice() as Real;
  const logDet = new Float64Array(batch);
  const inputs: Real[] = [];
  for (const l of layerOrder(model, dir)) {
    if (tape) inputs.push(state.slice() as Real);
    model.kernel.layerForward(model.specs[l], params, dir, state, model.nvars, model.layers[l], logDet, 0, batch);
  }
  return { out: state, logDet, tape: { dir, batch, inputs } as Tape };
}

/** x = g(z) and ln|det ∂x/∂z| per row. */
export function generate(model: FlowModel, params: Real, z: Real, batch: number): { x: Real; logDet: Float64Array } {
  const r = run(model, params, z, batch, "generate", false);
  return { x: r.out, logDet: r.logDet };
}

/** z = g⁻¹(x) and ln|det ∂z/∂x| per row. */
export function infer(model: FlowModel, params: Real, x: Real, batch: number): { z: Real; logDet: Float64Array } {
  const r = run(model, params, x, batch, "infer", false);
  return { z: r.out, logDet: r.logDet };
}

export function generateWithTape(model: FlowModel, params: Real, z: Real, batch: number) {
  const r = run(model, params, z, batch, "generate", true);
  return { x: r.out, logDet: r.logDet, tape: r.tape };
}

export function inferWithTape(model: FlowModel, params: Real, x: Real, batch: number) {
  const r = run(model, params, x, batch, "infer", true);
  return { z: r.out, logDet: r.logDet, tape: r.tape };
}

/**
 * Vector–Jacobian product of a taped pass: given the adjoint `gOut` of its output (consumed:
 * overwritten with the adjoint of its input, which is also returned) and the adjoint gLogDet of
 * each row's log-determinant, accumulates the parameter gradient into gParams.
 */
export function backward(
  model: FlowModel, params: Real, tape: Tape, gOut: Real, gLogDet: Float64Array, gParams: Float64Array,
): Real {
  checkBatch(model, gOut, tape.batch, "output adjoint");
  const order = layerOrder(model, tape.dir);
  for (let q = order.length - 1; q >= 0; q--) {
    const l = order[q];
    model.kernel.layerBackward(model.specs[l], params, gParams, tape.dir, tape.inputs[q], gOut, model.nvars, model.layers[l], gLogDet, 0, tape.batch);
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
  model: FlowModel, params: Real, batch: number, normal: (out: Real) => void,
): { x: Real; z: Real; logQ: Float64Array } {
  const z = alloc(dtypeOf(params), batch * model.nvars);
  normal(z);
  const { x, logDet } = generate(model, params, z, batch);
  const logQ = priorLogProb(z, batch, model.nvars);
  for (let b = 0; b < batch; b++) logQ[b] -= logDet[b];
  return { x, z, logQ };
}
