/**
 * Loads a campaign repository for any command: chuda.yaml → campaigns/**.chuda → templates → check → trigger checks.
 * Returns data and diagnostics; only a missing project or an unreadable path is a UsageError (exit 2).
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Diagnostic } from "../diagnostics/types.js";
import type { CheckResult } from "../resolved/types.js";
import type { FileNode } from "../language/ast.js";
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import { parseFile } from "../language/index.js";
import { findProjectFile, listProjectFiles, loadProject } from "../project/index.js";
import { CONTENT_KINDS, loadTemplates } from "../content/index.js";
import { trackDiagnostics } from "../content/track-check.js";
import { DRIVER_CONTENT_KIND, type BuiltinDriver, type ContentKind } from "../project/types.js";
import { introducedOrder } from "./introduced.js";
import { capPerFile, checkWorkspace, suppressFollowOn } from "../check/workspace.js";
import { sortDiagnostics } from "../render/diagnostics/index.js";
import { languageMessages } from "../diagnostics/messages/language.js";
import { UsageError, type Io } from "./io.js";
import { operationsMessages as O } from "../diagnostics/messages/operations.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { diag } from "../diagnostics/diag.js";
import { pointSpan, type Span } from "../diagnostics/span.js";
import { decodeSource, MAX_REPOSITORY_BYTES, MAX_SOURCE_FILE_BYTES, positionOfByte } from "../language/source.js";

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** A source file's text, with a diagnostic at the first byte that is not UTF-8. */
export function decodeWithDiagnostic(bytes: Uint8Array, file: string, out: Diagnostic[]): string {
  const d = decodeSource(bytes);
  if (d.invalid) {
    const at = positionOfByte(bytes, d.invalid.offset);
    const span: Span = { file, start: at, end: { ...at, column: at.column + 1, offset: at.offset + 1 } };
    const more = d.invalid.count > 1 ? ` (and ${d.invalid.count - 1} more invalid byte${d.invalid.count === 2 ? "" : "s"})` : "";
    out.push(diag(languageMessages.invalidUtf8, span, [d.invalid.offset, more]));
  }
  return d.text;
}

export interface Workspace {
  root: string;
  project?: Project;
  files: { file: string; text: string; ast: FileNode }[];
  templates: Map<string, Template>;
  check: CheckResult;
  diagnostics: Diagnostic[];
  /** Relative file → text, for code frames. */
  sources: Map<string, string>;
}

export function resolveProjectFile(projectOpt: string | undefined, io: Io): string {
  if (projectOpt) {
    const dir = path.resolve(io.cwd, projectOpt);
    const file = existsSync(dir) && statSync(dir).isFile() ? dir : path.join(dir, "chuda.yaml");
    if (!existsSync(file)) throw new UsageError(O.noProjectInFolder, [projectOpt]);
    return file;
  }
  const found = findProjectFile(io.cwd);
  if (!found) throw new UsageError(O.noProjectFound);
  return found;
}

export function listChudaFiles(dir: string): Promise<string[]> {
  return listProjectFiles(dir, (name) => name.endsWith(".chuda"));
}

/** Files selected by the command-line paths (files or folders); all of campaigns/ when none. */
export async function selectFiles(root: string, paths: string[], io: Io): Promise<string[] | undefined> {
  if (!paths.length) return undefined;
  const selected: string[] = [];
  for (const p of paths) {
    const abs = path.resolve(io.cwd, p);
    if (!existsSync(abs)) throw new UsageError(O.pathNotFound, [p]);
    if (statSync(abs).isDirectory()) selected.push(...(await listChudaFiles(abs)));
    else selected.push(abs);
  }
  return selected;
}

