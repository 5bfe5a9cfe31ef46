/**
 * Sharded scans end to end: a 4-point miniature scan (L = 4, 2 temperatures × 2 depths, 6 epochs
 * of a tiny network) run unsharded and as 2 shards in separate `neuralrg` processes (in separate
 * directories and in one shared directory, the shard index from --shard, SLURM_ARRAY_TASK_ID and
 * JOB_COMPLETION_INDEX), then `scan merge`: the merged scan.csv equals the unsharded one in every
 * column but the wall time, and the figures are byte for byte the same. Then the merge's refusals:
 * shards of different scans, a missing shard, a run directory of another configuration.
 */
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

const tmp = tempDirs("neuralrg-merge-");

const SCAN = [
  "scan",
  "--L",
  "4",
  "--T",
  "2.0,2.5",
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
  "--seed",
  "7",
  "--jobs",
  "1",
  "--progress",
  "off",
];

let local: string; // unsharded
let sepA: string; // shard 0 in its own directory
let sepB: string; // shard 1 in its own directory
let shared: string; // both shards in one directory

beforeAll(async () => {
  const base = tmp();
  local = join(base, "local");
  sepA = join(base, "a");
  sepB = join(base, "b");
  shared = join(base, "shared");
  // two processes at a time (two cores)
  const [u, a] = await Promise.all([
    neuralrg([...SCAN, "--out", local]),
    neuralrg([...SCAN, "--out", sepA, "--shard", "0/2"]),
  ]);
  const [b, s1] = await Promise.all([
    neuralrg([...SCAN, "--out", sepB], {
      SLURM_ARRAY_TASK_ID: "1",
      SLURM_ARRAY_TASK_COUNT: "2",
      SLURM_ARRAY_TASK_MIN: "0",
    }),
    neuralrg([...SCAN, "--out", shared], { JOB_COMPLETION_INDEX: "1", NEURALRG_SHARDS: "2" }),
  ]);
  const s0 = await neuralrg([...SCAN, "--out", shared, "--shard", "0/2"]);
  for (const r of [u, a, b, s1, s0]) expect(r.code, r.err).toBe(0);
  expect(a.err).toContain("shard 0/2 (--shard 0/2): 2 of 4 points");
  expect(b.err).toContain("shard 1/2 (SLURM_ARRAY_TASK_ID = 1, SLURM_ARRAY_TASK_COUNT = 2): 2 of 4 points");
  expect(s1.err).toContain("shard 1/2 (JOB_COMPLETION_INDEX = 1, NEURALRG_SHARDS = 2)");
  expect(u.err).not.toContain("shard");
}, 120_000);

