/**
 * Periodic L×L square lattice helpers. Site (i, j) (row i, column j) has index i*L + j.
 *
 * Bond convention (used by every Ising quantity in this folder): the Hamiltonian is
 *   H(s) = −Σ_i Σ_{μ∈{x,y}} s_i s_{i+μ},
 * i.e. exactly 2N bonds on the torus, one "right" (+x, column j+1) and one "down" (+y, row i+1)
 * bond per site. For L = 2 site i+x equals site i−x, so a pair of sites is joined by two bonds;
 * the adjacency matrix A_ij counts bonds (A_ij = 2 there) and K = β·A.
 */

/** Throws unless L is an integer ≥ 2. */
export function checkLatticeSize(L: number, max = Infinity): void {
  if (!Number.isInteger(L) || L < 2 || L > max) {
    const range = max === Infinity ? "an integer ≥ 2" : `an integer in 2..${max}`;
    throw new RangeError(`L = ${L} is invalid: the lattice size must be ${range}`);
  }
}

/** Index of site (i, j) with periodic wrapping of both coordinates. */
export function siteIndex(L: number, i: number, j: number): number {
  const a = ((i % L) + L) % L;
  const b = ((j % L) + L) % L;
  return a * L + b;
}

/**
 * Neighbour table: Int32Array of length 4N, entries [right, left, down, up] of each site
 * (right = (i, j+1), down = (i+1, j)). For L = 2 right and left coincide, which is exactly the
 * bond doubling: Σ over the four entries of s_nb is the local field of the Hamiltonian above.
 */
export function neighbours(L: number): Int32Array {
  checkLatticeSize(L);
  const N = L * L;
  const nb = new Int32Array(4 * N);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const s = i * L + j;
      nb[4 * s] = i * L + ((j + 1) % L);
      nb[4 * s + 1] = i * L + ((j - 1 + L) % L);
      nb[4 * s + 2] = ((i + 1) % L) * L + j;
      nb[4 * s + 3] = ((i - 1 + L) % L) * L + j;
    }
  }
  return nb;
}

/** The 2N bonds as pairs [a0, b0, a1, b1, ...]: bond 2s is (s, s+x), bond 2s+1 is (s, s+y). */
export function bonds(L: number): Int32Array {
  checkLatticeSize(L);
  const N = L * L;
  const out = new Int32Array(4 * N);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const s = i * L + j;
      out[4 * s] = s;
      out[4 * s + 1] = i * L + ((j + 1) % L);
      out[4 * s + 2] = s;
      out[4 * s + 3] = ((i + 1) % L) * L + j;
    }
  }
  return out;
}

/** Dense symmetric adjacency matrix (row-major N×N), A_ij = number of bonds between i and j. */
export function adjacencyMatrix(L: number): Float64Array {
  const N = L * L;
  const b = bonds(L);
  const A = new Float64Array(N * N);
  for (let k = 0; k < 2 * N; k++) {
    const a = b[2 * k];
    const c = b[2 * k + 1];
    A[a * N + c] += 1;
    A[c * N + a] += 1;
  }
  return A;
}

/**
 * Eigenvalues of the adjacency matrix on the torus, λ(p,q) = 2cos(2πp/L) + 2cos(2πq/L), stored at
 * index p*L + q (the plane wave e^{2πi(p·i + q·j)/L} is the eigenvector). With bond counting the
 * formula also holds for L = 2 (eigenvalues 4, 0, 0, −4).
 */
export function adjacencyEigenvalues(L: number): Float64Array {
  checkLatticeSize(L);
  const c = new Float64Array(L);
  for (let p = 0; p < L; p++) c[p] = 2 * Math.cos((2 * Math.PI * p) / L);
  // exact zeros / ±2 where the cosine is analytically simple, so that λ_min is exact
  for (let p = 0; p < L; p++) {
    if (4 * p === L || 4 * p === 3 * L) c[p] = 0;
    if (2 * p === L) c[p] = -2;
  }
  const out = new Float64Array(L * L);
  for (let p = 0; p < L; p++) for (let q = 0; q < L; q++) out[p * L + q] = c[p] + c[q];
  return out;
}

/** Smallest adjacency eigenvalue: −4 for even L, 4cos(π(L−1)/L) for odd L. */
export function adjacencyMinEigenvalue(L: number): number {
  const ev = adjacencyEigenvalues(L);
  let m = Infinity;
  for (let i = 0; i < ev.length; i++) if (ev[i] < m) m = ev[i];
  return m;
}

/** Ising energy H(s) = −Σ_i (s_i s_{i+x} + s_i s_{i+y}) of one configuration (row `row` of s). */
export function isingEnergy(s: ArrayLike<number>, L: number, row = 0): number {
  const N = L * L;
  const o = row * N;
  let e = 0;
  for (let i = 0; i < L; i++) {
    const r = o + i * L;
    const rd = o + ((i + 1) % L) * L;
    for (let j = 0; j < L; j++) {
      const jr = j + 1 === L ? 0 : j + 1;
      const v = s[r + j];
      e -= v * (s[r + jr] + s[rd + j]);
    }
  }
  return e;
}
