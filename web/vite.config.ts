/**
 * Vite configuration of the browser playground (web/). `npm run web` serves it on 127.0.0.1;
 * `npm run build:web` writes the static site to web/dist (relative URLs: any static server or
 * sub-path can host it). The training worker imports the TypeScript core from ../src directly.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "unknown";
  }
}

function gitCommit(): string {
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : "unknown";
  } catch {
    return "unknown";
  }
}

export default defineConfig({
  root: webRoot,
  base: "./",
  clearScreen: false,
  define: {
    __NEURALRG_VERSION__: JSON.stringify(packageVersion()),
    __NEURALRG_COMMIT__: JSON.stringify(gitCommit()),
  },
  resolve: {
    // kernels/wasm.ts imports node:fs for its Node loader; the browser uses initWasmKernel instead
    alias: [
      { find: /^node:fs$/, replacement: fileURLToPath(new URL("./src/shims/node-fs.ts", import.meta.url)) },
      { find: /^node:v8$/, replacement: fileURLToPath(new URL("./src/shims/node-v8.ts", import.meta.url)) },
    ],
  },
  worker: { format: "es" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2000,
    // gpu-check.html: the WebGPU kernel against the CPU kernels (web/e2e/webgpu.ts)
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL("./index.html", import.meta.url)),
        gpuCheck: fileURLToPath(new URL("./gpu-check.html", import.meta.url)),
      },
    },
  },
  server: { host: "127.0.0.1", port: 5173, fs: { allow: [repoRoot] } },
  preview: { host: "127.0.0.1", port: 4173 },
});
