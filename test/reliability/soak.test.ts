/**
 * Bounded memory (fast subset: 1,000 epochs per kernel; `npm run validate` soaks 10,000).
 *
 * Tolerances after a 200-epoch warm-up, memory read after full GCs every 50 epochs:
 *   - JS heap: least-squares slope < 256 B/epoch and net growth < 512 KB (the heap still grows by
 *     ~0.1 MB over the first thousands of epochs while V8 optimises code, then stays flat at
 *     ~5 B/epoch over 20,000 epochs; validate's 10,000-epoch soak allows 32 B/epoch);
 *   - ArrayBuffer memory (typed arrays, where a leaked batch array would show): slope < 16
 *     B/epoch and the peak of the second half after warm-up at most 64 KB above the first
 *     half's (constant to the byte in practice; a deliberate 512 B/epoch leak is caught);
 *   - WebAssembly linear memory: exactly constant (it grows to the largest call once);
 *   - resident set size: net growth < 32 MB (allocator free lists make it noisy).
 */
import { describe, expect, it } from "vitest";
import { mb, soak } from "./harness/soak.ts";

describe("soak: 1,000 epochs on a 4×4 lattice with a tiny network", () => {
  for (const kernel of ["js", "wasm"] as const) {
    it(`memory stays flat after warm-up (${kernel} kernel)`, async () => {
      const r = await soak({ kernel, epochs: 1000, warmup: 200, every: 50 });
      const { first, last } = r.after;
      const report = `heap ${mb(first.heapUsed)} → ${mb(last.heapUsed)} (${r.heapSlope.toFixed(1)} B/epoch), rss ${mb(first.rss)} → ${mb(last.rss)}, wasm ${first.wasm} → ${last.wasm}`;
      expect(r.samples.length, report).toBe(20);
      expect(r.heapSlope, report).toBeLessThan(256);
      expect(last.heapUsed - first.heapUsed, report).toBeLessThan(512 * 1024);
      expect(r.arrayBufferSlope, report).toBeLessThan(16);
      expect(r.arrayBufferPeakGrowth, report).toBeLessThan(64 * 1024);
      expect(r.wasmConstant, report).toBe(true);
      if (kernel === "wasm") expect(first.wasm, report).toBeGreaterThan(0);
      expect(last.rss - first.rss, report).toBeLessThan(32 * 2 ** 20);
    });
  }

  it("the same checks catch a deliberate leak of 512 B per epoch", async () => {
    const r = await soak({ kernel: "js", epochs: 1000, warmup: 200, every: 50, leakBytesPerEpoch: 512 });
    expect(r.arrayBufferSlope).toBeGreaterThan(256);
  });
});
