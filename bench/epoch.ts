/**
 * One benchmark measurement, run in its own process by bench/run.ts so that peak RSS belongs
 * to this variant alone. Prints one JSON line:
 *   {impl, L, dtype, workers, warmup_s, epoch_s_median, epochs_timed, peak_rss_mb}
 * impl: "wasm" | "js" (our fused kernels through the trainer) | "jax" (the jax-js autodiff path) |
 * "webgpu" (the WGSL kernel through the trainer's async epoch, float32; also prints the adapter).
 */
import { Command } from "commander";
import { initEngine } from "../src/engine/jax.ts";
import type { Real } from "../src/engine/real.ts";
import { alloc } from "../src/engine/real.ts";
import { Rng } from "../src/engine/rng.ts";
import { initParams } from "../src/flow/params.ts";
import { referenceLossAndGrad } from "../src/flow/reference.ts";
import { relaxedIsing } from "../src/targets/ising.ts";
import { wasmKernelVariant } from "../src/kernels/wasm.ts";
import { ADAM_DEFAULTS, adamInit, adamStep } from "../src/train/adam.ts";
import type { WorkersOption } from "../src/train/parallel.ts";
import { ParallelObjective, parseWorkersOption, resolveWorkers } from "../src/train/parallel.ts";
import { createGpuTrainObjective, openNodeWebGpu } from "../src/gpu/node.ts";
import type { TrainConfig } from "../src/train/trainer.ts";
import { createTrainer, TRAIN_DEFAULTS, trainEpoch, trainEpochParallel } from "../src/train/trainer.ts";
import { trainConfig } from "../src/train/config.ts";
import { TRAIN_DEFAULT_NETWORK } from "./quality-recipes.ts";

const o = new Command()
  .option("--impl <k>", "wasm | js | jax | webgpu", "wasm")
  .option("--L <n>", "lattice size", Number, 16)
  .option("--dtype <t>", "float32 | float64 | default (train's default)", "float32")
  .option(
    "--workers <n>",
    "worker threads, or auto (as train's default)",
    (v: string) => parseWorkersOption(v),
    1 as WorkersOption,
  )
  .option("--epochs <n>", "timed epochs after the warm-up epochs", Number, 10)
  .option("--warmup-epochs <n>", "untimed epochs first (start-up, then V8 optimising the JavaScript)", Number, 3)
  .option("--max-seconds <s>", "stop timing after this long (at least 3 epochs)", Number, 1e9)
  .option("--gradient <g>", "reparam (the original's estimator) | path (train's default: path gradient)", "reparam")
  .option(
    "--network <n>",
    "readme (10 couplings, MLP 3×10, ELU, batch 512) | defaults (train's: 4 × MLP 1×16, rational, 2 layer groups, batch 256)",
    "readme",
  )
  .parse()
  .opts<{
    impl: "wasm" | "js" | "jax" | "webgpu";
    L: number;
    dtype: "float32" | "float64";
    workers: WorkersOption;
    epochs: number;
    warmupEpochs: number;
    maxSeconds: number;
    gradient: "reparam" | "path";
    network: "readme" | "defaults";
  }>();
if (o.gradient !== "reparam" && o.gradient !== "path") {
  throw new RangeError(`--gradient = ${String(o.gradient)} is invalid: expected reparam or path`);
}
if (o.network !== "readme" && o.network !== "defaults") {
  throw new RangeError(`--network = ${String(o.network)} is invalid: expected readme or defaults`);
}
if (!Number.isInteger(o.warmupEpochs) || o.warmupEpochs < 1) {
  throw new RangeError(`--warmup-epochs = ${String(o.warmupEpochs)} is invalid: expected an integer ≥ 1`);
}