export async function loadWorkspace(projectOpt: string | undefined, io: Io, opts: { paths?: string[] } = {}): Promise<Workspace> {
  const projectFile = resolveProjectFile(projectOpt, io);
  const root = path.dirname(projectFile);
  const rel = (p: string) => path.relative(root, p).split(path.sep).join("/");
  const sources = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  let yamlText: string;
  try {
    yamlText = await readFile(projectFile, "utf8");
  } catch (e) {
    throw new UsageError(O.fileUnreadable, [projectFile, (e as NodeJS.ErrnoException).code ?? (e as Error).message]);
  }
  sources.set(rel(projectFile), yamlText);
  const loaded = await loadProject(projectFile);
  diagnostics.push(...loaded.diagnostics);

  // The namespace is always the whole campaigns/ folder; paths only narrow which files are reported.
  const selected = await selectFiles(root, opts.paths ?? [], io);
  const all = await listChudaFiles(path.join(root, "campaigns"));
  const extra = (selected ?? []).filter((f) => !all.includes(f));
  const files: Workspace["files"] = [];
  // Sizes first: a file or a repository too large to check is refused before anything reads it.
  const sized = [...all, ...extra].sort().map((abs) => {
    try {
      return { abs, size: statSync(abs).size };
    } catch (e) {
      throw new UsageError(O.fileUnreadable, [rel(abs), (e as NodeJS.ErrnoException).code ?? (e as Error).message]);
    }
  });
  let total = 0;
  const toRead: string[] = [];
  for (const { abs, size } of sized) {
    if (size > MAX_SOURCE_FILE_BYTES) diagnostics.push(diag(languageMessages.fileTooLarge, pointSpan(rel(abs)), [mb(size), mb(MAX_SOURCE_FILE_BYTES)]));
    else if ((total += size) > MAX_REPOSITORY_BYTES)
      diagnostics.push(diag(languageMessages.repositoryTooLarge, pointSpan(rel(abs)), [mb(MAX_REPOSITORY_BYTES)]));
    else toRead.push(abs);
  }
  await Promise.all(
    toRead.map(async (abs) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(abs);
      } catch (e) {
        throw new UsageError(O.fileUnreadable, [rel(abs), (e as NodeJS.ErrnoException).code ?? (e as Error).message]);
      }
      const file = rel(abs);
      const text = decodeWithDiagnostic(bytes, file, diagnostics);
      sources.set(file, text);
      const parsed = parseFile(text, file);
      for (const d of parsed.diagnostics) diagnostics.push(d);
      files.push({ file, text, ast: parsed.ast });
    }),
  );
  files.sort((a, b) => (a.file < b.file ? -1 : 1));

  // Template sections may be keyed by a channel name (that channel's own section, of its driver's kind).
  const channelKinds = new Map<string, ContentKind>();
  for (const c of loaded.project?.channels.values() ?? []) {
    const kind = DRIVER_CONTENT_KIND[c.driver as BuiltinDriver];
    if (kind && !(CONTENT_KINDS as readonly string[]).includes(c.name)) channelKinds.set(c.name, kind);
  }
  const templates = await loadTemplates(root, undefined, channelKinds);
  for (const d of templates.diagnostics) diagnostics.push(d);
  // `{{track}}` links point at the server's public address.
  const publicUrl = loaded.project?.serve?.publicUrl;
  if (publicUrl) for (const t of templates.templates.values()) t.trackBase = publicUrl;
  if (loaded.project) for (const t of templates.templates.values()) diagnostics.push(...trackDiagnostics(t, publicUrl));
  for (const t of templates.templates.values()) {
    try {
      sources.set(t.file, decodeWithDiagnostic(await readFile(path.join(root, t.file)), t.file, diagnostics));
    } catch {
      /* already reported by loadTemplates */
    }
  }

  let check: CheckResult = { campaigns: [], diagnostics: [] };
  if (loaded.project) {
    const introduced = () =>
      introducedOrder(
        root,
        files.map((f) => f.file),
      );
    check = checkWorkspace(files, loaded.project, { templates: templates.templates, introduced });
    for (const d of check.diagnostics) diagnostics.push(d);
  }

  let reported = suppressFollowOn(diagnostics);
  if (selected) {
    const keep = new Set(selected.map(rel));
    reported = reported.filter((d) => keep.has(d.span.file) || !d.span.file.endsWith(".chuda"));
  }
  return { root, project: loaded.project, files, templates: templates.templates, check, diagnostics: capPerFile(sortDiagnostics(reported)), sources };
}

/**
 * The project and its campaigns must be free of errors before anything is planned (Terraform's incomplete plan).
 * The errors travel with the UsageError: src/cli/main.ts renders them in the command's format.
 */
export function requireValid(ws: Workspace, _io?: Io) {
  const errors = ws.diagnostics.filter((d) => d.severity === "error");
  if (!ws.project || errors.length) {
    throw new UsageError(O.repositoryHasErrors, [], { fileDiagnostics: { diagnostics: errors, sources: ws.sources, files: ws.files.length } });
  }
  return ws.project;
}

export function selectCampaigns(ws: Workspace, names: string[]) {
  if (!names.length) return ws.check.campaigns;
  const known = new Map(ws.check.campaigns.map((c) => [c.name, c]));
  return names.map((n) => {
    const c = known.get(n);
    if (!c) throw new UsageError(O.noSuchCampaign, [n, [...known.keys()].join(", ")], { help: didYouMean(n, known.keys()) });
    return c;
  });
}
