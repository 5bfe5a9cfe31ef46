/**
 * Concurrency: one writer per run directory. Two processes on the same directory are refused
 * (the lock), `--overwrite` and `--resume` from a second process cannot touch a running run,
 * and a stale lock left by a killed run is detected and cleared — by exactly one of two
 * processes racing to clear it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { readMetrics } from "../../src/io/metrics.ts";
import { contractViolations, runInProcess, snapshot, snapshotDiff, startProcess } from "./harness/cli.ts";

const TRAIN = [
  "train",
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
  "--kernel",
  "js",
  "--progress",
  "off",
  "--seed",
  "3",
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await sleep(5);
  }
}

/** Complete, contiguous metrics and a loadable checkpoint at the same epoch. */
function expectIntactRun(dir: string): number {
  const ck = loadCheckpoint(join(dir, "checkpoint.json"));
  const rows = readMetrics(join(dir, "metrics.csv")).rows;
  expect(rows.map((r) => r.epoch)).toEqual(Array.from({ length: ck.epoch }, (_, i) => i + 1));
  expect(existsSync(join(dir, ".lock"))).toBe(false);
  return ck.epoch;
}

let root: string;
beforeAll(() => void (root = mkdtempSync(join(tmpdir(), "neuralrg-lock-"))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("two writers, one run directory", () => {
  it("a second train, --resume or --overwrite while another process trains is refused and touches nothing", async () => {
    const dir = join(root, "busy");
    // process A: trains until its time budget ends (then checkpoints and exits 0)
    const a = startProcess([
      ...TRAIN,
      "--epochs",
      "1000000",
      "--save-period",
      "50",
      "--max-seconds",
      "2",
      "--out",
      dir,
    ]);
    await waitFor(() => existsSync(join(dir, "metrics.csv")) && existsSync(join(dir, "checkpoint.json")));
    const lock = JSON.parse(readFileSync(join(dir, ".lock"), "utf8")) as { pid: number };
    expect(lock.pid).toBe(a.pid);
    const configBefore = readFileSync(join(dir, "config.json"), "utf8");
    // process B (this one, in-process): new run, resume, overwrite — all refused with one line naming A
    for (const extra of [[], ["--resume"], ["--overwrite"]]) {
      const r = await runInProcess([...TRAIN, "--epochs", "1000000", "--save-period", "50", ...extra, "--out", dir]);
      expect(contractViolations(r)).toEqual([]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`is in use by pid ${a.pid}`);
    }
    // (two real processes contend in the race tests below)
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe(configBefore);
    // A was not disturbed: it finishes with complete metrics and a matching checkpoint
    const ra = await a.done;
    expect(ra.code).toBe(0);
    expect(ra.err).toMatch(/time budget of 2 s reached at epoch \d+/);
    expect(expectIntactRun(dir)).toBeGreaterThanOrEqual(50);
  });

  it("two runs started at the same moment on a fresh directory: exactly one trains, the other is refused", async () => {
    const dir = join(root, "race");
    const argv = [...TRAIN, "--epochs", "300", "--save-period", "25", "--out", dir];
    const [r1, r2] = await Promise.all([startProcess(argv).done, startProcess(argv).done]);
    for (const r of [r1, r2]) expect(contractViolations(r)).toEqual([]);
    expect([r1.code, r2.code].sort()).toEqual([0, 2]);
    const loser = r1.code === 2 ? r1 : r2;
    expect(loser.err).toMatch(/is in use by pid|already holds results of this run/);
    expect(expectIntactRun(dir)).toBe(300);
    // the winner's numbers are those of an undisturbed run
    const ref = join(root, "race-ref");
    expect((await runInProcess([...argv.slice(0, -1), ref])).code).toBe(0);
    const cut = (d: string) =>
      readFileSync(join(d, "metrics.csv"), "utf8")
        .split("\n")
        .map((l) => l.split(",").slice(0, 6).join(","));
    expect(cut(dir)).toEqual(cut(ref));
  });
});

describe("stale locks", () => {
  it("a run killed with SIGKILL leaves a lock naming it; --resume detects the dead process and clears it", async () => {
    const dir = join(root, "killed");
    const a = startProcess([...TRAIN, "--epochs", "1000000", "--save-period", "10", "--out", dir]);
    await waitFor(() => existsSync(join(dir, "checkpoint.json")));
    a.kill("SIGKILL");
    const ra = await a.done;
    expect(ra.signal).toBe("SIGKILL");
    const lock = JSON.parse(readFileSync(join(dir, ".lock"), "utf8")) as { pid: number; hostname: string };
    expect(lock).toMatchObject({ pid: a.pid, hostname: hostname() });
    const K = loadCheckpoint(join(dir, "checkpoint.json")).epoch;
    const r = await runInProcess([
      ...TRAIN,
      "--epochs",
      String(K + 5),
      "--save-period",
      "10",
      "--resume",
      "--out",
      dir,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`at epoch ${K}`);
    expect(expectIntactRun(dir)).toBe(K + 5);
  });

  it("two processes racing to clear the same stale lock: exactly one resumes", async () => {
    const dir = join(root, "stale-race");
    expect((await runInProcess([...TRAIN, "--epochs", "20", "--save-period", "10", "--out", dir])).code).toBe(0);
    // the lock of a process that no longer exists on this host
    writeFileSync(
      join(dir, ".lock"),
      JSON.stringify({
        pid: 4_194_303,
        hostname: hostname(),
        startedAt: new Date().toISOString(),
        token: "00000000deadbeef",
      }) + "\n",
    );
    const argv = [...TRAIN, "--epochs", "800", "--save-period", "10", "--resume", "--out", dir];
    const [r1, r2] = await Promise.all([startProcess(argv).done, startProcess(argv).done]);
    for (const r of [r1, r2]) expect(contractViolations(r)).toEqual([]);
    expect([r1.code, r2.code].sort()).toEqual([0, 2]);
    expect((r1.code === 2 ? r1 : r2).err).toMatch(/is in use by pid|changed hands|could not take the lock/);
    expect(expectIntactRun(dir)).toBe(800);
  });

  it("a live lock, another host's lock and an unreadable lock are refused with advice, the directory untouched", async () => {
    const dir = join(root, "locked");
    expect((await runInProcess([...TRAIN, "--epochs", "2", "--save-period", "1", "--out", dir])).code).toBe(0);
    const info = (pid: number, host: string) =>
      JSON.stringify({ pid, hostname: host, startedAt: "2026-01-01T00:00:00.000Z", token: "0123456789abcdef" });
    for (const [text, message] of [
      [info(process.pid, hostname()), `is in use by pid ${process.pid}`],
      [info(1234, "other-host.example"), "(another host: cannot check it; delete"],
      ["{ not json", "is locked by an unreadable lock file"],
    ] as const) {
      writeFileSync(join(dir, ".lock"), text);
      const before = snapshot(dir);
      const r = await runInProcess([...TRAIN, "--epochs", "4", "--save-period", "1", "--resume", "--out", dir]);
      expect(contractViolations(r)).toEqual([]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
      expect(snapshotDiff(before, snapshot(dir))).toEqual([]);
    }
  });
});
