/**
 * Metropolised independence sampler (v1 Eq. 6) with the flow as proposal:
 *     A(x → x′) = min(1, q(x) π(x′) / (q(x′) π(x))) = min(1, w(x′)/w(x)),  ln w = ln π − ln q.
 * Many parallel chains; each step draws one fresh proposal per chain from q (a batch of the
 * flow), independent of the current state, so the only correlation between successive samples
 * comes from rejections. With a Z2-symmetric target pass the symmetrised density (density.ts,
 * `flowDensity(…, { symmetrize: true })`).
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import type { Rng } from "../engine/rng.ts";
import type { Target } from "../targets/target.ts";
import type { ProposalDensity } from "./density.ts";
import { paretoK } from "./pareto.ts";

export interface MisStep {
  /** 0-based step index (the initial draw is not a step) */
  step: number;
  /** current states after this step, nchains × nvars (do not keep: reused between steps unless `store`) */
  x: Real;
  /** ln π of the current states */
  logPi: Float64Array;
  /** ln q of the current states */
  logQ: Float64Array;
  /** 1 where this step's proposal was accepted */
  accepted: Uint8Array;
  /** the acceptance probability min(1, w′/w) of this step's proposals */
  acceptProb: Float64Array;
}

export interface MisDecision {
  /** 1 where the proposal was accepted */
  accepted: Uint8Array;
  /** min(1, w′/w) per chain, ln w = ln π − ln q */
  acceptProb: Float64Array;
  /** fraction accepted */
  acceptance: number;
}

/**
 * One Metropolis step of each chain against independent proposals (v1 Eq. 6):
 * ln A = [ln π(x′) − ln q(x′)] − [ln π(x) − ln q(x)]; a NaN ratio (e.g. both weights zero)
 * rejects. One uniform is drawn per chain, accepted or not, so the stream does not depend on
 * the outcome.
 */
export function misDecide(
  chainLogPi: Float64Array,
  chainLogQ: Float64Array,
  propLogPi: Float64Array,
  propLogQ: Float64Array,
  rng: Rng,
): MisDecision {
  const n = chainLogPi.length;
  const accepted = new Uint8Array(n);
  const acceptProb = new Float64Array(n);
  let nacc = 0;
  for (let c = 0; c < n; c++) {
    const logA = propLogPi[c] - propLogQ[c] - (chainLogPi[c] - chainLogQ[c]);
    const a = Number.isNaN(logA) ? 0 : logA >= 0 ? 1 : Math.exp(logA);
    acceptProb[c] = a;
    const u = rng.uniform();
    if (a > 0 && (a >= 1 || u < a)) {
      accepted[c] = 1;
      nacc++;
    }
  }
  return { accepted, acceptProb, acceptance: n > 0 ? nacc / n : NaN };
}

export interface MisOptions {
  nchains: number;
  /** Metropolis steps per chain (after the initial draw) */
  nsteps: number;
  rng: Rng;
  /** called after every step */
  onStep?: (s: MisStep) => void;
  /** keep every step's states (nsteps × nchains × nvars, step-major) in the result */
  store?: boolean;
}

export interface MisResult {
  /** fraction of accepted proposals over all chains and steps */
  acceptance: number;
  /** mean of min(1, w′/w) over all proposals (a lower-variance estimate of the same rate) */
  meanAcceptProb: number;
  /** fraction accepted per chain */
  perChainAcceptance: Float64Array;
  /**
   * Pareto k̂ of the importance weights w = π/q of all proposals (pareto.ts): > 0.7 means a heavy
   * tail, i.e. chains that stick for long stretches at rare high-weight states, with τ_int that
   * keeps growing with the run length
   */
  proposalParetoK: number;
  /** final states, nchains × nvars */
  x: Real;
  logPi: Float64Array;
  logQ: Float64Array;
  /** when `store`: states of every step, step-major (step t, chain c at (t·nchains + c)·nvars) */
  samples?: Real;
  nchains: number;
  nsteps: number;
}

/** Run MIS chains started from a draw of q (so no burn-in is needed when q ≈ π/Z). */
export function runMis(proposal: ProposalDensity, target: Target, opts: MisOptions): MisResult {
  const { nchains, nsteps, rng } = opts;
  if (!Number.isInteger(nchains) || nchains < 1) throw new RangeError(`nchains = ${nchains} must be an integer ≥ 1`);
  if (!Number.isInteger(nsteps) || nsteps < 0) throw new RangeError(`nsteps = ${nsteps} must be an integer ≥ 0`);
  if (target.nvars !== proposal.nvars) {
    throw new RangeError(`target has ${target.nvars} variables but the proposal has ${proposal.nvars}`);
  }
  const N = proposal.nvars;
  const init = proposal.sample(nchains, rng);
  const x = init.x;
  const logQ = init.logQ.slice();
  const logPi = new Float64Array(nchains);
  target.logProb(x, nchains, logPi);

  const perChain = new Float64Array(nchains);
  const samples = opts.store ? alloc(dtypeOf(x), nsteps * nchains * N) : undefined;
  const logPiNew = new Float64Array(nchains);
  const proposalLogW = new Float64Array(nsteps * nchains);
  let nacc = 0;
  let sumA = 0;
  for (let step = 0; step < nsteps; step++) {
    const prop = proposal.sample(nchains, rng);
    target.logProb(prop.x, nchains, logPiNew);
    const d = misDecide(logPi, logQ, logPiNew, prop.logQ, rng);
    for (let c = 0; c < nchains; c++) {
      proposalLogW[step * nchains + c] = logPiNew[c] - prop.logQ[c];
      sumA += d.acceptProb[c];
      if (d.accepted[c]) {
        nacc++;
        perChain[c]++;
        logPi[c] = logPiNew[c];
        logQ[c] = prop.logQ[c];
        x.set(prop.x.subarray(c * N, (c + 1) * N), c * N);
      }
    }
    if (samples) samples.set(x, step * nchains * N);
    opts.onStep?.({ step, x, logPi, logQ, accepted: d.accepted, acceptProb: d.acceptProb });
  }
  const total = nsteps * nchains;
  for (let c = 0; c < nchains; c++) perChain[c] = nsteps > 0 ? perChain[c] / nsteps : NaN;
  return {
    acceptance: total > 0 ? nacc / total : NaN,
    meanAcceptProb: total > 0 ? sumA / total : NaN,
    perChainAcceptance: perChain,
    proposalParetoK: paretoK(proposalLogW),
    x,
    logPi,
    logQ,
    samples,
    nchains,
    nsteps,
  };
}
