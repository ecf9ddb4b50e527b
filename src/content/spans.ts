/**
 * Where each field of a loaded template is, for diagnostics that point into templates/<name>.yaml. Kept
 * beside the Template (whose shape is shared) rather than in it; a Template built elsewhere (tests) simply
 * has no field spans and its diagnostics point at the section.
 */
import type { Span } from "../diagnostics/span.js";
import type { Template } from "./types.js";

const FIELD_SPANS = new WeakMap<Template, Map<string, Span>>();

export function setFieldSpans(t: Template, spans: Map<string, Span>): void {
  FIELD_SPANS.set(t, spans);
}

/**
 * The span of `path` (`params.name`, `attachments.0.link.title`) in a section; the nearest enclosing field's
 * span when the field is absent; the section's span at worst.
 */
export function fieldSpan(t: Template, kind: string, path: string): Span {
  const spans = FIELD_SPANS.get(t);
  let p = path;
  while (spans && p) {
    const s = spans.get(`${kind}.${p}`);
    if (s) return s;
    const dot = p.lastIndexOf(".");
    p = dot < 0 ? "" : p.slice(0, dot);
  }
  return t.sections.get(kind)?.span ?? { file: t.file, start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } };
}
