/**
 * The exact −ln Z bound check: F is a variational upper bound of −ln Z (Eq. 3) for every flow,
 * so a final F below the exact value by more than 3 standard errors signals a bug, and `train`
 * exits with status 1 and a one-line error saying so (the summary is still written and marked).
 *
 * The bug is simulated by a target whose "exact" value is wrong (shifted up by 1000): the real
 * training path then sees F far below it.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { contractViolations, runInProcess } from "./harness/cli.ts";
import { ALLOWED_FAILURES } from "./harness/fuzz-cli.ts";

const shift = vi.hoisted(() => ({ value: 0 }));

vi.mock("../../src/targets/registry.ts", async (importOriginal) => {
  const mod = await importOriginal<typeof import("../../src/targets/registry.ts")>();
  return {
    ...mod,
    makeTarget: (c: Parameters<typeof mod.makeTarget>[0]) => {
      const t = mod.makeTarget(c);
      if (shift.value !== 0 && t.exactNegLogZ !== undefined)
        Object.defineProperty(t, "exactNegLogZ", { value: t.exactNegLogZ + shift.value });
      return t;
    },
  };
});

const root = mkdtempSync(join(tmpdir(), "neuralrg-bound-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

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
  "16",
  "--epochs",
  "5",
  "--eval-samples",
  "64",
  "--kernel",
  "js",
  "--progress",
  "off",
];

describe("F below the exact −ln Z by more than 3σ", () => {
  it("is an error (exit 1, one line: it signals a bug), with summary.bound_violated set", async () => {
    shift.value = 1000;
    try {
      const dir = join(root, "violated");
      const r = await runInProcess([...TRAIN, "--out", dir]);
      expect(contractViolations(r, { allowFailure: ALLOWED_FAILURES })).toEqual([]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /^error: variational bound violated: F = \S+ ± \S+ lies \S+ standard errors below the exact -ln Z = \S+; F ≥ -ln Z holds for every flow, so this signals a bug \(results kept in .*\)\n$/,
      );
      const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
      expect(s.bound_violated).toBe(true);
      expect(s.F).toBeLessThan(s.exact - 3 * s.F_stderr);
    } finally {
      shift.value = 0;
    }
  });

  it("a correct exact value passes (exit 0, bound_violated false)", async () => {
    const dir = join(root, "fine");
    const r = await runInProcess([...TRAIN, "--out", dir]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).bound_violated).toBe(false);
  });
});
