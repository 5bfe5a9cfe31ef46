import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic, writeJsonAtomic } from "../../src/io/atomic.ts";
import { tempDir } from "./helpers.ts";

describe("writeFileAtomic", () => {
  it("writes a new file and replaces an existing one", () => {
    const d = tempDir();
    const p = join(d, "a.txt");
    writeFileAtomic(p, "one");
    expect(readFileSync(p, "utf8")).toBe("one");
    writeFileAtomic(p, new Uint8Array([104, 105]));
    expect(readFileSync(p, "utf8")).toBe("hi");
    expect(readdirSync(d)).toEqual(["a.txt"]);
  });

  it("leaves the old file intact and no temp file when the writer throws", () => {
    const d = tempDir();
    const p = join(d, "ckpt.json");
    writeFileSync(p, "old content");
    let sawTemp = false;
    expect(() =>
      writeFileAtomic(p, "x".repeat(1 << 20), {
        beforeRename: (tmp) => {
          sawTemp = existsSync(tmp) && readFileSync(tmp).length === 1 << 20;
          throw new Error("simulated crash");
        },
      }),
    ).toThrow("simulated crash");
    expect(sawTemp).toBe(true);
    expect(readFileSync(p, "utf8")).toBe("old content");
    expect(readdirSync(d)).toEqual(["ckpt.json"]);
  });

  it("leaves no file at all when a first write fails", () => {
    const d = tempDir();
    const p = join(d, "new.json");
    expect(() =>
      writeFileAtomic(p, "data", {
        beforeRename: () => {
          throw new Error("boom");
        },
      }),
    ).toThrow("boom");
    expect(readdirSync(d)).toEqual([]);
  });

  it("fails cleanly when the directory does not exist", () => {
    const d = tempDir();
    expect(() => writeFileAtomic(join(d, "missing", "x"), "data")).toThrow(/ENOENT/);
    expect(readdirSync(d)).toEqual([]);
  });

  it("writeJsonAtomic writes parseable JSON", () => {
    const d = tempDir();
    const p = join(d, "c.json");
    writeJsonAtomic(p, { a: 1, b: [1.5, "x"] });
    expect(JSON.parse(readFileSync(p, "utf8"))).toEqual({ a: 1, b: [1.5, "x"] });
  });
});
