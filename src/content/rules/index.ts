/**
 * The content model per driver kind, checked statically on a template section (diagnostics pointing into the
 * template file) and per rendered message (ContentProblems, counted by the simulation).
 */
import { diag, didYouMean } from "../../check/diagnostics/diag.js";
import type { Diagnostic } from "../../check/diagnostics/types.js";
import { contentMessages as M } from "../../check/diagnostics/messages/content.js";
import type { Span } from "../../language/span.js";
import type { ContentKind } from "../../project/types.js";
import type { RenderedContent, Template } from "../types.js";
import { finding, toDiagnostic, toProblem, type ContentProblem, type Finding } from "./common.js";
import { codePointText } from "../../report/escape.js";
import { checkSmsContent, checkSmsSection } from "./sms.js";
import { checkSubscribeMessageContent, checkSubscribeMessageSection } from "./subscribe_message.js";
import { checkTemplateMessageContent, checkTemplateMessageSection } from "./template_message.js";
import { checkWebhookContent, checkWebhookSection } from "./webhook.js";
import { checkWecomContent, checkWecomSection } from "./wecom.js";

const SECTION_RULES: Record<ContentKind, (raw: Record<string, unknown>) => Finding[]> = {
  wecom: checkWecomSection,
  sms: checkSmsSection,
  template_message: checkTemplateMessageSection,
  subscribe_message: checkSubscribeMessageSection,
  webhook: checkWebhookSection,
  file: checkWebhookSection,
};

/** Section diagnostics per template and kind: every campaign using a template asks again (10,000 campaigns did). */
const SECTION_DIAGNOSTICS = new WeakMap<Template, Map<ContentKind, Diagnostic[]>>();

/** The static rules of one section of a template, as diagnostics into the template file. */
export function checkSection(template: Template, kind: ContentKind): Diagnostic[] {
  const section = template.sections.get(kind);
  if (!section) return [];
  let byKind = SECTION_DIAGNOSTICS.get(template);
  if (!byKind) SECTION_DIAGNOSTICS.set(template, (byKind = new Map()));
  let found = byKind.get(kind);
  if (!found) byKind.set(kind, (found = SECTION_RULES[kind](section.raw).map((f) => toDiagnostic(f, template, kind))));
  // Copies: callers attach `related` notes to what they get.
  return found.map((d) => ({ ...d }));
}

/** A channel of the campaign, for the message when its section is missing. */
export interface ChannelUse {
  name: string;
  driver: string;
  kind: ContentKind;
}

export interface TemplateUse {
  /** The content kinds of the campaign's channels' drivers. */
  kinds: ContentKind[];
  /** Member fields plus the campaign's `with` keys. */
  variables: Set<string>;
  /** The campaign's `content` clause. */
  span: Span;
  /** Optional: the channels behind `kinds`, to name them in "has no `sms` section" messages. */
  channels?: ChannelUse[];
}

/**
 * Checks a campaign's use of a template: a section for every kind its channels need, every variable the used
 * sections read is provided, and the static rules of each used section. Static section diagnostics are the
 * same for every campaign using the template: a caller checking several campaigns should drop duplicates
 * (same code and span).
 */
export function checkTemplateUse(template: Template, use: TemplateUse): Diagnostic[] {
  const out: Diagnostic[] = [];
  const kinds = [...new Set(use.kinds)];
  for (const kind of kinds) {
    if (template.sections.has(kind)) continue;
    const chans = (use.channels ?? []).filter((c) => c.kind === kind);
    const who = chans.length ? chans.map((c) => `channel \`${c.name}\` (driver ${c.driver})`).join(", ") : `a channel with ${kind} content`;
    out.push(diag(M.contentMissingSection, use.span, [template.name, kind, who, template.file]));
  }
  const used = new Set(kinds.filter((k) => template.sections.has(k)));
  const seen = new Map<string, Diagnostic>();
  for (const v of template.variables) {
    if (!used.has(v.kind) || use.variables.has(v.name)) continue;
    const key = `${v.kind}\u0000${v.name}`;
    const prev = seen.get(key);
    if (prev) {
      (prev.related ??= []).push({ span: v.span, message: `\`${v.name}\` is also read here` });
      continue;
    }
    const dym = didYouMean(v.name, use.variables);
    const d = diag(M.contentUnknownVariable, v.span, [template.name, v.name], dym ? { help: dym } : {});
    seen.set(key, d);
    out.push(d);
  }
  for (const kind of used) out.push(...checkSection(template, kind));
  return out;
}

/** The per-member rules of one rendered message. */
export function checkRendered(content: RenderedContent): ContentProblem[] {
  let findings: Finding[];
  switch (content.kind) {
    case "wecom":
      findings = checkWecomContent(content);
      break;
    case "sms":
      findings = checkSmsContent(content);
      break;
    case "template_message":
      findings = checkTemplateMessageContent(content);
      break;
    case "subscribe_message":
      findings = checkSubscribeMessageContent(content);
      break;
    default:
      findings = checkWebhookContent(content);
  }
  // A field a channel rule already refused for a line break or control character is not reported twice.
  const refused = new Set(findings.filter((f) => f.def === M.contentLineBreak).map((f) => f.field));
  findings.push(...controlCharacters(content).filter((f) => !refused.has(f.field)));
  return findings.length ? findings.map(toProblem) : [];
}

/** C0 controls but line feed and tab, DEL and C1 controls: no channel sends them (an ESC would reach terminals). */
const SENT_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Every string of a rendered message with a control character, by field (`text.content`, `params.name`). */
function controlCharacters(content: RenderedContent): Finding[] {
  const out: Finding[] = [];
  const todo: [unknown, string][] = [[content, ""]];
  while (todo.length > 0) {
    const [v, path] = todo.pop()!;
    if (typeof v === "string") {
      const m = SENT_CONTROL.exec(v);
      if (m) out.push(finding("content.control", path, M.contentControlCharacter, [path || "content", codePointText(m[0])]));
    } else if (Array.isArray(v)) v.forEach((x, i) => todo.push([x, path ? `${path}.${i}` : String(i)]));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) if (k !== "kind") todo.push([x, path ? `${path}.${k}` : k]);
    }
  }
  return out.reverse();
}
