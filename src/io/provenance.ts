/**
 * Where an output came from: package version, git commit, Node version and a timestamp.
 * Recorded in checkpoints, run configs and reports so that every figure can be traced back.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Provenance {
  /** `version` of this package's package.json. */
  packageVersion: string;
  /** `git rev-parse HEAD` of the package's checkout, or "unknown". */
  gitCommit: string;
  /** `process.version`, e.g. "v20.20.2". */
  nodeVersion: string;
  /** `${process.platform}-${process.arch}`. */
  platform: string;
  /** ISO 8601 time at which this record was made. */
  timestamp: string;
}

/** Root directory of this package (the one holding package.json). */
export const PACKAGE_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let cachedVersion: string | undefined;
let cachedCommit: string | undefined;

/** The package version from package.json ("unknown" if it cannot be read). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"));
      const v = typeof pkg === "object" && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
      cachedVersion = typeof v === "string" ? v : "unknown";
    } catch {
      cachedVersion = "unknown";
    }
  }
  return cachedVersion;
}

/** The git commit of the package checkout (40 hex digits), or "unknown" outside a repository. */
export function gitCommit(): string {
  if (cachedCommit === undefined) {
    try {
      const out = execFileSync("git", ["rev-parse", "HEAD"], {
        cwd: PACKAGE_ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 5000,
      }).trim();
      cachedCommit = /^[0-9a-f]{40,64}$/.test(out) ? out : "unknown";
    } catch {
      cachedCommit = "unknown";
    }
  }
  return cachedCommit;
}

/** A provenance record stamped now. */
export function provenance(now: Date = new Date()): Provenance {
  return {
    packageVersion: packageVersion(),
    gitCommit: gitCommit(),
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    timestamp: now.toISOString(),
  };
}
