/**
 * What the channel rules share: a finding (one broken rule, as data), how it becomes a ContentProblem (per
 * rendered message) or a Diagnostic (on the template file), and text measures.
 */
import { diag } from "../../diagnostics/diag.js";
import { format, type Diagnostic, type MessageDef } from "../../diagnostics/types.js";
import { fieldSpan } from "../spans.js";
import type { Template } from "../types.js";

/** A rule broken by one rendered message. The simulation counts them per `rule`. */
export interface ContentProblem {
  /** Stable id, e.g. `subscribe.thing.length`, `sms.param.length`, `wecom.text.bytes`. */
  rule: string;
  severity: "error" | "warning";
  /** The field within the section, e.g. `data.thing1`, `params.name`, `attachments.0.link.title`. */
  field: string;
  message: string;
}

export interface Finding {
  rule: string;
  field: string;
  def: MessageDef;
  args: (string | number)[];
  /** Overrides the table's severity. */
  severity?: "error" | "warning";
  help?: string;
}

export function finding(
  rule: string,
  field: string,
  def: MessageDef,
  args: (string | number)[] = [field],
  extra: { severity?: "error" | "warning"; help?: string } = {},
): Finding {
  return { rule, field, def, args, ...extra };
}

export function toProblem(f: Finding): ContentProblem {
  return { rule: f.rule, severity: f.severity ?? f.def.severity, field: f.field, message: format(f.def.message, f.args) };
}

export function toDiagnostic(f: Finding, template: Template, kind: string): Diagnostic {
  return diag(f.def, fieldSpan(template, kind, f.field), f.args, { ...(f.help ? { help: f.help } : {}), ...(f.severity ? { severity: f.severity } : {}) });
}

/** Characters as the providers count them: code points (a Chinese character, a letter, an emoji = 1). */
export function chars(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** UTF-8 bytes. */
export function bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

export const isHttpUrl = (s: string): boolean => /^https?:\/\/[^\s/?#]+/i.test(s.trim());

/** A link inside a value: a scheme, `www.`, or a bare domain with a common TLD. */
export const LINK_RE = /https?:\/\/|www\.|\b[a-z0-9-]+\.(?:com|cn|net|org|top|xyz|io|cc|me|vip|shop|info|link|site|club|ink)(?![a-z0-9])/i;

/** Control characters (line breaks included). */
export const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function asText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
