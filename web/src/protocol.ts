/**
 * The message protocol between the playground page and its training worker.
 *
 * Page → worker: `Request` (validated by `parseRequest`: anything malformed is answered with an
 * `error` message and otherwise ignored, never crashing the worker).
 * Worker → page: `Response`.
 *
 * Pure module (no DOM, no worker globals): shared by the page, the worker and the Node tests.
 */
import { criticalTemperature } from "../../src/targets/kaufman.ts";
import { estimateEpochBytes } from "../../src/train/memory.ts";

/**
 * The block-layer kernel: "wasm" (WebAssembly SIMD, float64), "js" (typed arrays, float64) or
 * "webgpu" (WGSL compute shaders, float32; the run is stored as the CLI's --dtype float32
 * --kernel wasm, its CPU equivalent).
 */
export type Backend = "wasm" | "js" | "webgpu";

/** What the worker found about WebGPU (navigator.gpu, adapter, device). */
export interface WebGpuStatus {
  available: boolean;
  /** why not (navigator.gpu undefined, adapter null, device request failed) */
  reason?: string;
  /** adapter vendor / architecture, e.g. "google swiftshader" */
  adapter?: string;
}

/** What the page's controls set: the training run of the playground (always the relaxed Ising target). */
export interface PlaygroundConfig {
  /** lattice size: 4, 8, 16 or 32 */
  L: number;
  /** temperature */
  T: number;
  /** renormalisation levels, 1..log2 L */
  depth: number;
  /** Real NVP couplings per 2×2 block */
  nlayers: number;
  /** hidden layers of each s and t network */
  nmlp: number;
  /** units per hidden layer */
  nhidden: number;
  batch: number;
  lr: number;
  seed: number;
  /** training stops after this many epochs (it can be paused before) */
  epochs: number;
  backend: Backend;
  /** the Z2-symmetrised model q_sym (Eq. S4), as the CLI's default */
  symmetrize: boolean;
}

export const LATTICE_SIZES = [4, 8, 16, 32] as const;
export const T_RANGE = [0.5, 5] as const;
export const TC = criticalTemperature();

export const DEFAULT_CONFIG: PlaygroundConfig = {
  L: 8,
  T: Number(TC.toFixed(3)),
  depth: 3,
  nlayers: 4,
  nmlp: 2,
  nhidden: 10,
  batch: 256,
  lr: 0.005,
  seed: 42,
  epochs: 500,
  backend: "wasm",
  symmetrize: true,
};

/**
 * Largest estimated working set of one training epoch (bytes) the playground accepts: a browser
 * tab shares its memory with the page, the worker's WebAssembly heap (which only grows) and the
 * GC's slack, so we keep the epoch itself well below a gigabyte.
 */
export const MAX_TRAINING_BYTES = 256 * 1024 * 1024;

/**
 * Working set of one epoch in bytes: the CLI's estimate (src/train/memory.ts, fitted to measured
 * peak RSS) for the playground's full MERA in float64 (wasm, js) or float32 (webgpu), with one
 * taped pass, or two with the symmetrised objective.
 */
export function estimateTrainingBytes(
  c: Pick<PlaygroundConfig, "L" | "depth" | "batch" | "symmetrize"> & { backend?: Backend; nrepeat?: number },
): number {
  return estimateEpochBytes({
    L: c.L,
    layout: "mera",
    depth: c.depth,
    nrepeat: c.nrepeat ?? 1,
    batch: c.batch,
    dtype: c.backend === "webgpu" ? "float32" : "float64",
    passes: c.symmetrize ? 2 : 1,
  });
}

/** One epoch's numbers as the page plots them. */
export interface EpochPoint {
  epoch: number;
  F: number;
  FstdErr: number;
  relErr: number;
  seconds: number;
}

export interface RunInfo {
  /** the TrainConfig stored in checkpoints (JSON) */
  trainConfig: Record<string, unknown>;
  config: PlaygroundConfig;
  nparams: number;
  /** exact −ln Z of the relaxed Ising model (text after Eq. 7) */
  exact: number;
  Tc: number;
  backend: Backend;
  epoch: number;
  /** estimated training working set in bytes */
  memoryBytes: number;
  /** where the model came from */
  origin: "new" | "imported";
}

export interface LevelImage {
  level: number;
  /** side of the coarse image */
  size: number;
  values: Float64Array;
}

export interface SamplesMessage {
  type: "samples";
  epoch: number;
  L: number;
  count: number;
  /** count × L²: tanh x (E[s | x]) of each generated configuration */
  fields: Float64Array;
  /** count × L²: spins drawn from π(s | x) */
  spins: Float64Array;
  /** the first configuration: its latent vector z, physical x and collective variables per scale */
  latent: Float64Array;
  physical: Float64Array;
  levels: LevelImage[];
  /** scale at which each site becomes latent */
  scaleOfSite: Int32Array;
}

