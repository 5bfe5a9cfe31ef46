/**
 * Training checkpoints (SPEC §3: model, optimiser, RNG, epoch — everything needed to resume so
 * that the resumed run is bit-identical to an uninterrupted one).
 *
 * On disk (JSON, written atomically):
 *   {
 *     "format": "neuralrg-checkpoint/1",
 *     "sha256": "<hex digest of JSON.stringify(payload)>",
 *     "payload": {
 *       "epoch", "config", "params", "optimiser": {"step", "m", "v"}, "rng",
 *       "packageVersion", "gitCommit", "nodeVersion", "createdAt", "extra"?, "arrays"?
 *     }
 *   }
 * Typed arrays are stored as {"dtype": "float32"|"float64", "length": n, "base64": ...} holding the
 * little-endian IEEE-754 bytes, so a round trip is bit-exact (NaN payloads and −0 included).
 * The checksum covers the compact re-serialisation of the payload, which JSON round-trips
 * exactly, so it does not depend on the file's whitespace.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { DType, Real } from "../engine/real.ts";
import type { RngState } from "../engine/rng.ts";
import { writeFileAtomic } from "./atomic.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.ts";
import { gitCommit, packageVersion } from "./provenance.ts";

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
  | "missing"
  | "unreadable"
  | "empty"
  | "truncated"
  | "not-json"
  | "format"
  | "checksum"
  | "invalid";

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

/** Encoded typed array. */
export interface EncodedArray {
  dtype: DType;
  length: number;
  base64: string;
}

/** Encode a Float32Array/Float64Array as little-endian bytes in base64. */
export function encodeReal(a: Real): EncodedArray {
  const dtype: DType = a instanceof Float64Array ? "float64" : "float32";
  const width = dtype === "float64" ? 8 : 4;
  const bytes = new Uint8Array(a.length * width);
  const view = new DataView(bytes.buffer);
  if (dtype === "float64") for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return { dtype, length: a.length, base64: Buffer.from(bytes.buffer).toString("base64") };
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
  const width = dtype === "float64" ? 8 : 4;
  const buf = Buffer.from(base64, "base64");
  if (buf.length !== length * width) {
    throw new Error(`${what} is truncated: ${buf.length} bytes for ${length} ${dtype} values (expected ${length * width})`);
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

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function isRngState(v: unknown): v is RngState {
  return Array.isArray(v) && v.length === 4 && v.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Check shapes and types of a checkpoint held in memory; returns a problem description or null. */
function structuralProblem(c: CheckpointInput<JsonObject>): string | null {
  if (!isCount(c.epoch)) return `epoch ${JSON.stringify(c.epoch)} is not a non-negative integer`;
  if (!isJsonObject(c.config)) return "config is not a JSON object";
  if (!(c.params instanceof Float32Array || c.params instanceof Float64Array)) return "params is not a Float32Array or Float64Array";
  const o = c.optimiser;
  if (!o || !isCount(o.step)) return "optimiser.step is not a non-negative integer";
  for (const k of ["m", "v"] as const) {
    const a = o[k];
    if (!(a instanceof Float32Array || a instanceof Float64Array)) return `optimiser.${k} is not a Float32Array or Float64Array`;
    if (a.length !== c.params.length) return `optimiser.${k} has ${a.length} values but params has ${c.params.length}`;
  }
  if (!isRngState(c.rng)) return `rng ${JSON.stringify(c.rng)} is not four uint32 words`;
  return null;
}

/**
 * Write a checkpoint atomically (temp file + fsync + rename): a crash leaves the previous
 * checkpoint intact. Returns the checkpoint as written (provenance filled in).
 */
export function saveCheckpoint<C extends JsonObject>(path: string, ckpt: CheckpointInput<C>): Checkpoint<C> {
  const problem = structuralProblem(ckpt);
  if (problem) throw new CheckpointError(path, "invalid", `refusing to save: ${problem}`);
  const full: Checkpoint<C> = {
    ...ckpt,
    packageVersion: ckpt.packageVersion ?? packageVersion(),
    gitCommit: ckpt.gitCommit ?? gitCommit(),
    nodeVersion: ckpt.nodeVersion ?? process.version,
    createdAt: ckpt.createdAt ?? new Date().toISOString(),
  };
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
  const text = `{\n  "format": ${JSON.stringify(CHECKPOINT_FORMAT)},\n  "sha256": "${sha256(compact)}",\n  "payload": ${compact}\n}\n`;
  writeFileAtomic(path, text);
  return full;
}

/**
 * Read and validate a checkpoint. Throws CheckpointError (one-line message naming the file and
 * the problem) when the file is missing, unreadable, empty, truncated, not JSON, of another
 * format version, fails its checksum, or has inconsistent shapes.
 */
export function loadCheckpoint(path: string): Checkpoint<JsonObject> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CheckpointError(path, "missing", "missing (no such file)");
    throw new CheckpointError(path, "unreadable", `cannot be read (${code ?? (err as Error).message})`);
  }
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new CheckpointError(path, "empty", "is empty (truncated write?)");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    if (trimmed.startsWith("{") && !trimmed.endsWith("}")) {
      throw new CheckpointError(path, "truncated", `is truncated (JSON ends early after ${Buffer.byteLength(text)} bytes)`);
    }
    throw new CheckpointError(path, "not-json", `is not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  if (!isJsonObject(doc)) throw new CheckpointError(path, "format", "is not a neuralrg checkpoint (top level is not an object)");
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
  const actual = sha256(JSON.stringify(payload));
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
