import type { Span } from "./span.js";
import { format, type Diagnostic, type MessageDef, type RunDiagnostic } from "./types.js";
import { shortened, showInvisible } from "./escape.js";

/**
 * What a file's text puts into a message is shown safely: invisible characters by code point, and an argument (a
 * name or value) longer than 240 characters cut to 60 (a 1 MB identifier is not echoed). Arguments are cut, never
 * the message around them.
 */
const readable = (text: string): string => showInvisible(text);
const argument = (a: string | number): string | number => (typeof a === "string" && a.length > 240 ? shortened(a) : a);

/** Builds a Diagnostic from a table entry. `help` overrides the table's help template when given. */
export function diag(
  def: MessageDef,
  span: Span,
  args: readonly (string | number)[] = [],
  extra: { help?: string; context?: Span; related?: Diagnostic["related"]; severity?: Diagnostic["severity"] } = {},
): Diagnostic {
  const d: Diagnostic = { code: def.code, severity: extra.severity ?? def.severity, message: readable(format(def.message, args.map(argument))), span };
  const help = extra.help ?? (def.help ? format(def.help, args.map(argument)) : undefined);
  if (help) d.help = readable(help);
  if (extra.context) d.context = extra.context;
  if (extra.related) d.related = extra.related;
  return d;
}

/**
 * Builds a RunDiagnostic (no source location) from a table entry. `help` overrides the table's help template when
 * given. Arguments are whole (a list of the repository's campaigns is not cut); invisible characters are shown.
 */
export function runDiag(def: MessageDef, args: readonly (string | number)[] = [], extra: { help?: string } = {}): RunDiagnostic {
  const d: RunDiagnostic = { code: def.code, severity: def.severity, message: readable(format(def.message, args)) };
  const help = extra.help ?? (def.help ? format(def.help, args) : undefined);
  if (help) d.help = readable(help);
  return d;
}
