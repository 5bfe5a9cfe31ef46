/**
 * `nrepeat` R (the original code's `-nrepeat`): each level's layer group repeated R times
 * (flow/layout.ts). The flow stays a bijection with the right log-determinant, the kernels
 * (JS, WebAssembly) agree with the jax-js reference on it, and R = 1 is exactly the flow of a
 * config without the field.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../src/engine/jax.ts";
import type { FlowConfig, LayoutKind } from "../../src/flow/config.ts";
import { validateFlowConfig } from "../../src/flow/config.ts";
import { collectiveVariables } from "../../src/flow/collective.ts";
import { createFlow, generate, generateWithTape, infer, passStates } from "../../src/flow/flow.ts";
import { buildLayers, latentScale } from "../../src/flow/layout.ts";
import { paramCount, viewParams } from "../../src/flow/params.ts";
import { referenceGenerate, referenceLossAndGrad } from "../../src/flow/reference.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { trainConfig } from "../../src/train/config.ts";
import { tapeSitesPerRow } from "../../src/train/memory.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { bruteLogDet, normals, randomParams } from "./helpers.ts";

beforeAll(async () => {
  await initEngine();
});

const L4: FlowConfig = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 4, nrepeat: 2 };
const L8: FlowConfig = { L: 8, layout: "mera", depth: 3, nlayers: 2, nmlp: 1, nhidden: 3, nrepeat: 2 };
const configs: FlowConfig[] = [
  L4,
  L8,
  { ...L4, layout: "tree" },
  { ...L4, layout: "tebd" },
  { ...L4, depth: 1, nrepeat: 3 },
  { ...L8, depth: 2 },
];

describe("nrepeat: layers", () => {
  it.each([
    ["mera", 2],
    ["tree", 1],
    ["tebd", 2],
  ] as [LayoutKind, number][])("%s: R × %i layers per level, each level's group repeated in place", (layout, per) => {
    for (const [L, depth] of [
      [4, 2],
      [8, 3],
      [8, 2],
    ]) {
      const one = buildLayers({ ...L8, L, depth, layout, nrepeat: 1 });
      expect(one).toHaveLength(per * depth);
      for (const R of [2, 3, 8]) {
        const rep = buildLayers({ ...L8, L, depth, layout, nrepeat: R });
        expect(rep).toHaveLength(R * per * depth);
        for (let level = 0; level < depth; level++) {
          const group = one.slice(level * per, (level + 1) * per);
          for (let r = 0; r < R; r++) {
            for (let k = 0; k < per; k++) {
              const a = rep[(level * R + r) * per + k];
              expect(a.level).toBe(group[k].level);
              expect(a.role).toBe(group[k].role);
              expect(Array.from(a.blocks)).toEqual(Array.from(group[k].blocks));
            }
          }
        }
      }
    }
  });

  it("the parameter count scales with R; the latent scales do not change", () => {
    for (const c of configs) {
      const R = c.nrepeat ?? 1;
      expect(paramCount(c)).toBe(R * paramCount({ ...c, nrepeat: 1 }));
      const m = createFlow(c);
      expect(Array.from(m.scaleOfSite)).toEqual(Array.from(createFlow({ ...c, nrepeat: 1 }).scaleOfSite));
    }
    expect(Array.from(createFlow(L8).scaleOfSite)).toEqual(Array.from(latentScale(8, 3)));
  });

  it("a site's latent value is final after its level's last layer (latentScale holds with R > 1)", () => {
    const model = createFlow(L8);
    const params = randomParams(L8, 3);
    const x = normals(64, 4);
    const { states, out: z } = passStates(model, params, x, 1, "infer");
    model.layers.forEach((layer, q) => {
      const lastOfLevel = model.layers[q + 1]?.level !== layer.level;
      const after = q + 1 === model.layers.length ? z : states[q + 1];
      // sites of scale ≤ this level: final iff this is the level's last layer
      let changedLater = false;
      for (let i = 0; i < 64; i++) {
        if (model.scaleOfSite[i] > layer.level) continue;
        if (Math.abs(after[i] - z[i]) > 0) changedLater = true;
      }
      if (lastOfLevel) expect(changedLater).toBe(false);
      else if (layer.role === "decimator") expect(changedLater).toBe(true); // the next repetition mixes them again
    });
  });

  it("collective variables: one entry per level, read after the level's last decimator", () => {
    const model = createFlow(L8);
    const params = randomParams(L8, 5);
    const x = normals(2 * 64, 6);
    const cv = collectiveVariables(model, params, x, 2);
    expect(cv.levels.map((l) => l.level)).toEqual([0, 1, 2]);
    const { states } = passStates(model, params, x, 2, "infer");
    // level 0's last decimator is layer 3 ([dis, dec, dis, dec]): its output is states[4]
    const lv = cv.levels[0];
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < lv.sites.length; p++)
        expect(lv.values[b * lv.sites.length + p]).toBe(states[4][b * 64 + lv.sites[p]]);
  });

  it("the memory estimate counts the taped numbers of R repetitions", () => {
    for (const layout of ["mera", "tree", "tebd"] as LayoutKind[]) {
      for (const R of [1, 2, 5]) {
        const c = { ...L8, layout, nrepeat: R };
        const layers = buildLayers(c);
        expect(tapeSitesPerRow(8, layout, 3, R)).toBe(layers.reduce((s, l) => s + 4 * l.nblocks, 0));
      }
    }
    const model = createFlow(L8);
    const { tape } = generateWithTape(model, new Float64Array(model.nparams), new Float64Array(3 * 64), 3);
    expect(tape.inputs.reduce((s, a) => s + a.length, 0)).toBe(3 * tapeSitesPerRow(8, "mera", 3, 2));
  });

  it("validation names the value and the range", () => {
    for (const bad of [0, 9, 1.5, -1, Number.NaN, null, "2"]) {
      expect(() => validateFlowConfig({ ...L4, nrepeat: bad as unknown as number })).toThrow(RangeError);
      expect(() => validateFlowConfig({ ...L4, nrepeat: bad as unknown as number })).toThrow(
        /nrepeat = .* is invalid: nrepeat must be an integer in 1\.\.8/,
      );
    }
    for (const ok of [1, 2, 8, undefined]) expect(() => validateFlowConfig({ ...L4, nrepeat: ok })).not.toThrow();
  });
});

describe.each(configs)("nrepeat flow %o", (config) => {
  const model = createFlow(config);
  const params = randomParams(config);
  const N = model.nvars;

  it("generate ∘ infer and infer ∘ generate are the identity, log-determinants opposite", () => {
    const batch = 3;
    const z = normals(batch * N);
    const g = generate(model, params, z, batch);
    const i = infer(model, params, g.x, batch);
    for (let k = 0; k < z.length; k++) expect(Math.abs(i.z[k] - z[k])).toBeLessThan(1e-10);
    for (let b = 0; b < batch; b++) expect(Math.abs(i.logDet[b] + g.logDet[b])).toBeLessThan(1e-10);
    const x = normals(batch * N, 9);
    const back = generate(model, params, infer(model, params, x, batch).z, batch).x;
    for (let k = 0; k < x.length; k++) expect(Math.abs(back[k] - x[k])).toBeLessThan(1e-10);
    let diff = 0;
    for (let k = 0; k < z.length; k++) diff = Math.max(diff, Math.abs(g.x[k] - z[k]));
    expect(diff).toBeGreaterThan(1e-2);
  });

  it("log-determinant equals ln|det| of the finite-difference Jacobian", () => {
    const z = normals(N, 7);
    const { logDet } = generate(model, params, z, 1);
    expect(Math.abs(bruteLogDet(model, params, z) - logDet[0])).toBeLessThan(1e-6);
    // the repetitions contribute: without the scales of the copies r ≥ 1 the log-determinant changes
    const per = config.layout === "tree" ? 1 : 2;
    const seen = new Map<number, number>();
    const p1 = params.slice();
    const view = viewParams(config, p1);
    model.layers.forEach((layer, l) => {
      const n = seen.get(layer.level) ?? 0;
      seen.set(layer.level, n + 1);
      const r = config.layout === "tebd" ? Math.floor(l / per) % (config.nrepeat ?? 1) : Math.floor(n / per);
      if (r >= 1) for (const c of view.layers[l]) c.sScale.fill(0);
    });
    expect(Math.abs(generate(model, p1, z, 1).logDet[0] - logDet[0])).toBeGreaterThan(1e-3);
  });
});

describe.each([L4, L8])("nrepeat: kernels vs jax-js autodiff (%o)", (config) => {
  const N = config.L * config.L;
  const target = relaxedIsing({ L: config.L, T: 2.3 });
  const params = randomParams(config, 5, 0.4);
  const batch = 4;
  const z = normals(batch * N, 9);
  // the symmetrised objective on the small lattice; the plain one on L = 8 (half the reference's cost)
  const symmetrize = config.L === 4;

  it("generate and log-det: js and wasm match the reference in float64", () => {
    const ref = referenceGenerate(config, params, z, batch);
    for (const kernel of ["js", "wasm"] as const) {
      const ours = generate(createFlow(config, kernel), params, z, batch);
      for (let k = 0; k < z.length; k++)
        expect(Math.abs(ours.x[k] - ref.x[k])).toBeLessThan(1e-10 * (1 + Math.abs(ref.x[k])));
      for (let b = 0; b < batch; b++)
        expect(Math.abs(ours.logDet[b] - ref.logDet[b])).toBeLessThan(1e-10 * (1 + Math.abs(ref.logDet[b])));
    }
  });

  it("PDD loss and every gradient component: js, wasm and reference agree in float64", () => {
    const ref = referenceLossAndGrad(
      config,
      params,
      z,
      batch,
      { kind: "relaxedIsing", Kinv: target.inverseMatrix() },
      { symmetrize },
    );
    let scale = 0;
    for (const g of ref.grad) scale = Math.max(scale, Math.abs(g));
    expect(scale).toBeGreaterThan(1e-3);
    const js = pddLossAndGrad(createFlow(config, "js"), params, target, z, batch, { symmetrize });
    const wa = pddLossAndGrad(createFlow(config, "wasm"), params, target, z, batch, { symmetrize });
    for (const ours of [js, wa]) {
      expect(Math.abs(ours.loss - ref.loss)).toBeLessThan(1e-6 * Math.abs(ref.loss));
      let worst = 0;
      for (let i = 0; i < params.length; i++)
        worst = Math.max(worst, Math.abs(ours.grad[i] - ref.grad[i]) / (Math.abs(ref.grad[i]) + 1e-6 * scale));
      expect(worst).toBeLessThan(1e-6);
    }
    // wasm and js: the same arithmetic up to rounding
    expect(Math.abs(wa.loss - js.loss)).toBeLessThan(1e-12 * Math.abs(js.loss));
    let worst = 0;
    for (let i = 0; i < params.length; i++)
      worst = Math.max(worst, Math.abs(wa.grad[i] - js.grad[i]) / (Math.abs(js.grad[i]) + 1e-9 * scale));
    expect(worst).toBeLessThan(1e-9);
  });

  it("float32: the wasm kernel's loss and gradient agree with the JS kernel", () => {
    const p32 = Float32Array.from(params);
    const z32 = Float32Array.from(z);
    const js = pddLossAndGrad(createFlow(config, "js"), p32, target, z32, batch, { symmetrize: true });
    const wa = pddLossAndGrad(createFlow(config, "wasm"), p32, target, z32, batch, { symmetrize: true });
    expect(Math.abs(wa.loss - js.loss)).toBeLessThan(1e-6 * Math.abs(js.loss));
    let num = 0;
    let den = 0;
    for (let i = 0; i < p32.length; i++) {
      num = Math.max(num, Math.abs(wa.grad[i] - js.grad[i]));
      den = Math.max(den, Math.abs(js.grad[i]));
    }
    expect(den).toBeGreaterThan(1e-3);
    expect(num / den).toBeLessThan(1e-5);
  });
});

describe("nrepeat = 1 is the flow of a config without the field", () => {
  const { nrepeat: _, ...plain } = L8;
  const one: FlowConfig = { ...plain, nrepeat: 1 };

  it("same layers, parameter layout, outputs and loss (bit for bit)", () => {
    expect(paramCount(one)).toBe(paramCount(plain));
    expect(buildLayers(one).map((l) => [l.level, l.role, Array.from(l.blocks)])).toEqual(
      buildLayers(plain).map((l) => [l.level, l.role, Array.from(l.blocks)]),
    );
    const params = randomParams(plain, 11);
    expect(Array.from(randomParams(one, 11))).toEqual(Array.from(params));
    const vOne = viewParams(one, params);
    const vPlain = viewParams(plain, params);
    expect(vOne.layers.length).toBe(vPlain.layers.length);
    vOne.layers.forEach((layer, l) =>
      layer.forEach((c, k) => {
        expect(c.sScale.byteOffset).toBe(vPlain.layers[l][k].sScale.byteOffset);
        expect(c.t[0].W.byteOffset).toBe(vPlain.layers[l][k].t[0].W.byteOffset);
      }),
    );
    const target = relaxedIsing({ L: 8, T: 2.3 });
    const z = normals(3 * 64, 12);
    for (const kernel of ["js", "wasm"] as const) {
      const a = pddLossAndGrad(createFlow(one, kernel), params, target, z, 3, { symmetrize: true });
      const b = pddLossAndGrad(createFlow(plain, kernel), params, target, z, 3, { symmetrize: true });
      expect(a.loss).toBe(b.loss);
      expect(Array.from(a.grad)).toEqual(Array.from(b.grad));
    }
  });

  it("trainConfig stores the field only when R > 1", () => {
    const t = { kind: "ising", L: 8, T: 2.3 } as const;
    expect(JSON.stringify(trainConfig(t, { nrepeat: 1 }))).toBe(JSON.stringify(trainConfig(t)));
    expect("nrepeat" in trainConfig(t).flow).toBe(false);
    expect(trainConfig(t, { nrepeat: 3 }).flow.nrepeat).toBe(3);
  });
});
