/**
 * The jax-js reference flow (src/flow/reference.ts) against independent truths: a naive
 * plain-JS scalar implementation of the same conventions (written here, sharing nothing with
 * the reference but params.ts/layout.ts), brute-force Jacobians (jax-js forward mode and
 * central finite differences of the plain-JS flow), and finite differences of the loss.
 * Runs on the "cpu" device: float64 exact (see reference-precision.test.ts).
 */
import { numpy as np } from "@jax-js/jax";
import { beforeAll, describe, expect, it } from "vitest";
import type { JaxArray } from "../../src/engine/jax.ts";
import { fromReal, initEngine, jacobianFlat, withDevice } from "../../src/engine/jax.ts";
import type { FlowConfig, LayoutKind } from "../../src/flow/config.ts";
import { buildLayers } from "../../src/flow/layout.ts";
import type { DenseParams } from "../../src/flow/params.ts";
import { paramCount, viewParams } from "../../src/flow/params.ts";
import type { ReferenceTarget } from "../../src/flow/reference.ts";
import {
  jaxGenerate,
  referenceGenerate,
  referenceInfer,
  referenceLogProb,
  referenceLoss,
  referenceLossAndGrad,
  referencePlan,
} from "../../src/flow/reference.ts";
import { logAbsDet, normals, randomParams } from "./helpers.ts";
import { invert } from "../sample/helpers.ts";

beforeAll(async () => {
  await initEngine();
});

const LN_2PI = Math.log(2 * Math.PI);

function cfg(L: number, layout: LayoutKind, depth: number, nlayers = 2, nmlp = 1, nhidden = 4): FlowConfig {
  return { L, layout, depth, nlayers, nmlp, nhidden };
}

// ---- naive plain-JS flow, one sample and one block at a time ----

function plainNet(net: DenseParams[], x: number[]): number[] {
  let h = x;
  net.forEach((d, k) => {
    const u: number[] = [];
    for (let o = 0; o < d.nout; o++) {
      let a = d.b[o];
      for (let i = 0; i < d.nin; i++) a += d.W[o * d.nin + i] * h[i];
      u.push(a);
    }
    h = k + 1 < net.length ? u.map((v) => (v > 0 ? v : Math.expm1(v))) : u;
  });
  return h;
}

function plainRun(config: FlowConfig, params: Float64Array, input: Float64Array, batch: number, generate: boolean) {
  const p = viewParams(config, params);
  const layers = buildLayers(config);
  const N = config.L * config.L;
  const out = input.slice();
  const logDet = new Float64Array(batch);
  const order = layers.map((_, i) => i);
  if (generate) order.reverse();
  for (let b = 0; b < batch; b++) {
    const row = out.subarray(b * N, (b + 1) * N);
    for (const l of order) {
      const { blocks, nblocks } = layers[l];
      const cs = p.layers[l];
      for (let k = 0; k < nblocks; k++) {
        const v = [0, 1, 2, 3].map((c) => row[blocks[4 * k + c]]);
        for (let step = 0; step < cs.length; step++) {
          const c = generate ? step : cs.length - 1 - step;
          const [cond, upd] =
            c % 2 === 0
              ? [
                  [0, 3],
                  [1, 2],
                ]
              : [
                  [1, 2],
                  [0, 3],
                ];
          const h = [v[cond[0]], v[cond[1]]];
          const so = plainNet(cs[c].s, h);
          const t = plainNet(cs[c].t, h);
          for (let i = 0; i < 2; i++) {
            const s = cs[c].sScale[i] * Math.tanh(so[i]);
            if (generate) {
              v[upd[i]] = v[upd[i]] * Math.exp(s) + t[i];
              logDet[b] += s;
            } else {
              v[upd[i]] = (v[upd[i]] - t[i]) * Math.exp(-s);
              logDet[b] -= s;
            }
          }
        }
        for (let c = 0; c < 4; c++) row[blocks[4 * k + c]] = v[c];
      }
    }
  }
  return { out, logDet };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Relaxed-Ising Kinv = (βA + αI)⁻¹ on the L×L torus, α so that the smallest eigenvalue is 0.1. */
function isingKinv(L: number, beta: number): Float64Array {
  const N = L * L;
  const K = new Float64Array(N * N);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const s = i * L + j;
      for (const [di, dj] of [
        [1, 0],
        [-1, 0],
        [0, 1],
        [0, -1],
      ])
        K[s * N + ((i + di + L) % L) * L + ((j + dj + L) % L)] += beta;
      K[s * N + s] += 0.1 + 4 * beta; // adjacency spectrum min is −4 for even L
    }
  }
  return invert(K, N);
}

