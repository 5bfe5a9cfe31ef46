/**
 * `neuralrg exact --L <n> --T <t> [--json]`: exact free energies of the relaxed Ising target
 * (the text after Eq. 7):
 *   ln Z_Ising   from Kaufman's exact solution on the finite periodic L×L lattice,
 *   −ln Z        of the relaxed model, −ln Z_Ising − ½ ln det(K+αI) + (N/2)[ln(2/π) − α],
 *   α            the diagonal shift making the smallest eigenvalue of K+αI equal to 0.1.
 */
import type { Command } from "commander";
import { kaufmanLogZ } from "../targets/kaufman.ts";
import { relaxedIsing } from "../targets/ising.ts";
import { printJson, println, type CliContext } from "./command.ts";
import { intOption, parseLatticeSize, parseTemperature, T_CRITICAL } from "./options.ts";
import { Rng } from "../engine/rng.ts";
import { wolffIsing } from "../sample/wolff.ts";

export interface ExactResult {
  L: number;
  T: number;
  beta: number;
  N: number;
  /** ln Z of the 2D Ising model on the periodic L×L lattice (Kaufman). */
  lnZIsing: number;
  lnZIsingPerSite: number;
  /** −ln Z of the relaxed (continuous) model, Eq. (7). */
  negLogZRelaxed: number;
  negLogZRelaxedPerSite: number;
  /** Diagonal shift α of K + αI. */
  alpha: number;
  /** ln det(K + αI). */
  logDet: number;
}

export function exactValues(L: number, T: number): ExactResult {
  const N = L * L;
  const lnZIsing = kaufmanLogZ(L, T);
  const target = relaxedIsing({ L, T });
  const negLogZRelaxed = target.exactNegLogZ;
  return {
    L,
    T,
    beta: 1 / T,
    N,
    lnZIsing,
    lnZIsingPerSite: lnZIsing / N,
    negLogZRelaxed,
    negLogZRelaxedPerSite: negLogZRelaxed / N,
    alpha: target.alpha,
    logDet: target.logDet,
  };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("exact")
    .description(
      "print exact ln Z of the 2D Ising model (Kaufman), −ln Z of the relaxed model of Eq. (7) and its shift α",
    )
    .option("--L <n>", "linear lattice size, a power of two (2, 4, ..., 1024)", parseLatticeSize, 16)
    .option("--T <t>", `temperature (> 0; T_c = 2/ln(1+√2) ≈ ${T_CRITICAL.toFixed(6)})`, parseTemperature, T_CRITICAL)
    .option("--json", "print machine-readable JSON (full precision)", false)
    .option(
      "--mc <sweeps>",
      "also estimate Ising energy, <|m|> and S = <m^2> by Wolff cluster Monte Carlo (reference values where enumeration is impossible)",
      intOption("mc", 1, 1e8),
    )
    .option("--seed <n>", "seed of the Monte Carlo", intOption("seed", 0, 4294967295), 1)
    .action((opts: { L: number; T: number; json: boolean; mc?: number; seed: number }) => {
      const r = exactValues(opts.L, opts.T);
      const mc = opts.mc
        ? wolffIsing({
            L: opts.L,
            T: opts.T,
            sweeps: opts.mc,
            warmup: Math.min(1000, Math.ceil(opts.mc / 10)),
            rng: Rng.fromSeed(opts.seed),
          })
        : undefined;
      const mcSummary = mc
        ? Object.fromEntries(
            (["energyPerSite", "absMagnetisation", "structureFactor"] as const).map((k) => [
              k,
              { mean: mc[k].mean, error: mc[k].error, tau: mc[k].tau.tau },
            ]),
          )
        : undefined;
      if (opts.json) {
        printJson(ctx, mcSummary ? { ...r, wolff: { sweeps: opts.mc, seed: opts.seed, ...mcSummary } } : r);
        return;
      }
      const rows: [string, number, number | undefined][] = [
        ["ln Z_Ising", r.lnZIsing, r.lnZIsingPerSite],
        ["-ln Z (relaxed model)", r.negLogZRelaxed, r.negLogZRelaxedPerSite],
        ["alpha", r.alpha, undefined],
        ["ln det(K + alpha I)", r.logDet, undefined],
      ];
      println(ctx, `L = ${r.L} (N = ${r.N}), T = ${r.T}, beta = ${r.beta}`);
      for (const [name, v, perSite] of rows) {
        println(
          ctx,
          `${name.padEnd(22)} ${String(v).padEnd(24)}${perSite !== undefined ? `  (per site ${perSite})` : ""}`,
        );
      }
      if (mcSummary) {
        println(ctx, `Wolff Monte Carlo, ${opts.mc} sweeps (seed ${opts.seed}), error bars from binning / tau_int:`);
        for (const [k, v] of Object.entries(mcSummary))
          println(ctx, `  ${k.padEnd(18)} ${v.mean.toFixed(6)} ± ${v.error.toFixed(6)}  (tau_int ${v.tau.toFixed(2)})`);
      }
    });
}