export interface HmcSummary {
  method: "latent" | "physical";
  /** chain-averaged S per trajectory (warm-up included) */
  trace: Float64Array;
  warmup: number;
  S: { mean: number; error: number };
  energy: { mean: number; error: number };
  acceptance: number;
  stepSize: number;
  seconds: number;
}

export interface HmcMessage {
  type: "hmc";
  latent: HmcSummary;
  physical: HmcSummary;
  /** exact S = ⟨(Σs)²⟩/N² by enumeration (L ≤ 4), else null */
  exactS: number | null;
  /** exact energy per site (Kaufman) */
  exactEnergy: number;
  chains: number;
}

export interface WanderMessage {
  type: "wander";
  site: number;
  scale: number;
  L: number;
  /** x = g(z) and x′ = g(z with z_site → −z_site) */
  original: Float64Array;
  flipped: Float64Array;
  originalLevels: LevelImage[];
  flippedLevels: LevelImage[];
  changedSites: number;
  effectiveSites: number;
  maxAbsChange: number;
}

export type Request =
  | { type: "start"; config: PlaygroundConfig }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "reset" }
  | { type: "sample" }
  | { type: "hmc"; chains: number; ntraj: number; warmup: number }
  | { type: "wander"; site: number }
  | { type: "export" }
  | { type: "import"; text: string; name: string; backend: Backend };

export type RunState = "idle" | "running" | "paused" | "done";

export type Response =
  | { type: "ready"; wasm: { available: boolean; reason?: string }; webgpu: WebGpuStatus; version: string }
  | { type: "started"; info: RunInfo }
  | { type: "epochs"; points: EpochPoint[] }
  | { type: "status"; state: RunState; epoch: number; epochsPerSecond: number; message?: string }
  | SamplesMessage
  | { type: "hmc-progress"; method: "latent" | "physical"; done: number; total: number }
  | HmcMessage
  | WanderMessage
  | { type: "checkpoint"; checkpoint: string; config: string; epoch: number }
  | { type: "imported"; info: RunInfo; F: { mean: number; stdErr: number; n: number } }
  | { type: "error"; message: string; request?: string };

/** A request that cannot be handled; the message says what is wrong and what is accepted. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function int(o: Record<string, unknown>, key: string, lo: number, hi: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new ProtocolError(`${key} = ${show(v)} is invalid: ${key} must be an integer in ${lo}..${hi}`);
  }
  return v;
}

function num(o: Record<string, unknown>, key: string, lo: number, hi: number, loOpen = false): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) {
    throw new ProtocolError(
      `${key} = ${show(v)} is invalid: ${key} must be a number in ${loOpen ? "(" : "["}${lo}, ${hi}]`,
    );
  }
  return v;
}

export function parseBackend(v: unknown, key = "backend"): Backend {
  if (v !== "wasm" && v !== "js" && v !== "webgpu")
    throw new ProtocolError(`${key} = ${show(v)} is invalid: accepted values are "wasm", "js", "webgpu"`);
  return v;
}

/** Validate a playground configuration (ranges, memory); throws ProtocolError naming the offending field. */
export function parseConfig(raw: unknown): PlaygroundConfig {
  if (!isObject(raw)) throw new ProtocolError(`config ${show(raw)} is invalid: expected an object`);
  const L = raw.L;
  if (typeof L !== "number" || !(LATTICE_SIZES as readonly number[]).includes(L)) {
    throw new ProtocolError(`L = ${show(L)} is invalid: the lattice size must be one of ${LATTICE_SIZES.join(", ")}`);
  }
  const c: PlaygroundConfig = {
    L,
    T: num(raw, "T", T_RANGE[0], T_RANGE[1]),
    depth: int(raw, "depth", 1, Math.round(Math.log2(L))),
    nlayers: int(raw, "nlayers", 1, 16),
    nmlp: int(raw, "nmlp", 0, 4),
    nhidden: int(raw, "nhidden", 1, 128),
    batch: int(raw, "batch", 8, 4096),
    lr: num(raw, "lr", 0, 0.1, true),
    seed: int(raw, "seed", 0, 0xffffffff),
    epochs: int(raw, "epochs", 1, 100000),
    backend: parseBackend(raw.backend),
    symmetrize:
      raw.symmetrize === undefined
        ? true
        : (() => {
            if (typeof raw.symmetrize !== "boolean")
              throw new ProtocolError(`symmetrize = ${show(raw.symmetrize)} is invalid: expected true or false`);
            return raw.symmetrize;
          })(),
  };
  const bytes = estimateTrainingBytes(c);
  if (bytes > MAX_TRAINING_BYTES) {
    throw new ProtocolError(
      `batch ${c.batch} on a ${c.L}×${c.L} lattice with depth ${c.depth} would need about ${Math.round(bytes / 2 ** 20)} MB per epoch, ` +
        `more than this page allows (${MAX_TRAINING_BYTES / 2 ** 20} MB): lower the batch or the lattice size`,
    );
  }
  return c;
}

