/**
 * `npm run bench:quality`: flow quality per CPU-minute. Trains the relaxed Ising model at T_c
 * per recipe (bench/quality-recipes.ts) and seed under a fixed CPU-time budget, each run in its
 * own child process (bench/quality-child.ts; its CPU time includes its worker threads), and
 * records the relative error of F against CPU seconds, and for the final flow the relative error
 * on 4096 fresh samples, the MIS acceptance, −ln Ẑ by importance sampling and the Pareto k̂ of
 * its weights. Recipes are compared at equal CPU time, not at equal epochs.
 *
 * Writes bench/results/<name>.json|md and <name>-L<L>.svg|png (relative error vs CPU seconds,
 * one line per recipe: mean over seeds with its standard error as a band).
 *   npm run bench:quality                                   # L = 8 (5 CPU-min) and 16 (20 CPU-min), 3 seeds
 *   npm run bench:quality -- --budget 0.25                  # a quarter of those budgets
 *   npm run bench:quality -- --quick --recipes a,b          # ≈ 2 min: L = 8, 2 seeds, 30 CPU-s per run
 *   npm run bench:quality -- --full                         # also L = 32 (60 CPU-min per run)
 * Children run under `nice -n <--nice>` (default 5), `--jobs` at a time (default 2: one per core).
 * CPU times are per process and are inflated when other processes compete for the cores' caches.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { writeFileAtomic, writeJsonAtomic } from "../src/io/atomic.ts";
import { linePlot, writePlot } from "../src/present/plot.ts";
import { provenance } from "../src/io/provenance.ts";
import { RECIPES } from "./quality-recipes.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
/** CPU seconds per run at budget 1 */
const BUDGETS: Record<number, number> = { 8: 300, 16: 1200, 32: 3600 };
export const DEFAULT_RECIPES = "old-train,default";

const list = (s: string) =>
  s
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
const o = new Command()
  .option(
    "--recipes <list>",
    `recipes (${Object.keys(RECIPES).join(", ")}); name@L runs one at that L only`,
    DEFAULT_RECIPES,
  )
  .option("--L <list>", "lattice sizes (default 8,16; with --full 8,16,32; with --quick 8)")
  .option("--seeds <n>", "seeds per recipe (default 3; with --quick 2)")
  .option("--budget <f>", "scale of the CPU budgets (L = 8: 300 s, 16: 1200 s, 32: 3600 s); a list gives one per --L")
  .option("--quick", "L = 8, 2 seeds, budget 0.1 (30 CPU-s per run)", false)
  .option("--full", "also L = 32", false)
  .option("--jobs <n>", "runs in parallel", "2")
  .option("--nice <n>", "niceness of the children (0: none)", "5")
  .option("--out <dir>", "output directory", join(here, "results"))
  .option("--name <base>", "output file base name", "quality")
  .parse()
  .opts<{
    recipes: string;
    L?: string;
    seeds?: string;
    budget?: string;
    quick: boolean;
    full: boolean;
    jobs: string;
    nice: string;
    out: string;
    name: string;
  }>();

const bad = (what: string, v: unknown, range: string): never => {
  process.stderr.write(`${what} = ${String(v)} is invalid: ${range}\n`);
  process.exit(2);
};
// a recipe may be restricted to one lattice size: "old-demo@8"
const recipeSpecs = list(o.recipes).map((spec) => {
  const [name, at] = spec.split("@");
  if (!(name in RECIPES))
    bad("recipe", name, `accepted values are ${Object.keys(RECIPES).join(", ")} (optionally with @L)`);
  return { name, L: at === undefined ? undefined : Number(at) };
});
const recipes = [...new Set(recipeSpecs.map((r) => r.name))];
const Ls = (o.L ? list(o.L) : o.quick ? ["8"] : o.full ? ["8", "16", "32"] : ["8", "16"]).map(Number);
for (const L of Ls) if (!(L in BUDGETS)) bad("L", L, "accepted values are 8, 16, 32");
const nseeds = Number(o.seeds ?? (o.quick ? 2 : 3));
if (!Number.isInteger(nseeds) || nseeds < 1 || nseeds > 100) bad("seeds", o.seeds, "an integer in 1..100");
// one scale for every L, or one per L in the order of --L
const scales = list(o.budget ?? (o.quick ? "0.1" : "1")).map(Number);
if (scales.length !== 1 && scales.length !== Ls.length)
  bad("budget", o.budget, `one number, or one per lattice size (${Ls.length})`);
