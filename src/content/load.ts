/**
 * Loads templates/<name>.yaml: YAML errors, unknown sections and keys, wrong value types and Handlebars syntax
 * are reported with the template file's line and column; the variables every Handlebars source reads are
 * collected for the checker. The channel rules themselves (lengths, required fields …) are checked per use, by
 * checkTemplateUse in ./rules/index.ts.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar } from "yaml";
import { parseYaml } from "../project/yaml-reader.js";
import type { Span } from "../diagnostics/span.js";
import type { ContentKind } from "../project/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { Diagnostic, MessageDef } from "../diagnostics/types.js";
import { contentMessages as M } from "../diagnostics/messages/content.js";
import type { Template, TemplateSection } from "./types.js";
import { analyze, type HbsLoc } from "./hbs-ast.js";
import { indexOfLoc, scalarOffsets } from "./source-map.js";
import { setFieldSpans } from "./spans.js";

export const CONTENT_KINDS: readonly ContentKind[] = ["wecom", "sms", "template_message", "subscribe_message", "webhook", "file"];

/** The shape of a section: what the loader accepts (the channel rules come later). */
type Shape =
  /** A Handlebars string (numbers are accepted and read as text). */
  | { t: "text" }
  /** SMS body: `${var}` text, not Handlebars. */
  | { t: "body" }
  | { t: "bool" }
  | { t: "map"; keys: Record<string, Shape> }
  | { t: "list"; item: Shape }
  /** A mapping with any keys. */
  | { t: "dict"; value: Shape }
  /** Any JSON-like value; strings are Handlebars. */
  | { t: "json" };

const text: Shape = { t: "text" };
const map = (keys: Record<string, Shape>): Shape => ({ t: "map", keys });

const LINK = map({ title: text, url: text, picurl: text, desc: text });
const IMAGE = map({ media_id: text, pic_url: text });
const MINIPROGRAM = map({ title: text, pic_media_id: text, appid: text, page: text });
const MEDIA = map({ media_id: text });
const ATTACHMENT_OBJECTS = { link: LINK, image: IMAGE, miniprogram: MINIPROGRAM, video: MEDIA, file: MEDIA };

export const SECTION_SHAPES: Record<ContentKind, Shape> = {
  wecom: map({ text, attachments: { t: "list", item: map({ msgtype: text, ...ATTACHMENT_OBJECTS }) }, ...ATTACHMENT_OBJECTS }),
  sms: map({ sign: text, code: text, body: { t: "body" }, params: { t: "dict", value: text }, marketing: { t: "bool" } }),
  template_message: map({ template_id: text, url: text, miniprogram: map({ appid: text, pagepath: text }), data: { t: "dict", value: text } }),
  subscribe_message: map({ template_id: text, page: text, miniprogram_state: text, lang: text, data: { t: "dict", value: text } }),
  webhook: { t: "dict", value: { t: "json" } },
  file: { t: "dict", value: { t: "json" } },
};

export interface LoadedTemplates {
  templates: Map<string, Template>;
  diagnostics: Diagnostic[];
}

/**
 * Reads `templates/*.yaml` (and `.yml`) under `root`, or only the named ones. A missing templates/ folder is
 * not an error (the checker reports templates a campaign names but that do not exist).
 */
export async function loadTemplates(root: string, names?: string[], channelKinds?: ReadonlyMap<string, ContentKind>): Promise<LoadedTemplates> {
  const dir = path.join(root, "templates");
  const out: LoadedTemplates = { templates: new Map(), diagnostics: [] };
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return out;
  }
  const wanted = names ? new Set(names) : undefined;
  const files = entries.filter((f) => !wanted || wanted.has(f.replace(/\.ya?ml$/, "")));
  const texts = await Promise.all(
    files.map(async (f) => {
      try {
        return { f, text: await readFile(path.join(dir, f), "utf8") };
      } catch (e) {
        return { f, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
      }
    }),
  );
  const fileOf = new Map<string, string>();
  for (const r of texts) {
    const name = r.f.replace(/\.ya?ml$/, "");
    const file = `templates/${r.f}`;
    if (r.error !== undefined) {
      out.diagnostics.push(diag(M.contentReadError, pointAt(file), [file, r.error]));
      continue;
    }
    const prev = fileOf.get(name);
    if (prev) {
      out.diagnostics.push(diag(M.contentDuplicateTemplate, pointAt(file), [name, prev, file]));
      continue;
    }
    fileOf.set(name, file);
    const parsed = parseTemplate(r.text!, file, name, channelKinds);
    out.diagnostics.push(...parsed.diagnostics);
    out.templates.set(name, parsed.template);
  }
  return out;
}