function plainLoss(
  config: FlowConfig,
  params: Float64Array,
  z: Float64Array,
  batch: number,
  Kinv: Float64Array,
  symmetrize: boolean,
): number {
  const N = config.L * config.L;
  const { out: x, logDet: ldg } = plainRun(config, params, z, batch, true);
  const lnp = (v: Float64Array, b: number) => {
    let s = 0;
    for (let i = 0; i < N; i++) s += v[b * N + i] ** 2;
    return -0.5 * s - (N / 2) * LN_2PI;
  };
  let flip: { out: Float64Array; logDet: Float64Array } | null = null;
  if (symmetrize)
    flip = plainRun(
      config,
      params,
      x.map((v) => -v),
      batch,
      false,
    );
  let total = 0;
  for (let b = 0; b < batch; b++) {
    let lnq = lnp(z, b) - ldg[b];
    if (flip) {
      const lnq2 = lnp(flip.out, b) + flip.logDet[b];
      const m = Math.max(lnq, lnq2);
      lnq = m + Math.log(Math.exp(lnq - m) + Math.exp(lnq2 - m)) - Math.LN2;
    }
    let quad = 0;
    let lncosh = 0;
    for (let i = 0; i < N; i++) {
      const xi = x[b * N + i];
      let r = 0;
      for (let j = 0; j < N; j++) r += Kinv[i * N + j] * x[b * N + j];
      quad += xi * r;
      lncosh += Math.abs(xi) + Math.log1p(Math.exp(-2 * Math.abs(xi))) - Math.LN2;
    }
    total += lnq - (-0.5 * quad + lncosh);
  }
  return total / batch;
}

// ---- tests ----

const C4 = cfg(4, "mera", 2); // L = 4, depth 2, nlayers 2, nmlp 1, nhidden 4

