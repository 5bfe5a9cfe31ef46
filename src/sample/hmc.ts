/**
 * Hybrid (Hamiltonian) Monte Carlo with many parallel chains (supplement Algorithm 2).
 *
 * - Physical space: U(x) = −ln π(x), the gradient from `target.logProb(…, grad)`.
 * - Latent space (Eq. 6): U(z) = −ln p(z) − ln π(g(z)) + ln q(g(z)). Since
 *   ln q(g(z)) = ln p(z) − ln|det ∂x/∂z|, this is U(z) = −ln π(g(z)) − ln|det ∂g/∂z|, and the
 *   force is one taped generate pass plus its backward with output adjoint −∇ ln π and
 *   log-det adjoint −1. With a Z2-symmetric target and the symmetrised model,
 *   U(z) = −ln p(z) − ln π(g(z)) + ln q_sym(g(z)) (S7), which also needs ln q(−x) through an
 *   inverse pass (inferWithTape + backward, as in train/objectives.ts). Then z ∼ e^{−U} maps to
 *   x = η g(z) with a random sign η = ±1 (the mixture of S5): g(z) alone has density
 *   π(x) q(x)/q_sym(x), the random sign restores π(x).
 *
 * One trajectory: v ∼ N(0, 1); `leapfrogSteps` leapfrog steps of size ε on H = vᵀv/2 + U;
 * Metropolis accept with min(1, e^{−ΔH}) per chain. The step size may be adapted during warm-up
 * only (dual averaging, Hoffman & Gelman 2014, Alg. 5, on the chains' mean acceptance
 * probability), then frozen at its averaged value, so the production chain is a valid MCMC.
 */
import type { Real } from "../engine/real.ts";
import { alloc, dtypeOf } from "../engine/real.ts";
import { logAddExp, sigmoid } from "../engine/math.ts";
import type { Rng } from "../engine/rng.ts";
import type { FlowModel } from "../flow/flow.ts";
import { backward, generateWithTape, inferWithTape, priorLogProb } from "../flow/flow.ts";
import type { Target } from "../targets/target.ts";

/** A potential energy U on batches of `dim`-vectors (batch axis first). */
export interface Potential {
  readonly dim: number;
  /** variables of the physical configuration x a state maps to (= dim for physical HMC) */
  readonly nvars: number;
  /** true when the physical sample is η·x(q) with a random sign η (symmetrised latent HMC) */
  readonly randomSign: boolean;
  /**
   * U(q) per row into `u` and ∂U/∂q into `grad` (batch × dim). When `x` is given
   * (batch × nvars) it receives the physical configuration of each row (before any sign flip).
   */
  energyAndGrad(q: Real, batch: number, u: Float64Array, grad: Real, x?: Real): void;
}

function checkTarget(target: Target): void {
  if (!Number.isInteger(target.nvars) || target.nvars < 1)
    throw new RangeError(`target has invalid nvars = ${target.nvars}`);
}

/** U(x) = −ln π(x) for HMC in physical space. */
export function physicalPotential(target: Target): Potential {
  checkTarget(target);
  return {
    dim: target.nvars,
    nvars: target.nvars,
    randomSign: false,
    energyAndGrad(q, batch, u, grad, x) {
      target.logProb(q, batch, u, grad);
      for (let b = 0; b < batch; b++) u[b] = -u[b];
      for (let i = 0; i < batch * target.nvars; i++) grad[i] = -grad[i];
      if (x) x.set(q.subarray(0, batch * target.nvars));
    },
  };
}

export interface LatentPotentialOptions {
  /** use ln q_sym (S7); requires a Z2-symmetric target */
  symmetrize: boolean;
}

