import { expect } from "vitest";
import { main } from "../../src/cli/main.ts";

/** Run the CLI in-process, capturing stdout and stderr. */
export async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** stderr is exactly one "error: …" line, without a stack trace, containing every fragment. */
export function expectOneLineError(err: string, ...fragments: string[]): void {
  expect(err.endsWith("\n")).toBe(true);
  expect(err.trimEnd().split("\n")).toHaveLength(1);
  expect(err).toMatch(/^error: /);
  expect(err).not.toMatch(/\s+at .*:\d+:\d+/); // no stack trace
  for (const f of fragments) expect(err).toContain(f);
}

/** A training small and fast enough for CLI tests (L = 4, 2 couplings, MLP 1×4, batch 16, JS kernel, no progress bar). */
export const TINY_TRAIN = [
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
  "--kernel",
  "js",
  "--eval-samples",
  "32",
  "--progress",
  "off",
];
