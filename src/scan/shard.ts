/**
 * Sharded scans: N independent processes (a Slurm job array, a Kubernetes Indexed Job, or
 * several shells) each train a deterministic share of a scan's points; `scan merge` then combines
 * their results (merge.ts).
 *
 * Which shard a process is comes from `--shard I/N`, or else from the scheduler's environment:
 *   SLURM_ARRAY_TASK_ID      (sbatch --array=0-(N-1)); N from --shards, NEURALRG_SHARDS or
 *                            SLURM_ARRAY_TASK_COUNT (then SLURM_ARRAY_TASK_MIN/MAX, when set, must
 *                            be 0 and N−1: a stepped or gapped array needs --shards N)
 *   JOB_COMPLETION_INDEX     (Kubernetes Job with completionMode: Indexed); N from --shards or
 *                            NEURALRG_SHARDS (= the Job's spec.completions)
 * Bad values throw a RangeError naming the variable, its value and the accepted range.
 *
 * The share: the points ordered deepest depth first, then by temperature, then by seed (in a
 * scan over several seeds), dealt round-robin (point k of that order goes to shard k mod N). Dealing within a depth spreads the costly deep
 * points evenly over the shards, which T-major dealing would not when N divides the number of
 * depths. The share depends only on the point list and N: every shard computes the same split.
 */

/** A shard: index in 0..count−1 of count. */
export interface Shard {
  index: number;
  count: number;
}

export interface ResolvedShard extends Shard {
  /** where index and count came from, e.g. "--shard 1/4" or "SLURM_ARRAY_TASK_ID = 1, SLURM_ARRAY_TASK_COUNT = 4" */
  source: string;
}

/** Largest shard count accepted. */
export const MAX_SHARDS = 100_000;

const UINT_RE = /^\d+$/;

function parseCount(name: string, text: string): number {
  const t = text.trim();
  const n = UINT_RE.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SHARDS) {
    throw new RangeError(
      `${name} = ${text === "" ? '""' : text} is invalid: the shard count must be an integer in 1..${MAX_SHARDS}`,
    );
  }
  return n;
}

function parseIndex(name: string, text: string, count: number, countSource: string): number {
  const t = text.trim();
  const i = UINT_RE.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(i) || i >= count) {
    throw new RangeError(
      `${name} = ${text === "" ? '""' : text} is invalid: the shard index must be an integer in 0..${count - 1} (${countSource})`,
    );
  }
  return i;
}

/** Parse `--shard I/N` (0 ≤ I < N). */
export function parseShardSpec(spec: string, option = "--shard"): Shard {
  const shown = spec === "" ? '""' : spec;
  const parts = spec.split("/").map((x) => x.trim());
  if (parts.length !== 2 || !UINT_RE.test(parts[0]) || !UINT_RE.test(parts[1])) {
    throw new RangeError(`${option} = ${shown} is invalid: expected I/N with integers 0 ≤ I < N, e.g. 0/4`);
  }
  const [index, count] = parts.map(Number);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new RangeError(`${option} = ${shown} is invalid: the shard count N must be an integer in 1..${MAX_SHARDS}`);
  }
  if (index >= count)
    throw new RangeError(
      `${option} = ${shown} is invalid: the shard index I must be in 0..${count - 1} for N = ${count}`,
    );
  return { index, count };
}

/** The environment variables read by resolveShard. */
export type ShardEnv = Readonly<Record<string, string | undefined>>;

function set(env: ShardEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v;
}

/**
 * The shard of this process, or null for an unsharded scan. `shard` is the --shard option,
 * `shards` the --shards option (a count for the environment's index); see the module comment
 * for the environment variables. --shard wins over the environment.
 */
