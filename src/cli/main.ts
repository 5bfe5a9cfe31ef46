/**
 * `neuralrg` command-line entry point (bin/neuralrg.mjs calls main()).
 *
 * Exit status: 0 success (and --help/--version), 2 usage errors (unknown command or option, bad
 * option value: one line on stderr, never a stack trace), 1 any other failure (one line on
 * stderr; set NEURALRG_DEBUG=1 for the stack).
 */
import { Command, CommanderError } from "commander";
import { packageVersion } from "../io/provenance.ts";
import type { CliContext, CliIO, RegisterCommand } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { oneLine, UsageError } from "./errors.ts";

export type { CliIO, CliContext, RegisterCommand } from "./command.ts";
export { UsageError } from "./errors.ts";

/** stdout/stderr of this process. */
export function processIO(): CliIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    errIsTTY: Boolean(process.stderr.isTTY),
  };
}

/** Collapse a (possibly multi-line) message onto one line. */
function singleLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Apply exit override and output routing to a command and all its subcommands. */
function configure(cmd: Command, io: CliIO): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => io.out(s),
    writeErr: (s) => io.err(s),
    outputError: (s, write) => write(singleLine(s) + "\n"),
    getOutHelpWidth: () => 100,
    getErrHelpWidth: () => 100,
  });
  cmd.showSuggestionAfterError(true);
  for (const sub of cmd.commands) configure(sub, io);
}

/** Build the program with the given commands (exported for tests and embedding). */
export function buildProgram(ctx: CliContext, commands: readonly RegisterCommand[] = COMMANDS): Command {
  const program = new Command("neuralrg")
    .description(
      "Neural Network Renormalization Group (Li & Wang, PRL 121, 260601 (2018)): flow-based variational free energies and samplers for lattice models",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .configureHelp({ sortOptions: false, showGlobalOptions: true })
    // program options only before the command, so that a command's subcommand (scan merge)
    // receives its own options rather than its parent's of the same name
    .enablePositionalOptions();
  configure(program, ctx);
  for (const register of commands) register(program, ctx);
  configure(program, ctx); // again, for commands added with addCommand
  return program;
}

/** Run the CLI with arguments (without "node" and the script path); resolves to the exit status. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const ctx: CliContext = { out: io.out, err: io.err, errIsTTY: io.errIsTTY, exitCode: 0 };
  try {
    const program = buildProgram(ctx);
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (help, version, or a one-line error).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      io.err(`error: ${singleLine(err.message)}\n`);
      return 2;
    }
    io.err(`error: ${oneLine(err)}\n`);
    if (process.env.NEURALRG_DEBUG && err instanceof Error && err.stack) io.err(err.stack + "\n");
    return 1;
  }
}
