/// <reference types="@webgpu/types" />
/**
 * WebGPU in Node (`--backend webgpu`): Dawn's bindings from the optional npm package `webgpu`,
 * loaded at run time, so that neuralrg installs and runs without it. The block kernel is the
 * playground's (objective.ts, shader.ts); only the device comes from here.
 *
 * Without a GPU, Dawn offers no adapter unless a Vulkan driver is reachable: SwiftShader, the CPU
 * implementation of Vulkan that Debian's chromium package ships (vk_swiftshader_icd.json), is
 * selected by the environment variable VK_ICD_FILENAMES. It is never chosen silently: it is an
 * emulation for checking correctness, slower than the CPU kernels, and the error for a machine
 * without an adapter names the file to set.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Real } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";
import { GpuNllObjective } from "./nll.ts";
import { GpuObjective, probeWebGpu } from "./objective.ts";

/** No usable WebGPU: the package is missing or Dawn found no adapter. The message is one line saying what to install or set. */
export class WebGpuUnavailableError extends Error {
  override readonly name = "WebGpuUnavailableError";
}

/** Where Debian's (and some other distributions') chromium package puts SwiftShader's Vulkan ICD. */
const SWIFTSHADER_ICDS = [
  "/usr/lib/chromium/vk_swiftshader_icd.json",
  "/usr/lib64/chromium/vk_swiftshader_icd.json",
  "/usr/lib/chromium-browser/vk_swiftshader_icd.json",
];

/** SwiftShader's Vulkan ICD file on this machine, or null. */
export function findSwiftShaderIcd(): string | null {
  return SWIFTSHADER_ICDS.find((p) => existsSync(p)) ?? null;
}

/** The file URL of the `webgpu` package's entry point, or null when it is not installed. */
function webgpuUrl(): string | null {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve("webgpu")).href;
  } catch {
    return null;
  }
}

const INSTALL =
  "--backend webgpu needs the optional package webgpu (Dawn's WebGPU for Node), which is not installed: run npm i webgpu";

function noAdapterMessage(stderr: string): string {
  if (/libvulkan\.so\.1: cannot open/.test(stderr)) {
    return "--backend webgpu: no WebGPU adapter: Dawn cannot load the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: apt-get install libvulkan1)";
  }
  const set = process.env.VK_ICD_FILENAMES;
  if (set)
    return `--backend webgpu: no WebGPU adapter with VK_ICD_FILENAMES=${set} (Dawn found no usable driver there; unset it to use the system's GPU drivers)`;
  const icd = findSwiftShaderIcd();
  const hint = icd
    ? `without a GPU, VK_ICD_FILENAMES=${icd} selects SwiftShader, a CPU emulation for checking correctness (slower than the CPU kernels)`
    : "without a GPU, point VK_ICD_FILENAMES at SwiftShader's vk_swiftshader_icd.json (Debian's chromium package ships it in /usr/lib/chromium), a CPU emulation for checking correctness (slower than the CPU kernels)";
  return `--backend webgpu: no WebGPU adapter (Dawn found no usable GPU driver); ${hint}`;
}

export type NodeWebGpuProbe =
  { available: true; adapter: string; fallback: boolean } | { available: false; reason: string };

/**
 * The adapter `--backend webgpu` would use, or a one-line reason why there is none. Asked in a
 * child process (about 0.2 s), so that the Vulkan loader's own warnings stay out of the terminal.
 */
