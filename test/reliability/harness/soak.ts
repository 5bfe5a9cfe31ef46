/**
 * Bounded memory: a long in-process training run (small lattice, tiny network) sampling the
 * process's memory after a full garbage collection every `every` epochs. After warm-up the JS
 * heap, the ArrayBuffer memory and the WebAssembly linear memory must stay flat: a least-squares
 * slope (bytes per epoch) below a tolerance, and the wasm memory exactly constant. Resident set
 * size is reported too (it also holds the allocator's free lists, so it is checked loosely).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { runTraining } from "../../../src/train/run.ts";
import { wasmMemoryBytes, type KernelName } from "../../../src/kernels/wasm.ts";
import type { TrainConfig } from "../../../src/train/trainer.ts";

let gcFn: (() => void) | undefined;

/**
 * A full, synchronous garbage collection (exposes `gc` without a command-line flag), three times:
 * ArrayBuffer backing stores freed by one collection are released lazily, so a single gc() leaves
 * ArrayBuffer memory oscillating by ~1.6 MB; after three it is stable to the byte.
 */
export function fullGc(): void {
  if (!gcFn) {
    gcFn = (globalThis as { gc?: () => void }).gc;
    if (!gcFn) {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    }
  }
  for (let i = 0; i < 3; i++) gcFn();
}

export interface MemorySample {
  epoch: number;
  heapUsed: number;
  arrayBuffers: number;
  external: number;
  rss: number;
  wasm: number;
}

export interface SoakResult {
  kernel: KernelName;
  epochs: number;
  warmup: number;
  samples: MemorySample[];
  /** least-squares slopes after warm-up, bytes per epoch */
  heapSlope: number;
  arrayBufferSlope: number;
  /** largest ArrayBuffer memory in the second half after warm-up minus the largest in the first half */
  arrayBufferPeakGrowth: number;
  rssSlope: number;
  /** first and last sample after warm-up */
  after: { first: MemorySample; last: MemorySample };
  wasmConstant: boolean;
  seconds: number;
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

export async function soak(o: {
  kernel: KernelName;
  epochs: number;
  warmup?: number;
  every?: number;
  seed?: number;
  /** self-test of the detector: retain this many bytes per epoch (a deliberate leak) */
  leakBytesPerEpoch?: number;
}): Promise<SoakResult> {
  const warmup = o.warmup ?? Math.min(200, Math.floor(o.epochs / 5));
  const every = o.every ?? 50;
  const config: TrainConfig = {
    target: { kind: "ising", L: 4, T: 2.5 },
    flow: { L: 4, layout: "mera", depth: 2, nlayers: 1, nmlp: 1, nhidden: 4 },
    batch: 16,
    epochs: o.epochs,
    lr: 1e-3,
    weightDecay: 0,
    seed: o.seed ?? 1,
    dtype: "float64",
    symmetrize: true,
    init: "identity",
    kernel: o.kernel,
  };
  const dir = mkdtempSync(join(tmpdir(), "neuralrg-soak-"));
  const samples: MemorySample[] = [];
  const leaked: Float64Array[] = [];
  const t0 = performance.now();
  try {
    await runTraining({
      dir,
      config,
      savePeriod: 100,
      progress: "off",
      evalSamples: 16,
      onEpoch: (m) => {
        if (o.leakBytesPerEpoch) leaked.push(new Float64Array(o.leakBytesPerEpoch / 8).fill(m.epoch));
        if (m.epoch % every !== 0) return;
        fullGc();
        const u = process.memoryUsage();
        samples.push({
          epoch: m.epoch,
          heapUsed: u.heapUsed,
          arrayBuffers: u.arrayBuffers,
          external: u.external,
          rss: u.rss,
          wasm: wasmMemoryBytes(),
        });
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  leaked.length = 0;
  const after = samples.filter((s) => s.epoch >= warmup);
  const xs = after.map((s) => s.epoch);
  return {
    kernel: o.kernel,
    epochs: o.epochs,
    warmup,
    samples,
    heapSlope: slope(
      xs,
      after.map((s) => s.heapUsed),
    ),
    arrayBufferSlope: slope(
      xs,
      after.map((s) => s.arrayBuffers),
    ),
    rssSlope: slope(
      xs,
      after.map((s) => s.rss),
    ),
    arrayBufferPeakGrowth:
      Math.max(...after.slice(after.length >> 1).map((s) => s.arrayBuffers)) -
      Math.max(...after.slice(0, after.length >> 1).map((s) => s.arrayBuffers)),
    after: { first: after[0], last: after[after.length - 1] },
    wasmConstant: after.every((s) => s.wasm === after[0].wasm),
    seconds: (performance.now() - t0) / 1000,
  };
}

export const mb = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MB`;
