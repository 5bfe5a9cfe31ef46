/**
 * Measured precision of jax-js 0.1.25 float64 elementwise functions against Math.* (recorded in
 * the header of src/flow/reference.ts). The bounds are the measured values with a small margin
 * on both sides: if jax-js changes its implementation this test fails, and the cross-test
 * tolerances (reference.test.ts, the kernel tests) must be revisited.
 */
import { numpy as np } from "@jax-js/jax";
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineDevice, JaxArray } from "../../src/engine/jax.ts";
import { fromReal, initEngine, toFloat64, withDevice } from "../../src/engine/jax.ts";

beforeAll(async () => {
  await initEngine();
});

interface Stat {
  maxRel: number;
  maxAbs: number;
}

function measure(
  device: EngineDevice,
  f: (x: JaxArray) => JaxArray,
  g: (x: number) => number,
  lo: number,
  hi: number,
  n = 200_001,
): Stat {
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = lo + ((hi - lo) * i) / (n - 1);
  const y = withDevice(device, () => toFloat64(f(fromReal(xs))));
  let maxRel = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const e = g(xs[i]);
    const a = Math.abs(y[i] - e);
    maxAbs = Math.max(maxAbs, a);
    if (e !== 0) maxRel = Math.max(maxRel, a / Math.abs(e));
  }
  return { maxRel, maxAbs };
}

/** expect v within [measured / 3, measured × 3] */
function near(v: number, measured: number): void {
  expect(v).toBeGreaterThan(measured / 3);
  expect(v).toBeLessThan(measured * 3);
}

describe("jax-js float64 precision (wasm: float32 transcendentals; cpu: Math.*)", () => {
  it("wasm device", () => {
    const exp = measure("wasm", np.exp, Math.exp, -20, 20);
    near(exp.maxRel, 2.1e-6);
    const tanh = measure("wasm", np.tanh, Math.tanh, -10, 10);
    near(tanh.maxAbs, 1.0e-7);
    near(measure("wasm", np.tanh, Math.tanh, 1e-3, 10, 20_001).maxRel, 8.9e-6);
    // tiny |x|: the absolute error ~1e-8 exceeds |x| itself
    expect(measure("wasm", np.tanh, Math.tanh, 1e-12, 1e-9, 1_001).maxRel).toBeGreaterThan(0.5);
    const log = measure("wasm", np.log, Math.log, 1e-6, 100);
    near(log.maxAbs, 1.3e-5);
    near(log.maxRel, 3.8e-2);
    const expm1 = measure("wasm", np.expm1, Math.expm1, -5, 5);
    near(expm1.maxRel, 5.1e-6);
    const lncosh = (x: JaxArray) => np.logaddexp(x.ref, x.neg());
    near(measure("wasm", lncosh, (x) => Math.abs(x) + Math.log1p(Math.exp(-2 * Math.abs(x))), -10, 10).maxAbs, 1.25e-5);
    // |x| ≤ 0.01: float64 series, exact
    expect(measure("wasm", np.expm1, Math.expm1, -0.01, 0.01, 20_001).maxRel).toBeLessThan(1e-15);
  });

  it("cpu device", () => {
    expect(measure("cpu", np.exp, Math.exp, -20, 20).maxRel).toBe(0);
    expect(measure("cpu", np.log, Math.log, 1e-6, 100).maxRel).toBe(0);
    expect(measure("cpu", np.expm1, Math.expm1, -5, 5).maxRel).toBeLessThan(2e-14);
    const tanh = measure("cpu", np.tanh, Math.tanh, -10, 10);
    expect(tanh.maxAbs).toBeLessThan(4.5e-16);
    expect(measure("cpu", np.tanh, Math.tanh, 1e-3, 10, 20_001).maxRel).toBeLessThan(5e-14);
    const lncosh = (x: JaxArray) => np.logaddexp(x.ref, x.neg());
    expect(
      measure("cpu", lncosh, (x) => Math.abs(x) + Math.log1p(Math.exp(-2 * Math.abs(x))), -10, 10).maxAbs,
    ).toBeLessThan(4e-15);
  });
});
