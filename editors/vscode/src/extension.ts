/** The VS Code client: starts `chuda lsp --stdio` and hands it `.chuda` files, templates and chuda.yaml. */
import { workspace, type ExtensionContext } from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { serverCommand } from "./server-command";

let client: LanguageClient | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
  const folders = (workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const command = serverCommand(folders, workspace.getConfiguration("chuda").get<string>("path") || undefined);
  // TransportKind.stdio adds `--stdio`. A `.cmd` shim on Windows needs a shell to start.
  const serverOptions: ServerOptions = { command, args: ["lsp"], transport: TransportKind.stdio, options: { shell: process.platform === "win32" } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "chuda" },
      { scheme: "file", pattern: "**/templates/*.{yaml,yml}" },
      { scheme: "file", pattern: "**/chuda.yaml" },
    ],
    // Files changed outside the editor (git checkout, a generator) are re-read by the server.
    synchronize: { fileEvents: workspace.createFileSystemWatcher("**/{*.chuda,chuda.yaml,templates/*.yaml,templates/*.yml}") },
    // A member snapshot for the audience size and reach funnel shown when hovering a campaign.
    initializationOptions: { members: workspace.getConfiguration("chuda").get<string>("members") || undefined },
  };
  client = new LanguageClient("chuda", "chuda language server", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => void client?.stop() });
  await client.start();
}

export function deactivate(): Promise<void> | undefined {
  return client?.stop();
}
