/**
 * The hierarchical Real NVP flow (v1 Fig. 1; docs/architecture.md): configuration, parameters,
 * and the bijection x = g(z) with its log-determinant.
 *
 * A flow is a {@link FlowModel} (built from a {@link FlowConfig} by {@link createFlow}) plus a
 * flat parameter vector (from {@link initParams}). `generate` maps latent z ∼ N(0, 1) to fields
 * x, `infer` is the inverse, `logProb` is ln q(x) of Eq. (1), and `sample` draws x with ln q.
 * Arrays are flat typed arrays with the batch axis first (row b of a batch at [b·N, (b+1)·N)).
 *
 * @example
 * ```ts
 * import { flows, Rng } from "neuralrg";
 * const config = { L: 8, layout: "mera", depth: 3, nlayers: 4, nmlp: 2, nhidden: 10 } as const;
 * const model = flows.createFlow(config);
 * const rng = Rng.fromSeed(1);
 * const params = flows.initParams(config, "float64", () => rng.uniform(), "identity").data;
 * const { x, logQ } = flows.sample(model, params, 16, (z) => rng.fillNormal(z));
 * ```
 * @module
 */
export { validateFlowConfig, type FlowConfig, type LayoutKind } from "./config.ts";
export { latentScale, type BlockLayer, type LayerRole } from "./layout.ts";
export {
  initParams,
  paramCount,
  type CouplingParams,
  type DenseParams,
  type FlowParams,
  type InitKind,
} from "./params.ts";
export {
  backward,
  createFlow,
  generate,
  generateWithTape,
  infer,
  inferWithTape,
  logProb,
  priorLogProb,
  sample,
  type FlowModel,
  type Tape,
} from "./flow.ts";
export type { KernelImpl, KernelName } from "../kernels/wasm.ts";
export type { BlockIndex, Direction, LayerSpec } from "../kernels/block.ts";
