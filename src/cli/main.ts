#!/usr/bin/env node
/**
 * The bin. The only place that sets process.exitCode. Every command returns 0 (clean), 1 (problems found)
 * or 2 (the command itself could not run); a user's mistake is one line plus a hint, never a stack trace.
 */
import { CommanderError, Option } from "commander";
import { ChudaCommand } from "./program.js";
import { processIo, UsageError, type Io } from "./io.js";
import { VERSION } from "./version.js";
import { registerCommands } from "./commands/index.js";
import { installSignalHandlers } from "./signals.js";

export async function run(argv: string[], io: Io): Promise<number> {
  const program = new ChudaCommand();
  let exit = 0;
  program
    .name("chuda")
    .description("触达 chuda — member-marketing campaigns as code: validate, simulate, dispatch")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run `chuda --help` for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .addOption(new Option("--project <dir>", "campaign repository (default: the nearest chuda.yaml upward)"));
  registerCommands(program, io, (code) => (exit = code));
  try {
    await program.parseAsync(argv, { from: "user" });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof UsageError) {
      io.err(`chuda: ${e.message}\n`);
      if (e.hint) io.err(`hint: ${e.hint}\n`);
      return 2;
    }
    const err = e as Error;
    io.err(`chuda: internal error: ${err?.message ?? String(e)}\n`);
    io.err(io.env.CHUDA_DEBUG ? `${err?.stack}\n` : "hint: this is a bug in chuda; rerun with CHUDA_DEBUG=1 to see where it happened\n");
    return 2;
  }
}

installSignalHandlers();
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
