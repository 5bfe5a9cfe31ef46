/**
 * `neuralrg scan --seeds` from the command line: a miniature scan (L = 4, one T, 2 depths,
 * 2 seeds = 4 runs) unsharded and as 2 shards in separate processes sharing one directory, then
 * `scan merge`: scan.csv equals the unsharded one in every column but the wall time, scan-mean.csv
 * and the figures byte for byte. The merge refuses shards run with different seed lists, naming
 * them; bad seed lists exit 2 with one line.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOneLineError, run } from "../cli/helpers.ts";
import {
  csvWithoutSeconds,
  expectRefusedWithoutOutput,
  neuralrg,
  SCAN_FIGURES as FIGURES,
  tempDirs,
} from "./process-helpers.ts";

const tmp = tempDirs("neuralrg-seeds-merge-");

const SCAN = [
  "scan",
  "--L",
  "4",
  "--T",
  "2.0",
  "--depth",
  "1..2",
  "--epochs",
  "6",
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
  "--save-period",
  "2",
  "--jobs",
  "1",
  "--progress",
  "off",
];

const RUNS = ["T2.0-d1-s1", "T2.0-d1-s2", "T2.0-d2-s1", "T2.0-d2-s2"];

let local: string; // unsharded
let shared: string; // both shards in one directory

beforeAll(async () => {
  const base = tmp();
  local = join(base, "local");
  shared = join(base, "shared");
  const [u, s0] = await Promise.all([
    neuralrg([...SCAN, "--seeds", "1,2", "--out", local, "--json"]),
    neuralrg([...SCAN, "--seeds", "1:2", "--out", shared, "--shard", "0/2"]),
  ]);
  const s1 = await neuralrg([...SCAN, "--seeds", "2,1", "--out", shared], {
    JOB_COMPLETION_INDEX: "1",
    NEURALRG_SHARDS: "2",
  });
  for (const r of [u, s0, s1]) expect(r.code, r.err).toBe(0);
  // deepest first, then T, then seed: d2-s1 → 0, d2-s2 → 1, d1-s1 → 0, d1-s2 → 1
  expect(s0.err).toContain("shard 0/2 (--shard 0/2): 2 of 4 points: T2.0-d1-s1, T2.0-d2-s1");
  expect(s1.err).toContain(
    "shard 1/2 (JOB_COMPLETION_INDEX = 1, NEURALRG_SHARDS = 2): 2 of 4 points: T2.0-d1-s2, T2.0-d2-s2",
  );
  const j = JSON.parse(u.out);
  expect(j.points.map((p: { depth: number; seed: number }) => `${p.depth}-${p.seed}`)).toEqual([
    "1-1",
    "1-2",
    "2-1",
    "2-2",
  ]);
  expect(j.mean).toHaveLength(2);
  expect(j.mean[0].seeds).toEqual([1, 2]);
  expect(j.mean[0].rel_err_mean).toBeCloseTo((j.points[0].rel_err + j.points[1].rel_err) / 2, 14);
  expect(j.best[0].seeds).toBe(2);
}, 60_000);

describe("scan --seeds: 2 shards in separate processes, merged", () => {
  it("the shards train their (T, depth, seed) points; the merge equals the unsharded scan", async () => {
    for (const n of RUNS) {
      expect(existsSync(join(local, n, "summary.json")), n).toBe(true);
      expect(existsSync(join(shared, n, "summary.json")), n).toBe(true);
    }
    const m0 = JSON.parse(readFileSync(join(shared, "shard-0-of-2.json"), "utf8"));
    expect(m0.scan.seeds).toEqual([1, 2]);
    expect(m0.scan.points).toEqual(RUNS);
    expect(m0.assigned).toEqual(["T2.0-d1-s1", "T2.0-d2-s1"]);
    expect(readFileSync(join(shared, "shard-0-of-2.csv"), "utf8").split("\n")[0]).toBe(
      "T,depth,seed,epochs,F,F_stderr,exact,rel_err,seconds",
    );

    const r = await run(["scan", "merge", shared]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("points: 4 (4 finished)");
    expect(r.out).toContain("mean over the 2 seeds ± standard error of that mean");
    expect(r.out).toContain(`wrote ${join(shared, "scan-mean.csv")}`);
    const merged = csvWithoutSeconds(join(shared, "scan.csv"));
    expect(merged).toHaveLength(5);
    expect(merged).toEqual(csvWithoutSeconds(join(local, "scan.csv")));
    expect(readFileSync(join(shared, "scan-mean.csv"), "utf8")).toBe(
      readFileSync(join(local, "scan-mean.csv"), "utf8"),
    );
    for (const f of FIGURES) expect(readFileSync(join(shared, f)).equals(readFileSync(join(local, f))), f).toBe(true);
    expect(JSON.parse(readFileSync(join(shared, "scan.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(local, "scan.json"), "utf8")),
    );
    // the report: mean per (T, depth), best depth by the mean, best single run labelled as such
    expect(r.out).toMatch(
      /best depth per temperature \(lowest mean over the seeds\):\n {2}T = 2\.0: depth \d, mean relative error .* over 2 seeds/,
    );
    expect(r.out).toMatch(
      /best single run per temperature \(the lowest of all seeds: a selected run, not an estimate\):\n {2}T = 2\.0: depth \d, seed \d, relative error/,
    );
  });

  it("refuses shards run with different seed lists, naming the difference", async () => {
    const d = tmp();
    cpSync(shared, d, { recursive: true });
    const path = join(d, "shard-1-of-2.json");
    const m = JSON.parse(readFileSync(path, "utf8"));
    m.scan.seeds = [1, 3];
    writeFileSync(path, JSON.stringify(m));
    const r = await run(["scan", "merge", d]);
    expect(r.code).toBe(1);
    expectOneLineError(
      r.err,
      `shard 1/2 (${path}) was run with other seeds than shard 0/2`,
      "seeds 1,3 vs 1,2 (only in shard 1/2: 3; only in shard 0/2: 2)",
    );

    // a shard of the same scan without --seeds (one seed: its --seed)
    delete m.scan.seeds;
    writeFileSync(path, JSON.stringify(m));
    const r2 = await run(["scan", "merge", d]);
    expect(r2.code).toBe(1);
    expectOneLineError(r2.err, "was run with other seeds than shard 0/2", "seeds 1 (one seed) vs 1,2");
  });
});

describe("neuralrg scan --seeds: bad lists exit 2 with one line, before anything is written", () => {
  const never = join(tmpdir(), "neuralrg-seeds-never-created");
  it.each([
    [["--seeds", "1,2,2"], "--seeds = 1,2,2 is invalid: 2 appears twice"],
    [["--seeds", "1,2.5"], `--seeds = 1,2.5 is invalid: "2.5" is not an integer`],
    [["--seeds", "-1,2"], "--seeds = -1,2 is invalid: seeds must be ≥ 0 (got -1)"],
    [["--seeds", "1:1000"], "--seeds = 1:1000 is invalid: it expands to 1000 seeds (at most 100)"],
    [["--seeds", "3:1"], "--seeds = 3:1 is invalid: the end 1 is below the start 3"],
    [["--seed", "3", "--seeds", "1,2"], "--seed = 3 and --seeds = 1,2 cannot be given together"],
  ] as [string[], string][])("%j", async (args, message) => {
    await expectRefusedWithoutOutput([...SCAN, ...args], never, message);
  });

  it("--help documents --seeds", async () => {
    const r = await run(["scan", "--help"]);
    expect(r.out).toContain("--seeds <list>");
    expect(r.out).toContain("T<T>-d<depth>-s<seed>");
  });
});
