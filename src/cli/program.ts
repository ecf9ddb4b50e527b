/**
 * The commander program with the CLI's "did you mean" taken from src/diagnostics/suggest.ts, so a misspelt command or
 * flag is suggested exactly as a misspelt name in a campaign file is (commander's own suggester is another one).
 */
import { Command, type CommanderError } from "commander";
import { runDiag } from "../diagnostics/diag.js";
import { operationsMessages } from "../diagnostics/messages/operations.js";
import type { RunDiagnostic } from "../diagnostics/types.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { DiagnosticFormat } from "../render/diagnostics/index.js";

export class ChudaCommand extends Command {
  override createCommand(name?: string): Command {
    return new ChudaCommand(name);
  }

  /** Called by commander on a flag no command in the chain declares. */
  unknownOption(flag: string): void {
    // The flags of this command and of the commands above it (commander reads global options anywhere).
    const flags: string[] = [];
    const chain = (c: Command | null): Command[] => (c ? [c, ...chain(c.parent)] : []);
    for (const c of chain(this)) flags.push(...c.options.map((o) => o.long).filter((l): l is string => !!l));
    const help = flag.startsWith("--") ? didYouMean(flag.split("=")[0]!, flags) : undefined;
    this.error(`error: unknown option '${flag}'${help ? `\n(${help})` : ""}`, { code: "commander.unknownOption" });
  }

  /** Called by commander on a first argument that names no command. */
  unknownCommand(): void {
    const name = this.args[0] ?? "";
    const help = didYouMean(
      name,
      this.commands.flatMap((c) => [c.name(), ...c.aliases()]),
    );
    this.error(`error: unknown command '${name}'${help ? `\n(${help})` : ""}`, { code: "commander.unknownCommand" });
  }
}

/** The format a command reports a failure in: its `--format` when that is a diagnostics format, JSON with `--json`. */
export function failureFormat(opts: Record<string, unknown> | undefined): DiagnosticFormat {
  const format = opts?.["format"];
  if (format === "json" || format === "sarif" || format === "github") return format;
  return opts?.["json"] === true ? "json" : "pretty";
}

/** `--format X`, `--format=X` and `--json` read from the raw arguments, for a command line commander refused to parse. */
export function formatFlags(argv: readonly string[]): Record<string, unknown> {
  const i = argv.indexOf("--format");
  const eq = argv.find((a) => a.startsWith("--format="));
  return { format: i >= 0 ? argv[i + 1] : eq?.slice("--format=".length), json: argv.includes("--json") };
}

/** commander's message (`error: unknown option '--x'` and its suggestion) as a diagnostic of the command line. */
export function commandLineProblem(e: CommanderError): RunDiagnostic {
  const [first = "", ...rest] = e.message.replace(/^error: /, "").split("\n");
  const suggestion = rest.join(" ").replace(/^\((.*)\)$/, "$1");
  return runDiag(operationsMessages.badCommandLine, [first], suggestion ? { help: suggestion } : {});
}
