import type { Span } from "./span.js";

export type Severity = "error" | "warning";

/** One problem in a user's files: plain data, rendered only by src/render. */
export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  help?: string;
  /** The exact thing that is wrong. */
  span: Span;
  /** The enclosing construct (a campaign, a clause), when useful for a code frame. */
  context?: Span;
  related?: { span: Span; message: string }[];
}

/** An entry of the message table: a stable code, a severity and a message template with {0}, {1} … slots. */
export interface MessageDef {
  code: string;
  severity: Severity;
  message: string;
  /** Optional help template, same slots as the message. */
  help?: string;
  /** One-line description, used as the SARIF rule description. */
  description: string;
}

export function format(template: string, args: readonly (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i)] ?? ""));
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}

/**
 * A problem of the run rather than of a file: a path that does not exist, a lock held, a flag's bad value, missing
 * credentials. It has no source location; the renderers show it beside the file diagnostics in every format.
 */
export interface RunDiagnostic {
  code: string;
  severity: Severity;
  message: string;
  help?: string;
}