/** U(z) = −ln p(z) − ln π(g(z)) + ln q(g(z)) (Eq. 6), or with q_sym (S7), and its gradient. */
export function latentPotential(
  model: FlowModel,
  params: Real,
  target: Target,
  opts: LatentPotentialOptions,
): Potential {
  checkTarget(target);
  if (target.nvars !== model.nvars) {
    throw new RangeError(`target has ${target.nvars} variables but the flow has ${model.nvars}`);
  }
  if (opts.symmetrize && !target.z2Symmetric) {
    throw new RangeError(`symmetrize = true needs a Z2-symmetric target; target '${target.kind}' is not`);
  }
  const N = model.nvars;
  const dtype = dtypeOf(params);
  const symmetrize = opts.symmetrize;
  return {
    dim: N,
    nvars: N,
    randomSign: symmetrize,
    energyAndGrad(z, batch, u, grad, xOut) {
      const gen = generateWithTape(model, params, z, batch);
      const x = gen.x;
      const logPi = new Float64Array(batch);
      const gradPi = alloc(dtype, batch * N);
      target.logProb(x, batch, logPi, gradPi);
      const gx = alloc(dtype, batch * N);
      const gLd = new Float64Array(batch);
      if (!symmetrize) {
        // U = −ln π(g(z)) − ln|det ∂g/∂z|
        for (let b = 0; b < batch; b++) {
          u[b] = -logPi[b] - gen.logDet[b];
          gLd[b] = -1;
        }
        for (let k = 0; k < gx.length; k++) gx[k] = -gradPi[k];
        const gz = backward(model, params, gen.tape, gx, gLd, null);
        grad.set(gz);
      } else {
        // U = −ln p(z) − ln π(x) + logaddexp(ln q(x), ln q(−x)) − ln 2, x = g(z)
        const lpz = priorLogProb(z, batch, N);
        const xm = alloc(dtype, batch * N);
        for (let k = 0; k < xm.length; k++) xm[k] = -x[k];
        const inf = inferWithTape(model, params, xm, batch);
        const lpzm = priorLogProb(inf.z, batch, N);
        const gzm = alloc(dtype, batch * N);
        const gLdInf = new Float64Array(batch);
        const w1 = new Float64Array(batch);
        for (let b = 0; b < batch; b++) {
          const lq = lpz[b] - gen.logDet[b];
          const lqm = lpzm[b] + inf.logDet[b];
          w1[b] = sigmoid(lq - lqm); // share of q(x) in q_sym(x)
          const w2 = 1 - w1[b];
          u[b] = -lpz[b] - logPi[b] + logAddExp(lq, lqm) - Math.LN2;
          gLd[b] = -w1[b]; // ln q(x) = ln p(z) − logDet_g
          gLdInf[b] = w2; // ln q(−x) = ln p(z′) + logDet_inf
          for (let i = b * N; i < (b + 1) * N; i++) gzm[i] = -inf.z[i] * w2; // ∂ ln p(z′)/∂z′ = −z′
        }
        // adjoint of −x; d/dx f(−x) = −f′(−x)
        const gxm = backward(model, params, inf.tape, gzm, gLdInf, null);
        for (let k = 0; k < gx.length; k++) gx[k] = -gradPi[k] - gxm[k];
        const gz = backward(model, params, gen.tape, gx, gLd, null);
        // direct z terms: −∇ln p(z) + w1 ∇ln p(z) = (1 − w1) z
        for (let b = 0; b < batch; b++) {
          const w2 = 1 - w1[b];
          for (let i = b * N; i < (b + 1) * N; i++) grad[i] = gz[i] + w2 * z[i];
        }
      }
      if (xOut) xOut.set(x);
    },
  };
}

export interface LeapfrogState {
  q: Real;
  v: Real;
  u: Float64Array;
  grad: Real;
}

/**
 * `nsteps` leapfrog steps of size eps for H = vᵀv/2 + U(q), in place on copies of q and v.
 * `grad0` and `u0` (∂U/∂q and U at q) may be passed to save one evaluation. Pure apart from
 * the potential's evaluations; reversible: leapfrog(q′, −v′) returns (q, −v) up to round-off.
 */
export function leapfrog(
  pot: Potential,
  q0: Real,
  v0: Real,
  batch: number,
  eps: number,
  nsteps: number,
  grad0?: Real,
  u0?: Float64Array,
  xOut?: Real,
): LeapfrogState {
  const n = batch * pot.dim;
  if (q0.length !== n || v0.length !== n)
    throw new RangeError(`leapfrog: q and v must have batch × dim = ${n} entries`);
  const q = q0.slice() as Real;
  const v = v0.slice() as Real;
  const u = new Float64Array(batch);
  let grad: Real;
  if (grad0 && u0) {
    grad = grad0.slice() as Real;
    u.set(u0);
  } else {
    grad = alloc(dtypeOf(q0), n);
    pot.energyAndGrad(q, batch, u, grad, nsteps === 0 ? xOut : undefined);
  }
  if (nsteps === 0) return { q, v, u, grad };
  for (let i = 0; i < n; i++) v[i] -= 0.5 * eps * grad[i];
  for (let s = 0; s < nsteps; s++) {
    for (let i = 0; i < n; i++) q[i] += eps * v[i];
    pot.energyAndGrad(q, batch, u, grad, s === nsteps - 1 ? xOut : undefined);
    const f = s === nsteps - 1 ? 0.5 * eps : eps;
    for (let i = 0; i < n; i++) v[i] -= f * grad[i];
  }
  return { q, v, u, grad };
}

