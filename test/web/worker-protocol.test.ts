/**
 * The browser playground's worker logic, run in Node (no browser): message validation, the
 * cooperative training loop (start / pause / resume / reset), samples, wander, HMC, and
 * checkpoint export/import in exactly the CLI's format.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addTrainOptions, trainConfigFromOptions, type TrainCliOptions } from "../../src/cli/train.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/io/checkpoint.ts";
import { loadTrainedRun } from "../../src/train/run.ts";
import { relaxedIsing } from "../../src/targets/ising.ts";
import { estimateEpochBytes } from "../../src/train/memory.ts";
import { createTrainer, trainEpoch } from "../../src/train/trainer.ts";
import { createHandler, type HandlerOptions, type WorkerHandler } from "../../web/src/handler.ts";
import {
  cliTrainArgs,
  DEFAULT_CONFIG,
  estimateTrainingBytes,
  MAX_TRAINING_BYTES,
  parseConfig,
  parseRequest,
  ProtocolError,
  type PlaygroundConfig,
  type Response,
} from "../../web/src/protocol.ts";
import { toTrainConfig } from "../../web/src/session.ts";

const PROV = { packageVersion: "0.1.0", gitCommit: "unknown", nodeVersion: "browser (test)" };

function small(over: Partial<PlaygroundConfig> = {}): PlaygroundConfig {
  return {
    ...DEFAULT_CONFIG,
    L: 4,
    depth: 2,
    nlayers: 2,
    nmlp: 1,
    nhidden: 8,
    batch: 64,
    lr: 0.01,
    seed: 7,
    epochs: 12,
    backend: "wasm",
    ...over,
  };
}

interface Harness {
  h: WorkerHandler;
  out: Response[];
  /** run scheduled slices until none is pending (or `max` slices) */
  drain(max?: number): number;
  of<T extends Response["type"]>(type: T): Extract<Response, { type: T }>[];
  clear(): void;
}

function harness(opts: Partial<HandlerOptions> = {}): Harness {
  const out: Response[] = [];
  const queue: (() => void)[] = [];
  let clock = 0;
  const h = createHandler({
    post: (m) => out.push(m),
    schedule: (fn) => queue.push(fn),
    now: () => clock++,
    wasm: { available: true },
    provenance: PROV,
    sliceMs: 0, // one epoch per slice: deterministic
    samplePeriodMs: 1e9,
    ...opts,
  });
  return {
    h,
    out,
    drain(max = 1e6) {
      let n = 0;
      while (queue.length && n < max) {
        (queue.shift() as () => void)();
        n++;
      }
      return n;
    },
    of: <T extends Response["type"]>(type: T) =>
      out.filter((m): m is Extract<Response, { type: T }> => m.type === type),
    clear: () => void out.splice(0),
  };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "neuralrg-web-"));
}

