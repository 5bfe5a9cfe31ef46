/// <reference types="@webgpu/types" />
/**
 * Web Worker entry of the playground: loads the WebAssembly SIMD kernel (fetching block.wasm
 * from the URL the build emitted) and probes WebGPU (an adapter and a device from the worker's
 * navigator.gpu), then hands every message to the handler (handler.ts). Messages that arrive
 * while these load are queued.
 */
import { loadWasmKernel } from "../../src/kernels/wasm.ts";
import { GpuObjective, probeWebGpu } from "../../src/gpu/objective.ts";
import { createHandler, type WorkerHandler } from "./handler.ts";
import type { Response } from "./protocol.ts";
import type { PlaygroundSession } from "./session.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
  addEventListener(type: "unhandledrejection", fn: (e: PromiseRejectionEvent) => void): void;
}

const scope = self as unknown as WorkerScope;
const post = (msg: Response): void => scope.postMessage(msg);
const pending: unknown[] = [];
let handler: WorkerHandler | null = null;

scope.onmessage = (e: MessageEvent) => {
  if (handler) handler.handle(e.data);
  else pending.push(e.data);
};
scope.addEventListener("unhandledrejection", (e) => post({ type: "error", message: `worker: ${String(e.reason)}` }));

async function loadWasm(): Promise<{ available: boolean; reason?: string }> {
  if (typeof WebAssembly !== "object") return { available: false, reason: "this browser has no WebAssembly" };
  try {
    await loadWasmKernel(async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${url.href}`);
      return res.arrayBuffer();
    });
    return { available: true };
  } catch (err) {
    return { available: false, reason: `${(err as Error).message} (the kernel needs WebAssembly SIMD)` };
  }
}

void Promise.all([loadWasm(), probeWebGpu((navigator as WorkerNavigator & { gpu?: GPU }).gpu)]).then(([wasm, gpu]) => {
  const webgpu = gpu.available
    ? {
        available: true,
        adapter: gpu.adapter,
        objective: (s: PlaygroundSession) =>
          GpuObjective.create(
            gpu.device,
            s.trainer.model,
            s.target,
            { symmetrize: s.storedConfig.symmetrize },
            s.storedConfig.batch,
          ),
      }
    : { available: false, reason: gpu.reason };
  handler = createHandler({
    post,
    schedule: (fn) => setTimeout(fn, 0),
    now: () => performance.now(),
    wasm,
    webgpu,
    provenance: {
      packageVersion: __NEURALRG_VERSION__,
      gitCommit: __NEURALRG_COMMIT__,
      nodeVersion: `browser (${navigator.userAgent})`,
    },
  });
  post({
    type: "ready",
    wasm,
    webgpu: { available: webgpu.available, reason: webgpu.reason, adapter: webgpu.adapter },
    version: __NEURALRG_VERSION__,
  });
  for (const m of pending.splice(0)) handler.handle(m);
});
