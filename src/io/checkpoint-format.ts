/**
 * The checkpoint file format (see checkpoint.ts for the layout), as pure functions of text and
 * typed arrays: no node:fs, node:crypto or Buffer, so the same code runs in Node and in a
 * browser or Web Worker (the browser playground exports and imports checkpoints with it).
 *
 *   checkpointText(full)          → the exact text saveCheckpoint writes
 *   parseCheckpointText(text, p)  → the checkpoint, or CheckpointError naming p and the problem
 *
 * The checksum is SHA-256 of the UTF-8 bytes of the compact payload (sha256Hex below, a plain
 * TypeScript implementation; Node callers may pass node:crypto's instead, same digest).
 */
import { BYTES_PER_NUMBER, type DType, type Real } from "../engine/real.ts";
import type { RngState } from "../engine/rng.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.ts";

export const CHECKPOINT_FORMAT = "neuralrg-checkpoint/1";

/** Adam state: step count and first/second moment estimates (same length as the parameters). */
export interface OptimiserState {
  step: number;
  m: Real;
  v: Real;
}

export interface Checkpoint<C extends JsonObject = JsonObject> {
  /** Number of completed epochs. */
  epoch: number;
  /** The run configuration (arbitrary JSON; validated by the caller). */
  config: C;
  /** Flat flow parameters. */
  params: Real;
  optimiser: OptimiserState;
  /** Full state of the training RNG (`Rng.state()`). */
  rng: RngState;
  /** Provenance, filled in by saveCheckpoint when not given. */
  packageVersion: string;
  gitCommit: string;
  nodeVersion: string;
  /** ISO 8601 creation time. */
  createdAt: string;
  /** Free-form JSON extras (e.g. best loss so far). */
  extra?: JsonObject;
  /** Further named arrays (e.g. an experience buffer). */
  arrays?: Record<string, Real>;
}

/** What a caller supplies; provenance fields default to the current package/commit/time. */
export type CheckpointInput<C extends JsonObject = JsonObject> = Omit<
  Checkpoint<C>,
  "packageVersion" | "gitCommit" | "nodeVersion" | "createdAt"
> &
  Partial<Pick<Checkpoint<C>, "packageVersion" | "gitCommit" | "nodeVersion" | "createdAt">>;

export type CheckpointProblem =
  "missing" | "unreadable" | "empty" | "truncated" | "not-json" | "format" | "checksum" | "invalid";

/** A checkpoint that cannot be used; `message` is one line naming the file and the problem. */
export class CheckpointError extends Error {
  override readonly name = "CheckpointError";
  constructor(
    readonly path: string,
    readonly problem: CheckpointProblem,
    readonly detail: string,
  ) {
    super(`checkpoint ${path}: ${detail}`);
  }
}

/** Hex digest of the UTF-8 bytes of a string. */
export type HashHex = (text: string) => string;

// ---------------------------------------------------------------------------------------------
// Base64 (standard alphabet, padded: the same text as Node's Buffer#toString("base64"))

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 4096;
  for (let c = 0; c < bytes.length; c += CHUNK) {
    const end = Math.min(bytes.length, c + CHUNK);
    let s = "";
    let i = c;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
    }
    if (end - i === 1) {
      const n = bytes[i] << 16;
      s += B64[n >>> 18] + B64[(n >>> 12) & 63] + "==";
    } else if (end - i === 2) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + "=";
    }
    parts.push(s);
  }
  return parts.join("");
}

/** Decode padded standard base64 (the caller has checked the alphabet and length % 4 === 0). */
export function base64ToBytes(text: string): Uint8Array {
  let pad = 0;
  if (text.endsWith("==")) pad = 2;
  else if (text.endsWith("=")) pad = 1;
  const n = (text.length / 4) * 3 - pad;
  const out = new Uint8Array(Math.max(0, n));
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = B64_INDEX[text.charCodeAt(i)];
    const b = B64_INDEX[text.charCodeAt(i + 1)];
    const c = text[i + 2] === "=" ? 0 : B64_INDEX[text.charCodeAt(i + 2)];
    const d = text[i + 3] === "=" ? 0 : B64_INDEX[text.charCodeAt(i + 3)];
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < n) out[o++] = (v >>> 16) & 255;
    if (o < n) out[o++] = (v >>> 8) & 255;
    if (o < n) out[o++] = v & 255;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for environments without node:crypto's synchronous hash

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 of a byte array, as 64 lowercase hex digits. */
export function sha256Bytes(data: Uint8Array): string {
  const len = data.length;
  const total = (((len + 9 + 63) >> 6) << 6) >>> 0;
  const buf = new Uint8Array(total);
  buf.set(data);
  buf[len] = 0x80;
  const dv = new DataView(buf.buffer);
  dv.setUint32(total - 8, Math.floor(len / 0x20000000), false); // high bits of the bit length
  dv.setUint32(total - 4, (len << 3) >>> 0, false);
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  for (let off = 0; off < total; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = dv.getUint32(off + 4 * t, false);
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15];
      const b = w[t - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
    }
    let a = h[0],
      b = h[1],
      c = h[2],
      d = h[3],
      e = h[4],
      f = h[5],
      g = h[6],
      hh = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K256[t] + w[t]) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0] + a) >>> 0;
    h[1] = (h[1] + b) >>> 0;
    h[2] = (h[2] + c) >>> 0;
    h[3] = (h[3] + d) >>> 0;
    h[4] = (h[4] + e) >>> 0;
    h[5] = (h[5] + f) >>> 0;
    h[6] = (h[6] + g) >>> 0;
    h[7] = (h[7] + hh) >>> 0;
  }
  let out = "";
  for (let i = 0; i < 8; i++) out += h[i].toString(16).padStart(8, "0");
  return out;
}

