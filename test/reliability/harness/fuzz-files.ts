/**
 * Fuzzing of the files a user (or a crash, or a disk) can damage, used through the CLI:
 *
 *   - checkpoint.json: truncated at a random byte, a random bit flipped, a wrong or missing
 *     format version or checksum, and adversarial payload edits with a *recomputed* checksum
 *     (wrong types, negative/fractional epochs, wrong array lengths and dtypes, NaN parameters,
 *     a degenerate RNG state, junk numerical-guard extras), a directory in its place;
 *   - config.json hand-edited: wrong types, unknown keys, NaN/Infinity literals, truncated,
 *     not an object, a directory in its place;
 *   - metrics.csv: wrong header, garbage cells, partial lines, extra rows, CRLF, deleted;
 *   - the lock file: unreadable, held by a live process, by another host, by a dead process;
 *     stale temp files of a killed writer;
 *   - a data file of the wrong shape given to `analyze --source`.
 *
 * Each case copies a trained run (4 epochs), damages it and resumes it to 6 epochs with
 * `train --resume` (in-process). The property: exit 0 or 2 (never 1, never a stack trace); a
 * refusal is one line and leaves the directory byte-identical; a success reproduces the
 * uninterrupted run — the resumed metrics rows and the final checkpoint equal a reference
 * resumed from the undamaged copy, bit for bit (except for adversarial edits that carry a valid
 * checksum: those are indistinguishable from a real checkpoint, so only the contract applies).
 */
import fc from "fast-check";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { encodeReal, loadCheckpoint } from "../../../src/io/checkpoint.ts";
import { readMetrics } from "../../../src/io/metrics.ts";
import { contractViolations, runInProcess, showArgv, snapshot, snapshotDiff } from "./cli.ts";
import { junkValue } from "./fuzz-cli.ts";

export const FILE_FUZZ_TRAIN = [
  "--L",
  "4",
  "--nlayers",
  "1",
  "--nmlp",
  "0",
  "--nhidden",
  "2",
  "--batch",
  "8",
  "--eval-samples",
  "8",
  "--seed",
  "11",
  "--kernel",
  "js",
  "--save-period",
  "2",
  "--progress",
  "off",
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Mutation {
  what: string;
  /** damage done without a valid checksum: a success must reproduce the reference exactly */
  raw: boolean;
  apply(dir: string): void;
  /** run something other than the default resume (e.g. analyze --source) */
  argv?(dir: string): string[];
}

const sha256 = (t: string): string => createHash("sha256").update(t, "utf8").digest("hex");

/** Set `value` at a dotted path (creating objects on the way); "" replaces the root. */
function setPath(root: Json, path: string, value: Json | undefined): Json {
  if (path === "") return value ?? null;
  const keys = path.split(".");
  let o = root as { [k: string]: Json };
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as { [k: string]: Json };
  }
  const last = keys.at(-1)!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return root;
}

const jsonJunk: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<Json>(
      -1,
      0,
      1.5,
      4,
      6,
      1e300,
      -1e300,
      "4",
      "x",
      "",
      null,
      true,
      false,
      [],
      {},
      [0, 0, 0, 0],
      [1, 2, 3],
      [4294967296, 0, 0, 0],
      [1, 2, 3, 4.5],
      { dtype: "float16", length: 1, base64: "AAA=" },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: junkValue },
);

/** Encoded arrays that are well-formed but wrong: NaN/Infinity values, wrong length or dtype. */
const badArray: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  encodeReal(Float64Array.from([NaN, 1, 2])) as unknown as Json,
  encodeReal(Float64Array.from([Infinity])) as unknown as Json,
  encodeReal(new Float64Array(3)) as unknown as Json,
  encodeReal(new Float32Array(3)) as unknown as Json,
  { dtype: "float64", length: 2, base64: "AAAAAAAAAAA=" },
  { dtype: "float64", length: -1, base64: "" },
  { dtype: "float64", length: 0.5, base64: "" },
  { dtype: "float64", length: 1, base64: "!!!!" },
);

