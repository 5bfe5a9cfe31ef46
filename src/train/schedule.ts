/**
 * Training schedules as pure functions of (config, epoch): the learning rate (linear warm-up,
 * then cosine decay, Loshchilov & Hutter 2017) and a batch size that grows geometrically during
 * training (near the optimum the gradient's variance ∝ 1/batch dominates the error; Smith et al.
 * 2018 "Don't decay the learning rate, increase the batch size"). Both depend only on the epoch
 * and the configured total, so a checkpoint restores them exactly.
 */

export interface LrSchedule {
  /** fraction of the epochs over which the learning rate rises linearly from lr/100 to lr (0..1) */
  warmup: number;
  /** "cosine": after the warm-up, lr·[final + (1 − final)·½(1 + cos πt)] with t from 0 to 1; "constant": lr */
  decay: "cosine" | "constant";
  /** the learning rate at the end as a fraction of lr (0..1) */
  final: number;
}

export const LR_DECAYS = ["cosine", "constant"] as const;

/** The schedule's settings, or a RangeError naming the bad value. */
export function validateLrSchedule(s: LrSchedule): void {
  if (!(s.warmup >= 0 && s.warmup < 1))
    throw new RangeError(`warmup = ${s.warmup} is invalid: it must be a fraction of the epochs in [0, 1)`);
  if (!(LR_DECAYS as readonly string[]).includes(s.decay))
    throw new RangeError(`lr-decay = ${s.decay} is invalid: accepted values are ${LR_DECAYS.join(", ")}`);
  if (!(s.final >= 0 && s.final <= 1))
    throw new RangeError(`lr-final = ${s.final} is invalid: it must be a fraction of lr in [0, 1]`);
}

/** Learning-rate factor (multiplying lr) of the epoch with 0-based index `epoch` out of `epochs`. */
export function lrFactor(s: LrSchedule | undefined, epoch: number, epochs: number): number {
  if (!s || epochs <= 0) return 1;
  const w = Math.floor(s.warmup * epochs);
  if (epoch < w) return 0.01 + (0.99 * (epoch + 1)) / w;
  if (s.decay === "constant") return 1;
  const t = Math.min(1, (epoch - w) / Math.max(1, epochs - w));
  return s.final + (1 - s.final) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * Batch of the epoch with 0-based index `epoch`: `batch` at the start, growing geometrically to
 * `batchFinal` at the last epoch (rounded to an integer), or `batch` when batchFinal is undefined.
 */
export function batchAt(batch: number, batchFinal: number | undefined, epoch: number, epochs: number): number {
  if (batchFinal === undefined || batchFinal === batch || epochs <= 1) return batch;
  const t = Math.min(1, epoch / (epochs - 1));
  return Math.max(1, Math.round(batch * (batchFinal / batch) ** t));
}
