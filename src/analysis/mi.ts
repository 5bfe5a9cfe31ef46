/**
 * Mutual information between pairs of scalar variables with the Kraskov–Stögbauer–Grassberger
 * k-nearest-neighbour estimator, "estimator 1" (KSG, Phys. Rev. E 69, 066138 (2004), Eq. 8;
 * the paper's Ref. [79], used for Fig. 4b–c):
 *
 *     Î(X;Y) = ψ(k) + ψ(n) − ⟨ψ(n_x(i) + 1) + ψ(n_y(i) + 1)⟩_i,
 *
 * where ε(i)/2 is the distance from point i to its k-th nearest neighbour in the joint space
 * (X, Y) under the max-norm ‖(dx, dy)‖ = max(|dx|, |dy|), and n_x(i) (n_y(i)) counts the points
 * j ≠ i with |x_j − x_i| < ε(i)/2 (strictly). Units: nats. The estimate is nearly unbiased for
 * independent variables (it fluctuates around 0 and can be slightly negative).
 *
 * Neighbour search: the k-th neighbour distance comes from a 2-D k-d tree (median splits,
 * bounding-box pruning under the max-norm), O(n log n) per pair; the marginal counts from
 * binary searches in each variable's sorted values, sorted once per variable and reused for
 * every pair. A pair with n = 2000 takes a few milliseconds, so the 32 640 pairs of a 16×16
 * lattice take minutes rather than the hours of an O(n²) search; `mutualInformationMatrixParallel`
 * spreads the rows over worker threads.
 */

const EULER_GAMMA = 0.5772156649015329;

/**
 * The digamma function ψ(x) = d ln Γ(x)/dx for real x (not a non-positive integer, where it has
 * poles: NaN is returned). Recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the asymptotic series
 * ln x − 1/(2x) − Σ B_2k / (2k x^2k), accurate to ~1e-13; reflection for x < 0.
 */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0) {
    if (Number.isInteger(x)) return NaN;
    // ψ(1 − x) − ψ(x) = π cot(πx)
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  }
  let acc = 0;
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Bernoulli-number series: 1/12, 1/120, 1/252, 1/240, 1/132, 691/32760
  const series =
    inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return acc + Math.log(x) - 0.5 * inv - series;
}

/** ψ(m) for m = 0 … nmax (entry 0 is NaN): ψ(1) = −γ, ψ(m + 1) = ψ(m) + 1/m. */
export function digammaTable(nmax: number): Float64Array {
  const t = new Float64Array(nmax + 1);
  t[0] = NaN;
  if (nmax >= 1) t[1] = -EULER_GAMMA;
  for (let m = 1; m < nmax; m++) t[m + 1] = t[m] + 1 / m;
  return t;
}

// ---------------------------------------------------------------------------------------------
// 2-D k-d tree under the max-norm

/**
 * A static 2-D k-d tree over points (xs[i], ys[i]) for k-nearest-neighbour queries under the
 * max-norm. Splits at the median of the wider coordinate; leaves hold ≤ `leafSize` points. The
 * coordinates are copied into tree order (each node's points are contiguous) and every node
 * keeps its bounding box, so a subtree is skipped when the max-norm distance from the query to
 * its box is not below the current k-th best distance. `reset` rebuilds the tree in place for
 * new coordinates (no allocation unless n grows), so one tree serves every pair of a
 * mutual-information matrix.
 */
export class KdTree2 {
  private n = 0;
  /** original index of the point at each tree position */
  private perm: Int32Array = new Int32Array(0);
  /** coordinates in tree order */
  private px: Float64Array = new Float64Array(0);
  private py: Float64Array = new Float64Array(0);
  // Nodes in preorder: node covers positions [lo, hi); an internal node's left child is node + 1.
  private nodeLo: Int32Array = new Int32Array(0);
  private nodeHi: Int32Array = new Int32Array(0);
  private nodeRight: Int32Array = new Int32Array(0);
  /** bounding boxes: x0, x1, y0, y1 per node */
  private box: Float64Array = new Float64Array(0);
  private nnodes = 0;
  private best: Float64Array = new Float64Array(0);
  private bestPos: Int32Array = new Int32Array(0);
  private nbest = 0;
  private k = 0;
  private qx = 0;
  private qy = 0;
  private skip = -1;