const PAYLOAD_PATHS = [
  "epoch",
  "config",
  "config.flow",
  "config.flow.nhidden",
  "config.lr",
  "config.extraKey",
  "config.target.T",
  "params",
  "params.dtype",
  "params.length",
  "params.base64",
  "optimiser",
  "optimiser.step",
  "optimiser.m",
  "optimiser.v",
  "optimiser.v.length",
  "rng",
  "extra",
  "extra.lrScale",
  "extra.rollbacks",
  "packageVersion",
  "createdAt",
  "arrays",
  "arrays.buf",
  "",
];
const CONFIG_PATHS = [
  "batch",
  "epochs",
  "lr",
  "seed",
  "dtype",
  "kernel",
  "flow",
  "flow.L",
  "flow.depth",
  "flow.layout",
  "target",
  "target.T",
  "target.kind",
  "symmetrize",
  "init",
  "unknownKey",
  "flow.unknown",
  "",
];

function checkpointMutation(): fc.Arbitrary<Mutation> {
  const file = (dir: string): string => join(dir, "checkpoint.json");
  const truncate = fc.double({ min: 0, max: 0.9999, noNaN: true }).map((f): Mutation => ({
    what: `checkpoint truncated at ${(100 * f).toFixed(2)}%`,
    raw: true,
    apply: (d) => {
      const b = readFileSync(file(d));
      writeFileSync(file(d), b.subarray(0, Math.floor(f * b.length)));
    },
  }));
  const bitflip = fc
    .tuple(fc.double({ min: 0, max: 0.9999, noNaN: true }), fc.integer({ min: 0, max: 7 }))
    .map(([f, bit]): Mutation => ({
      what: `checkpoint bit ${bit} of byte ${(100 * f).toFixed(2)}% flipped`,
      raw: true,
      apply: (d) => {
        const b = readFileSync(file(d));
        const i = Math.floor(f * b.length);
        b[i] ^= 1 << bit;
        writeFileSync(file(d), b);
      },
    }));
  const envelope = fc
    .tuple(
      fc.constantFrom("format", "sha256", "payload"),
      fc.oneof(
        jsonJunk,
        fc.constantFrom<Json>("neuralrg-checkpoint/2", "neuralrg-checkpoint/0", "neuralrg-checkpoint", "a".repeat(64)),
        fc.constant(undefined as unknown as Json),
      ),
    )
    .map(([key, value]): Mutation => ({
      what: `checkpoint envelope ${key} = ${JSON.stringify(value)}`,
      raw: true,
      apply: (d) => {
        const doc = JSON.parse(readFileSync(file(d), "utf8")) as { [k: string]: Json };
        if (value === undefined) delete doc[key];
        else doc[key] = value;
        writeFileSync(file(d), JSON.stringify(doc));
      },
    }));
  const payload = fc
    .tuple(fc.constantFrom(...PAYLOAD_PATHS), fc.oneof(jsonJunk, badArray, fc.constant(undefined as unknown as Json)))
    .map(([path, value]): Mutation => ({
      what: `checkpoint payload ${path || "(root)"} = ${JSON.stringify(value)?.slice(0, 80)} with a recomputed checksum`,
      raw: false,
      apply: (d) => {
        const doc = JSON.parse(readFileSync(file(d), "utf8")) as { payload: Json; sha256: string };
        doc.payload = setPath(doc.payload, path, value);
        doc.sha256 = sha256(JSON.stringify(doc.payload));
        writeFileSync(file(d), JSON.stringify(doc));
      },
    }));
  const other = fc.constantFrom<Mutation>(
    { what: "checkpoint emptied", raw: true, apply: (d) => writeFileSync(file(d), "") },
    {
      what: "checkpoint is a directory",
      raw: true,
      apply: (d) => {
        rmSync(file(d));
        mkdirSync(file(d));
      },
    },
    { what: "checkpoint deleted (restart from epoch 0)", raw: true, apply: (d) => rmSync(file(d)) },
    {
      what: "checkpoint reformatted (whitespace only)",
      raw: true,
      apply: (d) => writeFileSync(file(d), JSON.stringify(JSON.parse(readFileSync(file(d), "utf8")), null, 4)),
    },
  );
  return fc.oneof(truncate, bitflip, envelope, payload, other);
}

