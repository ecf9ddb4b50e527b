/**
 * Text → AST + diagnostics: lex, parse with recovery, build the AST. Never throws on user input.
 * The lexer, the parser and the AST builder are module singletons (building them is the slow part).
 */
import { EOF, type IRecognitionException, type IToken } from "chevrotain";
import type * as A from "./ast.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { languageMessages } from "../diagnostics/messages/language.js";
import { LineIndex, type Span } from "../diagnostics/span.js";
import { lex, KEYWORDS, Identifier, RCurly, Campaign, Segment, StringLiteral, TimeLiteral, type LexResult } from "./lexer.js";
import { describeWideRun } from "./wide-chars.js";
import { eventForAlias } from "../calendar/aliases.js";
import { parser } from "./parser.js";
import { decodeProblem, describeFound, type SyntaxProblem } from "./syntax-messages.js";
import { astBuilder } from "./to-ast.js";
import { findTooDeep, MAX_EXPRESSION_DEPTH, MAX_NESTING } from "./limits.js";

/** Tokens that are safe points to resume at: when one is found where something else was expected, the thing is missing before it. */
const CLAUSE_STARTS = new Set(["Audience", "Trigger", "Content", "Channel", "Goal", "Priority", "Holdout", "Repeat", "Active", "Send", "Limit", "Budget"]);

function isResyncPoint(t: IToken): boolean {
  const tt = t.tokenType;
  return tt === EOF || tt === RCurly || tt === Campaign || tt === Segment || CLAUSE_STARTS.has(tt.name);
}

function isReal(t: IToken | undefined): t is IToken {
  return !!t && t.tokenType !== EOF && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

const CLAUSE_WORDS = [...CLAUSE_STARTS].map((n) => n.toLowerCase());
const ALL_WORDS = [...KEYWORDS.keys()];

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function lexDiagnostics(r: LexResult, text: string, file: string, lines: LineIndex): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of r.errors) {
    const found = text.slice(e.offset, e.offset + e.length);
    // One diagnostic per run of unexpected characters, showing the first few.
    const span = lines.span(file, e.offset, e.offset + e.length);
    const wide = describeWideRun(found);
    if (wide) {
      const help = wide.ascii === " " ? "type a plain space instead" : `type the ASCII \`${wide.ascii}\` instead`;
      out.push(diag(languageMessages.wideCharacter, span, [wide.what], { help }));
      continue;
    }
    const shown = [...found].length > 8 ? `${[...found].slice(0, 8).join("")}…` : found;
    const alias = eventForAlias(found);
    const help = alias ? `\`${found}\` is the built-in event \`${alias}\`: write \`${alias}\`` : undefined;
    out.push(diag(languageMessages.unexpectedCharacter, span, [shown.replace(/\s+/g, " ")], help ? { help } : {}));
  }
  for (const t of r.unterminated) out.push(diag(languageMessages.unterminatedString, lines.span(file, t.startOffset, t.startOffset + t.image.length)));
  return out;
}

function parseDiagnostics(errors: IRecognitionException[], text: string, file: string, lines: LineIndex): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<number>();
  for (const e of errors) {
    const t = e.token;
    const prev = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
    let span: Span;
    if (!isReal(t) || (isResyncPoint(t) && isReal(prev) && lines.pos(t.startOffset).line > lines.pos(prev.startOffset).line)) {
      // Something is missing: point just after what came before it.
      const at = isReal(prev) ? prev.startOffset + prev.image.length : isReal(t) ? t.startOffset : text.length;
      span = lines.span(file, at, at);
    } else {
      span = lines.span(file, t.startOffset, t.startOffset + t.image.length);
    }
    if (seen.has(span.start.offset)) continue;
    seen.add(span.start.offset);
    const problem = decodeProblem(e.message, t);
    let help = commonMistake(t, prev, problem);
    if (!help && isReal(t) && t.tokenType === Identifier && t.image.length >= 4) {
      help = didYouMean(t.image, problem.clause ? CLAUSE_WORDS : ALL_WORDS);
    }
    out.push(diag(languageMessages[problem.kind], span, problem.args, help ? { help } : {}));
    // In-repetition recovery skips up to the next clause keyword in one go: a second unknown clause word on a
    // later line in the skipped stretch is a mistake of its own, so report it too.
    if (problem.clause && isReal(t)) {
      let line = lines.pos(t.startOffset).line;
      for (const r of e.resyncedTokens ?? []) {
        if (!isReal(r)) continue;
        const l = lines.pos(r.startOffset).line;
        if (l > line && r.tokenType === Identifier && /^[ \t]*$/.test(text.slice(text.lastIndexOf("\n", r.startOffset - 1) + 1, r.startOffset))) {
          const h = r.image.length >= 4 ? didYouMean(r.image, CLAUSE_WORDS) : undefined;
          out.push(
            diag(languageMessages.clauseExpected, lines.span(file, r.startOffset, r.startOffset + r.image.length), [describeFound(r)], h ? { help: h } : {}),
          );
        }
        line = l;
      }
    }
  }
  return out;
}