function pointAt(file: string): Span {
  return { file, start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
}

/**
 * Parses one template file's text. Always returns a Template (possibly without sections) and diagnostics.
 * `channelKinds` (channel name → its driver's content kind) allows sections keyed by a channel name.
 */
export function parseTemplate(
  source: string,
  file: string,
  name: string,
  channelKinds?: ReadonlyMap<string, ContentKind>,
): { template: Template; diagnostics: Diagnostic[] } {
  const reader = new TemplateReader(source, file, name, channelKinds);
  return reader.read();
}

class TemplateReader {
  private lc!: LineCounter;
  private readonly diagnostics: Diagnostic[] = [];
  private readonly spans = new Map<string, Span>();
  private readonly template: Template;
  private doc!: Document.Parsed;

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly name: string,
    private readonly channelKinds?: ReadonlyMap<string, ContentKind>,
  ) {
    this.template = { name, file, sections: new Map(), variables: [] };
  }

  read(): { template: Template; diagnostics: Diagnostic[] } {
    const parsed = parseYaml(this.text, this.file);
    this.doc = parsed.doc;
    this.lc = parsed.lineCounter;
    for (const e of parsed.errors) {
      // YAML forbids tabs in indentation; a tab typed by habit gives one error at the tab, with the fix.
      const tab = e.code === "TAB_AS_INDENT";
      this.report(
        M.contentYamlSyntax,
        this.span(e.pos[0], e.pos[1]),
        [e.message],
        tab ? { help: "indent with spaces: YAML does not allow a tab in indentation" } : {},
      );
    }
    for (const w of parsed.warnings) this.report(M.contentYamlWarning, this.span(w.pos[0], w.pos[1]), [w.message]);
    if (parsed.errors.length) {
      // What the parser recovered from a broken file is guesswork: everything reported from it would cascade.
      this.template.failed = true;
      return { template: this.template, diagnostics: this.diagnostics };
    }
    const top = this.resolve(this.doc.contents);
    if (top === null || (isScalar(top) && (top.value === null || top.value === undefined))) {
      this.report(M.contentNoSections, pointAt(this.file), [this.name]);
    } else if (!isMap(top)) {
      this.report(M.contentNotMapping, this.nodeSpan(top), [this.name, describe(top)]);
    } else {
      for (const pair of top.items) {
        const key = this.resolve(pair.key as Node);
        if (!key || !isScalar(key)) continue;
        const kindName = String(key.value);
        const keySpan = this.nodeSpan(key);
        // A driver kind, or a channel's own section (read by that channel instead of its kind's section).
        const isKind = (CONTENT_KINDS as readonly string[]).includes(kindName);
        const kind = isKind ? (kindName as ContentKind) : this.channelKinds?.get(kindName);
        if (kind === undefined) {
          const names = [...CONTENT_KINDS, ...(this.channelKinds?.keys() ?? [])];
          const dym = didYouMean(kindName, names);
          this.report(M.contentUnknownSection, keySpan, [kindName, this.name], dym ? { help: dym } : {});
          continue;
        }
        const sectionKey = isKind ? kind : kindName;
        const value = this.resolve(pair.value as Node);
        const shape = SECTION_SHAPES[kind];
        if (!value || (isScalar(value) && (value.value === null || value.value === undefined)) || !isMap(value)) {
          this.report(M.contentWrongType, value ? this.nodeSpan(value) : keySpan, [sectionKey, "a mapping", value ? describe(value) : "nothing"]);
          continue;
        }
        this.visit(value, "", shape, sectionKey);
        let raw: Record<string, unknown> = {};
        try {
          raw = (value.toJS(this.doc) ?? {}) as Record<string, unknown>;
        } catch {
          /* reported as a YAML error */
        }
        const section: TemplateSection = { kind, span: keySpan, raw };
        this.template.sections.set(sectionKey, section);
      }
      if (!top.items.length) this.report(M.contentNoSections, pointAt(this.file), [this.name]);
    }
    setFieldSpans(this.template, this.spans);
    return { template: this.template, diagnostics: this.diagnostics };
  }

  // ---------------------------------------------------------------------------------------------- walking

  /** `kind` is the section key (a driver kind or a channel name): it prefixes field spans and tags variables. */
  private visit(node: Node | null, p: string, shape: Shape, kind: string): void {
    node = this.resolve(node);
    if (node === null) return;
    if (p) this.spans.set(`${kind}.${p}`, this.nodeSpan(node));
    const where = p ? `${kind}.${p}` : kind;
    const isNull = isScalar(node) && (node.value === null || node.value === undefined);
    if (isNull) return; // `key:` with nothing: the channel rules report required fields.
    switch (shape.t) {
      case "text":
      case "body":
        if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
          if (typeof node.value === "string" && shape.t === "text") this.handlebars(node, where, kind);
        } else this.wrong(node, where, "text");
        return;
      case "bool":
        if (!(isScalar(node) && typeof node.value === "boolean")) this.wrong(node, where, "true or false");
        return;
      case "map":
        if (!isMap(node)) return this.wrong(node, where, "a mapping");
        for (const pair of node.items) {
          const k = this.resolve(pair.key as Node);
          if (!k || !isScalar(k)) continue;
          const key = String(k.value);
          const sub = shape.keys[key];
          if (!sub) {
            const allowed = Object.keys(shape.keys);
            const dym = didYouMean(key, allowed);
            this.report(
              M.contentUnknownKey,
              this.nodeSpan(k),
              [key, where, allowed.join(", ")],
              dym ? { help: `${dym} (allowed keys: ${allowed.join(", ")})` } : {},
            );
            continue;
          }
          this.visit(pair.value as Node, p ? `${p}.${key}` : key, sub, kind);
        }
        return;
      case "dict":
        if (!isMap(node)) return this.wrong(node, where, "a mapping");
        for (const pair of node.items) {
          const k = this.resolve(pair.key as Node);
          if (!k || !isScalar(k)) continue;
          const key = String(k.value);
          this.visit(pair.value as Node, p ? `${p}.${key}` : key, shape.value, kind);
        }
        return;
      case "list":
        if (!isSeq(node)) return this.wrong(node, where, "a list");
        node.items.forEach((item, i) => this.visit(item as Node, `${p}.${i}`, shape.item, kind));
        return;
      case "json":
        if (isMap(node)) {
          for (const pair of node.items) {
            const k = this.resolve(pair.key as Node);
            if (!k || !isScalar(k)) continue;
            this.visit(pair.value as Node, `${p}.${String(k.value)}`, shape, kind);
          }
        } else if (isSeq(node)) node.items.forEach((item, i) => this.visit(item as Node, `${p}.${i}`, shape, kind));
        else if (isScalar(node) && typeof node.value === "string") this.handlebars(node, where, kind);
        return;
    }
  }

  /** Parses a text field as Handlebars: syntax errors, unknown helpers, partials; collects the variables. */
  private handlebars(node: Scalar, where: string, kind: string): void {
    const value = node.value as string;
    const a = analyze(value);
    if (a.constant) return;
    const offsets = scalarOffsets(this.text, node);
    const at = (loc: HbsLoc): Span => {
      const s = offsets(indexOfLoc(value, loc.start.line, loc.start.column));
      const e = offsets(indexOfLoc(value, loc.end.line, loc.end.column));
      return this.span(s, Math.max(s, e));
    };
    if (a.error) {
      const s = offsets(indexOfLoc(value, a.error.line, a.error.column));
      this.report(M.contentHandlebarsSyntax, this.span(s, s + 1), [where, a.error.message]);
      return;
    }
    for (const issue of a.issues) {
      if (issue.kind === "partial") this.report(M.contentPartial, at(issue.loc), [issue.name]);
      else if (issue.kind === "unknown") {
        const dym = didYouMean(issue.name, ["date", "yuan", "mask", "truncate", "default", "if", "unless", "each", "with", "lookup"]);
        this.report(M.contentUnknownHelper, at(issue.loc), [issue.name], dym ? { help: dym } : {});
      } else if (issue.found === 0 && VALUE_HELPERS.has(issue.name)) {
        this.report(M.contentHelperAsVariable, at(issue.loc), [issue.name]);
      } else {
        const takes = issue.min === issue.max ? `${issue.min} argument${issue.min === 1 ? "" : "s"}` : `${issue.min}–${issue.max} arguments`;
        this.report(M.contentHelperArity, at(issue.loc), [issue.name, takes, issue.found, issue.usage]);
      }
    }
    for (const v of a.variables) this.template.variables.push({ name: v.name, span: at(v.loc), kind });
  }

  private wrong(node: Node, where: string, expected: string): void {
    this.report(M.contentWrongType, this.nodeSpan(node), [where, expected, describe(node)]);
  }

  // ---------------------------------------------------------------------------------------------- positions

  private resolve(node: unknown): Node | null {
    let n = node;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    return (n ?? null) as Node | null;
  }

  private span(start: number, end: number): Span {
    const a = this.lc.linePos(start);
    const b = this.lc.linePos(Math.max(start, end));
    return { file: this.file, start: { line: a.line, column: a.col, offset: start }, end: { line: b.line, column: b.col, offset: Math.max(start, end) } };
  }

  private nodeSpan(node: Node): Span {
    const [s, e] = node.range ?? [0, 0];
    return this.span(s, e);
  }

  private report(def: MessageDef, span: Span, args: readonly (string | number)[], extra: { help?: string } = {}): void {
    this.diagnostics.push(diag(def, span, args, extra));
  }
}

/** Helpers that format a value: `{{date}}` alone reads as a call without its argument, never as a variable. */
const VALUE_HELPERS = new Set(["date", "yuan", "mask", "truncate", "default", "lookup"]);

function describe(node: Node): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return "nothing";
    if (typeof v === "string") return "a string";
    if (typeof v === "number" || typeof v === "bigint") return "a number";
    if (typeof v === "boolean") return "a boolean";
  }
  return "an unsupported value";
}
