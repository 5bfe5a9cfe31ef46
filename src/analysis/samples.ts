/**
 * Physical configurations x ∼ π for the analysis (Fig. 4 averages over x ∼ π(x)):
 *  - "mis":  the final states of many independent Metropolised-independence chains (v1 Eq. 6)
 *            with the flow (q_sym when symmetrised) as proposal, started from the flow: exact
 *            samples of π in the limit of many steps, and already close after a few steps
 *            when q ≈ π/Z (default);
 *  - "flow": x ∼ q (q_sym: sign flipped with probability ½), cheapest, biased by q ≠ π/Z;
 *  - "file": configurations from a JSON file, e.g. samples/<method>-states.json written by
 *            `neuralrg sample` ({"L": L, "x": [[…N values…], …]}).
 */
import { readFileSync } from "node:fs";
import type { Real } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import type { FlowModel } from "../flow/flow.ts";
import { flowDensity, sampleModel } from "../sample/density.ts";
import { runMis, type MisStep } from "../sample/mis.ts";
import type { Target } from "../targets/target.ts";

export type SampleSource = { kind: "mis"; steps: number } | { kind: "flow" } | { kind: "file"; path: string };

export interface PhysicalSamples {
  /** n × N configurations */
  x: Float64Array;
  n: number;
  /** human-readable description of where they come from */
  source: string;
  /** MIS acceptance rate (source "mis") */
  acceptance?: number;
}

export interface SamplingContext {
  model: FlowModel;
  params: Real;
  target: Target;
  /** use the symmetrised density q_sym (Eq. S2) as the flow's distribution */
  symmetrize: boolean;
}

/** An error in a user-supplied sample file (one line). */
export class SampleFileError extends Error {
  override readonly name = "SampleFileError";
}

/** Read configurations from a JSON file {"L"?: L, "x": [[N numbers], …]}; at most `max` rows. */
export function readSampleFile(path: string, N: number, max: number): { x: Float64Array; n: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new SampleFileError(`sample file ${path} cannot be read: ${(err as Error).message.split("\n")[0]}`);
  }
  const rows = typeof doc === "object" && doc !== null && "x" in doc ? (doc as { x: unknown }).x : undefined;
  if (!Array.isArray(rows) || rows.length === 0)
    throw new SampleFileError(`sample file ${path} has no "x" array of configurations`);
  const L = (doc as { L?: unknown }).L;
  if (L !== undefined && (typeof L !== "number" || L * L !== N)) {
    throw new SampleFileError(
      `sample file ${path} holds L = ${String(L)} configurations, the run needs ${Math.round(Math.sqrt(N))}×${Math.round(Math.sqrt(N))}`,
    );
  }
  const n = Math.min(max, rows.length);
  const x = new Float64Array(n * N);
  for (let b = 0; b < n; b++) {
    const r: unknown = rows[b];
    if (!Array.isArray(r) || r.length !== N || !r.every((v) => typeof v === "number" && Number.isFinite(v))) {
      throw new SampleFileError(`sample file ${path}: configuration ${b} is not an array of ${N} finite numbers`);
    }
    x.set(r as number[], b * N);
  }
  return { x, n };
}

/** Draw (or read) n physical configurations according to `source`. */
export function drawPhysicalSamples(
  ctx: SamplingContext,
  n: number,
  source: SampleSource,
  rng: Rng,
  onStep?: (done: number, total: number) => void,
): PhysicalSamples {
  const N = ctx.model.nvars;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`samples = ${n} is invalid: it must be an integer ≥ 1`);
  if (source.kind === "file") {
    const r = readSampleFile(source.path, N, n);
    return { x: r.x, n: r.n, source: `file ${source.path} (${r.n} configurations)` };
  }
  const q = ctx.symmetrize ? "q_sym" : "q";
  if (source.kind === "flow") {
    const s = sampleModel(ctx.model, ctx.params, n, rng, ctx.symmetrize);
    return { x: Float64Array.from(s.x), n, source: `flow: x ∼ ${q}` };
  }
  const proposal = flowDensity(ctx.model, ctx.params, { symmetrize: ctx.symmetrize });
  const r = runMis(proposal, ctx.target, {
    nchains: n,
    nsteps: source.steps,
    rng,
    onStep: onStep ? (s: MisStep) => onStep(s.step + 1, source.steps) : undefined,
  });
  return {
    x: Float64Array.from(r.x),
    n,
    source: `MIS (v1 Eq. 6): final states of ${n} chains after ${source.steps} steps, proposal ${q}`,
    acceptance: r.acceptance,
  };
}
