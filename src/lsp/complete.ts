/**
 * Completion from the text before the cursor (it works on half-typed text, where the AST may stop short): which
 * clause the line is in and the last words decide what fits — clause keywords, member fields with their types,
 * enum values after a comparison with an enum field, segments, templates, channels, calendar events, units —
 * and, inside templates/*.yaml, helper names and member fields after `{{`.
 */
import { CompletionItemKind, type CompletionItem } from "vscode-languageserver/node";
import { BUILTIN_EVENT_NAMES, describeEvent } from "../calendar/events.js";
import { BUILTIN_HELPERS, HELPERS } from "../content/helpers.js";
import { printExpr } from "../language/index.js";
import type { Analysis } from "./analysis.js";
import { fieldTypeText } from "./hover.js";

export const CLAUSE_KEYWORDS = [
  "audience",
  "trigger",
  "content",
  "channel",
  "goal",
  "priority",
  "holdout",
  "repeat",
  "active",
  "send between",
  "limit",
  "budget",
  "expire after",
];
const TOP_KEYWORDS = ["segment", "campaign"];
const EXPRESSION_KEYWORDS = [
  "and",
  "or",
  "not",
  "in",
  "has",
  "has any",
  "has all",
  "between",
  "is set",
  "is not set",
  "within",
  "today",
  "now",
  "true",
  "false",
];
const FUNCTIONS = ["days_since", "days_until", "years_since", "month", "day", "weekday", "len", "lower"];
const DURATION_UNITS = ["minutes", "hours", "days", "weeks", "months", "years"];
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const COMPARISON = /([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*$/;
const IN_LIST = /([A-Za-z_][A-Za-z0-9_]*)\s+(?:not\s+)?in\s*\[[^\]]*$/;

export function complete(a: Analysis, offset: number, text: string): CompletionItem[] {
  const before = text.slice(0, offset);
  const scan = scanContext(before);
  if (scan.inComment) return [];
  const line = before.slice(before.lastIndexOf("\n") + 1);
  if (scan.inString)
    return /\bcontent\s+"[^"]*$/.test(line) ? templates(a, false) : /\btrigger\b.*\bevent\s+"[^"]*$/.test(line) ? businessEvents(a, false) : [];
  const head = line.replace(/[A-Za-z0-9_]*$/, "");
  const words = head.trim().split(/\s+/).filter(Boolean);
  const first = words[0];
  const last = words[words.length - 1];
  if (words.length === 0) return scan.depth > 0 ? keywords(CLAUSE_KEYWORDS) : keywords(TOP_KEYWORDS);

  if (first === "segment") return words.includes("=") || head.includes("=") ? expression(a, head) : [];
  if (scan.depth === 0) return [];
  if (/\border\s+by\b/.test(head)) return [...expression(a, head), ...keywords(["asc", "desc"])];
  switch (first) {
    case "audience":
      return expression(a, head);
    case "trigger":
      return trigger(a, words.slice(1), last!);
    case "content": {
      if (words.length === 1) return templates(a, true);
      const name = /content\s+"([^"]*)"/.exec(head)?.[1];
      if (/\bwith\s*\{[^}]*$/.test(head) && !/:\s*$/.test(head)) return name ? withKeys(a, name, head) : [];
      return keywords(["with"]);
    }
    case "channel":
      return words.length === 1 || last === ">" || last!.endsWith(",") ? channels(a) : [];
    case "goal":
      if (words.length === 1) return keywords(["redeem", "visit", "purchase", "event"]);
      if (isNumber(last!)) return words[words.length - 2] === ">=" ? keywords(["CNY"]) : keywords(DURATION_UNITS);
      return keywords(["within", "expect"]);
    case "repeat":
      if (words.length === 1) return keywords(["after", "never"]);
      return isNumber(last!) ? keywords(DURATION_UNITS) : [];
    case "expire":
      if (words.length === 1) return keywords(["after"]);
      return isNumber(last!) ? keywords(DURATION_UNITS) : [];
    case "send":
      return words.length === 1 ? keywords(["between"]) : [];
    case "limit":
      if (isNumber(last!)) return keywords(["members"]);
      return last === "members" ? keywords(["order by"]) : [];
    case "budget":
      return isNumber(last!) ? keywords(["CNY"]) : [];
    default:
      // A continuation line of a multi-line audience, or a clause being typed.
      return scan.depth > 0 && words.length === 1 && !CLAUSE_KEYWORDS.some((k) => k.startsWith(first!)) ? expression(a, head) : keywords(CLAUSE_KEYWORDS);
  }
}

