/**
 * The registry of subcommands, one module per command in src/cli/. To add a command, write
 * src/cli/<name>.ts exporting `register(program, ctx)` (see command.ts) and list it here.
 * Help lists commands in this order.
 */
import type { RegisterCommand } from "./command.ts";
import { register as analyze } from "./analyze.ts";
import { register as data } from "./data.ts";
import { register as demo } from "./demo.ts";
import { register as exact } from "./exact.ts";
import { register as fit } from "./fit.ts";
import { register as scan } from "./scan.ts";
import { register as hmc } from "./hmc.ts";
import { register as report } from "./report.ts";
import { register as sample } from "./sample.ts";
import { register as train } from "./train.ts";
import { register as version } from "./version.ts";

export const COMMANDS: RegisterCommand[] = [train, fit, data, scan, demo, sample, hmc, analyze, report, exact, version];
