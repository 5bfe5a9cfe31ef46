/** The browser's way of loading the kernel (initWasmKernel with fetched bytes), exercised in Node. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createFlow, generate } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";
import { Rng } from "../../src/engine/rng.ts";
import { initWasmKernel, WASM_URL, wasmKernelReady } from "../../src/kernels/wasm.ts";

describe("initWasmKernel", () => {
  it("instantiates from bytes, gives the js kernel's results, and keeps the instance when given bad bytes", async () => {
    expect(wasmKernelReady()).toBe(false);
    await initWasmKernel(readFileSync(WASM_URL));
    expect(wasmKernelReady()).toBe(true);
    const config = { L: 4, layout: "mera" as const, depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 };
    const rng = Rng.fromSeed(1);
    const params = initParams(config, "float64", () => rng.uniform(), "torch").data;
    const z = new Float64Array(3 * 16);
    rng.fillNormal(z);
    const a = generate(createFlow(config, "wasm"), params, z, 3);
    const b = generate(createFlow(config, "js"), params, z, 3);
    for (let i = 0; i < z.length; i++) expect(a.x[i]).toBeCloseTo(b.x[i], 12);
    await expect(initWasmKernel(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255]))).rejects.toThrow();
    expect(wasmKernelReady()).toBe(true);
    expect(generate(createFlow(config, "wasm"), params, z, 3).x).toEqual(a.x);
  });
});
