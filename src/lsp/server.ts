/**
 * `chuda lsp`: the Language Server Protocol over stdio. Every feature reads one Analysis (analysis.ts), built by
 * the same parser, checker, calendar and content rules as the CLI, with the editor's unsaved text over the disk.
 * Handlers never throw to the client: a failure on half-typed text answers "nothing here" and is logged.
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type Hover,
  type Location,
  type TextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic } from "../diagnostics/types.js";
import type { Span } from "../diagnostics/span.js";
import { formatFile, parseFile, printClause } from "../language/index.js";
import { findProjectFile } from "../project/index.js";
import { ProjectState, type Analysis, type ParsedFile } from "./analysis.js";
import { definitionOf, segmentDecl, targetAt, usesOf } from "./nodes.js";
import { complete, completeTemplate } from "./complete.js";
import { hover } from "./hover.js";
import { audienceLines, MemberSnapshotForHover } from "./audience.js";
import { toRange } from "./range.js";
import { semanticTokens, TOKEN_TYPES } from "./semantic.js";

const isTemplateUri = (uri: string) => /\/templates\/[^/]+\.ya?ml$/.test(uri);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `now` is the clock (epoch ms) hovers count occurrences from. */
export function startServer(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, now: () => number): Promise<void> {
  const connection = createConnection(ProposedFeatures.all, input, output);
  const server = new ChudaServer(connection, now);
  server.listen();
  return new Promise<void>((resolve) => connection.onExit(() => resolve()));
}

class ChudaServer {
  private readonly documents = new TextDocuments(TextDocument);
  private readonly projects = new Map<string, ProjectState>();
  /** uri → the diagnostics last sent, so an unchanged file is not sent again. */
  private readonly published = new Map<string, string>();
  private readonly pending = new Map<ProjectState, Set<string>>();
  private timer?: NodeJS.Timeout;
  private rootHint?: string;
  private readonly uris = new Map<string, string>();
  private readonly paths = new Map<string, string>();
  /** The member snapshot the editor named (`members` in the initialization options), per project root. */
  private membersFile?: string;
  private readonly snapshots = new Map<string, MemberSnapshotForHover>();

  constructor(
    private readonly connection: Connection,
    private readonly now: () => number,
  ) {}

