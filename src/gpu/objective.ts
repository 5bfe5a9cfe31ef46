/// <reference types="@webgpu/types" />
/**
 * The PDD objective (src/train/objectives.ts, Eq. 5 and the symmetrised Eq. S4) with the flow's
 * block layers on WebGPU (shader.ts, float32) and the rest — the prior, the target's log π and
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
import { blockShader, reduceShader, UNIFORM_FIELDS, WORKGROUP } from "./shader.ts";

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

const UNIFORM_STRIDE = 256; // minUniformBufferOffsetAlignment

export interface GpuObjectiveOptions {
  symmetrize: boolean;
}

export class GpuObjective {
  private readonly nl: number;
  private readonly slots: number;
  private readonly forwardPipe: GPUComputePipeline;
  private readonly backwardPipe: GPUComputePipeline;
  private readonly reducePipe: GPUComputePipeline;
  private readonly bind: GPUBindGroup[]; // [pass * nl + layer], pass 0 = generate, 1 = infer
  private readonly reduceBind: GPUBindGroup;
  private readonly buf: Record<
    | "P"
    | "state"
    | "tape"
    | "blocks"
    | "logdet"
    | "adj"
    | "gld"
    | "gpart"
    | "gout"
    | "uniform"
    | "reduceU"
    | "rbState"
    | "rbLd"
    | "rbGrad",
    GPUBuffer
  >;

  private constructor(
    private readonly device: GPUDevice,
    private readonly model: FlowModel,
    private readonly target: Target,
    private readonly opts: GpuObjectiveOptions,
    readonly batch: number,
  ) {
    const { layers, specs, nvars: N, nparams } = model;
    const nl = layers.length;
    this.nl = nl;
    // gradient slots: every slot owns nparams floats; ≤ 64 MB and ≤ batch
    this.slots = Math.max(1, Math.min(batch, 256, Math.floor((16 * 2 ** 20) / nparams)));
    const cfg = model.config;
    const module = device.createShaderModule({
      code: blockShader({ nlayers: cfg.nlayers, nmlp: cfg.nmlp, nhidden: cfg.nhidden, activation: cfg.activation }),
    });
    const storage = (binding: number, readOnly: boolean): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: readOnly ? "read-only-storage" : "storage" },
    });
    const layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
        storage(1, true),
        storage(2, false),
        storage(3, false),
        storage(4, true),
        storage(5, false),
        storage(6, false),
        storage(7, true),
        storage(8, false),
      ],
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    this.forwardPipe = device.createComputePipeline({
      layout: pipelineLayout,
      compute: { module, entryPoint: "forward" },
    });
    this.backwardPipe = device.createComputePipeline({
      layout: pipelineLayout,
      compute: { module, entryPoint: "backward" },
    });
    this.reducePipe = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code: reduceShader() }), entryPoint: "reduce" },
    });

    const S = GPUBufferUsage.STORAGE;
    const mk = (size: number, usage: number) =>
      device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage });
    const tapePerRow = layers.reduce((s, l) => s + 4 * l.nblocks, 0);
    const blockData = new Uint32Array(layers.reduce((s, l) => s + 4 * l.nblocks, 0));
    const blkOff: number[] = [];
    let off = 0;
    for (const l of layers) {
      blkOff.push(off);
      blockData.set(l.blocks.subarray(0, 4 * l.nblocks), off);
      off += 4 * l.nblocks;
    }
    this.buf = {
      P: mk(4 * nparams, S | GPUBufferUsage.COPY_DST),
      state: mk(4 * batch * N, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC),
      tape: mk(4 * 2 * batch * tapePerRow, S),
      blocks: mk(4 * blockData.length, S | GPUBufferUsage.COPY_DST),
      logdet: mk(4 * batch, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC),
      adj: mk(4 * batch * N, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC),
      gld: mk(4 * batch, S | GPUBufferUsage.COPY_DST),
      gpart: mk(4 * this.slots * nparams, S | GPUBufferUsage.COPY_DST),
      gout: mk(4 * nparams, S | GPUBufferUsage.COPY_SRC),
      uniform: mk(UNIFORM_STRIDE * 2 * nl, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      reduceU: mk(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      rbState: mk(4 * batch * N, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
      rbLd: mk(4 * batch, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
      rbGrad: mk(4 * nparams, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
    };
    device.queue.writeBuffer(this.buf.blocks, 0, blockData);
    // one uniform slot per (pass, layer); the tape of pass p, layer l starts at p·batch·tapePerRow + batch·(Σ M of the layers before l)
    const u = new Uint32Array((UNIFORM_STRIDE / 4) * 2 * nl);
    const bind: GPUBindGroup[] = [];
    for (let p = 0; p < 2; p++) {
      let tapeOff = p * batch * tapePerRow;
      for (let l = 0; l < nl; l++) {
        const vals: Record<(typeof UNIFORM_FIELDS)[number], number> = {
          dir: p,
          base: specs[l].base,
          nblocks: layers[l].nblocks,
          batch,
          N,
          tapeOff,
          blkOff: blkOff[l],
          slots: this.slots,
          tape: 1,
          nparams,
        };
        UNIFORM_FIELDS.forEach((f, i) => (u[(UNIFORM_STRIDE / 4) * (p * nl + l) + i] = vals[f]));
        tapeOff += batch * 4 * layers[l].nblocks;
        const entry = (binding: number, buffer: GPUBuffer): GPUBindGroupEntry => ({ binding, resource: { buffer } });
        bind.push(
          device.createBindGroup({
            layout,
            entries: [
              {
                binding: 0,
                resource: {
                  buffer: this.buf.uniform,
                  offset: UNIFORM_STRIDE * (p * nl + l),
                  size: 4 * UNIFORM_FIELDS.length,
                },
              },
              entry(1, this.buf.P),
              entry(2, this.buf.state),
              entry(3, this.buf.tape),
              entry(4, this.buf.blocks),
              entry(5, this.buf.logdet),
              entry(6, this.buf.adj),
              entry(7, this.buf.gld),
              entry(8, this.buf.gpart),
            ],
          }),
        );
      }
    }
    device.queue.writeBuffer(this.buf.uniform, 0, u);
    this.bind = bind;
    device.queue.writeBuffer(this.buf.reduceU, 0, new Uint32Array([nparams, this.slots, 0, 0]));
    this.reduceBind = device.createBindGroup({
      layout: this.reducePipe.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.buf.reduceU } },
        { binding: 1, resource: { buffer: this.buf.gpart } },
        { binding: 2, resource: { buffer: this.buf.gout } },
      ],
    });
  }

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
    device.pushErrorScope("validation");
    const o = new GpuObjective(device, model, target, opts, batch);
    const err = await device.popErrorScope();
    if (err) throw new Error(`WebGPU kernel setup failed: ${err.message}`);
    return o;
  }

  /** Layers in application order for a pass (generate: reverse inference order). */
  private order(pass: 0 | 1): number[] {
    const o = Array.from({ length: this.nl }, (_, i) => i);
    return pass === 0 ? o.reverse() : o;
  }

  private async read(buffer: GPUBuffer, n: number): Promise<Float32Array<ArrayBuffer>> {
    await buffer.mapAsync(GPUMapMode.READ, 0, 4 * n);
    const out = new Float32Array(buffer.getMappedRange(0, 4 * n).slice(0));
    buffer.unmap();
    return out;
  }

  /** One taped pass on `input` (batch × N); returns its output and log-determinants. */
  private async pass(
    pass: 0 | 1,
    input: Float32Array<ArrayBuffer>,
  ): Promise<{ out: Float32Array<ArrayBuffer>; logDet: Float32Array<ArrayBuffer> }> {
    const { device, buf, batch } = this;
    const n = batch * this.model.nvars;
    device.queue.writeBuffer(buf.state, 0, input, 0, n);
    const enc = device.createCommandEncoder();
    enc.clearBuffer(buf.logdet);
    const cp = enc.beginComputePass();
    cp.setPipeline(this.forwardPipe);
    for (const l of this.order(pass)) {
      cp.setBindGroup(0, this.bind[pass * this.nl + l]);
      cp.dispatchWorkgroups(Math.ceil(batch / WORKGROUP));
    }
    cp.end();
    enc.copyBufferToBuffer(buf.state, 0, buf.rbState, 0, 4 * n);
    enc.copyBufferToBuffer(buf.logdet, 0, buf.rbLd, 0, 4 * batch);
    device.queue.submit([enc.finish()]);
    const out = await this.read(buf.rbState, n);
    const logDet = await this.read(buf.rbLd, batch);
    return { out, logDet };
  }

  /** Backward of a taped pass; accumulates into the gradient slots; optionally reads the input adjoint back. */
  private async backward(
    pass: 0 | 1,
    gOut: Float32Array<ArrayBuffer>,
    gLd: Float32Array<ArrayBuffer>,
    clear: boolean,
    readInput: boolean,
  ): Promise<Float32Array<ArrayBuffer> | null> {
    const { device, buf, batch } = this;
    const n = batch * this.model.nvars;
    device.queue.writeBuffer(buf.adj, 0, gOut, 0, n);
    device.queue.writeBuffer(buf.gld, 0, gLd, 0, batch);
    const enc = device.createCommandEncoder();
    if (clear) enc.clearBuffer(buf.gpart);
    const cp = enc.beginComputePass();
    cp.setPipeline(this.backwardPipe);
    for (const l of this.order(pass).reverse()) {
      cp.setBindGroup(0, this.bind[pass * this.nl + l]);
      cp.dispatchWorkgroups(Math.ceil(this.slots / WORKGROUP));
    }
    cp.end();
    if (readInput) enc.copyBufferToBuffer(buf.adj, 0, buf.rbState, 0, 4 * n);
    device.queue.submit([enc.finish()]);
    return readInput ? this.read(buf.rbState, n) : null;
  }

  private async reduceGrad(): Promise<Float64Array> {
    const { device, buf } = this;
    const np = this.model.nparams;
    const enc = device.createCommandEncoder();
    const cp = enc.beginComputePass();
    cp.setPipeline(this.reducePipe);
    cp.setBindGroup(0, this.reduceBind);
    cp.dispatchWorkgroups(Math.ceil(np / WORKGROUP));
    cp.end();
    enc.copyBufferToBuffer(buf.gout, 0, buf.rbGrad, 0, 4 * np);
    device.queue.submit([enc.finish()]);
    return Float64Array.from(await this.read(buf.rbGrad, np));
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
    if (batch !== this.batch || nvars !== this.model.nvars || z.length !== batch * nvars) {
      throw new RangeError(
        `GPU objective built for batch ${this.batch} × ${this.model.nvars} variables, called with ${batch} × ${nvars} (z of length ${z.length})`,
      );
    }
    if (params.length !== this.model.nparams)
      throw new RangeError(`parameter array has ${params.length} entries, the flow needs ${this.model.nparams}`);
    const N = nvars;
    const inv = 1 / batch;
    this.device.queue.writeBuffer(this.buf.P, 0, Float32Array.from(params));
    const z32 = Float32Array.from(z);
    const gen = await this.pass(0, z32);
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
      const inf = await this.pass(1, xm);
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
      const gxm = (await this.backward(1, gz, gLdInf, true, true)) as Float32Array<ArrayBuffer>;
      for (let k = 0; k < gx.length; k++) gx[k] = -gxm[k] - gradPi[k] * inv;
      await this.backward(0, gx, gLdGen, false, false);
    } else {
      gLdGen.fill(-inv);
      for (let k = 0; k < gx.length; k++) gx[k] = -gradPi[k] * inv;
      await this.backward(0, gx, gLdGen, true, false);
    }
    const grad = await this.reduceGrad();
    const perSample = new Float64Array(batch);
    for (let b = 0; b < batch; b++) perSample[b] = logQ[b] - logPi[b];
    return { perSample, grad };
  }

  /** Release the GPU buffers (the device stays). */
  destroy(): void {
    for (const b of Object.values(this.buf)) b.destroy();
  }
}
