import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultRunDir } from "../../src/cli/train.ts";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { trainConfig } from "../../src/train/config.ts";
import { cliTrainArgs } from "../../web/src/protocol.ts";
import { expectOneLineError, run, TINY_TRAIN } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tiny = TINY_TRAIN;
const never = join(tmpdir(), "neuralrg-never-created-nrepeat");

describe("--nrepeat", () => {
  it.each([
    ["train", "0"],
    ["train", "9"],
    ["train", "1.5"],
    ["train", "two"],
    ["demo", "0"],
    ["scan", "9"],
    ["fit", "0"],
  ])("%s --nrepeat %s exits 2 with one line and writes nothing", async (cmd, v) => {
    const extra = cmd === "fit" ? ["--data", "gaussian.npy"] : cmd === "scan" ? [] : ["--L", "4"];
    const r = await run([cmd, ...extra, "--epochs", "1", "--out", never, "--nrepeat", v]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expectOneLineError(r.err, `--nrepeat = ${v} is invalid`, "1..8");
    expect(existsSync(never)).toBe(false);
  });

  it.each(["train", "demo", "scan", "fit"])("%s --help documents it with its default", async (cmd) => {
    const r = await run([cmd, "--help"]);
    expect(r.code).toBe(0);
    const help = r.out.replace(/\s+/g, " ");
    // train's recipe repeats each level's layers twice (docs/quality.md); fit keeps one group
    const dflt = cmd === "fit" ? 1 : 2;
    expect(help).toMatch(
      new RegExp(`--nrepeat <n> repetitions of each level's layer group, 1\\.\\.8 .*\\(default: ${dflt}\\)`),
    );
  });

  it("train stores nrepeat > 1 in the config and checkpoint (the default is 2); --nrepeat 1 is not stored", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-nrepeat-"));
    dirs.push(dir);
    const args = ["train", ...tiny, "--epochs", "2", "--seed", "3"];
    expect((await run([...args, "--out", join(dir, "plain")])).code).toBe(0);
    expect((await run([...args, "--out", join(dir, "one"), "--nrepeat", "1"])).code).toBe(0);
    const two = await run([...args, "--out", join(dir, "two"), "--nrepeat", "2"]);
    expect(two.code).toBe(0);
    const read = (d: string) => readFileSync(join(dir, d, "config.json"), "utf8");
    expect(read("two")).toBe(read("plain"));
    expect(read("one")).not.toContain("nrepeat");
    expect(JSON.parse(read("two")).flow.nrepeat).toBe(2);
    const ck = (d: string) => loadCheckpoint(join(dir, d, "checkpoint.json"));
    expect(Array.from(ck("two").params)).toEqual(Array.from(ck("plain").params));
    expect(ck("two").params.length).toBe(2 * ck("one").params.length);
    // resuming needs the same nrepeat
    const other = await run([...args, "--epochs", "3", "--out", join(dir, "two"), "--resume", "--nrepeat", "1"]);
    expect(other.code).toBe(2);
    expectOneLineError(other.err, "flow.nrepeat");
    // the playground's "continue with the CLI" line names it either way (the defaults may differ)
    expect(cliTrainArgs(JSON.parse(read("two")))).toContain("--nrepeat 2");
    expect(cliTrainArgs(JSON.parse(read("one")))).toContain("--nrepeat 1");
    // sampling and analysis load the run
    const s = await run(["sample", "--run", join(dir, "two"), "--method", "mis", "--n", "64", "--chains", "8"]);
    expect(s.code).toBe(0);
  });

  it("the default run directory names R > 1 only", () => {
    const t = { kind: "ising", L: 8, T: 2.3 } as const;
    expect(defaultRunDir(trainConfig(t, { nrepeat: 1 }))).toBe(defaultRunDir(trainConfig(t)));
    expect(defaultRunDir(trainConfig(t))).not.toContain("-r");
    expect(defaultRunDir(trainConfig(t, { nrepeat: 3 }))).toBe(
      defaultRunDir(trainConfig(t)).replace("-d3-", "-d3-r3-"),
    );
  });
});
