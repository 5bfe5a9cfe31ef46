/**
 * Shards of a scan (src/scan/shard.ts): parsing --shard I/N, the index and count from Slurm and
 * Kubernetes environment variables, and the deterministic split of the points.
 */
import { describe, expect, it } from "vitest";
import { parseShardSpec, resolveShard, shardFileStem, shardPositions } from "../../src/scan/shard.ts";

describe("parseShardSpec", () => {
  it.each([
    ["0/1", 0, 1],
    ["0/2", 0, 2],
    ["1/2", 1, 2],
    [" 3 / 4 ", 3, 4],
    ["99/100", 99, 100],
  ])("%j → %i of %i", (spec, index, count) => {
    expect(parseShardSpec(spec)).toEqual({ index, count });
  });

  it.each([
    ["2/2", "--shard = 2/2 is invalid: the shard index I must be in 0..1 for N = 2"],
    ["5/3", "the shard index I must be in 0..2 for N = 3"],
    ["0/0", "--shard = 0/0 is invalid: the shard count N must be an integer in 1..100000"],
    ["0/100001", "the shard count N must be an integer in 1..100000"],
    ["-1/2", "--shard = -1/2 is invalid: expected I/N with integers 0 ≤ I < N"],
    ["1", "--shard = 1 is invalid: expected I/N"],
    ["a/b", "--shard = a/b is invalid: expected I/N"],
    ["1/2/3", "expected I/N"],
    ["1.5/2", "expected I/N"],
    ["", '--shard = "" is invalid'],
  ])("%j is refused", (spec, message) => {
    expect(() => parseShardSpec(spec)).toThrow(RangeError);
    expect(() => parseShardSpec(spec)).toThrow(message);
  });
});

describe("resolveShard: --shard, Slurm job arrays, Kubernetes Indexed Jobs", () => {
  it("nothing set: an unsharded scan", () => {
    expect(resolveShard({ env: {} })).toBeNull();
    expect(resolveShard({ env: { SLURM_ARRAY_TASK_ID: "", JOB_COMPLETION_INDEX: " " } })).toBeNull();
    expect(resolveShard({ env: { SLURM_JOB_ID: "123", NEURALRG_SHARDS: "4" } })).toBeNull(); // a count alone shards nothing
  });

  it("--shard wins over the environment, and says so", () => {
    const r = resolveShard({
      shard: "1/3",
      env: { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "2", JOB_COMPLETION_INDEX: "2" },
    });
    expect(r).toEqual({ index: 1, count: 3, source: "--shard 1/3" });
    expect(resolveShard({ shard: "1/3", shards: 3 })).toMatchObject({ index: 1, count: 3 });
    expect(() => resolveShard({ shard: "1/3", shards: 4 })).toThrow("--shards = 4 contradicts --shard = 1/3 (N = 3)");
  });

  it("Slurm: SLURM_ARRAY_TASK_ID with the count from --shards, NEURALRG_SHARDS or SLURM_ARRAY_TASK_COUNT (in that order)", () => {
    const env = { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "0" };
    expect(resolveShard({ env })).toEqual({
      index: 2,
      count: 4,
      source: "SLURM_ARRAY_TASK_ID = 2, SLURM_ARRAY_TASK_COUNT = 4",
    });
    expect(resolveShard({ env: { ...env, NEURALRG_SHARDS: "5" } })).toEqual({
      index: 2,
      count: 5,
      source: "SLURM_ARRAY_TASK_ID = 2, NEURALRG_SHARDS = 5",
    });
    expect(resolveShard({ shards: 3, env: { ...env, NEURALRG_SHARDS: "5" } })).toEqual({
      index: 2,
      count: 3,
      source: "SLURM_ARRAY_TASK_ID = 2, --shards 3",
    });
  });

  it("Slurm: bad values name the variable, the value and the accepted range", () => {
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4" } })).toThrow(
      "SLURM_ARRAY_TASK_ID = 4 is invalid: the shard index must be an integer in 0..3 (SLURM_ARRAY_TASK_COUNT = 4; use sbatch --array=0-3)",
    );
    // a single task re-submitted (sbatch --array=3) sees a task count of 1: the count must be given
    expect(() =>
      resolveShard({ env: { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "1", SLURM_ARRAY_TASK_MIN: "3" } }),
    ).toThrow(/SLURM_ARRAY_TASK_MIN = 3 is invalid: .*--array=0-0.*--shards N/);
    expect(
      resolveShard({
        shards: 4,
        env: { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "1", SLURM_ARRAY_TASK_MIN: "3" },
      }),
    ).toMatchObject({ index: 3, count: 4 });
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" } })).toThrow(
      "SLURM_ARRAY_TASK_ID = x is invalid",
    );
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "0" } })).toThrow(
      "SLURM_ARRAY_TASK_COUNT = 0 is invalid: the shard count must be an integer in 1..100000",
    );
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "0" } })).toThrow(
      "SLURM_ARRAY_TASK_ID = 0 is set but the shard count is unknown: pass --shards N or set NEURALRG_SHARDS",
    );
    expect(() => resolveShard({ env: { SLURM_ARRAY_TASK_ID: "1", NEURALRG_SHARDS: "two" } })).toThrow(
      "NEURALRG_SHARDS = two is invalid",
    );
  });

  it("Slurm: a stepped or non-contiguous array (IDs not 0..COUNT−1) is refused when N comes from SLURM_ARRAY_TASK_COUNT", () => {
    // sbatch --array=0,3 (a re-submission of two tasks): task 0 would otherwise run shard 0 of a 2-way split
    const gap = {
      SLURM_ARRAY_TASK_ID: "0",
      SLURM_ARRAY_TASK_COUNT: "2",
      SLURM_ARRAY_TASK_MIN: "0",
      SLURM_ARRAY_TASK_MAX: "3",
    };
    expect(() => resolveShard({ env: gap })).toThrow(/SLURM_ARRAY_TASK_MAX = 3 is invalid: .*--array=0-1.*--shards N/);
    // sbatch --array=0-6:2: task 2 would otherwise run shard 2 of 4
    const step = {
      SLURM_ARRAY_TASK_ID: "2",
      SLURM_ARRAY_TASK_COUNT: "4",
      SLURM_ARRAY_TASK_MIN: "0",
      SLURM_ARRAY_TASK_MAX: "6",
      SLURM_ARRAY_TASK_STEP: "2",
    };
    expect(() => resolveShard({ env: step })).toThrow(/SLURM_ARRAY_TASK_MAX = 6 is invalid/);
    // with an explicit count the IDs are the shard indices as they are (a re-submission, or a split array)
    expect(resolveShard({ shards: 4, env: gap })).toMatchObject({ index: 0, count: 4 });
    // a proper 0-(N-1) array (throttled or not) passes
    expect(resolveShard({ env: { ...gap, SLURM_ARRAY_TASK_MAX: "1" } })).toMatchObject({ index: 0, count: 2 });
  });

  it("Kubernetes: JOB_COMPLETION_INDEX with the count from --shards or NEURALRG_SHARDS", () => {
    expect(resolveShard({ env: { JOB_COMPLETION_INDEX: "0", NEURALRG_SHARDS: "2" } })).toEqual({
      index: 0,
      count: 2,
      source: "JOB_COMPLETION_INDEX = 0, NEURALRG_SHARDS = 2",
    });
    expect(resolveShard({ shards: 8, env: { JOB_COMPLETION_INDEX: "7" } })).toEqual({
      index: 7,
      count: 8,
      source: "JOB_COMPLETION_INDEX = 7, --shards 8",
    });
    expect(() => resolveShard({ env: { JOB_COMPLETION_INDEX: "1" } })).toThrow(
      "JOB_COMPLETION_INDEX = 1 is set but the shard count is unknown: pass --shards N or set NEURALRG_SHARDS to the Job's spec.completions",
    );
    expect(() => resolveShard({ env: { JOB_COMPLETION_INDEX: "2", NEURALRG_SHARDS: "2" } })).toThrow(
      "JOB_COMPLETION_INDEX = 2 is invalid: the shard index must be an integer in 0..1 (NEURALRG_SHARDS = 2)",
    );
    // Slurm first when both are set
    expect(
      resolveShard({ env: { JOB_COMPLETION_INDEX: "1", SLURM_ARRAY_TASK_ID: "0", NEURALRG_SHARDS: "2" } })?.source,
    ).toMatch(/^SLURM_ARRAY_TASK_ID = 0/);
  });

  it("--shards without an index is refused", () => {
    expect(() => resolveShard({ shards: 2, env: {} })).toThrow(
      "--shards = 2 needs a shard index: --shard I/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX",
    );
  });
});

