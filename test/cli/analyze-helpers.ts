import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { runTraining } from "../../src/train/run.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";

export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

export function expectOneLine(err: string): string[] {
  return err.trimEnd().split("\n");
}

/** Train a small L = 4 critical-Ising run (a few epochs) into a fresh temporary directory. */
export async function smallTrainedRun(epochs = 6): Promise<{ dir: string; cleanup: () => void }> {
  const root = mkdtempSync(join(tmpdir(), "neuralrg-analyze-"));
  const dir = join(root, "run");
  const config: TrainConfig = {
    target: { kind: "ising", L: 4, T: 2.269185314213022 },
    flow: { L: 4, layout: "mera", depth: 2, nlayers: 4, nmlp: 1, nhidden: 8 },
    batch: 64,
    epochs,
    lr: 5e-3,
    weightDecay: 0,
    seed: 5,
    dtype: "float64",
    symmetrize: true,
    init: "identity",
    kernel: "js",
  };
  await runTraining({ dir, config, savePeriod: epochs, progress: "off", evalSamples: 64 });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
