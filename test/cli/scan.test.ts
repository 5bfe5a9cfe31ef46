import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLineError, run } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..", "..");

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "neuralrg-cli-scan-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tiny = [
  "--L",
  "4",
  "--nlayers",
  "2",
  "--nmlp",
  "1",
  "--nhidden",
  "4",
  "--batch",
  "16",
  "--lr",
  "1e-2",
  "--kernel",
  "js",
  "--eval-samples",
  "32",
  "--progress",
  "off",
];

describe("neuralrg scan: option errors exit 2 with one line", () => {
  it.each([
    [
      ["--T", "2.7:2.0:0.1"],
      ["--T = 2.7:2.0:0.1 is invalid", "below the start"],
    ],
    [
      ["--T", "2.0:2.7"],
      ["--T = 2.0:2.7 is invalid", "a:b:step"],
    ],
    [["--T", "hot"], ["--T = hot is invalid"]],
    [
      ["--T", "0.001,2"],
      ["--T = 0.001,2 is invalid", "temperatures must be in [0.01, 1000000] (got 0.001)"],
    ],
    [
      ["--depth", "1..3"],
      ["--depth = 1..3 is invalid", "1..2 for L = 4"],
    ],
    [["--depth", "0"], ["--depth = 0 is invalid"]],
    [["--jobs", "0"], ["--jobs"]],
    [["--layout", "ring"], ["--layout"]],
    [["--symmetry-weight", "1"], ["--symmetry-weight = 1 needs --no-symmetrize"]],
    [["--symmetry-weight", "-1", "--no-symmetrize"], ["--symmetry-weight"]],
  ] as [string[], string[]][])("%j", async (args, fragments) => {
    const r = await run(["scan", "--L", "4", "--out", join(tmpdir(), "neuralrg-never-created"), ...args]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expectOneLineError(r.err, ...fragments);
    expect(existsSync(join(tmpdir(), "neuralrg-never-created"))).toBe(false);
  });

  it("train also refuses --symmetry-weight with the symmetrised model", async () => {
    const r = await run([
      "train",
      ...tiny,
      "--epochs",
      "1",
      "--symmetry-weight",
      "0.5",
      "--out",
      join(tmpdir(), "neuralrg-never-created"),
    ]);
    expect(r.code).toBe(2);
    expectOneLineError(r.err, "needs --no-symmetrize");
  });
});

describe("neuralrg scan: miniature runs", () => {
  it("a time budget stops the scan; running it again (here with fewer epochs) completes it, then the report", async () => {
    const dir = tmp();
    const args = [
      "scan",
      ...tiny,
      "--T",
      "2.0,2.5",
      "--depth",
      "1",
      "--jobs",
      "1",
      "--no-symmetrize",
      "--symmetry-weight",
      "0.5",
      "--out",
      dir,
    ];
    // the first point starts and stops after at least one epoch; the second never starts
    const a = await run([...args, "--epochs", "100000", "--max-seconds", "1", "--json"]);
    expect(a.code).toBe(0);
    const ja = JSON.parse(a.out);
    expect(ja.complete).toBe(false);
    expect(ja.points.map((p: { status: string }) => p.status)).toEqual(["partial", "new"]);
    const k = ja.points[0].epochs;
    expect(k).toBeGreaterThanOrEqual(1);
    expect(a.err).toMatch(/unfinished \(time budget reached\)/);
    const metricsBefore = readFileSync(join(dir, "T2.0-d1", "metrics.csv"), "utf8")
      .trim()
      .split("\n");

    const b = await run([...args, "--epochs", "3"]);
    expect(b.code).toBe(0);
    expect(b.out).toContain(`points: 2 (2 finished`);
    expect(b.out).toMatch(/T\s+depth 1\n2\.0\s+\d\.\d\de-?\d+ ± /);
    expect(b.out).toMatch(
      /best depth per temperature:\n {2}T = 2\.0: depth 1, relative error .*\n {2}T = 2\.5: depth 1, relative error /,
    );
    for (const f of ["scan.csv", "relerr-vs-T.svg", "relerr-vs-T.png", "samples.svg", "samples.png"]) {
      expect(b.out).toContain(join(dir, f));
      expect(existsSync(join(dir, f))).toBe(true);
    }
    // the interrupted point was continued (k < 3) or kept (k ≥ 3), never restarted
    const metricsAfter = readFileSync(join(dir, "T2.0-d1", "metrics.csv"), "utf8")
      .trim()
      .split("\n");
    expect(metricsAfter.slice(0, metricsBefore.length)).toEqual(metricsBefore);
    expect(metricsAfter).toHaveLength(1 + Math.max(k, 3));
    const csv = readFileSync(join(dir, "scan.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("T,depth,epochs,F,F_stderr,exact,rel_err,seconds");
    expect(csv.slice(1).map((l) => l.split(",").slice(0, 3).join(","))).toEqual([`2.0,1,${Math.max(k, 3)}`, "2.5,1,3"]);
  });

  it("Ctrl-C (SIGINT) stops the running point with a checkpoint and exits 130; the scan then resumes", async () => {
    const dir = tmp();
    const args = [
      "scan",
      ...tiny,
      "--T",
      "2.0",
      "--depth",
      "1",
      "--jobs",
      "1",
      "--out",
      dir,
      "--progress",
      "plain",
      "--save-period",
      "1000000",
    ];
    const child = spawn(process.execPath, [join(ROOT, "bin", "neuralrg.mjs"), ...args, "--epochs", "100000"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    // wait until training has begun (metrics written), then interrupt
    const t0 = Date.now();
    while (!existsSync(join(dir, "T2.0-d1", "metrics.csv")) && Date.now() - t0 < 30_000)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    process.kill(child.pid!, "SIGINT");
    expect(await exited).toBe(130);
    expect(err).toContain("SIGINT: stopping after the current epoch");
    const summary = JSON.parse(readFileSync(join(dir, "T2.0-d1", "summary.json"), "utf8"));
    expect(summary.epochs).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dir, "T2.0-d1", "checkpoint.json"))).toBe(true); // saved at the stop despite the long save period
    const r = await run([
      "scan",
      ...tiny,
      "--T",
      "2.0",
      "--depth",
      "1",
      "--jobs",
      "1",
      "--out",
      dir,
      "--epochs",
      String(summary.epochs + 2),
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/resume/);
    const j = JSON.parse(r.out);
    expect(j.complete).toBe(true);
    expect(j.points[0].epochs).toBe(summary.epochs + 2);
  });
});
