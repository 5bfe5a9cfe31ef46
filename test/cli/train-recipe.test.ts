import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLineError, run, TINY_TRAIN } from "./helpers.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tiny = TINY_TRAIN;
const never = join(tmpdir(), "neuralrg-never-created-recipe");

describe("neuralrg train: schedule and gradient options", () => {
  it.each([
    [
      ["--gradient", "score"],
      ["--gradient = score is invalid", "path", "reparam"],
    ],
    [
      ["--lr-decay", "step"],
      ["--lr-decay = step is invalid", "cosine"],
    ],
    [["--warmup", "1"], ["--warmup = 1 is invalid"]],
    [["--lr-final", "2"], ["--lr-final = 2 is invalid"]],
    [["--batch-final", "0"], ["--batch-final = 0 is invalid"]],
    [["--beta2", "1"], ["--beta2 = 1 is invalid"]],
    [["--clip-norm", "0"], ["--clip-norm = 0 is invalid"]],
    [
      ["--activation", "relu"],
      ["--activation = relu is invalid", "elu", "rational"],
    ],
    [
      ["--gradient", "path", "--no-symmetrize", "--symmetry-weight", "0.5"],
      ["--symmetry-weight = 0.5 needs --gradient reparam"],
    ],
  ] as [string[], string[]][])("%j exits 2 with one line and writes nothing", async (args, fragments) => {
    const r = await run(["train", ...tiny, "--epochs", "1", "--out", never, ...args]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expectOneLineError(r.err, ...fragments);
    expect(existsSync(never)).toBe(false);
  });

  it("the options reach the stored config; --symmetry-weight alone falls back to the reparametrised gradient", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-recipe-"));
    dirs.push(dir);
    const a = await run([
      "train",
      ...tiny,
      "--epochs",
      "4",
      "--out",
      join(dir, "a"),
      "--gradient",
      "path",
      "--lr-decay",
      "cosine",
      "--warmup",
      "0.25",
      "--lr-final",
      "0.1",
      "--batch-final",
      "32",
      "--beta2",
      "0.99",
      "--clip-norm",
      "5",
    ]);
    expect(a.code).toBe(0);
    const ca = JSON.parse(readFileSync(join(dir, "a", "config.json"), "utf8"));
    expect(ca).toMatchObject({
      gradient: "path",
      lrSchedule: { warmup: 0.25, decay: "cosine", final: 0.1 },
      batchFinal: 32,
      beta2: 0.99,
      clipNorm: 5,
    });
    const b = await run([
      "train",
      ...tiny,
      "--epochs",
      "2",
      "--out",
      join(dir, "b"),
      "--no-symmetrize",
      "--symmetry-weight",
      "0.5",
    ]);
    expect(b.code).toBe(0);
    const cb = JSON.parse(readFileSync(join(dir, "b", "config.json"), "utf8"));
    expect(cb.gradient).toBeUndefined();
    expect(cb.symmetryWeight).toBe(0.5);
  });

  it("summary.json names the wasm kernel build that ran", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-build-"));
    dirs.push(dir);
    const w = await run(["train", ...tiny, "--kernel", "wasm", "--epochs", "1", "--out", join(dir, "w")]);
    expect(w.code).toBe(0);
    const sw = JSON.parse(readFileSync(join(dir, "w", "summary.json"), "utf8"));
    expect(sw.wasmBuild).toBe("relaxed-simd");
    expect(sw.config.kernel).toBe("wasm");
  });

  it("--activation rational is stored in the flow config (ELU runs' configs do not name it) and changes the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-act-"));
    dirs.push(dir);
    const common = ["train", ...tiny, "--epochs", "3", "--seed", "5"];
    const e = await run([...common, "--out", join(dir, "e"), "--activation", "elu"]);
    const r = await run([...common, "--out", join(dir, "r"), "--activation", "rational"]);
    expect(e.code).toBe(0);
    expect(r.code).toBe(0);
    const ce = JSON.parse(readFileSync(join(dir, "e", "config.json"), "utf8"));
    const cr = JSON.parse(readFileSync(join(dir, "r", "config.json"), "utf8"));
    expect("activation" in ce.flow).toBe(false);
    expect(cr.flow.activation).toBe("rational");
    // the F column of metrics.csv (epoch 1 already differs: identity init makes the first flow
    // the identity in both, but its gradient, hence epoch 2, differs; compare all epochs)
    const loss = (d: string) =>
      readFileSync(join(dir, d, "metrics.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[1])
        .join(",");
    expect(loss("r")).not.toBe(loss("e"));
    // resuming with another activation is refused
    const again = await run([...common, "--epochs", "4", "--out", join(dir, "r"), "--resume", "--activation", "elu"]);
    expect(again.code).not.toBe(0);
    expect(again.err).toContain("flow.activation");
  });

  it("demo: without --epochs it trains as many epochs as fit into 80 % of --max-seconds (at least 200); --epochs is kept as given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "neuralrg-demo-"));
    dirs.push(dir);
    const small = [
      "--L",
      "4",
      "--nlayers",
      "1",
      "--nmlp",
      "1",
      "--nhidden",
      "4",
      "--batch",
      "8",
      "--eval-samples",
      "16",
      "--progress",
      "off",
    ];
    const a = await run(["demo", ...small, "--max-seconds", "0.01", "--out", join(dir, "a")]);
    expect(a.code).toBe(0);
    expect(a.out).toContain("200 epochs (at most 0.01 s)");
    const b = await run(["demo", ...small, "--epochs", "7", "--out", join(dir, "b")]);
    expect(b.code).toBe(0);
    expect(b.out).toContain("7 epochs (at most 180 s)");
    expect(b.out).toMatch(/relative error \(F - exact\)\/\|exact\| = /);
  });
});
