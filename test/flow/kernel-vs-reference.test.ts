/**
 * The fused kernels (JS and WebAssembly) against the jax-js autodiff reference: flow outputs,
 * log-determinants, the PDD loss and every gradient component, in float64 (≤ 1e-6
 * relative). The reference runs on jax-js's cpu backend (its wasm backend evaluates float64
 * transcendentals in float32; see src/flow/reference.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../src/engine/jax.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import { createFlow, generate } from "../../src/flow/flow.ts";
import { referenceGenerate, referenceLossAndGrad } from "../../src/flow/reference.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { normals, randomParams } from "./helpers.ts";

beforeAll(async () => {
  await initEngine();
});

const configs: FlowConfig[] = [
  { L: 4, layout: "mera", depth: 2, nlayers: 3, nmlp: 2, nhidden: 4 },
  { L: 4, layout: "tree", depth: 1, nlayers: 2, nmlp: 1, nhidden: 3 },
  { L: 4, layout: "mera", depth: 2, nlayers: 3, nmlp: 2, nhidden: 4, activation: "rational" },
];

describe.each(["js", "wasm"] as const)("%s kernel vs jax-js autodiff", (kernel) => {
  it.each(configs)("generate and log-det agree (%o)", (config) => {
    const model = createFlow(config, kernel);
    const params = randomParams(config, 4);
    const batch = 3;
    const z = normals(batch * 16, 8);
    const ours = generate(model, params, z, batch);
    const ref = referenceGenerate(config, params, z, batch);
    for (let k = 0; k < z.length; k++)
      expect(Math.abs(ours.x[k] - ref.x[k])).toBeLessThan(1e-10 * (1 + Math.abs(ref.x[k])));
    for (let b = 0; b < batch; b++)
      expect(Math.abs(ours.logDet[b] - ref.logDet[b])).toBeLessThan(1e-10 * (1 + Math.abs(ref.logDet[b])));
  });

  it.each([
    [false, 0],
    [true, 0],
    [true, 2],
  ])("PDD loss and every gradient component agree (symmetrize=%s, config %i)", (symmetrize, which) => {
    const config = configs[which];
    const model = createFlow(config, kernel);
    const params = randomParams(config, 5, 0.4);
    const target = relaxedIsing({ L: 4, T: 2.3 });
    const batch = 4;
    const z = normals(batch * 16, 9);
    const ours = pddLossAndGrad(model, params, target, z, batch, { symmetrize });
    const ref = referenceLossAndGrad(
      config,
      params,
      z,
      batch,
      { kind: "relaxedIsing", Kinv: target.inverseMatrix() },
      { symmetrize },
    );
    expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-6 * Math.abs(ref.loss));
    let scale = 0;
    for (const g of ref.grad) scale = Math.max(scale, Math.abs(g));
    expect(scale).toBeGreaterThan(1e-3);
    let worst = 0;
    for (let i = 0; i < params.length; i++)
      worst = Math.max(worst, Math.abs(ours.grad[i] - ref.grad[i]) / (Math.abs(ref.grad[i]) + 1e-6 * scale));
    expect(worst).toBeLessThan(1e-6);
  });
});
