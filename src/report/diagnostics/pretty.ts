import type { Diagnostic } from "../../check/diagnostics/types.js";
import { LineIndex } from "../../language/span.js";
import { displayWidth, makeStyle } from "../style.js";
import type { RenderContext } from "./context.js";

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
      const text = idx.lineText(lineNo).replace(/\t/g, " ");
      const gutter = String(lineNo).length;
      const before = [...text].slice(0, d.span.start.column - 1).join("");
      const endCol = d.span.end.line === lineNo ? d.span.end.column : [...text].length + 1;
      const under = [...text].slice(d.span.start.column - 1, Math.max(endCol - 1, d.span.start.column)).join("");
      const caret = "^".repeat(Math.max(1, displayWidth(under)));
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