describe("protocol validation", () => {
  const bad: [unknown, RegExp][] = [
    [null, /malformed message/],
    [42, /malformed message/],
    ["start", /malformed message/],
    [[{ type: "start" }], /malformed message/],
    [{}, /unknown message type undefined/],
    [{ type: "launch" }, /unknown message type "launch": accepted types are start, pause/],
    [{ type: "start" }, /config undefined is invalid: expected an object/],
    [
      { type: "start", config: { ...DEFAULT_CONFIG, L: 5 } },
      /L = 5 is invalid: the lattice size must be one of 4, 8, 16, 32/,
    ],
    [
      { type: "start", config: { ...DEFAULT_CONFIG, L: 8, depth: 4 } },
      /depth = 4 is invalid: depth must be an integer in 1..3/,
    ],
    [{ type: "start", config: { ...DEFAULT_CONFIG, T: "hot" } }, /T = "hot" is invalid/],
    [{ type: "start", config: { ...DEFAULT_CONFIG, lr: 0 } }, /lr = 0 is invalid: lr must be a number in \(0, 0.1\]/],
    [{ type: "start", config: { ...DEFAULT_CONFIG, batch: 2.5 } }, /batch = 2.5 is invalid/],
    [
      { type: "start", config: { ...DEFAULT_CONFIG, backend: "cuda" } },
      /backend = "cuda" is invalid: accepted values are "wasm", "js", "webgpu"/,
    ],
    [
      { type: "start", config: { ...DEFAULT_CONFIG, L: 32, depth: 5, batch: 4096 } },
      /would need about \d+ MB per epoch, more than this page allows/,
    ],
    [{ type: "wander", site: -1 }, /site = -1 is invalid/],
    [{ type: "hmc", chains: 0, ntraj: 10, warmup: 0 }, /chains = 0 is invalid/],
    [{ type: "import", text: 5, backend: "js" }, /import: text = 5 is invalid/],
    [{ type: "import", text: "{}", backend: "gpu" }, /backend = "gpu" is invalid/],
  ];
  for (const [msg, re] of bad) {
    it(`rejects ${JSON.stringify(msg)?.slice(0, 70)}`, () => {
      expect(() => parseRequest(msg)).toThrow(ProtocolError);
      expect(() => parseRequest(msg)).toThrow(re);
    });
  }

  it("accepts the page's messages", () => {
    expect(parseRequest({ type: "start", config: DEFAULT_CONFIG })).toEqual({ type: "start", config: DEFAULT_CONFIG });
    expect(parseRequest({ type: "pause", extra: 1 })).toEqual({ type: "pause" });
    expect(parseRequest({ type: "hmc", chains: 4, ntraj: 10, warmup: 2 })).toEqual({
      type: "hmc",
      chains: 4,
      ntraj: 10,
      warmup: 2,
    });
    expect(parseRequest({ type: "import", text: "x", backend: "js" })).toEqual({
      type: "import",
      text: "x",
      name: "checkpoint.json",
      backend: "js",
    });
    // symmetrize defaults to true
    const { symmetrize: _, ...noSym } = DEFAULT_CONFIG;
    expect(parseConfig(noSym).symmetrize).toBe(true);
  });

  it("estimates an epoch's memory with the CLI's measured formula (float32 on webgpu) and accepts what fits", () => {
    const c = { ...DEFAULT_CONFIG, L: 32, depth: 5, batch: 1024 };
    const cli = estimateEpochBytes({ L: 32, layout: "mera", depth: 5, batch: 1024, dtype: "float64", passes: 2 });
    expect(estimateTrainingBytes(c)).toBe(cli);
    expect(estimateTrainingBytes({ ...c, backend: "webgpu" })).toBe(cli / 2);
    expect(estimateTrainingBytes({ ...c, symmetrize: false })).toBeLessThan(cli);
    expect(parseConfig(c).batch).toBe(1024);
    expect(estimateTrainingBytes({ ...c, batch: 4096 })).toBeGreaterThan(MAX_TRAINING_BYTES);
  });
});