/** Help for the syntax errors authors make most, which say exactly what to type. */
function commonMistake(t: IToken, prev: IToken | undefined, problem: SyntaxProblem): string | undefined {
  if (!isReal(t)) return undefined;
  // `goal redeem BDAY`: a coupon code is text, and text goes in quotes.
  if (isReal(prev) && (prev.image === "redeem" || prev.image === "event") && problem.expected.includes(StringLiteral.name)) {
    return `the ${prev.image === "redeem" ? "code" : "event name"} goes in double quotes: \`${prev.image} "${t.image}"\``;
  }
  // `every wednesday 10:00`: a time follows `at`.
  if (t.tokenType === TimeLiteral && isReal(prev) && prev.image !== "at") return `a time follows \`at\`: write \`at ${t.image}\``;
  return undefined;
}

/** A syntax error on a line that already has an unexpected character is most likely its consequence. */
function withoutCascades(parse: Diagnostic[], lexical: Diagnostic[]): Diagnostic[] {
  const codes = new Set([languageMessages.unexpectedCharacter.code, languageMessages.wideCharacter.code]);
  const lines = new Set(lexical.filter((d) => codes.has(d.code)).map((d) => d.span.start.line));
  return parse.filter((d) => !lines.has(d.span.start.line));
}

function sortDiagnostics(d: Diagnostic[]): Diagnostic[] {
  return d.sort((a, b) => a.span.start.offset - b.span.start.offset);
}

/** A diagnostic when an expression is too deep to parse or walk safely (then the parser must not run). */
function depthDiagnostic(r: LexResult, file: string, lines: LineIndex): Diagnostic | undefined {
  const p = findTooDeep(r.tokens);
  if (!p) return undefined;
  const span = lines.span(file, p.startOffset, p.endOffset);
  return p.kind === "nesting"
    ? diag(languageMessages.nestedTooDeep, span, [p.depth, MAX_NESTING])
    : diag(languageMessages.expressionTooDeep, span, [p.depth, MAX_EXPRESSION_DEPTH]);
}

export function parseFile(text: string, file: string): { ast: A.FileNode; diagnostics: Diagnostic[] } {
  text = stripBom(text);
  const lines = new LineIndex(text);
  const r = lex(text);
  const diagnostics = lexDiagnostics(r, text, file, lines);
  const tooDeep = depthDiagnostic(r, file, lines);
  if (tooDeep) {
    diagnostics.push(tooDeep);
    const comments: A.Comment[] = [];
    return { ast: { kind: "file", items: [], comments, span: lines.span(file, 0, text.length) }, diagnostics: sortDiagnostics(diagnostics) };
  }
  parser.input = r.tokens;
  const cst = parser.file();
  for (const d of withoutCascades(parseDiagnostics(parser.errors, text, file, lines), diagnostics)) diagnostics.push(d);
  astBuilder.reset(file, lines, r.unterminated);
  const items = (astBuilder.visit(cst) as A.Item[] | undefined) ?? [];
  for (const d of astBuilder.diagnostics) diagnostics.push(d);
  const comments: A.Comment[] = r.comments.map((c) => ({ text: c.image, span: lines.span(file, c.startOffset, c.startOffset + c.image.length) }));
  return { ast: { kind: "file", items, comments, span: lines.span(file, 0, text.length) }, diagnostics: sortDiagnostics(diagnostics) };
}

function shiftPos(p: A.Node["span"]["start"], base: Span): A.Node["span"]["start"] {
  return p.line === 1
    ? { line: base.start.line, column: base.start.column + p.column - 1, offset: base.start.offset + p.offset }
    : { line: base.start.line + p.line - 1, column: p.column, offset: base.start.offset + p.offset };
}

/** Moves every span in `value` (an AST or diagnostics) so that offset 0 of the parsed text sits at `base.start`. */
function shiftSpans(value: unknown, base: Span, seen = new Set<object>()): void {
  if (!value || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const v of value) shiftSpans(v, base, seen);
    return;
  }
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if ((k === "span" || k === "context") && v && typeof v === "object" && "start" in v) {
      const s = v as Span;
      o[k] = { file: base.file, start: shiftPos(s.start, base), end: shiftPos(s.end, base) };
    } else shiftSpans(v, base, seen);
  }
}

/**
 * Parses one expression (`policy.exclude` of chuda.yaml). With `base`, spans point into the file of `base`:
 * the expression's first character is at `base.start`.
 */
export function parseExpression(text: string, file: string, base?: Span): { expr?: A.Expr; diagnostics: Diagnostic[] } {
  const lines = new LineIndex(text);
  const r = lex(text);
  const diagnostics = lexDiagnostics(r, text, file, lines);
  const tooDeep = depthDiagnostic(r, file, lines);
  if (tooDeep) {
    const result = { diagnostics: sortDiagnostics([...diagnostics, tooDeep]) };
    if (base) shiftSpans(result, base);
    return result;
  }
  parser.input = r.tokens;
  const cst = parser.expression();
  diagnostics.push(...withoutCascades(parseDiagnostics(parser.errors, text, file, lines), diagnostics));
  astBuilder.reset(file, lines, r.unterminated);
  const expr = astBuilder.visit(cst, cst) as A.Expr | undefined;
  diagnostics.push(...astBuilder.diagnostics);
  if (!expr && diagnostics.length === 0) {
    diagnostics.push(diag(languageMessages.emptyExpression, lines.span(file, 0, text.length)));
  }
  const result: { expr?: A.Expr; diagnostics: Diagnostic[] } = { diagnostics: sortDiagnostics(diagnostics) };
  if (expr) result.expr = expr;
  if (base) shiftSpans(result, base);
  return result;
}
