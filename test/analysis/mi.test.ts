import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import {
  countStrictlyWithin,
  digamma,
  digammaTable,
  gaussianMutualInformation,
  KdTree2,
  ksgMutualInformation,
  miMatrixStats,
  mutualInformationMatrix,
} from "../../src/analysis/mi.ts";

/** n samples of a bivariate standard Gaussian with correlation rho. */
function gaussianPairs(n: number, rho: number, seed: number): { x: Float64Array; y: Float64Array } {
  const rng = Rng.fromSeed(seed);
  const x = new Float64Array(n),
    y = new Float64Array(n);
  const c = Math.sqrt(1 - rho * rho);
  for (let i = 0; i < n; i++) {
    const a = rng.normal(),
      b = rng.normal();
    x[i] = a;
    y[i] = rho * a + c * b;
  }
  return { x, y };
}

function bruteKth(xs: ArrayLike<number>, ys: ArrayLike<number>, i: number, k: number): number {
  const d: number[] = [];
  for (let j = 0; j < xs.length; j++) if (j !== i) d.push(Math.max(Math.abs(xs[j] - xs[i]), Math.abs(ys[j] - ys[i])));
  d.sort((a, b) => a - b);
  return d[k - 1];
}

/** KSG estimator 1 by brute force (O(n²)), the definition of Kraskov et al. Eq. (8). */
function bruteKsg(x: ArrayLike<number>, y: ArrayLike<number>, k: number): number {
  const n = x.length;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const e = bruteKth(x, y, i, k);
    let nx = 0,
      ny = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (Math.abs(x[j] - x[i]) < e) nx++;
      if (Math.abs(y[j] - y[i]) < e) ny++;
    }
    acc += digamma(nx + 1) + digamma(ny + 1);
  }
  return digamma(k) + digamma(n) - acc / n;
}

describe("digamma", () => {
  it("matches known values", () => {
    const gamma = 0.5772156649015329;
    expect(digamma(1)).toBeCloseTo(-gamma, 13);
    expect(digamma(0.5)).toBeCloseTo(-gamma - 2 * Math.LN2, 13);
    expect(digamma(10)).toBeCloseTo(2.251752589066721, 13);
    expect(digamma(1e6)).toBeCloseTo(Math.log(1e6) - 0.5e-6, 12);
    expect(digamma(-0.5)).toBeCloseTo(0.03648997397857652, 12);
    expect(Number.isNaN(digamma(0))).toBe(true);
    expect(Number.isNaN(digamma(-3))).toBe(true);
  });
  it("table equals the function and satisfies ψ(x+1) = ψ(x) + 1/x", () => {
    const t = digammaTable(5000);
    for (const m of [1, 2, 3, 7, 100, 4999, 5000]) expect(t[m]).toBeCloseTo(digamma(m), 11);
    for (const x of [0.1, 1.7, 3.3, 12.5]) expect(digamma(x + 1)).toBeCloseTo(digamma(x) + 1 / x, 12);
  });
});

describe("KdTree2 (max-norm)", () => {
  it("k-th neighbour distances and neighbour sets equal brute force", () => {
    const rng = Rng.fromSeed(5);
    for (const [n, leaf] of [
      [1, 8],
      [7, 2],
      [300, 8],
      [1000, 1],
      [500, 16],
    ] as const) {
      const xs = new Float64Array(n),
        ys = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        // a clustered, correlated cloud with some duplicated coordinates
        xs[i] = Math.round(rng.normal() * 20) / 4;
        ys[i] = 0.7 * xs[i] + rng.normal();
      }
      const tree = new KdTree2(xs, ys, leaf);
      for (const k of [1, 3, 5]) {
        for (let i = 0; i < n; i++) {
          const want = n - 1 >= k ? bruteKth(xs, ys, i, k) : Infinity;
          expect(tree.kthNeighbourDistance(i, k)).toBe(want);
        }
      }
      // arbitrary query points, no exclusion: the returned set is a valid k-NN set
      for (let q = 0; q < 20; q++) {
        const qx = rng.normal() * 5,
          qy = rng.normal() * 5;
        const { dist, idx } = tree.knn(qx, qy, 4);
        const all = Array.from(xs, (x, j) => Math.max(Math.abs(x - qx), Math.abs(ys[j] - qy))).sort((a, b) => a - b);
        expect(Array.from(dist)).toEqual(all.slice(0, Math.min(4, n)));
        idx.forEach((j, r) => expect(Math.max(Math.abs(xs[j] - qx), Math.abs(ys[j] - qy))).toBe(dist[r]));
      }
    }
  });

  it("marginal counts from sorted values equal brute force", () => {
    const rng = Rng.fromSeed(9);
    const v = Float64Array.from({ length: 400 }, () => Math.round(rng.normal() * 8) / 8);
    const sorted = v.slice().sort();
    for (let i = 0; i < v.length; i++) {
      for (const r of [0, 0.05, 0.125, 0.3, 2]) {
        let c = 0;
        for (let j = 0; j < v.length; j++) if (j !== i && Math.abs(v[j] - v[i]) < r) c++;
        expect(countStrictlyWithin(sorted, v[i], r)).toBe(c);
      }
    }
  });

  it("the fast KSG equals the O(n²) definition", () => {
    const { x, y } = gaussianPairs(400, 0.5, 3);
    for (const k of [1, 3, 6]) expect(ksgMutualInformation(x, y, { k })).toBeCloseTo(bruteKsg(x, y, k), 10);
  });
});

