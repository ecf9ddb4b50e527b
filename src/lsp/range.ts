import type { Range } from "vscode-languageserver/node";
import type { Span } from "../diagnostics/span.js";

/**
 * A span → an LSP range. Spans are 1-based lines and columns in UTF-16 code units, counted after a leading BOM
 * is dropped; LSP counts 0-based in UTF-16 code units from the document's first character.
 */
export function toRange(span: Span, text?: string): Range {
  const bom = text?.charCodeAt(0) === 0xfeff ? 1 : 0;
  const pos = (p: Span["start"]) => ({ line: Math.max(0, p.line - 1), character: Math.max(0, p.column - 1 + (p.line === 1 ? bom : 0)) });
  return { start: pos(span.start), end: pos(span.end) };
}