/** SHA-256 of the UTF-8 bytes of a string (same digest as node:crypto's createHash("sha256")). */
export const sha256Hex: HashHex = (text) => sha256Bytes(new TextEncoder().encode(text));

// ---------------------------------------------------------------------------------------------
// Typed arrays

/** Encoded typed array. */
export interface EncodedArray {
  dtype: DType;
  length: number;
  base64: string;
}

/** Encode a Float32Array/Float64Array as little-endian bytes in base64. */
export function encodeReal(a: Real): EncodedArray {
  const dtype: DType = a instanceof Float64Array ? "float64" : "float32";
  const width = BYTES_PER_NUMBER[dtype];
  const bytes = new Uint8Array(a.length * width);
  const view = new DataView(bytes.buffer);
  if (dtype === "float64") for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return { dtype, length: a.length, base64: bytesToBase64(bytes) };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decode an EncodedArray; throws Error with a short description of what is wrong. */
export function decodeReal(e: unknown, what: string): Real {
  if (!isJsonObject(e)) throw new Error(`${what} is not an encoded array`);
  const { dtype, length, base64 } = e;
  if (dtype !== "float32" && dtype !== "float64") throw new Error(`${what} has unknown dtype ${JSON.stringify(dtype)}`);
  if (typeof length !== "number" || !Number.isInteger(length) || length < 0) {
    throw new Error(`${what} has invalid length ${JSON.stringify(length)}`);
  }
  if (typeof base64 !== "string" || base64.length % 4 !== 0 || !BASE64_RE.test(base64)) {
    throw new Error(`${what} has malformed base64 data`);
  }
  const width = BYTES_PER_NUMBER[dtype];
  const buf = base64ToBytes(base64);
  if (buf.length !== length * width) {
    throw new Error(
      `${what} is truncated: ${buf.length} bytes for ${length} ${dtype} values (expected ${length * width})`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dtype === "float64") {
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) out[i] = view.getFloat64(i * 8, true);
    return out;
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Whole checkpoints

function isRngState(v: unknown): v is RngState {
  return Array.isArray(v) && v.length === 4 && v.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Check shapes and types of a checkpoint held in memory; returns a problem description or null. */
export function structuralProblem(c: CheckpointInput<JsonObject>): string | null {
  if (!isCount(c.epoch)) return `epoch ${JSON.stringify(c.epoch)} is not a non-negative integer`;
  if (!isJsonObject(c.config)) return "config is not a JSON object";
  if (!(c.params instanceof Float32Array || c.params instanceof Float64Array))
    return "params is not a Float32Array or Float64Array";
  const o = c.optimiser;
  if (!o || !isCount(o.step)) return "optimiser.step is not a non-negative integer";
  for (const k of ["m", "v"] as const) {
    const a = o[k];
    if (!(a instanceof Float32Array || a instanceof Float64Array))
      return `optimiser.${k} is not a Float32Array or Float64Array`;
    if (a.length !== c.params.length) return `optimiser.${k} has ${a.length} values but params has ${c.params.length}`;
  }
  if (!isRngState(c.rng)) return `rng ${JSON.stringify(c.rng)} is not four uint32 words`;
  return null;
}

/**
 * The file text of a checkpoint whose provenance is filled in (what saveCheckpoint writes).
 * Throws CheckpointError("invalid") naming `path` when the shapes are inconsistent.
 */
export function checkpointText<C extends JsonObject>(
  full: Checkpoint<C>,
  path = "(in memory)",
  hash: HashHex = sha256Hex,
): string {
  const problem = structuralProblem(full);
  if (problem) throw new CheckpointError(path, "invalid", `refusing to save: ${problem}`);
  const payload: JsonObject = {
    epoch: full.epoch,
    config: full.config,
    params: encodeReal(full.params) as unknown as JsonValue,
    optimiser: {
      step: full.optimiser.step,
      m: encodeReal(full.optimiser.m) as unknown as JsonValue,
      v: encodeReal(full.optimiser.v) as unknown as JsonValue,
    },
    rng: [...full.rng],
    packageVersion: full.packageVersion,
    gitCommit: full.gitCommit,
    nodeVersion: full.nodeVersion,
    createdAt: full.createdAt,
  };
  if (full.extra !== undefined) payload.extra = full.extra;
  if (full.arrays !== undefined) {
    const arrays: JsonObject = {};
    for (const [k, a] of Object.entries(full.arrays)) arrays[k] = encodeReal(a) as unknown as JsonValue;
    payload.arrays = arrays;
  }
  const compact = JSON.stringify(payload);
  // The payload is spliced in compactly; the envelope stays readable with `head`.
  return `{\n  "format": ${JSON.stringify(CHECKPOINT_FORMAT)},\n  "sha256": "${hash(compact)}",\n  "payload": ${compact}\n}\n`;
}

/**
 * Parse and validate the text of a checkpoint file. Throws CheckpointError (one-line message
 * naming `path` and the problem) when the text is empty, truncated, not JSON, of another format
 * version, fails its checksum, or has inconsistent shapes.
 */
export function parseCheckpointText(text: string, path: string, hash: HashHex = sha256Hex): Checkpoint<JsonObject> {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new CheckpointError(path, "empty", "is empty (truncated write?)");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (trimmed.startsWith("{") && !trimmed.endsWith("}")) {
      const bytes = new TextEncoder().encode(text).length;
      throw new CheckpointError(path, "truncated", `is truncated (JSON ends early after ${bytes} bytes)`);
    }
    throw new CheckpointError(path, "not-json", `is not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  if (!isJsonObject(doc))
    throw new CheckpointError(path, "format", "is not a neuralrg checkpoint (top level is not an object)");
  if (!("format" in doc)) throw new CheckpointError(path, "format", "is not a neuralrg checkpoint (no format field)");
  if (doc.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      path,
      "format",
      `has format ${JSON.stringify(doc.format)}, expected "${CHECKPOINT_FORMAT}" (written by another version of neuralrg?)`,
    );
  }
  const payload = doc.payload;
  if (!isJsonObject(payload)) throw new CheckpointError(path, "invalid", "has no payload object");
  if (typeof doc.sha256 !== "string") throw new CheckpointError(path, "invalid", "has no sha256 checksum");
  const actual = hash(JSON.stringify(payload));
  if (actual !== doc.sha256) {
    throw new CheckpointError(
      path,
      "checksum",
      `checksum mismatch (file corrupted or edited): stored sha256 ${doc.sha256.slice(0, 12)}…, actual ${actual.slice(0, 12)}…`,
    );
  }
  let ckpt: Checkpoint<JsonObject>;
  try {
    const opt = payload.optimiser;
    if (!isJsonObject(opt)) throw new Error("optimiser is missing");
    const str = (k: string): string => {
      const v = payload[k];
      if (typeof v !== "string") throw new Error(`${k} is missing`);
      return v;
    };
    ckpt = {
      epoch: payload.epoch as number,
      config: payload.config as JsonObject,
      params: decodeReal(payload.params, "params"),
      optimiser: {
        step: opt.step as number,
        m: decodeReal(opt.m, "optimiser.m"),
        v: decodeReal(opt.v, "optimiser.v"),
      },
      rng: payload.rng as RngState,
      packageVersion: str("packageVersion"),
      gitCommit: str("gitCommit"),
      nodeVersion: str("nodeVersion"),
      createdAt: str("createdAt"),
    };
    if (payload.extra !== undefined) {
      if (!isJsonObject(payload.extra)) throw new Error("extra is not an object");
      ckpt.extra = payload.extra;
    }
    if (payload.arrays !== undefined) {
      if (!isJsonObject(payload.arrays)) throw new Error("arrays is not an object");
      const arrays: Record<string, Real> = {};
      for (const [k, e] of Object.entries(payload.arrays)) arrays[k] = decodeReal(e, `arrays.${k}`);
      ckpt.arrays = arrays;
    }
  } catch (err) {
    const msg = (err as Error).message;
    throw new CheckpointError(path, msg.includes("truncated") ? "truncated" : "invalid", msg);
  }
  const problem = structuralProblem(ckpt);
  if (problem) throw new CheckpointError(path, "invalid", problem);
  return ckpt;
}
