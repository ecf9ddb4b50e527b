/**
 * The commander program with the CLI's "did you mean" taken from src/diagnostics/suggest.ts, so a misspelt command or
 * flag is suggested exactly as a misspelt name in a campaign file is (commander's own suggester is another one).
 */
import { Command } from "commander";
import { didYouMean } from "../diagnostics/suggest.js";

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
