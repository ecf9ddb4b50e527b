/**
 * The language front end: `.chuda` text → AST (with every syntax error as a diagnostic), and AST → canonical text.
 *
 *   parseFile(text, file)              → { ast, diagnostics }
 *   parseExpression(text, file, base?) → { expr?, diagnostics }   (policy.exclude of chuda.yaml)
 *   formatFile(text, file)             → { text, diagnostics, changed }
 */
import type { Diagnostic } from "../diagnostics/types.js";
import { printFile } from "./format.js";
import { parseFile, stripBom } from "./parse.js";

export { parseFile, parseExpression } from "./parse.js";
export { printFile, printExpr, printClause, printTrigger, printGoal, printLiteral } from "./format.js";
export type * from "./ast.js";

/**
 * Formats a file in the canonical layout (see format.ts). With syntax errors it changes nothing and returns them.
 */
export function formatFile(text: string, file: string): { text: string; diagnostics: Diagnostic[]; changed: boolean } {
  const { ast, diagnostics } = parseFile(text, file);
  if (diagnostics.some((d) => d.severity === "error")) return { text, diagnostics, changed: false };
  const out = printFile(ast, stripBom(text));
  return { text: out, diagnostics, changed: out !== text };
}

/** A deep copy without `span` fields (for comparing ASTs in tests). */
export function stripSpans<T>(node: T): T {
  if (Array.isArray(node)) return node.map((n) => stripSpans(n)) as T;
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) if (k !== "span") out[k] = stripSpans(v);
    return out as T;
  }
  return node;
}