/** Completion inside a template file: helper names and member fields after `{{`. */
export function completeTemplate(a: Analysis, before: string): CompletionItem[] {
  const m = /\{\{\{?\s*([#/]?)([A-Za-z0-9_ ."]*)$/.exec(before);
  if (!m) return [];
  const items: CompletionItem[] = [];
  for (const [name, h] of Object.entries(HELPERS)) items.push({ label: name, kind: CompletionItemKind.Function, detail: h.usage });
  if (m[1] === "#" || m[1] === "/") for (const name of BUILTIN_HELPERS) items.push({ label: name, kind: CompletionItemKind.Keyword });
  for (const [name, type] of a.project?.members.fields ?? []) items.push({ label: name, kind: CompletionItemKind.Field, detail: fieldTypeText(type) });
  return items;
}

function trigger(a: Analysis, rest: string[], last: string): CompletionItem[] {
  if (rest.length === 0) return keywords(["every", "once", "on"]);
  if (last === "every") return keywords(["day", "month on", ...WEEKDAYS]);
  if (last === "on" || last === "after") return [...keywords(["anniversary of"]), ...businessEvents(a, true), ...events(a), ...dateFields(a)];
  if (last === "before") return [...keywords(["anniversary of"]), ...events(a), ...dateFields(a)];
  if (last === "event") return businessEvents(a, false, true);
  if (last === "of") return dateFields(a);
  if (isNumber(last) && rest.length === 1) return keywords(DURATION_UNITS);
  if (/^(minutes?|hours?|days?|weeks?|months?|years?)$/.test(last)) return keywords(["before", "after"]);
  if (last === "at") return [];
  return keywords(["at"]);
}

function expression(a: Analysis, head: string): CompletionItem[] {
  const fields = a.project?.members.fields;
  const cmp = COMPARISON.exec(head) ?? IN_LIST.exec(head);
  if (cmp) {
    const type = fields?.get(cmp[1]!);
    if (type?.kind === "enum")
      return type.values.map((v, i) => ({
        label: v,
        kind: CompletionItemKind.EnumMember,
        detail: `${cmp[1]}: ${fieldTypeText(type)}`,
        sortText: String(i).padStart(3, "0"),
      }));
  }
  if (/\bwithin\s+\d+(?:\.\d+)?\s+$/.test(head)) return keywords(["km"]);
  if (/[-+]\s*\d+\s+$/.test(head)) return keywords(DURATION_UNITS);
  const items: CompletionItem[] = [];
  for (const [name, type] of fields ?? []) items.push({ label: name, kind: CompletionItemKind.Field, detail: fieldTypeText(type) });
  for (const f of a.files)
    for (const item of f.ast.items)
      if (item.kind === "segment" && !fields?.has(item.name.name))
        items.push({ label: item.name.name, kind: CompletionItemKind.Variable, detail: `segment = ${printExpr(item.expr)}` });
  for (const fn of FUNCTIONS) items.push({ label: fn, kind: CompletionItemKind.Function, insertText: `${fn}(` });
  items.push(...keywords(EXPRESSION_KEYWORDS));
  return items;
}

function templates(a: Analysis, quoted: boolean): CompletionItem[] {
  return [...a.templates.values()].map((t) => ({
    label: quoted ? `"${t.name}"` : t.name,
    filterText: quoted ? `"${t.name}"` : t.name,
    kind: CompletionItemKind.File,
    detail: `${t.file} (${[...t.sections.keys()].join(", ")})`,
  }));
}

/** `with { … }` keys: the names the template reads that are not member fields, and not given yet. */
function withKeys(a: Analysis, template: string, head: string): CompletionItem[] {
  const t = a.templates.get(template);
  const fields = a.project?.members.fields;
  const given = new Set([...head.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*:/g)].map((m) => m[1]!));
  const names = [...new Set(t?.variables.map((v) => v.name) ?? [])].filter((n) => !fields?.has(n) && !given.has(n));
  return names.map((n) => ({ label: n, kind: CompletionItemKind.Property, detail: `read by templates/${template}`, insertText: `${n}: ` }));
}

function channels(a: Analysis): CompletionItem[] {
  return [...(a.project?.channels.values() ?? [])].map((c) => ({
    label: c.name,
    kind: CompletionItemKind.Module,
    detail: `driver ${c.driver}, address ${c.address}`,
  }));
}

function events(a: Analysis): CompletionItem[] {
  const own = [...(a.project?.calendar.keys() ?? [])].map((name) => ({ label: name, kind: CompletionItemKind.Event, detail: "calendar event of chuda.yaml" }));
  return [...own, ...BUILTIN_EVENT_NAMES.map((name) => ({ label: name, kind: CompletionItemKind.Event, detail: describeEvent(name) }))];
}

/** Business events of chuda.yaml `events:`: `event "purchase"` after `on`/`after`, the quoted name after `event`. */
function businessEvents(a: Analysis, withKeyword: boolean, quoted = false): CompletionItem[] {
  return [...(a.project?.events ?? new Map<string, Map<string, unknown>>())].map(([name, props]) => ({
    label: withKeyword ? `event "${name}"` : quoted ? `"${name}"` : name,
    kind: CompletionItemKind.Event,
    detail: `business event${props.size ? ` (${[...props.keys()].join(", ")})` : ""}`,
  }));
}

function dateFields(a: Analysis): CompletionItem[] {
  return [...(a.project?.members.fields ?? [])]
    .filter(([, t]) => t.kind === "date" || t.kind === "datetime")
    .map(([name, t]) => ({ label: name, kind: CompletionItemKind.Field, detail: t.kind }));
}

function keywords(words: string[]): CompletionItem[] {
  return words.map((w) => ({ label: w, kind: CompletionItemKind.Keyword }));
}

function isNumber(w: string): boolean {
  return /^\d+(?:\.\d+)?$/.test(w);
}

/** Brace depth (0 = top level) and whether the cursor is inside a string or a comment. */
function scanContext(text: string): { depth: number; inString: boolean; inComment: boolean } {
  let depth = 0;
  let inString = false;
  let inComment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inComment) {
      if (ch === "\n") inComment = false;
    } else if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"' || ch === "\n") inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "#") inComment = true;
    else if (ch === "{") depth++;
    else if (ch === "}") depth = Math.max(0, depth - 1);
  }
  return { depth, inString, inComment };
}
