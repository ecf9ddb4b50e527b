/**
 * The one YAML reader of chuda.yaml, templates and campaign tests: `parseYaml` parses with source positions and
 * words syntax errors without quoting the file, and `YamlReader` is a cursor with typed reads of YAML nodes that
 * report mistakes as diagnostics with the exact line and column, recording the span of every key path it visits
 * (Project.spans). No message of either ever holds a value from the file: chuda.yaml may hold secrets.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type ErrorCode, type Node, type Pair } from "yaml";
import type { Pos, Span } from "../diagnostics/span.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import type { Diagnostic, MessageDef } from "../diagnostics/types.js";
import { MESSAGES } from "../diagnostics/messages/index.js";

/** One `key: value` of a mapping (or one item of a list, keyed by its index). */
export interface Entry {
  key: string;
  /** Dotted key path from the top: `channels.sms.driver`, `channels.wecom.quota.0`. */
  path: string;
  keySpan: Span;
  /** The value, aliases resolved; `null` when absent (`key:` with nothing after it). */
  node: Node | null;
  /** The value's span, or the key's when the value is absent. */
  span: Span;
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Each YAML syntax problem in words of our own: the parser's messages may quote the file (a tag, an escape). */
const YAML_PROBLEMS: Record<ErrorCode, string> = {
  ALIAS_PROPS: "an alias cannot have a tag or an anchor",
  BAD_ALIAS: "an alias (`*name`) that is not valid here",
  BAD_DIRECTIVE: "a `%` directive that is not valid",
  BAD_DQ_ESCAPE: "an invalid escape sequence in a double-quoted string",
  BAD_INDENT: "indentation that does not line up",
  BAD_PROP_ORDER: "a tag or an anchor in the wrong place",
  BAD_SCALAR_START: "a plain value that starts with a reserved character (quote the value)",
  BLOCK_AS_IMPLICIT_KEY: "a mapping nested on the line of its key (put it on the next lines, indented)",
  BLOCK_IN_FLOW: "a block value inside `[ ]` or `{ }`",
  DUPLICATE_KEY: "a key given twice",
  IMPOSSIBLE: "a value the YAML parser cannot read",
  KEY_OVER_1024_CHARS: "a key longer than 1024 characters",
  MISSING_CHAR: "a missing character (an unclosed quote or bracket, or a key without `:`)",
  MULTILINE_IMPLICIT_KEY: "a key that runs over more than one line (an unclosed quote, or a missing `:`)",
  MULTIPLE_ANCHORS: "a value with more than one anchor",
  MULTIPLE_DOCS: "more than one YAML document (`---`) in one file",
  MULTIPLE_TAGS: "a value with more than one tag",
  NON_STRING_KEY: "a key that is not text",
  RESOURCE_EXHAUSTION: "aliases that expand too far",
  TAB_AS_INDENT: "a tab in the indentation (YAML allows only spaces)",
  TAG_RESOLVE_FAILED: "a tag (`!name`) that is not supported",
  UNEXPECTED_TOKEN: "something unexpected here",
  BAD_COLLECTION_TYPE: "a tag that does not fit this kind of value",
};

/** A YAML syntax error or warning: where, and what in words that never quote the file. */
export interface YamlProblem {
  code: ErrorCode;
  message: string;
  /** Offsets in the text. */
  pos: [number, number];
}

export interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** A cursor over `doc` for the file. */
  reader: YamlReader;
  errors: YamlProblem[];
  warnings: YamlProblem[];
}

/** Parses YAML text with source positions (keys unique). A leading byte-order mark belongs to the file, not to YAML. */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const problem = (e: { code: ErrorCode; pos: [number, number] }): YamlProblem => ({
    code: e.code,
    message: YAML_PROBLEMS[e.code] ?? "invalid YAML",
    pos: e.pos,
  });
  return { doc, lineCounter, reader: new YamlReader(doc, lineCounter, text, file), errors: doc.errors.map(problem), warnings: doc.warnings.map(problem) };
}

