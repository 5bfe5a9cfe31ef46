/**
 * Training recipes compared by bench/quality.ts at equal CPU time. A recipe is a function of the
 * lattice size returning the parts of a TrainConfig it sets (everything else: the symmetrised
 * loss, identity init, wasm kernel, the full-depth MERA) and the worker threads it uses.
 * `epochs` is not part of a recipe: the benchmark derives it from the CPU budget (the schedules
 * of schedule.ts run over the epochs that fit into the budget).
 */
import type { Activation } from "../src/kernels/activation.ts";
import type { TrainConfig } from "../src/train/trainer.ts";
import { TRAIN_DEFAULTS as D } from "../src/train/trainer.ts";

export interface Recipe {
  /** one line for the tables */
  description: string;
  config: Partial<Omit<TrainConfig, "target" | "flow" | "epochs" | "seed">> & {
    nlayers: number;
    nmlp: number;
    nhidden: number;
    activation?: Activation;
    nrepeat?: number;
  };
  workers?: number;
}

/** `neuralrg train` before this benchmark: 10 couplings, MLP 3×10, batch 512, lr 1e-3, float64. */
const OLD_TRAIN = { nlayers: 10, nmlp: 3, nhidden: 10, batch: 512, lr: 1e-3, dtype: "float64" } as const;
/** `npm start` (demo) before this benchmark: 4 couplings, MLP 1×16, batch 256, lr 1e-2, float64. */
const OLD_DEMO = { nlayers: 4, nmlp: 1, nhidden: 16, batch: 256, lr: 1e-2, dtype: "float64" } as const;
const COS = { warmup: 0.02, decay: "cosine", final: 0.01 } as const;

export const RECIPES: Record<string, Recipe> = {
  "old-train": {
    description: "old `train` default: 10 couplings, MLP 3×10, batch 512, lr 1e-3, float64",
    config: { ...OLD_TRAIN },
  },
  "old-train-f32": { description: "old `train` default in float32", config: { ...OLD_TRAIN, dtype: "float32" } },
  "old-demo": { description: "old demo: 4 couplings, MLP 1×16, batch 256, lr 1e-2, float64", config: { ...OLD_DEMO } },
  "demo-f32": { description: "old demo in float32", config: { ...OLD_DEMO, dtype: "float32" } },
  "demo-f32-cos": {
    description: "demo, float32, warm-up + cosine decay of lr",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS },
  },
  "demo-f32-path": {
    description: "demo, float32, path gradient",
    config: { ...OLD_DEMO, dtype: "float32", gradient: "path" },
  },
  "demo-f32-cos-path": {
    description: "demo, float32, cosine lr, path gradient",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path" },
  },
  "demo-f32-cos-grow": {
    description: "demo, float32, cosine lr, batch 256 → 1024",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, batchFinal: 1024 },
  },
  "demo-f32-cos-path-grow": {
    description: "demo, float32, cosine lr, path gradient, batch 256 → 1024",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path", batchFinal: 1024 },
  },
  "demo-f32-b2": {
    description: "demo, float32, Adam β₂ = 0.99",
    config: { ...OLD_DEMO, dtype: "float32", beta2: 0.99 },
  },
  "demo-f32-clip": {
    description: "demo, float32, gradient clipped to norm 1",
    config: { ...OLD_DEMO, dtype: "float32", clipNorm: 1 },
  },
  "demo-f32-cos-path-b128": {
    description: "demo, float32, cosine lr, path gradient, batch 128 → 512",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path", batch: 128, batchFinal: 512 },
  },
  "demo-f32-cos-path-lr2": {
    description: "demo, float32, cosine lr from 2e-2, path gradient",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path", lr: 2e-2 },
  },
  "f32-cos-path-10x3x10": {
    description: "old `train` network (10 couplings, MLP 3×10), float32, cosine lr 1e-2, path gradient",
    config: { ...OLD_TRAIN, dtype: "float32", lr: 1e-2, batch: 256, lrSchedule: COS, gradient: "path" },
  },
  "demo-f32-cos-path-b2": {
    description: "demo, float32, cosine lr, path gradient, Adam β₂ = 0.99",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path", beta2: 0.99 },
  },
  "demo-f32-cos-path-clip": {
    description: "demo, float32, cosine lr, path gradient, gradient clipped to norm 10",
    config: { ...OLD_DEMO, dtype: "float32", lrSchedule: COS, gradient: "path", clipNorm: 10 },
  },
  "f32-cos-path-8x1x16": {
    description: "8 couplings, MLP 1×16, float32, cosine lr 1e-2, path gradient",
    config: { ...OLD_DEMO, nlayers: 8, dtype: "float32", lrSchedule: COS, gradient: "path" },
  },
  "f32-cos-path-4x2x16": {
    description: "4 couplings, MLP 2×16, float32, cosine lr 1e-2, path gradient",
    config: { ...OLD_DEMO, nmlp: 2, dtype: "float32", lrSchedule: COS, gradient: "path" },
  },
  "f32-cos-path-4x1x32": {
    description: "4 couplings, MLP 1×32, float32, cosine lr 1e-2, path gradient",
    config: { ...OLD_DEMO, nhidden: 32, dtype: "float32", lrSchedule: COS, gradient: "path" },
  },
};
/** the `train` default of this benchmark's first round (ELU, no repetition, no annealing), kept fixed */
RECIPES["new-default"] = {
  description:
    "`train` default after the first round: 4 couplings, MLP 1×16 (ELU), batch 256, lr 0.01 (warm-up 0.02, cosine to ×0.01), float32, path gradient",
  config: {
    ...OLD_DEMO,
    dtype: "float32",
    gradient: "path",
    lrSchedule: COS,
  },
};

