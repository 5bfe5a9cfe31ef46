/** Shared by the sharded-scan tests: the CLI in its own process, and CSV/figure comparisons. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { expectOneLineError, run } from "../cli/helpers.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "neuralrg.mjs");

/** Run bin/neuralrg.mjs in its own process, without inherited scheduler variables. */
export function neuralrg(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("SLURM_") && k !== "JOB_COMPLETION_INDEX" && k !== "NEURALRG_SHARDS",
    ),
  );
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code, out, err }));
  });
}

/** A scan CSV without its wall-time column. */
export function csvWithoutSeconds(path: string): string[][] {
  const lines = readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(","));
  const col = lines[0].indexOf("seconds");
  expect(col).toBeGreaterThan(0);
  return lines.map((l) => l.filter((_, i) => i !== col));
}

/** The figures a scan (or a merge) writes. */
export const SCAN_FIGURES = ["relerr-vs-T.svg", "relerr-vs-T.png", "samples.svg", "samples.png"];

/** A maker of temporary directories, all removed after the test file. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** `argv --out out` is refused: exit 2, one stderr line containing `message`, and `out` not created. */
export async function expectRefusedWithoutOutput(argv: string[], out: string, message: string): Promise<void> {
  const r = await run([...argv, "--out", out]);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expectOneLineError(r.err, message);
  expect(existsSync(out)).toBe(false);
}
