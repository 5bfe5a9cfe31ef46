import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSites, parseWhat } from "../../src/cli/analyze.ts";
import { expectOneLine, runCli, smallTrainedRun } from "./analyze-helpers.ts";

describe("neuralrg analyze", () => {
  let run: { dir: string; cleanup: () => void };
  beforeAll(async () => {
    run = await smallTrainedRun();
  });
  afterAll(() => run?.cleanup());

  it("writes JSON and figures into DIR/analysis and prints the summary", async () => {
    const r = await runCli([
      "analyze",
      "--run",
      run.dir,
      "--samples",
      "150",
      "--k",
      "3",
      "--seed",
      "2",
      "--progress",
      "plain",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/gradient response over 150 samples/);
    expect(r.out).toMatch(/mean off-diagonal latent -?\d/);
    expect(r.err).toMatch(/MIS step/); // progress lines on stderr
    const dir = join(run.dir, "analysis");
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    expect(index.samples.n).toBe(150);
    expect(index.samples.sign_mode).toBe("sample"); // symmetrised run of the Z2-symmetric Ising target
    for (const f of index.figures)
      for (const ext of ["svg", "png"]) expect(existsSync(join(dir, `${f.name}.${ext}`))).toBe(true);
    const resp = JSON.parse(readFileSync(join(dir, "response.json"), "utf8"));
    expect(resp.responses.map((q: { site: number }) => q.site)).toEqual([0, 2, 8, 10]);
    expect(resp.responses[0].mean).toHaveLength(16);
    const mi = JSON.parse(readFileSync(join(dir, "mi.json"), "utf8"));
    expect(mi.latent_matrix).toHaveLength(256);
    expect(mi.latent_matrix[0]).toBeNull(); // diagonal
    const wander = JSON.parse(readFileSync(join(dir, "wander.json"), "utf8"));
    expect(wander.flips).toHaveLength(16); // N ≤ 64: every component
  });

  it("--what, --source flow, --sign map, --wander-sites; a partial re-run keeps the other results", async () => {
    const r = await runCli([
      "analyze",
      "--run",
      run.dir,
      "--what",
      "wander,response",
      "--samples",
      "40",
      "--source",
      "flow",
      "--sign",
      "map",
      "--wander-sites",
      "0,1:1",
      "--json",
      "--progress",
      "off",
    ]);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.wander.flips).toBe(2);
    expect(res.mi).toBeDefined(); // kept from the first run
    const index = JSON.parse(readFileSync(join(run.dir, "analysis", "index.json"), "utf8"));
    expect(index.samples.sign_mode).toBe("map");
    expect(new Set(index.figures.map((f: { analysis: string }) => f.analysis))).toEqual(
      new Set(["collective", "response", "mi", "wander"]),
    );
  });

  it("reads configurations from a file", async () => {
    const rows = Array.from({ length: 12 }, (_, b) => Array.from({ length: 16 }, (_, j) => Math.sin(b * 16 + j)));
    const file = join(run.dir, "samples", "test-states.json");
    writeFileSync(file, JSON.stringify({ L: 4, x: rows }));
    const r = await runCli([
      "analyze",
      "--run",
      run.dir,
      "--what",
      "response",
      "--source",
      file,
      "--samples",
      "50",
      "--json",
      "--progress",
      "off",
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).response.samples).toBe(12);
    writeFileSync(file, JSON.stringify({ L: 8, x: rows }));
    const bad = await runCli([
      "analyze",
      "--run",
      run.dir,
      "--what",
      "response",
      "--source",
      file,
      "--progress",
      "off",
    ]);
    expect(bad.code).toBe(2);
    expect(expectOneLine(bad.err)).toHaveLength(1);
    expect(bad.err).toMatch(/holds L = 8 configurations/);
  });

  for (const [argv, fragment] of [
    [["analyze", "--run", "/nonexistent/run"], "does not exist"],
    [["analyze", "--run", "X", "--what", "mi,foo"], "--what = mi,foo is invalid"],
    [["analyze", "--run", "X", "--samples", "1"], "--samples = 1 is invalid"],
    [["analyze", "--run", "X", "--sign", "maybe"], "--sign = maybe is invalid"],
  ] as const) {
    it(`usage error: ${argv.slice(1).join(" ")}`, async () => {
      const r = await runCli([...argv]);
      expect(r.code).toBe(2);
      expect(expectOneLine(r.err)).toHaveLength(1);
      expect(r.err).toContain(fragment);
    });
  }

  it("a corrupt checkpoint and bad wander sites are usage errors", async () => {
    const sites = await runCli(["analyze", "--run", run.dir, "--wander-sites", "4:0", "--progress", "off"]);
    expect(sites.code).toBe(2);
    expect(sites.err).toContain("--wander-sites = 4:0 is invalid");
    const corrupt = join(run.dir, "..", "corrupt-run");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(corrupt, { recursive: true });
    writeFileSync(
      join(corrupt, "checkpoint.json"),
      JSON.stringify({ format: "neuralrg-checkpoint/1", sha256: "00", payload: {} }),
    );
    const r = await runCli(["analyze", "--run", corrupt, "--progress", "off"]);
    expect(r.code).toBe(2);
    expect(expectOneLine(r.err)).toHaveLength(1);
    expect(r.err).toMatch(/^error: cannot analyze --run/);
  });

  it("option parsers", () => {
    expect(parseWhat("all")).toEqual(["collective", "response", "mi", "wander"]);
    expect(parseWhat("mi, mi,wander")).toEqual(["mi", "wander"]);
    expect(parseSites("0, 5,1:2", 4)).toEqual([0, 5, 6]);
    expect(() => parseSites("16", 4)).toThrow(/--wander-sites = 16 is invalid/);
  });
});
