/**
 * Command-line errors and option validation. A UsageError is the user's mistake: main() prints
 * its message on one line and exits with status 2, never with a stack trace.
 */

export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly exitCode = 2;
}

function flag(name: string): string {
  return name.startsWith("-") ? name : `--${name}`;
}

function bare(name: string): string {
  return name.replace(/^-+/, "");
}

function show(value: unknown): string {
  if (typeof value === "string") return value === "" ? '""' : value;
  return String(value);
}

/** `--T = -1 is invalid: T must be a number > 0` */
export function invalidOption(name: string, value: unknown, requirement: string): UsageError {
  return new UsageError(`${flag(name)} = ${show(value)} is invalid: ${bare(name)} must be ${requirement}`);
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse an integer option in [min, max] (both optional). Accepts a string (from the command
 * line) or a number (a default). Throws UsageError naming the option and the value.
 */
export function parseIntOption(name: string, value: unknown, min?: number, max?: number): number {
  const requirement =
    min !== undefined && max !== undefined
      ? `an integer in ${min}..${max}`
      : min !== undefined
        ? `an integer >= ${min}`
        : max !== undefined
          ? `an integer <= ${max}`
          : "an integer";
  let x: number;
  if (typeof value === "number") x = value;
  else if (typeof value === "string" && INT_RE.test(value.trim())) x = Number(value.trim());
  else throw invalidOption(name, value, requirement);
  if (!Number.isSafeInteger(x) || (min !== undefined && x < min) || (max !== undefined && x > max)) {
    throw invalidOption(name, value, requirement);
  }
  return x;
}

export interface FloatBounds {
  min?: number;
  max?: number;
  /** Make `min` exclusive (x > min). */
  exclusiveMin?: boolean;
  /** Make `max` exclusive (x < max). */
  exclusiveMax?: boolean;
}

/** The requirement text for bounds, e.g. "a number > 0", "a number in [0, 1)". */
export function describeBounds(b: FloatBounds): string {
  const lo = b.min !== undefined ? `${b.exclusiveMin ? ">" : ">="} ${b.min}` : "";
  const hi = b.max !== undefined ? `${b.exclusiveMax ? "<" : "<="} ${b.max}` : "";
  if (lo && hi) return `a number in ${b.exclusiveMin ? "(" : "["}${b.min}, ${b.max}${b.exclusiveMax ? ")" : "]"}`;
  if (lo) return `a number ${lo}`;
  if (hi) return `a number ${hi}`;
  return "a finite number";
}

/** Parse a finite floating-point option within bounds; throws UsageError naming option and value. */
export function parseFloatOption(name: string, value: unknown, bounds: FloatBounds = {}): number {
  const requirement = describeBounds(bounds);
  let x: number;
  if (typeof value === "number") x = value;
  else if (typeof value === "string" && FLOAT_RE.test(value.trim())) x = Number(value.trim());
  else throw invalidOption(name, value, requirement);
  const { min, max, exclusiveMin, exclusiveMax } = bounds;
  if (
    !Number.isFinite(x) ||
    (min !== undefined && (exclusiveMin ? x <= min : x < min)) ||
    (max !== undefined && (exclusiveMax ? x >= max : x > max))
  ) {
    throw invalidOption(name, value, requirement);
  }
  return x;
}

/** Parse one of a fixed set of choices. */
export function parseChoiceOption<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
  throw invalidOption(name, value, `one of ${choices.join(", ")}`);
}

/** The first line of an error's message (for one-line reports of unexpected errors). */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split("\n").find((l) => l.trim() !== "") ?? "";
  return first.trim() || (err instanceof Error ? err.name : "unknown error");
}