export function probeNodeWebGpu(): NodeWebGpuProbe {
  const url = webgpuUrl();
  if (url === null) return { available: false, reason: INSTALL };
  const child = fileURLToPath(new URL("./probe-child.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [child, url], { encoding: "utf8", timeout: 60_000, env: process.env });
  const line = (r.stdout ?? "")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line)
    return {
      available: false,
      reason: `--backend webgpu: probing the WebGPU adapter failed (${r.error?.message ?? `exit status ${r.status}`})`,
    };
  const res = JSON.parse(line) as
    | { ok: true; info: Record<string, string | boolean | undefined> }
    | { ok: false; kind: "load" | "adapter"; reason: string };
  if (!res.ok) {
    if (res.kind === "load")
      return {
        available: false,
        reason: `--backend webgpu: the package webgpu failed to load: ${res.reason} (reinstall it: npm i webgpu)`,
      };
    return { available: false, reason: noAdapterMessage(r.stderr ?? "") };
  }
  const i = res.info;
  const name =
    [i.vendor, i.architecture, i.device, i.description].filter((s) => typeof s === "string" && s).join(" ") ||
    "unknown adapter";
  return { available: true, adapter: name, fallback: i.fallback === true };
}

/** A WebGPU device of this process. */
export interface NodeWebGpu {
  readonly device: GPUDevice;
  /** vendor, architecture, device and description of the adapter, e.g. "google swiftshader … SwiftShader driver 5.0.0" */
  readonly adapter: string;
  /** Dawn's instance, referenced as long as the device is used */
  readonly instance: GPU;
  destroy(): void;
}

interface WebGpuModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Open a WebGPU device through the `webgpu` package (high-performance adapter). Throws
 * WebGpuUnavailableError (one line: what to install or set) when the package or an adapter is missing.
 */
export async function openNodeWebGpu(): Promise<NodeWebGpu> {
  const probe = probeNodeWebGpu();
  if (!probe.available) throw new WebGpuUnavailableError(probe.reason);
  const mod = (await import(webgpuUrl() as string)) as WebGpuModule;
  // the kernel uses the WebGPU constants (GPUBufferUsage, GPUShaderStage, GPUMapMode) as globals, as in a browser
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
  const gpu = mod.create([]);
  const r = await probeWebGpu(gpu, { powerPreference: "high-performance" });
  if (!r.available) throw new WebGpuUnavailableError(`--backend webgpu: ${r.reason}`);
  // the GPU object is kept referenced as long as the device: Dawn's instance must outlive its devices
  // (when the instance is garbage-collected first, the next device call crashes the process)
  return { device: r.device, adapter: r.adapter, instance: gpu, destroy: () => r.device.destroy() };
}

/** The trainer's AsyncObjective on a WebGPU device, for the run's flow, target and batch. */
export interface GpuTrainObjective {
  lossAndGrad(
    params: Real,
    z: Real,
    batch: number,
    nvars: number,
  ): Promise<{ perSample: Float64Array; grad: Float64Array }>;
  /** evaluate against this (annealed) target from now on (train/anneal.ts) */
  useTarget(factor: number, target: Target): void;
  close(): Promise<void>;
}

/** The parts of a training configuration that decide whether it can run on WebGPU (a TrainConfig or a FitConfig fits). */
export interface GpuRunSettings {
  dtype: string;
  buffer?: unknown;
  symmetryWeight?: number;
  gradient?: string;
  batchFinal?: number;
}

/** Why a run configuration cannot train on WebGPU, or null. */
export function webgpuUnsupported(c: GpuRunSettings, workers: number): string | null {
  if (c.dtype !== "float32")
    return `dtype = ${c.dtype} cannot be combined with backend webgpu: the WebGPU kernel computes in float32 (--dtype float32, the default with --backend webgpu)`;
  if (workers > 1)
    return `workers = ${workers} cannot be combined with backend webgpu: the GPU takes the whole batch (use workers 1)`;
  if (c.buffer)
    return "the experience buffer (--buffer-size / --nll-weight) runs on the CPU only: it cannot be combined with backend webgpu";
  if ((c.symmetryWeight ?? 0) > 0)
    return `symmetry-weight = ${c.symmetryWeight} cannot be combined with backend webgpu: the WebGPU objective has no symmetry regulariser`;
  if (c.gradient === "path")
    return "gradient = path cannot be combined with backend webgpu: the WebGPU objective computes the reparametrised gradient (--gradient reparam, the default with --backend webgpu)";
  if (c.batchFinal !== undefined)
    return `batch-final = ${c.batchFinal} cannot be combined with backend webgpu: the WebGPU kernel is compiled for one batch size`;
  return null;
}

/** Compile the kernel for the trainer's flow and batch on `gpu` (the device stays open; close frees the buffers). */
export async function createGpuTrainObjective(
  gpu: NodeWebGpu,
  state: { model: FlowModel; target: Target; config: { symmetrize: boolean; batch: number } },
): Promise<GpuTrainObjective> {
  const o = await GpuObjective.create(
    gpu.device,
    state.model,
    state.target,
    { symmetrize: state.config.symmetrize },
    state.config.batch,
  );
  return {
    lossAndGrad: (params, z, batch, nvars) => o.lossAndGrad(params, z, batch, nvars),
    useTarget: (factor, target) => o.useTarget(factor, target),
    close: async () => o.destroy(),
  };
}

/** The maximum-likelihood objective of `fit` on a WebGPU device (train/fit.ts: fitStepAsync). */
export interface GpuFitObjective {
  /** −ln q(x_b) of each data row and the gradient of their batch mean */
  lossAndGrad(params: Real, x: Real, batch: number): Promise<{ perSample: Float64Array; grad: Float64Array }>;
  close(): Promise<void>;
}

/** Compile the kernel for the fit's flow and minibatch on `gpu` (the device stays open; close frees the buffers). */
export async function createGpuFitObjective(
  gpu: NodeWebGpu,
  state: { model: FlowModel; config: { symmetrize: boolean; batch: number } },
): Promise<GpuFitObjective> {
  const o = await GpuNllObjective.create(
    gpu.device,
    state.model,
    { symmetrize: state.config.symmetrize },
    state.config.batch,
  );
  return {
    lossAndGrad: (params, x, batch) => o.lossAndGrad(params, x, batch),
    close: async () => o.destroy(),
  };
}

/**
 * For tests and checks (never called by train): the system's adapter when there is one; else,
 * when VK_ICD_FILENAMES is unset and SwiftShader's ICD is installed, sets VK_ICD_FILENAMES to it
 * (for this process and its children) and returns SwiftShader's adapter.
 */
export function webGpuAdapterOrSwiftShader(): NodeWebGpuProbe & { swiftshader: boolean } {
  const first = probeNodeWebGpu();
  const icd = findSwiftShaderIcd();
  if (first.available || process.env.VK_ICD_FILENAMES || icd === null || first.reason === INSTALL) {
    return { ...first, swiftshader: first.available && /swiftshader/i.test(first.adapter) };
  }
  process.env.VK_ICD_FILENAMES = icd;
  const second = probeNodeWebGpu();
  if (!second.available) delete process.env.VK_ICD_FILENAMES;
  return { ...second, swiftshader: second.available };
}