describe("worker handler", () => {
  it("answers malformed messages with an error and keeps working", () => {
    const t = harness();
    for (const m of [
      undefined,
      null,
      "x",
      { type: 3 },
      { type: "start", config: { L: 3 } },
      { type: "wander", site: 0 },
      { type: "export" },
    ]) {
      expect(() => t.h.handle(m)).not.toThrow();
    }
    const errors = t.of("error");
    expect(errors).toHaveLength(7);
    expect(errors[4].request).toBe("start");
    expect(errors[5].message).toMatch(/no model yet/);
    expect(t.h.state).toBe("idle");
    t.h.handle({ type: "start", config: small({ epochs: 3 }) });
    t.drain();
    expect(t.h.state).toBe("done");
    expect(
      t
        .of("epochs")
        .flatMap((m) => m.points)
        .map((p) => p.epoch),
    ).toEqual([1, 2, 3]);
  });

  it("trains exactly as the core trainer does (same config, same F sequence) and F decreases", () => {
    const cfg = small({ epochs: 30 });
    const t = harness();
    t.h.handle({ type: "start", config: cfg });
    const started = t.of("started")[0];
    const target = relaxedIsing({ L: 4, T: cfg.T });
    expect(started.info.exact).toBe(target.exactNegLogZ);
    expect(started.info.trainConfig).toEqual(JSON.parse(JSON.stringify(toTrainConfig(cfg))));
    expect(t.drain()).toBe(30);
    const points = t.of("epochs").flatMap((m) => m.points);
    expect(points.map((p) => p.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const ref = createTrainer(toTrainConfig(cfg), target);
    const refF = Array.from({ length: 30 }, () => trainEpoch(ref).F);
    expect(points.map((p) => p.F)).toEqual(refF);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const F = points.map((p) => p.F);
    expect(mean(F.slice(-5))).toBeLessThan(mean(F.slice(0, 5)));
    expect(mean(F.slice(-5)) - target.exactNegLogZ).toBeLessThan(F[0] - target.exactNegLogZ);
    for (const p of points)
      expect(p.relErr).toBeCloseTo((p.F - target.exactNegLogZ) / Math.abs(target.exactNegLogZ), 12);
    const last = t.of("status").at(-1);
    expect(last?.state).toBe("done");
    expect(last?.epoch).toBe(30);
    const s = t.of("samples").at(-1);
    expect(s?.epoch).toBe(30);
    expect(s?.fields.length).toBe(8 * 16);
    expect(s?.spins.every((v) => v === 1 || v === -1)).toBe(true);
    expect(s?.fields.every((v) => v > -1 && v < 1)).toBe(true);
    expect(s?.levels.map((l) => l.size)).toEqual([2, 1]);
  });

  it("pauses between slices, resumes, resets; a start replaces the run", () => {
    const t = harness();
    t.h.handle({ type: "start", config: small({ epochs: 10 }) });
    t.drain(3);
    t.h.handle({ type: "pause" });
    expect(t.h.state).toBe("paused");
    t.drain();
    expect(t.h.session?.epoch).toBe(3);
    t.h.handle({ type: "resume" });
    t.drain();
    expect(t.h.session?.epoch).toBe(10);
    expect(t.h.state).toBe("done");
    t.h.handle({ type: "resume" }); // nothing to resume: no error, no change
    expect(t.of("error")).toHaveLength(0);
    t.h.handle({ type: "start", config: small({ epochs: 4, seed: 9 }) });
    t.h.handle({ type: "start", config: small({ epochs: 2, seed: 10 }) });
    t.drain();
    expect(t.h.session?.epoch).toBe(2);
    t.h.handle({ type: "reset" });
    expect(t.h.state).toBe("idle");
    expect(t.h.session).toBeNull();
    expect(t.drain()).toBe(0);
  });

  it("refuses the wasm backend when the kernel could not load", () => {
    const t = harness({ wasm: { available: false, reason: "no SIMD" } });
    t.h.handle({ type: "start", config: small() });
    expect(t.of("error")[0].message).toMatch(
      /wasm kernel is not available in this browser \(no SIMD\): choose the js backend/,
    );
    t.h.handle({ type: "start", config: small({ backend: "js", epochs: 2 }) });
    t.drain();
    expect(t.h.session?.epoch).toBe(2);
    expect(t.of("started")[0].info.backend).toBe("js");
  });

  it("exports the CLI's checkpoint format: loadCheckpoint and loadTrainedRun read it, bytes equal saveCheckpoint's", () => {
    const cfg = small({ epochs: 5 });
    const t = harness();
    t.h.handle({ type: "start", config: cfg });
    t.drain();
    t.h.handle({ type: "export" });
    const ex = t.of("checkpoint")[0];
    expect(ex.epoch).toBe(5);
    const dir = tmp();
    writeFileSync(join(dir, "checkpoint.json"), ex.checkpoint);
    writeFileSync(join(dir, "config.json"), ex.config);
    const ck = loadCheckpoint(join(dir, "checkpoint.json"));
    const s = t.h.session!;
    expect(ck.epoch).toBe(5);
    expect(Array.from(ck.params)).toEqual(Array.from(s.trainer.params));
    expect(ck.rng).toEqual(s.trainer.rng.state());
    expect(ck.nodeVersion).toBe("browser (test)");
    expect(JSON.parse(ex.config)).toEqual(ck.config);
    const run = loadTrainedRun(dir);
    expect(run.epoch).toBe(5);
    expect(run.config.kernel).toBe("wasm");
    // the same fields through the CLI's writer give the same bytes
    const again = join(dir, "cli.json");
    saveCheckpoint(again, { ...ck, createdAt: ck.createdAt });
    expect(readFileSync(again, "utf8")).toBe(ex.checkpoint);
  });

  it("imports its own export and a CLI checkpoint; rejects corrupt files and other targets without dying", () => {
    const cfg = small({ epochs: 6 });
    const a = harness();
    a.h.handle({ type: "start", config: cfg });
    a.drain(4);
    a.h.handle({ type: "pause" });
    a.h.handle({ type: "export" });
    const text = a.of("checkpoint")[0].checkpoint;

    const b = harness();
    b.h.handle({ type: "import", text, name: "checkpoint.json", backend: "js" });
    const imp = b.of("imported")[0];
    expect(imp.info.epoch).toBe(4);
    expect(imp.info.origin).toBe("imported");
    expect(imp.info.backend).toBe("js");
    expect(imp.info.trainConfig.kernel).toBe("wasm"); // the stored config is kept as it was
    expect(Number.isFinite(imp.F.mean)).toBe(true);
    expect(b.h.state).toBe("paused");
    expect(Array.from(b.h.session!.trainer.params)).toEqual(Array.from(a.h.session!.trainer.params));
    // resuming the import continues exactly like the original run would
    b.h.handle({ type: "resume" });
    b.drain();
    a.h.handle({ type: "resume" });
    a.drain();
    const fa = a
      .of("epochs")
      .flatMap((m) => m.points)
      .filter((p) => p.epoch > 4)
      .map((p) => p.F);
    const fb = b
      .of("epochs")
      .flatMap((m) => m.points)
      .map((p) => p.F);
    expect(fb).toHaveLength(2);
    fb.forEach((f, i) => expect(f).toBeCloseTo(fa[i], 8)); // js vs wasm kernel: equal up to rounding

    // a checkpoint written by the CLI's saveCheckpoint
    const dir = tmp();
    const target = relaxedIsing({ L: 4, T: 2.5 });
    const tc = { ...toTrainConfig(small({ T: 2.5 })), kernel: undefined, dtype: "float32" as const };
    const tr = createTrainer(tc, target);
    trainEpoch(tr);
    saveCheckpoint(join(dir, "checkpoint.json"), {
      epoch: tr.epoch,
      config: JSON.parse(JSON.stringify(tc)),
      params: tr.params,
      optimiser: { step: tr.adam.step, m: tr.adam.m, v: tr.adam.v },
      rng: tr.rng.state(),
      extra: { lrScale: 0.5, rollbacks: 1 },
    });
    const c = harness();
    c.h.handle({
      type: "import",
      text: readFileSync(join(dir, "checkpoint.json"), "utf8"),
      name: "cli/checkpoint.json",
      backend: "wasm",
    });
    expect(c.of("error")).toEqual([]);
    expect(c.of("imported")[0].info.config.T).toBe(2.5);
    expect(c.h.session?.trainer.lrScale).toBe(0.5); // the CLI's numerical-guard state is honoured …
    c.h.handle({ type: "export" });
    const back = join(dir, "back.json");
    writeFileSync(back, c.of("checkpoint")[0].checkpoint);
    expect(loadCheckpoint(back).extra).toEqual({ lrScale: 0.5, rollbacks: 1 }); // … and kept on export
    expect(loadCheckpoint(back).params).toBeInstanceOf(Float32Array); // and the dtype

    // corrupt, truncated and foreign files: an error message each, the worker stays usable
    const flipped = text.replace('"epoch":4', '"epoch":5');
    c.h.handle({ type: "import", text: flipped, name: "edited.json", backend: "js" });
    c.h.handle({ type: "import", text: text.slice(0, 200), name: "cut.json", backend: "js" });
    c.h.handle({ type: "import", text: "", name: "empty.json", backend: "js" });
    const g = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8"));
    g.payload.config.target = { kind: "gaussian", L: 4 };
    g.sha256 = createHash("sha256").update(JSON.stringify(g.payload)).digest("hex");
    c.h.handle({ type: "import", text: JSON.stringify(g), name: "gauss.json", backend: "js" });
    const errs = c.of("error").map((e) => e.message);
    expect(errs[0]).toMatch(/checkpoint edited.json: checksum mismatch/);
    expect(errs[1]).toMatch(/checkpoint cut.json: is truncated/);
    expect(errs[2]).toMatch(/checkpoint empty.json: is empty/);
    expect(errs[3]).toMatch(/target "gaussian": this playground shows the relaxed Ising model only/);
    expect(c.h.session?.info().config.T).toBe(2.5); // the previous model is still loaded
  });

  it("imports a CLI checkpoint with nrepeat > 1: memory estimate, parameters and the CLI line carry it", () => {
    const dir = tmp();
    const target = relaxedIsing({ L: 4, T: 2.5 });
    const base = toTrainConfig(small({ T: 2.5 }));
    const tc = { ...base, flow: { ...base.flow, nrepeat: 2 } };
    const tr = createTrainer(tc, target);
    trainEpoch(tr);
    saveCheckpoint(join(dir, "checkpoint.json"), {
      epoch: tr.epoch,
      config: JSON.parse(JSON.stringify(tc)),
      params: tr.params,
      optimiser: { step: tr.adam.step, m: tr.adam.m, v: tr.adam.v },
      rng: tr.rng.state(),
    });
    const c = harness();
    c.h.handle({
      type: "import",
      text: readFileSync(join(dir, "checkpoint.json"), "utf8"),
      name: "r2.json",
      backend: "js",
    });
    expect(c.of("error")).toEqual([]);
    const info = c.of("imported")[0].info;
    expect(info.nparams).toBe(2 * createTrainer(base, target).model.nparams);
    expect(info.memoryBytes).toBe(
      estimateEpochBytes({ L: 4, layout: "mera", depth: 2, nrepeat: 2, batch: 64, dtype: "float64", passes: 2 }),
    );
    expect(info.memoryBytes).toBeGreaterThan(estimateTrainingBytes({ ...small(), backend: "js" }));
    expect(cliTrainArgs(info.trainConfig)).toContain("--nrepeat 2");
    expect(Array.from(c.h.session!.trainer.params)).toEqual(Array.from(tr.params));
  });

  it("latent wander and HMC on the current model", () => {
    const t = harness();
    t.h.handle({ type: "start", config: small({ epochs: 8 }) });
    t.drain();
    t.h.handle({ type: "wander", site: 0 }); // site 0 is the top-scale component for L = 4, depth 2
    const w = t.of("wander")[0];
    expect(w.scale).toBe(2);
    expect(w.original.length).toBe(16);
    expect(w.changedSites).toBeGreaterThan(0);
    expect(w.flippedLevels.map((l) => l.size)).toEqual([2, 1]);
    t.h.handle({ type: "wander", site: 16 });
    expect(t.of("error").at(-1)?.message).toMatch(/site = 16 is invalid: it must be an integer in 0..15 for L = 4/);
    t.h.handle({ type: "hmc", chains: 4, ntraj: 12, warmup: 4 });
    const h = t.of("hmc")[0];
    expect(h.latent.trace.length).toBe(16);
    expect(h.physical.trace.length).toBe(16);
    expect(h.exactS).toBeGreaterThan(0);
    expect(h.exactS).toBeLessThan(1);
    for (const r of [h.latent, h.physical]) {
      expect(r.acceptance).toBeGreaterThan(0);
      expect(Number.isFinite(r.S.mean)).toBe(true);
    }
    expect(t.of("hmc-progress").at(-1)).toMatchObject({ method: "physical", done: 16, total: 16 });
  });
});

describe("CLI command shown after export", () => {
  it("rebuilds exactly the exported run config through the CLI's own option parser", () => {
    for (const cfg of [DEFAULT_CONFIG, small({ symmetrize: false, backend: "js", lr: 0.0125, T: 3.1 })]) {
      const tc = JSON.parse(JSON.stringify(toTrainConfig(cfg)));
      const cmd = addTrainOptions(new Command("train").exitOverride(), { L: 8, epochs: 1000 });
      cmd.parse(["--out", "DIR", "--resume", ...cliTrainArgs(tc).split(" "), "--epochs", String(cfg.epochs)], {
        from: "user",
      });
      const rebuilt = JSON.parse(JSON.stringify(trainConfigFromOptions(cmd.opts() as TrainCliOptions)));
      expect(rebuilt).toEqual(tc);
    }
  });
});
