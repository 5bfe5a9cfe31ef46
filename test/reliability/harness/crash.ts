/**
 * Crash safety: SIGKILL a real `neuralrg train` process at random moments, resume it, and
 * compare with an uninterrupted run of the same seed.
 *
 * A trial: start `node bin/neuralrg.mjs train … --kernel js --save-period k`; once training has
 * started (metrics.csv exists; sometimes already during start-up) wait a random time within the
 * expected run time and SIGKILL it; check what the kill left (the checkpoint loads, at most one
 * save period of epochs is lost, the lock names the dead process); resume with `--resume` (or
 * start again when the kill came before config.json was written), possibly killing again; the
 * last attempt runs to the end. Then the final metrics (every column except `seconds`), the
 * checkpoint (parameters, Adam moments, RNG, epoch) and the summary's F must equal the
 * uninterrupted run's bit for bit, and no lock or temp file may be left behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../../src/engine/rng.ts";
import { encodeReal, loadCheckpoint } from "../../../src/io/checkpoint.ts";
import { readMetrics } from "../../../src/io/metrics.ts";
import { runInProcess, startProcess, type CliResult } from "./cli.ts";

export interface KillTrialOptions {
  /** training seed (also seeds the kill times) */
  seed: number;
  epochs: number;
  savePeriod: number;
  /** SIGKILLs before the final, uninterrupted attempt */
  kills: number;
  log?: (line: string) => void;
}

export interface KillTrialResult {
  seed: number;
  /** processes actually killed while running */
  kills: number;
  /** attempts that finished before the kill landed */
  finishedBeforeKill: number;
  /** kills that left a stale lock, then cleared by the next attempt */
  staleLocks: number;
  /** start-up kills that landed before the run took its lock (nothing to clear) */
  killsBeforeLock: number;
  /** epochs of metrics beyond the checkpoint at each kill (work lost) */
  lost: number[];
  /** epoch each resume started from */
  resumedFrom: number[];
  /** violations (empty when the trial passed) */
  failures: string[];
}

