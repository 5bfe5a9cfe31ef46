import { describe, expect, it } from "vitest";
import { criticalTemperature } from "../../src/targets/kaufman.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { RelaxedIsing } from "../../src/targets/ising.ts";
import { GaussianTarget } from "../../src/targets/gaussian.ts";

describe("makeTarget", () => {
  it("builds ising and gaussian targets and round-trips their configs", () => {
    const t = makeTarget({ kind: "ising", L: 8, T: criticalTemperature() });
    expect(t).toBeInstanceOf(RelaxedIsing);
    expect(t.nvars).toBe(64);
    const t2 = makeTarget(t.config);
    expect(t2.exactNegLogZ).toBe(t.exactNegLogZ);
    expect(t2.config).toEqual(t.config);
    const g = makeTarget({ kind: "gaussian", L: 4 });
    expect(g).toBeInstanceOf(GaussianTarget);
    expect(makeTarget(g.config).config).toEqual(g.config);
    expect(makeTarget({ kind: "ising", L: 6, T: 2, method: "dense" }).L).toBe(6);
  });

  it.each<[Record<string, number | string | boolean>, RegExp]>([
    [{ kind: "ising", L: 8, T: 0 }, /T = 0 .*finite number > 0/],
    [{ kind: "ising", L: 8, T: -1.5 }, /T = -1.5 .*> 0/],
    [{ kind: "ising", L: 8, T: Number.NaN }, /T = NaN/],
    [{ kind: "ising", L: 8, T: Number.POSITIVE_INFINITY }, /T = Infinity/],
    [{ kind: "ising", L: 8, T: "2.2" }, /T = "2.2"/],
    [{ kind: "ising", L: 8 }, /T = undefined/],
    [{ kind: "ising", L: 1, T: 2 }, /L = 1 .*integer in 2\.\.1024/],
    [{ kind: "ising", L: 2.5, T: 2 }, /L = 2.5 .*integer/],
    [{ kind: "ising", L: 0, T: 2 }, /L = 0/],
    [{ kind: "ising", L: 128, T: 2, method: "dense" }, /L = 128 .*2\.\.64/],
    [{ kind: "ising", L: 8, T: 2, method: "magic" }, /method = "magic" .*"spectral", "dense"/],
    [{ kind: "ising", L: 8, T: 2, J: 1 }, /option J = 1 .*accepted options are kind, L, T, method/],
    [{ kind: "potts", L: 8, T: 2 }, /kind = "potts" .*"ising", "gaussian"/],
    [{ L: 8, T: 2 }, /kind = undefined/],
    [{ kind: "gaussian", L: 4, scale: -2 }, /scale = -2 .*> 0/],
    [{ kind: "gaussian", L: 4, precision: "banded" }, /precision = "banded" .*"circulant", "identity", "random"/],
    [{ kind: "gaussian", L: 64, precision: "random" }, /L = 64 .*2\.\.32/],
    [{ kind: "gaussian", L: 4, kappa: Number.NaN }, /kappa = NaN/],
    [{ kind: "gaussian", L: 4, seed: -1 }, /seed = -1/],
  ])("rejects %o", (config, message) => {
    expect(() => makeTarget(config)).toThrow(RangeError);
    expect(() => makeTarget(config)).toThrow(message);
  });
});
