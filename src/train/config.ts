/**
 * {@link trainConfig}: a complete, serialisable training configuration from a target config and
 * a few overrides, with the defaults of `neuralrg train`.
 */
import type { FlowConfig } from "../flow/config.ts";
import { log2Int } from "../flow/config.ts";
import type { TargetConfig } from "../targets/registry.ts";
import type { TrainConfig } from "./trainer.ts";
import { TRAIN_DEFAULTS } from "./trainer.ts";

/** Overrides accepted by {@link trainConfig}: any TrainConfig field, and flow fields flat. */
export type TrainConfigOptions = Partial<Omit<TrainConfig, "target" | "flow">> & Partial<FlowConfig>;

/**
 * A complete {@link TrainConfig} for a target config, with the defaults of `neuralrg train`
 * (the original code's: batch 512, lr 1e-3, 10 couplings per block, 3 hidden layers of 10 units,
 * the full MERA, the symmetrised model, float64, seed 42) and 100 epochs, overridden by `opts`.
 * The lattice size is the target's `L`.
 */
export function trainConfig(target: TargetConfig, opts: TrainConfigOptions = {}): TrainConfig {
  const L = opts.L ?? target.L;
  if (typeof L !== "number") throw new RangeError(`the target config has no L: give it, or pass { L } to trainConfig`);
  const flow: FlowConfig = {
    L,
    layout: opts.layout ?? TRAIN_DEFAULTS.layout,
    depth: opts.depth ?? log2Int(L),
    nlayers: opts.nlayers ?? TRAIN_DEFAULTS.nlayers,
    nmlp: opts.nmlp ?? TRAIN_DEFAULTS.nmlp,
    nhidden: opts.nhidden ?? TRAIN_DEFAULTS.nhidden,
  };
  const c: TrainConfig = {
    target: { ...target },
    flow,
    batch: opts.batch ?? TRAIN_DEFAULTS.batch,
    epochs: opts.epochs ?? 100,
    lr: opts.lr ?? TRAIN_DEFAULTS.lr,
    weightDecay: opts.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    seed: opts.seed ?? TRAIN_DEFAULTS.seed,
    dtype: opts.dtype ?? TRAIN_DEFAULTS.dtype,
    symmetrize: opts.symmetrize ?? TRAIN_DEFAULTS.symmetrize,
    init: opts.init ?? TRAIN_DEFAULTS.init,
    kernel: opts.kernel ?? TRAIN_DEFAULTS.kernel,
  };
  if (opts.symmetryWeight !== undefined && opts.symmetryWeight > 0) c.symmetryWeight = opts.symmetryWeight;
  return c;
}
