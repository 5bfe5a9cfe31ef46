/**
 * The contract between main() and the command modules (one file per command in src/cli/).
 *
 * A command module exports `register(program, ctx)`, which adds its subcommand with
 * `program.command(name)` (NOT `new Command()` + addCommand: `program.command` inherits the
 * exit override and output routing set up by main). Its action writes through `ctx.out` /
 * `ctx.err`, throws UsageError for bad input (exit 2) and any other Error for failures (exit 1,
 * one line); it may set `ctx.exitCode` for a non-zero exit without an error message.
 * Registered modules are listed in src/cli/commands.ts.
 */
import type { Command } from "commander";

export interface CliIO {
  /** Write to standard output (text is written as is; include "\n"). */
  out(text: string): void;
  /** Write to standard error. */
  err(text: string): void;
  /** True when stderr is an interactive terminal (progress bars); false in tests. */
  readonly errIsTTY?: boolean;
}

export interface CliContext extends CliIO {
  /** Exit status main() returns when the action completes without throwing (default 0). */
  exitCode: number;
}

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Print a line to stdout. */
export function println(ctx: CliIO, line = ""): void {
  ctx.out(line + "\n");
}

/** Print JSON (2-space indent) to stdout. */
export function printJson(ctx: CliIO, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2) + "\n");
}
