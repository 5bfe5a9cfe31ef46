import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import type { Real } from "../../src/engine/real.ts";
import {
  CHECKPOINT_FORMAT,
  CheckpointError,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointInput,
} from "../../src/io/checkpoint.ts";
import { tempDir } from "./helpers.ts";

function filled<T extends Real>(a: T, seed: number): T {
  Rng.fromSeed(seed).fillNormal(a);
  return a;
}

function sample(dtype: "float32" | "float64", n = 1001): CheckpointInput {
  const make = (seed: number): Real => filled(dtype === "float64" ? new Float64Array(n) : new Float32Array(n), seed);
  const params = make(1);
  // Awkward values: −0, subnormal, huge, NaN, ±Infinity must survive bit-exactly.
  params[0] = -0;
  params[1] = dtype === "float64" ? 5e-324 : 1e-45;
  params[2] = dtype === "float64" ? 1.7976931348623157e308 : 3.4e38;
  params[3] = NaN;
  params[4] = Infinity;
  params[5] = -Infinity;
  const rng = Rng.fromSeed(7);
  rng.nextU32();
  return {
    epoch: 42,
    config: { target: { kind: "ising", L: 4, T: 2.269 }, flow: { depth: 2, layout: "mera" }, lr: 1e-3 },
    params,
    optimiser: { step: 42 * 3, m: make(2), v: make(3).map(Math.abs) as Real },
    rng: rng.state(),
    extra: { bestF: -12.5 },
    arrays: { buffer: make(4).subarray(0, 10) as Real },
  };
}

function bits(a: Real): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function problemOf(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CheckpointError) return err;
    throw err;
  }
  throw new Error("expected a CheckpointError");
}

describe("checkpoint", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`round-trips ${dtype} bit-exactly with all fields`, () => {
      const d = tempDir();
      const p = join(d, "checkpoint.json");
      const c = sample(dtype);
      const written = saveCheckpoint(p, c);
      const back = loadCheckpoint(p);
      expect(back.params).toBeInstanceOf(dtype === "float64" ? Float64Array : Float32Array);
      expect(bits(back.params)).toEqual(bits(c.params));
      expect(Object.is(back.params[0], -0)).toBe(true);
      expect(bits(back.optimiser.m)).toEqual(bits(c.optimiser.m));
      expect(bits(back.optimiser.v)).toEqual(bits(c.optimiser.v));
      expect(bits(back.arrays!.buffer)).toEqual(bits(c.arrays!.buffer));
      expect(back.optimiser.step).toBe(126);
      expect(back.epoch).toBe(42);
      expect(back.rng).toEqual(c.rng);
      expect(back.config).toEqual(c.config);
      expect(back.extra).toEqual({ bestF: -12.5 });
      expect(back.packageVersion).toBe(written.packageVersion);
      expect(back.packageVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(back.gitCommit).toMatch(/^([0-9a-f]{40}|unknown)$/);
      expect(back.createdAt).toBe(written.createdAt);
      // The restored RNG continues the same stream.
      const a = Rng.fromState(c.rng);
      const b = Rng.fromState(back.rng);
      for (let i = 0; i < 5; i++) expect(b.nextU32()).toBe(a.nextU32());
      const doc = JSON.parse(readFileSync(p, "utf8"));
      expect(doc.format).toBe(CHECKPOINT_FORMAT);
      expect(doc.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(doc.payload.params.dtype).toBe(dtype);
    });
  }

  it("rejects a missing file", () => {
    const p = join(tempDir(), "nope.json");
    const e = problemOf(() => loadCheckpoint(p));
    expect(e.problem).toBe("missing");
    expect(e.message).toContain(p);
    expect(e.message).toContain("missing");
    expect(e.message).not.toContain("\n");
  });

  it("rejects a flipped byte with a checksum mismatch", () => {
    const p = join(tempDir(), "c.json");
    saveCheckpoint(p, sample("float32"));
    const buf = readFileSync(p);
    const text = buf.toString("utf8");
    const at = text.indexOf('"base64":"') + 20; // inside the params data
    buf[at] = buf[at] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B': still valid base64 and JSON
    writeFileSync(p, buf);
    const e = problemOf(() => loadCheckpoint(p));
    expect(e.problem).toBe("checksum");
    expect(e.message).toMatch(/checksum mismatch/);
    expect(e.message).toContain(p);
    expect(e.message).not.toContain("\n");
  });

  it("rejects an edited number with a checksum mismatch", () => {
    const p = join(tempDir(), "c.json");
    saveCheckpoint(p, sample("float64"));
    writeFileSync(p, readFileSync(p, "utf8").replace('"epoch":42', '"epoch":43'));
    expect(problemOf(() => loadCheckpoint(p)).problem).toBe("checksum");
  });

  it("rejects a truncated file", () => {
    const p = join(tempDir(), "c.json");
    saveCheckpoint(p, sample("float64"));
    const text = readFileSync(p, "utf8");
    for (const cut of [0.1, 0.5, 0.99]) {
      writeFileSync(p, text.slice(0, Math.floor(text.length * cut)));
      const e = problemOf(() => loadCheckpoint(p));
      expect(e.problem).toBe("truncated");
      expect(e.message).toMatch(/truncated/);
      expect(e.message).toContain(p);
      expect(e.message).not.toContain("\n");
    }
    writeFileSync(p, "");
    expect(problemOf(() => loadCheckpoint(p)).problem).toBe("empty");
  });

  it("rejects a wrong format version and non-JSON", () => {
    const p = join(tempDir(), "c.json");
    saveCheckpoint(p, sample("float32"));
    writeFileSync(p, readFileSync(p, "utf8").replace(CHECKPOINT_FORMAT, "neuralrg-checkpoint/2"));
    const e = problemOf(() => loadCheckpoint(p));
    expect(e.problem).toBe("format");
    expect(e.message).toContain("neuralrg-checkpoint/2");
    expect(e.message).toContain(CHECKPOINT_FORMAT);
    writeFileSync(p, JSON.stringify({ hello: 1 }));
    expect(problemOf(() => loadCheckpoint(p)).message).toMatch(/no format field/);
    writeFileSync(p, "this is not json");
    const e2 = problemOf(() => loadCheckpoint(p));
    expect(e2.problem).toBe("not-json");
    expect(e2.message).not.toContain("\n");
  });

  it("rejects inconsistent shapes on save", () => {
    const c = sample("float32");
    c.optimiser.m = new Float32Array(3);
    const e = problemOf(() => saveCheckpoint(join(tempDir(), "c.json"), c));
    expect(e.message).toMatch(/optimiser\.m has 3 values but params has 1001/);
  });

  it("rejects a consistent-checksum payload whose data is short (truncated array)", () => {
    // Simulate a writer bug: declared length larger than the data, checksum recomputed.
    const p = join(tempDir(), "c.json");
    saveCheckpoint(p, sample("float32", 8));
    const doc = JSON.parse(readFileSync(p, "utf8"));
    doc.payload.params.length = 9;
    doc.sha256 = createHash("sha256").update(JSON.stringify(doc.payload)).digest("hex");
    writeFileSync(p, JSON.stringify(doc));
    const e = problemOf(() => loadCheckpoint(p));
    expect(e.problem).toBe("truncated");
    expect(e.message).toMatch(/params is truncated: 32 bytes for 9 float32 values/);
  });
});
