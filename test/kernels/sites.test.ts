/**
 * The copies between full rows and a layer's compact rows (kernels/sites.ts): the wasm versions
 * give the typed-array reference's result bit for bit (float32 and float64, all sites or a
 * subset, repeated sites in a scatter: the last write wins in both), reject sites outside the
 * rows, and the flow's tapes and backward passes built on them are unchanged.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { alloc, type DType } from "../../src/engine/real.ts";
import { gatherSites, scatterSites } from "../../src/kernels/sites.ts";
import { wasmGatherSites, wasmScatterSites } from "../../src/kernels/wasm.ts";

function randomRows(dtype: DType, n: number, rng: Rng) {
  const a = alloc(dtype, n);
  rng.fillNormal(a);
  return a;
}

describe("site copies: wasm = typed-array reference", () => {
  const cases = [
    { N: 64, sites: Int32Array.from({ length: 64 }, (_, i) => (i * 37) % 64), batch: 9 },
    { N: 64, sites: Int32Array.from([5, 63, 0, 17, 16, 48]), batch: 3 },
    { N: 256, sites: Int32Array.from({ length: 16 }, (_, i) => 16 * i + 3), batch: 40 },
  ];
  for (const dtype of ["float32", "float64"] as const) {
    for (const [k, c] of cases.entries()) {
      it(`${dtype}, case ${k}: gather then scatter`, () => {
        const rng = Rng.fromSeed(7 + k);
        const M = c.sites.length;
        const a = randomRows(dtype, c.batch * c.N, rng);
        const g0 = gatherSites(a, c.N, c.sites, c.batch, alloc(dtype, c.batch * M));
        const g1 = wasmGatherSites(a, c.N, c.sites, c.batch, alloc(dtype, c.batch * M));
        expect(Array.from(g1)).toEqual(Array.from(g0));
        // the gathered values really are the rows' values at the sites
        expect(g1[M + 1]).toBe(a[c.N + c.sites[1]]);
        const comp = randomRows(dtype, c.batch * M, rng);
        const b0 = a.slice();
        const b1 = a.slice();
        scatterSites(comp, c.N, c.sites, c.batch, b0);
        wasmScatterSites(comp, c.N, c.sites, c.batch, b1);
        expect(Array.from(b1)).toEqual(Array.from(b0));
        expect(Array.from(b1)).not.toEqual(Array.from(a));
      });
    }
  }

  it("a compact subarray (the backward's work buffer) is filled in place", () => {
    const rng = Rng.fromSeed(3);
    const sites = Int32Array.from([3, 1, 2]);
    const a = randomRows("float32", 4 * 8, rng);
    const work = new Float32Array(100).fill(9);
    const g = wasmGatherSites(a, 8, sites, 4, work.subarray(0, 12));
    expect(Array.from(g)).toEqual(Array.from(gatherSites(a, 8, sites, 4, new Float32Array(12))));
    expect(work[12]).toBe(9);
  });

  it("repeated sites in a scatter: the last write wins, as in the reference", () => {
    const sites = Int32Array.from([2, 2, 0]);
    const c = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const a0 = new Float64Array(8);
    const a1 = new Float64Array(8);
    scatterSites(c, 4, sites, 2, a0);
    wasmScatterSites(c, 4, sites, 2, a1);
    expect(Array.from(a1)).toEqual([3, 0, 2, 0, 6, 0, 5, 0]);
    expect(Array.from(a1)).toEqual(Array.from(a0));
  });

  it("rejects sites outside the rows and arrays too short, naming the value", () => {
    const a = new Float32Array(16);
    expect(() => wasmGatherSites(a, 8, Int32Array.from([8]), 2, new Float32Array(2))).toThrow(
      /site 8 outside \[0, 8\)/,
    );
    expect(() => wasmGatherSites(a, 8, Int32Array.from([-1]), 2, new Float32Array(2))).toThrow(/site -1/);
    expect(() => wasmGatherSites(a, 8, Int32Array.from([0, 1]), 3, new Float32Array(6))).toThrow(/need 24 entries/);
    expect(() => wasmScatterSites(new Float32Array(1), 8, Int32Array.from([0]), 2, a)).toThrow(/need 2 entries/);
  });
});
