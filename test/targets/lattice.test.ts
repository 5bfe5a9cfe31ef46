import { describe, expect, it } from "vitest";
import {
  adjacencyEigenvalues,
  adjacencyMatrix,
  adjacencyMinEigenvalue,
  bonds,
  isingEnergy,
  neighbours,
  siteIndex,
} from "../../src/targets/lattice.ts";
import { hamiltonian, jacobiEigenvalues, normalsSeeded, torusAdjacency } from "./helpers.ts";

describe("periodic square lattice", () => {
  it("site indices wrap", () => {
    expect(siteIndex(4, 0, 0)).toBe(0);
    expect(siteIndex(4, 1, 2)).toBe(6);
    expect(siteIndex(4, -1, 4)).toBe(12);
  });

  it.each([2, 3, 4, 5])("2N bonds, 4 neighbour entries per site, adjacency counts bonds (L = %i)", (L) => {
    const N = L * L;
    expect(bonds(L).length).toBe(4 * N);
    const nb = neighbours(L);
    const A = adjacencyMatrix(L);
    expect(Array.from(A)).toEqual(Array.from(torusAdjacency(L)));
    for (let i = 0; i < N; i++) {
      let row = 0;
      for (let j = 0; j < N; j++) row += A[i * N + j];
      expect(row).toBe(4);
      const counts = new Map<number, number>();
      for (let k = 0; k < 4; k++) counts.set(nb[4 * i + k], (counts.get(nb[4 * i + k]) ?? 0) + 1);
      for (const [j, c] of counts) expect(A[i * N + j]).toBe(c);
    }
    if (L === 2) expect(A[0 * 4 + 1]).toBe(2); // doubled bond
    const ev = jacobiEigenvalues(A, N);
    const an = Array.from(adjacencyEigenvalues(L)).sort((a, b) => a - b);
    for (let k = 0; k < N; k++) expect(an[k]).toBeCloseTo(ev[k], 10);
    expect(adjacencyMinEigenvalue(L)).toBeCloseTo(ev[0], 12);
  });

  it("isingEnergy agrees with the test's Hamiltonian", () => {
    for (const L of [2, 3, 5]) {
      const s = Float64Array.from(normalsSeeded(L * L, L), (v) => (v > 0 ? 1 : -1));
      expect(isingEnergy(s, L)).toBe(hamiltonian(s, L));
    }
  });
});
