import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireRunLock, LockError, pidAlive } from "../../src/io/lock.ts";
import { openRunDir, RunDirError, runPaths } from "../../src/io/rundir.ts";
import { tempDir } from "./helpers.ts";

const config = { target: { kind: "ising", L: 4, T: 2.269 }, epochs: 10 };

describe("run directory", () => {
  it("creates the layout and writes config.json", () => {
    const dir = join(tempDir(), "run1");
    const r = openRunDir(dir, config);
    expect(r.resumed).toBe(false);
    expect(JSON.parse(readFileSync(r.paths.config, "utf8"))).toEqual(config);
    expect(existsSync(r.paths.plots)).toBe(true);
    expect(r.paths.checkpoint).toBe(join(r.paths.dir, "checkpoint.json"));
    expect(r.paths.metrics).toBe(join(r.paths.dir, "metrics.csv"));
    // Same config, no results yet: fine (idempotent).
    expect(() => openRunDir(dir, { epochs: 10, target: { T: 2.269, L: 4, kind: "ising" } })).not.toThrow();
  });

  it("refuses a different config unless resuming, and refuses to clobber results", () => {
    const dir = join(tempDir(), "run");
    const { paths } = openRunDir(dir, config);
    expect(() => openRunDir(dir, { ...config, target: { ...config.target, L: 8 } })).toThrow(RunDirError);
    expect(() => openRunDir(dir, { ...config, target: { ...config.target, L: 8 } })).toThrow(
      /different config \(differs in target\.L\)/,
    );
    writeFileSync(paths.checkpoint, "{}");
    expect(() => openRunDir(dir, config)).toThrow(/already holds results/);
    const r = openRunDir(dir, { ...config, epochs: 20 }, "resume");
    expect(r.resumed).toBe(true);
    expect(r.configChanges).toEqual(["epochs"]);
    expect(r.storedConfig).toEqual(config);
    const o = openRunDir(dir, { ...config, epochs: 20 }, "overwrite");
    expect(o.resumed).toBe(false);
    expect(existsSync(paths.checkpoint)).toBe(false);
    expect(JSON.parse(readFileSync(paths.config, "utf8")).epochs).toBe(20);
  });

  it("refuses to resume an empty directory and to start in a foreign non-empty one", () => {
    const d = tempDir();
    expect(() => openRunDir(join(d, "x"), config, "resume")).toThrow(/no config\.json/);
    mkdirSync(join(d, "y"));
    writeFileSync(join(d, "y", "notes.txt"), "hi");
    expect(() => openRunDir(join(d, "y"), config)).toThrow(/not empty/);
  });
});

describe("run lock", () => {
  it("refuses a second writer and can be taken again after release", () => {
    const dir = tempDir();
    const lock = acquireRunLock(dir);
    const info = JSON.parse(readFileSync(runPaths(dir).lock, "utf8"));
    expect(info.pid).toBe(process.pid);
    expect(info.hostname).toBe(hostname());
    let err: unknown;
    try {
      acquireRunLock(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as Error).message).toMatch(new RegExp(`in use by pid ${process.pid} on `));
    lock.release();
    lock.release();
    expect(existsSync(runPaths(dir).lock)).toBe(false);
    acquireRunLock(dir).release();
  });

  it("clears a stale lock whose process is gone", () => {
    const dir = tempDir();
    const child = spawnSync(process.execPath, ["-e", ""]);
    const deadPid = child.pid!;
    expect(pidAlive(deadPid)).toBe(false);
    writeFileSync(
      runPaths(dir).lock,
      JSON.stringify({ pid: deadPid, hostname: hostname(), startedAt: "2020-01-01T00:00:00.000Z", token: "stale" }),
    );
    const lock = acquireRunLock(dir);
    expect(JSON.parse(readFileSync(lock.path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("refuses a lock held on another host (cannot check it)", () => {
    const dir = tempDir();
    writeFileSync(
      runPaths(dir).lock,
      JSON.stringify({ pid: 1, hostname: "elsewhere.example", startedAt: "2020-01-01T00:00:00.000Z", token: "t" }),
    );
    expect(() => acquireRunLock(dir)).toThrow(/another host/);
  });
});