  listen(): void {
    const c = this.connection;
    c.onInitialize((params) => {
      const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
      if (folder?.startsWith("file:")) this.rootHint = fileURLToPath(folder);
      const init = params.initializationOptions as { members?: unknown } | undefined;
      if (typeof init?.members === "string" && init.members.trim()) this.membersFile = init.members.trim();
      return {
        capabilities: {
          textDocumentSync: TextDocumentSyncKind.Incremental,
          documentFormattingProvider: true,
          documentSymbolProvider: true,
          completionProvider: { triggerCharacters: [" ", '"', ",", "[", "{", "."] },
          hoverProvider: true,
          definitionProvider: true,
          referencesProvider: true,
          renameProvider: { prepareProvider: true },
          semanticTokensProvider: { legend: { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [] }, full: true },
        },
        serverInfo: { name: "chuda" },
      };
    });
    // Fired on open too.
    this.documents.onDidChangeContent((e) => this.changed(e.document));
    this.documents.onDidClose((e) => {
      const at = this.locate(e.document.uri);
      if (at) {
        at.state.dropOverlay(at.rel);
        this.schedule(at.state, []);
      } else {
        void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
        this.published.delete(e.document.uri);
      }
    });
    c.onDidChangeWatchedFiles((p) => {
      for (const ch of p.changes) {
        const at = this.locate(ch.uri);
        if (!at) continue;
        if (path.basename(at.rel) === "chuda.yaml" && at.rel !== "chuda.yaml") continue;
        at.state.diskChanged(at.rel);
        this.schedule(at.state, []);
      }
    });
    c.onDocumentFormatting((p) =>
      this.safe(null, () => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc) return null;
        const text = doc.getText();
        const result = formatFile(text, "file.chuda");
        if (!result.changed || result.diagnostics.some((d) => d.severity === "error")) return [];
        const edit: TextEdit = { range: { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) }, newText: result.text };
        return [edit];
      }),
    );
    c.onDocumentSymbol((p) =>
      this.safe(null, () => {
        const doc = this.documents.get(p.textDocument.uri);
        if (!doc || !doc.uri.endsWith(".chuda")) return null;
        const text = doc.getText();
        return parseFile(text, "file.chuda").ast.items.map((item): DocumentSymbol => {
          const symbol: DocumentSymbol = {
            name: item.name.name,
            kind: item.kind === "campaign" ? SymbolKind.Event : SymbolKind.Variable,
            detail: item.kind === "campaign" ? (item.title?.value ?? "campaign") : "segment",
            range: toRange(item.span, text),
            selectionRange: toRange(item.name.span, text),
          };
          if (item.kind === "campaign")
            symbol.children = item.clauses.map((cl) => ({
              name: cl.kind,
              kind: SymbolKind.Property,
              detail: printClause(cl),
              range: toRange(cl.span, text),
              selectionRange: toRange(cl.span, text),
            }));
          return symbol;
        });
      }),
    );
    c.onCompletion(async (p) => {
      const uri = p.textDocument.uri;
      if (isTemplateUri(uri)) return this.withProject(uri, null, (a, doc) => completeTemplate(a, doc.getText().slice(0, doc.offsetAt(p.position))));
      return this.withFile(uri, null, (a, _f, doc) => complete(a, doc.offsetAt(p.position), doc.getText()));
    });
    c.onHover(async (p) => {
      const found = await this.withFile(p.textDocument.uri, null, (a, f, doc) => ({
        a,
        offset: doc.offsetAt(p.position),
        h: hover(a, f, doc.offsetAt(p.position), this.now()),
        f,
      }));
      if (!found?.h) return null;
      return this.withAudience(found.a, found.f, found.offset, found.h);
    });
    c.onShutdown(async () => {
      for (const s of this.snapshots.values()) await s.close().catch(() => undefined);
    });
    c.onDefinition((p) =>
      this.withFile(p.textDocument.uri, null, (a, f, doc) => {
        const t = targetAt(a, f.ast, doc.offsetAt(p.position));
        const def = t && definitionOf(a, t);
        return def ? this.location(a, def) : null;
      }),
    );
    c.onReferences((p) =>
      this.withFile(p.textDocument.uri, null, (a, f, doc) => {
        const t = targetAt(a, f.ast, doc.offsetAt(p.position));
        if (!t || t.kind === "trigger" || t.kind === "campaign") return null;
        const spans = usesOf(a, t.kind, t.name);
        const def = definitionOf(a, t);
        if (p.context.includeDeclaration && def) spans.unshift(def);
        return spans.map((s) => this.location(a, s));
      }),
    );
    c.onPrepareRename((p) =>
      this.withFile(p.textDocument.uri, null, (a, f, doc) => {
        const t = targetAt(a, f.ast, doc.offsetAt(p.position));
        return t?.kind === "segment" ? { range: toRange(t.span, doc.getText()), placeholder: t.name } : null;
      }),
    );
    c.onRenameRequest((p) =>
      this.withFile(p.textDocument.uri, null, (a, f, doc): WorkspaceEdit | null => {
        const t = targetAt(a, f.ast, doc.offsetAt(p.position));
        if (t?.kind !== "segment" || !IDENTIFIER.test(p.newName)) return null;
        const decl = segmentDecl(a, t.name);
        const spans = [...(decl ? [decl.name.span] : []), ...usesOf(a, "segment", t.name)];
        const changes: Record<string, TextEdit[]> = {};
        for (const s of spans) (changes[this.uriOf(a, s.file)] ??= []).push({ range: toRange(s, this.textOf(a, s.file)), newText: p.newName });
        return { changes };
      }),
    );
    c.languages.semanticTokens.on((p) => this.withFile(p.textDocument.uri, { data: [] }, (a, _f, doc) => ({ data: semanticTokens(a, doc.getText()) })));
    this.documents.listen(c);
    c.listen();
  }

  /** Which project a file belongs to (the nearest chuda.yaml upward), and its path relative to it. */
  private locate(uri: string): { state: ProjectState; rel: string } | undefined {
    if (!uri.startsWith("file:")) return undefined;
    const abs = fileURLToPath(uri);
    const projectFile = findProjectFile(path.dirname(abs)) ?? (this.rootHint ? findProjectFile(this.rootHint) : undefined);
    if (!projectFile) return undefined;
    const root = path.dirname(projectFile);
    const rel = path.relative(root, abs).split(path.sep).join("/");
    if (rel.startsWith("../")) return undefined;
    let state = this.projects.get(root);
    if (!state) this.projects.set(root, (state = new ProjectState(root)));
    return { state, rel };
  }

  private changed(doc: TextDocument): void {
    const at = this.locate(doc.uri);
    if (!at || !at.state.owns(at.rel)) {
      // Outside a campaign repository: a `.chuda` file still gets its syntax errors.
      if (doc.uri.endsWith(".chuda")) {
        const text = doc.getText();
        this.publish(doc.uri, parseFile(text, "file.chuda").diagnostics, text, true);
      }
      return;
    }
    at.state.setOverlay(at.rel, doc.getText());
    // The edited document always hears back, with its version, even when its diagnostics did not change.
    this.schedule(at.state, [doc.uri]);
  }

  /** Edits come in bursts (one per keystroke): analyse once the burst is over. */
  private schedule(state: ProjectState, force: string[]): void {
    const set = this.pending.get(state) ?? new Set<string>();
    for (const u of force) set.add(u);
    this.pending.set(state, set);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), 15);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const work = [...this.pending];
    this.pending.clear();
    for (const [state, force] of work) {
      try {
        const a = await state.analyze();
        const current = new Set<string>();
        for (const [file, diags] of a.diagnostics) {
          const uri = this.uriOf(a, file);
          current.add(uri);
          this.publish(uri, diags, this.textOf(a, file), force.has(uri));
        }
        // A file that left the project (deleted, closed and gone from disk) keeps no stale diagnostics.
        for (const uri of [...this.published.keys()]) {
          if (current.has(uri) || this.locate(uri)?.state !== state) continue;
          this.published.delete(uri);
          void this.connection.sendDiagnostics({ uri, diagnostics: [] });
        }
      } catch (e) {
        this.connection.console.error(`chuda: analysis failed: ${(e as Error)?.stack ?? String(e)}`);
      }
    }
  }

  private publish(uri: string, diags: Diagnostic[], text: string | undefined, force: boolean): void {
    // Most files of a large repository are clean and never were otherwise: nothing to say about them.
    if (!force && diags.length === 0 && !this.published.has(uri)) return;
    const out = diags.map((d) => toLspDiagnostic(d, text, (file) => this.relatedUri(uri, file)));
    const key = JSON.stringify(out);
    if (!force && this.published.get(uri) === key) return;
    if (!force && !this.published.has(uri) && out.length === 0) return;
    this.published.set(uri, key);
    const doc = this.documents.get(uri);
    void this.connection.sendDiagnostics(doc ? { uri, version: doc.version, diagnostics: out } : { uri, diagnostics: out });
  }

  private relatedUri(uri: string, file: string): string {
    const at = this.locate(uri);
    return at ? pathToFileURL(at.state.abs(file)).href : uri;
  }

  private uriOf(a: Analysis, file: string): string {
    const abs = path.join(a.root, ...file.split("/"));
    // Answer with the client's own spelling of an open document's URI.
    for (const d of this.documents.all()) if (this.fsPath(d.uri) === abs) return d.uri;
    let uri = this.uris.get(abs);
    if (!uri) this.uris.set(abs, (uri = pathToFileURL(abs).href));
    return uri;
  }

  private fsPath(uri: string): string | undefined {
    if (!uri.startsWith("file:")) return undefined;
    let p = this.paths.get(uri);
    if (!p) this.paths.set(uri, (p = fileURLToPath(uri)));
    return p;
  }

  private textOf(a: Analysis, file: string): string | undefined {
    return a.fileByPath.get(file)?.text ?? this.projects.get(a.root)?.text(file);
  }

  private location(a: Analysis, span: Span): Location {
    return { uri: this.uriOf(a, span.file), range: toRange(span, this.textOf(a, span.file)) };
  }

  /** Runs a feature on an open `.chuda` document of a project; `fallback` when there is none or it fails. */
  private async withFile<T>(uri: string, fallback: T, fn: (a: Analysis, f: ParsedFile, doc: TextDocument) => T): Promise<T> {
    try {
      const doc = this.documents.get(uri);
      const at = this.locate(uri);
      if (!doc || !at || !uri.endsWith(".chuda")) return fallback;
      at.state.setOverlay(at.rel, doc.getText());
      const a = await at.state.analyze();
      const f = a.fileByPath.get(at.rel);
      if (!f) return fallback;
      return fn(a, f, doc);
    } catch (e) {
      this.connection.console.error(`chuda: ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  }

  /** A campaign's hover gains its audience size and reach funnel when the editor named a member snapshot. */
  private async withAudience(a: Analysis, f: ParsedFile, offset: number, h: Hover): Promise<Hover> {
    if (!this.membersFile || !a.project) return h;
    const t = targetAt(a, f.ast, offset);
    const name = t?.kind === "campaign" ? t.name : t?.kind === "trigger" ? t.campaign.name.name : undefined;
    const campaign = name === undefined ? undefined : a.check.campaigns.find((c) => c.name === name);
    if (!campaign) return h;
    try {
      let snap = this.snapshots.get(a.root);
      if (!snap) this.snapshots.set(a.root, (snap = new MemberSnapshotForHover(this.membersFile)));
      const now = this.now();
      const count = await snap.audience(a.project, campaign, now);
      const lines = audienceLines(count, typeof count === "string" ? undefined : snap.funnel(a, campaign, now));
      const value = typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
      return { ...h, contents: { kind: "markdown", value: [value, "", ...lines].join("\n") } };
    } catch (e) {
      this.connection.console.error(`chuda: ${(e as Error)?.stack ?? String(e)}`);
      return h;
    }
  }

  /** Runs a feature on any open document of a project (templates, chuda.yaml). */
  private async withProject<T>(uri: string, fallback: T, fn: (a: Analysis, doc: TextDocument) => T): Promise<T> {
    try {
      const doc = this.documents.get(uri);
      const at = this.locate(uri);
      if (!doc || !at) return fallback;
      at.state.setOverlay(at.rel, doc.getText());
      return fn(await at.state.analyze(), doc);
    } catch (e) {
      this.connection.console.error(`chuda: ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  }

  private safe<T>(fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.connection.console.error(`chuda: ${(e as Error)?.stack ?? String(e)}`);
      return fallback;
    }
  }
}

function toLspDiagnostic(d: Diagnostic, text: string | undefined, uriOf: (file: string) => string): LspDiagnostic {
  const out: LspDiagnostic = {
    range: toRange(d.span, text),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "chuda",
    message: d.help ? `${d.message}\nhelp: ${d.help}` : d.message,
  };
  if (d.related?.length) out.relatedInformation = d.related.map((r) => ({ location: { uri: uriOf(r.span.file), range: toRange(r.span) }, message: r.message }));
  return out;
}
