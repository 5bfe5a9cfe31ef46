/**
 * The folder-level import graph of src/ (docs/architecture.md): every relative import, re-export
 * and dynamic import of src/**\/*.ts, mapped to the top-level folder of both ends, must form a
 * graph without cycles; entry files list their exports by name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Relative module specifiers of a TypeScript source: static imports, re-exports, dynamic imports. */
export function importSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const specs: string[] = [];
  const re =
    /\b(?:import|export)\s+(?:type\s+)?[^;'"]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of code.matchAll(re)) {
    const s = m[1] ?? m[2] ?? m[3];
    if (s.startsWith(".")) specs.push(s);
  }
  return specs;
}

/** Top-level folder of a path below src/ ("." for files directly in src/). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0] : ".";
}

/** Folder graph: folder → set of folders it imports (self-edges left out). */
export function folderGraph(files: string[], read: (f: string) => string): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files) {
    const from = folderOf(f);
    if (!g.has(from)) g.set(from, new Set());
    for (const spec of importSpecifiers(read(f))) {
      const target = normalize(join(dirname(f), spec));
      if (relative(SRC, target).startsWith("..")) continue;
      const to = folderOf(target);
      if (to !== from) g.get(from)!.add(to);
    }
  }
  return g;
}

/** The cycles of a directed graph, one per strongly connected component with more than one node. */
export function cycles(g: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe("folder-level import graph of src/", () => {
  const files = sourceFiles(SRC);
  const graph = folderGraph(files, (f) => readFileSync(f, "utf8"));

  it("the detector finds imports of every form and reports a cycle between folders", () => {
    expect(
      importSpecifiers(
        `import { a } from "../x/a.ts";\nimport type { B } from "./b.ts";\nexport { c } from "../y/c.ts";\n` +
          `export * as d from "../z/d.ts";\nconst e = await import("../w/e.ts");\nimport "./side.ts";\n// import { f } from "../comment.ts";`,
      ),
    ).toEqual(["../x/a.ts", "./b.ts", "../y/c.ts", "../z/d.ts", "../w/e.ts", "./side.ts"]);
    const fake: Record<string, string> = {
      [join(SRC, "a", "one.ts")]: `import { two } from "../b/two.ts";`,
      [join(SRC, "b", "two.ts")]: `import type { Three } from "../c/three.ts";`,
      [join(SRC, "c", "three.ts")]: `export { one } from "../a/one.ts";`,
      [join(SRC, "d", "four.ts")]: `import { one } from "../a/one.ts";`,
    };
    const g = folderGraph(Object.keys(fake), (f) => fake[f]);
    expect(cycles(g)).toEqual([["a", "b", "c"]]);
    g.get("c")!.delete("a");
    expect(cycles(g)).toEqual([]);
  });

  it("has no cycle between folders", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("imports point down the order of docs/architecture.md", () => {
    // top to bottom; a folder not listed here (a new one) is only checked for cycles
    const order = [
      ".",
      "cli",
      "scan",
      "analysis",
      "train",
      "gpu",
      "data",
      "sample",
      "targets",
      "flow",
      "kernels",
      "present",
      "io",
      "engine",
    ];
    for (const f of order) expect(graph.has(f), `src/${f}/ exists`).toBe(true);
    for (const [from, to] of graph) {
      for (const t of to) {
        if (!order.includes(from) || !order.includes(t)) continue;
        expect(order.indexOf(t), `${from} imports ${t}, which is above it`).toBeGreaterThan(order.indexOf(from));
      }
    }
  });

  it("the command-line layer is imported by nothing else", () => {
    for (const [from, to] of graph) if (from !== "cli") expect(to.has("cli"), `${from} imports cli/`).toBe(false);
  });

  it("entry files name every export (no `export *`)", () => {
    for (const f of files) {
      const code = readFileSync(f, "utf8");
      expect(/^\s*export\s+\*/m.test(code), `${relative(SRC, f)} uses export *`).toBe(false);
    }
  });
});
