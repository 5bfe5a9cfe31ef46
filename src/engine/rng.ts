/**
 * Explicit, serialisable randomness for our own numerical code (explicit generators passed by the caller, no global state).
 *
 * `Rng` is xoshiro128** (32-bit state words, fast in JS) seeded through splitmix32. Its whole
 * state is four uint32 words, saved in checkpoints so that resuming continues the very same
 * stream. `Rng.fork(tag)` derives an independent generator deterministically, the analogue of
 * splitting a JAX key.
 */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private s: Uint32Array;
  private spare = NaN;

  private constructor(state: RngState) {
    this.s = Uint32Array.from(state);
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /** A generator from an integer seed (any 32-bit value; the same seed gives the same stream). */
  static fromSeed(seed: number): Rng {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed = ${seed} is invalid: seed must be an integer in 0..4294967295`);
    }
    const sm = splitmix32(seed);
    return new Rng([sm(), sm(), sm(), sm()]);
  }

  static fromState(state: RngState): Rng {
    if (
      !Array.isArray(state) ||
      state.length !== 4 ||
      state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)
    ) {
      throw new RangeError(`RNG state ${JSON.stringify(state)} is invalid: expected four uint32 words`);
    }
    return new Rng(state);
  }

  /** The full state (the cached Box–Muller spare is dropped on purpose: see normal()). */
  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, both values used, pairs never straddle a state save). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill an array with standard normals. Always consumes an even number of draws. */
  fillNormal(out: { length: number; [i: number]: number }): void {
    this.spare = NaN;
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    this.spare = NaN;
  }

  /** Fill with uniforms in [0, 1). */
  fillUniform(out: { length: number; [i: number]: number }): void {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A uniformly random permutation of 0..n−1 (Fisher–Yates from the end, n − 1 draws of int). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** A new, independent generator derived from this one's next outputs and a tag. */
  fork(tag = 0): Rng {
    const sm = splitmix32((this.nextU32() ^ Math.imul(tag + 1, 0x9e3779b9)) >>> 0);
    const a = this.nextU32();
    return new Rng([sm() ^ a, sm(), sm(), sm()].map((v) => v >>> 0) as RngState);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
