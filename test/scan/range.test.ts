import { describe, expect, it } from "vitest";
import { parseDepthRange, parseTemperatureRange } from "../../src/scan/range.ts";

describe("temperature ranges", () => {
  it("a:b:step includes both ends, without floating-point drift, labelled with the written decimals", () => {
    const g = parseTemperatureRange("2.0:2.7:0.1");
    expect(g.values).toEqual([2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7]);
    expect(g.labels).toEqual(["2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]);
    expect(parseTemperatureRange("2:3:0.25").labels).toEqual(["2.00", "2.25", "2.50", "2.75", "3.00"]);
    expect(parseTemperatureRange("2.0:2.05:0.1").values).toEqual([2.0]);
  });

  it("lists and single values", () => {
    expect(parseTemperatureRange("2.5, 2.0,2.269")).toEqual({
      values: [2.0, 2.269, 2.5],
      labels: ["2.000", "2.269", "2.500"],
    });
    expect(parseTemperatureRange("2.269")).toEqual({ values: [2.269], labels: ["2.269"] });
  });

  it.each([
    ["", /expected a:b:step/],
    ["2.0:2.7", /a:b:step/],
    ["2.0:2.7:0.1:1", /a:b:step/],
    ["2.7:2.0:0.1", /below the start/],
    ["2.0:2.7:0", /step must be > 0/],
    ["2.0:2.7:-0.1", /step must be > 0/],
    ["a:2.7:0.1", /"a" is not a number/],
    ["0:1:0.5", /must be > 0/],
    ["-1", /must be > 0/],
    ["2.0,2.0", /appears twice/],
    ["1:1000:0.1", /at most 1000/],
  ])("rejects %j with a one-line message", (spec, re) => {
    let msg = "";
    try {
      parseTemperatureRange(spec);
    } catch (e) {
      expect(e).toBeInstanceOf(RangeError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(re);
    expect(msg).toMatch(/^--T = /);
    expect(msg).not.toContain("\n");
  });
});

describe("depth ranges", () => {
  it("a..b, lists, single values; sorted", () => {
    expect(parseDepthRange("1..5", 5)).toEqual([1, 2, 3, 4, 5]);
    expect(parseDepthRange("5,1,3", 5)).toEqual([1, 3, 5]);
    expect(parseDepthRange("2")).toEqual([2]);
  });

  it.each([
    ["1..6", 5, /1\.\.5 for L = 32 \(got 6\)/],
    ["0..2", 5, /got 0/],
    ["3..1", 5, /below the start/],
    ["1...3", 5, /a\.\.b/],
    ["1.5", 5, /not a positive integer/],
    ["x", 5, /not a positive integer/],
    ["2,2", 5, /appears twice/],
    ["", 5, /expected a\.\.b/],
  ] as const)("rejects %j (max %i) with a one-line message", (spec, max, re) => {
    expect(() => parseDepthRange(spec, max)).toThrow(re);
  });
});