describe("shardPositions: the split of the points", () => {
  // temperature-major, as planScan lists them
  const grid = (nT: number, depths: number[]): { T: number; depth: number }[] =>
    Array.from({ length: nT }, (_, i) => 2 + 0.1 * i).flatMap((T) => depths.map((depth) => ({ T, depth })));

  it("the shares partition the points, are in list order, and differ in size by at most one", () => {
    for (const [nT, depths] of [
      [8, [1, 2, 3, 4, 5]],
      [2, [1, 2]],
      [3, [5]],
      [1, [1]],
    ] as [number, number[]][]) {
      const points = grid(nT, depths);
      for (let N = 1; N <= 9; N++) {
        const shares = Array.from({ length: N }, (_, i) => shardPositions(points, { index: i, count: N }));
        expect(shares.flat().sort((a, b) => a - b)).toEqual(points.map((_, i) => i));
        for (const s of shares) expect(s).toEqual([...s].sort((a, b) => a - b));
        const sizes = shares.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("deals each depth over the shards (the 40 points of App. E on 5 shards: every shard gets every depth)", () => {
    const points = grid(8, [1, 2, 3, 4, 5]);
    for (let i = 0; i < 5; i++) {
      const depths = shardPositions(points, { index: i, count: 5 }).map((k) => points[k].depth);
      for (const d of [1, 2, 3, 4, 5]) expect(depths.filter((x) => x === d).length).toBeGreaterThanOrEqual(1);
    }
  });

  it("is deterministic and independent of the list order", () => {
    const points = grid(3, [1, 2]);
    const names = (ps: { T: number; depth: number }[], i: number): string[] =>
      shardPositions(ps, { index: i, count: 2 })
        .map((k) => `${ps[k].T}-${ps[k].depth}`)
        .sort();
    const reversed = [...points].reverse();
    for (const i of [0, 1]) expect(names(reversed, i)).toEqual(names(points, i));
    // deepest first, then T: (2.0,2) (2.1,2) (2.2,2) (2.0,1) (2.1,1) (2.2,1) dealt 0,1,0,1,0,1
    expect(names(points, 0)).toEqual(["2-2", "2.1-1", "2.2-2"]);
    expect(shardFileStem({ index: 3, count: 12 })).toBe("shard-3-of-12");
  });
});