  constructor(
    xs?: ArrayLike<number>,
    ys?: ArrayLike<number>,
    private readonly leafSize = 8,
  ) {
    if (!Number.isInteger(leafSize) || leafSize < 1)
      throw new RangeError(`leafSize = ${leafSize} is invalid: it must be an integer ≥ 1`);
    if (xs !== undefined && ys !== undefined) this.reset(xs, ys);
  }

  get size(): number {
    return this.n;
  }

  /** (Re)build the tree for the points (xs[i], ys[i]), i < xs.length. */
  reset(xs: ArrayLike<number>, ys: ArrayLike<number>): void {
    if (xs.length !== ys.length) throw new RangeError(`KdTree2: xs has ${xs.length} values, ys has ${ys.length}`);
    const n = xs.length;
    if (this.perm.length < n) {
      this.perm = new Int32Array(n);
      this.px = new Float64Array(n);
      this.py = new Float64Array(n);
      // leaves hold at least ⌊leafSize/2⌋ (≥ 1) points, so there are at most 2n/max(1, ⌊leafSize/2⌋) nodes
      const maxNodes = 2 * Math.ceil(n / Math.max(1, this.leafSize >> 1)) + 2;
      this.nodeLo = new Int32Array(maxNodes);
      this.nodeHi = new Int32Array(maxNodes);
      this.nodeRight = new Int32Array(maxNodes);
      this.box = new Float64Array(4 * maxNodes);
    }
    for (let i = 0; i < n; i++) {
      const x = xs[i],
        y = ys[i];
      if (!Number.isFinite(x) || !Number.isFinite(y))
        throw new RangeError(`KdTree2: point ${i} = (${x}, ${y}) is not finite`);
      this.perm[i] = i;
      this.px[i] = x;
      this.py[i] = y;
    }
    this.n = n;
    this.nnodes = 0;
    if (n > 0) this.build(0, n);
  }

