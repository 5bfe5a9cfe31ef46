/** The hidden activations of kernels/activation.ts: values, slopes against finite differences, continuity at 0. */
import { describe, expect, it } from "vitest";
import { activate, activationSlope } from "../../src/kernels/activation.ts";

describe.each([false, true])("activation (rational = %s)", (rational) => {
  it("is the identity for u > 0 and tends to −1 for u → −∞", () => {
    for (const u of [1e-8, 0.3, 2, 50]) expect(activate(u, rational)).toBe(u);
    expect(activate(0, rational)).toBe(0);
    expect(activate(-1e6, rational)).toBeCloseTo(-1, 5);
    expect(activate(-1e6, rational)).toBeGreaterThanOrEqual(-1);
    expect(activate(-10, rational)).toBeGreaterThan(-1);
  });

  it("the slope recovered from the output matches central differences", () => {
    const h = 1e-6;
    for (let u = -6; u <= 3; u += 0.37) {
      const fd = (activate(u + h, rational) - activate(u - h, rational)) / (2 * h);
      expect(Math.abs(activationSlope(activate(u, rational), rational) - fd)).toBeLessThan(1e-8);
    }
  });

  it("the slope is continuous at 0 (the log-density stays C¹)", () => {
    expect(activationSlope(activate(-1e-9, rational), rational)).toBeCloseTo(1, 8);
    expect(activationSlope(activate(1e-9, rational), rational)).toBe(1);
  });
});

it("the two activations are different functions", () => {
  expect(activate(-1, true)).toBe(-0.5);
  expect(activate(-1, false)).toBeCloseTo(Math.expm1(-1), 15);
});
