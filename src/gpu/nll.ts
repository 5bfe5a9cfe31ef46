/// <reference types="@webgpu/types" />
/**
 * The maximum-likelihood objective of `neuralrg fit` (src/train/nll.ts: NLL = −(1/B) Σ_b ln q(x_b),
 * and q_sym of Eq. S4 with `symmetrize`) with the flow's block layers on WebGPU (kernel.ts,
 * float32) and the rest in float64 JavaScript, as on the CPU.
 *
 * One call = the taped inference pass of the minibatch x (and, for q_sym, of −x into a second
 * tape); z and the log-determinants are read back; the CPU computes ln q = ln N(z; 0, 1) + ln|det|,
 * the q_sym weights and the adjoints (∂(−ln q)/∂z = z, ∂(−ln q)/∂ln|det| = −1, scaled by w/B);
 * the backward of each inference pass accumulates the parameter gradient on the device, reduced
 * there and read back once. The data-space preprocessing (dequantisation, logit) stays on the CPU
 * (train/fit.ts), before x is uploaded.
 */
import type { Real } from "../engine/real.ts";
import { logAddExp, sigmoid } from "../engine/math.ts";
import type { FlowModel } from "../flow/flow.ts";
import { priorLogProb } from "../flow/flow.ts";
import { GpuFlowKernel } from "./kernel.ts";

export interface GpuNllOptions {
  /** fit q_sym(x) = ½[q(x) + q(−x)] (Eq. S4) instead of q */
  symmetrize: boolean;
}

export class GpuNllObjective {
  private constructor(
    private readonly kernel: GpuFlowKernel,
    private readonly opts: GpuNllOptions,
    readonly batch: number,
  ) {}

  /** Compile the kernels for this flow and allocate buffers for minibatches of `batch` rows. */
  static async create(
    device: GPUDevice,
    model: FlowModel,
    opts: GpuNllOptions,
    batch: number,
  ): Promise<GpuNllObjective> {
    // tape region 0: the inference pass of x; 1: that of −x (q_sym)
    const kernel = await GpuFlowKernel.create(device, model, batch, opts.symmetrize ? [1, 1] : [1]);
    return new GpuNllObjective(kernel, opts, batch);
  }

  /** A taped inference pass of x in `region`: ln q(x_b) (float64) and z. */
  private async logQ(region: number, x: Float32Array<ArrayBuffer>) {
    const N = this.kernel.model.nvars;
    const inf = await this.kernel.pass(region, x);
    const logQ = priorLogProb(inf.out, this.batch, N);
    for (let b = 0; b < this.batch; b++) logQ[b] += inf.logDet[b];
    return { z: inf.out, logQ };
  }

  /** Backward of the pass in `region` with weights w_b/B of ∂(−ln q(x_b))/∂θ (w = 1 when null). */
  private backward(
    region: number,
    z: Float32Array<ArrayBuffer>,
    weight: Float64Array | null,
    clear: boolean,
  ): Promise<Float32Array<ArrayBuffer> | null> {
    const { batch } = this;
    const N = this.kernel.model.nvars;
    const gz = new Float32Array(batch * N);
    const gLd = new Float32Array(batch);
    for (let b = 0; b < batch; b++) {
      const c = (weight ? weight[b] : 1) / batch;
      gLd[b] = -c;
      for (let i = b * N; i < (b + 1) * N; i++) gz[i] = z[i] * c;
    }
    return this.kernel.backward(region, gz, gLd, clear, false);
  }

  /**
   * −ln q(x_b) of each data row (q_sym with `symmetrize`) and the gradient of their batch mean
   * with respect to the parameters (the contract of train/nll.ts nllLossAndGrad). `batch` must be
   * the one given to `create`.
   */
  async lossAndGrad(params: Real, x: Real, batch: number): Promise<{ perSample: Float64Array; grad: Float64Array }> {
    const k = this.kernel;
    k.checkShape(params, x, batch, "x");
    k.setParams(params);
    const x32 = Float32Array.from(x);
    const perSample = new Float64Array(batch);
    const pp = await this.logQ(0, x32);
    if (!this.opts.symmetrize) {
      for (let b = 0; b < batch; b++) perSample[b] = -pp.logQ[b];
      await this.backward(0, pp.z, null, true);
    } else {
      for (let i = 0; i < x32.length; i++) x32[i] = -x32[i];
      const pm = await this.logQ(1, x32);
      const w1 = new Float64Array(batch);
      const w2 = new Float64Array(batch);
      for (let b = 0; b < batch; b++) {
        w1[b] = sigmoid(pp.logQ[b] - pm.logQ[b]);
        w2[b] = 1 - w1[b];
        perSample[b] = Math.LN2 - logAddExp(pp.logQ[b], pm.logQ[b]);
      }
      await this.backward(0, pp.z, w1, true);
      await this.backward(1, pm.z, w2, false);
    }
    return { perSample, grad: await k.reduceGrad() };
  }

  /** Release the GPU buffers (the device stays). */
  destroy(): void {
    this.kernel.destroy();
  }
}
