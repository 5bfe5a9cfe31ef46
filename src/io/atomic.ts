/**
 * Crash-safe file writes: data goes to a temporary file in the destination's directory, is
 * fsync'd, then renamed over the destination (rename is atomic within one file system). A reader
 * therefore sees either the old file or the complete new one, never a partial write.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/** Test hook: called after the data is written and before the rename (simulates a crash). */
export interface AtomicWriteOptions {
  /** File mode for a newly created file (default 0o644). */
  mode?: number;
  /** Called between fsync and rename; throwing here aborts the write (used by tests). */
  beforeRename?: (tempPath: string) => void;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

function fsyncDir(dir: string): void {
  // Persist the rename itself; not supported everywhere (e.g. Windows), so best effort.
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    /* ignore */
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* ignore */
      }
    }
  }
}

/** Write `data` to `path` atomically (temp file in the same directory, fsync, rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", options.mode ?? 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    options.beforeRename?.(tmp);
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/** JSON-serialise `value` (2-space indent, trailing newline) and write it atomically. */
export function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`cannot serialise ${typeof value} to JSON for ${path}`);
  writeFileAtomic(path, text + "\n", options);
}
