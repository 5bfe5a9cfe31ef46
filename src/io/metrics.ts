/**
 * Per-epoch metrics as CSV: append-only, header written once, numbers printed with
 * full precision (JavaScript's shortest round-trip representation, so parse(format(x)) === x).
 * Non-finite values are written as NaN, Infinity, -Infinity; a missing value as an empty cell
 * (read back as NaN).
 *
 * Resume: `openMetrics(path, columns, { truncateAfter: { column: "epoch", value: ckpt.epoch } })`
 * drops rows written after the checkpoint (and a partial last line left by a crash), so the
 * resumed run's metrics.csv ends up identical to that of an uninterrupted run.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { writeFileAtomic } from "./atomic.ts";

export type MetricsRow = Record<string, number>;

export interface MetricsTable {
  columns: string[];
  rows: MetricsRow[];
}

export class MetricsError extends Error {
  override readonly name = "MetricsError";
}

const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_.\-]*$/;

function checkColumns(columns: readonly string[]): void {
  if (columns.length === 0) throw new MetricsError("metrics need at least one column");
  const seen = new Set<string>();
  for (const c of columns) {
    if (!COLUMN_RE.test(c))
      throw new MetricsError(`metrics column name ${JSON.stringify(c)} is invalid (letters, digits, _ . - only)`);
    if (seen.has(c)) throw new MetricsError(`metrics column ${JSON.stringify(c)} is repeated`);
    seen.add(c);
  }
}

/** Full-precision text of a number. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (Object.is(x, -0)) return "-0";
  return String(x);
}

function parseCell(cell: string, path: string, line: number, column: string): number {
  if (cell === "" || cell === "NaN") return NaN;
  const x = Number(cell);
  if (Number.isNaN(x))
    throw new MetricsError(`metrics ${path}:${line}: column ${column} holds ${JSON.stringify(cell)}, not a number`);
  return x;
}

/** Split text into complete lines (a final line without "\n" is incomplete: a crashed write). */
function completeLines(text: string): { lines: string[]; partial: boolean } {
  const parts = text.split("\n");
  const last = parts.pop() ?? "";
  return { lines: parts.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)), partial: last.length > 0 };
}

/**
 * Parse a metrics CSV. A partial last line (no trailing newline) is ignored. Throws
 * MetricsError (one line, naming file and line) on malformed content.
 */
export function readMetrics(path: string): MetricsTable {
  const text = readFileSync(path, "utf8");
  return parseMetrics(text, path);
}

export function parseMetrics(text: string, path = "<metrics>"): MetricsTable {
  const { lines } = completeLines(text);
  if (lines.length === 0) return { columns: [], rows: [] };
  const columns = lines[0].split(",");
  const rows: MetricsRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === "") continue;
    const cells = lines[i].split(",");
    if (cells.length !== columns.length) {
      throw new MetricsError(`metrics ${path}:${i + 1}: ${cells.length} cells, header has ${columns.length}`);
    }
    const row: MetricsRow = {};
    for (let j = 0; j < columns.length; j++) row[columns[j]] = parseCell(cells[j], path, i + 1, columns[j]);
    rows.push(row);
  }
  return { columns, rows };
}

/** Format rows as CSV text (header plus one line per row). */
export function formatMetrics(columns: readonly string[], rows: readonly MetricsRow[]): string {
  checkColumns(columns);
  let s = columns.join(",") + "\n";
  for (const r of rows) s += formatRow(columns, r);
  return s;
}

function formatRow(columns: readonly string[], row: Partial<MetricsRow>): string {
  const cells = columns.map((c) => {
    const v = row[c];
    return v === undefined ? "" : formatNumber(v);
  });
  return cells.join(",") + "\n";
}

export interface TruncateSpec {
  /** Column that orders rows, usually "epoch". */
  column: string;
  /** Keep rows with row[column] <= value. */
  value: number;
}

/**
 * Rewrite the file (atomically) keeping only rows with row[column] <= value, and dropping a
 * partial last line. Returns the number of rows kept.
 */
export function truncateMetrics(path: string, spec: TruncateSpec): number {
  const table = readMetrics(path);
  if (table.columns.length === 0) return 0;
  if (!table.columns.includes(spec.column)) {
    throw new MetricsError(`metrics ${path}: no column ${JSON.stringify(spec.column)} to truncate by`);
  }
  const kept = table.rows.filter((r) => r[spec.column] <= spec.value);
  const text = formatMetrics(table.columns, kept);
  if (text !== readFileSync(path, "utf8")) writeFileAtomic(path, text);
  return kept.length;
}

export interface OpenMetricsOptions {
  /** When the file exists (resuming): drop rows beyond this point first. */
  truncateAfter?: TruncateSpec;
  /** fsync after every row (default false: rows are flushed to the OS, not the disk). */
  fsync?: boolean;
}

/**
 * Append-only writer. Constructing it opens the file: a new (or empty) file gets the header; an
 * existing file must have exactly these columns, and is first truncated when `truncateAfter`
 * is given (a partial last line left by a crash is always dropped).
 */
export class MetricsWriter {
  readonly columns: readonly string[];
  private readonly sync: boolean;

  constructor(
    readonly path: string,
    columns: readonly string[],
    options: OpenMetricsOptions = {},
  ) {
    checkColumns(columns);
    this.columns = [...columns];
    this.sync = options.fsync ?? false;
    const header = columns.join(",");
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (text.length === 0) {
      writeFileAtomic(path, header + "\n");
    } else {
      const first = text.split("\n", 1)[0].replace(/\r$/, "");
      if (first !== header) {
        throw new MetricsError(`metrics ${path} has columns "${first}", expected "${header}"`);
      }
      if (options.truncateAfter) {
        truncateMetrics(path, options.truncateAfter);
      } else if (!text.endsWith("\n")) {
        writeFileAtomic(path, text.slice(0, text.lastIndexOf("\n") + 1));
      }
    }
  }

  /** Append one row; every column must be present (use NaN for "not measured"). */
  append(row: MetricsRow): void {
    const missing = this.columns.filter((c) => typeof row[c] !== "number");
    if (missing.length > 0) throw new MetricsError(`metrics row for ${this.path} lacks ${missing.join(", ")}`);
    const extra = Object.keys(row).filter((k) => !this.columns.includes(k));
    if (extra.length > 0)
      throw new MetricsError(`metrics row for ${this.path} has unknown column(s) ${extra.join(", ")}`);
    const line = formatRow(this.columns, row);
    if (this.sync) {
      const fd = openSync(this.path, "a");
      try {
        writeSync(fd, line);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      appendFileSync(this.path, line);
    }
  }
}

/** Same as `new MetricsWriter(path, columns, options)`. */
export function openMetrics(path: string, columns: readonly string[], options: OpenMetricsOptions = {}): MetricsWriter {
  return new MetricsWriter(path, columns, options);
}
