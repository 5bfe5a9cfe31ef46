import { describe, expect, it } from "vitest";
import { oneLine, parseChoiceOption, parseFloatOption, parseIntOption, UsageError } from "../../src/cli/errors.ts";
import { parseLatticeSize, parseTemperature } from "../../src/cli/options.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("option parsers", () => {
  it("parse valid values", () => {
    expect(parseIntOption("epochs", "10", 1)).toBe(10);
    expect(parseIntOption("epochs", 7, 1)).toBe(7);
    expect(parseFloatOption("T", "2.269", { min: 0, exclusiveMin: true })).toBe(2.269);
    expect(parseFloatOption("lr", "1e-3", { min: 0, exclusiveMin: true })).toBe(1e-3);
    expect(parseLatticeSize("16")).toBe(16);
    expect(parseChoiceOption("layout", "mera", ["mera", "tebd", "tree"])).toBe("mera");
  });

  it("name the option, the value and the requirement", () => {
    expect(message(() => parseFloatOption("T", "-1", { min: 0, exclusiveMin: true }))).toBe(
      "--T = -1 is invalid: T must be a number > 0",
    );
    expect(message(() => parseTemperature("0"))).toBe("--T = 0 is invalid: T must be a number > 0");
    expect(message(() => parseTemperature("abc"))).toBe("--T = abc is invalid: T must be a number > 0");
    expect(message(() => parseTemperature("Infinity"))).toMatch(/^--T = Infinity is invalid/);
    expect(message(() => parseIntOption("epochs", "1.5", 1))).toBe(
      "--epochs = 1.5 is invalid: epochs must be an integer >= 1",
    );
    expect(message(() => parseIntOption("batch", "0", 1, 65536))).toBe(
      "--batch = 0 is invalid: batch must be an integer in 1..65536",
    );
    expect(message(() => parseFloatOption("p", "2", { min: 0, max: 1, exclusiveMax: true }))).toBe(
      "--p = 2 is invalid: p must be a number in [0, 1)",
    );
    expect(message(() => parseLatticeSize("3"))).toMatch(/^--L = 3 is invalid: L must be a power of two/);
    expect(message(() => parseLatticeSize("0"))).toMatch(/^--L = 0 is invalid/);
    expect(message(() => parseLatticeSize("abc"))).toMatch(/^--L = abc is invalid/);
    expect(message(() => parseIntOption("n", ""))).toBe('--n = "" is invalid: n must be an integer');
    expect(message(() => parseChoiceOption("layout", "x", ["mera", "tree"]))).toBe(
      "--layout = x is invalid: layout must be one of mera, tree",
    );
  });

  it("oneLine keeps the first line", () => {
    expect(oneLine(new Error("first\nsecond"))).toBe("first");
    expect(oneLine("plain")).toBe("plain");
  });
});
