/**
 * Semantic tokens: what the TextMate grammar cannot know — whether a name is a member field, a segment, an enum
 * value, a channel, a calendar event or a function — from the lexer's tokens and the project.
 */
import type { IToken } from "chevrotain";
import { isBuiltinEvent } from "../calendar/events.js";
import { KEYWORDS, lex } from "../language/lexer.js";
import type { Analysis } from "./analysis.js";

export const TOKEN_TYPES = [
  "keyword",
  "string",
  "number",
  "comment",
  "operator",
  "property",
  "variable",
  "enumMember",
  "namespace",
  "event",
  "function",
] as const;
type TokenTypeName = (typeof TOKEN_TYPES)[number];
const INDEX = new Map<string, number>(TOKEN_TYPES.map((t, i) => [t, i]));
const KEYWORD_TYPES = new Set(KEYWORDS.values());
const FUNCTIONS = new Set(["days_since", "days_until", "years_since", "month", "day", "weekday", "len", "lower"]);

/** The LSP encoding: per token, [line delta, start delta, length, type, modifiers]. */
export function semanticTokens(a: Analysis, text: string): number[] {
  const { tokens, comments } = lex(text);
  const all = [...tokens, ...comments].sort((x, y) => x.startOffset - y.startOffset);
  const enumValues = new Set<string>();
  for (const t of a.project?.members.fields.values() ?? []) if (t.kind === "enum") for (const v of t.values) enumValues.add(v);
  const segments = new Set<string>();
  for (const f of a.files) for (const item of f.ast.items) if (item.kind === "segment") segments.add(item.name.name);
  const out: number[] = [];
  let line = 0;
  let lineStart = 0;
  let scanned = 0;
  let prevLine = 0;
  let prevChar = 0;
  const lineAt = (offset: number) => {
    for (; scanned < offset; scanned++) {
      if (text.charCodeAt(scanned) !== 10) continue;
      line++;
      lineStart = scanned + 1;
    }
  };
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!;
    const type = classify(t, all[i + 1], a, { enumValues, segments });
    if (!type) continue;
    lineAt(t.startOffset);
    // A token never spans lines here (strings stop at a line end); comments neither.
    const char = t.startOffset - lineStart;
    out.push(line - prevLine, line === prevLine ? char - prevChar : char, t.image.length, INDEX.get(type)!, 0);
    prevLine = line;
    prevChar = char;
  }
  return out;
}

function classify(t: IToken, next: IToken | undefined, a: Analysis, names: { enumValues: Set<string>; segments: Set<string> }): TokenTypeName | undefined {
  const name = t.tokenType.name;
  if (name === "Comment") return "comment";
  if (name === "StringLiteral") return "string";
  if (/Literal$/.test(name)) return "number";
  if (KEYWORD_TYPES.has(t.tokenType)) return "keyword";
  if (name !== "Identifier") return /^(Eq|NotEq|LtEq|GtEq|Lt|Gt|Plus|Minus|Assign)$/.test(name) ? "operator" : undefined;
  const word = t.image;
  if (FUNCTIONS.has(word) && next?.image === "(") return "function";
  if (a.project?.members.fields.has(word)) return "property";
  if (names.segments.has(word)) return "variable";
  if (a.project?.channels.has(word)) return "namespace";
  if (a.project?.calendar.has(word) || isBuiltinEvent(word)) return "event";
  if (names.enumValues.has(word)) return "enumMember";
  return undefined;
}
