/**
 * Every command's action returns its exit code: 0 clean, 1 problems found, 2 the command itself could not run.
 * Commander ignores what an action returns, so the program keeps it; main.ts reads it once, after the run.
 */
import type { Command } from "commander";
import { ChudaCommand } from "../program.js";

/** A command's action: its exit code on every path (the type refuses one that can end without it). */
export type Action = (...args: any[]) => Promise<number>;

export class ChudaProgram extends ChudaCommand {
  /** The exit code the last action returned (kept on the root program). */
  exitCode = 0;

  override createCommand(name?: string): ChudaProgram {
    return new ChudaProgram(name);
  }

  /** Commander's `action`, for a handler that returns the exit code. */
  run(handler: Action): this {
    return this.action(async (...args: unknown[]) => {
      const code = await handler(...args);
      const root = rootOf(this);
      if (root instanceof ChudaProgram) root.exitCode = code;
    });
  }
}

function rootOf(command: Command): Command {
  while (command.parent) command = command.parent;
  return command;
}
