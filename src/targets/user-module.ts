/**
 * User-defined targets from module files (user.ts has the spec, the validation and `userTarget`).
 *
 * A module default-exports the spec (or exports it as `target`). It is loaded SYNCHRONOUSLY
 * with tsx's CommonJS loader (TypeScript or JavaScript, ESM or CJS syntax), because targets are
 * rebuilt synchronously from their configs, also inside training worker threads. So a module
 * must not use top-level await. The config stores the module's absolute path and the SHA-256
 * of its source: a run whose module changed since it was configured refuses to load (resume or
 * sample with the energy it was trained on, or start a new run). Only the module file itself is
 * hashed, not files it imports.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, isAbsolute, resolve } from "node:path";
import { firstLine, USER_MODULE_EXTENSIONS, UserTarget, UserTargetError, type UserTargetSpec } from "./user.ts";

interface LoadedModule {
  mtimeMs: number;
  size: number;
  sha256: string;
  spec: UserTargetSpec;
}

const moduleCache = new Map<string, LoadedModule>();

type TsxRequire = (id: string, fromFile: string) => unknown;
let tsxRequire: TsxRequire | null = null;

function loader(): TsxRequire {
  if (!tsxRequire) {
    const req = createRequire(import.meta.url);
    tsxRequire = (req("tsx/cjs/api") as { require: TsxRequire }).require;
  }
  return tsxRequire;
}

/** The absolute path of a module, checked to exist with an accepted extension. */
export function resolveUserModule(path: string, cwd = process.cwd()): string {
  if (typeof path !== "string" || path === "") throw new UserTargetError("user target module path is empty");
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  const ext = extname(abs);
  if (!(USER_MODULE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new UserTargetError(
      `user target module ${path} is invalid: the file must end in ${USER_MODULE_EXTENSIONS.join(", ")}`,
    );
  }
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UserTargetError(`user target module ${path} does not exist (resolved to ${abs})`);
  }
  if (!st.isFile()) throw new UserTargetError(`user target module ${abs} is not a file`);
  return abs;
}

/**
 * Load (synchronously) and return the spec a module exports, with the SHA-256 of its source.
 * Cached per path while the file is unchanged.
 */
export function loadUserTargetModule(path: string): { module: string; sha256: string; spec: UserTargetSpec } {
  const abs = resolveUserModule(path);
  const st = statSync(abs);
  const hit = moduleCache.get(abs);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size)
    return { module: abs, sha256: hit.sha256, spec: hit.spec };
  const source = readFileSync(abs);
  const sha256 = createHash("sha256").update(source).digest("hex");
  let mod: unknown;
  try {
    mod = loader()(abs, import.meta.url);
  } catch (err) {
    throw new UserTargetError(`user target module ${abs} failed to load: ${firstLine(err)}`);
  }
  const ns = (mod ?? {}) as Record<string, unknown>;
  // ESM default export, a named export `target`, or a CommonJS module.exports = spec
  let spec = ns.default !== undefined ? ns.default : ns.target !== undefined ? ns.target : "L" in ns ? ns : undefined;
  // CommonJS interop may wrap a default export once more
  if (spec && typeof spec === "object" && "default" in (spec as object) && !("L" in (spec as object)))
    spec = (spec as { default: unknown }).default;
  if (spec === undefined) {
    throw new UserTargetError(
      `user target module ${abs} exports no target: default-export defineTarget({...}) or export it as \`target\``,
    );
  }
  moduleCache.set(abs, { mtimeMs: st.mtimeMs, size: st.size, sha256, spec: spec as UserTargetSpec });
  return { module: abs, sha256, spec: spec as UserTargetSpec };
}

/**
 * Load and validate the target a module exports. `expect` pins the configuration it must match
 * (from a stored run config): the lattice size and the SHA-256 of the module source.
 */
export function loadUserTarget(path: string, expect: { L?: number; sha256?: string } = {}): UserTarget {
  const { module, sha256, spec } = loadUserTargetModule(path);
  if (expect.sha256 !== undefined && expect.sha256 !== sha256) {
    throw new UserTargetError(
      `user target module ${module} has changed since this run was configured (sha256 ${sha256.slice(0, 12)}… differs from the recorded ${String(expect.sha256).slice(0, 12)}…): restore the file or start a new run`,
    );
  }
  const t = new UserTarget(spec, { module, sha256 });
  if (expect.L !== undefined && expect.L !== t.L) {
    throw new UserTargetError(
      `user target ${module}: the config asks for L = ${expect.L} but the module declares L = ${t.L}`,
    );
  }
  return t;
}

/** The serialisable config {kind: "user", module, L, sha256} of a module target (validating it). */
export function userTargetConfig(path: string): { kind: "user"; module: string; L: number; sha256: string } {
  const t = loadUserTarget(path);
  return { kind: "user", module: t.module as string, L: t.L, sha256: t.config.sha256 as string };
}
