/**
 * MNIST from the npm package: the IDX reader against a hand-built file and against the known
 * statistics of the training set (mean pixel 0.1307 and standard deviation 0.3081 of x/255, the
 * normalisation constants used throughout the literature), the committed subset against the
 * package, and the centred 28 → 32 padding.
 */
import { describe, expect, it } from "vitest";
import { loadData } from "../../src/data/dataset.ts";
import { loadMnist, loadMnistSample, padImages, parseIdxImages } from "../../src/data/mnist.ts";

describe("MNIST", () => {
  it("parses a hand-built IDX3 file and refuses a wrong magic number", () => {
    const b = new Uint8Array(16 + 2 * 2 * 3);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x803, false); v.setUint32(4, 2, false); v.setUint32(8, 2, false); v.setUint32(12, 3, false);
    for (let i = 0; i < 12; i++) b[16 + i] = i * 20;
    const r = parseIdxImages(b, "x.idx");
    expect([r.n, r.rows, r.cols]).toEqual([2, 2, 3]);
    expect(r.pixels[7]).toBe(140);
    v.setUint32(0, 0x801, false);
    expect(() => parseIdxImages(b, "x.idx")).toThrow(/x\.idx: magic number 0x801 is not 0x803/);
  });

  it("the package holds the 60000 + 10000 original digits (mean 0.1307, std 0.3081 of x/255 over the training set)", () => {
    const tr = loadMnist("train"), te = loadMnist("test");
    expect([tr.n, te.n]).toEqual([60000, 10000]);
    let s = 0, s2 = 0;
    for (const p of tr.pixels) { const y = p / 255; s += y; s2 += y * y; }
    const m = s / tr.pixels.length;
    expect(m).toBeCloseTo(0.1307, 4);
    expect(Math.sqrt(s2 / tr.pixels.length - m * m)).toBeCloseTo(0.3081, 4);
  });

  it("the committed subset is the first 200 test digits of the package", () => {
    const s = loadMnistSample();
    expect(s.n).toBe(200);
    expect(Buffer.compare(Buffer.from(s.pixels), Buffer.from(loadMnist("test").pixels.subarray(0, 200 * 784)))).toBe(0);
  });

  it("pads 28×28 to 32×32 with a 2-pixel zero border", () => {
    const s = loadMnistSample();
    const p = padImages(s.pixels.subarray(0, 784), 1, 28, 32);
    for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++) expect(p[(i + 2) * 32 + j + 2]).toBe(s.pixels[i * 28 + j]);
    let border = 0;
    for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) if (i < 2 || i >= 30 || j < 2 || j >= 30) border += p[i * 32 + j];
    expect(border).toBe(0);
    const d = loadData("mnist-sample", { testFraction: 0.1, seed: 1, L: 32 });
    expect([d.train.n, d.test.n, d.train.L, d.originalL]).toEqual([180, 20, 32, 28]);
    expect(d.train.values).toBeInstanceOf(Uint8Array);
  });
});
