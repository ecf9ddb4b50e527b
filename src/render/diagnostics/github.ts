import type { Diagnostic } from "../../diagnostics/types.js";
import type { RenderContext } from "./context.js";

/** GitHub Actions workflow commands: `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::message`. */
export function renderGithub(diags: readonly Diagnostic[], _ctx: RenderContext): string {
  return diags
    .map((d) => {
      const props = [
        `file=${escapeProperty(d.span.file)}`,
        `line=${d.span.start.line}`,
        `col=${d.span.start.column}`,
        `endLine=${d.span.end.line}`,
        `endColumn=${d.span.end.column}`,
        `title=${escapeProperty(d.code)}`,
      ].join(",");
      const text = d.help ? `${d.message} (${d.help})` : d.message;
      return `::${d.severity === "error" ? "error" : "warning"} ${props}::${escapeData(text)}\n`;
    })
    .join("");
}

// The escaping rules of the workflow-command format (actions/toolkit, command.ts).
export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}
