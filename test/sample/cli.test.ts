import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetrics } from "../../src/io/metrics.ts";
import { runTraining } from "../../src/train/run.ts";
import { paretoK, paretoVerdict } from "../../src/sample/pareto.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { expectOneLineError as expectStderrLine, run } from "../cli/helpers.ts";

function expectOneLineError(r: { code: number; out: string; err: string }, ...fragments: string[]): void {
  expect(r.code).toBe(2);
  expectStderrLine(r.err, ...fragments);
}

const root = mkdtempSync(join(tmpdir(), "neuralrg-sample-"));
const isingDir = join(root, "ising");
const gaussDir = join(root, "gauss");
const ising8Dir = join(root, "ising8");

beforeAll(async () => {
  const base: Omit<TrainConfig, "target"> = {
    flow: { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 },
    batch: 64,
    epochs: 30,
    lr: 1e-2,
    weightDecay: 0,
    seed: 3,
    dtype: "float64",
    symmetrize: true,
    init: "identity",
  };
  await runTraining({
    dir: isingDir,
    config: { ...base, target: { kind: "ising", L: 4, T: 2.5 } },
    savePeriod: 100,
    progress: "off",
    evalSamples: 16,
  });
  await runTraining({
    dir: ising8Dir,
    config: { ...base, flow: { ...base.flow, L: 8, depth: 3 }, epochs: 5, target: { kind: "ising", L: 8, T: 2.3 } },
    savePeriod: 100,
    progress: "off",
    evalSamples: 16,
  });
  await runTraining({
    dir: gaussDir,
    config: { ...base, symmetrize: false, target: { kind: "gaussian", L: 4 } },
    savePeriod: 100,
    progress: "off",
    evalSamples: 16,
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("neuralrg sample", () => {
  it.each(["mis", "hmc-latent", "hmc-physical"])(
    "--method %s writes summary, trace CSV, final states and the trace plot",
    async (method) => {
      const r = await run([
        "sample",
        "--run",
        isingDir,
        "--method",
        method,
        "--n",
        "40",
        "--chains",
        "8",
        "--seed",
        "5",
        "--progress",
        "off",
        "--json",
        "--leapfrog-steps",
        "3",
      ]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.method).toBe(method);
      expect(j.chains).toBe(8);
      expect(j.steps).toBe(40);
      expect(j.acceptance).toBeGreaterThan(0);
      expect(j.acceptance).toBeLessThanOrEqual(1);
      expect(j.symmetrize).toBe(true);
      // MIS reports the tail of its proposals' weights; HMC does not
      if (method === "mis") expect(["good", "slow", "unreliable"]).toContain(j.proposal_pareto_verdict);
      else expect(j.proposal_pareto_verdict).toBeUndefined();
      for (const k of ["energy", "absM", "S"]) {
        expect(Number.isFinite(j.observables[k].mean)).toBe(true);
        expect(j.observables[k].error).toBeGreaterThan(0);
        expect(Number.isFinite(j.observables[k].exact)).toBe(true); // 4×4: exact by enumeration
        expect(Number.isFinite(j.observables[k].tau_int)).toBe(true);
      }
      const s = join(isingDir, "samples");
      expect(JSON.parse(readFileSync(join(s, `${method}.json`), "utf8"))).toEqual(j);
      const csv = parseMetrics(readFileSync(join(s, `${method}-trace.csv`), "utf8"));
      const warm = method === "mis" ? 0 : 8;
      expect(csv.rows).toHaveLength(40 + warm);
      expect(csv.columns).toEqual(expect.arrayContaining(["step", "warmup", "accept", "energy", "absM", "S"]));
      const states = JSON.parse(readFileSync(join(s, `${method}-states.json`), "utf8"));
      expect(states.x).toHaveLength(8);
      expect(states.x[0]).toHaveLength(16);
      const svg = readFileSync(join(isingDir, "plots", `${method}-trace.svg`), "utf8");
      expect(svg).toContain("<svg");
      expect(svg).toContain("exact");
    },
  );

  it("--method iw reports −ln Ẑ ± error, ESS and F next to the exact −ln Z", async () => {
    const r = await run([
      "sample",
      "--run",
      gaussDir,
      "--method",
      "iw",
      "--n",
      "2000",
      "--batch",
      "500",
      "--progress",
      "off",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Math.abs(j.neg_log_z - j.exact_neg_log_z)).toBeLessThan(5 * j.neg_log_z_error + 1e-9);
    expect(j.variational_f).toBeGreaterThan(j.exact_neg_log_z);
    expect(j.ess).toBeGreaterThan(1);
    expect(j.ess).toBeLessThanOrEqual(2000);
    // the k̂ verdict is the one of the run's own weights
    expect(j.pareto_verdict).toBe(
      paretoVerdict(
        paretoK(
          parseMetrics(readFileSync(join(gaussDir, "samples", "iw-trace.csv"), "utf8")).rows.map((row) =>
            Number(row.log_w),
          ),
        ),
      ),
    );
    expect(["good", "slow", "unreliable"]).toContain(j.pareto_verdict);
    expect(Number.isFinite(j.observables.m2.exact)).toBe(true);
    expect(existsSync(join(gaussDir, "plots", "iw-trace.svg"))).toBe(true);
    const csv = parseMetrics(readFileSync(join(gaussDir, "samples", "iw-trace.csv"), "utf8"));
    expect(csv.rows).toHaveLength(2000);
  });

  it("human-readable output names acceptance and observables", async () => {
    const r = await run([
      "sample",
      "--run",
      gaussDir,
      "--method",
      "mis",
      "--n",
      "20",
      "--chains",
      "4",
      "--progress",
      "off",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/acceptance \d\.\d+/);
    expect(r.out).toMatch(/Pareto k̂ of the proposals' weights /);
    expect(r.out).toMatch(/m2 .* ± /);
  });

  const missing = join(root, "nope");
  it.each([
    [["sample", "--run", missing, "--method", "mis", "--n", "5"], "does not exist"],
    [["sample", "--run", isingDir, "--method", "metropolis", "--n", "5"], "--method = metropolis is invalid"],
    [["sample", "--run", isingDir, "--method", "mis", "--n", "0"], "--n = 0 is invalid"],
    [["sample", "--run", isingDir, "--method", "mis"], "--n"],
    [["sample", "--method", "mis", "--n", "3"], "--run"],
    [
      ["sample", "--run", isingDir, "--method", "hmc-latent", "--n", "5", "--step-size", "-1"],
      "--step-size = -1 is invalid",
    ],
    [
      ["sample", "--run", isingDir, "--method", "mis", "--n", "5", "--target-accept", "0.7"],
      "--target-accept applies to the HMC methods",
    ],
    [["sample", "--run", gaussDir, "--method", "mis", "--n", "5", "--T", "2"], "target mismatch"],
    [["hmc", "--run", missing, "--n", "5"], "does not exist"],
    [["hmc", "--run", isingDir, "--n", "5", "--chains", "0"], "--chains = 0 is invalid"],
  ])("%j → exit 2 with one line", async (argv, fragment) => {
    expectOneLineError(await run([...argv, "--progress", "off"]), fragment);
  });

  it("a corrupt checkpoint and a directory without one are clear errors", async () => {
    const bad = join(root, "corrupt");
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, "checkpoint.json"), "{ not json");
    expectOneLineError(
      await run(["sample", "--run", bad, "--method", "mis", "--n", "5", "--progress", "off"]),
      "cannot sample from --run",
    );
    const empty = join(root, "empty");
    mkdirSync(empty, { recursive: true });
    expectOneLineError(
      await run(["sample", "--run", empty, "--method", "mis", "--n", "5", "--progress", "off"]),
      "checkpoint",
    );
  });
});

describe("--reference-sweeps (L > 4: Wolff reference for |m| and S)", () => {
  it("reports the reference with its error and deviations in σ of both error bars", async () => {
    const r = await run([
      "sample",
      "--run",
      ising8Dir,
      "--method",
      "mis",
      "--n",
      "30",
      "--chains",
      "8",
      "--progress",
      "off",
      "--json",
      "--reference-sweeps",
      "2000",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.exact_source).toContain("Wolff");
    for (const k of ["absM", "S"]) {
      const o = j.observables[k];
      expect(o.exact).toBeGreaterThan(0);
      expect(o.exact).toBeLessThan(1);
      expect(o.exact_error).toBeGreaterThan(0);
      expect(o.deviation_sigma).toBeCloseTo((o.mean - o.exact) / Math.hypot(o.error, o.exact_error), 10);
    }
    // the energy stays Kaufman's exact value, without an error
    expect(j.observables.energy.exact_error).toBeNull();
    // without the option there is no reference for S at L = 8
    const plain = JSON.parse(
      (
        await run([
          "sample",
          "--run",
          ising8Dir,
          "--method",
          "mis",
          "--n",
          "5",
          "--chains",
          "4",
          "--progress",
          "off",
          "--json",
        ])
      ).out,
    );
    expect(plain.observables.S.exact).toBeNull();
  });
});

describe("neuralrg hmc", () => {
  it("runs latent and physical HMC side by side and writes both traces and one plot", async () => {
    const r = await run([
      "hmc",
      "--run",
      isingDir,
      "--n",
      "30",
      "--chains",
      "8",
      "--leapfrog-steps",
      "3",
      "--progress",
      "off",
      "--json",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.latent.method).toBe("hmc-latent");
    expect(j.physical.method).toBe("hmc-physical");
    expect(j.latent.steps).toBe(30);
    expect(j.physical.steps).toBe(30);
    const csv = parseMetrics(readFileSync(join(isingDir, "samples", "hmc-compare-trace.csv"), "utf8"));
    expect(csv.columns).toEqual(expect.arrayContaining(["latent_S", "physical_S", "latent_accept", "physical_accept"]));
    expect(csv.rows).toHaveLength(36);
    const svg = readFileSync(join(isingDir, "plots", "hmc-compare.svg"), "utf8");
    expect(svg).toContain("latent");
    expect(svg).toContain("physical");
  });
});
