import type { Diagnostic } from "../../diagnostics/types.js";
import type { RenderContext } from "./context.js";

/**
 * The `--format json` contract that CI scripts read:
 * {"diagnostics":[{"file","line","column","endLine","endColumn","severity","code","message","help"}],"errors","warnings","files"}
 */
export function diagnosticsJson(diags: readonly Diagnostic[], ctx: Pick<RenderContext, "files">) {
  return {
    diagnostics: diags.map((d) => ({
      file: d.span.file,
      line: d.span.start.line,
      column: d.span.start.column,
      endLine: d.span.end.line,
      endColumn: d.span.end.column,
      severity: d.severity,
      code: d.code,
      message: d.message,
      help: d.help ?? null,
    })),
    errors: diags.filter((d) => d.severity === "error").length,
    warnings: diags.filter((d) => d.severity === "warning").length,
    files: ctx.files,
  };
}

export function renderJson(diags: readonly Diagnostic[], ctx: RenderContext): string {
  return JSON.stringify(diagnosticsJson(diags, ctx), null, 2) + "\n";
}
