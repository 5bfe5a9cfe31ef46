/**
 * Numerical guards: a non-finite loss or gradient stops training with a message naming the
 * epoch and the last good checkpoint; `--on-nan rollback` reloads that checkpoint, halves the
 * learning rate and continues (deterministically, and resumably); every checkpoint written is
 * one whose next epoch is finite; float32 and float64 agree within stated tolerances.
 *
 * Divergence is produced honestly, by a learning rate far too large (lr = 30 on this 4×4 Ising
 * flow makes the gradient overflow at epoch 44; lr = 1e6 the loss at epoch 2).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { toDType } from "../../src/engine/real.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { initParams } from "../../src/flow/params.ts";
import { loadCheckpoint } from "../../src/io/checkpoint.ts";
import { readMetrics } from "../../src/io/metrics.ts";
import { makeTarget } from "../../src/targets/registry.ts";
import { pddLossAndGrad } from "../../src/train/objectives.ts";
import { contractViolations, runInProcess } from "./harness/cli.ts";
import { ALLOWED_FAILURES } from "./harness/fuzz-cli.ts";

const TRAIN = [
  "train",
  "--L",
  "4",
  "--T",
  "2.5",
  "--nlayers",
  "1",
  "--nmlp",
  "0",
  "--nhidden",
  "2",
  "--batch",
  "8",
  "--eval-samples",
  "8",
  "--kernel",
  "js",
  "--progress",
  "off",
  "--seed",
  "42",
  "--save-period",
  "10",
  // the original code's recipe (float64, constant lr, reparametrised gradient): the epochs below are where it diverges
  "--dtype",
  "float64",
  "--lr-decay",
  "constant",
  "--warmup",
  "0",
  "--gradient",
  "reparam",
  "--activation",
  "elu",
  "--nrepeat",
  "1",
  "--anneal",
  "0",
];

let root: string;
beforeAll(() => void (root = mkdtempSync(join(tmpdir(), "neuralrg-nan-"))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const withoutSeconds = (dir: string) =>
  readFileSync(join(dir, "metrics.csv"), "utf8")
    .split("\n")
    .map((l) => l.split(",").slice(0, 6).join(","));

describe("non-finite loss or gradient", () => {
  it("stops with one line naming the epoch and the last good checkpoint (exit 1), which holds finite numbers", async () => {
    const dir = join(root, "stop");
    const r = await runInProcess([...TRAIN, "--lr", "30", "--epochs", "100", "--out", dir]);
    expect(contractViolations(r, { allowFailure: ALLOWED_FAILURES })).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      `error: training diverged at epoch 44: the gradient is not finite (use --on-nan rollback to roll back to the last checkpoint with a halved learning rate); last good checkpoint: ${join(dir, "checkpoint.json")} (epoch 40)`,
    );
    const ck = loadCheckpoint(join(dir, "checkpoint.json"));
    expect(ck.epoch).toBe(40);
    expect(ck.params.every(Number.isFinite)).toBe(true);
    // metrics hold the finite epochs before the failure; a resume drops those past the checkpoint
    expect(readMetrics(join(dir, "metrics.csv")).rows.at(-1)!.epoch).toBe(43);
  });

  it("--on-nan rollback halves the learning rate until training passes, then finishes; resuming the stopped run does the same", async () => {
    const dir = join(root, "rollback");
    const r = await runInProcess([
      ...TRAIN,
      "--lr",
      "30",
      "--epochs",
      "100",
      "--on-nan",
      "rollback",
      "--json",
      "--out",
      dir,
    ]);
    expect(contractViolations(r)).toEqual([]);
    expect(r.code).toBe(0);
    const lines = r.err.trim().split("\n");
    expect(lines[0]).toBe(
      "epoch 44: the gradient is not finite; rolled back to epoch 40 and halved the learning rate to 15.0 (rollback 1 of at most 10)",
    );
    const s = JSON.parse(r.out);
    expect(s.nan_rollbacks).toBe(lines.length);
    expect(s.lr_final).toBe(30 / 2 ** lines.length);
    expect(s.epochs).toBe(100);
    // metrics are contiguous: the rows of the abandoned attempts were dropped
    expect(readMetrics(join(dir, "metrics.csv")).rows.map((x) => x.epoch)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const ck = loadCheckpoint(join(dir, "checkpoint.json"));
    expect(ck.extra).toEqual({ lrScale: 2 ** -lines.length, rollbacks: lines.length });
    // the run that stopped at epoch 44 (previous test), resumed with rollback, ends identical
    const stopped = join(root, "stop");
    const r2 = await runInProcess([
      ...TRAIN,
      "--lr",
      "30",
      "--epochs",
      "100",
      "--on-nan",
      "rollback",
      "--resume",
      "--out",
      stopped,
    ]);
    expect(r2.code).toBe(0);
    expect(withoutSeconds(stopped)).toEqual(withoutSeconds(dir));
    expect(Array.from(loadCheckpoint(join(stopped, "checkpoint.json")).params)).toEqual(Array.from(ck.params));
  });

  it("never writes a checkpoint whose next epoch is non-finite (so a rollback target is always good)", async () => {
    // the save at epoch 43 computes epoch 44 ahead: its gradient overflows, so 43 is not saved
    const dir = join(root, "unsaved");
    const r = await runInProcess([...TRAIN, "--save-period", "43", "--lr", "30", "--epochs", "100", "--out", dir]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: training diverged at epoch 44: the gradient (checked before writing the checkpoint of epoch 43) is not finite (use --on-nan rollback to roll back to the last checkpoint with a halved learning rate); no checkpoint was written yet\n",
    );
    expect(existsSync(join(dir, "checkpoint.json"))).toBe(false);
    // rollback: back to the initial parameters (the only good state), half the learning rate
    const r2 = await runInProcess([
      ...TRAIN,
      "--save-period",
      "43",
      "--lr",
      "30",
      "--epochs",
      "100",
      "--on-nan",
      "rollback",
      "--out",
      join(root, "unsaved-rb"),
    ]);
    expect(r2.code).toBe(0);
    expect(r2.err).toMatch(
      /^epoch 44: the gradient \(checked before writing the checkpoint of epoch 43\) is not finite; rolled back to epoch 0 and halved the learning rate to 15\.0/,
    );
  });

  it("gives up after 10 rollbacks, and at once when the parameters it would roll back to are themselves the problem", async () => {
    const r = await runInProcess([
      ...TRAIN,
      "--lr",
      "1e6",
      "--epochs",
      "20",
      "--on-nan",
      "rollback",
      "--out",
      join(root, "hopeless"),
    ]);
    expect(contractViolations(r, { allowFailure: ALLOWED_FAILURES })).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(11);
    expect(r.err).toMatch(
      /error: training diverged at epoch 2: the loss is not finite after 10 rollbacks \(learning rate down to 977\); last good checkpoint: .* \(epoch 0\)\n$/,
    );
  });
});

describe("float32 and float64 paths", () => {
  // The same float64 parameters and samples (a flow far from the identity); the float32 path
  // receives them rounded to float32. Stated tolerances, ~10× above the measured differences:
  //   per-sample loss ln q − ln π: |Δ| ≤ 1e-4 · max(1, |ℓ|)        (measured ≤ 3.5e-5)
  //   batch mean F:                |ΔF| ≤ 1e-6 · max(1, |F|)       (measured ≤ 1e-7)
  //   gradient:                    ‖Δg‖ / ‖g‖ ≤ 1e-6               (measured ≤ 7e-8)
  for (const kernel of ["js", "wasm"] as const) {
    for (const [L, kind, symmetrize] of [
      [4, "ising", true],
      [8, "ising", true],
      [8, "gaussian", false],
    ] as const) {
      it(`agree within tolerance: ${kernel} kernel, ${kind} L = ${L}${symmetrize ? ", symmetrised" : ""}`, () => {
        const flow = { L, layout: "mera" as const, depth: Math.log2(L), nlayers: 2, nmlp: 1, nhidden: 8 };
        const model = createFlow(flow, kernel);
        const rng = Rng.fromSeed(7);
        const p64 = initParams(flow, "float64", () => rng.uniform(), "torch").data as Float64Array;
        for (let i = 0; i < p64.length; i++) p64[i] += 0.3 * (rng.uniform() - 0.5);
        const batch = 256;
        const z64 = new Float64Array(batch * L * L);
        rng.fillNormal(z64);
        const target = makeTarget(kind === "ising" ? { kind, L, T: 2.5 } : { kind, L });
        const a = pddLossAndGrad(model, p64, target, z64, batch, { symmetrize });
        const b = pddLossAndGrad(model, toDType(p64, "float32"), target, toDType(z64, "float32"), batch, {
          symmetrize,
        });
        for (let i = 0; i < batch; i++) {
          expect(Math.abs(a.perSample[i] - b.perSample[i])).toBeLessThanOrEqual(
            1e-4 * Math.max(1, Math.abs(a.perSample[i])),
          );
        }
        expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(a.loss)));
        let d2 = 0;
        let g2 = 0;
        for (let i = 0; i < a.grad.length; i++) {
          d2 += (a.grad[i] - b.grad[i]) ** 2;
          g2 += a.grad[i] ** 2;
        }
        expect(Math.sqrt(d2 / g2)).toBeLessThanOrEqual(1e-6);
        // and the difference is far below the statistical error of F
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-3 * a.stdErr);
      });
    }
  }
});
