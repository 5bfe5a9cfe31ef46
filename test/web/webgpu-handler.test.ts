/**
 * The playground's webgpu backend path in Node (no GPU here): the worker's async training loop
 * driven by a stand-in objective with the GPU objective's contract (async per-sample losses and
 * gradient). With the stand-in computing the CPU objective, the webgpu session must reproduce
 * the CLI's float32 wasm run of the same config exactly (same batches, same Adam steps), so the
 * plumbing — async slices, pause, reset while an epoch is in flight, the stored config — is
 * checked independently of the WGSL kernel (which web/e2e/webgpu.ts checks in Chromium).
 * Also: the WGSL source generator's sizes, and the refusal when WebGPU is unavailable.
 */
import { describe, expect, it } from "vitest";
import type { Real } from "../../src/engine/real.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { createTrainer, trainEpoch } from "../../src/train/trainer.ts";
import { blockShader, netSizeOf } from "../../src/gpu/shader.ts";
import { createHandler, type WorkerHandler } from "../../web/src/handler.ts";
import { DEFAULT_CONFIG, type PlaygroundConfig, type Response } from "../../web/src/protocol.ts";
import { toTrainConfig, type PlaygroundSession, type SessionObjective } from "../../web/src/session.ts";
import { netSize } from "../../src/flow/params.ts";

const PROV = { packageVersion: "0.1.0", gitCommit: "unknown", nodeVersion: "browser (test)" };

function small(over: Partial<PlaygroundConfig> = {}): PlaygroundConfig {
  return {
    ...DEFAULT_CONFIG,
    L: 4,
    depth: 2,
    nlayers: 2,
    nmlp: 1,
    nhidden: 8,
    batch: 64,
    lr: 0.01,
    seed: 7,
    epochs: 10,
    backend: "webgpu",
    ...over,
  };
}

interface Calls {
  /** epochs computed */
  n: number;
  /** epochs in flight */
  active: number;
  destroyed: number;
}

const newCalls = (): Calls => ({ n: 0, active: 0, destroyed: 0 });

/** The CPU objective behind the GPU objective's async interface, resolving after a macrotask. */
function standIn(s: PlaygroundSession, calls: Calls): Promise<SessionObjective> {
  return Promise.resolve({
    lossAndGrad: async (params: Real, z: Real, batch: number) => {
      calls.active++;
      await new Promise((r) => setTimeout(r, 0));
      calls.active--;
      calls.n++;
      const r = pddLossAndGrad(s.trainer.model, params, s.target, z, batch, { symmetrize: s.storedConfig.symmetrize });
      return { perSample: r.perSample, grad: r.grad };
    },
    destroy: () => void calls.destroyed++,
  });
}

function harness(calls: Calls, webgpu = true) {
  const out: Response[] = [];
  let clock = 0;
  const h: WorkerHandler = createHandler({
    post: (m) => out.push(m),
    schedule: (fn) => setTimeout(fn, 0),
    now: () => clock++,
    wasm: { available: true },
    webgpu: webgpu
      ? { available: true, adapter: "test", objective: (s) => standIn(s, calls) }
      : { available: false, reason: "navigator.gpu is undefined" },
    provenance: PROV,
    sliceMs: 3,
    samplePeriodMs: 1e9,
  });
  const of = <T extends Response["type"]>(type: T) =>
    out.filter((m): m is Extract<Response, { type: T }> => m.type === type);
  const until = async (cond: () => boolean, ms = 20_000) => {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error("timeout");
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  return { h, out, of, until };
}

describe("playground webgpu backend (async objective)", () => {
  it("trains through the async objective and equals the CLI's float32 wasm run of the stored config", async () => {
    const calls = newCalls();
    const { h, of, until } = harness(calls);
    const c = small();
    h.handle({ type: "start", config: c });
    await until(() => h.state === "done");
    const F = of("epochs").flatMap((m) => m.points.map((p) => p.F));
    expect(F.length).toBe(c.epochs);
    expect(calls.n).toBe(c.epochs);
    const info = of("started")[0].info;
    expect(info.backend).toBe("webgpu");
    expect(info.trainConfig.dtype).toBe("float32");
    expect(info.trainConfig.kernel).toBe("wasm");
    // the stored config trained on a CPU: identical numbers
    const t = toTrainConfig(c);
    const state = createTrainer(t, relaxedIsing({ L: c.L, T: c.T }));
    const cpu = Array.from({ length: c.epochs }, () => trainEpoch(state).F);
    expect(F).toEqual(cpu);
    expect(F[F.length - 1]).toBeLessThan(F[0]);
    // exports the float32 model
    h.handle({ type: "export" });
    const ck = of("checkpoint")[0];
    expect(ck.epoch).toBe(c.epochs);
    expect(JSON.parse(ck.config).dtype).toBe("float32");
  });

  it("pause stops after the epoch in flight, resume continues, reset discards a slice in flight", async () => {
    const calls = newCalls();
    const { h, of, until } = harness(calls);
    h.handle({ type: "start", config: small({ epochs: 400 }) });
    await until(() => (h.session?.epoch ?? 0) >= 3);
    h.handle({ type: "pause" });
    await until(() => calls.active === 0); // the epoch in flight completes
    await new Promise((r) => setTimeout(r, 1));
    const at = h.session?.epoch ?? 0;
    await new Promise((r) => setTimeout(r, 30));
    expect(h.session?.epoch).toBe(at);
    expect(h.state).toBe("paused");
    h.handle({ type: "resume" });
    await until(() => (h.session?.epoch ?? 0) >= at + 3);
    const reported = () => of("epochs").flatMap((m) => m.points.map((p) => p.epoch));
    h.handle({ type: "reset" });
    expect(calls.destroyed).toBe(1);
    const n = reported().length;
    await new Promise((r) => setTimeout(r, 30));
    expect(reported().length).toBe(n); // nothing reported after the reset
    expect(h.state).toBe("idle");
    // the reported epochs are consecutive, no duplicates
    expect(reported()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("refuses webgpu when the worker found no adapter, naming the reason", () => {
    const { h, of } = harness(newCalls(), false);
    h.handle({ type: "start", config: small() });
    const e = of("error");
    expect(e.length).toBe(1);
    expect(e[0].message).toMatch(
      /WebGPU is not available in this browser \(navigator\.gpu is undefined\): choose the wasm backend/,
    );
    expect(h.session).toBeNull();
  });
});

describe("WGSL source", () => {
  it("sizes its private arrays and offsets from the network shape (netSize as flow/params.ts)", () => {
    for (const shape of [
      { nlayers: 2, nmlp: 0, nhidden: 3 },
      { nlayers: 4, nmlp: 2, nhidden: 10 },
      { nlayers: 10, nmlp: 3, nhidden: 10 },
    ]) {
      const flow = { L: 8, layout: "mera" as const, depth: 3, ...shape };
      expect(netSizeOf(shape)).toBe(netSize(flow));
      const src = blockShader(shape);
      expect(src).toContain(`const NET: u32 = ${netSize(flow)}u;`);
      expect(src).toContain(`var<private> rv: array<f32, ${4 * (shape.nlayers + 1)}>;`);
      expect(src).toContain(
        `var<private> ract: array<f32, ${2 * shape.nlayers * Math.max(1, shape.nmlp * shape.nhidden)}>;`,
      );
      for (const entry of ["fn forward(", "fn backward("]) expect(src).toContain(entry);
    }
  });
});
