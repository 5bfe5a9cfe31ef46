/**
 * A miniature temperature × depth scan (L = 4, two temperatures, two depths, a few epochs of a
 * tiny network) end to end: interrupted after its first point, then continued, then found
 * complete; CSV and both figures; refusal of a directory holding a different run; a failing
 * point does not stop the others.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireRunLock } from "../../src/io/lock.ts";
import { RunDirError } from "../../src/io/rundir.ts";
import { runTraining } from "../../src/train/run.ts";
import { parseDepthRange, parseTemperatureRange } from "../../src/scan/range.ts";
import { runScan } from "../../src/scan/scan.ts";
import { bestDepths, SCAN_CSV_COLUMNS } from "../../src/scan/table.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "neuralrg-scan-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// App. E's setup: one plain (unsymmetrised) flow with the symmetry regulariser.
const configFor = (T: number, depth: number, epochs = 6): TrainConfig => ({
  target: { kind: "ising", L: 4, T },
  flow: { L: 4, layout: "mera", depth, nlayers: 2, nmlp: 1, nhidden: 4 },
  batch: 16,
  epochs,
  lr: 1e-2,
  weightDecay: 0,
  seed: 1,
  dtype: "float64",
  symmetrize: false,
  symmetryWeight: 0.5,
  init: "identity",
  kernel: "js",
});

const temperatures = parseTemperatureRange("2.0:2.5:0.5");
const depths = parseDepthRange("1..2", 2);
const base = {
  temperatures,
  depths,
  configFor: (T: number, d: number) => configFor(T, d),
  savePeriod: 2,
  evalSamples: 64,
  progress: "off" as const,
};

function csvRows(path: string): string[][] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(","));
}

describe("scan (App. E): miniature end to end", () => {
  it("runs, is interrupted after its first point, resumes the rest (skipping finished points) and writes the CSV and both figures", async () => {
    const dir = tmp();

    // 1) interrupted: one point at a time, stop once the first has finished
    const controller = new AbortController();
    const ended: string[] = [];
    const first = await runScan({
      ...base,
      dir,
      jobs: 1,
      signal: controller.signal,
      onPointEnd: (p) => {
        ended.push(`${p.label}-d${p.depth}`);
        controller.abort();
      },
    });
    expect(ended).toEqual(["2.0-d1"]);
    expect(first.complete).toBe(false);
    expect(first.trained).toBe(1);
    expect(first.rows.map((r) => r.status)).toEqual(["done", "new", "new", "new"]);
    expect(csvRows(join(dir, "scan.csv"))).toHaveLength(2); // header + the finished point
    const doneSummary = readFileSync(join(dir, "T2.0-d1", "summary.json"), "utf8");
    const doneMtime = statSync(join(dir, "T2.0-d1", "checkpoint.json")).mtimeMs;

    // 2) another point interrupted mid-training (3 of its 6 epochs, with a checkpoint)
    await runTraining({
      dir: join(dir, "T2.5-d1"),
      config: configFor(2.5, 1, 3),
      savePeriod: 2,
      progress: "off",
      evalSamples: 16,
    });
    const partialBefore = readFileSync(join(dir, "T2.5-d1", "metrics.csv"), "utf8")
      .trim()
      .split("\n");
    expect(partialBefore).toHaveLength(4);

    // 3) re-run: the finished point is skipped, the interrupted one resumed, the rest trained
    const logs: string[] = [];
    const ends: string[] = [];
    const second = await runScan({
      ...base,
      dir,
      jobs: 2,
      log: (l) => logs.push(l),
      onPointEnd: (p) => ends.push(`${p.label}-d${p.depth}`),
    });
    expect(second.complete).toBe(true);
    expect(second.skipped).toBe(1);
    expect(second.trained).toBe(3);
    expect(ends.sort()).toEqual(["2.0-d2", "2.5-d1", "2.5-d2"]);
    expect(logs.join("\n")).toMatch(/1 of 4 points already finished/);
    expect(logs.join("\n")).toMatch(/1 interrupted point\(s\) resume/);
    expect(readFileSync(join(dir, "T2.0-d1", "summary.json"), "utf8")).toBe(doneSummary);
    expect(statSync(join(dir, "T2.0-d1", "checkpoint.json")).mtimeMs).toBe(doneMtime);
    const partialAfter = readFileSync(join(dir, "T2.5-d1", "metrics.csv"), "utf8")
      .trim()
      .split("\n");
    expect(partialAfter).toHaveLength(7);
    expect(partialAfter.slice(0, 4)).toEqual(partialBefore); // continued, not restarted
    expect(JSON.parse(readFileSync(join(dir, "T2.5-d1", "config.json"), "utf8")).epochs).toBe(6);

    // CSV: header and one row per point, T labels as written
    const rows = csvRows(join(dir, "scan.csv"));
    expect(rows[0]).toEqual([...SCAN_CSV_COLUMNS]);
    expect(rows.slice(1).map((r) => `${r[0]}-d${r[1]}`)).toEqual(["2.0-d1", "2.0-d2", "2.5-d1", "2.5-d2"]);
    for (const r of rows.slice(1)) {
      const [, , epochs, F, Ferr, exact, rel, seconds] = r.map(Number);
      expect(epochs).toBe(6);
      expect(Ferr).toBeGreaterThan(0);
      expect(rel).toBeCloseTo((F - exact) / Math.abs(exact), 12);
      expect(F).toBeGreaterThan(exact - 3 * Ferr); // the variational bound
      expect(seconds).toBeGreaterThan(0);
    }
    // both figures, SVG and PNG
    for (const f of ["relerr-vs-T", "samples"]) {
      expect(readFileSync(join(dir, `${f}.svg`), "utf8")).toMatch(/^<svg/);
      expect(
        readFileSync(join(dir, `${f}.png`))
          .subarray(1, 4)
          .toString(),
      ).toBe("PNG");
    }
    expect(second.figures.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      "relerr-vs-T.png",
      "relerr-vs-T.svg",
      "samples.png",
      "samples.svg",
    ]);
    const grid = readFileSync(join(dir, "samples.svg"), "utf8");
    for (const label of ["depth 1", "depth 2", "T = 2.0", "T = 2.5"]) expect(grid).toContain(label);
    expect(grid).not.toContain("n/a");
    expect(readFileSync(join(dir, "relerr-vs-T.svg"), "utf8")).toContain("temperature T");
    // best depth per temperature
    const best = bestDepths(second.rows);
    expect(best.map((b) => b.label)).toEqual(["2.0", "2.5"]);
    for (const b of best) {
      const atT = second.rows.filter((r) => r.point.label === b.label).map((r) => r.rel_err);
      expect(b.relErr).toBe(Math.min(...atT));
    }

    // 4) nothing left to do
    const third = await runScan({ ...base, dir, jobs: 2 });
    expect(third.trained).toBe(0);
    expect(third.skipped).toBe(4);
    expect(third.complete).toBe(true);
  });

  it("refuses a scan directory whose point holds a run with a different configuration, before training anything", async () => {
    const dir = tmp();
    await runTraining({
      dir: join(dir, "T2.0-d1"),
      config: { ...configFor(2.0, 1, 2), lr: 0.5 },
      savePeriod: 2,
      progress: "off",
      evalSamples: 16,
    });
    await expect(runScan({ ...base, dir, jobs: 2 })).rejects.toThrow(RunDirError);
    await expect(runScan({ ...base, dir, jobs: 2 })).rejects.toThrow(
      /T2\.0-d1 holds a run with a different configuration \(differs in lr\)/,
    );
    expect(existsSync(join(dir, "T2.0-d2"))).toBe(false);
  });

  it("a failing point is reported and the others still finish", async () => {
    const dir = tmp();
    const lock = acquireRunLock(join(dir, "T2.0-d2")); // held by a live process: that point cannot start
    try {
      const failed: string[] = [];
      const r = await runScan({
        ...base,
        dir,
        jobs: 2,
        temperatures: parseTemperatureRange("2.0"),
        onPointEnd: (p, out) => {
          if (out instanceof Error) failed.push(`${p.depth}: ${out.message}`);
        },
      });
      expect(r.rows.map((x) => x.status)).toEqual(["done", "failed"]);
      expect(r.rows[1].error).toMatch(/in use/);
      expect(failed).toHaveLength(1);
      expect(r.complete).toBe(false);
      expect(csvRows(join(dir, "scan.csv"))).toHaveLength(2);
    } finally {
      lock.release();
    }
  });
});
