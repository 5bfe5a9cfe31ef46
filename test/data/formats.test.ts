/**
 * Data file formats: .npy (byte layout per the NumPy format description, independent of our
 * writer), JSON lines, shape and finiteness checks with clear errors, and the seeded split.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadData, readDataFile, seededSplit, writeDataFile, writeDataMeta } from "../../src/data/dataset.ts";
import { parseJsonLines } from "../../src/data/jsonl.ts";
import { DataFormatError, formatNpy, parseNpy } from "../../src/data/npy.ts";

const dir = mkdtempSync(join(tmpdir(), "neuralrg-data-"));

/** An .npy file built by hand from the format description (v1.0, little endian). */
function handNpy(descr: string, shape: string, payload: Uint8Array, fortran = "False"): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(payload, 10 + header.length);
  return out;
}

describe(".npy", () => {
  it("reads float64, float32 (both byte orders) and uint8 arrays written by hand from the format description", () => {
    const vals = [1.5, -2.25, Math.PI, 1e-300, -0, 7];
    const f8 = new Uint8Array(new Float64Array(vals).buffer);
    const p8 = parseNpy(handNpy("<f8", "(6,)", f8), "a.npy");
    expect(p8.dtype).toBe("float64");
    expect(Array.from(p8.data)).toEqual(vals);
    const be = new Uint8Array(24);
    const dv = new DataView(be.buffer);
    [1.5, -3, 0.1].forEach((v, i) => dv.setFloat64(8 * i, v, false));
    expect(Array.from(parseNpy(handNpy(">f8", "(1, 3)", be), "b.npy").data)).toEqual([1.5, -3, 0.1]);
    const f4 = new Uint8Array(new Float32Array([0.1, 2]).buffer);
    const p4 = parseNpy(handNpy("<f4", "(2,)", f4), "c.npy");
    expect(p4.dtype).toBe("float32");
    expect(p4.data[0]).toBe(Math.fround(0.1));
    const u1 = parseNpy(handNpy("|u1", "(2, 2)", Uint8Array.from([0, 255, 7, 8])), "d.npy");
    expect(u1.shape).toEqual([2, 2]);
    expect(Array.from(u1.data)).toEqual([0, 255, 7, 8]);
  });

  it("round-trips bit for bit and keeps the 64-byte header alignment", () => {
    for (const a of [Float64Array.from([0.1, -0, NaN, 1e308]), Float32Array.from([1, 2, 3, 4]), Uint8Array.from([9, 8, 7, 6])]) {
      const bytes = formatNpy(a, [1, 2, 2]);
      expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0);
      const p = parseNpy(bytes, "x.npy");
      expect(p.shape).toEqual([1, 2, 2]);
      expect(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)).toEqual(Buffer.from(a.buffer));
    }
  });

  it("refuses what it cannot read, naming the file and the problem", () => {
    expect(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "bad.npy")).toThrow(/bad\.npy: not an \.npy file/);
    expect(() => parseNpy(handNpy("<i8", "(1,)", new Uint8Array(8)), "i.npy")).toThrow(/i\.npy: dtype '<i8' is not supported: accepted are/);
    expect(() => parseNpy(handNpy("<f8", "(2, 2)", new Uint8Array(32), "True"), "f.npy")).toThrow(/Fortran-order/);
    expect(() => parseNpy(handNpy("<f8", "(3,)", new Uint8Array(16)), "t.npy")).toThrow(/t\.npy: holds 16 data bytes, shape \(3,\) of <f8 needs 24 \(truncated file\)/);
  });
});

