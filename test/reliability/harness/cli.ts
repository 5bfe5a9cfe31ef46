/**
 * Running the CLI for the reliability suite: in-process through main(argv, io) (fast), or as a
 * real process (bin/neuralrg.mjs) with a time limit; checks of the error contract (exit status,
 * one-line stderr, no stack trace) and snapshots of directories (no partial outputs).
 *
 * Shared by test/reliability/*.test.ts (small counts, `npm test`) and scripts/validate.ts
 * (large counts, `npm run validate`): no vitest imports here.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { main } from "../../../src/cli/main.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");
export const BIN = join(ROOT, "bin", "neuralrg.mjs");

export interface CliResult {
  code: number;
  out: string;
  err: string;
  /** wall time in ms */
  ms: number;
  /** set when a spawned process was killed (time limit or test) */
  signal?: string | null;
}

/** Run the CLI in this process. NEURALRG_DEBUG is cleared (it would print stacks on purpose). */
export async function runInProcess(argv: string[]): Promise<CliResult> {
  const debug = process.env.NEURALRG_DEBUG;
  delete process.env.NEURALRG_DEBUG;
  let out = "";
  let err = "";
  const t0 = performance.now();
  try {
    const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t), errIsTTY: false });
    return { code, out, err, ms: performance.now() - t0 };
  } finally {
    if (debug !== undefined) process.env.NEURALRG_DEBUG = debug;
  }
}

/** Environment for child processes: no debug stacks, no colour, never a TTY progress bar. */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "1", NO_COLOR: "1" };
  delete env.NEURALRG_DEBUG;
  return env;
}

/** Run bin/neuralrg.mjs synchronously with a time limit (a hang shows up as signal SIGKILL). */
export function runProcess(argv: string[], timeoutMs = 120_000, cwd = ROOT): CliResult {
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [BIN, ...argv], {
    cwd,
    encoding: "utf8",
    env: childEnv(),
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  return {
    code: p.status ?? -1,
    out: p.stdout ?? "",
    err: p.stderr ?? "",
    ms: performance.now() - t0,
    signal: p.signal,
  };
}

/** A running child `neuralrg` process. */
export interface Child {
  readonly pid: number;
  /** resolves when the process has exited (and has been reaped) */
  readonly done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
  /** stderr so far */
  stderr(): string;
}

export function startProcess(argv: string[], cwd = ROOT): Child {
  const t0 = performance.now();
  const p = spawn(process.execPath, [BIN, ...argv], { cwd, env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.setEncoding("utf8").on("data", (t: string) => (out += t));
  p.stderr.setEncoding("utf8").on("data", (t: string) => (err += t));
  const done = new Promise<CliResult>((resolve, reject) => {
    p.on("error", reject);
    p.on("close", (code, signal) => resolve({ code: code ?? -1, out, err, ms: performance.now() - t0, signal }));
  });
  return { pid: p.pid!, done, kill: (s = "SIGKILL") => void p.kill(s), stderr: () => err };
}

const STACK_RE = /^\s+at .+[:(]\d+:\d+\)?$/m;

export interface ContractOptions {
  /** exit status 1 is accepted only when the error line matches this (e.g. a diverged training) */
  allowFailure?: RegExp;
}

/**
 * Violations of the CLI's error contract (empty when fine): exit 0 or 2 (1 only for an allowed
 * failure message), no stack trace anywhere, and for a usage error exactly one stderr line
 * "error: …"; for an allowed failure the error is the last stderr line (progress and log lines
 * may precede it).
 */
export function contractViolations(r: CliResult, opts: ContractOptions = {}): string[] {
  const v: string[] = [];
  if (r.signal) v.push(`killed by ${r.signal} after ${r.ms.toFixed(0)} ms (hang?)`);
  if (STACK_RE.test(r.err) || STACK_RE.test(r.out)) v.push("stack trace in the output");
  const lines = r.err.split("\n").filter((l) => l.trim() !== "");
  if (r.code === 2 && r.err.startsWith("Usage: neuralrg ") && !r.out) {
    // the one multi-line exception, by design of main(): no command (or `help <unknown>`)
    // prints the top-level usage on stderr
  } else if (r.code === 2) {
    if (lines.length !== 1) v.push(`usage error with ${lines.length} stderr lines`);
    else if (!lines[0].startsWith("error: "))
      v.push(`usage error line does not start with "error: ": ${lines[0].slice(0, 120)}`);
    if (!r.err.endsWith("\n")) v.push("stderr does not end with a newline");
  } else if (r.code === 1) {
    const last = lines.at(-1) ?? "";
    if (!opts.allowFailure || !opts.allowFailure.test(last)) v.push(`exit 1: ${last.slice(0, 200)}`);
    else if (!last.startsWith("error: ")) v.push(`failure line does not start with "error: "`);
  } else if (r.code !== 0) {
    v.push(`exit status ${r.code}`);
  }
  return v;
}

/** Every file and directory below `dir` with a content hash ("dir" for directories); empty when absent. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        out.set(rel + "/", "dir");
        walk(p);
      } else {
        out.set(rel, createHash("sha256").update(readFileSync(p)).digest("hex"));
      }
    }
  };
  walk(dir);
  return out;
}

/** Paths added, removed or changed between two snapshots. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [k, v] of after)
    if (!before.has(k)) d.push(`+${k}`);
    else if (before.get(k) !== v) d.push(`~${k}`);
  for (const k of before.keys()) if (!after.has(k)) d.push(`-${k}`);
  return d;
}

/** Short printable form of an argv for failure reports. */
export function showArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w./:=+-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
