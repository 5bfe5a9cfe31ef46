import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectOneLineError, run } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("neuralrg exact", () => {
  it("prints ln Z_Ising, −ln Z of the relaxed model and α", async () => {
    const r = await run(["exact", "--L", "4", "--T", "2.269"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ln Z_Ising\s+-?\d+\.\d+/);
    expect(r.out).toMatch(/-ln Z \(relaxed model\)\s+-?\d+\.\d+/);
    expect(r.out).toMatch(/alpha\s+-?\d+\.\d+/);
  });

  it("--json parses and is consistent", async () => {
    const r = await run(["exact", "--L", "4", "--T", "2.269", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.L).toBe(4);
    expect(j.T).toBe(2.269);
    expect(j.N).toBe(16);
    for (const k of ["lnZIsing", "negLogZRelaxed", "alpha", "beta"]) expect(Number.isFinite(j[k])).toBe(true);
    expect(j.lnZIsingPerSite).toBeCloseTo(j.lnZIsing / 16, 12);
    // ln Z_Ising per site of the 2D Ising model lies between ln 2 (T → ∞) and ~β·2 + small.
    expect(j.lnZIsingPerSite).toBeGreaterThan(Math.log(2));
    // The formula of the text after Eq. (7) relates the two through α: check α's definition
    // instead of re-deriving ln det: smallest eigenvalue of K + αI is −4β + α = 0.1.
    expect(-4 * j.beta + j.alpha).toBeCloseTo(0.1, 10);
    // Text after Eq. (7): −ln Z = −ln Z_Ising − ½ ln det(K+αI) + (N/2)[ln(2/π) − α].
    const expected = -j.lnZIsing - 0.5 * j.logDet + (16 / 2) * (Math.log(2 / Math.PI) - j.alpha);
    expect(j.negLogZRelaxed).toBeCloseTo(expected, 10);
  });

  it("uses documented defaults", async () => {
    const r = await run(["exact", "--L", "2", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).T).toBeCloseTo(2 / Math.log(1 + Math.SQRT2), 14);
  });

  for (const [argv, fragment] of [
    [["exact", "--L", "3", "--T", "2"], "--L = 3 is invalid"],
    [["exact", "--L", "0", "--T", "2"], "--L = 0 is invalid"],
    [["exact", "--L", "abc", "--T", "2"], "--L = abc is invalid"],
    [["exact", "--L", "4", "--T", "-1"], "--T = -1 is invalid: T must be a number > 0"],
    [["exact", "--L", "4", "--T", "0"], "--T = 0 is invalid"],
    [["exact", "--L", "4", "--bogus"], "unknown option '--bogus'"],
    [["train", "--L", "4", "--workers", "0"], "--workers = 0 is invalid: workers must be auto or an integer in 1..64"],
    [["train", "--L", "4", "--workers", "many"], "--workers = many is invalid"],
    [["exact", "--L"], "--L <n>"],
    [["frobnicate"], "unknown command 'frobnicate'"],
  ] as const) {
    it(`rejects ${argv.join(" ")} with exit 2 and one line`, async () => {
      const r = await run([...argv]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expectOneLineError(r.err, fragment);
    });
  }

  it("suggestions stay on the one error line", async () => {
    const r = await run(["exact", "--LL", "4"]);
    expect(r.code).toBe(2);
    expectOneLineError(r.err, "--LL");
  });
});

describe("help and version", () => {
  it("documents every option of exact with its default", async () => {
    const r = await run(["exact", "--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/--L <n>.*\(default: 16\)/s);
    expect(r.out).toMatch(/--T <t>.*\(default: 2\.269/s);
    expect(r.out).toMatch(/--json.*\(default: false\)/s);
  });

  it("top-level help lists the commands", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("exact");
    expect(r.out).toContain("version");
  });

  it("version prints package version and commit", async () => {
    const r = await run(["version", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(j.gitCommit).toMatch(/^([0-9a-f]{40}|unknown)$/);
    const v = await run(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(j.version);
  });

  it("no command: usage on stderr, exit 2", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Usage: neuralrg");
  });
});

describe("bin/neuralrg.mjs (spawned)", () => {
  const bin = join(ROOT, "bin", "neuralrg.mjs");
  const env = { ...process.env, NEURALRG_DEBUG: "" };

  it("exact --json exits 0 with JSON on stdout", () => {
    const p = spawnSync(process.execPath, [bin, "exact", "--L", "4", "--T", "2.269", "--json"], {
      encoding: "utf8",
      env,
    });
    expect(p.stderr).toBe("");
    expect(p.status).toBe(0);
    expect(JSON.parse(p.stdout).L).toBe(4);
  });

  it("exact --L 3 exits 2 with a one-line message", () => {
    const p = spawnSync(process.execPath, [bin, "exact", "--L", "3", "--T", "2"], { encoding: "utf8", env });
    expect(p.status).toBe(2);
    expect(p.stdout).toBe("");
    expectOneLineError(p.stderr, "--L = 3 is invalid");
  });
});
