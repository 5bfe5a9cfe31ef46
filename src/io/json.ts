/** Plain JSON value types, used wherever arbitrary configuration is stored. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Deterministic serialisation with object keys sorted at every level, so two configs that differ
 * only in key order compare equal and hash alike.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/**
 * Dotted paths at which two JSON values differ (e.g. ["flow.depth", "train.lr"]); [] when equal.
 * Arrays are compared as whole values.
 */
export function jsonDiff(a: unknown, b: unknown, prefix = ""): string[] {
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const out: string[] = [];
    for (const k of keys) out.push(...jsonDiff(a[k], b[k], prefix ? `${prefix}.${k}` : k));
    return out;
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [prefix || "(root)"];
}

/** A plain JSON copy of a value (class instances and undefined fields dropped), as files hold it. */
export function plainJson(v: unknown): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}
