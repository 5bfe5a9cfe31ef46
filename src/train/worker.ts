/**
 * Worker side of the data-parallel objective (parallel.ts): owns a flow model and a target
 * built from the run's TrainConfig, and evaluates the PDD loss and gradient on a shard of the
 * batch. Runs inside a node:worker_threads Worker (loaded through worker-entry.mjs).
 */
import { parentPort } from "node:worker_threads";
import type { Real } from "../engine/real.ts";
import { createFlow } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import { pddLossAndGrad } from "./objectives.ts";
import type { TrainConfig } from "./trainer.ts";
import { objectiveOptions } from "./trainer.ts";

export interface ShardRequest {
  params: Real;
  z: Real;
  batch: number;
}

export interface ShardResult {
  perSample: Float64Array;
  grad: Float64Array;
}

if (parentPort) {
  const port = parentPort;
  let evaluate: ((r: ShardRequest) => ShardResult) | null = null;
  port.on("message", (msg: { init?: TrainConfig; request?: ShardRequest }) => {
    try {
      if (msg.init) {
        const config = msg.init;
        const model = createFlow(config.flow, config.kernel);
        const target = makeTarget(config.target);
        evaluate = (r) => {
          const out = pddLossAndGrad(model, r.params, target, r.z, r.batch, objectiveOptions(config));
          return { perSample: out.perSample, grad: out.grad };
        };
        port.postMessage({ ready: true });
        return;
      }
      if (msg.request && evaluate) {
        const res = evaluate(msg.request);
        port.postMessage({ result: res }, [res.perSample.buffer as ArrayBuffer, res.grad.buffer as ArrayBuffer]);
      }
    } catch (err) {
      port.postMessage({ error: err instanceof Error ? err.message : String(err) });
    }
  });
}
