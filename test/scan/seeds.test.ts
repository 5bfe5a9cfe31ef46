/**
 * The seed dimension of a scan: parsing of seed lists, the statistics over seeds (aggregate.ts),
 * the shard split over (T, depth, seed), and a miniature scan (L = 4, one T, one depth, 2 seeds)
 * whose two runs carry the same numbers as single-seed scans with those seeds, with the
 * aggregated row their mean.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatScanTable } from "../../src/cli/scan.ts";
import { seedStats } from "../../src/scan/aggregate.ts";
import { MAX_SEEDS, parseDepthRange, parseSeedList, parseTemperatureRange } from "../../src/scan/range.ts";
import { runScan } from "../../src/scan/scan.ts";
import {
  bestDepths,
  formatMeanCsv,
  SCAN_CSV_COLUMNS,
  SCAN_MEAN_CSV_COLUMNS,
  SCAN_SEEDS_CSV_COLUMNS,
  type ScanRow,
} from "../../src/scan/table.ts";
import { shardPositions } from "../../src/scan/shard.ts";
import type { TrainConfig } from "../../src/train/trainer.ts";
import { tempDirs } from "./process-helpers.ts";

describe("parseSeedList", () => {
  it("reads a:b, lists and one seed, ascending", () => {
    expect(parseSeedList("1:5")).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeedList("3,1,2")).toEqual([1, 2, 3]);
    expect(parseSeedList(" 7 ")).toEqual([7]);
    expect(parseSeedList("0, 4294967295")).toEqual([0, 4294967295]);
    expect(parseSeedList(`1:${MAX_SEEDS}`)).toHaveLength(MAX_SEEDS);
  });

  it.each([
    ["1,2,1", "--seeds = 1,2,1 is invalid: 1 appears twice"],
    ["1,01", "--seeds = 1,01 is invalid: 1 appears twice"],
    ["1.5", `--seeds = 1.5 is invalid: "1.5" is not an integer`],
    ["a,b", `--seeds = a,b is invalid: "a" is not an integer`],
    ["1e3", `--seeds = 1e3 is invalid: "1e3" is not an integer`],
    ["-1", "--seeds = -1 is invalid: seeds must be ≥ 0 (got -1)"],
    ["2,-3", "--seeds = 2,-3 is invalid: seeds must be ≥ 0 (got -3)"],
    ["-2:3", "--seeds = -2:3 is invalid: seeds must be ≥ 0 (got -2)"],
    ["4294967296", "--seeds = 4294967296 is invalid: seeds must be integers in 0..4294967295"],
    ["5:1", "--seeds = 5:1 is invalid: the end 1 is below the start 5"],
    ["1:2:3", "--seeds = 1:2:3 is invalid: a range must be written a:b"],
    ["1:", `--seeds = 1: is invalid: "" is not an integer`],
    ["", `--seeds = "" is invalid: expected a:b, a list a,b,c or one seed`],
    [
      `1:${MAX_SEEDS + 1}`,
      `--seeds = 1:${MAX_SEEDS + 1} is invalid: it expands to ${MAX_SEEDS + 1} seeds (at most ${MAX_SEEDS})`,
    ],
    [
      Array.from({ length: MAX_SEEDS + 1 }, (_, i) => i).join(","),
      `it lists ${MAX_SEEDS + 1} seeds (at most ${MAX_SEEDS})`,
    ],
  ])("%j is refused", (spec, message) => {
    expect(() => parseSeedList(spec)).toThrow(RangeError);
    expect(() => parseSeedList(spec)).toThrow(message);
  });
});

describe("seedStats: mean over seeds, standard error across seeds, best seed", () => {
  it("matches a hand computation", () => {
    const s = seedStats([
      { seed: 3, relErr: 0.1, relErrStdErr: 0.01 },
      { seed: 1, relErr: 0.3, relErrStdErr: 0.01 },
      { seed: 2, relErr: 0.2, relErrStdErr: 0.01 },
      { seed: 4, relErr: Number.NaN, relErrStdErr: Number.NaN }, // unfinished: left out
    ]);
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(0.2, 15);
    expect(s.sd).toBeCloseTo(0.1, 15); // sqrt((0.01 + 0 + 0.01) / 2)
    expect(s.sem).toBeCloseTo(0.1 / Math.sqrt(3), 15);
    expect(s.best?.seed).toBe(3);
  });

  it("one seed: no spread; none: NaN; ties go to the lower seed", () => {
    const one = seedStats([{ seed: 5, relErr: 0.4, relErrStdErr: 0.02 }]);
    expect([one.n, one.mean, one.best?.seed]).toEqual([1, 0.4, 5]);
    expect(Number.isNaN(one.sem) && Number.isNaN(one.sd)).toBe(true);
    const none = seedStats([]);
    expect(none.n).toBe(0);
    expect(Number.isNaN(none.mean)).toBe(true);
    expect(none.best).toBeNull();
    expect(
      seedStats([
        { seed: 9, relErr: 0.1, relErrStdErr: 0 },
        { seed: 2, relErr: 0.1, relErrStdErr: 0 },
      ]).best?.seed,
    ).toBe(2);
  });
});

describe("shardPositions over (T, depth, seed)", () => {
  const points = [2.0, 2.5].flatMap((T) => [1, 2].flatMap((depth) => [1, 2, 3].map((seed) => ({ T, depth, seed }))));
  const name = (p: { T: number; depth: number; seed: number }): string => `${p.T}-d${p.depth}-s${p.seed}`;

  it("partitions the points, deepest first, then T, then seed, dealt round-robin, whatever the list order", () => {
    for (let N = 1; N <= 13; N++) {
      const shares = Array.from({ length: N }, (_, i) => shardPositions(points, { index: i, count: N }));
      expect(shares.flat().sort((a, b) => a - b)).toEqual(points.map((_, i) => i));
      const sizes = shares.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      const reversed = [...points].reverse();
      for (let i = 0; i < N; i++) {
        expect(
          shardPositions(reversed, { index: i, count: N })
            .map((k) => name(reversed[k]))
            .sort(),
        ).toEqual(shares[i].map((k) => name(points[k])).sort());
      }
    }
    // order: (2.0,d2,s1) (2.0,d2,s2) (2.0,d2,s3) (2.5,d2,s1) … dealt 0,1,0,1,…
    expect(
      shardPositions(points, { index: 0, count: 2 })
        .map((k) => name(points[k]))
        .sort(),
    ).toEqual(["2-d1-s1", "2-d1-s3", "2-d2-s1", "2-d2-s3", "2.5-d1-s2", "2.5-d2-s2"]);
  });
});

// ---- a miniature scan over two seeds against single-seed scans with those seeds ----

const tmp = tempDirs("neuralrg-seeds-");

const configFor =
  (seed: number) =>
  (T: number, depth: number): TrainConfig => ({
    target: { kind: "ising", L: 4, T },
    flow: { L: 4, layout: "mera", depth, nlayers: 2, nmlp: 1, nhidden: 4 },
    batch: 16,
    epochs: 6,
    lr: 1e-2,
    weightDecay: 0,
    seed,
    dtype: "float64",
    symmetrize: false,
    symmetryWeight: 0.5,
    init: "identity",
    kernel: "js",
  });
const base = {
  temperatures: parseTemperatureRange("2.0"),
  depths: parseDepthRange("1", 2),
  savePeriod: 2,
  evalSamples: 64,
  progress: "off" as const,
  jobs: 2,
};

function csv(path: string): string[][] {
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(","));
}

/** The numbers of a row, without the wall time. */
function numbers(r: ScanRow): number[] {
  return [r.epochs, r.F, r.F_stderr, r.exact, r.rel_err];
}