describe("KSG mutual information", () => {
  // At n = 2000, k = 3 a single KSG estimate for these Gaussians has a standard deviation of
  // 0.014 (ρ = 0) … 0.026 (ρ = 0.9) and a bias below 0.007 (measured over 30 seeds). The test
  // averages 8 independent estimates (sd ≤ 0.01) and requires the mean within 0.03 nats of
  // −½ ln(1 − ρ²) (≥ 3σ), and every single estimate within 0.1 nats (≈ 4σ).
  for (const rho of [0, 0.3, 0.6, 0.9]) {
    it(`bivariate Gaussian, ρ = ${rho}: −½ ln(1 − ρ²) = ${gaussianMutualInformation(rho).toFixed(4)} within 0.03 (mean of 8, n = 2000, k = 3)`, () => {
      const exact = gaussianMutualInformation(rho);
      let sum = 0;
      for (let rep = 0; rep < 8; rep++) {
        const { x, y } = gaussianPairs(2000, rho, 100 + 17 * rep + Math.round(rho * 10));
        const mi = ksgMutualInformation(x, y, { k: 3 });
        expect(Math.abs(mi - exact)).toBeLessThan(0.1);
        sum += mi;
      }
      expect(Math.abs(sum / 8 - exact)).toBeLessThan(0.03);
    });
  }

  it("≈ 0 for independent non-Gaussian variables and invariant-ish under monotone maps", () => {
    const rng = Rng.fromSeed(77);
    const n = 2000;
    const x = Float64Array.from({ length: n }, () => rng.uniform());
    const y = Float64Array.from({ length: n }, () => Math.exp(rng.normal()));
    expect(Math.abs(ksgMutualInformation(x, y))).toBeLessThan(0.03);
    // a deterministic dependence has large MI
    const y2 = Float64Array.from(x, (v) => Math.sin(6 * v));
    expect(ksgMutualInformation(x, y2)).toBeGreaterThan(1.5);
  });

  it("matrix: symmetric, NaN diagonal, equals pairwise estimates; lattice stats", () => {
    const rng = Rng.fromSeed(4);
    const n = 600,
      L = 2,
      d = 4;
    const data = new Float64Array(n * d);
    for (let s = 0; s < n; s++) {
      const a = rng.normal();
      data[s * d] = a;
      data[s * d + 1] = 0.8 * a + 0.6 * rng.normal();
      data[s * d + 2] = rng.normal();
      data[s * d + 3] = rng.normal();
    }
    let calls = 0;
    const m = mutualInformationMatrix(data, n, d, { k: 3, onProgress: () => void calls++ });
    expect(calls).toBe(d);
    for (let a = 0; a < d; a++) {
      expect(Number.isNaN(m[a * d + a])).toBe(true);
      for (let b = 0; b < d; b++) if (a !== b) expect(m[a * d + b]).toBe(m[b * d + a]);
    }
    const col = (v: number) => Float64Array.from({ length: n }, (_, s) => data[s * d + v]);
    expect(m[1]).toBeCloseTo(ksgMutualInformation(col(0), col(1)), 12);
    expect(m[1]).toBeGreaterThan(0.35);
    expect(Math.abs(m[2 * d + 3])).toBeLessThan(0.05);
    const st = miMatrixStats(m, L);
    expect(st.max).toBe(m[1]);
    expect(st.meanOffDiagonal).toBeCloseTo((2 * (m[1] + m[2] + m[3] + m[6] + m[7] + m[11])) / 12, 12);
  });
});

describe("MI matrix on worker threads", () => {
  it("equals the serial matrix exactly", async () => {
    const { mutualInformationMatrixParallel } = await import("../../src/analysis/mi.ts");
    const rng = Rng.fromSeed(12);
    const n = 300,
      d = 7;
    const data = new Float64Array(n * d);
    for (let s = 0; s < n; s++) {
      const a = rng.normal();
      for (let v = 0; v < d; v++) data[s * d + v] = (v / d) * a + rng.normal();
    }
    const serial = mutualInformationMatrix(data, n, d, { k: 4 });
    let last = 0;
    const par = await mutualInformationMatrixParallel(data, n, d, {
      k: 4,
      workers: 2,
      onProgress: (done) => void (last = done),
    });
    expect(last).toBe((d * (d - 1)) / 2);
    expect(Array.from(par)).toEqual(Array.from(serial));
    await expect(mutualInformationMatrixParallel(data, 3, d * 100, { k: 3, workers: 2 })).rejects.toThrow(
      /needs more than k samples/,
    );
  });
});