function configMutation(): fc.Arbitrary<Mutation> {
  const file = (dir: string): string => join(dir, "config.json");
  const edit = fc
    .tuple(fc.constantFrom(...CONFIG_PATHS), fc.oneof(jsonJunk, fc.constant(undefined as unknown as Json)))
    .map(([path, value]): Mutation => ({
      what: `config.json ${path || "(root)"} = ${JSON.stringify(value)?.slice(0, 80)}`,
      raw: true,
      apply: (d) =>
        writeFileSync(
          file(d),
          JSON.stringify(setPath(JSON.parse(readFileSync(file(d), "utf8")) as Json, path, value), null, 2),
        ),
    }));
  const text = fc
    .constantFrom<[string, (t: string) => string]>(
      ["NaN literal", (t) => t.replace(/"lr": [^,\n]+/, '"lr": NaN')],
      ["Infinity literal", (t) => t.replace(/"batch": [^,\n]+/, '"batch": Infinity')],
      ["trailing comma", (t) => t.replace(/\n}\s*$/, ",\n}\n")],
      ["truncated", (t) => t.slice(0, Math.floor(t.length / 2))],
      ["empty", () => ""],
      ["an array", () => "[]"],
      ["null", () => "null"],
      ["a BOM", (t) => "\uFEFF" + t],
      ["comments", (t) => "// hand-edited\n" + t],
      ["huge batch", (t) => t.replace(/"batch": [^,\n]+/, '"batch": 1e300')],
      ["epochs only (allowed)", (t) => t.replace(/"epochs": [^,\n]+/, '"epochs": 12345')],
      ["reindented (allowed)", (t) => JSON.stringify(JSON.parse(t))],
    )
    .map(([what, f]): Mutation => ({
      what: `config.json ${what}`,
      raw: true,
      apply: (d) => writeFileSync(file(d), f(readFileSync(file(d), "utf8"))),
    }));
  const dir = fc.constant<Mutation>({
    what: "config.json is a directory",
    raw: true,
    apply: (d) => {
      rmSync(file(d));
      mkdirSync(file(d));
    },
  });
  return fc.oneof(edit, text, dir);
}

function metricsMutation(): fc.Arbitrary<Mutation> {
  const file = (dir: string): string => join(dir, "metrics.csv");
  const lines = (d: string): string[] => readFileSync(file(d), "utf8").split("\n");
  const cell = fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 6 }),
      fc.oneof(junkValue, fc.constantFrom("1", "NaN", "", "-Infinity")),
    )
    .map(([row, col, v]): Mutation => ({
      what: `metrics.csv row ${row} column ${col} = ${JSON.stringify(v)}`,
      raw: true,
      apply: (d) => {
        const ls = lines(d);
        const cells = ls[row].split(",");
        cells[col] = v;
        ls[row] = cells.join(",");
        writeFileSync(file(d), ls.join("\n"));
      },
    }));
  const whole = fc
    .constantFrom<[string, (t: string) => string | null]>(
      ["wrong header", (t) => t.replace(/^epoch,F/, "epoch,G")],
      ["header only", (t) => t.split("\n")[0] + "\n"],
      ["partial last line", (t) => t + "5,1.2,0.3"],
      ["extra rows beyond the checkpoint", (t) => t + "5,1,1,1,1,1,1\n6,2,2,2,2,2,2\n9,NaN,,Infinity,1,1,1\n"],
      ["a row with too many cells", (t) => t + "5,1,1,1,1,1,1,1\n"],
      ["CRLF line ends", (t) => t.replace(/\n/g, "\r\n")],
      ["emptied", () => ""],
      ["binary junk", () => "\u0000\u0001\u0002garbage\n"],
      ["deleted", () => null],
    )
    .map(([what, f]): Mutation => ({
      what: `metrics.csv ${what}`,
      raw: true,
      apply: (d) => {
        const t = f(readFileSync(file(d), "utf8"));
        if (t === null) rmSync(file(d));
        else writeFileSync(file(d), t);
      },
    }));
  return fc.oneof(cell, whole);
}