/** Kinetic energy vᵀv/2 per row. */
export function kinetic(v: Real, batch: number, dim: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let i = b * dim; i < (b + 1) * dim; i++) s += v[i] * v[i];
    out[b] = 0.5 * s;
  }
  return out;
}

export interface HmcStep {
  /** 0-based trajectory index including warm-up */
  step: number;
  /** true during warm-up (states are not production samples) */
  warmup: boolean;
  /** current states, batch × dim (reused between steps: copy to keep) */
  q: Real;
  /** the physical configurations of the current states, batch × nvars (sign-flipped at random when `randomSign`) */
  x: Real;
  /** U of the current states */
  u: Float64Array;
  accepted: Uint8Array;
  /** min(1, e^{−ΔH}) of this trajectory, per chain */
  acceptProb: Float64Array;
  stepSize: number;
}

export interface HmcOptions {
  /** production trajectories per chain (after warm-up) */
  ntraj: number;
  /** warm-up trajectories (recorded with warmup = true; the step size adapts here only) */
  warmup?: number;
  /** leapfrog steps per trajectory (default 10, the original code's) */
  leapfrogSteps?: number;
  /** initial / fixed step size (default 0.2) */
  stepSize?: number;
  /**
   * per-trajectory random step size ε·(1 + j·u), u ∼ U(−1, 1), shared by all chains (default 0):
   * breaks the resonances of a fixed trajectory length (e.g. x → −x for a mode with ωT = π)
   */
  stepJitter?: number;
  /** adapt the step size during warm-up toward this mean acceptance probability (e.g. 0.7); off when undefined */
  targetAccept?: number;
  rng: Rng;
  onStep?: (s: HmcStep) => void;
}

export interface HmcResult {
  /** fraction of accepted trajectories in production, over all chains */
  acceptance: number;
  /** mean min(1, e^{−ΔH}) in production */
  meanAcceptProb: number;
  /** acceptance fraction of each chain in production */
  perChainAcceptance: Float64Array;
  /** acceptance during warm-up */
  warmupAcceptance: number;
  /** the (frozen) production step size (the centre of the jitter) */
  stepSize: number;
  /** step size used at each trajectory (warm-up and production; jittered when stepJitter > 0) */
  stepSizeTrace: Float64Array;
  /** mean acceptance probability of each trajectory */
  acceptTrace: Float64Array;
  /** final states, batch × dim, and their physical configurations (no sign flip) */
  q: Real;
  x: Real;
  u: Float64Array;
  /** mean |ΔH| in production */
  meanAbsDeltaH: number;
}

/**
 * Run `batch` parallel HMC chains from `init` (batch × dim). Rejected trajectories keep the old
 * state; trajectories whose energy is not finite are rejected.
 */
