/**
 * Storage policy for our own numerical code (kernels, targets, samplers).
 * Arrays are flat typed arrays with the batch axis first: a batch of B lattice
 * configurations of N = L*L sites is `Real` of length B*N, row b = x[b*N .. b*N+N).
 * Site (i, j) of an L×L lattice (row i, column j) has index i*L + j.
 */
export type Real = Float32Array | Float64Array;
export type DType = "float32" | "float64";

export const DTYPES: readonly DType[] = ["float32", "float64"];

/** Bytes per stored number of a dtype. */
export const BYTES_PER_NUMBER: Readonly<Record<DType, number>> = { float32: 4, float64: 8 };

/** Allocate a zeroed array of the given dtype. */
export function alloc(dtype: DType, n: number): Real {
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

/** The dtype of an existing array. */
export function dtypeOf(a: Real): DType {
  return a instanceof Float64Array ? "float64" : "float32";
}

/** Copy into a new array of the requested dtype. */
export function toDType(a: ArrayLike<number>, dtype: DType): Real {
  const out = alloc(dtype, a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}
