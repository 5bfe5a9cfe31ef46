/**
 * One point of a scan, run inside a worker thread of the scan's pool (loaded through
 * worker-entry.mjs): trains into the point's run directory with runTraining (new, or resumed
 * from its checkpoint), reporting each epoch on a MessagePort. Setting the shared stop flag
 * (Atomics.store(flag, 0, 1)) ends training after the current epoch, with a checkpoint, as the
 * time budget does; shared memory because the epoch loop never yields to the event loop.
 */
import type { MessagePort } from "node:worker_threads";
import { runTraining } from "../train/run.ts";
import type { TrainConfig } from "../train/trainer.ts";

export interface PointTask {
  dir: string;
  config: TrainConfig;
  /** continue from the run directory's config/checkpoint */
  resume: boolean;
  savePeriod: number;
  evalSamples?: number;
  /** worker threads for this point's loss and gradient (default 1) */
  workers?: number;
  /** where the loss and gradient are computed (default cpu) */
  backend?: "cpu" | "webgpu";
  /** stop after the epoch that ends past this time (Date.now() milliseconds): the scan's budget */
  deadline?: number;
  /** receives PointMessage */
  port: MessagePort;
  /** Int32Array(1) view of shared memory: non-zero = stop after the current epoch */
  stopFlag: SharedArrayBuffer;
}

export type PointMessage = { type: "epoch"; epoch: number; F: number; relErr: number } | { type: "log"; line: string };

export interface PointOutcome {
  /** epochs trained in total (may be below the requested number when stopped) */
  epochs: number;
  F: number;
  F_stderr: number;
  rel_err: number | null;
}

export async function runPoint(task: PointTask): Promise<PointOutcome> {
  const { port } = task;
  const flag = new Int32Array(task.stopFlag);
  try {
    const { summary } = await runTraining({
      dir: task.dir,
      config: task.config,
      resume: task.resume,
      savePeriod: task.savePeriod,
      evalSamples: task.evalSamples,
      workers: task.workers ?? 1,
      backend: task.backend,
      progress: "off",
      shouldStop: () => Atomics.load(flag, 0) !== 0 || (task.deadline !== undefined && Date.now() >= task.deadline),
      log: (line) => port.postMessage({ type: "log", line } satisfies PointMessage),
      onEpoch: (m) =>
        port.postMessage({ type: "epoch", epoch: m.epoch, F: m.F, relErr: m.relErr } satisfies PointMessage),
    });
    return { epochs: summary.epochs, F: summary.F, F_stderr: summary.F_stderr, rel_err: summary.rel_err };
  } finally {
    port.close();
  }
}