/** `neuralrg train`'s default network and batch (TRAIN_DEFAULTS); bench/epoch.ts and bench/profile.ts time it too */
export const TRAIN_DEFAULT_NETWORK = {
  nlayers: D.nlayers,
  nmlp: D.nmlp,
  nhidden: D.nhidden,
  ...(D.activation !== "elu" ? { activation: D.activation } : {}),
  ...(D.nrepeat !== 1 ? { nrepeat: D.nrepeat } : {}),
  batch: D.batch,
};

/** the defaults of `neuralrg train` today (TRAIN_DEFAULTS) */
RECIPES["default"] = {
  description: `\`train\` default: ${D.nlayers} couplings, MLP ${D.nmlp}×${D.nhidden} (${D.activation}), nrepeat ${D.nrepeat}, batch ${D.batch}, lr ${D.lr} (warm-up ${D.warmup}, ${D.lrDecay} to ×${D.lrFinal}), ${D.dtype}, ${D.gradient} gradient${D.anneal > 0 ? `, β annealed from ${D.annealFrom}β over ${D.anneal} of the epochs` : ""}`,
  config: {
    ...TRAIN_DEFAULT_NETWORK,
    lr: D.lr,
    dtype: D.dtype,
    ...(D.gradient !== "reparam" ? { gradient: D.gradient } : {}),
    ...(D.lrDecay !== "constant" || D.warmup > 0
      ? { lrSchedule: { warmup: D.warmup, decay: D.lrDecay, final: D.lrFinal } }
      : {}),
    ...(D.anneal > 0 ? { anneal: { fraction: D.anneal, betaStart: D.annealFrom } } : {}),
  },
};

/** the activation lever: the new default with the rational activation (no exponential), and with a wider net */
for (const [name, extra, what] of [
  ["rational", {}, ""],
  ["rational-1x32", { nhidden: 32 }, ", MLP 1×32"],
  ["rational-8x1x16", { nlayers: 8 }, ", 8 couplings"],
  ["rational-nrepeat2", { nrepeat: 2 }, ", each level's layers twice (nrepeat 2)"],
  ["rational-8x1x16-lr2-b2", { nlayers: 8, lr: 2e-2, beta2: 0.99 }, ", 8 couplings, lr 2e-2, Adam β₂ 0.99"],
] as const) {
  RECIPES[name] = {
    description: `new default with the rational activation u/(1−u) for u < 0 instead of ELU${what}`,
    config: { ...RECIPES["new-default"].config, activation: "rational", ...extra },
  };
}

/** the β-annealing lever (src/train/anneal.ts): β rises from ½β_c to β_c over the first 30 % of the epochs */
const ANNEAL = { anneal: { fraction: 0.3, betaStart: 0.5 } } as const;
for (const base of ["new-default", "rational-8x1x16", "rational-nrepeat2", "rational-8x1x16-lr2-b2"]) {
  RECIPES[`${base}-anneal`] = {
    description: `${base}, β annealed from ½β_c over the first 30 % of the epochs`,
    config: { ...RECIPES[base].config, ...ANNEAL },
  };
}

/** The full TrainConfig of a recipe for the critical relaxed Ising model at size L. */
export function recipeConfig(r: Recipe, L: number, seed: number, epochs: number): TrainConfig {
  const { nlayers, nmlp, nhidden, activation, nrepeat, ...rest } = r.config;
  return {
    target: { kind: "ising", L, T: 2 / Math.log(1 + Math.SQRT2) },
    flow: {
      L,
      layout: "mera",
      depth: Math.log2(L),
      nlayers,
      nmlp,
      nhidden,
      ...(activation ? { activation } : {}),
      ...(nrepeat ? { nrepeat } : {}),
    },
    batch: 512,
    lr: 1e-3,
    weightDecay: 0,
    dtype: "float64",
    symmetrize: true,
    init: "identity",
    kernel: "wasm",
    ...rest,
    epochs,
    seed,
  };
}