function lockMutation(deadPid: number): fc.Arbitrary<Mutation> {
  const lock = (d: string): string => join(d, ".lock");
  const info = (pid: number, host: string): string =>
    JSON.stringify({ pid, hostname: host, startedAt: new Date().toISOString(), token: "0123456789abcdef" }) + "\n";
  return fc.constantFrom<Mutation>(
    { what: "unreadable lock file", raw: true, apply: (d) => writeFileSync(lock(d), "{ half a lock") },
    {
      what: "lock held by a live process",
      raw: true,
      apply: (d) => writeFileSync(lock(d), info(process.pid, hostname())),
    },
    {
      what: "lock held on another host",
      raw: true,
      apply: (d) => writeFileSync(lock(d), info(deadPid, "elsewhere.example")),
    },
    {
      what: "stale lock of a dead process",
      raw: true,
      apply: (d) => writeFileSync(lock(d), info(deadPid, hostname())),
    },
    { what: "lock is a directory", raw: true, apply: (d) => mkdirSync(lock(d)) },
    {
      what: "temp files of a killed writer",
      raw: true,
      apply: (d) => {
        writeFileSync(join(d, `.checkpoint.json.${deadPid}.0123456789ab.tmp`), "partial");
        writeFileSync(join(d, `.metrics.csv.${deadPid}.ba9876543210.tmp`), "partial");
      },
    },
    {
      what: "summary, provenance and plots damaged (not read on resume)",
      raw: true,
      apply: (d) => {
        writeFileSync(join(d, "summary.json"), "{");
        writeFileSync(join(d, "provenance.json"), "");
        rmSync(join(d, "plots"), { recursive: true, force: true });
      },
    },
  );
}

/** A data file of the wrong shape for `analyze --source <file>` (the run is a 4×4 lattice). */
function sampleFileMutation(): fc.Arbitrary<Mutation> {
  const contents = fc.oneof(
    fc.constantFrom<Json>(
      { L: 4, x: [] },
      { L: 4, x: [[1, 2, 3]] },
      { L: 8, x: [Array(16).fill(0.5)] },
      { L: 4, x: [Array(16).fill("a")] },
      { L: 4, x: [Array(17).fill(0)] },
      { L: 4, x: "x" },
      { L: "4", x: [Array(16).fill(0)] },
      { x: [Array(16).fill(0)] },
      [Array(16).fill(0)],
      [],
      {},
      null,
      1,
      "x",
      { L: 4, x: [Array(16).fill(1e308), Array(16).fill(-1e308)] },
    ),
    fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  );
  const text = fc.oneof(
    contents.map((c) => JSON.stringify(c)),
    fc.constantFrom(
      '{"L": 4, "x": [[NaN]]}',
      '{"L": 4, "x": [[1, 2',
      "",
      "\u0000",
      `{"L": 4, "x": [${Array(16).fill("Infinity").join(",")}]}`,
    ),
  );
  return text.map((t): Mutation => ({
    what: `analyze --source file ${t.slice(0, 60)}`,
    raw: false,
    apply: (d) => writeFileSync(join(d, "bad-samples.json"), t),
    argv: (d) => [
      "analyze",
      "--run",
      d,
      "--source",
      join(d, "bad-samples.json"),
      "--what",
      "collective",
      "--samples",
      "4",
      "--progress",
      "off",
    ],
  }));
}

export interface FuzzFilesStats {
  tried: number;
  byKind: Record<string, number>;
  byExit: Record<string, number>;
  failures: string[];
}

/** Cells of a metrics row except `seconds`, as printed (full precision). */
function rowKey(line: string): string {
  return line.split(",").slice(0, 6).join(",");
}

