/**
 * `neuralrg data` and `neuralrg fit` end to end: outputs of a run directory, the summary's
 * entropy against the exact Gaussian value, resume = uninterrupted run, and one-line errors.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { readMetrics } from "../../src/io/metrics.ts";
import { gaussianTarget } from "../../src/targets/gaussian.ts";
import { formatNpy } from "../../src/data/npy.ts";
import { tempDir } from "../io/helpers.ts";
import { expectOneLineError, run } from "./helpers.ts";

const tiny = ["--nlayers", "2", "--nmlp", "1", "--nhidden", "4", "--kernel", "js", "--progress", "off"];

describe("neuralrg data + fit", () => {
  it("Gaussian data: the run directory is complete and the summary's entropy matches the exact one", async () => {
    const d = tempDir();
    const file = join(d, "g.npy");
    const w = await run([
      "data",
      "gaussian",
      "--L",
      "4",
      "--kappa",
      "0.5",
      "--n",
      "3000",
      "--seed",
      "2",
      "--out",
      file,
      "--json",
    ]);
    expect(w.code).toBe(0);
    expect(JSON.parse(readFileSync(`${file}.meta.json`, "utf8")).target).toEqual({
      kind: "gaussian",
      L: 4,
      precision: "circulant",
      scale: 1,
      kappa: 0.5,
    });
    const again = await run(["data", "gaussian", "--L", "4", "--n", "10", "--out", file]);
    expect(again.code).toBe(2);
    expectOneLineError(again.err, `${file} exists: pass --overwrite`);

    const out = join(d, "run");
    const r = await run([
      "fit",
      "--data",
      file,
      "--epochs",
      "3",
      "--batch",
      "100",
      "--lr",
      "0.01",
      "--eval-period",
      "9",
      ...tiny,
      "--out",
      out,
      "--json",
    ]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    for (const f of [
      "config.json",
      "provenance.json",
      "checkpoint.json",
      "metrics.csv",
      "summary.json",
      "plots/nll.svg",
      "plots/nll.png",
      "plots/samples.png",
      "plots/scales.svg",
      "plots/collective.png",
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(s.steps).toBe(81); // 2700 training configurations / 100 per step × 3 epochs
    expect(s.n_test).toBe(300);
    const rows = readMetrics(join(out, "metrics.csv")).rows;
    expect(rows.map((x) => x.step)).toEqual([0, 9, 18, 27, 36, 45, 54, 63, 72, 81]);
    expect(rows[rows.length - 1].test_nll).toBeLessThan(rows[0].test_nll);
    // H(π) = −E[ln π] estimated on the test data vs the exact N/2 − (−ln Z); KL(π‖q) = NLL − H ≥ 0 on average
    const t = gaussianTarget({ L: 4, kappa: 0.5 });
    expect(Math.abs(s.data_entropy - (8 - t.exactNegLogZ))).toBeLessThan(4 * s.data_entropy_stderr);
    expect(s.forward_kl).toBeCloseTo(s.test_nll - s.data_entropy, 8);
    expect(s.forward_kl).toBeGreaterThan(-3 * s.forward_kl_stderr);
    expect(s.F).toBeGreaterThan(s.exact - 4 * s.F_stderr); // the variational bound
    expect(s.units).toContain("no preprocessing");
  });

  it("resuming MNIST (dequantised, logit) continues exactly like an uninterrupted run", async () => {
    const d = tempDir();
    const args = [
      "fit",
      "--data",
      "mnist-sample",
      "--L",
      "32",
      "--logit",
      "0.05",
      "--max-train",
      "60",
      "--max-test",
      "10",
      "--batch",
      "20",
      "--depth",
      "2",
      ...tiny,
      "--no-figures",
    ];
    const a = await run([...args, "--epochs", "3", "--out", join(d, "a")]);
    expect(a.code).toBe(0);
    expect((await run([...args, "--epochs", "1", "--out", join(d, "b")])).code).toBe(0);
    const b = await run([...args, "--epochs", "3", "--out", join(d, "b"), "--resume"]);
    expect(b.code).toBe(0);
    const pa = loadCheckpoint(join(d, "a", "checkpoint.json")).params,
      pb = loadCheckpoint(join(d, "b", "checkpoint.json")).params;
    expect(Array.from(pb)).toEqual(Array.from(pa));
    expect(readFileSync(join(d, "b", "metrics.csv"), "utf8").split("\n").length).toBe(
      readFileSync(join(d, "a", "metrics.csv"), "utf8").split("\n").length,
    );
    const s = JSON.parse(readFileSync(join(d, "a", "summary.json"), "utf8"));
    expect(s.units).toContain("uniform dequantisation");
    expect(s.wasmBuild).toBeUndefined(); // --kernel js: no wasm build ran (kernels/wasm.ts: wasmBuildRecord)
    expect(s.test_bits_per_dim).toBeCloseTo((s.test_nll + 1024 * Math.log(256)) / (1024 * Math.LN2), 10);
  });

  it("bad input: one line, exit 2, nothing written", async () => {
    const d = tempDir();
    writeFileSync(join(d, "odd.npy"), formatNpy(new Float64Array(90).fill(0.5), [10, 3, 3]));
    writeFileSync(join(d, "bad.npy"), Buffer.from("hello world"));
    const cases: [string[], string[]][] = [
      [
        ["--data", "x.csv"],
        ["--data = x.csv is invalid", ".npy"],
      ],
      [["--data", join(d, "bad.npy")], ["bad.npy: not an .npy file"]],
      [["--data", join(d, "none.npy")], ["none.npy: cannot be read (no such file)"]],
      [
        ["--data", join(d, "odd.npy")],
        ["the data are 3×3", "--L 4"],
      ],
      [
        ["--data", join(d, "odd.npy"), "--L", "4", "--batch", "50"],
        ["batch = 50 is larger than the 9 training configurations"],
      ],
      [
        ["--data", join(d, "odd.npy"), "--L", "4", "--dequantize", "uniform", "--batch", "2"],
        ["needs integers in 0..255"],
      ],
      [["--data", "mnist-sample", "--logit", "0.7"], ["--logit = 0.7 is invalid"]],
      [["--data", "mnist-sample", "--resume", "--overwrite"], ["--resume and --overwrite"]],
    ];
    for (const [args, frags] of cases) {
      const out = join(d, "never");
      const r = await run(["fit", ...args, ...tiny, "--out", out]);
      expect(r.code, args.join(" ")).toBe(2);
      expectOneLineError(r.err, ...frags);
      expect(existsSync(out)).toBe(false);
    }
  });
});