describe("reference flow (jax-js, cpu device, float64)", () => {
  it("uses the params.ts layout and validates its inputs", () => {
    const plan = referencePlan(C4);
    expect(plan.nparams).toBe(paramCount(C4));
    expect(plan.layers.length).toBe(4);
    const p = randomParams(C4);
    expect(() => referenceGenerate(C4, p.subarray(1), new Float64Array(16), 1)).toThrow(/parameter array has/);
    expect(() => referenceGenerate(C4, p, new Float64Array(15), 1)).toThrow(
      /z has length 15, expected batch × N = 1 × 16/,
    );
  });

  it("matches a naive plain-JS evaluation of the same conventions (generate and infer)", () => {
    const p = randomParams(C4, 3, 0.8);
    const B = 4;
    const z = normals(B * 16, 4);
    const g = referenceGenerate(C4, p, z, B);
    const pg = plainRun(C4, p, z, B, true);
    expect(maxAbsDiff(g.x, pg.out)).toBeLessThan(1e-13);
    expect(maxAbsDiff(g.logDet, pg.logDet)).toBeLessThan(1e-13);
    expect(Math.max(...g.logDet.map(Math.abs))).toBeGreaterThan(0.05); // not the identity
    const x = normals(B * 16, 5);
    const i = referenceInfer(C4, p, x, B);
    const pi = plainRun(C4, p, x, B, false);
    expect(maxAbsDiff(i.z, pi.out)).toBeLessThan(1e-13);
    expect(maxAbsDiff(i.logDet, pi.logDet)).toBeLessThan(1e-13);
  });

  it("is invertible with logdet_i = −logdet_g, and logProb(g(z)) = ln p(z) − logdet_g", () => {
    const p = randomParams(C4, 6, 1.0);
    const B = 5;
    const z = normals(B * 16, 7);
    const g = referenceGenerate(C4, p, z, B);
    const i = referenceInfer(C4, p, g.x, B);
    expect(maxAbsDiff(i.z, z)).toBeLessThan(1e-13);
    expect(
      maxAbsDiff(
        i.logDet,
        g.logDet.map((v) => -v),
      ),
    ).toBeLessThan(1e-13);
    const lq = referenceLogProb(C4, p, g.x, B);
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let k = 0; k < 16; k++) s += z[b * 16 + k] ** 2;
      expect(lq[b]).toBeCloseTo(-0.5 * s - 8 * LN_2PI - g.logDet[b], 12);
    }
  });

  it("logdet_g = ln|det ∂x/∂z| of brute-force Jacobians (jax-js jacfwd and plain-JS central differences)", () => {
    const p = randomParams(C4, 8, 1.0);
    const N = 16;
    const z = normals(N, 9);
    const plan = referencePlan(C4);
    const J = withDevice("cpu", () =>
      jacobianFlat((zf: JaxArray) => {
        const [x, ld] = jaxGenerate(plan, fromReal(p), zf.reshape([1, N]));
        ld.dispose();
        return x.reshape([N]);
      }, z),
    );
    const ldg = referenceGenerate(C4, p, z, 1).logDet[0];
    expect(Math.abs(ldg)).toBeGreaterThan(0.1);
    expect(Math.abs(logAbsDet(J, N) - ldg)).toBeLessThan(1e-12);
    // J[i][j] = ∂x_i/∂z_j by central differences of the plain-JS flow
    const h = 1e-5;
    const Jfd = new Float64Array(N * N);
    for (let j = 0; j < N; j++) {
      const zp = z.slice();
      const zm = z.slice();
      zp[j] += h;
      zm[j] -= h;
      const xp = plainRun(C4, p, zp, 1, true).out;
      const xm = plainRun(C4, p, zm, 1, true).out;
      for (let i = 0; i < N; i++) Jfd[i * N + j] = (xp[i] - xm[i]) / (2 * h);
    }
    expect(maxAbsDiff(J, Jfd)).toBeLessThan(1e-8);
    expect(Math.abs(logAbsDet(Jfd, N) - ldg)).toBeLessThan(1e-8);
  });

  it("gradient of the PDD loss (plain and symmetrised) matches central finite differences", () => {
    const p = randomParams(C4, 10, 0.8);
    const B = 4;
    const z = normals(B * 16, 11);
    const Kinv = isingKinv(4, 0.44);
    const target: ReferenceTarget = { kind: "relaxedIsing", Kinv };
    const view = viewParams(C4, p);
    const off = (a: Float64Array | Float32Array, i = 0) => a.byteOffset / 8 + i;
    // a few parameters of every kind: first s layer, last t layer (non-zero), scales, biases; several layers
    const probe = [
      off(view.layers[0][0].s[0].W, 1),
      off(view.layers[0][1].t[1].W, 3),
      off(view.layers[1][0].sScale, 0),
      off(view.layers[2][1].s[1].b, 1),
      off(view.layers[3][0].t[0].b, 2),
      off(view.layers[3][1].sScale, 1),
    ];
    for (const symmetrize of [false, true]) {
      const { loss, grad } = referenceLossAndGrad(C4, p, z, B, target, { symmetrize });
      expect(grad.length).toBe(p.length);
      expect(Math.abs(loss - plainLoss(C4, p, z, B, Kinv, symmetrize))).toBeLessThan(1e-12);
      // cpu float64 is exact to ~1e-15, so FD error is O(h²) ≈ 1e-10 plus rounding 1e-15/h ≈ 1e-10
      const h = 1e-5;
      for (const k of probe) {
        const pp = p.slice();
        const pm = p.slice();
        pp[k] += h;
        pm[k] -= h;
        const fd =
          (referenceLoss(C4, pp, z, B, target, { symmetrize }) - referenceLoss(C4, pm, z, B, target, { symmetrize })) /
          (2 * h);
        expect(Math.abs(grad[k] - fd)).toBeLessThan(1e-7 * (1 + Math.abs(fd)));
        expect(Math.abs(grad[k])).toBeGreaterThan(1e-6); // the probe actually moves the loss
      }
    }
  });

  it("Gaussian target: loss and gradient match the plain-JS loss by finite differences", () => {
    const c = cfg(2, "mera", 1, 3, 2, 3);
    const p = randomParams(c, 12, 0.5);
    const B = 3;
    const z = normals(B * 4, 13);
    const A = new Float64Array(16);
    for (let i = 0; i < 4; i++) A[i * 5] = 1 + 0.25 * i;
    A[1] = A[4] = 0.3;
    const { loss, grad } = referenceLossAndGrad(c, p, z, B, { kind: "gaussian", A });
    const plain = (q: Float64Array) => {
      const { out: x, logDet } = plainRun(c, q, z, B, true);
      let t = 0;
      for (let b = 0; b < B; b++) {
        let zz = 0;
        let xAx = 0;
        for (let i = 0; i < 4; i++) {
          zz += z[b * 4 + i] ** 2;
          for (let j = 0; j < 4; j++) xAx += x[b * 4 + i] * A[i * 4 + j] * x[b * 4 + j];
        }
        t += -0.5 * zz - 2 * LN_2PI - logDet[b] + 0.5 * xAx;
      }
      return t / B;
    };
    expect(Math.abs(loss - plain(p))).toBeLessThan(1e-13);
    // the same density as a user-defined ("custom") target written in jax-js ops
    const custom: ReferenceTarget = {
      kind: "custom",
      logDensity: (x: JaxArray) => np.sum(np.matmul(x.ref, fromReal(A, { shape: [4, 4] })).mul(x), 1).mul(-0.5),
    };
    const rc = referenceLossAndGrad(c, p, z, B, custom);
    expect(Math.abs(rc.loss - loss)).toBeLessThan(1e-14);
    expect(maxAbsDiff(rc.grad, grad)).toBeLessThan(1e-14);
    const h = 1e-5;
    for (let k = 0; k < p.length; k += 7) {
      const pp = p.slice();
      const pm = p.slice();
      pp[k] += h;
      pm[k] -= h;
      const fd = (plain(pp) - plain(pm)) / (2 * h);
      expect(Math.abs(grad[k] - fd)).toBeLessThan(1e-7 * (1 + Math.abs(fd)));
    }
  });

  it("mera, tebd and tree layouts, with depth < log2 L, are invertible and match the plain-JS flow", () => {
    const cases: FlowConfig[] = [];
    for (const layout of ["mera", "tebd", "tree"] as const) {
      cases.push(cfg(2, layout, 1, 2, 1, 3));
      cases.push(cfg(4, layout, 1, 2, 1, 3));
      cases.push(cfg(4, layout, 2, 3, 0, 3));
      cases.push(cfg(8, layout, 2, 2, 1, 3));
    }
    cases.push(cfg(8, "mera", 1, 2, 1, 3));
    const B = 2;
    cases.forEach((c, n) => {
      const N = c.L * c.L;
      const p = randomParams(c, 20 + n, 1.0);
      const z = normals(B * N, 40 + n);
      const g = referenceGenerate(c, p, z, B);
      const i = referenceInfer(c, p, g.x, B);
      expect(maxAbsDiff(i.z, z), JSON.stringify(c)).toBeLessThan(1e-12);
      expect(
        maxAbsDiff(
          i.logDet,
          g.logDet.map((v) => -v),
        ),
      ).toBeLessThan(1e-12);
      expect(maxAbsDiff(g.x, z)).toBeGreaterThan(1e-3);
      const pg = plainRun(c, p, z, B, true);
      expect(maxAbsDiff(g.x, pg.out)).toBeLessThan(1e-12);
      expect(maxAbsDiff(g.logDet, pg.logDet)).toBeLessThan(1e-12);
    });
  });

  it("the wasm device agrees with the cpu device only to float32-transcendental accuracy", () => {
    const p = randomParams(C4, 30, 0.8);
    const B = 4;
    const z = normals(B * 16, 31);
    const target: ReferenceTarget = { kind: "relaxedIsing", Kinv: isingKinv(4, 0.44) };
    const cpu = referenceLossAndGrad(C4, p, z, B, target, { symmetrize: true });
    const wasm = referenceLossAndGrad(C4, p, z, B, target, { symmetrize: true, device: "wasm" });
    const gmax = Math.max(...cpu.grad.map(Math.abs));
    const lossErr = Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss);
    const gradErr = maxAbsDiff(wasm.grad, cpu.grad) / gmax;
    // measured: loss 5e-7 relative, gradient 1.5e-7 of max |grad|, inverse 2e-7 absolute
    expect(lossErr).toBeLessThan(5e-6);
    expect(gradErr).toBeLessThan(2e-6);
    expect(gradErr).toBeGreaterThan(1e-10); // it is not float64-exact
    const g = referenceGenerate(C4, p, z, B, { device: "wasm" });
    const i = referenceInfer(C4, p, g.x, B, { device: "wasm" });
    expect(maxAbsDiff(i.z, z)).toBeLessThan(2e-6);
    expect(maxAbsDiff(i.z, z)).toBeGreaterThan(1e-10);
  });

  it("float32 computation agrees with float64 to float32 accuracy", () => {
    const p = randomParams(C4, 32, 0.8);
    const B = 3;
    const z = normals(B * 16, 33);
    const g64 = referenceGenerate(C4, p, z, B);
    const g32 = referenceGenerate(C4, Float32Array.from(p), z, B, { dtype: "float32" });
    expect(maxAbsDiff(g32.x, g64.x)).toBeLessThan(1e-5);
    expect(maxAbsDiff(g32.x, g64.x)).toBeGreaterThan(1e-12);
    expect(maxAbsDiff(g32.logDet, g64.logDet)).toBeLessThan(1e-5);
  });
});
