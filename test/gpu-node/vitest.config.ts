import { defineConfig } from "vitest/config";
// `npm run test:gpu-node`: the WebGPU kernel from Node (the `webgpu` package) on the machine's
// adapter, or SwiftShader where there is no GPU; kept out of `npm test` (the emulated GPU is slow).
export default defineConfig({
  test: {
    include: ["test/gpu-node/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