describe("scan over 2 seeds (L = 4, one T, one depth)", () => {
  it("trains one run per seed, with the numbers of single-seed scans with those seeds; scan-mean.csv is their mean", async () => {
    const dir = tmp();
    const seeded = await runScan({ ...base, dir: join(dir, "seeds"), configFor: configFor(99), seeds: [2, 1] }); // any order
    const single1 = await runScan({ ...base, dir: join(dir, "s1"), configFor: configFor(1) });
    const single2 = await runScan({ ...base, dir: join(dir, "s2"), configFor: configFor(99), seeds: [2] }); // one listed seed = --seed
    for (const r of [seeded, single1, single2]) expect(r.complete).toBe(true);

    // run directories: -s<seed> only with several seeds
    expect(
      readdirSync(join(dir, "seeds"))
        .filter((f) => f.startsWith("T"))
        .sort(),
    ).toEqual(["T2.0-d1-s1", "T2.0-d1-s2"]);
    expect(existsSync(join(dir, "s1", "T2.0-d1"))).toBe(true);
    expect(existsSync(join(dir, "s2", "T2.0-d1"))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "s2", "T2.0-d1", "config.json"), "utf8")).seed).toBe(2);
    expect(seeded.rows.map((r) => [r.point.seed, r.point.config.seed])).toEqual([
      [1, 1],
      [2, 2],
    ]);

    // same numbers, seed by seed
    expect(numbers(seeded.rows[0])).toEqual(numbers(single1.rows[0]));
    expect(numbers(seeded.rows[1])).toEqual(numbers(single2.rows[0]));
    expect(seeded.rows[0].rel_err).not.toBe(seeded.rows[1].rel_err); // the seeds do differ

    // scan.csv: a seed column, one row per run; the single-seed scans keep today's columns
    const rows = csv(join(dir, "seeds", "scan.csv"));
    expect(rows[0]).toEqual([...SCAN_SEEDS_CSV_COLUMNS]);
    expect(rows.slice(1).map((r) => r.slice(0, 3))).toEqual([
      ["2.0", "1", "1"],
      ["2.0", "1", "2"],
    ]);
    const drop = (r: string[], i: number): string[] => r.filter((_, k) => k !== i);
    const seconds = SCAN_SEEDS_CSV_COLUMNS.indexOf("seconds");
    for (const [i, single] of [
      [1, "s1"],
      [2, "s2"],
    ] as const) {
      const s = csv(join(dir, single, "scan.csv"));
      expect(s[0]).toEqual([...SCAN_CSV_COLUMNS]);
      expect(drop(drop(rows[i], seconds), 2)).toEqual(drop(s[1], seconds - 1));
    }
    expect(existsSync(join(dir, "s1", "scan-mean.csv"))).toBe(false);
    expect(single1.meanCsv).toBeUndefined();

    // the aggregated row: mean of the two runs, standard error |a − b| / 2 (n = 2), best seed
    const [a, b] = [single1.rows[0].rel_err, single2.rows[0].rel_err];
    const mean = csv(join(dir, "seeds", "scan-mean.csv"));
    expect(seeded.meanCsv).toBe(join(dir, "seeds", "scan-mean.csv"));
    expect(mean[0]).toEqual([...SCAN_MEAN_CSV_COLUMNS]);
    expect(mean).toHaveLength(2);
    const m = Object.fromEntries(SCAN_MEAN_CSV_COLUMNS.map((c, i) => [c, mean[1][i]]));
    expect([m.T, m.depth, m.seeds, m.stopped]).toEqual(["2.0", "1", "2", "0"]);
    // a seed stopped before its requested epochs stays in the mean but is counted as stopped
    const oneStopped = formatMeanCsv(seeded.rows.map((r, i) => (i === 0 ? { ...r, status: "partial" as const } : r)));
    expect(oneStopped.split("\n")[1].split(",")[SCAN_MEAN_CSV_COLUMNS.indexOf("stopped")]).toBe("1");
    // … and marked in the report's table
    const stoppedRows = seeded.rows.map((r, i) => (i === 0 ? { ...r, status: "partial" as const } : r));
    expect(formatScanTable(stoppedRows).join("\n")).toMatch(
      /\[2\/2\]\*[\s\S]*\(\* = a seed stopped before the requested epochs\)/,
    );
    expect(formatScanTable(seeded.rows).join("\n")).not.toContain("*");
    expect(Number(m.rel_err_mean)).toBeCloseTo((a + b) / 2, 14);
    expect(Number(m.rel_err_sem)).toBeCloseTo(Math.abs(a - b) / 2, 14);
    expect(Number(m.best_seed)).toBe(a <= b ? 1 : 2);
    expect(Number(m.best_rel_err)).toBe(Math.min(a, b));
    expect(Number(m.exact)).toBe(single1.rows[0].exact);

    // best depth per T uses the mean
    const best = bestDepths(seeded.rows);
    expect(best).toHaveLength(1);
    expect(best[0].relErr).toBeCloseTo((a + b) / 2, 14);
    expect(best[0].relErrStdErr).toBeCloseTo(Math.abs(a - b) / 2, 14);
    expect(best[0].seeds).toBe(2);

    // scan.json records the seeds; the single-seed one does not
    expect(JSON.parse(readFileSync(join(dir, "seeds", "scan.json"), "utf8")).seeds).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(dir, "s1", "scan.json"), "utf8")).seeds).toBeUndefined();
    // Fig. S1 states what it shows
    expect(readFileSync(join(dir, "seeds", "relerr-vs-T.svg"), "utf8")).toContain("mean over 2 seeds");
    expect(readFileSync(join(dir, "s1", "relerr-vs-T.svg"), "utf8")).not.toContain("seeds");

    // re-running skips both runs
    const again = await runScan({ ...base, dir: join(dir, "seeds"), configFor: configFor(99), seeds: [1, 2] });
    expect([again.trained, again.skipped]).toEqual([0, 2]);
  }, 30_000);
});
