/** Small numerically stable helpers shared by objectives, samplers and estimators. */

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** ln Σ e^{a_i}. */
export function logSumExp(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  if (m === -Infinity || !Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

/** Logistic sigmoid 1 / (1 + e^{−u}), stable for large |u|. */
export function sigmoid(u: number): number {
  if (u >= 0) return 1 / (1 + Math.exp(-u));
  const e = Math.exp(u);
  return e / (1 + e);
}

/** Mean and standard error of the mean (independent samples). */
export function meanStdErr(a: ArrayLike<number>): { mean: number; stdErr: number; std: number } {
  const n = a.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - m) ** 2;
  const std = n > 1 ? Math.sqrt(v / (n - 1)) : 0;
  return { mean: m, stdErr: n > 1 ? std / Math.sqrt(n) : NaN, std };
}

/** True when n is a power of two (an integer n ≥ 1): the lattice sizes of the hierarchical flows. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}
