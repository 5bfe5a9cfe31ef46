/**
 * The training worker's logic, independent of the worker globals: messages in (validated by
 * protocol.ts), messages out through `post`, and a cooperative training loop that runs epochs
 * for a short time slice, reports them, and yields through `schedule` so that pause, reset and
 * export requests are handled between slices. Every failure is reported as an `error`
 * message; nothing a message contains can throw out of `handle`.
 */
import {
  parseRequest,
  ProtocolError,
  type Backend,
  type EpochPoint,
  type Request,
  type Response,
  type RunState,
  type WebGpuStatus,
} from "./protocol.ts";
import { PlaygroundSession, type Provenance, type SessionObjective } from "./session.ts";

export interface HandlerOptions {
  post(msg: Response): void;
  /** run `fn` soon, after pending messages (a worker: setTimeout(fn, 0)) */
  schedule(fn: () => void): void;
  /** milliseconds (performance.now) */
  now(): number;
  /** whether the WebAssembly SIMD kernel could be instantiated here, and why not */
  wasm: { available: boolean; reason?: string };
  /**
   * WebGPU: whether an adapter and device were obtained (and why not), and how to build a
   * session's GPU objective (the worker: src/gpu/objective.ts; tests: any async objective)
   */
  webgpu?: WebGpuStatus & { objective?: (session: PlaygroundSession) => Promise<SessionObjective> };
  provenance: Provenance;
  /** training time per slice before yielding (default 50 ms) */
  sliceMs?: number;
  /** minimum time between sample-grid refreshes while training (default 400 ms) */
  samplePeriodMs?: number;
}

export interface WorkerHandler {
  /** handle one message from the page (never throws) */
  handle(raw: unknown): void;
  readonly state: RunState;
  readonly session: PlaygroundSession | null;
}

