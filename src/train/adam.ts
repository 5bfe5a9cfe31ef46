/**
 * Adam (Kingma & Ba 2015) on a flat parameter array, with optional L2 weight decay added to the
 * gradient (as torch.optim.Adam's weight_decay, which the original code used). The state is
 * plain data so that checkpoints can store and restore it exactly.
 */
import type { Real } from "../engine/real.ts";

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export interface AdamState {
  step: number;
  m: Float64Array;
  v: Float64Array;
}

export function adamInit(n: number): AdamState {
  return { step: 0, m: new Float64Array(n), v: new Float64Array(n) };
}

/** One update in place: params ← params − lr · m̂ / (√v̂ + ε). */
export function adamStep(params: Real, grad: Float64Array, state: AdamState, opts: AdamOptions): void {
  const { lr, beta1, beta2, eps, weightDecay } = opts;
  state.step += 1;
  const bc1 = 1 - beta1 ** state.step;
  const bc2 = 1 - beta2 ** state.step;
  const { m, v } = state;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i] + weightDecay * params[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] -= (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
  }
}
