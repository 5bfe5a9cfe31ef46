/**
 * Parameter ranges of a temperature × depth scan (App. E, Fig. S1/S2), as written on the command
 * line:
 *   temperatures  "2.0:2.7:0.1" (a:b:step, both ends included), "2.0,2.269,2.5" (a list) or "2.269";
 *   depths        "1..5" (a..b, both ends included), "1,3,5" (a list) or "3";
 *   seeds         "1:5" (a:b, both ends included), "1,2,3" (a list) or "7".
 * Values are checked (T > 0; depths integers in 1..log2 L; seeds distinct integers in
 * 0..MAX_SEED, at most MAX_SEEDS of them) and bad input throws a RangeError with
 * a one-line message naming the option and the value. Temperatures carry a label with a fixed
 * number of decimals (those written in the range), used in run-directory names: T2.0-d3.
 */

export interface TemperatureGrid {
  /** temperatures, ascending */
  values: number[];
  /** the same values as fixed-decimal text (e.g. "2.0", "2.1"), for names and tables */
  labels: string[];
}

/** Largest number of points a range may expand to. */
export const MAX_RANGE_POINTS = 1000;

function invalid(option: string, value: string, why: string): RangeError {
  return new RangeError(`--${option} = ${value === "" ? '""' : value} is invalid: ${why}`);
}

const DECIMAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/** Decimals written in a plain decimal number ("2.50" → 2); exponent forms count as 6. */
function decimalsOf(text: string): number {
  if (!DECIMAL_RE.test(text)) return 6;
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

function parseNumber(option: string, spec: string, text: string): number {
  const t = text.trim();
  const x = t === "" ? NaN : Number(t);
  if (!Number.isFinite(x))
    throw invalid(option, spec, `"${t}" is not a number (expected a:b:step, a list a,b,c or one value)`);
  return x;
}

function checkDistinct(option: string, spec: string, labels: string[]): void {
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw invalid(option, spec, `${l} appears twice`);
    seen.add(l);
  }
}

/** Parse a temperature range (see the module comment); `bounds` (inclusive) are checked for every value. */
export function parseTemperatureRange(
  spec: string,
  option = "T",
  bounds?: { min: number; max: number },
): TemperatureGrid {
  const s = spec.trim();
  if (s === "") throw invalid(option, spec, "expected a:b:step, a list a,b,c or one temperature");
  let values: number[];
  let decimals: number;
  if (s.includes(":")) {
    const parts = s.split(":");
    if (parts.length !== 3) throw invalid(option, spec, "a range must be written a:b:step, e.g. 2.0:2.7:0.1");
    const [a, b, step] = parts.map((p) => parseNumber(option, spec, p));
    if (!(step > 0)) throw invalid(option, spec, "the step must be > 0");
    if (b < a) throw invalid(option, spec, `the end ${b} is below the start ${a}`);
    const n = Math.floor((b - a) / step + 1e-9) + 1;
    if (n > MAX_RANGE_POINTS)
      throw invalid(option, spec, `it expands to ${n} temperatures (at most ${MAX_RANGE_POINTS})`);
    decimals = Math.max(...parts.map((p) => decimalsOf(p.trim())));
    const f = 10 ** decimals;
    values = Array.from({ length: n }, (_, i) => Math.round((a + i * step) * f) / f);
  } else {
    const parts = s.split(",");
    values = parts.map((p) => parseNumber(option, spec, p));
    decimals = Math.max(...parts.map((p) => decimalsOf(p.trim())));
    if (values.length > MAX_RANGE_POINTS)
      throw invalid(option, spec, `it lists ${values.length} temperatures (at most ${MAX_RANGE_POINTS})`);
  }
  for (const v of values) {
    if (!(v > 0)) throw invalid(option, spec, `temperatures must be > 0 (got ${v})`);
    if (bounds && !(v >= bounds.min && v <= bounds.max))
      throw invalid(option, spec, `temperatures must be in [${bounds.min}, ${bounds.max}] (got ${v})`);
  }
  values.sort((x, y) => x - y);
  const labels = values.map((v) => v.toFixed(decimals));
  checkDistinct(option, spec, labels);
  return { values, labels };
}

function parseDepthInt(option: string, spec: string, text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t))
    throw invalid(option, spec, `"${t}" is not a positive integer (expected a..b, a list a,b,c or one depth)`);
  return Number(t);
}

/**
 * Integers written a<sep>b (both ends included), as a list a,b,c or as one value, each read by
 * `parse` and then checked by `check`; at most `most` of them, no value twice. Returns them ascending.
 */
function parseIntegers(
  option: string,
  spec: string,
  sep: string,
  noun: string,
  most: number,
  parse: (text: string) => number,
  check: (value: number) => void = () => {},
): number[] {
  const s = spec.trim();
  if (s === "") throw invalid(option, spec, `expected a${sep}b, a list a,b,c or one ${noun}`);
  let values: number[];
  if (s.includes(sep)) {
    const parts = s.split(sep);
    if (parts.length !== 2) throw invalid(option, spec, `a range must be written a${sep}b, e.g. 1${sep}5`);
    const [a, b] = parts.map(parse);
    if (b < a) throw invalid(option, spec, `the end ${b} is below the start ${a}`);
    if (b - a + 1 > most) throw invalid(option, spec, `it expands to ${b - a + 1} ${noun}s (at most ${most})`);
    values = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  } else {
    const parts = s.split(",");
    if (parts.length > most) throw invalid(option, spec, `it lists ${parts.length} ${noun}s (at most ${most})`);
    values = parts.map(parse);
  }
  values.forEach(check);
  checkDistinct(option, spec, values.map(String));
  return values.sort((x, y) => x - y);
}

/**
 * Parse a depth range (see the module comment); with `maxDepth` (log2 L) every depth must lie in
 * 1..maxDepth. Returns the depths ascending.
 */
export function parseDepthRange(spec: string, maxDepth?: number, option = "depth"): number[] {
  const limit = maxDepth !== undefined ? `1..${maxDepth}` : "≥ 1";
  return parseIntegers(
    option,
    spec,
    "..",
    "depth",
    MAX_RANGE_POINTS,
    (p) => parseDepthInt(option, spec, p),
    (d) => {
      if (d < 1 || (maxDepth !== undefined && d > maxDepth)) {
        throw invalid(
          option,
          spec,
          `depths must be integers in ${limit}${maxDepth !== undefined ? ` for L = ${2 ** maxDepth}` : ""} (got ${d})`,
        );
      }
    },
  );
}

/** Largest seed (as train's --seed: an unsigned 32-bit integer). */
const MAX_SEED = 4294967295;

/** Largest number of seeds a scan may have. */
export const MAX_SEEDS = 100;

function parseSeedInt(option: string, spec: string, text: string): number {
  const t = text.trim();
  if (/^-\d+$/.test(t)) throw invalid(option, spec, `seeds must be ≥ 0 (got ${t})`);
  if (!/^\d+$/.test(t))
    throw invalid(option, spec, `"${t}" is not an integer (expected a:b, a list a,b,c or one seed)`);
  const n = Number(t);
  if (n > MAX_SEED) throw invalid(option, spec, `seeds must be integers in 0..${MAX_SEED} (got ${t})`);
  return n;
}

/**
 * Parse a list of seeds (see the module comment): distinct integers in 0..MAX_SEED, at most
 * MAX_SEEDS of them. Returns the seeds ascending.
 */
export function parseSeedList(spec: string, option = "seeds"): number[] {
  return parseIntegers(option, spec, ":", "seed", MAX_SEEDS, (p) => parseSeedInt(option, spec, p));
}
