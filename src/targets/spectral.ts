/**
 * Fast application of a real symmetric 2D-circulant operator on the L×L torus,
 *   (C x)(i,j) = Σ_{i',j'} c(i−i', j−j') x(i',j'),   C = F⁻¹ diag(ŵ) F,
 * given its eigenvalues ŵ(p,q) (index p*L + q, p the row frequency). Used for (K+αI)⁻¹ of the
 * relaxed Ising target. L a power of two: iterative radix-2 FFT; other L: a plain O(L²) DFT per
 * line (still O(N·L) per sample instead of the O(N²) dense matvec).
 *
 * Two real samples are transformed at once as re + i·im: C is real, so C(x_a + i x_b) =
 * C x_a + i C x_b exactly.
 */
import { isPowerOfTwo } from "../engine/math.ts";

export class Circulant2D {
  readonly L: number;
  readonly N: number;
  /** eigenvalues ŵ(p,q) divided by N (the inverse-transform normalisation folded in) */
  private readonly w: Float64Array;
  private readonly pow2: boolean;
  private readonly cosT: Float64Array;
  private readonly sinT: Float64Array;
  private readonly rev: Int32Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly tr: Float64Array;
  private readonly ti: Float64Array;

  constructor(L: number, eigenvalues: Float64Array) {
    if (eigenvalues.length !== L * L) throw new RangeError(`expected ${L * L} eigenvalues, got ${eigenvalues.length}`);
    this.L = L;
    this.N = L * L;
    this.w = Float64Array.from(eigenvalues, (v) => v / (L * L));
    this.pow2 = isPowerOfTwo(L);
    // twiddles e^{−2πik/L} = cosT[k] − i sinT[k]
    this.cosT = new Float64Array(L);
    this.sinT = new Float64Array(L);
    for (let k = 0; k < L; k++) {
      this.cosT[k] = Math.cos((2 * Math.PI * k) / L);
      this.sinT[k] = Math.sin((2 * Math.PI * k) / L);
    }
    this.rev = new Int32Array(L);
    if (this.pow2) {
      const bits = Math.round(Math.log2(L));
      for (let k = 0; k < L; k++) {
        let r = 0;
        for (let b = 0; b < bits; b++) if (k & (1 << b)) r |= 1 << (bits - 1 - b);
        this.rev[k] = r;
      }
    }
    this.re = new Float64Array(this.N);
    this.im = new Float64Array(this.N);
    this.tr = new Float64Array(L);
    this.ti = new Float64Array(L);
  }

  /** out[b*N..] = C x[b*N..] for each of `batch` rows (x may be float32; out is float64). */
  apply(x: ArrayLike<number>, batch: number, out: Float64Array): void {
    const { N, re, im, w } = this;
    for (let b = 0; b < batch; b += 2) {
      const two = b + 1 < batch;
      const oa = b * N;
      const ob = (b + 1) * N;
      for (let k = 0; k < N; k++) {
        re[k] = x[oa + k];
        im[k] = two ? x[ob + k] : 0;
      }
      this.transform2d(-1);
      for (let k = 0; k < N; k++) {
        re[k] *= w[k];
        im[k] *= w[k];
      }
      this.transform2d(1);
      for (let k = 0; k < N; k++) out[oa + k] = re[k];
      if (two) for (let k = 0; k < N; k++) out[ob + k] = im[k];
    }
  }

  /** Unnormalised 2D DFT of (re, im) in place; sign −1 forward, +1 inverse. */
  private transform2d(sign: number): void {
    const L = this.L;
    if (this.pow2) {
      this.fftRows(sign);
      this.fftCols(sign);
      return;
    }
    for (let i = 0; i < L; i++) this.dftLine(i * L, 1, sign);
    for (let j = 0; j < L; j++) this.dftLine(j, L, sign);
  }

