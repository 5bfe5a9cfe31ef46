/**
 * The environment-neutral checkpoint codec (src/io/checkpoint-format.ts) used by the browser:
 * its SHA-256 and base64 agree with node:crypto and Buffer byte for byte.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/engine/rng.ts";
import { base64ToBytes, bytesToBase64, decodeReal, encodeReal, sha256Hex } from "../../src/io/checkpoint-format.ts";

describe("checkpoint-format", () => {
  it("sha256Hex equals node:crypto on ASCII, Unicode and block-boundary lengths", () => {
    const rng = Rng.fromSeed(3);
    const alphabet = 'abcXYZ019{}":,.-+=/ éλ−∂😀';
    const texts = [
      "",
      "abc",
      "a".repeat(55),
      "a".repeat(56),
      "a".repeat(63),
      "a".repeat(64),
      "a".repeat(65),
      "a".repeat(119),
      "a".repeat(1000),
    ];
    for (let k = 0; k < 40; k++) {
      let s = "";
      const n = rng.int(300);
      for (let i = 0; i < n; i++) s += [...alphabet][rng.int([...alphabet].length)];
      texts.push(s);
    }
    for (const t of texts) expect(sha256Hex(t)).toBe(createHash("sha256").update(t, "utf8").digest("hex"));
  });

  it("base64 equals Buffer's for every length mod 3, and decodes back", () => {
    const rng = Rng.fromSeed(5);
    for (let n = 0; n < 40; n++) {
      const bytes = new Uint8Array(n * 7 + (n % 3));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      const b64 = bytesToBase64(bytes);
      expect(b64).toBe(Buffer.from(bytes).toString("base64"));
      expect(Array.from(base64ToBytes(b64))).toEqual(Array.from(bytes));
    }
  });

  it("encodeReal/decodeReal round-trip bit-exactly (−0, NaN, ±∞, subnormals)", () => {
    const a = Float64Array.from([-0, NaN, Infinity, -Infinity, 5e-324, 1.5, -2.25e300]);
    const back = decodeReal(encodeReal(a), "a") as Float64Array;
    expect(new Uint8Array(back.buffer)).toEqual(new Uint8Array(a.buffer));
    const f = Float32Array.from([-0, 1e-45, 3.4e38, 0.1]);
    const fb = decodeReal(encodeReal(f), "f") as Float32Array;
    expect(new Uint8Array(fb.buffer)).toEqual(new Uint8Array(f.buffer));
  });
});