describe("data files", () => {
  it("reads [n, L, L] and [n, L·L] .npy files and JSON lines into the same configurations", () => {
    const n = 3, L = 4;
    const v = Float64Array.from({ length: n * L * L }, (_, i) => Math.sin(i) * 3);
    writeFileSync(join(dir, "a.npy"), formatNpy(v, [n, L, L]));
    writeFileSync(join(dir, "b.npy"), formatNpy(v, [n, L * L]));
    writeDataFile(join(dir, "c.jsonl"), { n, L, values: v });
    for (const f of ["a.npy", "b.npy", "c.jsonl"]) {
      const ds = readDataFile(join(dir, f));
      expect([ds.n, ds.L]).toEqual([n, L]);
      expect(Array.from(ds.values)).toEqual(Array.from(v));
    }
    // JSON lines: row i of the nested array is lattice row i
    const first = JSON.parse(readFileSync(join(dir, "c.jsonl"), "utf8").split("\n")[0]) as number[][];
    expect(first[1][2]).toBe(v[1 * L + 2]);
    // flat rows are accepted too, blank lines skipped
    expect(Array.from(parseJsonLines("[1,2,3,4]\n\n[5,6,7,8]\n", "f.jsonl").data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("rejects bad shapes and values with the file, line or index and the accepted shapes", () => {
    writeFileSync(join(dir, "s.npy"), formatNpy(new Float64Array(12), [2, 2, 3]));
    expect(() => readDataFile(join(dir, "s.npy"))).toThrow(/s\.npy: shape \(2, 2, 3\) is not accepted: expected \[n, L, L\] or \[n, L·L\]/);
    writeFileSync(join(dir, "r.npy"), formatNpy(new Float64Array(10), [2, 5]));
    expect(() => readDataFile(join(dir, "r.npy"))).toThrow(/shape \(2, 5\) is not accepted/);
    writeFileSync(join(dir, "nan.npy"), formatNpy(Float64Array.from([0, 1, 2, 3, 4, NaN, 6, 7]), [2, 2, 2]));
    expect(() => readDataFile(join(dir, "nan.npy"))).toThrow(/nan\.npy: configuration 1, site \(0, 1\) holds NaN, not a finite number/);
    writeFileSync(join(dir, "l.jsonl"), "[[1,2],[3,4]]\n[[1,2,3],[4,5,6],[7,8,9]]\n");
    expect(() => readDataFile(join(dir, "l.jsonl"))).toThrow(/l\.jsonl:2: a 3×3 configuration, but earlier lines are 2×2/);
    writeFileSync(join(dir, "j.jsonl"), "[[1,2],[3,4]]\n[[1,2],[3,\"x\"]]\n");
    expect(() => readDataFile(join(dir, "j.jsonl"))).toThrow(/j\.jsonl:2: site \(1, 1\) holds "x", not a finite number/);
    writeFileSync(join(dir, "k.jsonl"), "[[1,2],[3]]\n");
    expect(() => readDataFile(join(dir, "k.jsonl"))).toThrow(/k\.jsonl:1: row 1 has 1 entries, expected 2/);
    expect(() => readDataFile(join(dir, "none.npy"))).toThrow(/none\.npy: cannot be read \(no such file\)/);
    expect(() => readDataFile(join(dir, "x.csv"))).toThrow(/unknown data format/);
  });

  it("metadata that disagrees with the data is refused", () => {
    const p = join(dir, "m.npy");
    writeDataFile(p, { n: 2, L: 2, values: new Float64Array(8) });
    writeDataMeta(p, { n: 3, L: 2 });
    expect(() => loadData(p, { testFraction: 0.5, seed: 1 })).toThrow(/stale metadata/);
  });
});

describe("seeded train/test split", () => {
  it("is a deterministic partition of 0..n−1 of the requested size, different for another seed", () => {
    const a = seededSplit(1000, 0.1, 7);
    const b = seededSplit(1000, 0.1, 7);
    const c = seededSplit(1000, 0.1, 8);
    expect(a.test.length).toBe(100);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test)).not.toEqual(Array.from(c.test));
    const all = [...a.train, ...a.test].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(() => seededSplit(10, 1, 1)).toThrow(/test-fraction = 1 is invalid/);
  });

  it("loadData pads configurations with zeros, centred", () => {
    const p = join(dir, "p.npy");
    writeDataFile(p, { n: 4, L: 2, values: Float64Array.from({ length: 16 }, (_, i) => i + 1) });
    const d = loadData(p, { testFraction: 0.25, seed: 3, L: 4 });
    expect(d.train.n + d.test.n).toBe(4);
    expect(d.train.L).toBe(4);
    const row = Array.from(d.test.values);
    const orig = d.test.values[5];
    expect(row.filter((v) => v !== 0).length).toBe(4);
    expect([row[5], row[6], row[9], row[10]]).toEqual([orig, orig + 1, orig + 2, orig + 3]);
    expect((orig - 1) % 4).toBe(0); // the first value of one of the four stored configurations (1, 5, 9, 13)
  });
});
