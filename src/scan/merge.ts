/**
 * `scan merge`: combine the shards of a sharded scan (shard.ts) into the scan.csv and figures a
 * local, unsharded scan of the same points writes (both come from writeScanOutputs reading the
 * points' run directories).
 *
 * The inputs are directories holding shard manifests shard-<I>-of-<N>.json: one shared directory
 * (shards of a job array writing to a cluster file system) or one per shard (copied back from
 * separate machines), in any mix. The merge checks that
 *   - every manifest describes the same scan (grid, seeds, base configuration) and shard count;
 *   - no shard index appears twice, and each manifest's points are the share shard.ts assigns;
 *   - every shard 0..N−1 is present and every point is finished (summary with the requested
 *     epochs), its run directory holding the configuration the scan asks for;
 * and otherwise throws a MergeError naming the mismatch, the missing shards and the unfinished
 * points (with `partial`, missing pieces are reported and the rest is merged).
 * A point's run directory is looked up in its shard's directory first, then in the others.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { isJsonObject, jsonDiff, type JsonValue } from "../io/json.ts";
import { runPaths, RunDirError } from "../io/rundir.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { writeScanOutputs } from "./outputs.ts";
import {
  planScan,
  pointConfig,
  pointName,
  pointState,
  rowOf,
  type ScanDefinition,
  type ScanPoint,
  type ShardManifest,
} from "./plan.ts";
import type { PointStatus, ScanRow } from "./table.ts";
import { SHARD_FILE_RE, shardFileStem, shardPositions } from "./shard.ts";

export class MergeError extends Error {
  override readonly name = "MergeError";
}

export interface MergeOptions {
  /** directories holding shard manifests */
  dirs: string[];
  /** where scan.csv and the figures go (default: the directory, when only one is given) */
  out?: string;
  /** merge what is there even when shards are missing or points unfinished */
  partial?: boolean;
  /** configurations per point in Fig. S2 (default: as the shards were run) */
  gridSamples?: number;
}

export interface LoadedManifest {
  manifest: ShardManifest;
  /** the manifest file */
  path: string;
  /** its directory */
  dir: string;
}

export interface UnfinishedPoint {
  name: string;
  status: PointStatus;
  /** why, e.g. "no run directory (shard 1/2 missing)" or "3 of 6 epochs" */
  reason: string;
}

export interface MergeResult {
  /** the output directory */
  dir: string;
  shards: number;
  /** the manifests found, by shard index */
  found: LoadedManifest[];
  /** shard indices without a manifest */
  missingShards: number[];
  /** all points of the scan, with the row of each */
  rows: ScanRow[];
  unfinished: UnfinishedPoint[];
  complete: boolean;
  csv: string;
  figures: string[];
  /** scan-mean.csv, in a scan over several seeds */
  meanCsv?: string;
}

function num(v: JsonValue | undefined): number {
  return typeof v === "number" ? v : Number.NaN;
}

