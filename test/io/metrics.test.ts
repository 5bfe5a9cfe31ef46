import { readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsError, openMetrics, readMetrics, truncateMetrics } from "../../src/io/metrics.ts";
import { tempDir } from "./helpers.ts";

const columns = ["epoch", "F", "Ferr", "relerr", "seconds"];

function row(epoch: number) {
  return {
    epoch,
    F: -310.1234567890123 + 1 / (epoch + 3),
    Ferr: 0.1 / 3 ** epoch,
    relerr: epoch === 2 ? NaN : 1e-3 * Math.PI,
    seconds: -0,
  };
}

describe("metrics CSV", () => {
  it("writes the header once and round-trips numbers exactly", () => {
    const p = join(tempDir(), "metrics.csv");
    const w = openMetrics(p, columns);
    for (let e = 1; e <= 3; e++) w.append(row(e));
    const w2 = openMetrics(p, columns); // reopen: no second header
    w2.append(row(4));
    w2.append({ ...row(5), F: Infinity, Ferr: -Infinity });
    const text = readFileSync(p, "utf8");
    expect(text.split("\n")[0]).toBe(columns.join(","));
    expect(text.match(/epoch/g)!.length).toBe(1);
    const t = readMetrics(p);
    expect(t.columns).toEqual(columns);
    expect(t.rows.length).toBe(5);
    for (let e = 1; e <= 4; e++) {
      const r = row(e);
      for (const c of columns) expect(Object.is(t.rows[e - 1][c], r[c as keyof typeof r])).toBe(true);
    }
    expect(t.rows[4].F).toBe(Infinity);
    expect(t.rows[4].Ferr).toBe(-Infinity);
  });

  it("rejects mismatched columns and incomplete rows", () => {
    const p = join(tempDir(), "metrics.csv");
    const w = openMetrics(p, columns);
    expect(() => openMetrics(p, ["epoch", "F"])).toThrow(/has columns/);
    expect(() => w.append({ epoch: 1, F: 2 })).toThrow(/lacks Ferr, relerr, seconds/);
    expect(() => w.append({ ...row(1), bogus: 1 })).toThrow(MetricsError);
  });

  it("truncates rows beyond the checkpoint epoch so a resumed file equals an uninterrupted one", () => {
    const d = tempDir();
    const full = join(d, "full.csv");
    const wf = openMetrics(full, columns);
    for (let e = 1; e <= 10; e++) wf.append(row(e));

    // Interrupted run: checkpoint at epoch 6, metrics got to epoch 8, then a partial line.
    const res = join(d, "resumed.csv");
    const wi = openMetrics(res, columns);
    for (let e = 1; e <= 8; e++) wi.append(row(e));
    appendFileSync(res, "9,-310.1");
    const wr = openMetrics(res, columns, { truncateAfter: { column: "epoch", value: 6 } });
    expect(readMetrics(res).rows.length).toBe(6);
    for (let e = 7; e <= 10; e++) wr.append(row(e));
    expect(readFileSync(res, "utf8")).toBe(readFileSync(full, "utf8"));
  });

  it("drops a partial last line on reopen and reads past it", () => {
    const p = join(tempDir(), "m.csv");
    const w = openMetrics(p, columns);
    w.append(row(1));
    appendFileSync(p, "2,-3");
    expect(readMetrics(p).rows.length).toBe(1);
    openMetrics(p, columns).append(row(2));
    expect(readMetrics(p).rows.map((r) => r.epoch)).toEqual([1, 2]);
    expect(truncateMetrics(p, { column: "epoch", value: 0 })).toBe(0);
    expect(readFileSync(p, "utf8")).toBe(columns.join(",") + "\n");
  });

  it("reports malformed content with file and line", () => {
    const p = join(tempDir(), "bad.csv");
    writeFileSync(p, "epoch,F\n1,2\n2,abc\n");
    expect(() => readMetrics(p)).toThrow(/bad\.csv:3: column F holds "abc"/);
  });
});
