/**
 * What the two run loops on disk share — `runTraining` (run.ts: one Adam step per epoch on a
 * batch drawn from the flow, Eq. 3–5) and `runFit` (fit-run.ts: one Adam step per minibatch of
 * data, forward KL): the optimiser and generator state in checkpoints, the provenance file
 * written when a run starts or resumes, the time budget, and the step times behind the median in
 * the summary. The run directory itself (lock, resume check, cleanup of refused runs) is
 * io/rundir.ts's `withRunDir`.
 */
import { Rng } from "../engine/rng.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import type { Checkpoint, OptimiserState } from "../io/checkpoint.ts";
import { plainJson, type JsonObject } from "../io/json.ts";
import { provenance } from "../io/provenance.ts";
import type { RunPaths } from "../io/rundir.ts";
import type { AdamState } from "./adam.ts";

/** The parts of a run's state that a checkpoint restores besides the parameters. */
export interface OptimiserAndRng {
  adam: AdamState;
  rng: Rng;
}

/** Adam's state as a checkpoint stores it. */
export function optimiserState(adam: AdamState): OptimiserState {
  return { step: adam.step, m: adam.m, v: adam.v };
}

/** Adam's state from a checkpoint (copies of its moment vectors). */
export function adamState(o: OptimiserState): AdamState {
  return { step: o.step, m: Float64Array.from(o.m), v: Float64Array.from(o.v) };
}

/** Parameters, Adam state and generator of a checkpoint, copied into `s` (the parameters in place). */
export function restoreOptimiserAndRng<S extends OptimiserAndRng & { params: { set(a: ArrayLike<number>): void } }>(
  s: S,
  ck: Checkpoint<JsonObject>,
): void {
  s.params.set(ck.params);
  s.adam = adamState(ck.optimiser);
  s.rng = Rng.fromState(ck.rng);
}

/** The run's config as JSON (what config.json, provenance.json and checkpoints hold). */
export function configJson(c: object): JsonObject {
  return plainJson(c);
}

/** provenance.json: package version, git commit, time and host, with the seed and the config. */
export function writeRunProvenance(paths: RunPaths, seed: number, config: JsonObject, device: JsonObject = {}): void {
  writeJsonAtomic(`${paths.dir}/provenance.json`, {
    ...provenance(),
    ...device,
    seed,
    config,
  } as unknown as JsonObject);
}

/** True once `maxSeconds` (if given) have passed since the call. */
export function timeBudget(maxSeconds: number | undefined): { t0: number; up(): boolean } {
  const t0 = performance.now();
  return { t0, up: () => maxSeconds !== undefined && (performance.now() - t0) / 1000 >= maxSeconds };
}

/** Step times kept for the median in the summary (a ring: memory stays bounded on long runs). */
export const TIMES_KEPT = 4096;

/** The last {@link TIMES_KEPT} step times and their median. */
export class StepTimes {
  private readonly times = new Float64Array(TIMES_KEPT);
  private n = 0;

  push(seconds: number): void {
    this.times[this.n++ % TIMES_KEPT] = seconds;
  }

  /** The kept times (in ring order: the order does not matter for the median). */
  kept(): number[] {
    return Array.from(this.times.subarray(0, Math.min(this.n, TIMES_KEPT)));
  }

  /** Median of the kept times (the upper one of the middle two), NaN when there are none. */
  median(): number {
    const sorted = this.kept().sort((a, b) => a - b);
    return sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  }
}
