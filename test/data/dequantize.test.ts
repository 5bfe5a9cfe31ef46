/**
 * Dequantisation and the logit transform: the log-determinant against a finite-difference
 * Jacobian and against numerical integration of the pulled-back density; the discrete
 * likelihood bound and the units.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { checkDataForPreprocess, checkPreprocess, nllUnits, toDataSpace, toModelSpace, type Preprocess } from "../../src/data/dequantize.ts";
import { logAbsDet } from "../flow/helpers.ts";

const stdNormalLog = (x: number) => -0.5 * x * x - 0.5 * Math.log(2 * Math.PI);

describe("logit transform", () => {
  it.each([0.05, 1e-3, 0.3])("α = %f: ln|det ∂x/∂y| equals the log-determinant of a finite-difference Jacobian", (alpha) => {
    const N = 9;
    const p: Preprocess = { dequantize: "none", logit: alpha };
    const y = Float64Array.from({ length: N }, (_, i) => (i + 0.5) / N);
    const x = new Float64Array(N);
    const ld = toModelSpace(y, 1, N, p, null, x);
    const J = new Float64Array(N * N);
    const h = 1e-7;
    for (let j = 0; j < N; j++) {
      const yp = y.slice(); yp[j] += h;
      const ym = y.slice(); ym[j] -= h;
      const xp = new Float64Array(N), xm = new Float64Array(N);
      toModelSpace(yp, 1, N, p, null, xp);
      toModelSpace(ym, 1, N, p, null, xm);
      for (let i = 0; i < N; i++) J[i * N + j] = (xp[i] - xm[i]) / (2 * h);
    }
    expect(ld[0]).toBeCloseTo(logAbsDet(J, N), 6);
    // and the inverse used for display undoes it
    const back = toDataSpace(x, p);
    for (let i = 0; i < N; i++) expect(back[i]).toBeCloseTo(y[i], 12);
  });

  it("the pulled-back density integrates over [0, 1] to the normal mass between logit(α) and logit(1 − α)", () => {
    const alpha = 0.05;
    const p: Preprocess = { dequantize: "none", logit: alpha };
    const M = 200000;
    const y = Float64Array.from({ length: M }, (_, i) => (i + 0.5) / M);
    const x = new Float64Array(M);
    const ld = toModelSpace(y, M, 1, p, null, x);
    let massY = 0;
    for (let i = 0; i < M; i++) massY += Math.exp(stdNormalLog(x[i]) + ld[i]) / M;
    const a = Math.log(alpha / (1 - alpha)), b = -a;
    let massX = 0;
    for (let i = 0; i < M; i++) massX += (Math.exp(stdNormalLog(a + ((i + 0.5) * (b - a)) / M)) * (b - a)) / M;
    expect(Math.abs(massY - massX)).toBeLessThan(1e-7);
    expect(massX).toBeGreaterThan(0.99); // a non-trivial check: most of the mass
  });
});

describe("uniform dequantisation", () => {
  it("puts y in the cell [k/256, (k+1)/256) and fills it uniformly", () => {
    const k = Uint8Array.from({ length: 20000 }, (_, i) => (i * 37) % 256);
    const y = new Float64Array(k.length);
    const ld = toModelSpace(k, 1, k.length, { dequantize: "uniform" }, Rng.fromSeed(1), y);
    expect(ld[0]).toBe(0);
    let m = 0, outside = 0;
    for (let i = 0; i < k.length; i++) {
      if (!(y[i] >= k[i] / 256 && y[i] < (k[i] + 1) / 256)) outside++;
      m += 256 * y[i] - k[i];
    }
    expect(outside).toBe(0);
    expect(Math.abs(m / k.length - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / k.length));
  });

  it("the dequantised NLL bounds the exact discrete −ln P(k), with a small gap for a smooth density", () => {
    // model: x ∼ N(0, 1) in logit space (α = 0.05); P(k) = ∫ over the cell of q_Y, by quadrature
    const p: Preprocess = { dequantize: "uniform", logit: 0.05 };
    const rng = Rng.fromSeed(4);
    for (const k of [0, 40, 128, 255]) {
      const Q = 20000;
      const yq = Float64Array.from({ length: Q }, (_, i) => (k + (i + 0.5) / Q) / 256);
      const xq = new Float64Array(Q);
      const ldq = toModelSpace(yq, Q, 1, { dequantize: "none", logit: 0.05 }, null, xq);
      let P = 0, nllQuad = 0;
      for (let i = 0; i < Q; i++) {
        const lq = stdNormalLog(xq[i]) + ldq[i];
        P += Math.exp(lq) / (256 * Q);
        nllQuad -= lq / Q;
      }
      // E_u by quadrature: the bound holds exactly (Jensen) and is tight for a smooth density
      const bound = nllQuad + Math.log(256); // nats; = bits/dim · ln 2 for N = 1
      expect(nllUnits(nllQuad, 1, p).bitsPerDim * Math.LN2).toBeCloseTo(bound, 12);
      expect(bound).toBeGreaterThanOrEqual(-Math.log(P));
      expect(bound - -Math.log(P)).toBeLessThan(0.01);
      // and the dequantisation noise estimates the same E_u within its error bar
      const S = 20000;
      const xs = new Float64Array(S);
      const lds = toModelSpace(new Uint8Array(S).fill(k), S, 1, p, rng, xs);
      const v = Array.from(xs, (x, i) => -(stdNormalLog(x) + lds[i]));
      const m = v.reduce((a, b) => a + b, 0) / S;
      const se = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (S - 1) / S);
      expect(Math.abs(m - nllQuad)).toBeLessThan(5 * se + 1e-12);
    }
  });

  it("units: a uniform density on [0,1)^N is 8 bits per pixel; continuous data have no shift", () => {
    expect(nllUnits(0, 1024, { dequantize: "uniform" }).bitsPerDim).toBeCloseTo(8, 12);
    expect(nllUnits(-1024 * Math.log(256), 1024, { dequantize: "uniform" }).bitsPerDim).toBeCloseTo(0, 12);
    const u = nllUnits(64 * Math.LN2, 64, { dequantize: "none" });
    expect([u.natsPerDim, u.bitsPerDim]).toEqual([Math.LN2, 1]);
  });

  it("checks data and options, naming the value", () => {
    expect(() => checkPreprocess({ dequantize: "none", logit: 0.5 })).toThrow(/logit = 0.5 is invalid: α must be a number in \(0, 0.5\)/);
    expect(() => checkDataForPreprocess(Float64Array.from([0, 3, 2.5, 1]), 2, { dequantize: "uniform" }, "d.npy")).toThrow(/d\.npy: configuration 0, site \(1, 0\) holds 2.5: uniform dequantisation needs integers in 0..255/);
    expect(() => checkDataForPreprocess(Float64Array.from([0, 1, 1.5, 0]), 2, { dequantize: "none", logit: 0.1 }, "e.npy")).toThrow(/site \(1, 0\) holds 1.5: the logit transform/);
  });
});
