/// <reference types="@webgpu/types" />
/**
 * The PDD objective (src/train/objectives.ts, Eq. 5 and the symmetrised Eq. S4) with the flow's
 * block layers on WebGPU (kernel.ts, shader.ts; float32) and the rest — the prior, the target's log π and
 * gradient, the sigmoid weights of q_sym — in float64 JavaScript, as in the CPU path.
 *
 * One call = the generate pass with its compact tape (kept on the GPU), then for q_sym the
 * inference pass of −x, the backward of the inference pass, and the backward of the generate
 * pass; the parameter gradient is reduced on the GPU and read back once. Four GPU → CPU reads
 * per call (x, z′, the adjoint of −x, the gradient). It has the shape of the worker-thread
 * objective (train/parallel.ts), so the trainer's async epoch (trainEpochParallel) drives it:
 * the parameters, Adam and the random stream stay on the CPU, exactly as for the other kernels.
 */
import type { Real } from "../engine/real.ts";
import { logAddExp, sigmoid } from "../engine/math.ts";
import type { FlowModel } from "../flow/flow.ts";
import { priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";
import { GpuFlowKernel } from "./kernel.ts";

/** What the worker found: a usable adapter and device, or why not. */
export type GpuProbe = { available: true; device: GPUDevice; adapter: string } | { available: false; reason: string };

/** Request a WebGPU adapter and device (from `navigator.gpu` of a page or worker, or Node's `webgpu` package). Never throws. */
export async function probeWebGpu(gpu: GPU | undefined, options?: GPURequestAdapterOptions): Promise<GpuProbe> {
  if (!gpu)
    return {
      available: false,
      reason:
        "navigator.gpu is undefined (this browser exposes no WebGPU; Chromium needs a secure context and, headless or on Linux, --enable-unsafe-webgpu)",
    };
  try {
    const adapter = await gpu.requestAdapter(options);
    if (!adapter)
      return { available: false, reason: "navigator.gpu.requestAdapter() returned null (no usable GPU adapter)" };
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const info = adapter.info;
    const name =
      [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s).join(" ") ||
      "unknown adapter";
    return { available: true, device, adapter: name };
  } catch (err) {
    return { available: false, reason: `WebGPU device request failed: ${(err as Error).message}` };
  }
}

export interface GpuObjectiveOptions {
  symmetrize: boolean;
}

export class GpuObjective {
  private constructor(
    private readonly kernel: GpuFlowKernel,
    private target: Target,
    private readonly opts: GpuObjectiveOptions,
    readonly batch: number,
  ) {}

  /** Compile the kernels for this flow and allocate buffers for `batch` rows (validation errors reject). */
  static async create(
    device: GPUDevice,
    model: FlowModel,
    target: Target,
    opts: GpuObjectiveOptions,
    batch: number,
  ): Promise<GpuObjective> {
    if (target.nvars !== model.nvars)
      throw new RangeError(`target has ${target.nvars} variables but the flow has ${model.nvars}`);
    // tape region 0: the generate pass; 1: the inference pass of −x (q_sym)
    const kernel = await GpuFlowKernel.create(device, model, batch, opts.symmetrize ? [0, 1] : [0]);
    return new GpuObjective(kernel, target, opts, batch);
  }

  /** Evaluate against this target from now on (β annealing, train/anneal.ts; the factor is implied by it). */
  useTarget(_factor: number, target: Target): void {
    if (target.nvars !== this.target.nvars)
      throw new RangeError(`target has ${target.nvars} variables but the flow has ${this.target.nvars}`);
    this.target = target;
  }

  /**
   * Per-sample ln q(x) − ln π(x) of x = g(z) and the batch-mean gradient with respect to the
   * parameters (the contract of ParallelObjective.lossAndGrad). `batch` must be the one given
   * to `create`.
   */
  async lossAndGrad(
    params: Real,
    z: Real,
    batch: number,
    nvars: number,
  ): Promise<{ perSample: Float64Array; grad: Float64Array }> {
    const k = this.kernel;
    if (nvars !== k.model.nvars)
      throw new RangeError(`GPU objective built for ${k.model.nvars} variables, called with ${nvars}`);
    k.checkShape(params, z, batch, "z");
    const N = nvars;
    const inv = 1 / batch;
    k.setParams(params);
    const z32 = Float32Array.from(z);
    const gen = await k.pass(0, z32);
    const logQ = priorLogProb(z32, batch, N);
    for (let b = 0; b < batch; b++) logQ[b] -= gen.logDet[b];
    const x = Float64Array.from(gen.out);
    const logPi = new Float64Array(batch);
    const gradPi = new Float64Array(batch * N);
    this.target.logProb(x, batch, logPi, gradPi);
    const gx = new Float32Array(batch * N);
    const gLdGen = new Float32Array(batch);
    if (this.opts.symmetrize) {
      const xm = new Float32Array(batch * N);
      for (let k = 0; k < xm.length; k++) xm[k] = -gen.out[k];
      const inf = await k.pass(1, xm);
      const logQm = priorLogProb(inf.out, batch, N);
      const gz = new Float32Array(batch * N);
      const gLdInf = new Float32Array(batch);
      for (let b = 0; b < batch; b++) {
        logQm[b] += inf.logDet[b];
        const w1 = sigmoid(logQ[b] - logQm[b]);
        const w2 = 1 - w1;
        gLdGen[b] = -w1 * inv;
        gLdInf[b] = w2 * inv;
        for (let i = b * N; i < (b + 1) * N; i++) gz[i] = -inf.out[i] * w2 * inv;
        logQ[b] = logAddExp(logQ[b], logQm[b]) - Math.LN2;
      }
      const gxm = (await k.backward(1, gz, gLdInf, true, true)) as Float32Array<ArrayBuffer>;
      for (let k = 0; k < gx.length; k++) gx[k] = -gxm[k] - gradPi[k] * inv;
      await k.backward(0, gx, gLdGen, false, false);
    } else {
      gLdGen.fill(-inv);
      for (let k = 0; k < gx.length; k++) gx[k] = -gradPi[k] * inv;
      await k.backward(0, gx, gLdGen, true, false);
    }
    const grad = await k.reduceGrad();
    const perSample = new Float64Array(batch);
    for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
    return { perSample, grad };
  }

  /** Release the GPU buffers (the device stays). */
  destroy(): void {
    this.kernel.destroy();
  }
}
