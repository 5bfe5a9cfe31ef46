/**
 * Progress with ETA on stderr. On an interactive terminal: a cli-progress bar with
 * custom fields (e.g. F, ±err, rel. err.). When stderr is not a TTY, or CI is set, or TERM=dumb:
 * one plain line at start, then at most every `intervalMs`, then at the end — no ANSI escapes,
 * so logs stay readable.
 */
import cliProgress from "cli-progress";

export interface ProgressField {
  /** Key in the values passed to update(). */
  key: string;
  /** Printed before the value (default: the key). Use "±" for an error column. */
  label?: string;
  /** Value formatter (default: 6 significant digits). */
  format?: (v: number) => string;
}

/** The minimal stream interface used (process.stderr, or a capture in tests). */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

export type ProgressMode = "auto" | "tty" | "plain" | "off";

export interface ProgressOptions {
  /** Final value, e.g. the number of epochs. */
  total: number;
  /** Starting value (e.g. the checkpoint's epoch when resuming; ETA counts from here). */
  start?: number;
  /** Name of one unit, shown in plain lines and the bar (default "epoch"). */
  unit?: string;
  fields?: ProgressField[];
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** "auto" (default) picks "tty" or "plain" from the stream and the environment. */
  mode?: ProgressMode;
  /** Minimum time between plain lines (default 10 000 ms). */
  intervalMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
  /** Environment consulted by "auto" (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface Progress {
  readonly mode: "tty" | "plain" | "off";
  /** Set the current value and field values. */
  update(value: number, values?: Record<string, number>): void;
  /** Print a message line without garbling the bar. */
  log(line: string): void;
  /** Finish: the bar is left on screen / a final plain line is printed. Idempotent. */
  stop(): void;
}

/** Significant-digit formatter. */
export const sig =
  (digits: number) =>
  (v: number): string =>
    Number.isFinite(v) ? v.toPrecision(digits) : String(v);
/** Exponential formatter, e.g. exp(2)(0.00123) = "1.23e-3". */
export const exp =
  (digits: number) =>
  (v: number): string =>
    Number.isFinite(v) ? v.toExponential(digits).replace("e+", "e") : String(v);
/** Fixed-point formatter. */
export const fixed =
  (digits: number) =>
  (v: number): string =>
    Number.isFinite(v) ? v.toFixed(digits) : String(v);

/** Human duration: "12s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function isTruthyEnv(v: string | undefined): boolean {
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** The mode "auto" resolves to for this stream and environment. */
export function resolveProgressMode(
  mode: ProgressMode,
  stream: ProgressStream,
  env: Record<string, string | undefined>,
): "tty" | "plain" | "off" {
  if (mode !== "auto") return mode;
  if (isTruthyEnv(env.CI) || env.TERM === "dumb" || !stream.isTTY) return "plain";
  return "tty";
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const mode = resolveProgressMode(opts.mode ?? "auto", stream, opts.env ?? process.env);
  const unit = opts.unit ?? "epoch";
  const fields = opts.fields ?? [];
  const fieldText = (values: Record<string, number>): string =>
    fields
      .filter((f) => values[f.key] !== undefined)
      .map((f) => `${f.label ?? f.key} ${(f.format ?? sig(6))(values[f.key])}`)
      .join("  ");

  if (mode === "off") {
    return { mode, update() {}, log() {}, stop() {} };
  }

  if (mode === "tty") {
    const multi = new cliProgress.MultiBar(
      {
        stream: stream as unknown as NodeJS.WritableStream,
        format: `${unit} {value}/{total} {bar} {percentage}% ETA {eta_formatted} | {fields}`,
        barCompleteChar: "\u2588",
        barIncompleteChar: "\u2591",
        barsize: 20,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
        clearOnComplete: false,
        stopOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    const bar = multi.create(opts.total, opts.start ?? 0, { fields: "" });
    let stopped = false;
    return {
      mode,
      update(value, values = {}) {
        if (!stopped) bar.update(value, { fields: fieldText(values) });
      },
      log(line) {
        if (!stopped) multi.log(line.endsWith("\n") ? line : line + "\n");
        else stream.write(line.endsWith("\n") ? line : line + "\n");
      },
      stop() {
        if (stopped) return;
        stopped = true;
        multi.stop();
      },
    };
  }

  // Plain lines.
  const now = opts.now ?? (() => Date.now());
  const interval = opts.intervalMs ?? 10_000;
  const t0 = now();
  const v0 = opts.start ?? 0;
  let lastPrint = -Infinity;
  let value = v0;
  let values: Record<string, number> = {};
  let stopped = false;
  const line = (): string => {
    const elapsed = (now() - t0) / 1000;
    const done = value - v0;
    const eta = done > 0 ? ((opts.total - value) * elapsed) / done : NaN;
    const pct = opts.total > 0 ? Math.floor((100 * value) / opts.total) : 100;
    const f = fieldText(values);
    return `${unit} ${value}/${opts.total} (${pct}%) elapsed ${formatDuration(elapsed)} ETA ${formatDuration(eta)}${f ? "  " + f : ""}\n`;
  };
  const print = (): void => {
    lastPrint = now();
    stream.write(line());
  };
  return {
    mode,
    update(v, vals) {
      if (stopped) return;
      value = v;
      if (vals) values = { ...values, ...vals };
      if (now() - lastPrint >= interval) print();
    },
    log(msg) {
      stream.write(msg.endsWith("\n") ? msg : msg + "\n");
    },
    stop() {
      if (stopped) return;
      stopped = true;
      print();
    },
  };
}