  private build(lo: number, hi: number): number {
    const node = this.nnodes++;
    this.nodeLo[node] = lo;
    this.nodeHi[node] = hi;
    const px = this.px,
      py = this.py;
    let x0 = Infinity,
      x1 = -Infinity,
      y0 = Infinity,
      y1 = -Infinity;
    for (let a = lo; a < hi; a++) {
      const x = px[a],
        y = py[a];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    const b = 4 * node;
    this.box[b] = x0;
    this.box[b + 1] = x1;
    this.box[b + 2] = y0;
    this.box[b + 3] = y1;
    if (hi - lo <= this.leafSize) {
      this.nodeRight[node] = -1;
      return node;
    }
    const mid = (lo + hi) >> 1;
    // split on the coordinate with the larger spread
    if (x1 - x0 >= y1 - y0) this.select(px, py, lo, hi - 1, mid);
    else this.select(py, px, lo, hi - 1, mid);
    this.build(lo, mid);
    this.nodeRight[node] = this.build(mid, hi);
    return node;
  }

  /**
   * Quickselect on key array `a` (moving `b` and perm along): afterwards a[k] is the k-th
   * smallest of a[l..r], with smaller-or-equal values left of it and larger-or-equal right.
   */
  private select(a: Float64Array, b: Float64Array, l: number, r: number, k: number): void {
    const perm = this.perm;
    while (r > l) {
      const m = (l + r) >> 1;
      const u = a[l],
        v = a[m],
        w = a[r];
      const pivot = u < v ? (v < w ? v : u < w ? w : u) : u < w ? u : v < w ? w : v; // median of three
      let i = l,
        j = r;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          let t = a[i];
          a[i] = a[j];
          a[j] = t;
          t = b[i];
          b[i] = b[j];
          b[j] = t;
          const p = perm[i];
          perm[i] = perm[j];
          perm[j] = p;
          i++;
          j--;
        }
      }
      if (k <= j) r = j;
      else if (k >= i) l = i;
      else return;
    }
  }

  /**
   * The k nearest neighbours of (qx, qy) under the max-norm, excluding the point with original
   * index `exclude` (−1 keeps all): distances ascending, with their point indices. Ties are
   * broken arbitrarily. Fewer than k are returned when the tree holds fewer points.
   */
  knn(qx: number, qy: number, k: number, exclude = -1): { dist: Float64Array; idx: Int32Array } {
    let skip = -1;
    if (exclude >= 0) for (let a = 0; a < this.n; a++) if (this.perm[a] === exclude) skip = a;
    this.search(qx, qy, k, skip);
    return {
      dist: this.best.slice(0, this.nbest),
      idx: Int32Array.from(this.bestPos.subarray(0, this.nbest), (a) => this.perm[a]),
    };
  }

  /**
   * For every point i: the max-norm distance to its k-th nearest other point (Infinity when
   * n ≤ k), written to out[i] (original order).
   */
  allKthNeighbourDistances(k: number, out: Float64Array): void {
    if (out.length < this.n) throw new RangeError(`output has ${out.length} entries, need ${this.n}`);
    for (let a = 0; a < this.n; a++) {
      this.search(this.px[a], this.py[a], k, a);
      out[this.perm[a]] = this.nbest < k ? Infinity : this.best[k - 1];
    }
  }

  /** Max-norm distance from point i (original index) to its k-th nearest other point (Infinity when n ≤ k). */
  kthNeighbourDistance(i: number, k: number): number {
    let a = 0;
    while (a < this.n && this.perm[a] !== i) a++;
    if (a === this.n) throw new RangeError(`point ${i} is not in the tree`);
    this.search(this.px[a], this.py[a], k, a);
    return this.nbest < k ? Infinity : this.best[k - 1];
  }

  private search(qx: number, qy: number, k: number, skip: number): void {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k = ${k} is invalid: k must be an integer ≥ 1`);
    if (this.best.length < k) {
      this.best = new Float64Array(k);
      this.bestPos = new Int32Array(k);
    }
    this.k = k;
    this.nbest = 0;
    this.qx = qx;
    this.qy = qy;
    this.skip = skip;
    if (this.n > 0) this.visit(0);
  }

  /** Max-norm distance from the query to node's bounding box (0 inside). */
  private boxDistance(node: number): number {
    const b = 4 * node,
      box = this.box,
      qx = this.qx,
      qy = this.qy;
    const dx = qx < box[b] ? box[b] - qx : qx > box[b + 1] ? qx - box[b + 1] : 0;
    const dy = qy < box[b + 2] ? box[b + 2] - qy : qy > box[b + 3] ? qy - box[b + 3] : 0;
    return dx > dy ? dx : dy;
  }

  private visit(node: number): void {
    const right = this.nodeRight[node];
    if (right < 0) {
      const px = this.px,
        py = this.py,
        best = this.best,
        bestPos = this.bestPos,
        k = this.k,
        qx = this.qx,
        qy = this.qy;
      for (let a = this.nodeLo[node], hi = this.nodeHi[node]; a < hi; a++) {
        if (a === this.skip) continue;
        const dx = Math.abs(px[a] - qx);
        const dy = Math.abs(py[a] - qy);
        const d = dx > dy ? dx : dy;
        if (this.nbest === k && d >= best[k - 1]) continue;
        // insertion into the sorted list of the k best
        let s = this.nbest < k ? this.nbest++ : k - 1;
        while (s > 0 && best[s - 1] > d) {
          best[s] = best[s - 1];
          bestPos[s] = bestPos[s - 1];
          s--;
        }
        best[s] = d;
        bestPos[s] = a;
      }
      return;
    }
    const left = node + 1;
    const dl = this.boxDistance(left);
    const dr = this.boxDistance(right);
    // nearer child first; a child is skipped when its box cannot hold a strictly closer point
    if (dl <= dr) {
      if (this.nbest < this.k || dl < this.best[this.k - 1]) this.visit(left);
      if (this.nbest < this.k || dr < this.best[this.k - 1]) this.visit(right);
    } else {
      if (this.nbest < this.k || dr < this.best[this.k - 1]) this.visit(right);
      if (this.nbest < this.k || dl < this.best[this.k - 1]) this.visit(left);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Marginal counts

/** Index of the first element of the ascending array `a` that is ≥ v (a.length if none). */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Index of the first element of the ascending array `a` that is > v. */
function upperBound(a: Float64Array, v: number): number {
  let lo = 0,
    hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m] <= v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/**
 * Number of j ≠ i with |sorted-values − v| < r strictly, where v is itself one of the values
 * (so the open interval (v − r, v + r) contains it once when r > 0).
 */
export function countStrictlyWithin(sorted: Float64Array, v: number, r: number): number {
  if (!(r > 0)) return 0;
  const n = sorted.length;
  // v ± r is rounded: move the binary-search bounds until they agree with the exact test
  // |s − v| < r used for the joint distance (the set where it holds is contiguous).
  let hi = lowerBound(sorted, v + r);
  while (hi > 0 && !(Math.abs(sorted[hi - 1] - v) < r)) hi--;
  while (hi < n && Math.abs(sorted[hi] - v) < r) hi++;
  let lo = upperBound(sorted, v - r);
  while (lo < n && !(Math.abs(sorted[lo] - v) < r)) lo++;
  while (lo > 0 && Math.abs(sorted[lo - 1] - v) < r) lo--;
  return hi - lo > 0 ? hi - lo - 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// KSG estimator

export interface KsgOptions {
  /** neighbours in the joint space (KSG recommend 2–4; default 3) */
  k?: number;
}

/** Reusable state for many KSG estimates on samples of one size n. */
export class KsgEstimator {
  readonly k: number;
  readonly n: number;
  private readonly tree = new KdTree2();
  private readonly psi: Float64Array;
  private readonly eps: Float64Array;

  constructor(n: number, k = 3) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k = ${k} is invalid: k must be an integer ≥ 1`);
    if (!Number.isInteger(n) || n <= k)
      throw new RangeError(`KSG with k = ${k} needs more than k samples, got n = ${n}`);
    this.k = k;
    this.n = n;
    this.psi = digammaTable(n + 1);
    this.eps = new Float64Array(n);
  }

  /**
   * Î(X;Y) (KSG estimator 1, nats) for paired samples x, y of length n, with their ascending
   * sorted copies (pass them when estimating many pairs; computed here otherwise).
   */
  estimate(x: ArrayLike<number>, y: ArrayLike<number>, xSorted?: Float64Array, ySorted?: Float64Array): number {
    const { n, k, psi, eps } = this;
    if (x.length !== n || y.length !== n)
      throw new RangeError(`KSG: expected ${n} samples, got x: ${x.length}, y: ${y.length}`);
    const xs = xSorted ?? Float64Array.from(x).sort();
    const ys = ySorted ?? Float64Array.from(y).sort();
    this.tree.reset(x, y);
    this.tree.allKthNeighbourDistances(k, eps);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const nx = countStrictlyWithin(xs, x[i], eps[i]);
      const ny = countStrictlyWithin(ys, y[i], eps[i]);
      acc += psi[nx + 1] + psi[ny + 1];
    }
    return psi[k] + psi[n] - acc / n;
  }
}

