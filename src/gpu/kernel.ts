/// <reference types="@webgpu/types" />
/**
 * The flow's block layers on a WebGPU device (shader.ts, float32): pipelines, buffers and the
 * taped passes shared by the objectives — PDD (objective.ts: generate, then inference of −x) and
 * maximum likelihood (nll.ts: inference of x and, for q_sym, of −x).
 *
 * The kernel owns one compact tape per "tape region"; each region is compiled for one direction
 * (0 = generate z → x, 1 = inference x → z), so a pass and its backward find their tape on the
 * device. A pass uploads its input, runs one dispatch per layer and reads back its output and the
 * per-row log-determinants; a backward uploads the output and log-determinant adjoints and
 * accumulates the parameter gradient into per-slot slices (no atomics: the sum order is fixed),
 * which `reduceGrad` sums on the device and reads back.
 */
import type { Real } from "../engine/real.ts";
import type { FlowModel } from "../flow/flow.ts";
import { blockShader, reduceShader, UNIFORM_FIELDS, WORKGROUP } from "./shader.ts";

const UNIFORM_STRIDE = 256; // minUniformBufferOffsetAlignment

/** Direction of a pass: 0 = generate (z → x), 1 = inference (x → z). */
export type PassDir = 0 | 1;

export class GpuFlowKernel {
  private readonly nl: number;
  private readonly slots: number;
  private readonly forwardPipe: GPUComputePipeline;
  private readonly backwardPipe: GPUComputePipeline;
  private readonly reducePipe: GPUComputePipeline;
  private readonly bind: GPUBindGroup[]; // [region * nl + layer]
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
    readonly model: FlowModel,
    readonly batch: number,
    /** the direction of each tape region */
    private readonly dirs: readonly PassDir[],
  ) {
    const { layers, specs, nvars: N, nparams } = model;
    const nl = layers.length;
    const nr = dirs.length;
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
      tape: mk(4 * nr * batch * tapePerRow, S),
      blocks: mk(4 * blockData.length, S | GPUBufferUsage.COPY_DST),
      logdet: mk(4 * batch, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC),
      adj: mk(4 * batch * N, S | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC),
      gld: mk(4 * batch, S | GPUBufferUsage.COPY_DST),
      gpart: mk(4 * this.slots * nparams, S | GPUBufferUsage.COPY_DST),
      gout: mk(4 * nparams, S | GPUBufferUsage.COPY_SRC),
      uniform: mk(UNIFORM_STRIDE * nr * nl, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      reduceU: mk(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      rbState: mk(4 * batch * N, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
      rbLd: mk(4 * batch, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
      rbGrad: mk(4 * nparams, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
    };
    device.queue.writeBuffer(this.buf.blocks, 0, blockData);
    // one uniform slot per (region, layer); the tape of region r, layer l starts at r·batch·tapePerRow + batch·(Σ M of the layers before l)
    const u = new Uint32Array((UNIFORM_STRIDE / 4) * nr * nl);
    const bind: GPUBindGroup[] = [];
    for (let r = 0; r < nr; r++) {
      let tapeOff = r * batch * tapePerRow;
      for (let l = 0; l < nl; l++) {
        const vals: Record<(typeof UNIFORM_FIELDS)[number], number> = {
          dir: dirs[r],
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
        UNIFORM_FIELDS.forEach((f, i) => (u[(UNIFORM_STRIDE / 4) * (r * nl + l) + i] = vals[f]));
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
                  offset: UNIFORM_STRIDE * (r * nl + l),
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

  /**
   * Compile the kernels for this flow and allocate buffers for `batch` rows and one tape per
   * entry of `dirs` (the direction of the passes taped there). Validation errors reject.
   */
  static async create(
    device: GPUDevice,
    model: FlowModel,
    batch: number,
    dirs: readonly PassDir[],
  ): Promise<GpuFlowKernel> {
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`batch = ${batch} is invalid: it must be an integer >= 1`);
    if (dirs.length < 1) throw new RangeError("the GPU kernel needs at least one tape region");
    device.pushErrorScope("validation");
    const k = new GpuFlowKernel(device, model, batch, dirs);
    const err = await device.popErrorScope();
    if (err) throw new Error(`WebGPU kernel setup failed: ${err.message}`);
    return k;
  }

  /** Throws unless a call is for this kernel's batch and flow. */
  checkShape(params: Real, input: Real, batch: number, what: string): void {
    const N = this.model.nvars;
    if (batch !== this.batch || input.length !== batch * N) {
      throw new RangeError(
        `GPU objective built for batch ${this.batch} × ${N} variables, called with batch ${batch} (${what} of length ${input.length})`,
      );
    }
    if (params.length !== this.model.nparams)
      throw new RangeError(`parameter array has ${params.length} entries, the flow needs ${this.model.nparams}`);
  }

  /** Upload the parameters (rounded to float32) for the following passes. */
  setParams(params: Real): void {
    this.device.queue.writeBuffer(this.buf.P, 0, Float32Array.from(params));
  }

  /** Layers in application order for a region's direction (generate: reverse inference order). */
  private order(region: number): number[] {
    const o = Array.from({ length: this.nl }, (_, i) => i);
    return this.dirs[region] === 0 ? o.reverse() : o;
  }

  private async read(buffer: GPUBuffer, n: number): Promise<Float32Array<ArrayBuffer>> {
    await buffer.mapAsync(GPUMapMode.READ, 0, 4 * n);
    const out = new Float32Array(buffer.getMappedRange(0, 4 * n).slice(0));
    buffer.unmap();
    return out;
  }

  /** One taped pass on `input` (batch × N) in the direction of `region`; returns its output and log-determinants. */
  async pass(
    region: number,
    input: Float32Array<ArrayBuffer>,
  ): Promise<{ out: Float32Array<ArrayBuffer>; logDet: Float32Array<ArrayBuffer> }> {
    const { device, buf, batch } = this;
    const n = batch * this.model.nvars;
    device.queue.writeBuffer(buf.state, 0, input, 0, n);
    const enc = device.createCommandEncoder();
    enc.clearBuffer(buf.logdet);
    const cp = enc.beginComputePass();
    cp.setPipeline(this.forwardPipe);
    for (const l of this.order(region)) {
      cp.setBindGroup(0, this.bind[region * this.nl + l]);
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

  /**
   * Backward of the pass taped in `region`: output adjoint `gOut`, log-determinant adjoint `gLd`;
   * accumulates into the gradient slots (cleared first when `clear`); reads the input adjoint back when asked.
   */
  async backward(
    region: number,
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
    for (const l of this.order(region).reverse()) {
      cp.setBindGroup(0, this.bind[region * this.nl + l]);
      cp.dispatchWorkgroups(Math.ceil(this.slots / WORKGROUP));
    }
    cp.end();
    if (readInput) enc.copyBufferToBuffer(buf.adj, 0, buf.rbState, 0, 4 * n);
    device.queue.submit([enc.finish()]);
    return readInput ? this.read(buf.rbState, n) : null;
  }

  /** Sum the gradient slots on the device and read the parameter gradient back. */
  async reduceGrad(): Promise<Float64Array> {
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

  /** Release the GPU buffers (the device stays). */
  destroy(): void {
    for (const b of Object.values(this.buf)) b.destroy();
  }
}
