/** A template field as the static rules see it: constant text, or Handlebars with the text it always contains. */
import { analyze } from "../hbs-ast.js";
import { asText } from "./common.js";

export interface FieldText {
  source: string;
  /** No `{{…}}`: the value is exactly `literal` for every member. */
  constant: boolean;
  /** The text outside `{{…}}` at the top level: present in every rendering. */
  literal: string;
  /** The source does not parse (already reported by the loader). */
  broken: boolean;
}

/** undefined when the value is absent or not text. */
export function fieldText(v: unknown): FieldText | undefined {
  const source = asText(v);
  if (source === undefined) return undefined;
  const a = analyze(source);
  return { source, constant: a.constant, literal: a.literal, broken: a.error !== undefined };
}

/** The literal text before the first `{{`: what a URL starts with for every member. */
export function fixedPrefix(ft: FieldText): string {
  if (ft.constant) return ft.source;
  const i = ft.source.indexOf("{{");
  return i < 0 ? ft.source : ft.source.slice(0, i);
}

/** How a rule reads a field: statically from the template, or exactly from a rendered message. */
export type Measure = (v: unknown) => FieldText | undefined;

export const staticMeasure: Measure = fieldText;

/** A rendered value: constant by definition. */
export const renderedMeasure: Measure = (v) => {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
  return s === undefined ? undefined : { source: s, constant: true, literal: s, broken: false };
};
