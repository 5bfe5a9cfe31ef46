/** `neuralrg version [--json]`: package version, git commit, Node version. */
import type { Command } from "commander";
import { provenance } from "../io/provenance.ts";
import { printJson, println, type CliContext } from "./command.ts";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("version")
    .description("print the package version, git commit and Node.js version")
    .option("--json", "print machine-readable JSON", false)
    .action((opts: { json: boolean }) => {
      const p = provenance();
      if (opts.json) {
        printJson(ctx, { name: "neuralrg", version: p.packageVersion, gitCommit: p.gitCommit, node: p.nodeVersion, platform: p.platform });
      } else {
        println(ctx, `neuralrg ${p.packageVersion} (commit ${p.gitCommit}, node ${p.nodeVersion}, ${p.platform})`);
      }
    });
}
