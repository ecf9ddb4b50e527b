/**
 * What a Handlebars source reads and calls, from its AST: the top-level variables (for the checker), helper
 * calls (unknown helpers, wrong argument counts), partials, and the text that is always present (for static
 * length checks).
 */
import type { hbs as Hbs } from "./helpers.js";
import { BUILTIN_HELPERS, CONTEXT_KEEPING_HELPERS, HELPERS, hbs } from "./helpers.js";

type AST = ReturnType<typeof Hbs.parse>;
type Node = { type: string; loc?: HbsLoc } & Record<string, unknown>;

/** Handlebars locations: 1-based lines, 0-based columns, within the source string. */
export interface HbsLoc {
  start: { line: number; column: number };
  end: { line: number; column: number };
}

export type HelperIssue =
  | { kind: "unknown"; name: string; loc: HbsLoc }
  | { kind: "arity"; name: string; loc: HbsLoc; found: number; min: number; max: number; usage: string }
  | { kind: "partial"; name: string; loc: HbsLoc };

export interface Analysis {
  /** A parse error, with the (1-based) line and (0-based) column within the source when known. */
  error?: { message: string; line: number; column: number };
  variables: { name: string; loc: HbsLoc }[];
  issues: HelperIssue[];
  /** The top-level text outside any `{{…}}` or block: present in every rendering. */
  literal: string;
  /** True when the source has no `{{…}}` at all. */
  constant: boolean;
}

const BUILTIN_ARITY: Record<string, { min: number; max: number; usage: string }> = {
  if: { min: 1, max: 1, usage: "{{#if x}}…{{/if}}" },
  unless: { min: 1, max: 1, usage: "{{#unless x}}…{{/unless}}" },
  each: { min: 1, max: 1, usage: "{{#each list}}…{{/each}}" },
  with: { min: 1, max: 1, usage: "{{#with x}}…{{/with}}" },
  lookup: { min: 2, max: 2, usage: "{{lookup map key}}" },
};

/**
 * Analyses of sources seen before: the checker asks once per campaign using a template (a thousand campaigns
 * re-parse the same few texts), and the language server re-checks the project on every edit. Results are read-only.
 */
const MEMO = new Map<string, Analysis>();
const MEMO_MAX = 5000;

/** Parses and analyses one text field. Never throws. */
export function analyze(source: string): Analysis {
  const known = MEMO.get(source);
  if (known) return known;
  const a = analyzeSource(source);
  if (MEMO.size >= MEMO_MAX) MEMO.clear();
  MEMO.set(source, a);
  return a;
}

function analyzeSource(source: string): Analysis {
  if (!source.includes("{{")) return { variables: [], issues: [], literal: source, constant: true };
  let ast: AST;
  try {
    ast = hbs.parse(source);
  } catch (e) {
    return { error: parseError(e), variables: [], issues: [], literal: "", constant: false };
  }
  const out: Analysis = { variables: [], issues: [], literal: "", constant: false };
  for (const st of ast.body as unknown as Node[]) if (st.type === "ContentStatement") out.literal += String(st.value ?? "");
  walkProgram(ast as unknown as Node, { contexts: 0, blockParams: [] }, out);
  return out;
}

function parseError(e: unknown): { message: string; line: number; column: number } {
  const err = e as Error & { lineNumber?: number; column?: number };
  const text = String(err.message ?? e);
  if (typeof err.lineNumber === "number") {
    return { message: text.replace(/\s*-\s*\d+:\d+$/, ""), line: err.lineNumber, column: err.column ?? 0 };
  }
  const m = /on line (\d+)/.exec(text);
  const lines = text.split("\n");
  const last = lines[lines.length - 1] ?? text;
  return { message: m ? last : text, line: m ? Number(m[1]) : 1, column: 0 };
}

interface Scope {
  /** How many enclosing blocks changed the context (`each`, `with`, a variable section). */
  contexts: number;
  blockParams: string[];
}

function walkProgram(program: Node | undefined, scope: Scope, out: Analysis): void {
  if (!program) return;
  const body = (program.body as Node[] | undefined) ?? [];
  for (const st of body) walkStatement(st, scope, out);
}

function walkStatement(st: Node, scope: Scope, out: Analysis): void {
  switch (st.type) {
    case "MustacheStatement":
    case "SubExpression":
      callOrRead(st, scope, out, false);
      return;
    case "BlockStatement": {
      const changes = callOrRead(st, scope, out, true);
      const params = ((st.program as Node | undefined)?.blockParams as string[] | undefined) ?? [];
      const inner: Scope = { contexts: scope.contexts + (changes ? 1 : 0), blockParams: [...scope.blockParams, ...params] };
      walkProgram(st.program as Node | undefined, inner, out);
      // `{{else}}` of `each`/`with` runs in the outer context.
      walkProgram(st.inverse as Node | undefined, scope, out);
      return;
    }
    case "PartialStatement":
    case "PartialBlockStatement": {
      const name = st.name as Node;
      out.issues.push({ kind: "partial", name: String(name.original ?? name.value ?? ""), loc: st.loc ?? (name.loc as HbsLoc) });
      return;
    }
    default:
      return;
  }
}

/**
 * A mustache, block or sub-expression: a helper call (its arguments are read) or a variable. Returns whether a
 * block changes the context of its body.
 */
function callOrRead(st: Node, scope: Scope, out: Analysis, block: boolean): boolean {
  const path = st.path as Node;
  const params = (st.params as Node[] | undefined) ?? [];
  const pairs = ((st.hash as Node | undefined)?.pairs as Node[] | undefined) ?? [];
  const name =
    path.type === "PathExpression" && !path.data && (path.parts as string[]).length === 1 && path.depth === 0 ? (path.parts as string[])[0]! : undefined;
  const isCall = params.length > 0 || pairs.length > 0 || st.type === "SubExpression" || (name !== undefined && (name in HELPERS || BUILTIN_HELPERS.has(name)));
  if (isCall) {
    if (name === undefined || !(name in HELPERS || BUILTIN_HELPERS.has(name) || name === "helperMissing")) {
      out.issues.push({ kind: "unknown", name: String(path.original ?? ""), loc: path.loc ?? st.loc! });
    } else {
      const ar = HELPERS[name] ?? BUILTIN_ARITY[name];
      if (ar && (params.length < ar.min || params.length > ar.max)) {
        out.issues.push({ kind: "arity", name, loc: path.loc ?? st.loc!, found: params.length, min: ar.min, max: ar.max, usage: ar.usage });
      }
    }
    for (const p of params) readExpr(p, scope, out);
    for (const pair of pairs) readExpr(pair.value as Node, scope, out);
    return block && (name === undefined || !CONTEXT_KEEPING_HELPERS.has(name));
  }
  readExpr(path, scope, out);
  return block;
}

function readExpr(e: Node, scope: Scope, out: Analysis): void {
  if (e.type === "SubExpression") {
    callOrRead(e, scope, out, false);
    return;
  }
  if (e.type !== "PathExpression") return;
  const parts = e.parts as string[];
  if (e.data) {
    if (parts[0] === "root" && parts.length > 1) out.variables.push({ name: parts[1]!, loc: e.loc! });
    return;
  }
  if (!parts.length) return;
  const depth = e.depth as number;
  if (depth === 0 && scope.blockParams.includes(parts[0]!)) return;
  if (depth < scope.contexts) return;
  out.variables.push({ name: parts[0]!, loc: e.loc! });
}
