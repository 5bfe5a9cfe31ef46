/**
 * Mode balance of a trained Ising flow: the fraction of samples x = g(z), z ∼ N(0, 1), of the
 * un-symmetrised model q with positive magnetisation Σ tanh x_i. π is Z2-symmetric, so an
 * exact q gives ½; a flow collapsed onto one ferromagnetic mode (reverse KL is mode-seeking)
 * gives 0 or 1 — and its F can then not go below −ln Z + ln 2. Used for the README's comparison
 * of pure PDD and the v1 buffer algorithm without --symmetrize.
 *
 *   node bin/run-ts.mjs scripts/mode-balance.ts RUN_DIR... [--n 4096] [--seed 5]
 */
import { parseArgs } from "node:util";
import { Rng } from "../src/engine/rng.ts";
import { loadTrainedRun } from "../src/train/run.ts";
import { sampleModel } from "../src/sample/density.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { n: { type: "string", default: "4096" }, seed: { type: "string", default: "5" } },
});
const n = Number(values.n);
const seed = Number(values.seed);
if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
  throw new RangeError(`--n = ${values.n} is invalid: an integer in 1..1000000`);
if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`--seed = ${values.seed} is invalid: an integer ≥ 0`);
if (positionals.length === 0) throw new RangeError("give at least one run directory");
for (const dir of positionals) {
  const run = loadTrainedRun(dir);
  const N = run.model.nvars;
  const s = sampleModel(run.model, run.params, n, Rng.fromSeed(seed), false);
  let positive = 0;
  for (let b = 0; b < n; b++) {
    let m = 0;
    for (let i = 0; i < N; i++) m += Math.tanh(s.x[b * N + i]);
    if (m > 0) positive++;
  }
  const p = positive / n;
  console.log(
    `${dir}: fraction with positive magnetisation ${p.toFixed(4)} ± ${Math.sqrt(Math.max(p * (1 - p), 1 / n) / n).toFixed(4)} (${n} samples of q, symmetrize ${String(run.config.symmetrize)})`,
  );
}
