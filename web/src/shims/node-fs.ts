/**
 * Stand-in for node:fs in the browser build (vite.config.ts aliases node:fs here). The only core
 * module that imports it on the playground's path is kernels/wasm.ts, whose default loader reads
 * block.wasm synchronously; the worker instantiates the kernel with initWasmKernel instead, so
 * reaching this function means that step failed.
 */
export function readFileSync(path: unknown): never {
  throw new Error(
    `node:fs is not available in the browser (tried to read ${String(path)}): the wasm kernel must be loaded with initWasmKernel first; choose the js backend if it failed`,
  );
}
