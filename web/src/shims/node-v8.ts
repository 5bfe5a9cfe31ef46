/**
 * Stand-in for node:v8 in the browser build (vite.config.ts aliases node:v8 here). kernels/wasm.ts
 * sets a V8 flag for relaxed SIMD on Node 20; a browser has no such switch, so this throws and the
 * caller keeps the plain SIMD build.
 */
export function setFlagsFromString(flags: string): never {
  throw new Error(`node:v8 is not available in the browser (tried to set ${flags})`);
}
