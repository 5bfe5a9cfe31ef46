/**
 * The compact tape of flow.ts (each layer's input kept at its block sites only) against the
 * straightforward full-state tape written out here: the kernels are called directly on full
 * rows, keeping a copy of the whole state before every layer. Both must give bit-identical
 * outputs, log-determinants, input adjoints and parameter gradients (the compact layout only
 * renames sites), for both kernels, both precisions and every layout, while the tape holds
 * Σ 4·nblocks numbers per row instead of (layers × N).
 */
import { describe, expect, it } from "vitest";
import type { DType, Real } from "../../src/engine/real.ts";
import { alloc } from "../../src/engine/real.ts";
import type { FlowConfig } from "../../src/flow/config.ts";
import type { FlowModel } from "../../src/flow/flow.ts";
import { backward, createFlow, generateWithTape, inferWithTape, passStates } from "../../src/flow/flow.ts";
import type { Direction } from "../../src/kernels/block.ts";
import { normals, randomParams } from "./helpers.ts";

/** Forward with a full copy of the state before every layer, then the kernels' backward on full rows. */
function fullTapeReference(
  model: FlowModel,
  params: Real,
  input: Real,
  gOut: Real,
  gLd: Float64Array,
  batch: number,
  dir: Direction,
) {
  const N = model.nvars;
  const order = model.layers.map((_, i) => i);
  if (dir === "generate") order.reverse();
  const state = input.slice() as Real;
  const logDet = new Float64Array(batch);
  const inputs: Real[] = [];
  for (const l of order) {
    inputs.push(state.slice() as Real);
    model.kernel.layerForward(model.specs[l], params, dir, state, N, model.layers[l], logDet, 0, batch);
  }
  const g = gOut.slice() as Real;
  const gParams = new Float64Array(params.length);
  for (let q = order.length - 1; q >= 0; q--) {
    model.kernel.layerBackward(
      model.specs[order[q]],
      params,
      gParams,
      dir,
      inputs[q],
      g,
      N,
      model.layers[order[q]],
      gLd,
      0,
      batch,
    );
  }
  return { out: state, logDet, gIn: g, gParams, tapeNumbers: inputs.length * batch * N };
}

function cast(a: Float64Array, dtype: DType): Real {
  const out = alloc(dtype, a.length);
  out.set(a);
  return out;
}

const configs: FlowConfig[] = [
  { L: 16, layout: "mera", depth: 4, nlayers: 2, nmlp: 1, nhidden: 4 },
  { L: 8, layout: "mera", depth: 2, nlayers: 3, nmlp: 2, nhidden: 3 },
  { L: 8, layout: "tree", depth: 3, nlayers: 2, nmlp: 1, nhidden: 3 },
  { L: 8, layout: "tebd", depth: 2, nlayers: 2, nmlp: 0, nhidden: 3 },
  { L: 2, layout: "mera", depth: 1, nlayers: 2, nmlp: 1, nhidden: 3 },
];

describe.each(configs)("compact tape, flow %o", (config) => {
  it.each([
    ["js", "float64"],
    ["wasm", "float64"],
    ["wasm", "float32"],
    ["js", "float32"],
  ] as const)("%s %s: bit-identical to the full-state tape in both directions", (kernel, dtype) => {
    const model = createFlow(config, kernel);
    const params = cast(randomParams(config, 3), dtype);
    const N = model.nvars;
    const batch = 5; // not a multiple of the SIMD widths (4 and 8 rows)
    for (const dir of ["generate", "infer"] as const) {
      const input = cast(normals(batch * N, 21), dtype);
      const gOut = cast(normals(batch * N, 22), dtype);
      const gLd = normals(batch, 23);
      const ref = fullTapeReference(model, params, input, gOut, gLd, batch, dir);
      const run =
        dir === "generate" ? generateWithTape(model, params, input, batch) : inferWithTape(model, params, input, batch);
      const out = "x" in run ? run.x : run.z;
      expect(Array.from(out)).toEqual(Array.from(ref.out));
      expect(Array.from(run.logDet)).toEqual(Array.from(ref.logDet));
      const gParams = new Float64Array(params.length);
      const gIn = backward(model, params, run.tape, gOut.slice() as Real, gLd, gParams);
      expect(Array.from(gIn)).toEqual(Array.from(ref.gIn));
      expect(Array.from(gParams)).toEqual(Array.from(ref.gParams));
      // the gradient is not trivially zero
      expect(gParams.some((v) => v !== 0)).toBe(true);
      // tape size: Σ_layers 4·nblocks per row
      const numbers = run.tape.inputs.reduce((s, a) => s + a.length, 0);
      const expected = batch * model.layers.reduce((s, l) => s + 4 * l.nblocks, 0);
      expect(numbers).toBe(expected);
      if (config.layout !== "tebd" && config.depth > 2) expect(numbers).toBeLessThan(0.5 * ref.tapeNumbers);
    }
  });
});

describe("tape size of a full-depth MERA", () => {
  it("is Σ_l 2·N/4^l < 8N/3 numbers per row (vs 2·log2(L)·N for full states)", () => {
    for (const L of [4, 16, 64]) {
      const model = createFlow({ L, layout: "mera", depth: Math.log2(L), nlayers: 2, nmlp: 1, nhidden: 2 });
      const perRow = model.layers.reduce((s, l) => s + 4 * l.nblocks, 0);
      let expected = 0;
      for (let l = 0; l < Math.log2(L); l++) expected += (2 * L * L) / 4 ** l;
      expect(perRow).toBe(expected);
      expect(perRow).toBeLessThan((8 / 3) * L * L);
    }
  });
});

describe("passStates", () => {
  it("returns the full state before every layer, the first being the input, and the pass output", () => {
    const config: FlowConfig = { L: 8, layout: "mera", depth: 3, nlayers: 2, nmlp: 1, nhidden: 3 };
    const model = createFlow(config);
    const params = randomParams(config, 4);
    const z = normals(2 * 64, 5);
    const p = passStates(model, params, z, 2, "generate");
    const g = generateWithTape(model, params, z, 2);
    expect(p.states.length).toBe(model.layers.length);
    expect(Array.from(p.states[0])).toEqual(Array.from(z));
    expect(Array.from(p.out)).toEqual(Array.from(g.x));
    expect(Array.from(p.logDet)).toEqual(Array.from(g.logDet));
    // each taped (compact) input is the full state at that layer's block sites
    const order = model.layers.map((_, i) => i).reverse();
    order.forEach((l, q) => {
      const layer = model.layers[l];
      const M = 4 * layer.nblocks;
      for (let b = 0; b < 2; b++)
        for (let i = 0; i < M; i++) expect(g.tape.inputs[q][b * M + i]).toBe(p.states[q][b * 64 + layer.blocks[i]]);
    });
  });
});