for (const f of scales) if (!(f > 0 && f <= 100)) bad("budget", o.budget, "numbers in (0, 100]");
const scaleOf = (L: number): number => scales[scales.length === 1 ? 0 : Ls.indexOf(L)];
const scale = scales.join(",");
const jobs = Number(o.jobs);
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) bad("jobs", o.jobs, "an integer in 1..64");
const nice = Number(o.nice);
const hasNice = nice !== 0 && spawnSync("nice", ["true"]).status === 0;

interface CurvePoint {
  cpu_s: number;
  epoch: number;
  rel_err: number;
  rel_err_se: number;
}
interface RunResult {
  recipe: string;
  L: number;
  seed: number;
  budget_cpu_s: number;
  workers: number;
  epochs: number;
  epochs_planned: number;
  cpu_s_per_epoch_start: number;
  train_cpu_s: number;
  exact: number;
  F: number;
  F_stderr: number;
  rel_err: number;
  rel_err_se: number;
  is_neg_log_z: number;
  is_error: number;
  is_sigmas_from_exact: number;
  pareto_k: number;
  ess_fraction: number;
  mis_acceptance: number;
  curve: CurvePoint[];
}

function runChild(
  recipe: string,
  L: number,
  seed: number,
  budget: number,
): Promise<RunResult | { error: string; recipe: string; L: number; seed: number }> {
  const cmd = [
    process.execPath,
    "bin/run-ts.mjs",
    "bench/quality-child.ts",
    recipe,
    String(L),
    String(seed),
    String(budget),
  ];
  const full = hasNice ? ["nice", "-n", String(nice), ...cmd] : cmd;
  return new Promise((resolve) => {
    const p = spawn(full[0], full.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => {
      const line = out
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .pop();
      if (code === 0 && line) resolve(JSON.parse(line) as RunResult);
      else resolve({ error: `exit ${code}: ${err.trim().split("\n").slice(-1)[0] ?? ""}`, recipe, L, seed });
    });
  });
}

const tasks: { recipe: string; L: number; seed: number; budget: number }[] = [];
// seeds outermost within L, so that a partial run still compares every recipe
for (const L of Ls) {
  for (let s = 1; s <= nseeds; s++) {
    for (const r of recipeSpecs)
      if (r.L === undefined || r.L === L) tasks.push({ recipe: r.name, L, seed: s, budget: BUDGETS[L] * scaleOf(L) });
  }
}
const totalCpu = tasks.reduce((a, t) => a + t.budget, 0);
process.stderr.write(`${tasks.length} runs, ${Math.round(totalCpu)} CPU-s of training in all, ${jobs} at a time\n`);
const results: RunResult[] = [];
const failures: string[] = [];
let nextTask = 0;
const t0 = performance.now();
const loadStart = loadavg()[0];
await Promise.all(
  Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
    while (nextTask < tasks.length) {
      const t = tasks[nextTask++];
      const r = await runChild(t.recipe, t.L, t.seed, t.budget);
      const wall = ((performance.now() - t0) / 1000).toFixed(0);
      if ("error" in r) {
        failures.push(`${t.recipe} L=${t.L} seed ${t.seed}: ${r.error}`);
        process.stderr.write(`[${wall} s] ${t.recipe} L=${t.L} seed ${t.seed}: FAILED ${r.error}\n`);
      } else {
        results.push(r);
        process.stderr.write(
          `[${wall} s] ${t.recipe} L=${t.L} seed ${t.seed}: rel.err ${r.rel_err.toExponential(2)} after ${r.epochs} epochs, MIS ${r.mis_acceptance.toFixed(2)}, k̂ ${r.pareto_k.toFixed(2)}\n`,
        );
      }
    }
  }),
);

/** mean and standard error of the mean (NaN error for one value) */
function ms(a: number[]): { mean: number; se: number } {
  const n = a.length;
  const mean = a.reduce((x, y) => x + y, 0) / n;
  const v = n > 1 ? a.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1) : NaN;
  return { mean, se: Math.sqrt(v / n) };
}
const e2 = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : "—");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "—");
const pm = (m: { mean: number; se: number }, f: (x: number) => string) => `${f(m.mean)} ± ${f(m.se)}`;

