/**
 * `neuralrg demo` (what `npm start` runs): trains an 8×8 critical relaxed-Ising flow for a few
 * minutes on one core, then prints the variational F, the exact −ln Z and the relative error,
 * leaving a run directory with config, checkpoint, metrics and the training curve (SVG/PNG).
 */
import type { Command } from "commander";
import type { CliContext } from "./command.ts";
import { println } from "./command.ts";
import { makeTarget } from "../targets/registry.ts";
import { createTrainer, trainEpoch } from "../train/trainer.ts";
import { addTrainOptions, trainConfigFromOptions, trainFromOptions, type TrainCliOptions } from "./train.ts";

/**
 * The demo trains with the defaults of `train` (float32, path gradient, lr 1e-2 with warm-up and
 * cosine decay; docs/quality.md) on a small network, for 5000 epochs (about 1.5 CPU-minutes at
 * L = 8), or fewer on a slow or busy machine: as many as fit into 80 % of the 3-minute limit.
 */
export const DEMO_DEFAULTS = {
  L: 8,
  epochs: 5000,
  maxSeconds: 180,
  nlayers: 4,
  nhidden: 16,
  nmlp: 1,
  batch: 256,
  lr: 1e-2,
};

/**
 * Epochs of these options that fit into 80 % of `seconds` of wall time on this machine, from
 * timing a few epochs of a throwaway trainer (between 200 and the requested epochs).
 */
export function fitEpochs(o: TrainCliOptions, seconds: number): number {
  let perEpoch: number;
  try {
    const config = trainConfigFromOptions(o);
    // large epochs are left to train, which refuses those that cannot fit in memory
    if (config.batch * config.flow.L * config.flow.L > 1 << 22) return o.epochs;
    const t = createTrainer(config, makeTarget(config.target));
    for (let i = 0; i < 5; i++) trainEpoch(t); // warm-up (compilation)
    const n = 15;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) trainEpoch(t);
    perEpoch = (performance.now() - t0) / 1000 / n;
  } catch {
    return o.epochs; // options that cannot train: `train` reports them (exit 2) or fails as it would
  }
  return Math.max(200, Math.min(o.epochs, Math.floor((0.8 * seconds) / perEpoch)));
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("demo")
    .description(
      `train an 8×8 critical relaxed Ising flow for at most ${DEMO_DEFAULTS.maxSeconds / 60} minutes and compare F with the exact -ln Z (same options as train, with demo defaults)`,
    );
  addTrainOptions(cmd, { L: DEMO_DEFAULTS.L, epochs: DEMO_DEFAULTS.epochs });
  // demo defaults: a smaller network that learns fast on one core
  cmd.setOptionValueWithSource("nlayers", DEMO_DEFAULTS.nlayers, "default");
  cmd.setOptionValueWithSource("nmlp", DEMO_DEFAULTS.nmlp, "default");
  cmd.setOptionValueWithSource("nhidden", DEMO_DEFAULTS.nhidden, "default");
  cmd.setOptionValueWithSource("batch", DEMO_DEFAULTS.batch, "default");
  cmd.setOptionValueWithSource("lr", DEMO_DEFAULTS.lr, "default");
  cmd.setOptionValueWithSource("maxSeconds", DEMO_DEFAULTS.maxSeconds, "default");
  cmd.setOptionValueWithSource("out", "runs/demo", "default");
  cmd.setOptionValueWithSource("overwrite", true, "default");
  cmd.action(async (o: TrainCliOptions, c: Command) => {
    // the lr schedule runs over the epochs: on a slow or busy machine, fewer epochs that finish
    // (and decay) within the time limit beat more epochs cut off by it
    if (c.getOptionValueSource("epochs") !== "cli" && o.maxSeconds !== undefined) {
      o.epochs = fitEpochs(o, o.maxSeconds);
    }
    println(
      ctx,
      `neuralrg demo: 8×8 relaxed Ising at T = ${o.T.toFixed(6)} (critical), ${o.epochs} epochs (at most ${o.maxSeconds} s)`,
    );
    const s = await trainFromOptions(ctx, o);
    if (s.bound_violated) ctx.exitCode = 1;
  });
}