describe("sharded scan: 2 shards in separate processes, merged", () => {
  it("each shard trains only its points and writes its manifest, not scan.csv or figures", () => {
    const ma = JSON.parse(readFileSync(join(sepA, "shard-0-of-2.json"), "utf8"));
    const mb = JSON.parse(readFileSync(join(sepB, "shard-1-of-2.json"), "utf8"));
    expect([ma.shard, ma.shards, mb.shard, mb.shards]).toEqual([0, 2, 1, 2]);
    expect(ma.scan.points).toEqual(["T2.0-d1", "T2.0-d2", "T2.5-d1", "T2.5-d2"]);
    expect([...ma.assigned, ...mb.assigned].sort()).toEqual(ma.scan.points);
    expect(ma.assigned).toHaveLength(2);
    expect(ma.status).toEqual(Object.fromEntries(ma.assigned.map((n: string) => [n, "done"])));
    for (const n of ma.scan.points) {
      expect(existsSync(join(sepA, n))).toBe(ma.assigned.includes(n));
      expect(existsSync(join(sepB, n))).toBe(mb.assigned.includes(n));
      expect(existsSync(join(shared, n, "summary.json"))).toBe(true);
    }
    for (const d of [sepA, sepB, shared]) {
      expect(existsSync(join(d, "scan.csv"))).toBe(false);
      for (const f of FIGURES) expect(existsSync(join(d, f))).toBe(false);
    }
    expect(readFileSync(join(sepA, "shard-0-of-2.csv"), "utf8").trim().split("\n")).toHaveLength(3);
  });

  it("merging separate directories gives the unsharded scan.csv (all but the wall time) and the same figures", async () => {
    const out = join(tmp(), "merged");
    const r = await run(["scan", "merge", sepA, sepB, "--out", out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`merged 2 of 2 shards into ${out}`);
    expect(r.out).toContain("points: 4 (4 finished)");
    const merged = csvWithoutSeconds(join(out, "scan.csv"));
    expect(merged).toHaveLength(5);
    expect(merged).toEqual(csvWithoutSeconds(join(local, "scan.csv")));
    for (const f of FIGURES) expect(readFileSync(join(out, f)).equals(readFileSync(join(local, f))), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "scan.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(local, "scan.json"), "utf8")),
    );
    const where = JSON.parse(readFileSync(join(out, "merge.json"), "utf8")).points;
    expect(where["T2.0-d1"].dir.startsWith(sepA) || where["T2.0-d1"].dir.startsWith(sepB)).toBe(true);
  });

  it("merging a shared directory in place gives the same; --json lists the points", async () => {
    const r = await run(["scan", "merge", shared, "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.complete).toBe(true);
    expect(j.missingShards).toEqual([]);
    expect(j.points.map((p: { status: string }) => p.status)).toEqual(["done", "done", "done", "done"]);
    expect(csvWithoutSeconds(join(shared, "scan.csv"))).toEqual(csvWithoutSeconds(join(local, "scan.csv")));
    for (const f of FIGURES) expect(readFileSync(join(shared, f)).equals(readFileSync(join(local, f))), f).toBe(true);
  });

  it("the numbers are the trained ones: rel_err = (F − exact)/|exact|, the variational bound holds", () => {
    const rows = csvWithoutSeconds(join(local, "scan.csv"))
      .slice(1)
      .map((r) => r.map(Number));
    for (const [, , epochs, F, Ferr, exact, rel] of rows) {
      expect(epochs).toBe(6);
      expect(rel).toBeCloseTo((F - exact) / Math.abs(exact), 12);
      expect(F).toBeGreaterThan(exact - 3 * Ferr);
    }
  });
});

describe("scan merge: refusals", () => {
  it("a missing shard: exit 1 naming the shard and its points; --partial merges the rest", async () => {
    const out = join(tmp(), "partial");
    const r = await run(["scan", "merge", sepA, "--out", out]);
    expect(r.code).toBe(1);
    expectOneLineError(
      r.err,
      "cannot merge: 1 of 2 shards missing: 1/2 (no shard-1-of-2.json)",
      "2 of 4 points unfinished",
      "no run directory (shard 1/2 missing)",
      "--partial",
    );
    expect(existsSync(join(out, "scan.csv"))).toBe(false);

    const p = await run(["scan", "merge", sepA, "--out", out, "--partial"]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain("merged 1 of 2 shards");
    expect(p.out).toContain("missing shards: 1/2");
    expect(p.out).toMatch(/unfinished T2\.\d-d\d: no run directory \(shard 1\/2 missing\)/);
    expect(readFileSync(join(out, "scan.csv"), "utf8").trim().split("\n")).toHaveLength(3);
  });

  it("an unfinished point: exit 1 naming it and its epochs", async () => {
    const d = join(tmp(), "unfinished");
    cpSync(sepA, join(d, "a"), { recursive: true });
    const m = JSON.parse(readFileSync(join(sepA, "shard-0-of-2.json"), "utf8"));
    rmSync(join(d, "a", m.assigned[0], "summary.json"));
    const r = await run(["scan", "merge", join(d, "a"), sepB, "--out", join(d, "out")]);
    expect(r.code).toBe(1);
    expectOneLineError(
      r.err,
      "1 of 4 points unfinished",
      `${m.assigned[0]}: 6 of 6 epochs in ${join(d, "a", m.assigned[0])} (shard 0/2)`,
    );
  });

  it("shards of different scans: the differing key and both values are named", async () => {
    const d = join(tmp(), "other");
    cpSync(sepB, d, { recursive: true });
    const path = join(d, "shard-1-of-2.json");
    const m = JSON.parse(readFileSync(path, "utf8"));
    m.scan.config.lr = 0.02;
    writeFileSync(path, JSON.stringify(m));
    const r = await run(["scan", "merge", sepA, d, "--out", join(tmp(), "x")]);
    expect(r.code).toBe(1);
    expectOneLineError(
      r.err,
      `shard 1/2 (${path}) belongs to a different scan than shard 0/2`,
      "differ in config.lr (0.01 vs 0.02)",
    );
  });

  it("a different shard count, a shard twice, a directory without shards, several directories without --out", async () => {
    const d3 = tmp();
    const m = JSON.parse(readFileSync(join(sepB, "shard-1-of-2.json"), "utf8"));
    writeFileSync(join(d3, "shard-1-of-3.json"), JSON.stringify({ ...m, shards: 3 }));
    let r = await run(["scan", "merge", sepA, d3, "--out", join(tmp(), "x")]);
    expect(r.code).toBe(1);
    expectOneLineError(r.err, "the shards disagree on the shard count: N = 2 in", "N = 3 in");

    const copy = tmp();
    cpSync(join(sepA, "shard-0-of-2.json"), join(copy, "shard-0-of-2.json"));
    r = await run(["scan", "merge", sepA, copy, sepB, "--out", join(tmp(), "x")]);
    expect(r.code).toBe(1);
    expectOneLineError(r.err, "shard 0/2 appears twice");

    const empty = tmp();
    r = await run(["scan", "merge", empty]);
    expect(r.code).toBe(1);
    expectOneLineError(r.err, `${empty} holds no shard manifest (shard-I-of-N.json)`);

    r = await run(["scan", "merge", sepA, sepB]);
    expect(r.code).toBe(2);
    expectOneLineError(r.err, "2 shard directories given: name the directory for the merged results with --out DIR");
  });

  it("a point's run directory with another configuration is refused", async () => {
    const d = tmp();
    cpSync(sepB, join(d, "b"), { recursive: true });
    const m = JSON.parse(readFileSync(join(sepB, "shard-1-of-2.json"), "utf8"));
    const cfgPath = join(d, "b", m.assigned[0], "config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, batch: 32 }));
    const r = await run(["scan", "merge", sepA, join(d, "b"), "--out", join(d, "out")]);
    expect(r.code).toBe(1);
    expectOneLineError(
      r.err,
      `${join(d, "b", m.assigned[0])} holds a run with another configuration than the scan's point ${m.assigned[0]} (differs in batch)`,
    );
  });
});

describe("neuralrg scan --shard: bad values exit 2 with one line, before anything is written", () => {
  const never = join(tmpdir(), "neuralrg-shard-never-created");
  it.each([
    [["--shard", "2/2"], "--shard = 2/2 is invalid: the shard index I must be in 0..1 for N = 2"],
    [["--shard", "0/0"], "--shard = 0/0 is invalid: the shard count N must be an integer in 1..100000"],
    [["--shard", "one/two"], "--shard = one/two is invalid: expected I/N"],
    [["--shard", "0/2", "--shards", "3"], "--shards = 3 contradicts --shard = 0/2"],
    [["--shards", "0"], "--shards = 0 is invalid"],
    [["--shards", "2"], "--shards = 2 needs a shard index"],
  ] as [string[], string][])("%j", async (args, message) => {
    await expectRefusedWithoutOutput([...SCAN, ...args], never, message);
  });

  it("an out-of-range SLURM_ARRAY_TASK_ID is refused naming the variable", async () => {
    const saved = { ...process.env };
    try {
      process.env.SLURM_ARRAY_TASK_ID = "5";
      process.env.SLURM_ARRAY_TASK_COUNT = "2";
      delete process.env.SLURM_ARRAY_TASK_MIN;
      const r = await run([...SCAN, "--out", never]);
      expect(r.code).toBe(2);
      expectOneLineError(r.err, "SLURM_ARRAY_TASK_ID = 5 is invalid: the shard index must be an integer in 0..1");
      expect(existsSync(never)).toBe(false);
    } finally {
      for (const k of ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it("more shards than points: the extra shard trains nothing but still reports in, so the merge is complete", async () => {
    const d = tmp();
    const one = ["--T", "2.0", "--depth", "1"];
    for (const s of ["0/2", "1/2"]) {
      const r = await run([...SCAN, ...one, "--out", d, "--shard", s]);
      expect(r.code, r.err).toBe(0);
    }
    expect(JSON.parse(readFileSync(join(d, "shard-1-of-2.json"), "utf8")).assigned).toEqual([]);
    const r = await run(["scan", "merge", d]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("points: 1 (1 finished)");
  });
});
