/**
 * Targets from serialisable configs (run configs, CLI): makeTarget({kind: "ising", L: 16, T: 2.269}),
 * makeTarget({kind: "gaussian", L: 8, precision: "circulant", kappa: 0.2}),
 * makeTarget({kind: "phi4", L: 8, kappa: 0.3, lambda: 0.02}) (or {kind: "phi4", L, m2, lambda0}),
 * makeTarget({kind: "user", module: "/abs/path/my-energy.ts"}) (optionally pinned by L and sha256).
 * Bad input throws a RangeError naming the offending value and the accepted range.
 * `makeTarget(t.config)` rebuilds t (also in worker threads: user modules load synchronously).
 */
import {
  GAUSSIAN_PRECISIONS,
  MAX_GAUSSIAN_L,
  MAX_KAPPA,
  MAX_RANDOM_GAUSSIAN_L,
  gaussianTarget,
  type GaussianPrecision,
} from "./gaussian.ts";
import { MAX_DENSE_L, MAX_ISING_L, relaxedIsing, type InverseMethod } from "./ising.ts";
import { MAX_PHI4_L, phi4Target } from "./phi4.ts";
import type { Target } from "./target.ts";
import { loadUserTarget } from "./user-module.ts";

export type TargetConfig = Readonly<Record<string, number | string | boolean>>;

export const TARGET_KINDS = ["ising", "gaussian", "phi4", "user"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

const ACCEPTED_KEYS: Record<TargetKind, readonly string[]> = {
  ising: ["kind", "L", "T", "method"],
  gaussian: ["kind", "L", "precision", "scale", "kappa", "seed"],
  phi4: ["kind", "L", "kappa", "lambda", "m2", "lambda0"],
  user: ["kind", "module", "L", "sha256"],
};

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function checkKeys(config: TargetConfig, kind: TargetKind): void {
  const ok = ACCEPTED_KEYS[kind];
  for (const k of Object.keys(config)) {
    if (!ok.includes(k))
      throw new RangeError(
        `target option ${k} = ${show(config[k])} is not accepted for kind "${kind}": accepted options are ${ok.join(", ")}`,
      );
  }
}

function integerIn(config: TargetConfig, key: string, min: number, max: number, dflt?: number): number {
  const v = config[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${key} = ${show(v)} is invalid: ${key} must be an integer in ${min}..${max}`);
  }
  return v;
}

function positiveFinite(config: TargetConfig, key: string, dflt?: number): number {
  const v = config[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${key} = ${show(v)} is invalid: ${key} must be a finite number > 0`);
  }
  return v;
}

function oneOf<T extends string>(config: TargetConfig, key: string, allowed: readonly T[], dflt: T): T {
  const v = config[key];
  if (v === undefined) return dflt;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new RangeError(
      `${key} = ${show(v)} is invalid: ${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    );
  }
  return v as T;
}

/** Build a target from its config. */
export function makeTarget(config: TargetConfig): Target {
  if (config === null || typeof config !== "object")
    throw new RangeError(`target config ${show(config)} is invalid: expected an object with a kind`);
  const kind = config.kind;
  if (kind === "ising") {
    checkKeys(config, kind);
    const L = integerIn(config, "L", 2, MAX_ISING_L);
    const T = positiveFinite(config, "T");
    const method = oneOf<InverseMethod>(config, "method", ["spectral", "dense"], "spectral");
    if (method === "dense" && L > MAX_DENSE_L) {
      throw new RangeError(`L = ${L} is invalid with method "dense": L must be an integer in 2..${MAX_DENSE_L}`);
    }
    return relaxedIsing({ L, T, method });
  }
  if (kind === "gaussian") {
    checkKeys(config, kind);
    const precision = oneOf<GaussianPrecision>(config, "precision", GAUSSIAN_PRECISIONS, "circulant");
    const L = integerIn(config, "L", 2, precision === "random" ? MAX_RANDOM_GAUSSIAN_L : MAX_GAUSSIAN_L);
    const scale = positiveFinite(config, "scale", 1);
    const kappa = config.kappa;
    if (
      kappa !== undefined &&
      (typeof kappa !== "number" || !Number.isFinite(kappa) || kappa < 0 || kappa > MAX_KAPPA)
    ) {
      throw new RangeError(`kappa = ${show(kappa)} is invalid: kappa must be a number in [0, ${MAX_KAPPA}]`);
    }
    const seed = integerIn(config, "seed", 0, 0xffffffff, 0);
    return gaussianTarget({ L, precision, scale, kappa: kappa as number | undefined, seed });
  }
  if (kind === "phi4") {
    checkKeys(config, kind);
    const L = integerIn(config, "L", 2, MAX_PHI4_L);
    const num = (key: string): number | undefined => {
      const v = config[key];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new RangeError(`${key} = ${show(v)} is invalid: ${key} must be a finite number`);
      return v;
    };
    return phi4Target({ L, kappa: num("kappa"), lambda: num("lambda"), m2: num("m2"), lambda0: num("lambda0") });
  }
  if (kind === "user") {
    const module = config.module;
    if (typeof module !== "string" || module === "") {
      throw new RangeError(
        `module = ${show(module)} is invalid: a user target config needs the module's path (a user target defined in code cannot be rebuilt from its config: put it in a module file)`,
      );
    }
    checkKeys(config, kind);
    const L = config.L === undefined ? undefined : integerIn(config, "L", 2, 1024);
    const sha256 = config.sha256;
    if (sha256 !== undefined && typeof sha256 !== "string")
      throw new RangeError(`sha256 = ${show(sha256)} is invalid: it must be a hex string`);
    return loadUserTarget(module, { L, sha256 });
  }
  throw new RangeError(
    `kind = ${show(kind)} is invalid: the target kind must be one of ${TARGET_KINDS.map((k) => JSON.stringify(k)).join(", ")}`,
  );
}
