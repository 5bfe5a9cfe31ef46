/** `neuralrg version [--json]`: package version, git commit, Node version, and the WebGPU adapter `--backend webgpu` would use. */
import type { Command } from "commander";
import { probeNodeWebGpu } from "../gpu/node.ts";
import { provenance } from "../io/provenance.ts";
import { printJson, println, type CliContext } from "./command.ts";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description(
      "print the package version, git commit, Node.js version and the WebGPU adapter that --backend webgpu would use",
    )
    .option("--json", "print machine-readable JSON", false)
    .action((opts: { json: boolean }) => {
      const p = provenance();
      const gpu = probeNodeWebGpu();
      if (opts.json) {
        printJson(ctx, {
          name: "neuralrg",
          version: p.packageVersion,
          gitCommit: p.gitCommit,
          node: p.nodeVersion,
          platform: p.platform,
          webgpu: gpu.available
            ? { adapter: gpu.adapter, fallback: gpu.fallback }
            : { adapter: null, reason: gpu.reason },
        });
      } else {
        println(ctx, `neuralrg ${p.packageVersion} (commit ${p.gitCommit}, node ${p.nodeVersion}, ${p.platform})`);
        println(
          ctx,
          gpu.available
            ? `webgpu adapter: ${gpu.adapter}${gpu.fallback ? " (a fallback adapter: CPU emulation)" : ""}`
            : `webgpu: unavailable: ${gpu.reason.replace(/^--backend webgpu: /, "")}`,
        );
      }
    });
}