export class YamlReader {
  readonly diagnostics: Diagnostic[] = [];
  readonly spans = new Map<string, Span>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
    private readonly text: string,
    readonly file: string,
  ) {}

  pos(offset: number): Pos {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col, offset };
  }

  span(start: number, end: number): Span {
    return { file: this.file, start: this.pos(start), end: this.pos(Math.max(start, end)) };
  }

  /** The span of a node's value (without trailing comments or newlines). */
  nodeSpan(node: Node): Span {
    const [start, end] = node.range ?? [0, 0];
    return this.span(start, end);
  }

  report(def: MessageDef, span: Span, args: readonly (string | number)[] = [], extra: Parameters<typeof diag>[3] = {}): void {
    this.diagnostics.push(diag(def, span, args, extra));
  }

  resolve(node: unknown): Node | null {
    let n = node;
    for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    if (n === null || n === undefined) return null;
    return n as Node;
  }

  isNull(node: Node | null): boolean {
    return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
  }

  /** What a node is, for "found …" in messages. Never includes the value itself (it might be a secret). */
  describe(node: Node | null): string {
    if (this.isNull(node)) return "nothing";
    if (isMap(node)) return "a mapping";
    if (isSeq(node)) return "a list";
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === "string") return "a string";
      if (typeof v === "number" || typeof v === "bigint") return "a number";
      if (typeof v === "boolean") return "a boolean";
      if (v instanceof Date) return "a date";
    }
    return "an unsupported value";
  }

  /** The text as written in the file, for plain (unquoted) scalars: `10:00` stays `10:00` under YAML 1.1 too. */
  sourceText(node: Node): string | undefined {
    if (!isScalar(node) || node.type !== Scalar.PLAIN || !node.range) return undefined;
    return this.text.slice(node.range[0], node.range[1]);
  }

  toJS(node: Node | null): unknown {
    return node === null ? null : node.toJS(this.doc);
  }

  private entryOf(key: string, path: string, keySpan: Span, value: unknown): Entry {
    const node = this.resolve(value);
    const span = node?.range && node.range[1] > node.range[0] ? this.nodeSpan(node) : keySpan;
    const collection = isMap(node) || isSeq(node);
    this.spans.set(path, collection ? keySpan : span);
    this.spans.set(`${path}:key`, keySpan);
    return { key, path, keySpan, node, span };
  }

  /**
   * The entries of a mapping. Reports keys outside `allowed` (with a "did you mean"), non-scalar keys,
   * and a value that is not a mapping. `null` (an empty section) gives no entries and no error.
   */
  mapping(e: Entry, allowed?: readonly string[]): Entry[] | undefined {
    if (this.isNull(e.node)) return [];
    if (!isMap(e.node)) {
      this.wrongType(e, "a mapping");
      return undefined;
    }
    const out: Entry[] = [];
    for (const pair of e.node.items as Pair<unknown, unknown>[]) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
        const span = keyNode ? this.nodeSpan(keyNode) : e.keySpan;
        this.report(MESSAGES.projectWrongType, span, [`a key in ${e.path || "chuda.yaml"}`, "a name", this.describe(keyNode)]);
        continue;
      }
      const key = String(keyNode.value);
      const keySpan = this.nodeSpan(keyNode);
      const path = e.path ? `${e.path}.${key}` : key;
      if (allowed && !allowed.includes(key)) {
        const help = didYouMean(key, allowed);
        this.report(
          MESSAGES.projectUnknownKey,
          keySpan,
          [key, e.path ? `\`${e.path}\`` : "chuda.yaml", allowed.map((k) => `\`${k}\``).join(", ")],
          help ? { help } : {},
        );
        continue;
      }
      out.push(this.entryOf(key, path, keySpan, pair.value));
    }
    return out;
  }

  /** The items of a list; reports a value that is not a list. */
  list(e: Entry, expected = "a list"): Entry[] | undefined {
    if (!isSeq(e.node)) {
      this.wrongType(e, expected);
      return undefined;
    }
    return e.node.items.map((item, i) => {
      const node = this.resolve(item);
      const span = node?.range ? this.nodeSpan(node) : e.span;
      return this.entryOf(String(i), `${e.path}.${i}`, span, item);
    });
  }

  wrongType(e: Entry, expected: string): void {
    this.report(MESSAGES.projectWrongType, e.span, [e.path, expected, this.describe(e.node)]);
  }

  missing(key: string, parent: Entry): void {
    this.report(MESSAGES.projectMissingKey, parent.keySpan, [key, parent.path ? `\`${parent.path}\`` : "chuda.yaml"]);
  }

  str(e: Entry, expected = "a string"): string | undefined {
    if (isScalar(e.node) && typeof e.node.value === "string") return e.node.value;
    this.wrongType(e, expected);
    return undefined;
  }

  num(e: Entry, expected = "a number"): number | undefined {
    if (isScalar(e.node) && typeof e.node.value === "number" && Number.isFinite(e.node.value)) return e.node.value;
    this.wrongType(e, expected);
    return undefined;
  }
}