export function crashTrainArgs(seed: number, epochs: number, savePeriod: number): string[] {
  return [
    "train",
    "--L",
    "4",
    "--nlayers",
    "2",
    "--nmlp",
    "1",
    "--nhidden",
    "4",
    "--batch",
    "16",
    "--eval-samples",
    "16",
    "--kernel",
    "js",
    "--progress",
    "off",
    "--seed",
    String(seed),
    "--epochs",
    String(epochs),
    "--save-period",
    String(savePeriod),
  ];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function metricsWithoutSeconds(dir: string): string {
  return readFileSync(join(dir, "metrics.csv"), "utf8")
    .split("\n")
    .map((l) => l.split(",").slice(0, 6).join(","))
    .join("\n");
}

function checkpointKey(dir: string): string {
  const c = loadCheckpoint(join(dir, "checkpoint.json"));
  return [
    c.epoch,
    encodeReal(c.params).base64,
    c.optimiser.step,
    encodeReal(c.optimiser.m).base64,
    encodeReal(c.optimiser.v).base64,
    c.rng.join(),
  ].join("|");
}

/** Reference runs, one per (seed, epochs, savePeriod), trained in this process. */
const references = new Map<string, { dir: string; ms: number }>();

async function reference(root: string, o: KillTrialOptions): Promise<{ dir: string; ms: number }> {
  const key = `${o.seed}/${o.epochs}/${o.savePeriod}`;
  const have = references.get(key);
  if (have && existsSync(have.dir)) return have;
  const dir = join(root, `ref-${o.seed}-${o.epochs}-${o.savePeriod}`);
  const r = await runInProcess([...crashTrainArgs(o.seed, o.epochs, o.savePeriod), "--out", dir]);
  if (r.code !== 0) throw new Error(`reference run failed: ${r.err}`);
  const ref = { dir, ms: r.ms };
  references.set(key, ref);
  return ref;
}

/** One kill-and-resume trial (see the module comment). */
export async function killResumeTrial(root: string, o: KillTrialOptions): Promise<KillTrialResult> {
  const log = o.log ?? (() => {});
  const ref = await reference(root, o);
  const dir = join(root, `run-${o.seed}-${Math.random().toString(36).slice(2, 8)}`);
  const res: KillTrialResult = {
    seed: o.seed,
    kills: 0,
    finishedBeforeKill: 0,
    staleLocks: 0,
    killsBeforeLock: 0,
    lost: [],
    resumedFrom: [],
    failures: [],
  };
  const fail = (m: string): void => {
    res.failures.push(m);
    log(`seed ${o.seed}: ${m}`);
  };
  const rng = Rng.fromSeed((o.seed * 2654435761) >>> 0);
  const base = crashTrainArgs(o.seed, o.epochs, o.savePeriod);
  const killed: number[] = [];

  for (let attempt = 0; attempt <= o.kills; attempt++) {
    const hasRun = existsSync(join(dir, "config.json"));
    const argv = [...base, ...(hasRun ? ["--resume"] : []), "--out", dir];
    const checkpointBefore = existsSync(join(dir, "checkpoint.json"))
      ? loadCheckpoint(join(dir, "checkpoint.json")).epoch
      : null;
    const child = startProcess(argv);
    let result: CliResult;
    if (attempt < o.kills) {
      const t0 = Date.now();
      // a random moment: during start-up (15%), after a random epoch of training (75%, found by
      // watching metrics.csv grow, so independent of the machine's speed), or in the final
      // evaluation and plotting (10%)
      const u = rng.uniform();
      const rows = (): number => {
        try {
          return readFileSync(join(dir, "metrics.csv"), "utf8").split("\n").length - 2;
        } catch {
          return -1;
        }
      };
      const waitFor = async (cond: () => boolean): Promise<void> => {
        while (!cond() && Date.now() - t0 < 120_000 && !exited) await sleep(1);
      };
      let exited = false;
      void child.done.then(() => (exited = true));
      if (u < 0.15) {
        await sleep(rng.uniform() * 2500);
      } else if (u < 0.9) {
        const from = checkpointBefore ?? 0;
        const target = from + 1 + Math.floor(rng.uniform() * Math.max(1, o.epochs - from));
        // a resume first truncates the metrics to its checkpoint (and then says so)
        if (hasRun) await waitFor(() => child.stderr().includes("resuming"));
        await waitFor(() => rows() >= target);
        await sleep(rng.uniform() * 3);
      } else {
        await waitFor(() => rows() >= o.epochs);
        await sleep(rng.uniform() * 400);
      }
      child.kill("SIGKILL");
      result = await child.done;
      if (result.signal !== "SIGKILL") {
        res.finishedBeforeKill++;
        if (result.code !== 0) fail(`attempt ${attempt} exited ${result.code} before the kill: ${result.err.trim()}`);
        break;
      }
      res.kills++;
      killed.push(child.pid);
      // what the kill left behind
      let K: number | null = null;
      if (existsSync(join(dir, "checkpoint.json"))) {
        try {
          K = loadCheckpoint(join(dir, "checkpoint.json")).epoch;
        } catch (err) {
          fail(`the kill left an unloadable checkpoint: ${(err as Error).message}`);
        }
      }
      let M = 0;
      if (existsSync(join(dir, "metrics.csv"))) {
        try {
          M = Math.max(0, ...readMetrics(join(dir, "metrics.csv")).rows.map((r) => r.epoch));
        } catch (err) {
          fail(`the kill left unreadable metrics: ${(err as Error).message}`);
        }
      }
      const lost = M - (K ?? 0);
      res.lost.push(lost);
      if (lost > o.savePeriod)
        fail(
          `kill ${res.kills} lost ${lost} epochs (metrics to ${M}, checkpoint at ${K}) > save period ${o.savePeriod}`,
        );
      if (K !== null && checkpointBefore !== null && K < checkpointBefore)
        fail(`the checkpoint went back from ${checkpointBefore} to ${K}`);
      if (existsSync(join(dir, ".lock"))) {
        const lock = JSON.parse(readFileSync(join(dir, ".lock"), "utf8")) as { pid: number };
        if (!killed.includes(lock.pid))
          fail(`the lock names pid ${lock.pid}, not one of the killed processes ${killed.join(", ")}`);
        res.staleLocks++;
      } else if (u < 0.15) {
        res.killsBeforeLock++;
      } else {
        fail(`kill ${res.kills} (during training or finishing) left no lock behind`);
      }
      log(
        `seed ${o.seed}: kill ${res.kills} (${u < 0.15 ? "start-up" : u < 0.9 ? "training" : "finishing"}) after ${Date.now() - t0} ms: metrics to epoch ${M}, checkpoint ${K ?? "none"}, lock ${existsSync(join(dir, ".lock")) ? "stale" : "absent"}`,
      );
    } else {
      result = await child.done;
      if (result.code !== 0) fail(`final attempt exited ${result.code}: ${result.err.trim()}`);
      const m = /resuming .* at epoch (\d+)/.exec(result.err);
      if (m) res.resumedFrom.push(Number(m[1]));
      if (hasRun && checkpointBefore !== null && (!m || Number(m[1]) !== checkpointBefore))
        fail(`resume did not start from the checkpoint epoch ${checkpointBefore}: ${result.err.trim()}`);
    }
  }
  // the result equals the uninterrupted run's, bit for bit
  if (res.failures.length === 0) {
    if (metricsWithoutSeconds(dir) !== metricsWithoutSeconds(ref.dir))
      fail("final metrics differ from the uninterrupted run");
    if (checkpointKey(dir) !== checkpointKey(ref.dir)) fail("final checkpoint differs from the uninterrupted run");
    const F = (d: string): string => {
      const s = JSON.parse(readFileSync(join(d, "summary.json"), "utf8")) as {
        F: number;
        F_stderr: number;
        epochs: number;
      };
      return `${s.epochs} ${s.F} ${s.F_stderr}`;
    };
    if (F(dir) !== F(ref.dir)) fail(`summary differs: ${F(dir)} vs ${F(ref.dir)}`);
    const leftovers = readdirSync(dir).filter((f) => f.startsWith("."));
    if (leftovers.length) fail(`left behind: ${leftovers.join(", ")}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return res;
}

export interface KillSuiteResult {
  trials: number;
  kills: number;
  staleLocksCleared: number;
  killsBeforeLock: number;
  finishedBeforeKill: number;
  maxLost: number;
  failures: string[];
}

/** Several trials with different seeds (sequential: each is timing-sensitive). */
export async function killResumeSuite(o: {
  seeds: number[];
  epochs: number;
  savePeriod: (seed: number) => number;
  kills: number;
  log?: (l: string) => void;
}): Promise<KillSuiteResult> {
  const root = mkdtempSync(join(tmpdir(), "neuralrg-kill-"));
  const out: KillSuiteResult = {
    trials: 0,
    kills: 0,
    staleLocksCleared: 0,
    killsBeforeLock: 0,
    finishedBeforeKill: 0,
    maxLost: 0,
    failures: [],
  };
  try {
    for (const seed of o.seeds) {
      const r = await killResumeTrial(root, {
        seed,
        epochs: o.epochs,
        savePeriod: o.savePeriod(seed),
        kills: o.kills,
        log: o.log,
      });
      out.trials++;
      out.kills += r.kills;
      out.staleLocksCleared += r.staleLocks;
      out.killsBeforeLock += r.killsBeforeLock;
      out.finishedBeforeKill += r.finishedBeforeKill;
      out.maxLost = Math.max(out.maxLost, ...r.lost, 0);
      out.failures.push(...r.failures.map((f) => `seed ${seed}: ${f}`));
    }
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