/** KSG estimator 1 of the mutual information (nats) between paired samples x and y. */
export function ksgMutualInformation(x: ArrayLike<number>, y: ArrayLike<number>, opts: KsgOptions = {}): number {
  if (x.length !== y.length) throw new RangeError(`KSG: x has ${x.length} samples, y has ${y.length}`);
  return new KsgEstimator(x.length, opts.k ?? 3).estimate(x, y);
}

export interface MiMatrixOptions extends KsgOptions {
  /** called after each row of the matrix with (pairs done, pairs total) */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The columns of a data set (n samples × d variables, sample-major) with their sorted copies,
 * and a KSG estimator: computes one row of the MI matrix at a time (shared by the serial and
 * the worker-thread versions, so both give identical numbers).
 */
export class MiRowComputer {
  private readonly est: KsgEstimator;
  private readonly cols: Float64Array[] = [];
  private readonly sorted: Float64Array[] = [];

  constructor(
    data: ArrayLike<number>,
    readonly n: number,
    readonly d: number,
    k: number,
  ) {
    if (data.length !== n * d)
      throw new RangeError(`MI matrix: data has ${data.length} values, expected n × d = ${n} × ${d}`);
    this.est = new KsgEstimator(n, k);
    for (let v = 0; v < d; v++) {
      const c = new Float64Array(n);
      for (let s = 0; s < n; s++) c[s] = data[s * d + v];
      this.cols.push(c);
      this.sorted.push(c.slice().sort());
    }
  }

