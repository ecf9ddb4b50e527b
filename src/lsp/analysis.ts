/**
 * One campaign repository as the language server sees it: the files on disk, overlaid by the editor's unsaved
 * text, run through the same stages as `chuda validate` (chuda.yaml → campaigns → templates → checker → trigger
 * checks). Parsing is cached per file text, so an edit re-parses one file and re-checks the project.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Diagnostic } from "../diagnostics/types.js";
import type { CheckResult, ResolvedCampaign } from "../resolved/types.js";
import type { FileNode } from "../language/ast.js";
import type { Project } from "../project/types.js";
import type { Template } from "../content/types.js";
import { parseFile } from "../language/index.js";
import { listProjectFiles, parseProject } from "../project/index.js";
import { CONTENT_KINDS, parseTemplate } from "../content/index.js";
import { DRIVER_CONTENT_KIND, type BuiltinDriver, type ContentKind } from "../project/types.js";
import { decodeWithDiagnostic } from "../cli/workspace.js";
import { capPerFile, suppressFollowOn } from "../check/workspace.js";
import { checkProject } from "../check/index.js";
import { BUILTIN_EVENT_NAMES } from "../calendar/events.js";
import { checkTriggers } from "../calendar/check.js";
import { introducedOrder } from "../cli/introduced.js";
import { sortDiagnostics } from "../render/diagnostics/index.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { diag } from "../diagnostics/diag.js";
import { contentMessages } from "../diagnostics/messages/content.js";

export interface ParsedFile {
  /** Relative to the project root, with `/`. */
  file: string;
  text: string;
  ast: FileNode;
  diagnostics: Diagnostic[];
}

/** The result of one analysis: everything the features read. */
export interface Analysis {
  root: string;
  project?: Project;
  files: ParsedFile[];
  /** The same files by relative path. */
  fileByPath: Map<string, ParsedFile>;
  templates: Map<string, Template>;
  check: CheckResult;
  /** Relative file → diagnostics (every analysed file has an entry, possibly empty). */
  diagnostics: Map<string, Diagnostic[]>;
}

export class ProjectState {
  /** Relative file → text the editor holds (unsaved edits win over the disk). */
  private readonly overlay = new Map<string, string>();
  /** Relative file → text on disk, read once and dropped when the client says the file changed. */
  private readonly disk = new Map<string, string | undefined>();
  /** Relative file → the invalid-UTF-8 diagnostic of its disk text (the editor's text is already decoded). */
  private readonly decoding = new Map<string, Diagnostic[]>();
  private campaignList?: string[];
  private templateList?: string[];
  private readonly parsed = new Map<string, ParsedFile>();
  private last?: Analysis;

  constructor(readonly root: string) {}

  rel(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join("/");
  }

  abs(rel: string): string {
    return path.join(this.root, ...rel.split("/"));
  }

  /** The editor opened or changed a file. */
  setOverlay(rel: string, text: string): void {
    if (this.overlay.get(rel) === text) return;
    this.overlay.set(rel, text);
    this.last = undefined;
  }

  /** The editor closed a file: its disk text counts again. */
  dropOverlay(rel: string): void {
    this.overlay.delete(rel);
    this.disk.delete(rel);
    this.last = undefined;
  }

  /** A file changed, appeared or went away on disk. */
  diskChanged(rel: string): void {
    this.disk.delete(rel);
    this.introduced = undefined;
    this.campaignList = undefined;
    this.templateList = undefined;
    this.last = undefined;
  }

  /** Diagnostics of reading the file, when its text came from the disk. */
  private readDiagnostics(rel: string): Diagnostic[] {
    return this.overlay.has(rel) ? [] : (this.decoding.get(rel) ?? []);
  }

  text(rel: string): string | undefined {
    const o = this.overlay.get(rel);
    if (o !== undefined) return o;
    if (!this.disk.has(rel)) {
      let t: string | undefined;
      const decoding: Diagnostic[] = [];
      try {
        t = decodeWithDiagnostic(readFileSync(this.abs(rel)), rel, decoding);
      } catch {
        t = undefined;
      }
      this.disk.set(rel, t);
      this.decoding.set(rel, decoding);
    }
    return this.disk.get(rel);
  }

  /** Whether `rel` is one of the files the project reads. */
  owns(rel: string): boolean {
    return rel === "chuda.yaml" || isCampaignFile(rel) || isTemplateFile(rel);
  }

