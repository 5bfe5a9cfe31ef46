/**
 * Damaged checkpoints, hand-edited configs, broken metrics, odd locks and malformed data files
 * used with `train --resume` (fast subset; `npm run validate` runs many more). See
 * harness/fuzz-files.ts for the mutations and the property.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKPOINT_FORMAT } from "../../src/io/checkpoint.ts";
import { contractViolations, runInProcess, snapshot, snapshotDiff } from "./harness/cli.ts";
import { FILE_FUZZ_TRAIN, fuzzFiles } from "./harness/fuzz-files.ts";

describe("file fuzzing with --resume", () => {
  it("random damage: exit 0 reproducing the undamaged run bit for bit, or a one-line exit 2 leaving the run untouched", async () => {
    const s = await fuzzFiles({ runs: 45, seed: 424_242 });
    expect(s.failures).toEqual([]);
    expect(s.tried).toBe(45);
    expect(s.byExit["2"]).toBeGreaterThan(15);
    expect(s.byExit["1"]).toBeUndefined();
  });
});

describe("named damage cases", () => {
  let root: string;
  let base: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "neuralrg-damage-"));
    base = join(root, "base");
    const r = await runInProcess(["train", ...FILE_FUZZ_TRAIN, "--epochs", "4", "--out", base]);
    expect(r.code).toBe(0);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      "a truncated checkpoint",
      (d) => {
        const t = readFileSync(join(d, "checkpoint.json"));
        writeFileSync(join(d, "checkpoint.json"), t.subarray(0, t.length >> 1));
      },
      /checkpoint .*checkpoint\.json: is truncated/,
    ],
    [
      "a bit flip in the parameters",
      (d) => {
        const t = readFileSync(join(d, "checkpoint.json"), "utf8");
        const i = t.indexOf('"base64":"') + 20;
        writeFileSync(join(d, "checkpoint.json"), t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1));
      },
      /checksum mismatch \(file corrupted or edited\)/,
    ],
    [
      "a checkpoint of another format version",
      (d) => {
        const t = readFileSync(join(d, "checkpoint.json"), "utf8");
        writeFileSync(join(d, "checkpoint.json"), t.replace(CHECKPOINT_FORMAT, "neuralrg-checkpoint/2"));
      },
      /has format "neuralrg-checkpoint\/2", expected "neuralrg-checkpoint\/1"/,
    ],
    [
      "a config.json with a NaN literal",
      (d) => {
        const t = readFileSync(join(d, "config.json"), "utf8");
        writeFileSync(join(d, "config.json"), t.replace(/"lr": [^,\n]+/, '"lr": NaN'));
      },
      /run config .*config\.json cannot be read/,
    ],
    [
      "a config.json with a wrong type",
      (d) => {
        const c = JSON.parse(readFileSync(join(d, "config.json"), "utf8"));
        c.batch = "8";
        writeFileSync(join(d, "config.json"), JSON.stringify(c));
      },
      /its config differs in batch/,
    ],
    [
      "a config.json with an unknown key",
      (d) => {
        const c = JSON.parse(readFileSync(join(d, "config.json"), "utf8"));
        c.flow.extra = 1;
        writeFileSync(join(d, "config.json"), JSON.stringify(c));
      },
      /its config differs in flow\.extra/,
    ],
    [
      "metrics.csv with a garbage cell",
      (d) => {
        const ls = readFileSync(join(d, "metrics.csv"), "utf8").split("\n");
        ls[2] = ls[2].replace(/^2,[^,]+/, "2,zzz");
        writeFileSync(join(d, "metrics.csv"), ls.join("\n"));
      },
      /metrics .*metrics\.csv:3: column F holds "zzz", not a number/,
    ],
  ];
  for (const [what, damage, message] of cases) {
    it(`refuses ${what} with one line naming the problem, touching nothing`, async () => {
      const dir = join(root, what.replace(/\W+/g, "-"));
      cpSync(base, dir, { recursive: true });
      damage(dir);
      const before = snapshot(dir);
      const r = await runInProcess(["train", ...FILE_FUZZ_TRAIN, "--epochs", "6", "--resume", "--out", dir]);
      expect(contractViolations(r)).toEqual([]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(snapshotDiff(before, snapshot(dir))).toEqual([]);
    });
  }
});