/** Read and check one manifest file. */
function readShardManifest(path: string): ShardManifest {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new MergeError(
      `${path} is not a readable shard manifest: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const bad = (why: string): MergeError => new MergeError(`${path} is not a valid shard manifest: ${why}`);
  if (!isJsonObject(v) || v.format !== "neuralrg-scan-shard") throw bad(`format is not "neuralrg-scan-shard"`);
  if (v.version !== 1) throw bad(`version ${JSON.stringify(v.version)} is not supported (expected 1)`);
  const shard = num(v.shard);
  const shards = num(v.shards);
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards)
    throw bad(`shard ${String(v.shard)} of ${String(v.shards)}`);
  const m = SHARD_FILE_RE.exec(path.slice(path.lastIndexOf("/") + 1));
  if (m && (Number(m[1]) !== shard || Number(m[2]) !== shards))
    throw bad(`its name does not match shard ${shard}/${shards} inside`);
  const scan = v.scan;
  if (
    !isJsonObject(scan) ||
    !Array.isArray(scan.temperatures) ||
    !Array.isArray(scan.labels) ||
    !Array.isArray(scan.depths) ||
    !Array.isArray(scan.points) ||
    !isJsonObject(scan.config)
  ) {
    throw bad("the scan definition (temperatures, labels, depths, points, config) is incomplete");
  }
  if (
    scan.seeds !== undefined &&
    (!Array.isArray(scan.seeds) ||
      scan.seeds.length < 2 ||
      !scan.seeds.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
  ) {
    throw bad("its seeds are not a list of two or more integers ≥ 0");
  }
  if (!Array.isArray(v.assigned) || !v.assigned.every((x) => typeof x === "string"))
    throw bad("assigned is not a list of point names");
  return v as unknown as ShardManifest;
}

/** The manifests in a directory (none is an error: the directory is not a sharded scan). */
function findShardManifests(dir: string): LoadedManifest[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new MergeError(`${root} is not a directory`);
  const files = readdirSync(root)
    .filter((f) => SHARD_FILE_RE.test(f))
    .sort();
  if (files.length === 0) {
    throw new MergeError(
      `${root} holds no shard manifest (shard-I-of-N.json): not a directory written by neuralrg scan --shard (or its shards have not started)`,
    );
  }
  return files.map((f) => ({ manifest: readShardManifest(join(root, f)), path: join(root, f), dir: root }));
}

function valueAt(v: unknown, path: string): unknown {
  let x = v;
  for (const k of path.split(".")) x = isJsonObject(x) ? x[k] : undefined;
  return x;
}

function show(v: unknown): string {
  const s = v === undefined ? "absent" : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "…" : s;
}

function label(m: LoadedManifest): string {
  return `shard ${m.manifest.shard}/${m.manifest.shards} (${m.path})`;
}

function listShort(items: string[], max = 8): string {
  return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")}, … (${items.length} in all)`;
}

/** The points of a scan definition, each with its configuration (run directory under `dir`, to be relocated). */
function pointsOf(scan: ScanDefinition, dir: string): ScanPoint[] {
  const base = scan.config as unknown as TrainConfig;
  return planScan(
    dir,
    { values: scan.temperatures, labels: scan.labels },
    scan.depths,
    (T, depth) => pointConfig(base, T, depth),
    scan.seeds,
  );
}

/** A scan's seeds as text: "1,2,3", or "7 (one seed)" for a scan without a seed list. */
function seedsText(scan: ScanDefinition): string {
  if (scan.seeds !== undefined) return scan.seeds.join(",");
  const seed = isJsonObject(scan.config) ? scan.config.seed : undefined;
  return `${typeof seed === "number" ? seed : "?"} (one seed)`;
}

/** Merge shards (see the module comment). */
export async function mergeScan(opts: MergeOptions): Promise<MergeResult> {
  const dirs = [...new Set(opts.dirs.map((d) => resolve(d)))];
  if (dirs.length === 0) throw new MergeError("no shard directories given");
  const outDir = opts.out !== undefined ? resolve(opts.out) : dirs.length === 1 ? dirs[0] : undefined;
  if (outDir === undefined)
    throw new MergeError(
      `${dirs.length} shard directories given: name the directory for the merged results with --out DIR`,
    );

  const loaded = dirs.flatMap((d) => findShardManifests(d));
  // one shard count
  const counts = [...new Set(loaded.map((l) => l.manifest.shards))];
  if (counts.length > 1) {
    const byCount = counts.map((c) => `N = ${c} in ${loaded.find((l) => l.manifest.shards === c)!.path}`);
    throw new MergeError(
      `the shards disagree on the shard count: ${byCount.join(", ")}; merge the shards of one split only (remove stale manifests of an earlier split)`,
    );
  }
  const N = counts[0];
  // each index once
  const byIndex = new Map<number, LoadedManifest>();
  for (const l of loaded) {
    const prev = byIndex.get(l.manifest.shard);
    if (prev)
      throw new MergeError(
        `shard ${l.manifest.shard}/${N} appears twice: ${prev.path} and ${l.path}; give each shard's directory once`,
      );
    byIndex.set(l.manifest.shard, l);
  }
  const found = [...byIndex.values()].sort((a, b) => a.manifest.shard - b.manifest.shard);
  // one scan
  const ref = found[0];
  for (const l of found.slice(1)) {
    const a = seedsText(ref.manifest.scan);
    const b = seedsText(l.manifest.scan);
    if (a !== b) {
      const sa = ref.manifest.scan.seeds ?? [];
      const sb = l.manifest.scan.seeds ?? [];
      const only = (x: number[], y: number[]): string => x.filter((v) => !y.includes(v)).join(",") || "none";
      const detail =
        sa.length > 0 && sb.length > 0
          ? ` (only in shard ${l.manifest.shard}/${N}: ${only(sb, sa)}; only in shard ${ref.manifest.shard}/${N}: ${only(sa, sb)})`
          : "";
      throw new MergeError(
        `${label(l)} was run with other seeds than ${label(ref)}: seeds ${b} vs ${a}${detail}; merge the shards of one scan (the same --seeds) only`,
      );
    }
    const diff = jsonDiff(ref.manifest.scan, l.manifest.scan);
    if (diff.length > 0) {
      const what = diff
        .slice(0, 4)
        .map((k) => `${k} (${show(valueAt(ref.manifest.scan, k))} vs ${show(valueAt(l.manifest.scan, k))})`);
      throw new MergeError(
        `${label(l)} belongs to a different scan than ${label(ref)}: they differ in ${what.join(", ")}${diff.length > 4 ? `, … (${diff.length} keys)` : ""}`,
      );
    }
  }
  const scan = ref.manifest.scan;
  const plan = pointsOf(scan, outDir);
  const names = plan.map(pointName);
  if (jsonDiff(names, scan.points).length > 0)
    throw new MergeError(`${ref.path}: its point list does not follow from its temperatures and depths`);
  // each manifest's share is the one shard.ts assigns
  const owner = new Array<number>(plan.length);
  for (let s = 0; s < N; s++) for (const i of shardPositions(plan, { index: s, count: N })) owner[i] = s;
  for (const l of found) {
    const expected = names.filter((_, i) => owner[i] === l.manifest.shard);
    if (jsonDiff(expected, l.manifest.assigned).length > 0) {
      throw new MergeError(
        `${label(l)} lists points ${listShort(l.manifest.assigned)} but shard ${l.manifest.shard}/${N} of this scan is ${listShort(expected)}: written by another version of neuralrg?`,
      );
    }
  }
  const missingShards = Array.from({ length: N }, (_, s) => s).filter((s) => !byIndex.has(s));

  // locate each point: its shard's directory first, then the others
  const points: ScanPoint[] = plan.map((p, i) => {
    const own = byIndex.get(owner[i])?.dir;
    const candidates = [...(own ? [own] : []), ...dirs.filter((d) => d !== own)];
    const at = candidates.find((d) => existsSync(runPaths(join(d, names[i])).config));
    return at !== undefined ? { ...p, dir: join(at, names[i]) } : p;
  });
  const unfinished: UnfinishedPoint[] = [];
  const rows = points.map((p, i) => {
    let st;
    try {
      st = pointState(p);
    } catch (err) {
      if (err instanceof RunDirError) {
        const why = /\((differs in [^)]*)\)/.exec(err.message)?.[1] ?? err.message;
        throw new MergeError(
          `${p.dir} holds a run with another configuration than the scan's point ${names[i]} (${why})`,
        );
      }
      throw err;
    }
    if (st.status !== "done") {
      const shardNote = byIndex.has(owner[i]) ? `shard ${owner[i]}/${N}` : `shard ${owner[i]}/${N} missing`;
      const reason =
        st.status === "new"
          ? `no run directory (${shardNote})`
          : `${st.epoch} of ${p.config.epochs} epochs in ${p.dir} (${shardNote})`;
      unfinished.push({ name: names[i], status: st.status, reason });
    }
    return rowOf(p, st.status);
  });
  const complete = missingShards.length === 0 && unfinished.length === 0;
  if (!complete && !opts.partial) {
    const parts: string[] = [];
    if (missingShards.length > 0) {
      parts.push(
        `${missingShards.length} of ${N} shards missing: ${listShort(missingShards.map((s) => `${s}/${N} (no ${shardFileStem({ index: s, count: N })}.json)`))}`,
      );
    }
    if (unfinished.length > 0)
      parts.push(
        `${unfinished.length} of ${points.length} points unfinished: ${listShort(
          unfinished.map((u) => `${u.name}: ${u.reason}`),
          6,
        )}`,
      );
    throw new MergeError(
      `cannot merge: ${parts.join("; ")}; run the missing shards (or again the unfinished ones), or pass --partial to merge what is there`,
    );
  }

  mkdirSync(outDir, { recursive: true });
  writeJsonAtomic(join(outDir, "scan.json"), scan);
  const gridSamples = opts.gridSamples ?? ref.manifest.gridSamples;
  const { csv, figures, meanCsv } = await writeScanOutputs(outDir, points, rows, {
    gridSamples,
    gridSeed: ref.manifest.gridSeed,
  });
  writeJsonAtomic(join(outDir, "merge.json"), {
    shards: N,
    manifests: found.map((l) => l.path),
    missingShards,
    points: Object.fromEntries(points.map((p, i) => [names[i], { dir: p.dir, status: rows[i].status }])),
    written: new Date().toISOString(),
  });
  return {
    dir: outDir,
    shards: N,
    found,
    missingShards,
    rows,
    unfinished,
    complete,
    csv,
    figures,
    ...(meanCsv ? { meanCsv } : {}),
  };
}
