/**
 * {@link trainConfig}: a complete, serialisable training configuration from a target config and
 * a few overrides, with the defaults of `neuralrg train`.
 */
import type { FlowConfig } from "../flow/config.ts";
import { canonicalFlowConfig, log2Int } from "../flow/config.ts";
import type { TargetConfig } from "../targets/registry.ts";
import type { TrainConfig } from "./trainer.ts";
import { ORIGINAL_DEFAULTS } from "./trainer.ts";

/** Overrides accepted by {@link trainConfig}: any TrainConfig field, and flow fields flat. */
export type TrainConfigOptions = Partial<Omit<TrainConfig, "target" | "flow">> & Partial<FlowConfig>;

/**
 * A complete {@link TrainConfig} for a target config, with the original code's defaults
 * (ORIGINAL_DEFAULTS: batch 512, lr 1e-3, 10 couplings per block, 3 hidden layers of 10 units,
 * the full MERA, the symmetrised model, float64, seed 42) and 100 epochs, overridden by `opts`
 * (including the schedule and gradient fields; `neuralrg train` uses TRAIN_DEFAULTS instead,
 * see docs/quality.md).
 * The lattice size is the target's `L`.
 */
export function trainConfig(target: TargetConfig, opts: TrainConfigOptions = {}): TrainConfig {
  const L = opts.L ?? target.L;
  if (typeof L !== "number") throw new RangeError(`the target config has no L: give it, or pass { L } to trainConfig`);
  const flow: FlowConfig = canonicalFlowConfig({
    L,
    layout: opts.layout ?? ORIGINAL_DEFAULTS.layout,
    depth: opts.depth ?? log2Int(L),
    nlayers: opts.nlayers ?? ORIGINAL_DEFAULTS.nlayers,
    nmlp: opts.nmlp ?? ORIGINAL_DEFAULTS.nmlp,
    nhidden: opts.nhidden ?? ORIGINAL_DEFAULTS.nhidden,
    nrepeat: opts.nrepeat,
    activation: opts.activation,
  });
  const c: TrainConfig = {
    target: { ...target },
    flow,
    batch: opts.batch ?? ORIGINAL_DEFAULTS.batch,
    epochs: opts.epochs ?? 100,
    lr: opts.lr ?? ORIGINAL_DEFAULTS.lr,
    weightDecay: opts.weightDecay ?? ORIGINAL_DEFAULTS.weightDecay,
    seed: opts.seed ?? ORIGINAL_DEFAULTS.seed,
    dtype: opts.dtype ?? ORIGINAL_DEFAULTS.dtype,
    symmetrize: opts.symmetrize ?? ORIGINAL_DEFAULTS.symmetrize,
    init: opts.init ?? ORIGINAL_DEFAULTS.init,
    kernel: opts.kernel ?? ORIGINAL_DEFAULTS.kernel,
  };
  if (opts.symmetryWeight !== undefined && opts.symmetryWeight > 0) c.symmetryWeight = opts.symmetryWeight;
  // the recipe of `neuralrg train` (docs/quality.md), when asked for
  for (const k of ["gradient", "lrSchedule", "batchFinal", "beta2", "clipNorm", "anneal"] as const) {
    if (opts[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = opts[k];
  }
  return c;
}