export async function fuzzFiles(o: { runs: number; seed: number; log?: (l: string) => void }): Promise<FuzzFilesStats> {
  const stats: FuzzFilesStats = { tried: 0, byKind: {}, byExit: {}, failures: [] };
  const root = mkdtempSync(join(tmpdir(), "neuralrg-filefuzz-"));
  try {
    // the damaged run: 4 epochs with checkpoints every 2; the reference: its undamaged copy resumed to 6
    const base = join(root, "base");
    const t = await runInProcess(["train", ...FILE_FUZZ_TRAIN, "--epochs", "4", "--out", base]);
    if (t.code !== 0) throw new Error(`setup training failed: ${t.err}`);
    const ref = join(root, "ref");
    cpSync(base, ref, { recursive: true });
    const r = await runInProcess(["train", ...FILE_FUZZ_TRAIN, "--epochs", "6", "--resume", "--out", ref]);
    if (r.code !== 0) throw new Error(`reference resume failed: ${r.err}`);
    const refRows = new Map(
      readFileSync(join(ref, "metrics.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => [Number(l.split(",")[0]), rowKey(l)]),
    );
    const refCk = loadCheckpoint(join(ref, "checkpoint.json"));
    const deadPid = (() => {
      // a pid that is certainly not running: far above the kernel's pid_max default
      return 4_194_000 + Math.floor(Math.random() * 100);
    })();

    const mutation = fc.oneof(
      { weight: 5, arbitrary: checkpointMutation() },
      { weight: 3, arbitrary: configMutation() },
      { weight: 2, arbitrary: metricsMutation() },
      { weight: 2, arbitrary: lockMutation(deadPid) },
      { weight: 1, arbitrary: sampleFileMutation() },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const dir = join(root, `case-${n++}`);
        cpSync(base, dir, { recursive: true });
        try {
          m.apply(dir);
          const argv = m.argv ? m.argv(dir) : ["train", ...FILE_FUZZ_TRAIN, "--epochs", "6", "--resume", "--out", dir];
          const before = snapshot(dir);
          const res = await runInProcess(argv);
          stats.tried++;
          const kind = m.what.split(" ")[0];
          stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
          stats.byExit[String(res.code)] = (stats.byExit[String(res.code)] ?? 0) + 1;
          const v = contractViolations(res);
          if (res.code === 2) {
            const diff = snapshotDiff(before, snapshot(dir));
            if (diff.length) v.push(`refused, yet changed the run directory: ${diff.slice(0, 5).join(", ")}`);
          } else if (res.code === 0 && m.raw && !m.argv) {
            const rows = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n").slice(1);
            for (const l of rows) {
              const e = Number(l.split(",")[0]);
              if (e > 4 && refRows.get(e) !== rowKey(l)) v.push(`resumed metrics row ${e} differs from the reference`);
            }
            if (!rows.some((l) => l.startsWith("6,"))) v.push("no metrics row for epoch 6");
            const ck = loadCheckpoint(join(dir, "checkpoint.json"));
            const same =
              ck.epoch === refCk.epoch &&
              encodeReal(ck.params).base64 === encodeReal(refCk.params).base64 &&
              encodeReal(ck.optimiser.v).base64 === encodeReal(refCk.optimiser.v).base64 &&
              ck.rng.join() === refCk.rng.join();
            if (!same) v.push("final checkpoint differs from the reference");
            if (existsSync(join(dir, `.checkpoint.json.${deadPid}.0123456789ab.tmp`)))
              v.push("a killed writer's temp file was not cleaned up");
            if (existsSync(join(dir, ".lock"))) v.push("lock left behind");
          }
          if (v.length) {
            const msg = `${m.what}: ${showArgv(argv.slice(0, 1))} → exit ${res.code}: ${v.join("; ")} | stderr: ${res.err.slice(0, 300)}`;
            stats.failures.push(msg);
            o.log?.(msg);
            throw new Error(msg);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: o.runs, seed: o.seed, endOnFailure: true },
    );
    // metrics of a run whose checkpoint was deleted restart from epoch 1: same numbers as the reference
    void readMetrics;
    return stats;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
