/**
 * Property-based CLI fuzzing (fast subset; `npm run validate` runs thousands of cases).
 * See harness/fuzz-cli.ts for the generators and the property.
 */
import { describe, expect, it } from "vitest";
import { fuzzCli } from "./harness/fuzz-cli.ts";

const SEED = 20_260_611;

describe("CLI fuzzing: exit 0 or a one-line exit-2 error, no stack trace, no hang, no partial output", () => {
  it("train, demo and exact (plus a few cases through the real process)", async () => {
    const s = await fuzzCli({
      runs: { train: 40, demo: 8, exact: 40, version: 8, top: 20 },
      seed: SEED,
      processCases: { train: 1, exact: 1 },
    });
    expect(s.failures).toEqual([]);
    expect(s.tried).toBe(40 + 8 + 40 + 8 + 20 + 2);
    // both outcomes are exercised
    expect(s.byExit["0"]).toBeGreaterThan(10);
    expect(s.byExit["2"]).toBeGreaterThan(40);
  });

  it("commands reading a run directory (sample, hmc, analyze, report), scan, fit and data", async () => {
    const s = await fuzzCli({
      runs: { sample: 15, hmc: 10, analyze: 10, report: 10, scan: 4, fit: 6, data: 10 },
      seed: SEED + 1,
    });
    expect(s.failures).toEqual([]);
    expect(s.tried).toBe(15 + 10 + 10 + 10 + 4 + 6 + 10);
    expect(s.byExit["2"]).toBeGreaterThan(15);
  });
});
