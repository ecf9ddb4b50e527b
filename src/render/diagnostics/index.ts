import type { Diagnostic } from "../../diagnostics/types.js";
import type { RenderContext } from "./context.js";
import { renderGithub } from "./github.js";
import { renderJson } from "./json.js";
import { renderPretty } from "./pretty.js";
import { renderSarif } from "./sarif.js";

export type DiagnosticFormat = "pretty" | "json" | "sarif" | "github";
export const DIAGNOSTIC_FORMATS: DiagnosticFormat[] = ["pretty", "json", "sarif", "github"];

/** Every `--format` is a pure function of the diagnostics (ESLint's formatters). */
export const renderers: Record<DiagnosticFormat, (d: readonly Diagnostic[], ctx: RenderContext) => string> = {
  pretty: renderPretty,
  json: renderJson,
  sarif: renderSarif,
  github: renderGithub,
};

/** Stable order: file, line, column, code. */
export function sortDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  return diags.sort(
    (a, b) =>
      (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : 0) ||
      a.span.start.line - b.span.start.line ||
      a.span.start.column - b.span.start.column ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

export type { RenderContext } from "./context.js";
