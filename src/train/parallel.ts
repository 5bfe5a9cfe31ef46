/**
 * Data-parallel PDD objective over worker threads (one per core): the batch is split into
 * contiguous shards, each worker returns its shard's per-sample losses and mean gradient, and
 * the gradients are combined with weights shard/batch in a fixed order. Results equal the
 * single-threaded objective up to floating-point rounding, and the same seed with the same
 * number of workers gives the same numbers.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Real } from "../engine/real.ts";
import type { Target } from "../targets/target.ts";
import { createFlow } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import { pddLossAndGrad } from "./objectives.ts";
import type { TrainConfig } from "./trainer.ts";
import { objectiveOptions } from "./trainer.ts";
import type { ShardResult } from "./worker.ts";

/** A worker count, or "auto": one worker per core when the batch is large enough to gain. */
export type WorkersOption = number | "auto";

/**
 * Smallest batch × sites per worker thread for "auto". Measured (bench/epoch.ts, wasm float32,
 * README network, batch 512): at L = 4 (8,192 per worker with 1) two workers gained nothing,
 * at L = 8 (32,768 per worker with 1) 0.13 s of wall time per epoch with two workers against
 * 0.14 s of CPU time with one (a busy machine); at L = 64 two workers ran 1.9× faster on an idle one.
 */
export const AUTO_MIN_SITES_PER_WORKER = 32_768;

/**
 * The worker count of a run: `n` as given, or for "auto" one per available core (at most
 * `cores`), but only as many as keep batch × sites per worker ≥ AUTO_MIN_SITES_PER_WORKER;
 * 1 means this thread, no workers.
 */
export function resolveWorkers(w: WorkersOption, batch: number, nvars: number, cores = availableParallelism()): number {
  if (w !== "auto") return w;
  const byWork = Math.floor((batch * nvars) / AUTO_MIN_SITES_PER_WORKER);
  return Math.max(1, Math.min(cores, byWork, batch, 64));
}

/** Parser of a --workers value: "auto" or an integer in 1..64 (RangeError otherwise). */
export function parseWorkersOption(v: string): WorkersOption {
  if (v === "auto") return "auto";
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new RangeError(`workers = ${v} is invalid: accepted values are auto or an integer in 1..64`);
  }
  return n;
}

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

  /** Messages are handled in order: every later request uses the target at β' = factor·β. */
  setFactor(factor: number): void {
    this.worker.postMessage({ factor });
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
  /** true once every worker has loaded; until then (background start) this thread evaluates */
  private started = false;
  private local: ((params: Real, z: Real, batch: number) => { perSample: Float64Array; grad: Float64Array }) | null =
    null;
  /** β'/β of the target the workers evaluate (anneal.ts) and, in this thread, that target (null: the run's) */
  private factor = 1;
  private localTarget: Target | null = null;
  private readonly allReady: Promise<void>;

  private constructor(
    private readonly workers: ShardWorker[],
    private readonly config: TrainConfig,
  ) {
    this.allReady = Promise.all(workers.map((w) => w.ready)).then(() => {
      this.started = true;
    });
  }

  /**
   * Start `nworkers` workers for this run configuration (≥ 1). By default waits until they have
   * loaded (≈ 0.5 s each); with `background`, returns at once and evaluates in this thread until
   * they are ready (the same numbers up to rounding), so that starting them costs no wall time.
   * A worker that fails to load then leaves the evaluation in this thread.
   */
  static async create(
    config: TrainConfig,
    nworkers: number,
    opts: { background?: boolean } = {},
  ): Promise<ParallelObjective> {
    if (!Number.isInteger(nworkers) || nworkers < 1 || nworkers > 64) {
      throw new RangeError(`workers = ${nworkers} is invalid: workers must be an integer in 1..64`);
    }
    const ws = Array.from({ length: nworkers }, () => new ShardWorker(config));
    const pool = new ParallelObjective(ws, config);
    if (opts.background) {
      pool.allReady.catch(() => Promise.all(ws.map((w) => w.terminate())));
      return pool;
    }
    try {
      await pool.allReady;
    } catch (err) {
      await Promise.all(ws.map((w) => w.terminate()));
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves when the workers have loaded (rejects if one failed). */
  whenReady(): Promise<void> {
    return this.allReady;
  }

  /** Evaluate against the run's target at β' = factor·β (β annealing; `target` is that target). */
  useTarget(factor: number, target: Target): void {
    if (factor === this.factor) return;
    this.factor = factor;
    this.localTarget = target;
    for (const w of this.workers) w.setFactor(factor);
  }

  /** Per-sample losses and the batch-mean gradient, computed shard by shard in parallel. */
  async lossAndGrad(
    params: Real,
    z: Real,
    batch: number,
    nvars: number,
  ): Promise<{ perSample: Float64Array; grad: Float64Array }> {
    if (!this.started) return this.evaluateHere(params, z, batch);
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

  /** The objective of a worker, evaluated in this thread on the whole batch. */
  private evaluateHere(params: Real, z: Real, batch: number): { perSample: Float64Array; grad: Float64Array } {
    if (this.local === null) {
      const config = this.config;
      const model = createFlow(config.flow, config.kernel);
      const runTarget = makeTarget(config.target);
      this.local = (p, zz, b) => {
        const target = this.localTarget ?? runTarget;
        const out = pddLossAndGrad(model, p, target, zz, b, objectiveOptions(config));
        return { perSample: out.perSample, grad: out.grad };
      };
    }
    return this.local(params, z, batch);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
