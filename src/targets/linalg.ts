/** Small dense linear algebra in float64 (row-major), for exact references and tests. */

/**
 * Cholesky factor of a symmetric positive definite n×n matrix: lower-triangular C with
 * A = C Cᵀ (row-major, upper part zero). Throws if A is not positive definite.
 */
export function cholesky(A: ArrayLike<number>, n: number): Float64Array {
  if (A.length !== n * n) throw new RangeError(`matrix has ${A.length} entries, expected ${n}×${n}`);
  const C = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= C[j * n + k] * C[j * n + k];
    if (!(d > 0)) throw new RangeError(`matrix is not positive definite (pivot ${j} = ${d})`);
    const cjj = Math.sqrt(d);
    C[j * n + j] = cjj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= C[i * n + k] * C[j * n + k];
      C[i * n + j] = s / cjj;
    }
  }
  return C;
}

/** ln det A = 2 Σ ln C_ii from a Cholesky factor. */
export function logDetFromCholesky(C: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(C[i * n + i]);
  return 2 * s;
}

/** Solve Cᵀ x = b in place (b → x) for lower-triangular C. */
export function solveLowerTransposeInPlace(C: ArrayLike<number>, n: number, b: Float64Array, offset = 0): void {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[offset + i];
    for (let k = i + 1; k < n; k++) s -= C[k * n + i] * b[offset + k];
    b[offset + i] = s / C[i * n + i];
  }
}

/** y = A x for a dense row-major n×n matrix, over `batch` rows of x. */
export function matVecBatch(
  A: ArrayLike<number>,
  n: number,
  x: ArrayLike<number>,
  batch: number,
  y: Float64Array,
): void {
  for (let b = 0; b < batch; b++) {
    const o = b * n;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const r = i * n;
      for (let j = 0; j < n; j++) s += A[r + j] * x[o + j];
      y[o + i] = s;
    }
  }
}