export function createHandler(o: HandlerOptions): WorkerHandler {
  const sliceMs = o.sliceMs ?? 50;
  const samplePeriodMs = o.samplePeriodMs ?? 400;
  let session: PlaygroundSession | null = null;
  let state: RunState = "idle";
  /** generation counter: a slice scheduled for an earlier session does nothing */
  let generation = 0;
  let lastSamples = -Infinity;
  let runEpochs = 0;
  let runMs = 0;

  const rate = (): number => (runMs > 0 ? (1000 * runEpochs) / runMs : 0);
  const status = (message?: string): void =>
    o.post({
      type: "status",
      state,
      epoch: session?.epoch ?? 0,
      epochsPerSecond: rate(),
      ...(message ? { message } : {}),
    });
  const error = (err: unknown, request?: string): void => {
    const message = err instanceof Error ? err.message : String(err);
    o.post({ type: "error", message, ...(request ? { request } : {}) });
  };
  const postSamples = (): void => {
    if (!session) return;
    o.post(session.samples());
    lastSamples = o.now();
  };

  const needSession = (what: string): PlaygroundSession => {
    if (!session) throw new ProtocolError(`${what}: no model yet (start training or import a checkpoint first)`);
    return session;
  };

  /** generation for which a slice is pending (-1: none); a pending slice of an older run is ignored */
  let scheduledGen = -1;
  const scheduleSlice = (): void => {
    if (scheduledGen === generation) return;
    const gen = generation;
    scheduledGen = gen;
    o.schedule(() => {
      if (gen !== generation) return;
      scheduledGen = -1;
      slice();
    });
  };

  /** an async (WebGPU) slice is in flight: no other slice starts until it ends */
  let busy = false;

  function slice(): void {
    const s = session;
    if (state !== "running" || !s || busy) return;
    if (s.async) {
      if (!s.ready) return; // scheduled again once the GPU objective is attached
      busy = true;
      void asyncSlice(s, generation);
      return;
    }
    const t0 = o.now();
    const points: EpochPoint[] = [];
    try {
      while (s.epoch < s.epochs) {
        points.push(s.step());
        if (o.now() - t0 >= sliceMs) break;
      }
    } catch (err) {
      stopped(points, err);
      return;
    }
    sliceDone(s, points, o.now() - t0);
  }

  /**
   * Epochs through the session's async objective for one time slice (messages are handled
   * between epochs, so the state may change meanwhile). Clears `busy` before it posts or
   * schedules anything.
   */
  async function asyncSlice(s: PlaygroundSession, gen: number): Promise<void> {
    const t0 = o.now();
    const points: EpochPoint[] = [];
    try {
      while (s.epoch < s.epochs) {
        points.push(await s.stepAsync());
        if (gen !== generation || state !== "running" || o.now() - t0 >= sliceMs) break;
      }
    } catch (err) {
      busy = false;
      if (gen === generation) stopped(points, err);
      return;
    }
    busy = false;
    if (gen !== generation) return; // reset or replaced while the GPU was busy
    if (state !== "running") {
      // paused (or HMC) during the slice: report the epochs done, schedule nothing
      runMs += o.now() - t0;
      runEpochs += points.length;
      if (points.length) o.post({ type: "epochs", points });
      status();
      return;
    }
    sliceDone(s, points, o.now() - t0);
  }

  function stopped(points: EpochPoint[], err: unknown): void {
    state = "paused";
    if (points.length) o.post({ type: "epochs", points });
    error(err, "train");
    status("training stopped");
  }

  function sliceDone(s: PlaygroundSession, points: EpochPoint[], ms: number): void {
    runMs += ms;
    runEpochs += points.length;
    if (points.length) o.post({ type: "epochs", points });
    const finished = s.epoch >= s.epochs;
    if (finished || o.now() - lastSamples >= samplePeriodMs) postSamples();
    if (finished) {
      state = "done";
      status(`finished ${s.epoch} epochs`);
      return;
    }
    status();
    scheduleSlice();
  }

  function checkBackend(backend: Backend): void {
    if ((backend === "wasm" || backend === "webgpu") && !o.wasm.available) {
      throw new ProtocolError(
        `the wasm kernel is not available in this browser (${o.wasm.reason ?? "WebAssembly SIMD missing"}): choose the js backend`,
      );
    }
    if (backend === "webgpu" && !(o.webgpu?.available && o.webgpu.objective)) {
      throw new ProtocolError(
        `WebGPU is not available in this browser (${o.webgpu?.reason ?? "not probed"}): choose the wasm backend`,
      );
    }
  }

  /** Build a WebGPU session's objective in the background; its first slice runs when it is ready. */
  function attachGpu(s: PlaygroundSession): void {
    if (!s.async) return;
    const gen = generation;
    const make = o.webgpu?.objective as (session: PlaygroundSession) => Promise<SessionObjective>;
    make(s).then(
      (obj) => {
        if (gen !== generation) {
          obj.destroy();
          return;
        }
        s.attach(obj);
        if (state === "running") scheduleSlice();
      },
      (err: unknown) => {
        if (gen !== generation) return;
        state = "paused";
        error(
          new Error(`the WebGPU kernel could not be set up: ${err instanceof Error ? err.message : String(err)}`),
          "start",
        );
        status("training stopped");
      },
    );
  }

  function dispatch(req: Request): void {
    switch (req.type) {
      case "start": {
        checkBackend(req.config.backend);
        const s = PlaygroundSession.create(req.config);
        generation++;
        session?.dispose();
        session = s;
        attachGpu(s);
        runEpochs = 0;
        runMs = 0;
        state = "running";
        o.post({ type: "started", info: s.info() });
        postSamples();
        status();
        scheduleSlice();
        return;
      }
      case "pause":
        if (state === "running") {
          state = "paused";
          status();
        }
        return;
      case "resume": {
        const s = needSession("resume");
        if (state === "paused") {
          if (s.epoch >= s.epochs) {
            state = "done";
            status(`already at the configured ${s.epochs} epochs`);
            return;
          }
          state = "running";
          status();
          scheduleSlice();
        }
        return;
      }
      case "reset":
        generation++;
        session?.dispose();
        session = null;
        state = "idle";
        runEpochs = 0;
        runMs = 0;
        status();
        return;
      case "sample":
        needSession("sample");
        postSamples();
        return;
      case "wander":
        o.post(needSession("wander").wander(req.site));
        return;
      case "hmc": {
        const s = needSession("hmc");
        if (state === "running") {
          state = "paused";
          status("paused for HMC");
        }
        o.post(s.hmc(req, (method, done, total) => o.post({ type: "hmc-progress", method, done, total })));
        return;
      }
      case "export": {
        const s = needSession("export");
        const files = s.exportFiles(o.provenance);
        o.post({ type: "checkpoint", checkpoint: files.checkpoint, config: files.config, epoch: s.epoch });
        return;
      }
      case "import": {
        checkBackend(req.backend);
        const s = PlaygroundSession.fromCheckpointText(req.text, req.name, req.backend);
        generation++;
        session?.dispose();
        session = s;
        attachGpu(s);
        runEpochs = 0;
        runMs = 0;
        state = s.epoch >= s.epochs ? "done" : "paused";
        const F = s.evaluate(Math.min(1024, 4 * s.storedConfig.batch));
        o.post({ type: "imported", info: s.info(), F });
        postSamples();
        status(`imported ${req.name} at epoch ${s.epoch}`);
        return;
      }
    }
  }

  return {
    handle(raw: unknown): void {
      let req: Request;
      try {
        req = parseRequest(raw);
      } catch (err) {
        const t =
          typeof raw === "object" && raw !== null && typeof (raw as { type?: unknown }).type === "string"
            ? (raw as { type: string }).type
            : undefined;
        error(err, t);
        return;
      }
      try {
        dispatch(req);
      } catch (err) {
        error(err, req.type);
      }
    },
    get state() {
      return state;
    },
    get session() {
      return session;
    },
  };
}
