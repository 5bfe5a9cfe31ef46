import { describe, expect, it } from "vitest";
import { miDistanceProfile } from "../../src/analysis/run.ts";

describe("MI against lattice distance", () => {
  it("groups pairs by periodic distance and averages", () => {
    const L = 4,
      N = 16;
    const dist = (a: number, b: number) => {
      const di = Math.min(
        Math.abs(Math.floor(a / L) - Math.floor(b / L)),
        L - Math.abs(Math.floor(a / L) - Math.floor(b / L)),
      );
      const dj = Math.min(Math.abs((a % L) - (b % L)), L - Math.abs((a % L) - (b % L)));
      return Math.hypot(di, dj);
    };
    const lat = new Float64Array(N * N),
      phys = new Float64Array(N * N);
    for (let a = 0; a < N; a++)
      for (let b = 0; b < N; b++) {
        lat[a * N + b] = a === b ? NaN : 1 / dist(a, b);
        phys[a * N + b] = a === b ? NaN : 2 * dist(a, b);
      }
    const p = miDistanceProfile(lat, phys, L);
    expect(p.distance).toEqual([1, Math.SQRT2, 2, Math.sqrt(5), Math.sqrt(8)]);
    p.distance.forEach((d, i) => {
      expect(p.latent[i]).toBeCloseTo(1 / d, 12);
      expect(p.physical[i]).toBeCloseTo(2 * d, 12);
    });
    // 120 pairs: 32 at distance 1, 32 at √2, 16 at 2, 32 at √5, 8 at √8
    expect(p.pairs).toEqual([32, 32, 16, 32, 8]);
  });
});