interface Agg {
  L: number;
  recipe: string;
  description: string;
  budget_cpu_s: number;
  seeds: number[];
  rel_err: { mean: number; se: number };
  rel_err_per_seed: number[];
  epochs: { mean: number; se: number };
  mis_acceptance: { mean: number; se: number };
  pareto_k: { mean: number; se: number };
  is_sigmas: { mean: number; se: number };
  curve: { cpu_s: number; rel_err: number; rel_err_se: number }[];
}
const loadEnd = loadavg()[0];
const aggs: Agg[] = [];
for (const L of Ls) {
  for (const recipe of recipes) {
    const rs = results.filter((r) => r.L === L && r.recipe === recipe).sort((a, b) => a.seed - b.seed);
    if (rs.length === 0) continue;
    const npts = Math.min(...rs.map((r) => r.curve.length));
    const curve = Array.from({ length: npts }, (_, i) => {
      const m = ms(rs.map((r) => r.curve[i].rel_err));
      // one seed: the evaluation's own standard error
      return {
        cpu_s: ms(rs.map((r) => r.curve[i].cpu_s)).mean,
        rel_err: m.mean,
        rel_err_se: rs.length > 1 ? m.se : rs[0].curve[i].rel_err_se,
      };
    });
    aggs.push({
      L,
      recipe,
      description: RECIPES[recipe].description,
      budget_cpu_s: rs[0].budget_cpu_s,
      seeds: rs.map((r) => r.seed),
      rel_err: ms(rs.map((r) => r.rel_err)),
      rel_err_per_seed: rs.map((r) => r.rel_err),
      epochs: ms(rs.map((r) => r.epochs)),
      mis_acceptance: ms(rs.map((r) => r.mis_acceptance)),
      pareto_k: ms(rs.map((r) => r.pareto_k)),
      is_sigmas: ms(rs.map((r) => r.is_sigmas_from_exact)),
      curve,
    });
  }
}

const lines = [
  "| L | recipe | CPU s/run | epochs | rel. error of F (mean ± s.e.) | per seed | MIS acceptance | Pareto k̂ | (−ln Ẑ − exact)/σ |",
  "|---|---|---|---|---|---|---|---|---|",
  ...aggs.map(
    (a) =>
      `| ${a.L} | ${a.recipe} | ${a.budget_cpu_s.toFixed(0)} | ${a.epochs.mean.toFixed(0)} | ${pm(a.rel_err, e2)} | ${a.rel_err_per_seed.map(e2).join(", ")} | ${pm(a.mis_acceptance, f2)} | ${pm(a.pareto_k, f2)} | ${pm(a.is_sigmas, f2)} |`,
  ),
];
const header =
  `Measured ${new Date().toISOString()} by \`npm run bench:quality\` (budget ×${scale}, ${nseeds} seed(s), ${jobs} run(s) at a time): relaxed Ising at T_c, ` +
  `symmetrised model, full-depth MERA; relative error (F − exact)/|exact| on 4096 fresh samples after the CPU budget; MIS: 64 chains × 64 steps; ` +
  `−ln Ẑ and k̂ from 4096 importance weights. CPU time is the run's process time (all its threads). ` +
  `Load average (1 min) at the start ${loadStart.toFixed(1)}, at the end ${loadEnd.toFixed(1)} on ${jobs > 1 ? "this" : "a"} machine of ${availableParallelism()} cores: ` +
  `CPU times of runs sharing the cores with other work are inflated (caches, memory bandwidth).\n\n`;
const legend = "\n" + recipes.map((r) => `- \`${r}\`: ${RECIPES[r].description}`).join("\n") + "\n";
const md =
  header +
  lines.join("\n") +
  "\n" +
  legend +
  (failures.length ? `\nFailed runs:\n${failures.map((f) => `- ${f}`).join("\n")}\n` : "");
mkdirSync(o.out, { recursive: true });
writeJsonAtomic(join(o.out, `${o.name}.json`), {
  ...provenance(),
  budget_scale: scale,
  seeds: nseeds,
  jobs,
  load_start: loadStart,
  load_end: loadEnd,
  wall_s: (performance.now() - t0) / 1000,
  aggregates: aggs,
  runs: results,
  failures,
});
writeFileAtomic(join(o.out, `${o.name}.md`), md);
for (const L of Ls) {
  const series = aggs
    .filter((a) => a.L === L)
    .map((a) => ({
      name: a.recipe,
      x: a.curve.map((c) => c.cpu_s),
      y: a.curve.map((c) => c.rel_err),
      yErr: a.curve.map((c) => c.rel_err_se),
    }));
  if (series.length === 0) continue;
  const svg = await linePlot({
    series,
    logX: true,
    logY: true,
    points: true,
    title: `relaxed Ising ${L}×${L} at T_c: relative error of F vs CPU time (mean ± s.e. over ${nseeds} seed(s))`,
    xTitle: "CPU seconds of training",
    yTitle: "(F − exact)/|exact|",
  });
  writePlot(join(o.out, `${o.name}-L${L}`), svg, { png: true });
}
process.stdout.write(md);
