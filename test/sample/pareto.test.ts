/**
 * Pareto k̂ against tails of known shape: a Pareto tail w = U^(−ξ) has GPD shape ξ exactly;
 * log-normal weights with small σ are light-tailed (k̂ well below 0.5); constant weights have no
 * tail. And the identity flow on its own target reports "good" in the iw estimate.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { importanceFromLogWeights } from "../../src/sample/importance.ts";
import { gpdShape, paretoK, paretoTailSize, paretoVerdict } from "../../src/sample/pareto.ts";

function paretoLogWeights(xi: number, n: number, seed: number): Float64Array {
  const rng = Rng.fromSeed(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform();
    while (u === 0) u = rng.uniform();
    out[i] = -xi * Math.log(u); // ln(U^(−ξ))
  }
  return out;
}

describe("Pareto k̂", () => {
  it("uses PSIS's tail size", () => {
    expect(paretoTailSize(100)).toBe(20);
    expect(paretoTailSize(10000)).toBe(300);
  });

  for (const xi of [0.2, 0.5, 0.8, 1.2]) {
    it(`recovers the shape ξ = ${xi} of a Pareto tail`, () => {
      const ks = [1, 2, 3, 4].map((s) => paretoK(paretoLogWeights(xi, 20000, s)));
      const mean = ks.reduce((a, b) => a + b, 0) / ks.length;
      expect(Math.abs(mean - xi)).toBeLessThan(0.1);
    });
  }

  it("fits exponential exceedances (ξ = 0) near 0, pulled slightly toward 0.5 by the prior", () => {
    const rng = Rng.fromSeed(7);
    const x = Array.from({ length: 400 }, () => -Math.log(1 - rng.uniform()));
    const k = gpdShape(x);
    expect(Math.abs(k)).toBeLessThan(0.15);
  });

  it("log-normal weights with σ = 0.5 are light-tailed; σ = 3 are not", () => {
    const rng = Rng.fromSeed(11);
    const light = Float64Array.from({ length: 20000 }, () => 0.5 * rng.normal());
    const heavy = Float64Array.from({ length: 20000 }, () => 3 * rng.normal());
    expect(paretoVerdict(paretoK(light))).toBe("good");
    expect(paretoVerdict(paretoK(heavy))).toBe("unreliable");
  });

  it("constant weights have a bounded tail; too few weights give n/a; invalid exceedances throw", () => {
    expect(paretoK(new Float64Array(100).fill(-3))).toBe(-Infinity);
    expect(paretoVerdict(-Infinity)).toBe("good");
    expect(paretoVerdict(paretoK([1, 2, 3]))).toBe("n/a");
    expect(() => gpdShape([1, -1, 2])).toThrow(/exceedance -1 is invalid/);
  });

  it("needs a tail of at least 5 weights (as PSIS): fewer give n/a instead of a prior-dominated k̂", () => {
    // n = 20 has a tail of ceil(min(4, 13.4)) = 4; n = 21 one of 5
    expect(paretoTailSize(20)).toBe(4);
    expect(paretoTailSize(21)).toBe(5);
    const rng = Rng.fromSeed(3);
    const lw = Array.from({ length: 21 }, () => -2 * Math.log(1 - rng.uniform())); // Pareto weights, ξ = 2
    expect(paretoK(lw.slice(0, 20))).toBeNaN();
    expect(paretoVerdict(paretoK(lw.slice(0, 10)))).toBe("n/a");
    expect(Number.isFinite(paretoK(lw))).toBe(true);
  });

  it("an infinite log-weight (q = 0 where π > 0) is the heaviest tail there is: k̂ = +∞, not an exception", () => {
    const lw = Array.from({ length: 100 }, (_, i) => Math.sin(i));
    lw[37] = Infinity;
    expect(paretoK(lw)).toBe(Infinity);
    expect(paretoVerdict(paretoK(lw))).toBe("unreliable");
  });

  it("is reported with the importance estimate and depends only on weight ratios", () => {
    const lw = paretoLogWeights(0.9, 5000, 5);
    const shifted = lw.map((v) => v - 700); // e^{-700}: only log space survives this
    const a = importanceFromLogWeights(lw);
    const b = importanceFromLogWeights(shifted);
    expect(a.paretoK).toBeGreaterThan(0.7);
    expect(b.paretoK).toBeCloseTo(a.paretoK, 10);
  });
});
