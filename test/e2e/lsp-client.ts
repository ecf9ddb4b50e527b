/** A Language Server Protocol client for tests: spawns the built `chuda lsp --stdio` and speaks JSON-RPC to it. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  MessageType,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  type Diagnostic,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { BIN } from "./cli.js";

export class LspClient {
  readonly connection: ProtocolConnection;
  readonly child: ChildProcess;
  /** uri → every diagnostics notification received, in order. */
  readonly diagnostics = new Map<string, Diagnostic[][]>();
  /** uri → the document version of each of those notifications. */
  readonly diagnosticVersions = new Map<string, (number | undefined)[]>();
  /** Errors the server logged (it logs instead of failing a request). */
  readonly errors: string[] = [];
  private waiters: (() => void)[] = [];
  private versions = new Map<string, number>();
  exitCode: number | null = null;

  constructor(
    readonly root: string,
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, [BIN, "lsp", "--stdio"], {
      cwd: root,
      env: { ...process.env, CI: "true", NO_COLOR: "1", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.on("exit", (code) => (this.exitCode = code));
    this.connection = createProtocolConnection(this.child.stdout!, this.child.stdin!);
    this.connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      const list = this.diagnostics.get(p.uri) ?? [];
      list.push(p.diagnostics);
      this.diagnostics.set(p.uri, list);
      this.diagnosticVersions.set(p.uri, [...(this.diagnosticVersions.get(p.uri) ?? []), p.version ?? undefined]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.connection.onNotification(LogMessageNotification.type, (p) => {
      if (p.type === MessageType.Error) this.errors.push(p.message);
    });
    this.connection.listen();
  }

  uri(rel: string): string {
    return pathToFileURL(path.join(this.root, rel)).href;
  }

  async initialize(initializationOptions?: Record<string, unknown>) {
    const r = await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(this.root).href,
      capabilities: {},
      workspaceFolders: null,
      ...(initializationOptions ? { initializationOptions } : {}),
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
    return r;
  }

  /** Opens a file with the given text (default: its text on disk). */
  async open(rel: string, text?: string): Promise<string> {
    const uri = this.uri(rel);
    this.versions.set(uri, 1);
    const languageId = rel.endsWith(".chuda") ? "chuda" : "yaml";
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text: text ?? readFileSync(path.join(this.root, rel), "utf8") },
    });
    return uri;
  }

  /** Replaces the whole text of an open file. */
  async change(uri: string, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  /** Waits for a diagnostics notification for `uri` that satisfies `ok` (checked on every one received). */
  async waitDiagnostics(uri: string, ok: (d: Diagnostic[]) => boolean = () => true, timeoutMs = 20_000): Promise<Diagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      const list = this.diagnostics.get(uri) ?? [];
      for (; seen < list.length; seen++) if (ok(list[seen]!)) return list[seen]!;
      if (Date.now() > deadline) throw new Error(`no matching diagnostics for ${uri}; got ${JSON.stringify(list.at(-1))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** The newest diagnostics for `uri` that satisfy `ok`, waiting for them. Old notifications are skipped. */
  async nextDiagnostics(uri: string, ok: (d: Diagnostic[]) => boolean = () => true): Promise<Diagnostic[]> {
    const start = this.diagnostics.get(uri)?.length ?? 0;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const list = this.diagnostics.get(uri) ?? [];
      for (let i = start; i < list.length; i++) if (ok(list[i]!)) return list[i]!;
      if (Date.now() > deadline) throw new Error(`no new matching diagnostics for ${uri}; got ${JSON.stringify(list.at(-1))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** The version of the open document's text last sent. */
  version(uri: string): number {
    return this.versions.get(uri) ?? 0;
  }

  /** The diagnostics of the document's current text (the notification carrying its version). */
  async currentDiagnostics(uri: string): Promise<Diagnostic[]> {
    const want = this.version(uri);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const versions = this.diagnosticVersions.get(uri) ?? [];
      const i = versions.lastIndexOf(want);
      if (i >= 0) return this.diagnostics.get(uri)![i]!;
      if (Date.now() > deadline) throw new Error(`no diagnostics for version ${want} of ${uri}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** shutdown → exit; resolves with the process's exit code. */
  async close(): Promise<number | null> {
    await this.connection.sendRequest(ShutdownRequest.type);
    const exited = new Promise<number | null>((resolve) => (this.exitCode !== null ? resolve(this.exitCode) : this.child.on("exit", (code) => resolve(code))));
    await this.connection.sendNotification(ExitNotification.type);
    const code = await exited;
    this.connection.dispose();
    return code;
  }
}
