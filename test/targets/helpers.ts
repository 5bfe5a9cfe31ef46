/**
 * Independent dense linear algebra for the target tests (deliberately not shared with src/):
 * cyclic Jacobi eigenvalues, LU log-determinant, Gauss–Jordan inverse, Cholesky, and a torus
 * adjacency matrix built straight from the Hamiltonian's bond list.
 */

/** A_ij = number of bonds (i, i+x), (i, i+y) joining i and j on the periodic L×L lattice. */
export function torusAdjacency(L: number): Float64Array {
  const N = L * L;
  const A = new Float64Array(N * N);
  const add = (a: number, b: number) => {
    A[a * N + b] += 1;
    A[b * N + a] += 1;
  };
  for (let i = 0; i < L; i++)
    for (let j = 0; j < L; j++) {
      add(i * L + j, i * L + ((j + 1) % L));
      add(i * L + j, ((i + 1) % L) * L + j);
    }
  return A;
}

/** All eigenvalues of a symmetric n×n matrix by cyclic Jacobi rotations, sorted ascending. */
export function jacobiEigenvalues(M: ArrayLike<number>, n: number): number[] {
  const a = Float64Array.from(M);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p, q
          const akp = a[k * n + p],
            akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p, q
          const apk = a[p * n + k],
            aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  const ev: number[] = [];
  for (let i = 0; i < n; i++) ev.push(a[i * n + i]);
  return ev.sort((x, y) => x - y);
}

/** ln|det M| and its sign by LU with partial pivoting. */
export function luLogDet(M: ArrayLike<number>, n: number): { logAbs: number; sign: number } {
  const a = Float64Array.from(M);
  let logAbs = 0,
    sign = 1;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[piv * n + k])) piv = i;
    if (a[piv * n + k] === 0) return { logAbs: -Infinity, sign: 0 };
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j];
        a[k * n + j] = a[piv * n + j];
        a[piv * n + j] = t;
      }
      sign = -sign;
    }
    const d = a[k * n + k];
    if (d < 0) sign = -sign;
    logAbs += Math.log(Math.abs(d));
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k] / d;
      for (let j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return { logAbs, sign };
}

/** M⁻¹ by Gauss–Jordan elimination with partial pivoting. */
export function gaussJordanInverse(M: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(M);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[piv * n + k])) piv = i;
    for (let j = 0; j < n; j++) {
      let t = a[k * n + j];
      a[k * n + j] = a[piv * n + j];
      a[piv * n + j] = t;
      t = inv[k * n + j];
      inv[k * n + j] = inv[piv * n + j];
      inv[piv * n + j] = t;
    }
    const d = a[k * n + k];
    for (let j = 0; j < n; j++) {
      a[k * n + j] /= d;
      inv[k * n + j] /= d;
    }
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = a[i * n + k];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[i * n + j] -= f * a[k * n + j];
        inv[i * n + j] -= f * inv[k * n + j];
      }
    }
  }
  return inv;
}

/** Lower-triangular C with M = C Cᵀ. */
export function choleskyLower(M: ArrayLike<number>, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * n + j];
      for (let k = 0; k < j; k++) s -= C[i * n + k] * C[j * n + k];
      C[i * n + j] = i === j ? Math.sqrt(s) : s / C[j * n + j];
    }
  }
  return C;
}

export function logSumExpArr(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - m);
  return m + Math.log(s);
}

/** Spin configuration number k (bit i set ⇒ s_i = −1). */
export function spinsOf(k: number, N: number, out = new Float64Array(N)): Float64Array {
  for (let i = 0; i < N; i++) out[i] = (k >> i) & 1 ? -1 : 1;
  return out;
}

/** H(s) = −Σ_i (s_i s_{i+x} + s_i s_{i+y}), written out independently of src/. */
export function hamiltonian(s: ArrayLike<number>, L: number): number {
  let e = 0;
  for (let i = 0; i < L; i++)
    for (let j = 0; j < L; j++) {
      const v = s[i * L + j];
      e -= v * s[i * L + ((j + 1) % L)] + v * s[((i + 1) % L) * L + j];
    }
  return e;
}

/** Deterministic standard normals (Box–Muller on a small LCG-free generator: mulberry32). */
export function normalsSeeded(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}
