import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

/** A fresh temporary directory, removed after the current test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "neuralrg-test-"));
  onTestFinished(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
