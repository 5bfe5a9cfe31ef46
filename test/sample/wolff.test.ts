import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { isingExactObservables, kaufmanEnergyPerSite } from "../../src/targets/kaufman.ts";
import { wolffIsing } from "../../src/sample/wolff.ts";

describe("Wolff cluster Monte Carlo for the Ising model", () => {
  it.each([2.0, 2 / Math.log(1 + Math.SQRT2), 3.0])("reproduces enumeration on 4×4 at T = %f within 4σ", (T) => {
    const r = wolffIsing({ L: 4, T, sweeps: 20000, warmup: 200, rng: Rng.fromSeed(3) });
    const ex = isingExactObservables(4, T);
    expect(Math.abs(r.energyPerSite.mean - ex.energyPerSite)).toBeLessThan(4 * r.energyPerSite.error);
    expect(Math.abs(r.structureFactor.mean - ex.structureFactor)).toBeLessThan(4 * r.structureFactor.error);
    expect(Math.abs(r.absMagnetisation.mean - ex.absMagnetisation)).toBeLessThan(4 * r.absMagnetisation.error);
    expect(r.structureFactor.error).toBeLessThan(0.01);
  });

  it("matches Kaufman's energy on 16×16 at T_c within 4σ", () => {
    const T = 2 / Math.log(1 + Math.SQRT2);
    const r = wolffIsing({ L: 16, T, sweeps: 4000, warmup: 100, rng: Rng.fromSeed(5) });
    expect(Math.abs(r.energyPerSite.mean - kaufmanEnergyPerSite(16, T))).toBeLessThan(4 * r.energyPerSite.error);
  });

  it("rejects bad input with the value named", () => {
    expect(() => wolffIsing({ L: 4, T: -1, sweeps: 1, warmup: 0, rng: Rng.fromSeed(1) })).toThrow(/T = -1/);
  });
});