  async analyze(): Promise<Analysis> {
    if (this.last) return this.last;
    if (!this.campaignList)
      this.campaignList = (await listProjectFiles(path.join(this.root, "campaigns"), (n) => n.endsWith(".chuda"))).map((f) => this.rel(f));
    if (!this.templateList) this.templateList = listTemplates(this.root);
    const all = new Set<string>(this.campaignList);
    for (const rel of this.overlay.keys()) if (isCampaignFile(rel)) all.add(rel);
    const templateFiles = new Set<string>(this.templateList);
    for (const rel of this.overlay.keys()) if (isTemplateFile(rel)) templateFiles.add(rel);

    const diagnostics: Diagnostic[] = [];
    const yamlText = this.text("chuda.yaml");
    let project: Project | undefined;
    if (yamlText === undefined) diagnostics.push(diag(MESSAGES.projectFileUnreadable, point("chuda.yaml"), ["chuda.yaml", "no such file"]));
    else {
      const loaded = parseProject(yamlText, this.abs("chuda.yaml"), this.root);
      project = loaded.project;
      diagnostics.push(...loaded.diagnostics);
    }

    const files: ParsedFile[] = [];
    for (const rel of [...all].sort()) {
      const text = this.text(rel);
      if (text === undefined) continue;
      let p = this.parsed.get(rel);
      if (!p || p.text !== text) {
        const r = parseFile(text, rel);
        p = { file: rel, text, ast: r.ast, diagnostics: r.diagnostics };
        this.parsed.set(rel, p);
      }
      files.push(p);
      diagnostics.push(...this.readDiagnostics(rel), ...p.diagnostics);
    }

    // As loadTemplates does, from the overlaid texts: one template per name, the first file wins.
    // As the CLI: template sections may be keyed by a channel name (that channel's own section, of its driver's kind).
    const channelKinds = new Map<string, ContentKind>();
    for (const c of project?.channels.values() ?? []) {
      const kind = DRIVER_CONTENT_KIND[c.driver as BuiltinDriver];
      if (kind && !(CONTENT_KINDS as readonly string[]).includes(c.name)) channelKinds.set(c.name, kind);
    }
    const templates = new Map<string, Template>();
    for (const rel of [...templateFiles].sort()) {
      const text = this.text(rel);
      if (text === undefined) continue;
      const name = path.posix.basename(rel).replace(/\.ya?ml$/, "");
      const prev = templates.get(name);
      if (prev) {
        diagnostics.push(diag(contentMessages.contentDuplicateTemplate, point(rel), [name, prev.file, rel]));
        continue;
      }
      const parsed = parseTemplate(text, rel, name, channelKinds);
      diagnostics.push(...this.readDiagnostics(rel), ...parsed.diagnostics);
      templates.set(name, parsed.template);
    }

    let check: CheckResult = { campaigns: [], diagnostics: [] };
    if (project) {
      const knownEvents = new Set<string>([...BUILTIN_EVENT_NAMES, ...project.calendar.keys()]);
      // As the CLI: of two definitions of one name, the newer file's is reported (asked only when there are two).
      const introduced = () => this.introducedOrder(files.map((f) => f.file));
      check = checkProject(files, project, { templates, knownEvents, introduced });
      diagnostics.push(...check.diagnostics, ...this.triggerDiagnostics(check, project, new Map(files.map((f) => [f.file, f]))));
    }

    // As `chuda validate`: follow-on and duplicate diagnostics dropped, at most so many per file.
    const byFile = new Map<string, Diagnostic[]>();
    byFile.set("chuda.yaml", []);
    for (const f of files) byFile.set(f.file, []);
    for (const t of templateFiles) byFile.set(t, []);
    const kept = suppressFollowOn(sortDiagnostics(diagnostics));
    for (const d of capPerFile(kept)) {
      const list = byFile.get(d.span.file) ?? [];
      list.push(d);
      byFile.set(d.span.file, list);
    }
    this.last = { root: this.root, files, fileByPath: new Map(files.map((f) => [f.file, f])), templates, check, diagnostics: byFile };
    if (project) this.last.project = project;
    return this.last;
  }

  private introduced?: { key: string; order: string[] };
  /** introducedOrder asks git: remembered until the file list or the disk changes. */
  private introducedOrder(files: string[]): string[] {
    const key = files.join("\n");
    if (this.introduced?.key !== key) this.introduced = { key, order: introducedOrder(this.root, files) };
    return this.introduced.order;
  }

  /**
   * checkTriggers file by file, remembered while chuda.yaml and the file are unchanged and the same campaigns of it
   * resolve: expanding a campaign's active range is the dearest part of a check, and an edit changes one file.
   */
  private triggerMemo = new WeakMap<Project, WeakMap<ParsedFile, { names: string; diagnostics: Diagnostic[] }>>();
  private triggerDiagnostics(check: CheckResult, project: Project, files: Map<string, ParsedFile>): Diagnostic[] {
    let memo = this.triggerMemo.get(project);
    if (!memo) this.triggerMemo.set(project, (memo = new WeakMap()));
    const byFile = new Map<string, ResolvedCampaign[]>();
    for (const c of check.campaigns) {
      const list = byFile.get(c.file);
      if (list) list.push(c);
      else byFile.set(c.file, [c]);
    }
    const out: Diagnostic[] = [];
    for (const [file, campaigns] of byFile) {
      const parsed = files.get(file);
      const names = campaigns.map((c) => c.name).join(",");
      const known = parsed ? memo.get(parsed) : undefined;
      if (known && known.names === names) {
        out.push(...known.diagnostics);
        continue;
      }
      const diagnostics = checkTriggers(campaigns, project);
      if (parsed) memo.set(parsed, { names, diagnostics });
      out.push(...diagnostics);
    }
    return out;
  }
}

export function isCampaignFile(rel: string): boolean {
  return rel.startsWith("campaigns/") && rel.endsWith(".chuda");
}

export function isTemplateFile(rel: string): boolean {
  return /^templates\/[^/]+\.ya?ml$/.test(rel);
}

function listTemplates(root: string): string[] {
  try {
    return readdirSync(path.join(root, "templates"))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => `templates/${f}`);
  } catch {
    return [];
  }
}

function point(file: string) {
  return { file, start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
}
