/**
 * Option parsers shared by several commands, for commander's `.option(flags, desc, parser, default)`.
 * Each throws UsageError with a one-line message naming the option and the value.
 */
import { isPowerOfTwo } from "../engine/math.ts";
import { T_CRITICAL } from "../targets/kaufman.ts";
import { parseFloatOption, parseIntOption, UsageError, invalidOption } from "./errors.ts";

export { T_CRITICAL };

/** Largest lattice the CLI accepts. */
export const MAX_L = 1024;

/** Lattice size: a power of two in 2..MAX_L (the hierarchical flows need L = 2^k). */
export function parseLatticeSize(value: string): number {
  const requirement = `a power of two in 2..${MAX_L} (2, 4, 8, 16, 32, 64, ...)`;
  let L: number;
  try {
    L = parseIntOption("L", value, 2, MAX_L);
  } catch (err) {
    if (err instanceof UsageError) throw invalidOption("L", value, requirement);
    throw err;
  }
  if (!isPowerOfTwo(L)) throw invalidOption("L", value, requirement);
  return L;
}

/**
 * Temperatures the exact solution handles in double precision: below ~0.006 Kaufman's
 * sinh 2β overflows (and T ≪ 1 is the ground state anyway), above ~1e16 cosh 2β rounds to 1.
 */
export const T_MIN = 0.01;
export const T_MAX = 1e6;

/** Temperature: a finite number > 0, within [T_MIN, T_MAX]. */
export function parseTemperature(value: string): number {
  const T = parseFloatOption("T", value, { min: 0, exclusiveMin: true });
  if (T < T_MIN || T > T_MAX)
    throw invalidOption(
      "T",
      value,
      `a number in [${T_MIN}, ${T_MAX}] (the exact free energy is computed in double precision there)`,
    );
  return T;
}

/** Parser factory for an integer option, e.g. `intOption("epochs", 1)`. */
export function intOption(name: string, min?: number, max?: number): (value: string) => number {
  return (value) => parseIntOption(name, value, min, max);
}

/** Parser factory for a float option, e.g. `floatOption("lr", { min: 0, exclusiveMin: true })`. */
export function floatOption(
  name: string,
  bounds: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean } = {},
): (value: string) => number {
  return (value) => parseFloatOption(name, value, bounds);
}
