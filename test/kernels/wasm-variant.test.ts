/**
 * Which build of the wasm kernel a process loads by default: the relaxed-SIMD one (fused
 * multiply-adds) where the engine compiles it, as Node 20 does once kernels/wasm.ts has set its V8
 * flag; NEURALRG_WASM_SIMD=plain keeps the plain one. Each case runs in a fresh process, since
 * the choice is made once per process on first use.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const script = `
import { wasmBuildRecord, wasmKernelVariant } from "./src/kernels/wasm.ts";
const before = wasmBuildRecord().wasmBuild ?? null;
import { createFlow, generate } from "./src/flow/flow.ts";
import { initParams } from "./src/flow/params.ts";
import { Rng } from "./src/engine/rng.ts";
const config = { L: 4, layout: "mera", depth: 2, nlayers: 2, nmlp: 1, nhidden: 6 };
const rng = Rng.fromSeed(1);
const params = initParams(config, "float32", () => rng.uniform(), "torch").data;
const z = new Float32Array(2 * 16);
rng.fillNormal(z);
const x = generate(createFlow(config, "wasm"), params, z, 2).x;
console.log(JSON.stringify({ variant: wasmKernelVariant(), x0: x[0], before, after: wasmBuildRecord().wasmBuild }));
`;

interface Child {
  variant: string;
  x0: number;
  before: string | null;
  after: string;
}

function run(env: Record<string, string>): Child {
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop() as string) as Child;
}

describe("default wasm build", () => {
  it("is relaxed SIMD where available; NEURALRG_WASM_SIMD=plain chooses the plain build; both give the same flow to float32 rounding", () => {
    const auto = run({});
    expect(auto.variant).toBe("relaxed-simd");
    // run summaries name the build once a kernel has run (wasmBuildRecord)
    expect(auto.before).toBeNull();
    expect(auto.after).toBe("relaxed-simd");
    const plain = run({ NEURALRG_WASM_SIMD: "plain" });
    expect(plain.variant).toBe("simd");
    expect(plain.after).toBe("simd");
    expect(Math.abs(plain.x0 - auto.x0)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(auto.x0)));
    expect(run({ NEURALRG_WASM_SIMD: "relaxed" }).variant).toBe("relaxed-simd");
  });

  it("refuses an unknown NEURALRG_WASM_SIMD, naming the accepted values", () => {
    expect(() => run({ NEURALRG_WASM_SIMD: "avx" })).toThrow(/"avx" is invalid: expected auto, relaxed or plain/);
  });
});
