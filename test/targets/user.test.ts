import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { Rng } from "../../src/engine/rng.ts";
import { loadTrainedRun, runTraining } from "../../src/train/run.ts";
import { train } from "../../src/index.ts";
import { phi4Target } from "../../src/targets/phi4.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { defineTarget, userTarget, UserTargetError } from "../../src/targets/user.ts";
import { loadUserTarget } from "../../src/targets/user-module.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "my-energy.ts");
const EXAMPLE_JAX = join(ROOT, "examples", "my-energy-jax.ts");
const dir = mkdtempSync(join(tmpdir(), "neuralrg-user-"));

/** Write a self-contained module into the temp dir and return its path. */
function mod(name: string, source: string): string {
  const p = join(dir, name);
  writeFileSync(p, source);
  return p;
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const GOOD = `
const L = 4;
export default {
  L, z2Symmetric: true,
  logProb: (x: Float64Array) => { let s = 0; for (const v of x) s += -0.5 * v * v - 0.1 * v ** 4; return s; },
  grad: (x: Float64Array, out: Float64Array) => { for (let i = 0; i < x.length; i++) out[i] = -x[i] - 0.4 * x[i] ** 3; },
};
`;

describe("user targets: validation names the problem", () => {
  const cases: [string, string, string, RegExp][] = [
    [
      "wrong shape (L not a power of two)",
      "shape.ts",
      GOOD.replace("const L = 4", "const L = 6"),
      /wrong shape: L = 6 is invalid: L must be a power of two/,
    ],
    [
      "wrong shape (jax output not [batch])",
      "jaxshape.ts",
      "export default { L: 4, logProbJax: (phi: any, np: any) => phi.mul(-1) };",
      /wrong shape: logProbJax returned shape \[12, 4, 4\] for input shape \[12, 4, 4\], expected \[12\]/,
    ],
    [
      "NaN output",
      "nan.ts",
      GOOD.replace("return s;", "return x[0] > 0.5 ? NaN : s;"),
      /logProb is not finite \(NaN\) on a random configuration/,
    ],
    [
      "reads outside the lattice",
      "outside.ts",
      GOOD.replace("return s;", "return s + x[16];"),
      /not finite \(NaN\).*x has length L\*L = 16: does the code read outside it\?/,
    ],
    [
      "false symmetry claim",
      "asym.ts",
      GOOD.replace("-0.5 * v * v", "-0.5 * v * v + 0.3 * v").replace("out[i] = -x[i]", "out[i] = 0.3 - x[i]"),
      /false symmetry claim: z2Symmetric is true but log π\(−x\) ≠ log π\(x\)/,
    ],
    [
      "no gradient",
      "nograd.ts",
      "export default { L: 4, logProb: (x: Float64Array) => -x[0] * x[0] };",
      /no gradient: training needs ∂ log π\/∂x; give grad\(x, out\).*finite differences are not used/,
    ],
    [
      "wrong gradient",
      "badgrad.ts",
      GOOD.replace("0.4 * x[i] ** 3", "0.3 * x[i] ** 3"),
      /grad disagrees with central finite differences of log π/,
    ],
    [
      "gradient of S instead of log π",
      "sign.ts",
      GOOD.replace("out[i] = -x[i] - 0.4 * x[i] ** 3", "out[i] = x[i] + 0.4 * x[i] ** 3"),
      /wrong sign: grad must be ∂ log π\/∂x/,
    ],
    [
      "unset gradient entries",
      "unset.ts",
      GOOD.replace("i < x.length; i++", "i < 8; i++"),
      /grad is not finite \(NaN\) at site 8.*unset entries are NaN/,
    ],
    ["typo in a property", "typo.ts", GOOD.replace("z2Symmetric", "z2symmetric"), /unknown property "z2symmetric"/],
    ["no export", "noexport.ts", "export const energy = 1;", /exports no target: default-export defineTarget/],
    ["syntax error", "syntax.ts", "export default { L: 4,, };", /failed to load/],
    [
      "jax ownership mistake",
      "jaxref.ts",
      "export default { L: 4, logProbJax: (phi: any) => phi.mul(phi).sum([1, 2]) };",
      /logProbJax threw.*write phi\.ref/,
    ],
    [
      "two forms",
      "two.ts",
      GOOD.replace("L, z2Symmetric", "L, logProbJax: () => 0, z2Symmetric"),
      /give exactly one of logProb, logProbBatch, logProbJax/,
    ],
  ];
  for (const [what, file, source, message] of cases) {
    it(`rejects: ${what}`, () => {
      const p = mod(file, source);
      let err: unknown;
      try {
        loadUserTarget(p);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserTargetError);
      const m = (err as Error).message;
      expect(m).toMatch(message);
      expect(m).toContain(p); // names the module
      expect(m).not.toContain("\n");
      expect(() => makeTarget({ kind: "user", module: p })).toThrow(message);
    });
  }

  it("rejects missing files and other extensions", () => {
    expect(() => loadUserTarget(join(dir, "missing.ts"))).toThrow(/does not exist/);
    expect(() => loadUserTarget(mod("energy.py", "x = 1"))).toThrow(
      /must end in \.ts, \.mts, \.cts, \.js, \.mjs, \.cjs/,
    );
  });

  it("the CLI exits with status 2 and one line naming the problem, writing no run", async () => {
    const p = mod("cli-asym.ts", GOOD.replace("-0.5 * v * v", "-0.5 * v * v + v"));
    const out = join(dir, "run-rejected");
    const r = await cli(["train", "--target", p, "--epochs", "2", "--out", out, "--progress", "off"]);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^error: user target .*cli-asym\.ts: false symmetry claim/);
    expect(existsSync(out)).toBe(false);
    const bad = await cli(["train", "--target", "energy.txt", "--epochs", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /--target = energy\.txt is invalid: target must be one of ising, gaussian, phi4, or the path of a module/,
    );
    const mismatch = await cli([
      "train",
      "--target",
      mod("cli-good.ts", GOOD),
      "--L",
      "8",
      "--epochs",
      "1",
      "--out",
      join(dir, "mm"),
    ]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(/--L = 8 differs from L = 4 declared by/);
  });

  it("a module without the symmetry claim trains the plain model q (the CLI says so)", async () => {
    const p = mod("plain.ts", GOOD.replace("z2Symmetric: true", "z2Symmetric: false"));
    const out = join(dir, "run-plain");
    const r = await cli([
      "train",
      "--target",
      p,
      "--epochs",
      "1",
      "--batch",
      "8",
      "--nlayers",
      "1",
      "--eval-samples",
      "8",
      "--out",
      out,
      "--progress",
      "off",
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/does not declare z2Symmetric: true; training the plain model q/);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).symmetrize).toBe(false);
  });
});

describe("user targets: correct modules", () => {
  it("the example module equals the built-in phi4 target when its diagonal coupling is 0", () => {
    const p = mod(
      "nnn0.ts",
      readFileSync(EXAMPLE, "utf8")
        .replace("const KAPPA2 = 0.03;", "const KAPPA2 = 0;")
        .replace("../src/index.ts", "neuralrg"),
    );
    const u = loadUserTarget(p);
    const ref = phi4Target({ L: 8, kappa: 0.2, lambda: 0.02 });
    const B = 3;
    const x = new Float64Array(B * 64);
    Rng.fromSeed(4).fillNormal(x);
    const [a, b, ga, gb] = [
      new Float64Array(B),
      new Float64Array(B),
      new Float64Array(B * 64),
      new Float64Array(B * 64),
    ];
    u.logProb(x, B, a, ga);
    ref.logProb(x, B, b, gb);
    for (let i = 0; i < B; i++) expect(a[i]).toBeCloseTo(b[i], 10);
    for (let i = 0; i < B * 64; i++) expect(ga[i]).toBeCloseTo(gb[i], 10);
  });

  it("the jax-js (autodiff) example agrees with the hand-written one, values and gradients", () => {
    const a = loadUserTarget(EXAMPLE);
    const b = loadUserTarget(EXAMPLE_JAX);
    expect(a.gradient).toBe("hand-written");
    expect(b.gradient).toBe("autodiff");
    expect(b.z2Symmetric).toBe(true);
    const B = 4;
    const x = new Float32Array(B * 64); // float32 input is converted
    Rng.fromSeed(5).fillNormal(x);
    const [va, vb, ga, gb] = [
      new Float64Array(B),
      new Float64Array(B),
      new Float32Array(B * 64),
      new Float32Array(B * 64),
    ];
    a.logProb(x, B, va, ga);
    b.logProb(x, B, vb, gb);
    for (let i = 0; i < B; i++) expect(vb[i]).toBeCloseTo(va[i], 9);
    for (let i = 0; i < B * 64; i++) expect(gb[i]).toBeCloseTo(ga[i], 5);
  });

  it("trains from the CLI (module L used when --L is omitted) and reloads from the run directory", async () => {
    const out = join(dir, "run-example");
    const r = await cli(
      [
        "train",
        "--target",
        "./examples/my-energy.ts",
        "--epochs",
        "3",
        "--batch",
        "16",
        "--nlayers",
        "2",
        "--nmlp",
        "1",
        "--nhidden",
        "4",
        "--eval-samples",
        "32",
        "--out",
        out,
        "--progress",
        "off",
        "--json",
      ].map((a) => (a === "./examples/my-energy.ts" ? EXAMPLE : a)),
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.epochs).toBe(3);
    expect(Number.isFinite(s.F)).toBe(true);
    expect(s.exact).toBeNull();
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(config.target).toMatchObject({ kind: "user", module: EXAMPLE, L: 8 });
    expect(config.target.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(config.flow.L).toBe(8);
    const run = loadTrainedRun(out);
    expect(run.target.kind).toBe("user");
    expect(run.target.L).toBe(8);
  });

  it("trains with worker threads (the module is loaded in each worker); a changed module refuses to reload", async () => {
    const p = mod(
      "jax-copy.ts",
      readFileSync(EXAMPLE_JAX, "utf8").replace("../src/targets/user.ts", join(ROOT, "src", "targets", "user.ts")),
    );
    const target = makeTarget({ kind: "user", module: p });
    const config = train.trainConfig(target.config, { epochs: 2, batch: 16, nlayers: 1, nmlp: 1, nhidden: 4 });
    const out = join(dir, "run-workers");
    const { summary } = await runTraining({
      dir: out,
      config,
      savePeriod: 1,
      workers: 2,
      evalSamples: 32,
      progress: "off",
    });
    expect(summary.epochs).toBe(2);
    expect(Number.isFinite(summary.F)).toBe(true);
    expect(readdirSync(out)).toContain("checkpoint.json");
    appendFileSync(p, "\n// edited\n");
    expect(() => loadTrainedRun(out)).toThrow(/has changed since this run was configured/);
  });

  it("a target defined in code trains in memory but cannot be rebuilt from its config", () => {
    const t = userTarget(
      defineTarget({
        L: 4,
        z2Symmetric: true,
        logProbBatch: (x, batch, out, grad) => {
          for (let b = 0; b < batch; b++) {
            let s = 0;
            for (let i = b * 16; i < (b + 1) * 16; i++) {
              s -= 0.5 * x[i] * x[i];
              if (grad) grad[i] = -x[i];
            }
            out[b] = s;
          }
        },
        exactNegLogZ: -8 * Math.log(2 * Math.PI),
      }),
    );
    const config = train.trainConfig({ kind: "user", L: 4 }, { epochs: 5, batch: 32, nlayers: 1, nmlp: 1, nhidden: 4 });
    const st = train.createTrainer(config, t);
    const m = train.trainEpoch(st);
    expect(m.exact).toBeCloseTo(-8 * Math.log(2 * Math.PI), 12);
    expect(Number.isFinite(m.F)).toBe(true);
    expect(() => makeTarget(t.config)).toThrow(/cannot be rebuilt from its config: put it in a module file/);
  });
});
