/**
 * JSON lines data files: one configuration per line, an L×L nested array of finite numbers
 * (row i is the i-th inner array: site (i, j) at i·L + j), or a flat array of L² numbers.
 * Blank lines are skipped. Every line must have the same L.
 */
import { DataFormatError } from "./npy.ts";

const JSONL_ACCEPTED = "each line an L×L nested array of numbers ([[x00, x01, ...], [x10, ...], ...]) or a flat array of L² numbers, the same L on every line";

/** Parse JSON-lines text: the configurations as one flat float64 array, their count and L. */
export function parseJsonLines(text: string, name: string): { data: Float64Array; n: number; L: number } {
  const lines = text.split("\n");
  let L = -1;
  const rows: Float64Array[] = [];
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (line === "") continue;
    const where = `${name}:${k + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new DataFormatError(`${where}: not valid JSON (${(err as Error).message.split("\n")[0]}); expected ${JSONL_ACCEPTED}`);
    }
    if (!Array.isArray(v) || v.length === 0) throw new DataFormatError(`${where}: not a non-empty array; expected ${JSONL_ACCEPTED}`);
    let flat: unknown[];
    let side: number;
    if (Array.isArray(v[0])) {
      side = v.length;
      flat = [];
      for (let i = 0; i < v.length; i++) {
        const r: unknown = v[i];
        if (!Array.isArray(r) || r.length !== side) {
          throw new DataFormatError(`${where}: row ${i} has ${Array.isArray(r) ? `${r.length} entries` : "no array"}, expected ${side} (an L×L array)`);
        }
        for (const x of r) flat.push(x);
      }
    } else {
      side = Math.round(Math.sqrt(v.length));
      if (side * side !== v.length) throw new DataFormatError(`${where}: a flat array of ${v.length} numbers is not L² for any L; expected ${JSONL_ACCEPTED}`);
      flat = v;
    }
    if (L < 0) L = side;
    else if (side !== L) throw new DataFormatError(`${where}: a ${side}×${side} configuration, but earlier lines are ${L}×${L}`);
    const row = new Float64Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const x = flat[i];
      if (typeof x !== "number" || !Number.isFinite(x)) {
        throw new DataFormatError(`${where}: site (${Math.floor(i / side)}, ${i % side}) holds ${JSON.stringify(x)}, not a finite number`);
      }
      row[i] = x;
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new DataFormatError(`${name}: holds no configurations; expected ${JSONL_ACCEPTED}`);
  const data = new Float64Array(rows.length * L * L);
  rows.forEach((r, b) => data.set(r, b * L * L));
  return { data, n: rows.length, L };
}

/** JSON-lines text of n configurations (rows of L² values) as L×L nested arrays, full precision. */
export function formatJsonLines(data: ArrayLike<number>, n: number, L: number): string {
  const N = L * L;
  if (data.length !== n * N) throw new RangeError(`data has ${data.length} values, expected n × L² = ${n} × ${N}`);
  const out: string[] = [];
  for (let b = 0; b < n; b++) {
    const rows: string[] = [];
    for (let i = 0; i < L; i++) {
      const r: string[] = [];
      for (let j = 0; j < L; j++) {
        const x = data[b * N + i * L + j];
        if (!Number.isFinite(x)) throw new RangeError(`configuration ${b}, site (${i}, ${j}) is ${x}: JSON lines hold finite numbers only`);
        r.push(String(x));
      }
      rows.push(`[${r.join(",")}]`);
    }
    out.push(`[${rows.join(",")}]`);
  }
  return out.join("\n") + "\n";
}