const MAX_IMPORT_CHARS = 256 * 1024 * 1024;

/** Validate a message from the page; throws ProtocolError with a one-line description. */
export function parseRequest(raw: unknown): Request {
  if (!isObject(raw))
    throw new ProtocolError(`malformed message ${show(raw).slice(0, 80)}: expected an object with a "type"`);
  const type = raw.type;
  switch (type) {
    case "start":
      return { type, config: parseConfig(raw.config) };
    case "pause":
    case "resume":
    case "reset":
    case "sample":
    case "export":
      return { type };
    case "hmc":
      return {
        type,
        chains: int(raw, "chains", 1, 256),
        ntraj: int(raw, "ntraj", 1, 5000),
        warmup: int(raw, "warmup", 0, 5000),
      };
    case "wander":
      return { type, site: int(raw, "site", 0, 32 * 32 - 1) };
    case "import": {
      if (typeof raw.text !== "string")
        throw new ProtocolError(
          `import: text = ${show(raw.text).slice(0, 40)} is invalid: expected the checkpoint file's text`,
        );
      if (raw.text.length > MAX_IMPORT_CHARS)
        throw new ProtocolError(`import: the file is larger than ${MAX_IMPORT_CHARS / 2 ** 20} MB`);
      const name = typeof raw.name === "string" ? raw.name : "checkpoint.json";
      return { type, text: raw.text, name, backend: parseBackend(raw.backend) };
    }
    default:
      throw new ProtocolError(
        `unknown message type ${show(type)}: accepted types are start, pause, resume, reset, sample, hmc, wander, export, import`,
      );
  }
}

/**
 * The `neuralrg train` options that rebuild a run config (a TrainConfig as JSON), so that
 * `neuralrg train --out DIR --resume <these> --epochs N` continues a model exported from the page
 * (resuming needs the same config; only the epochs may change).
 */
export function cliTrainArgs(t: Record<string, unknown>): string {
  const target = (t.target ?? {}) as Record<string, unknown>;
  const flow = (t.flow ?? {}) as Record<string, unknown>;
  const args = [
    `--L ${String(flow.L)}`,
    `--T ${String(target.T)}`,
    `--depth ${String(flow.depth)}`,
    `--layout ${String(flow.layout)}`,
    `--nlayers ${String(flow.nlayers)}`,
    `--nmlp ${String(flow.nmlp)}`,
    `--nhidden ${String(flow.nhidden)}`,
    // absent = 1 repetition and the paper's ELU; named explicitly because the CLI's defaults differ
    `--nrepeat ${typeof flow.nrepeat === "number" ? flow.nrepeat : 1}`,
    `--activation ${typeof flow.activation === "string" ? flow.activation : "elu"}`,
    `--batch ${String(t.batch)}`,
    `--lr ${String(t.lr)}`,
    `--seed ${String(t.seed)}`,
    `--dtype ${String(t.dtype)}`,
    `--init ${String(t.init)}`,
  ];
  if (t.weightDecay !== undefined && t.weightDecay !== 0) args.push(`--weight-decay ${String(t.weightDecay)}`);
  if (t.symmetrize === false) args.push("--no-symmetrize");
  if (typeof t.symmetryWeight === "number" && t.symmetryWeight > 0) args.push(`--symmetry-weight ${t.symmetryWeight}`);
  if (t.kernel !== undefined) args.push(`--kernel ${String(t.kernel)}`);
  // the CLI's defaults are the path gradient and a cosine schedule: name the config's own explicitly
  const sched = t.lrSchedule as { warmup: number; decay: string; final: number } | undefined;
  if (!(typeof t.symmetryWeight === "number" && t.symmetryWeight > 0))
    args.push(`--gradient ${String(t.gradient ?? "reparam")}`);
  args.push(
    sched
      ? `--lr-decay ${sched.decay} --warmup ${sched.warmup} --lr-final ${sched.final}`
      : "--lr-decay constant --warmup 0",
  );
  if (t.batchFinal !== undefined) args.push(`--batch-final ${String(t.batchFinal)}`);
  if (t.beta2 !== undefined) args.push(`--beta2 ${String(t.beta2)}`);
  if (t.clipNorm !== undefined) args.push(`--clip-norm ${String(t.clipNorm)}`);
  // β annealing (absent = off, whatever the CLI's default)
  const anneal = t.anneal as { fraction: number; betaStart: number } | undefined;
  args.push(anneal ? `--anneal ${anneal.fraction} --anneal-from ${anneal.betaStart}` : "--anneal 0");
  return args.join(" ");
}
