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

/**
 * Imported by targets/user-module.ts (user targets from module files), which the trainer reaches
 * through the target registry when it builds annealed targets; the playground never loads a
 * module file, so reaching this function is a bug.
 */
export function statSync(path: unknown): never {
  throw new Error(`node:fs is not available in the browser (tried to stat ${String(path)})`);
}
