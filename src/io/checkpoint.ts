/**
 * Training checkpoints (model, optimiser, RNG, epoch — everything needed to resume so
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
import { writeFileAtomic } from "./atomic.ts";
import {
  CheckpointError,
  checkpointText,
  parseCheckpointText,
  structuralProblem,
  type Checkpoint,
  type CheckpointInput,
  type HashHex,
} from "./checkpoint-format.ts";
import type { JsonObject } from "./json.ts";
import { gitCommit, packageVersion } from "./provenance.ts";

// The format itself (pure functions, also used by the browser playground) lives in checkpoint-format.ts.
export {
  CHECKPOINT_FORMAT,
  CheckpointError,
  decodeReal,
  encodeReal,
  type Checkpoint,
  type CheckpointInput,
  type CheckpointProblem,
  type EncodedArray,
  type OptimiserState,
} from "./checkpoint-format.ts";

const sha256: HashHex = (text) => createHash("sha256").update(text, "utf8").digest("hex");

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
  const text = checkpointText(full, path, sha256);
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
  return parseCheckpointText(text, path, sha256);
}