export function resolveShard(opts: { shard?: string; shards?: number; env?: ShardEnv }): ResolvedShard | null {
  const env = opts.env ?? {};
  if (opts.shard !== undefined) {
    const s = parseShardSpec(opts.shard);
    if (opts.shards !== undefined && opts.shards !== s.count) {
      throw new RangeError(
        `--shards = ${opts.shards} contradicts --shard = ${opts.shard} (N = ${s.count}): give one of them`,
      );
    }
    return { ...s, source: `--shard ${s.index}/${s.count}` };
  }
  const envCount = set(env, "NEURALRG_SHARDS");
  const countFrom = (fallback?: [string, string]): { count: number; source: string } | null => {
    if (opts.shards !== undefined)
      return { count: parseCount("--shards", String(opts.shards)), source: `--shards ${opts.shards}` };
    if (envCount !== undefined)
      return { count: parseCount("NEURALRG_SHARDS", envCount), source: `NEURALRG_SHARDS = ${envCount.trim()}` };
    if (fallback)
      return { count: parseCount(fallback[0], fallback[1]), source: `${fallback[0]} = ${fallback[1].trim()}` };
    return null;
  };

  const slurmId = set(env, "SLURM_ARRAY_TASK_ID");
  if (slurmId !== undefined) {
    const slurmCount = set(env, "SLURM_ARRAY_TASK_COUNT");
    const c = countFrom(slurmCount !== undefined ? ["SLURM_ARRAY_TASK_COUNT", slurmCount] : undefined);
    if (!c)
      throw new RangeError(
        `SLURM_ARRAY_TASK_ID = ${slurmId} is set but the shard count is unknown: pass --shards N or set NEURALRG_SHARDS (SLURM_ARRAY_TASK_COUNT is not set)`,
      );
    // N from the task count is right only for an array whose IDs are exactly 0..COUNT−1: check
    // both ends (a stepped or gapped array, e.g. --array=0-6:2 or a re-submitted --array=0,3, has
    // MIN = 0 but MAX > COUNT−1, and its tasks would run shards of a different split)
    if (c.source.startsWith("SLURM_ARRAY_TASK_COUNT")) {
      const ends: [string, string][] = [
        ["SLURM_ARRAY_TASK_MIN", "0"],
        ["SLURM_ARRAY_TASK_MAX", String(c.count - 1)],
      ];
      for (const [name, want] of ends) {
        const v = set(env, name);
        if (v !== undefined && v.trim() !== want) {
          throw new RangeError(
            `${name} = ${v} is invalid: shard indices are the array task IDs, so the array must be 0-(N-1) (sbatch --array=0-${c.count - 1}); or pass --shards N`,
          );
        }
      }
    }
    const index = parseIndex(
      "SLURM_ARRAY_TASK_ID",
      slurmId,
      c.count,
      `${c.source}; use sbatch --array=0-${c.count - 1}`,
    );
    return { index, count: c.count, source: `SLURM_ARRAY_TASK_ID = ${index}, ${c.source}` };
  }

  const k8sIndex = set(env, "JOB_COMPLETION_INDEX");
  if (k8sIndex !== undefined) {
    const c = countFrom();
    if (!c)
      throw new RangeError(
        `JOB_COMPLETION_INDEX = ${k8sIndex} is set but the shard count is unknown: pass --shards N or set NEURALRG_SHARDS to the Job's spec.completions`,
      );
    const index = parseIndex("JOB_COMPLETION_INDEX", k8sIndex, c.count, c.source);
    return { index, count: c.count, source: `JOB_COMPLETION_INDEX = ${index}, ${c.source}` };
  }

  if (opts.shards !== undefined) {
    throw new RangeError(
      `--shards = ${opts.shards} needs a shard index: --shard I/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX`,
    );
  }
  return null;
}

/**
 * The positions (in `points`) of the points of shard `index` of `count`: ordered by depth
 * descending, then temperature ascending, then seed ascending (ties keep list order), dealt
 * round-robin. Returned in the list order of `points`.
 */
export function shardPositions(points: readonly { T: number; depth: number; seed?: number }[], shard: Shard): number[] {
  const order = points
    .map((p, i) => ({ p, i }))
    .sort((a, b) => b.p.depth - a.p.depth || a.p.T - b.p.T || (a.p.seed ?? 0) - (b.p.seed ?? 0) || a.i - b.i)
    .map((x) => x.i);
  return order.filter((_, k) => k % shard.count === shard.index).sort((a, b) => a - b);
}

/** File name of a shard's manifest in the scan directory: shard-<I>-of-<N>.json (and .csv for its rows). */
export function shardFileStem(shard: Shard): string {
  return `shard-${shard.index}-of-${shard.count}`;
}

export const SHARD_FILE_RE = /^shard-(\d+)-of-(\d+)\.json$/;
