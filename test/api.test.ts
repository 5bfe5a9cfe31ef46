import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main as libraryExample } from "../examples/library.ts";
import * as api from "../src/index.ts";

const ROOT = join(import.meta.dirname, "..");

describe("public API (src/index.ts)", () => {
  it("exports the documented namespaces and entry points", () => {
    for (const ns of ["targets", "flows", "train", "sample", "analysis"] as const)
      expect(typeof api[ns]).toBe("object");
    expect(typeof api.targets.makeTarget).toBe("function");
    expect(typeof api.targets.phi4Target).toBe("function");
    expect(typeof api.targets.defineTarget).toBe("function");
    expect(typeof api.targets.loadUserTarget).toBe("function");
    expect(typeof api.flows.createFlow).toBe("function");
    expect(typeof api.flows.sample).toBe("function");
    expect(typeof api.train.runTraining).toBe("function");
    expect(typeof api.train.trainConfig).toBe("function");
    expect(typeof api.sample.runHmc).toBe("function");
    expect(typeof api.sample.importanceSample).toBe("function");
    expect(typeof api.analysis.gradientResponse).toBe("function");
    expect(typeof api.analysis.ksgMutualInformation).toBe("function");
    expect(api.makeTarget).toBe(api.targets.makeTarget);
    expect(api.defineTarget).toBe(api.targets.defineTarget);
    expect(api.runTraining).toBe(api.train.runTraining);
  });

  it("train.trainConfig fills the defaults of `neuralrg train` and validates", () => {
    const c = api.train.trainConfig({ kind: "phi4", L: 8, kappa: 0.27, lambda: 0.02 }, { epochs: 5, nhidden: 16 });
    expect(c.flow).toEqual({ L: 8, layout: "mera", depth: 3, nlayers: 10, nmlp: 3, nhidden: 16 });
    expect(c).toMatchObject({ batch: 512, lr: 1e-3, epochs: 5, symmetrize: true, dtype: "float64", seed: 42 });
    expect(() => api.train.validateTrainConfig(c)).not.toThrow();
    expect(() => api.train.trainConfig({ kind: "ising", T: 2 })).toThrow(/no L/);
    // the optional flow fields: kept when set, left out at their defaults
    const r = api.train.trainConfig({ kind: "ising", L: 4, T: 2.3 }, { activation: "rational", nrepeat: 2 });
    expect(r.flow).toMatchObject({ activation: "rational", nrepeat: 2 });
    const d = api.train.trainConfig({ kind: "ising", L: 4, T: 2.3 }, { activation: "elu", nrepeat: 1 });
    expect(Object.keys(d.flow)).toEqual(["L", "layout", "depth", "nlayers", "nmlp", "nhidden"]);
  });

  it("`npm run docs` runs TypeDoc on src/index.ts into docs/api (ignored by git)", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.scripts.docs).toMatch(/^typedoc .*--entryPoints src\/index\.ts .*--out docs\/api/);
    expect(pkg.devDependencies.typedoc).toBeDefined();
    expect(readFileSync(join(ROOT, ".gitignore"), "utf8")).toMatch(/^docs\/api\/?$/m);
  });
});

describe("README library example (examples/library.ts)", () => {
  it("runs end to end with small settings: training, importance weighting, latent HMC, φ⁴ observables", async () => {
    const lines: string[] = [];
    const r = await libraryExample({
      L: 4,
      epochs: 40,
      batch: 64,
      nlayers: 2,
      nmlp: 1,
      nhidden: 8,
      chains: 16,
      trajectories: 60,
      warmup: 20,
      importanceSamples: 512,
      dir: join(mkdtempSync(join(tmpdir(), "neuralrg-api-")), "run"),
      log: (l) => lines.push(l),
    });
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.join("\n")).toMatch(/Binder U = /);
    expect(Number.isFinite(r.F)).toBe(true);
    expect(Number.isFinite(r.negLogZ)).toBe(true);
    expect(r.negLogZ).toBeLessThan(r.F + 3 * r.Ferr + 0.5); // −ln Ẑ is below the variational bound (up to noise)
    expect(r.acceptance).toBeGreaterThan(0.3);
    const o = r.observables;
    expect(o.n).toBe(16 * 60);
    for (const e of [o.absM, o.chi, o.binder, o.phi2, ...o.G]) {
      expect(Number.isFinite(e.mean)).toBe(true);
      expect(e.error).toBeGreaterThan(0);
    }
    expect(o.G).toHaveLength(3);
    expect(o.G[0].mean).toBeCloseTo(o.phi2.mean, 12);
  });
});