if (o.dtype === ("default" as string)) o.dtype = TRAIN_DEFAULTS.dtype;
// readme: trainConfig's defaults are the original code's README network (ORIGINAL_DEFAULTS)
const config: TrainConfig = trainConfig(
  { kind: "ising", L: o.L, T: 2 / Math.log(1 + Math.SQRT2) },
  {
    ...(o.network === "readme" ? {} : TRAIN_DEFAULT_NETWORK),
    ...(o.gradient === "path" ? { gradient: "path" as const } : {}),
    epochs: 1e9,
    lr: 1e-3,
    weightDecay: 0,
    seed: 1,
    dtype: o.dtype,
    symmetrize: true,
    init: "torch",
    kernel: o.impl === "jax" ? "js" : o.impl === "webgpu" ? "wasm" : o.impl,
  },
);

const times: number[] = [];
const cpuTimes: number[] = [];
let warmup = 0;
let workers = 1;
let poolReady: number | null = null;
let adapter: string | undefined;
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const t0 = performance.now();
if (o.impl === "jax") {
  // The plain autodiff path: the same flow and symmetrised loss written with jax-js ops.
  await initEngine();
  const target = relaxedIsing({ L: o.L, T: config.target.T as number });
  const Kinv = target.inverseMatrix();
  const rng = Rng.fromSeed(1);
  const params = initParams(config.flow, "float64", () => rng.uniform(), "torch").data;
  const adam = adamInit(params.length);
  const step = () => {
    const z: Real = alloc("float64", config.batch * o.L * o.L);
    rng.fillNormal(z);
    const r = referenceLossAndGrad(
      config.flow,
      params,
      z,
      config.batch,
      { kind: "relaxedIsing", Kinv },
      { symmetrize: true, dtype: o.dtype, device: "wasm" },
    );
    adamStep(params, r.grad, adam, ADAM_DEFAULTS);
  };
  step();
  warmup = (performance.now() - t0) / 1000;
  for (let e = 1; e < o.warmupEpochs; e++) step();
  const start = performance.now();
  for (let e = 0; e < o.epochs && (e < 3 || (performance.now() - start) / 1000 < o.maxSeconds); e++) {
    const s = performance.now();
    const c = cpuNow();
    step();
    times.push((performance.now() - s) / 1000);
    cpuTimes.push(cpuNow() - c);
  }
} else {
  const state = createTrainer(config, relaxedIsing({ L: o.L, T: config.target.T as number }));
  const gpu = o.impl === "webgpu" ? await openNodeWebGpu() : null;
  adapter = gpu?.adapter;
  // as `train` does: the workers load in the background while the first epochs run in this thread
  workers = gpu ? 1 : resolveWorkers(o.workers, config.batch, o.L * o.L);
  const pool = gpu
    ? await createGpuTrainObjective(gpu, state)
    : workers > 1
      ? await ParallelObjective.create(config, workers, { background: true })
      : null;
  const epoch = async () => (pool ? trainEpochParallel(state, pool) : trainEpoch(state));
  await epoch();
  warmup = (performance.now() - t0) / 1000;
  if (pool instanceof ParallelObjective) await pool.whenReady();
  poolReady = (performance.now() - t0) / 1000;
  for (let e = 1; e < o.warmupEpochs; e++) await epoch();
  const start = performance.now();
  for (let e = 0; e < o.epochs && (e < 3 || (performance.now() - start) / 1000 < o.maxSeconds); e++) {
    const s = performance.now();
    const c = cpuNow();
    await epoch();
    times.push((performance.now() - s) / 1000);
    cpuTimes.push(cpuNow() - c);
  }
  await pool?.close();
  gpu?.destroy();
}
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
// maxRSS of this process; worker threads share it
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(
  JSON.stringify({
    impl: o.impl,
    L: o.L,
    dtype: o.dtype,
    workers,
    workers_option: o.workers,
    gradient: o.gradient,
    network: o.network,
    ...(o.impl === "wasm" || o.impl === "webgpu" ? { wasm_build: wasmKernelVariant() } : {}),
    pool_ready_s: poolReady,
    ...(adapter !== undefined ? { adapter } : {}),
    warmup_s: warmup,
    epoch_s_median: times[Math.floor(times.length / 2)],
    epoch_cpu_s_median: cpuTimes[Math.floor(cpuTimes.length / 2)],
    epochs_timed: times.length,
    peak_rss_mb: Math.round(peakRssMb),
  }),
);