  /** In-place radix-2 decimation-in-time FFT of every row (contiguous lines). */
  private fftRows(sign: number): void {
    const { L, re, im, rev, cosT, sinT } = this;
    for (let i = 0; i < L; i++) {
      const o = i * L;
      for (let k = 0; k < L; k++) {
        const r = rev[k];
        if (r > k) {
          let t = re[o + k];
          re[o + k] = re[o + r];
          re[o + r] = t;
          t = im[o + k];
          im[o + k] = im[o + r];
          im[o + r] = t;
        }
      }
      for (let size = 2; size <= L; size <<= 1) {
        const half = size >> 1;
        const step = L / size;
        for (let start = o; start < o + L; start += size) {
          for (let k = 0; k < half; k++) {
            const c = cosT[k * step];
            const sn = sign * sinT[k * step];
            const a = start + k;
            const b = a + half;
            const xr = re[b] * c - im[b] * sn;
            const xi = re[b] * sn + im[b] * c;
            re[b] = re[a] - xr;
            im[b] = im[a] - xi;
            re[a] += xr;
            im[a] += xi;
          }
        }
      }
    }
  }

  /** In-place radix-2 FFT along columns, processing whole rows per butterfly (cache-friendly). */
  private fftCols(sign: number): void {
    const { L, re, im, rev, cosT, sinT } = this;
    for (let k = 0; k < L; k++) {
      const r = rev[k];
      if (r > k) {
        const ok = k * L,
          or = r * L;
        for (let j = 0; j < L; j++) {
          let t = re[ok + j];
          re[ok + j] = re[or + j];
          re[or + j] = t;
          t = im[ok + j];
          im[ok + j] = im[or + j];
          im[or + j] = t;
        }
      }
    }
    for (let size = 2; size <= L; size <<= 1) {
      const half = size >> 1;
      const step = L / size;
      for (let start = 0; start < L; start += size) {
        for (let k = 0; k < half; k++) {
          const c = cosT[k * step];
          const sn = sign * sinT[k * step];
          const oa = (start + k) * L;
          const ob = oa + half * L;
          for (let j = 0; j < L; j++) {
            const a = oa + j;
            const b = ob + j;
            const xr = re[b] * c - im[b] * sn;
            const xi = re[b] * sn + im[b] * c;
            re[b] = re[a] - xr;
            im[b] = im[a] - xi;
            re[a] += xr;
            im[a] += xi;
          }
        }
      }
    }
  }

  /** Plain DFT of one line (any L). */
  private dftLine(offset: number, stride: number, sign: number): void {
    const { L, re, im, tr, ti, cosT, sinT } = this;
    for (let k = 0; k < L; k++) {
      let sr = 0,
        si = 0;
      for (let n = 0; n < L; n++) {
        const t = (k * n) % L;
        const c = cosT[t];
        const sn = sign * sinT[t];
        const s = offset + n * stride;
        sr += re[s] * c - im[s] * sn;
        si += re[s] * sn + im[s] * c;
      }
      tr[k] = sr;
      ti[k] = si;
    }
    for (let k = 0; k < L; k++) {
      const s = offset + k * stride;
      re[s] = tr[k];
      im[s] = ti[k];
    }
  }
}

/**
 * The convolution kernel c(di, dj) = (1/N) Σ_{p,q} ŵ(p,q) cos(2π(p·di + q·dj)/L) of a real
 * symmetric circulant with even eigenvalues ŵ(p,q) = ŵ(−p,−q), computed by direct summation
 * (independent of the FFT code above). Index di*L + dj.
 */
export function circulantKernel(L: number, eigenvalues: Float64Array): Float64Array {
  const N = L * L;
  const cosT = new Float64Array(L);
  for (let k = 0; k < L; k++) cosT[k] = Math.cos((2 * Math.PI * k) / L);
  const c = new Float64Array(N);
  for (let di = 0; di < L; di++) {
    for (let dj = 0; dj < L; dj++) {
      let s = 0;
      for (let p = 0; p < L; p++) {
        const a = (p * di) % L;
        for (let q = 0; q < L; q++) s += eigenvalues[p * L + q] * cosT[(a + q * dj) % L];
      }
      c[di * L + dj] = s / N;
    }
  }
  return c;
}

/** Dense row-major N×N matrix of the circulant with kernel c: C[a,b] = c(i_a − i_b, j_a − j_b). */
export function circulantDense(L: number, kernel: Float64Array): Float64Array {
  const N = L * L;
  const C = new Float64Array(N * N);
  for (let ia = 0; ia < L; ia++) {
    for (let ja = 0; ja < L; ja++) {
      const a = ia * L + ja;
      for (let ib = 0; ib < L; ib++) {
        const di = (ia - ib + L) % L;
        for (let jb = 0; jb < L; jb++) C[a * N + ib * L + jb] = kernel[di * L + ((ja - jb + L) % L)];
      }
    }
  }
  return C;
}
