import { describe, expect, it } from "vitest";
import { batchAt, lrFactor, validateLrSchedule } from "../../src/train/schedule.ts";

describe("training schedules", () => {
  it("warm-up rises linearly to 1, then the cosine decays to `final` at the last epoch", () => {
    const s = { warmup: 0.1, decay: "cosine", final: 0.01 } as const;
    const E = 1000;
    expect(lrFactor(s, 0, E)).toBeCloseTo(0.01 + 0.99 / 100, 12);
    expect(lrFactor(s, 99, E)).toBeCloseTo(1, 12);
    expect(lrFactor(s, 100, E)).toBeCloseTo(1, 12);
    // halfway through the decay: the mean of 1 and final
    expect(lrFactor(s, 100 + 450, E)).toBeCloseTo((1 + 0.01) / 2, 12);
    expect(lrFactor(s, E, E)).toBeCloseTo(0.01, 12);
    for (let e = 100; e < E; e++) expect(lrFactor(s, e + 1, E)).toBeLessThanOrEqual(lrFactor(s, e, E));
  });

  it("no schedule or a constant one leaves lr unchanged", () => {
    expect(lrFactor(undefined, 5, 10)).toBe(1);
    expect(lrFactor({ warmup: 0, decay: "constant", final: 0.5 }, 7, 10)).toBe(1);
  });

  it("the batch grows geometrically from the first to the last epoch", () => {
    expect(batchAt(256, undefined, 50, 100)).toBe(256);
    expect(batchAt(256, 1024, 0, 101)).toBe(256);
    expect(batchAt(256, 1024, 50, 101)).toBe(512);
    expect(batchAt(256, 1024, 100, 101)).toBe(1024);
  });

  it("refuses settings out of range, naming the value", () => {
    expect(() => validateLrSchedule({ warmup: 1, decay: "cosine", final: 0 })).toThrow(/warmup = 1 is invalid/);
    expect(() => validateLrSchedule({ warmup: 0, decay: "step" as "cosine", final: 0 })).toThrow(
      /lr-decay = step is invalid/,
    );
    expect(() => validateLrSchedule({ warmup: 0, decay: "cosine", final: 1.5 })).toThrow(/lr-final = 1.5 is invalid/);
  });
});
