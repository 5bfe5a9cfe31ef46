import { describe, expect, it } from "vitest";
import { heatmapGrid, linePlot, svgToPng, trainingCurvePlot } from "../../src/present/plot.ts";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function curve(n: number, exact: number) {
  const epochs: number[] = [];
  const F: number[] = [];
  const Ferr: number[] = [];
  for (let i = 0; i < n; i++) {
    epochs.push(i + 1);
    F.push(exact + Math.abs(exact) * (0.3 * Math.exp(-i / 10) + 0.004) + 0.2 * Math.sin(i));
    Ferr.push(0.5 + 2 * Math.exp(-i / 10));
  }
  return { epochs, F, Ferr };
}

describe("plots", () => {
  it("training curve: valid SVG with paths, exact rule and relative-error panel; PNG", async () => {
    const svg = await trainingCurvePlot({ ...curve(60, -40.2), exact: -40.2, title: "4×4" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("<path");
    expect(svg).toContain("exact −ln Z");
    expect(svg).toContain("relative error");
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const png = svgToPng(svg);
    expect(Buffer.isBuffer(png)).toBe(true);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBeGreaterThan(5000);
  });

  it("training curve without an exact value has one panel", async () => {
    const svg = await trainingCurvePlot(curve(20, -10));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toContain("relative error");
  });

  it("linePlot and heatmapGrid render", async () => {
    const c = curve(30, -5);
    const svg = await linePlot({
      series: [
        { name: "a", x: c.epochs, y: c.F, yErr: c.Ferr },
        { name: "b", x: c.epochs, y: c.F.map((v) => v + 1) },
      ],
      rules: [{ y: -5, label: "exact" }],
      logY: false,
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("<path");
    const L = 4;
    const images = [0, 1, 2].map((k) => Array.from({ length: L * L }, (_, i) => ((i + k) % 2 ? 1 : -1)));
    const grid = heatmapGrid({ images, L, titles: ["a", "b", "c<&>"] });
    expect(grid.startsWith("<svg")).toBe(true);
    expect(grid).toContain("c&lt;&amp;&gt;");
    expect(svgToPng(grid).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(() => heatmapGrid({ images: [[1, 2, 3]], L: 2 })).toThrow(/expected L\*L = 4/);
  });
});
