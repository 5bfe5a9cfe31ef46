import { describe, expect, it } from "vitest";
import { createProgress, exp, formatDuration, resolveProgressMode, sig } from "../../src/present/progress.ts";

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (s: string) => (chunks.push(s), true) }, chunks };
}

describe("progress", () => {
  it("chooses plain lines when not a TTY or in CI", () => {
    expect(resolveProgressMode("auto", { isTTY: true, write: () => true }, {})).toBe("tty");
    expect(resolveProgressMode("auto", { isTTY: true, write: () => true }, { CI: "true" })).toBe("plain");
    expect(resolveProgressMode("auto", { isTTY: false, write: () => true }, {})).toBe("plain");
    expect(resolveProgressMode("auto", { isTTY: true, write: () => true }, { TERM: "dumb" })).toBe("plain");
  });

  it("prints periodic plain lines with fields and ETA, no ANSI escapes", () => {
    const { stream, chunks } = capture(false);
    let t = 0;
    const p = createProgress({
      total: 100,
      start: 10,
      stream,
      env: {},
      now: () => t,
      intervalMs: 10_000,
      fields: [
        { key: "F", format: sig(6) },
        { key: "Ferr", label: "±", format: sig(2) },
        { key: "rel", label: "rel.err", format: exp(2) },
      ],
    });
    expect(p.mode).toBe("plain");
    for (let e = 11; e <= 100; e++) {
      t += 1000; // one second per epoch
      p.update(e, { F: -310.123456, Ferr: 0.0312, rel: 0.00123 });
    }
    p.stop();
    p.stop();
    const out = chunks.join("");
    expect(out).not.toMatch(/\u001b\[/);
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(9);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[0]).toBe("epoch 11/100 (11%) elapsed 1s ETA 1m29s  F -310.123  ± 0.031  rel.err 1.23e-3");
    expect(lines[lines.length - 1]).toMatch(/^epoch 100\/100 \(100%\) elapsed 1m30s ETA 0s /);
  });

  it("off mode prints nothing", () => {
    const { stream, chunks } = capture(true);
    const p = createProgress({ total: 5, stream, mode: "off" });
    p.update(3);
    p.log("x");
    p.stop();
    expect(chunks).toEqual([]);
  });

  it("formats durations", () => {
    expect(formatDuration(5)).toBe("5s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(NaN)).toBe("?");
  });
});
