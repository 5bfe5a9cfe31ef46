/**
 * Training (SPEC §3): probability density distillation (Eq. 3–5) with the Z2-symmetrised model
 * (Eq. S4) or the symmetry regulariser (App. E), the v1 combined algorithm (PDD + λ·NLL on an
 * experience buffer of MIS-accepted samples: `TrainConfig.buffer`), Adam, and training runs on disk.
 *
 * Two levels:
 * - {@link runTraining} trains into a run directory (config, checkpoints, metrics, summary,
 *   plots) from a serialisable {@link TrainConfig}; its `target` is a config understood by
 *   `targets.makeTarget` (built-in kinds, or `{ kind: "user", module }` for a module file).
 *   {@link trainConfig} fills in the defaults of the original code.
 * - {@link createTrainer} + {@link trainEpoch} train in memory against any `Target` object,
 *   including one defined in code with `targets.userTarget(...)`.
 *
 * @example
 * ```ts
 * import { train } from "neuralrg";
 * const config = train.trainConfig({ kind: "phi4", L: 8, kappa: 0.27, lambda: 0.02 }, { epochs: 200, batch: 256 });
 * const { summary } = await train.runTraining({ dir: "runs/phi4", config, savePeriod: 50, progress: "off" });
 * console.log(summary.F, "±", summary.F_stderr);
 * ```
 * @module
 */
import type { FlowConfig } from "../flow/config.ts";
import { log2Int } from "../flow/config.ts";
import type { TargetConfig } from "../targets/registry.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { ORIGINAL_DEFAULTS } from "../train/trainer.ts";

export * from "../train/adam.ts";
export * from "../train/objectives.ts";
export * from "../train/buffer.ts";
export * from "../train/trainer.ts";
export * from "../io/training-run.ts";
export { ParallelObjective } from "../train/parallel.ts";
export type { RunPaths } from "../io/rundir.ts";
export type { ProgressMode, ProgressStream } from "../io/progress.ts";
export type { JsonObject, JsonPrimitive, JsonValue } from "../io/json.ts";
export type { KernelName } from "../kernels/wasm.ts";

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
  const flow: FlowConfig = {
    L,
    layout: opts.layout ?? ORIGINAL_DEFAULTS.layout,
    depth: opts.depth ?? log2Int(L),
    nlayers: opts.nlayers ?? ORIGINAL_DEFAULTS.nlayers,
    nmlp: opts.nmlp ?? ORIGINAL_DEFAULTS.nmlp,
    nhidden: opts.nhidden ?? ORIGINAL_DEFAULTS.nhidden,
  };
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
  for (const k of ["gradient", "lrSchedule", "batchFinal", "beta2", "clipNorm"] as const) {
    if (opts[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = opts[k];
  }
  return c;
}
