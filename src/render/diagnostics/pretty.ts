import type { Diagnostic } from "../../diagnostics/types.js";
import { LineIndex } from "../../diagnostics/span.js";
import { displayWidth, makeStyle } from "../style.js";
import type { RenderContext } from "./context.js";
import { showInvisible } from "../../diagnostics/escape.js";

/** Characters of a source line shown around a span: a minified or garbage line is not printed whole. */
const FRAME_BEFORE = 40;
const FRAME_WIDTH = 120;

/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/g;
/** `password=…` of a libpq string or a URL's query, up to a space, `&`, a quote or a bracket. */
const PASSWORD_PARAM = /\b((?:password|passwd|pwd)\s*=\s*)(?:'[^']*'?|"[^"]*"?|[^\s&"',}\]]+)/gi;

/**
 * Human output: `file:line:col error CODE message`, a code frame with the line and a caret under the span,
 * the help line, then a summary.
 */
export function renderPretty(diags: readonly Diagnostic[], ctx: RenderContext): string {
  const s = makeStyle(ctx.color);
  const indexes = new Map<string, LineIndex>();
  const out: string[] = [];
  for (const d of diags) {
    const sev = d.severity === "error" ? s.red(s.bold("error")) : s.yellow(s.bold("warning"));
    out.push(`${s.cyan(`${d.span.file}:${d.span.start.line}:${d.span.start.column}`)} ${sev} ${s.dim(d.code)} ${d.message}`);
    const src = ctx.sources.get(d.span.file);
    if (src !== undefined) {
      let idx = indexes.get(d.span.file);
      if (!idx) indexes.set(d.span.file, (idx = new LineIndex(src)));
      const lineNo = d.span.start.line;
      // A URL's password written into a file (a mistake reported right here) is not echoed into logs.
      const chars = [...idx.lineText(lineNo).replace(/\t/g, " ").replace(URL_PASSWORD, "$1***@").replace(PASSWORD_PARAM, "$1***")];
      const gutter = String(lineNo).length;
      const startCol = Math.min(d.span.start.column, chars.length + 1);
      const endCol = d.span.end.line === lineNo ? d.span.end.column : chars.length + 1;
      // A window of the line around the span's start, with `…` where it is cut; invisible characters by code point.
      const from = Math.max(0, startCol - 1 - FRAME_BEFORE);
      const to = Math.min(chars.length, from + FRAME_WIDTH);
      const lead = from > 0 ? "…" : "";
      const tail = to < chars.length ? "…" : "";
      const before = lead + maskUrlPasswords(showInvisible(chars.slice(from, startCol - 1).join("")));
      const under = maskUrlPasswords(showInvisible(chars.slice(startCol - 1, Math.min(to, Math.max(endCol - 1, startCol))).join(""))) || " ";
      const caret = "^".repeat(Math.max(1, displayWidth(under)));
      const text = lead + maskUrlPasswords(showInvisible(chars.slice(from, to).join(""))) + tail;
      out.push(`${s.dim(`${lineNo} |`)} ${text}`);
      out.push(`${s.dim(`${" ".repeat(gutter)} |`)} ${" ".repeat(displayWidth(before))}${d.severity === "error" ? s.red(caret) : s.yellow(caret)}`);
    }
    if (d.help) out.push(`${s.dim("  = help:")} ${d.help}`);
    for (const r of d.related ?? []) out.push(`${s.dim("  = note:")} ${r.message} (${r.span.file}:${r.span.start.line}:${r.span.start.column})`);
    out.push("");
  }
  const errors = diags.filter((d) => d.severity === "error").length;
  const warnings = diags.length - errors;
  const summary = `${ctx.files} file${ctx.files === 1 ? "" : "s"} checked: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  out.push(errors ? s.red(summary) : warnings ? s.yellow(summary) : s.green(summary));
  return out.join("\n") + "\n";
}

/** A URL's password in a quoted source line (`postgres://user:PASSWORD@host`) is shown as `***`: output lands in CI logs. */
function maskUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi, "$1:***@");
}
