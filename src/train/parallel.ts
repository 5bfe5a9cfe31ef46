/**
 * Data-parallel PDD objective over worker threads (one per core): the batch is split into
 * contiguous shards, each worker returns its shard's per-sample losses and mean gradient, and
 * the gradients are combined with weights shard/batch in a fixed order. Results equal the
 * single-threaded objective up to floating-point rounding, and the same seed with the same
 * number of workers gives the same numbers.
 */
import { Worker } from "node:worker_threads";
import type { Real } from "../engine/real.ts";
import type { TrainConfig } from "./trainer.ts";
import type { ShardResult } from "./worker.ts";

interface Pending {
  resolve: (r: ShardResult) => void;
  reject: (e: Error) => void;
}

class ShardWorker {
  private readonly worker: Worker;
  private pending: Pending | null = null;
  readonly ready: Promise<void>;

  constructor(config: TrainConfig) {
    this.worker = new Worker(new URL("./worker-entry.mjs", import.meta.url));
    this.ready = new Promise((resolve, reject) => {
      const onMsg = (m: { ready?: boolean; error?: string }) => {
        if (m.ready) resolve();
        else if (m.error) reject(new Error(m.error));
      };
      this.worker.once("message", onMsg);
      this.worker.once("error", reject);
    });
    this.worker.on("message", (m: { result?: ShardResult; error?: string }) => {
      const p = this.pending;
      if (!p) return;
      this.pending = null;
      if (m.result) p.resolve(m.result);
      else if (m.error) p.reject(new Error(m.error));
    });
    this.worker.on("error", (e) => {
      this.pending?.reject(e);
      this.pending = null;
    });
    this.worker.postMessage({ init: JSON.parse(JSON.stringify(config)) });
  }

  run(params: Real, z: Real, batch: number): Promise<ShardResult> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ request: { params, z, batch } });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class ParallelObjective {
  private constructor(private readonly workers: ShardWorker[]) {}

  /** Start `nworkers` workers for this run configuration (≥ 1). */
  static async create(config: TrainConfig, nworkers: number): Promise<ParallelObjective> {
    if (!Number.isInteger(nworkers) || nworkers < 1 || nworkers > 64) {
      throw new RangeError(`workers = ${nworkers} is invalid: workers must be an integer in 1..64`);
    }
    const ws = Array.from({ length: nworkers }, () => new ShardWorker(config));
    try {
      await Promise.all(ws.map((w) => w.ready));
    } catch (err) {
      await Promise.all(ws.map((w) => w.terminate()));
      throw err;
    }
    return new ParallelObjective(ws);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Per-sample losses and the batch-mean gradient, computed shard by shard in parallel. */
  async lossAndGrad(params: Real, z: Real, batch: number, nvars: number): Promise<{ perSample: Float64Array; grad: Float64Array }> {
    const k = Math.min(this.workers.length, batch);
    const bounds = Array.from({ length: k + 1 }, (_, i) => Math.round((i * batch) / k));
    const results = await Promise.all(
      Array.from({ length: k }, (_, i) => {
        const b0 = bounds[i];
        const b1 = bounds[i + 1];
        return this.workers[i].run(params, z.slice(b0 * nvars, b1 * nvars) as Real, b1 - b0);
      }),
    );
    const perSample = new Float64Array(batch);
    const grad = new Float64Array(params.length);
    for (let i = 0; i < k; i++) {
      const w = (bounds[i + 1] - bounds[i]) / batch;
      perSample.set(results[i].perSample, bounds[i]);
      const g = results[i].grad;
      for (let j = 0; j < grad.length; j++) grad[j] += w * g[j];
    }
    return { perSample, grad };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
