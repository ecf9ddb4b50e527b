/**
 * A cursor over a parsed chuda.yaml: typed reads of YAML nodes that report mistakes as diagnostics with the
 * exact line and column, and record the span of every key path it visits (Project.spans).
 */
import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type LineCounter, type Node, type Pair } from "yaml";
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
