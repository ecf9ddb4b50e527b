#!/usr/bin/env node
/**
 * The bin. The only place that sets process.exitCode. Every command returns 0 (clean), 1 (problems found)
 * or 2 (the command itself could not run); a user's mistake is one line plus a hint, never a stack trace.
 */
import { CommanderError, Option, type Command } from "commander";
import { processIo, UsageError, type Io } from "./io.js";
import { VERSION } from "./version.js";
import { registerCommands } from "./commands/index.js";
import { ChudaProgram } from "./commands/program.js";
import { installSignalHandlers } from "./signals.js";
import { renderRunFailure } from "../render/diagnostics/run.js";
import { commandLineProblem, failureFormat, formatFlags } from "./program.js";

export async function run(argv: string[], io: Io): Promise<number> {
  const program = new ChudaProgram();
  let commanderText = "";
  program
    .name("chuda")
    .description("触达 chuda — member-marketing campaigns as code: validate, simulate, dispatch")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run `chuda --help` for usage)")
    .exitOverride()
    // commander's own errors (an unknown flag, a bad choice) are held back: under a machine format they become a diagnostic.
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => void (commanderText += s) })
    .addOption(new Option("--project <dir>", "campaign repository (default: the nearest chuda.yaml upward)"));
  // The command that runs, for the format a failure is reported in (its --format or --json).
  let running: Command | undefined;
  program.hook("preAction", (_, actionCommand) => void (running = actionCommand));
  registerCommands(program, io);
  try {
    await program.parseAsync(argv, { from: "user" });
    io.err(commanderText);
    return program.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      const format = failureFormat(running?.opts() ?? formatFlags(argv));
      if (format === "pretty" || e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") io.err(commanderText);
      else io.out(renderRunFailure(commandLineProblem(e), [], format, { sources: new Map(), files: 0, color: false, version: VERSION }).stdout);
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      const files = e.fileDiagnostics;
      const ctx = { sources: files?.sources ?? new Map<string, string>(), files: files?.files ?? 0, color: io.color, version: VERSION };
      const out = renderRunFailure(e.diagnostic, files?.diagnostics ?? [], failureFormat(running?.opts()), ctx);
      io.out(out.stdout);
      io.err(out.stderr);
      return 2;
    }
    const err = e as Error;
    io.err(`chuda: internal error: ${err?.message ?? String(e)}\n`);
    io.err(io.env.CHUDA_DEBUG ? `${err?.stack}\n` : "hint: this is a bug in chuda; rerun with CHUDA_DEBUG=1 to see where it happened\n");
    return 2;
  }
}

installSignalHandlers();
// Deprecation notices of libraries (node-postgres announcing the end of ~/.pgpass support in its next major) are for
// chuda's developers, not for every cron mail of its users.
process.noDeprecation = true;
const io = processIo();
run(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    // For `npm run bench`: peak memory of the whole run.
    if (process.env.CHUDA_STATS) process.stderr.write(`chuda-stats ${JSON.stringify({ maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
  },
  (e) => {
    process.stderr.write(`chuda: internal error: ${(e as Error)?.message}\n`);
    process.exitCode = 2;
  },
);
