/**
 * Worker side of the data-parallel objective (parallel.ts): owns a flow model and a target
 * built from the run's TrainConfig, and evaluates the PDD loss and gradient on a shard of the
 * batch. Runs inside a node:worker_threads Worker (loaded through worker-entry.mjs).
 */
import { parentPort } from "node:worker_threads";
import type { Real } from "../engine/real.ts";
import { createFlow } from "../flow/flow.ts";
import { makeTarget } from "../targets/registry.ts";
import type { Target } from "../targets/target.ts";
import { annealedTargetSpec } from "./anneal.ts";
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
  let config: TrainConfig | null = null;
  let target: Target | null = null;
  let targetError = "worker used before init";
  port.on("message", (msg: { init?: TrainConfig; request?: ShardRequest; factor?: number }) => {
    try {
      if (msg.factor !== undefined && config) {
        // β annealing (anneal.ts): the run's target at β' = factor·β from now on
        target = null;
        try {
          target = makeTarget(annealedTargetSpec(config.target, msg.factor));
        } catch (err) {
          targetError = err instanceof Error ? err.message : String(err);
        }
        return;
      }
      if (msg.init) {
        config = msg.init;
        const model = createFlow(config.flow, config.kernel);
        target = makeTarget(config.target);
        evaluate = (r) => {
          if (!config || !target) throw new Error(targetError);
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
