/**
 * Block placement of the three layouts (mera, tebd, tree) and of shallower "trapezoid" flows
 * (App. E: depth < log2 L removes the top levels one by one).
 */
import { describe, expect, it } from "vitest";
import type { FlowConfig, LayoutKind } from "../../src/flow/config.ts";
import { createFlow } from "../../src/flow/flow.ts";
import { buildLayers, latentScale } from "../../src/flow/layout.ts";

const LAYOUTS: LayoutKind[] = ["mera", "tebd", "tree"];
const cfg = (L: number, layout: LayoutKind, depth: number): FlowConfig => ({
  L,
  layout,
  depth,
  nlayers: 2,
  nmlp: 1,
  nhidden: 3,
});

describe.each([4, 8, 16])("layouts at L = %i", (L) => {
  const maxDepth = Math.log2(L);
  const depths = Array.from({ length: maxDepth }, (_, i) => i + 1);

  it.each(LAYOUTS)("%s: blocks of each layer are disjoint and lie on that level's active sublattice", (layout) => {
    for (const depth of depths) {
      for (const layer of buildLayers(cfg(L, layout, depth))) {
        const s = layout === "tebd" ? 1 : 1 << layer.level;
        const seen = new Set<number>();
        for (const site of layer.blocks) {
          expect(seen.has(site)).toBe(false);
          seen.add(site);
          const i = Math.floor(site / L);
          const j = site % L;
          expect(i % s).toBe(0);
          expect(j % s).toBe(0);
        }
        // a layer covers its whole active sublattice
        expect(seen.size).toBe((L / s) ** 2);
      }
    }
  });

  it.each(LAYOUTS)(
    "%s: layer count per depth, and a shallower flow is the full one with its top levels removed",
    (layout) => {
      const full = buildLayers(cfg(L, layout, maxDepth));
      for (const depth of depths) {
        const layers = buildLayers(cfg(L, layout, depth));
        expect(layers.length).toBe(layout === "tree" ? depth : 2 * depth);
        if (layout !== "tebd") {
          // inference order runs from the physical level up: dropping top levels keeps a prefix
          layers.forEach((layer, k) => {
            expect(layer.level).toBe(full[k].level);
            expect(layer.role).toBe(full[k].role);
            expect(Array.from(layer.blocks)).toEqual(Array.from(full[k].blocks));
          });
          expect(Math.max(...layers.map((l) => l.level))).toBe(depth - 1);
        }
      }
    },
  );

  it("mera alternates disentangler and decimator; tree has decimators only; tebd disentanglers only", () => {
    expect(buildLayers(cfg(L, "mera", maxDepth)).map((l) => l.role)).toEqual(
      depths.flatMap(() => ["disentangler", "decimator"]),
    );
    expect(buildLayers(cfg(L, "tree", maxDepth)).every((l) => l.role === "decimator")).toBe(true);
    expect(buildLayers(cfg(L, "tebd", maxDepth)).every((l) => l.role === "disentangler" && l.level === 0)).toBe(true);
  });

  it("latent scales: depth d leaves (L/2^d)² sites at the top scale d; each lower scale l has 3/4 of 4^-l of the sites", () => {
    for (const depth of depths) {
      const sc = createFlow(cfg(L, "mera", depth)).scaleOfSite;
      const count = (l: number) => sc.filter((v) => v === l).length;
      for (let l = 0; l < depth; l++) expect(count(l)).toBe((3 * L * L) / 4 ** (l + 1));
      expect(count(depth)).toBe((L / 2 ** depth) ** 2);
      expect(Array.from(createFlow(cfg(L, "tree", depth)).scaleOfSite)).toEqual(Array.from(sc));
    }
    expect(Array.from(latentScale(L, 0)).every((v) => v === 0)).toBe(true);
    expect(Array.from(createFlow(cfg(L, "tebd", maxDepth)).scaleOfSite).every((v) => v === 0)).toBe(true);
  });
});