export function runHmc(pot: Potential, init: Real, batch: number, opts: HmcOptions): HmcResult {
  const L = opts.leapfrogSteps ?? 10;
  let eps = opts.stepSize ?? 0.2;
  const warmup = opts.warmup ?? 0;
  const { ntraj, rng } = opts;
  const dim = pot.dim;
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch = ${batch} must be an integer ≥ 1`);
  if (init.length !== batch * dim)
    throw new RangeError(`init has ${init.length} entries, expected batch × dim = ${batch} × ${dim}`);
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`leapfrogSteps = ${L} must be an integer ≥ 1`);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new RangeError(`stepSize = ${eps} must be a finite number > 0`);
  if (!Number.isInteger(ntraj) || ntraj < 0) throw new RangeError(`ntraj = ${ntraj} must be an integer ≥ 0`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup = ${warmup} must be an integer ≥ 0`);
  const jitter = opts.stepJitter ?? 0;
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`stepJitter = ${jitter} must be in [0, 1)`);
  const target = opts.targetAccept;
  if (target !== undefined && !(target > 0 && target < 1))
    throw new RangeError(`targetAccept = ${target} must be in (0, 1)`);

  const dtype = dtypeOf(init);
  const N = pot.nvars;
  let q = init.slice() as Real;
  let u: Float64Array = new Float64Array(batch);
  let grad: Real = alloc(dtype, batch * dim);
  const x = alloc(dtype, batch * N);
  pot.energyAndGrad(q, batch, u, grad, x);
  const xNew = alloc(dtype, batch * N);
  const xShown = alloc(dtype, batch * N);
  const v = alloc(dtype, batch * dim);
  const accepted = new Uint8Array(batch);
  const acceptProb = new Float64Array(batch);
  const perChain = new Float64Array(batch);
  const total = warmup + ntraj;
  const stepSizeTrace = new Float64Array(total);
  const acceptTrace = new Float64Array(total);
  let nacc = 0;
  let sumA = 0;
  let wacc = 0;
  let sumAbsDH = 0;
  // dual averaging state
  const mu = Math.log(10 * eps);
  let hBar = 0;
  let logEpsBar = 0;
  const gamma = 0.05;
  const t0 = 10;
  const kappa = 0.75;

  for (let t = 0; t < total; t++) {
    const inWarmup = t < warmup;
    const epsT = jitter > 0 ? eps * (1 + jitter * (2 * rng.uniform() - 1)) : eps;
    stepSizeTrace[t] = epsT;
    rng.fillNormal(v);
    const k0 = kinetic(v, batch, dim);
    const lf = leapfrog(pot, q, v, batch, epsT, L, grad, u, xNew);
    const k1 = kinetic(lf.v, batch, dim);
    let meanA = 0;
    for (let c = 0; c < batch; c++) {
      const dH = lf.u[c] + k1[c] - (u[c] + k0[c]);
      const a = Number.isFinite(dH) && Number.isFinite(lf.u[c]) ? (dH <= 0 ? 1 : Math.exp(-dH)) : 0;
      acceptProb[c] = a;
      meanA += a;
      const ok = a > 0 && (a >= 1 || rng.uniform() < a);
      accepted[c] = ok ? 1 : 0;
      if (!inWarmup) sumAbsDH += Number.isFinite(dH) ? Math.abs(dH) : 0;
      if (ok) {
        if (inWarmup) wacc++;
        else {
          nacc++;
          perChain[c]++;
        }
      }
    }
    meanA /= batch;
    acceptTrace[t] = meanA;
    if (!inWarmup) sumA += meanA * batch;
    // accept row by row
    const qn = lf.q;
    for (let c = 0; c < batch; c++) {
      if (!accepted[c]) {
        qn.set(q.subarray(c * dim, (c + 1) * dim), c * dim);
        lf.grad.set(grad.subarray(c * dim, (c + 1) * dim), c * dim);
        lf.u[c] = u[c];
      } else {
        x.set(xNew.subarray(c * N, (c + 1) * N), c * N);
      }
    }
    q = qn;
    grad = lf.grad;
    u = lf.u;

    if (inWarmup && target !== undefined) {
      const m = t + 1;
      hBar = (1 - 1 / (m + t0)) * hBar + (target - meanA) / (m + t0);
      const logEps = mu - (Math.sqrt(m) / gamma) * hBar;
      const w = m ** -kappa;
      logEpsBar = w * logEps + (1 - w) * logEpsBar;
      eps = Math.exp(logEps);
      if (t === warmup - 1) eps = Math.exp(logEpsBar); // freeze for production
    }

    if (opts.onStep) {
      xShown.set(x);
      if (pot.randomSign) {
        for (let c = 0; c < batch; c++) {
          if (rng.uniform() < 0.5) for (let i = c * N; i < (c + 1) * N; i++) xShown[i] = -xShown[i];
        }
      }
      opts.onStep({ step: t, warmup: inWarmup, q, x: xShown, u, accepted, acceptProb, stepSize: stepSizeTrace[t] });
    }
  }
  for (let c = 0; c < batch; c++) perChain[c] = ntraj > 0 ? perChain[c] / ntraj : NaN;
  const nprod = ntraj * batch;
  return {
    acceptance: nprod > 0 ? nacc / nprod : NaN,
    meanAcceptProb: nprod > 0 ? sumA / nprod : NaN,
    perChainAcceptance: perChain,
    warmupAcceptance: warmup > 0 ? wacc / (warmup * batch) : NaN,
    stepSize: eps,
    stepSizeTrace,
    acceptTrace,
    q,
    x,
    u,
    meanAbsDeltaH: nprod > 0 ? sumAbsDH / nprod : NaN,
  };
}
