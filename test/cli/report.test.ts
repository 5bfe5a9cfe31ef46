import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOneLine, runCli, smallTrainedRun } from "./analyze-helpers.ts";

/** Every src/href of the page (data: URIs and in-page anchors excluded). */
function references(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)]
    .map((m) => m[1])
    .filter((r) => !r.startsWith("data:") && !r.startsWith("#"));
}

describe("neuralrg report", () => {
  let run: { dir: string; cleanup: () => void };
  beforeAll(async () => {
    run = await smallTrainedRun();
  });
  afterAll(() => run?.cleanup());

  it("writes one HTML page that references every figure, with no broken reference and no network resource", async () => {
    // a sampler result, as `neuralrg sample` would leave it, must show up too
    writeFileSync(
      join(run.dir, "samples", "mis.json"),
      JSON.stringify({ method: "mis", acceptance: 0.31, observables: { S: { mean: 0.6, error: 0.01 } } }),
    );
    // and a missing training plot is regenerated from metrics.csv
    rmSync(join(run.dir, "plots", "training.svg"));
    const r = await runCli(["report", "--run", run.dir, "--samples", "120", "--seed", "3", "--progress", "off"]);
    expect(r.err.split("\n").filter((l) => l.startsWith("error"))).toEqual([]);
    expect(r.code).toBe(0);
    const path = join(run.dir, "report.html");
    expect(r.out).toContain(path);
    const html = readFileSync(path, "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    const refs = references(html);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref, "no absolute or network URL").not.toMatch(/^(https?:)?\/\//);
      expect(existsSync(resolve(dirname(path), decodeURIComponent(ref))), `${ref} exists`).toBe(true);
    }
    expect(html).not.toMatch(/<(script|link|iframe)\b/); // nothing to fetch: no scripts, stylesheets or frames
    // every figure written into plots/ and analysis/ is on the page
    const svgs = [
      ...readdirSync(join(run.dir, "plots"))
        .filter((f) => f.endsWith(".svg"))
        .map((f) => `plots/${f}`),
      ...readdirSync(join(run.dir, "analysis"))
        .filter((f) => f.endsWith(".svg"))
        .map((f) => `analysis/${f}`),
    ];
    for (const f of [
      "plots/training.svg",
      "plots/samples.svg",
      "analysis/response.svg",
      "analysis/mi-latent.svg",
      "analysis/mi-physical.svg",
      "analysis/collective.svg",
      "analysis/wander-physical.svg",
    ]) {
      expect(svgs).toContain(f);
    }
    for (const f of svgs) {
      expect(refs, `${f} is referenced`).toContain(f);
      expect(existsSync(join(run.dir, f.replace(/\.svg$/, ".png"))), `${f} has a PNG`).toBe(true);
    }
    for (const section of [
      "Configuration",
      "Training",
      "Samples from the flow",
      "Sampler results",
      "Renormalisation-group analysis",
    ])
      expect(html).toContain(`<h2>${section}</h2>`);
    expect(html).toContain("mis.json");
    expect(html).toContain("latent / physical");
    // the analysis was computed because it was missing
    expect(existsSync(join(run.dir, "analysis", "index.json"))).toBe(true);
  });

  it("--inline embeds the figures: the page stands alone", async () => {
    const r = await runCli(["report", "--run", run.dir, "--no-analyze", "--inline", "--progress", "off"]);
    expect(r.code).toBe(0);
    const html = readFileSync(join(run.dir, "report.html"), "utf8");
    expect(references(html).filter((ref) => /\.(svg|png)$/.test(ref))).toEqual([]);
    expect(html).toMatch(/<img src="data:image\/svg\+xml;base64,/);
  });

  it("a missing or corrupt run directory is a usage error: exit 2, one line", async () => {
    const missing = await runCli(["report", "--run", join(run.dir, "nope")]);
    expect(missing.code).toBe(2);
    expect(expectOneLine(missing.err)).toHaveLength(1);
    expect(missing.err).toMatch(/^error: cannot report on --run .*does not exist/);
    const corrupt = join(dirname(run.dir), "corrupt");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(corrupt, { recursive: true });
    writeFileSync(join(corrupt, "checkpoint.json"), "{ not json");
    const bad = await runCli(["report", "--run", corrupt]);
    expect(bad.code).toBe(2);
    expect(expectOneLine(bad.err)).toHaveLength(1);
    expect(bad.err).toMatch(/^error: cannot report on --run/);
  });
});
