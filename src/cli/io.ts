/**
 * The one seam for everything impure the commands touch (Prettier's mockable.js): output streams,
 * TTY and CI detection, colour, the clock. Commands receive an Io; tests run the built binary.
 */
import type { Diagnostic, MessageDef, RunDiagnostic } from "../diagnostics/types.js";
import { runDiag } from "../diagnostics/diag.js";
import { operationsMessages } from "../diagnostics/messages/operations.js";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal and CI is not set: Ink views, progress bars, colour. */
  interactive: boolean;
  color: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Epoch ms. `CHUDA_NOW` (ISO 8601) pins it for reproducible runs. */
  now(): number;
}

export function processIo(): Io {
  const env = process.env;
  const ci = !!env.CI && env.CI !== "false" && env.CI !== "0";
  const tty = !!process.stdout.isTTY;
  const pinned = env.CHUDA_NOW !== undefined && env.CHUDA_NOW !== "" ? Date.parse(env.CHUDA_NOW) : NaN;
  // A clock pinned to something that is not a moment must not silently fall back to the real clock.
  const badPin = env.CHUDA_NOW !== undefined && env.CHUDA_NOW !== "" && Number.isNaN(pinned);
  // A reader that went away (`chuda status | head -5`: EPIPE) is no error of ours: the rest of the output is dropped.
  let stdoutOpen = true;
  let stderrOpen = true;
  process.stdout.on("error", () => void (stdoutOpen = false));
  process.stderr.on("error", () => void (stderrOpen = false));
  return {
    out: (t) => void (stdoutOpen && process.stdout.write(t)),
    err: (t) => void (stderrOpen && process.stderr.write(t)),
    interactive: tty && !ci,
    color: tty && !ci && !("NO_COLOR" in env) && env.TERM !== "dumb",
    cwd: process.cwd(),
    env,
    now: () => {
      if (badPin) throw new UsageError(operationsMessages.badClockPin, [JSON.stringify(env.CHUDA_NOW!.slice(0, 60))]);
      return Number.isNaN(pinned) ? Date.now() : pinned;
    },
  };
}

/**
 * A problem that stops a command before it can do its job (exit 2): a diagnostic without a source location, from the
 * operations table (or a snapshot's own diagnostic). src/cli/main.ts renders it in the command's --format.
 */
export class UsageError extends Error {
  readonly diagnostic: RunDiagnostic;
  /** File diagnostics that explain it (a repository with errors), rendered with it. */
  readonly fileDiagnostics: { diagnostics: readonly Diagnostic[]; sources: Map<string, string>; files: number } | undefined;

  constructor(
    problem: MessageDef | RunDiagnostic,
    args: readonly (string | number)[] = [],
    extra: { help?: string; fileDiagnostics?: UsageError["fileDiagnostics"] } = {},
  ) {
    const d = "description" in problem ? runDiag(problem, args, extra) : problem;
    super(d.message);
    this.diagnostic = d;
    this.fileDiagnostics = extra.fileDiagnostics;
  }

  get hint(): string | undefined {
    return this.diagnostic.help;
  }
}
