import type { Command } from "commander";
import type { Io } from "../io.js";

export function registerLsp(program: Command, io: Io, done: (code: number) => void): void {
  program
    .command("lsp")
    .description("the language server for editors (Language Server Protocol over stdin/stdout)")
    .option("--stdio", "talk over stdin and stdout (the only transport, and the default)")
    // Editors' clients add their own flags (`--clientProcessId=…`): ignore what is not ours.
    .allowUnknownOption()
    .action(async () => {
      // Loaded only here: the other commands do not pay for the protocol library.
      const { startServer } = await import("../../lsp/server.js");
      await startServer(process.stdin, process.stdout, () => io.now());
      done(0);
    });
}
