import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";

export function registerLsp(program: ChudaProgram, io: Io): void {
  program
    .command("lsp")
    .description("the language server for editors (Language Server Protocol over stdin/stdout)")
    .option("--stdio", "talk over stdin and stdout (the only transport, and the default)")
    // Editors' clients add their own flags (`--clientProcessId=…`): ignore what is not ours.
    .allowUnknownOption()
    .run(async () => {
      // Loaded only here: the other commands do not pay for the protocol library.
      const { startServer } = await import("../../lsp/server.js");
      await startServer(process.stdin, process.stdout, () => io.now());
      return 0;
    });
}
