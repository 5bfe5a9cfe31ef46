import type { Real } from "../../src/engine/real.ts";
import type { Target } from "../../src/targets/target.ts";

/** Non-Gaussian Z2-symmetric test density: ln π = Σ [−0.7 x² + ln cosh 2x] + 0.3 Σ x_i x_{i+1}, with its gradient. */
export function toyTarget(L: number): Target {
  const N = L * L;
  return {
    kind: "toy",
    L,
    nvars: N,
    z2Symmetric: true,
    config: { kind: "toy", L },
    logProb(x: Real, batch: number, out: Float64Array, grad?: Real) {
      for (let b = 0; b < batch; b++) {
        let s = 0;
        for (let i = 0; i < N; i++) {
          const xi = x[b * N + i];
          const xn = x[b * N + ((i + 1) % N)];
          s += -0.7 * xi * xi + Math.log(Math.cosh(2 * xi)) + 0.3 * xi * xn;
          if (grad) {
            const xp = x[b * N + ((i - 1 + N) % N)];
            grad[b * N + i] = -1.4 * xi + 2 * Math.tanh(2 * xi) + 0.3 * (xn + xp);
          }
        }
        out[b] = s;
      }
    },
  };
}