  /** Î(X_a; X_b) for b = a+1 … d−1. */
  row(a: number): Float64Array {
    const out = new Float64Array(this.d - 1 - a);
    for (let b = a + 1; b < this.d; b++)
      out[b - a - 1] = this.est.estimate(this.cols[a], this.cols[b], this.sorted[a], this.sorted[b]);
    return out;
  }
}

function fillRow(out: Float64Array, d: number, a: number, values: Float64Array): void {
  out[a * d + a] = NaN;
  for (let b = a + 1; b < d; b++) {
    out[a * d + b] = values[b - a - 1];
    out[b * d + a] = values[b - a - 1];
  }
}

/**
 * Matrix of pairwise KSG mutual information between the d variables of `data` (n samples ×
 * d variables, sample-major: variable v of sample s at s·d + v). Symmetric, d × d row-major;
 * the diagonal (I(X;X) = ∞ for continuous X) is NaN.
 */
export function mutualInformationMatrix(
  data: ArrayLike<number>,
  n: number,
  d: number,
  opts: MiMatrixOptions = {},
): Float64Array {
  const rc = new MiRowComputer(data, n, d, opts.k ?? 3);
  const out = new Float64Array(d * d);
  const total = (d * (d - 1)) / 2;
  let done = 0;
  for (let a = 0; a < d; a++) {
    fillRow(out, d, a, rc.row(a));
    done += d - 1 - a;
    opts.onProgress?.(done, total);
  }
  return out;
}

/**
 * `mutualInformationMatrix` on `workers` worker threads (rows handed out one at a time, the
 * long ones first); the numbers are identical to the serial version. workers ≤ 1 runs serially.
 */
export async function mutualInformationMatrixParallel(
  data: ArrayLike<number>,
  n: number,
  d: number,
  opts: MiMatrixOptions & { workers?: number } = {},
): Promise<Float64Array> {
  const nw = Math.min(opts.workers ?? 1, Math.max(1, d - 1));
  if (nw <= 1) return mutualInformationMatrix(data, n, d, opts);
  if (data.length !== n * d)
    throw new RangeError(`MI matrix: data has ${data.length} values, expected n × d = ${n} × ${d}`);
  new KsgEstimator(n, opts.k ?? 3); // validates n and k before any thread starts
  const { Worker } = await import("node:worker_threads");
  const shared = Float64Array.from(data);
  const workers = Array.from({ length: nw }, () => new Worker(new URL("./mi-worker-entry.mjs", import.meta.url)));
  const out = new Float64Array(d * d);
  const total = (d * (d - 1)) / 2;
  let done = 0;
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = (): void => {
              if (next >= d) {
                resolve();
                return;
              }
              w.postMessage({ row: next++ });
            };
            w.on("message", (m: { ready?: boolean; row?: number; values?: Float64Array; error?: string }) => {
              if (m.error) reject(new Error(m.error));
              else if (m.ready) send();
              else if (m.row !== undefined && m.values) {
                fillRow(out, d, m.row, m.values);
                done += d - 1 - m.row;
                opts.onProgress?.(done, total);
                send();
              }
            });
            w.on("error", reject);
            w.postMessage({ init: { data: shared, n, d, k: opts.k ?? 3 } });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

export interface MiMatrixStats {
  /** mean over all off-diagonal pairs */
  meanOffDiagonal: number;
  /** largest off-diagonal value */
  max: number;
  /** mean over nearest-neighbour pairs of the periodic L×L lattice (site (i,j) at i·L + j) */
  meanNearestNeighbour: number;
}

/** Summary numbers of a d × d MI matrix whose variables sit on an L×L lattice (d = L²). */
export function miMatrixStats(m: Float64Array, L: number): MiMatrixStats {
  const d = L * L;
  if (m.length !== d * d)
    throw new RangeError(`miMatrixStats: matrix has ${m.length} entries, expected (L²)² = ${d * d}`);
  let sum = 0,
    cnt = 0,
    max = -Infinity;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      if (a === b) continue;
      const v = m[a * d + b];
      sum += v;
      cnt++;
      if (v > max) max = v;
    }
  }
  let nn = 0,
    nnCnt = 0;
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const a = i * L + j;
      for (const b of [i * L + ((j + 1) % L), ((i + 1) % L) * L + j]) {
        if (b === a) continue;
        nn += m[a * d + b];
        nnCnt++;
      }
    }
  }
  return {
    meanOffDiagonal: cnt ? sum / cnt : NaN,
    max: cnt ? max : NaN,
    meanNearestNeighbour: nnCnt ? nn / nnCnt : NaN,
  };
}

/** Exact MI of a bivariate Gaussian with correlation ρ: −½ ln(1 − ρ²) nats. */
export function gaussianMutualInformation(rho: number): number {
  return -0.5 * Math.log(1 - rho * rho);
}
