/**
 * The same energy as my-energy.ts written in jax-js array ops: no hand-written gradient, jax-js
 * autodiff provides it. `phi` has shape [batch, L, L]; the result must have shape [batch].
 * jax-js arrays are consumed by every op (move semantics): use `phi.ref` for each use but the last.
 *
 *   neuralrg train --target ./examples/my-energy-jax.ts
 */
import { defineTarget } from "../src/targets/user.ts";

const KAPPA = 0.2;
const KAPPA2 = 0.03;
const LAMBDA = 0.02;

export default defineTarget({
  L: 8,
  name: "phi4-nnn-jax",
  z2Symmetric: true,
  logProbJax(phi, np) {
    // neighbours: np.roll(phi, -1, 2) is φ(i, j+1), np.roll(phi, -1, 1) is φ(i+1, j)
    const right = np.roll(phi.ref, -1, 2);
    const down = np.roll(phi.ref, -1, 1);
    const diag1 = np.roll(down.ref, -1, 2); // φ(i+1, j+1)
    const diag2 = np.roll(down.ref, 1, 2); // φ(i+1, j−1)
    const hop = phi.ref.mul(right.add(down)).mul(-2 * KAPPA);
    const hop2 = phi.ref.mul(diag1.add(diag2)).mul(-2 * KAPPA2);
    const p2 = phi.ref.mul(phi);
    const q = p2.ref.sub(1);
    const S = hop.add(hop2).add(p2).add(q.ref.mul(q).mul(LAMBDA));
    return S.sum([1, 2]).neg();
  },
});
