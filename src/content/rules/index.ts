/**
 * The content model per driver kind, checked statically on a template section (diagnostics pointing into the
 * template file) and per rendered message (ContentProblems, counted by the simulation).
 */
import { diag } from "../../diagnostics/diag.js";
import { didYouMean } from "../../diagnostics/suggest.js";
import type { Diagnostic } from "../../diagnostics/types.js";
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { Span } from "../../diagnostics/span.js";
import type { ContentKind } from "../../project/types.js";
import type { RenderedContent, Template } from "../types.js";
import { finding, toDiagnostic, toProblem, type ContentProblem, type Finding } from "./common.js";
import { codePointText } from "../../diagnostics/escape.js";
import { checkAliyunSmsSection, checkSmsContent, checkSmsSection, checkTencentSmsSection } from "./sms.js";
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

/** Rules of one provider on top of its kind's: `who` names the channel in messages. */
const DRIVER_SECTION_RULES: Record<string, ((raw: Record<string, unknown>, who: string) => Finding[]) | undefined> = {
  "aliyun-sms": checkAliyunSmsSection,
  "tencent-sms": checkTencentSmsSection,
};

/** Section diagnostics per template, section key and driver: every campaign using a template asks again (10,000 campaigns did). */
const SECTION_DIAGNOSTICS = new WeakMap<Template, Map<string, Diagnostic[]>>();

/**
 * The static rules of one section of a template (by its key: a kind or a channel name), as diagnostics into the
 * template file; with `driver`, also the rules of that driver (a Tencent SMS template is not an Aliyun one).
 */
export function checkSection(template: Template, key: string, driver?: string): Diagnostic[] {
  const section = template.sections.get(key);
  if (!section) return [];
  let byKey = SECTION_DIAGNOSTICS.get(template);
  if (!byKey) SECTION_DIAGNOSTICS.set(template, (byKey = new Map()));
  const cacheKey = `${key}\u0000${driver ?? ""}`;
  let found = byKey.get(cacheKey);
  if (!found) {
    const findings = SECTION_RULES[section.kind](section.raw);
    const own = driver ? DRIVER_SECTION_RULES[driver] : undefined;
    if (own) for (const f of own(section.raw, `a ${driver} channel`)) findings.push(f);
    byKey.set(cacheKey, (found = findings.map((f) => toDiagnostic(f, template, key))));
  }
  // Copies: callers attach `related` notes to what they get.
  return found.map((d) => ({ ...d }));
}

/** The section key a channel reads: its own section when the template has one, else its driver kind's. */
export function sectionKey(template: Template, channel: string, kind: ContentKind): string {
  return template.sections.get(channel)?.kind === kind ? channel : kind;
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
  // Channels with their own section read it instead of their kind's; the others need the kind's section.
  const own = (use.channels ?? []).filter((c) => c.name !== c.kind && sectionKey(template, c.name, c.kind) === c.name);
  const kinds = [...new Set(use.kinds)].filter((k) => {
    const readers = (use.channels ?? []).filter((c) => c.kind === k);
    return readers.length === 0 || readers.some((c) => !own.includes(c));
  });
  for (const kind of kinds) {
    if (template.sections.has(kind)) continue;
    const chans = (use.channels ?? []).filter((c) => c.kind === kind);
    const who = chans.length ? chans.map((c) => `channel \`${c.name}\` (driver ${c.driver})`).join(", ") : `a channel with ${kind} content`;
    out.push(diag(M.contentMissingSection, use.span, [template.name, kind, who, template.file]));
  }
  const used = new Set<string>([...kinds.filter((k) => template.sections.has(k)), ...own.map((c) => c.name)]);
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
  if (!use.channels) {
    for (const kind of used) out.push(...checkSection(template, kind));
    return out;
  }
  // The kind's rules once per section; each driver's own rules once per (section, driver) that reads it: the `sms`
  // section read by an Aliyun and a Tencent channel must fit both providers.
  const keys = new Set<string>();
  const drivers = new Map<string, ChannelUse>();
  for (const c of use.channels) {
    const key = sectionKey(template, c.name, c.kind);
    if (!template.sections.has(key)) continue;
    keys.add(key);
    if (DRIVER_SECTION_RULES[c.driver] && !drivers.has(`${key}\u0000${c.driver}`)) drivers.set(`${key}\u0000${c.driver}`, c);
  }
  for (const key of keys) out.push(...checkSection(template, key));
  for (const [k, c] of drivers) {
    const key = k.slice(0, k.indexOf("\u0000"));
    const section = template.sections.get(key)!;
    out.push(...DRIVER_SECTION_RULES[c.driver]!(section.raw, `channel \`${c.name}\` (driver ${c.driver})`).map((f) => toDiagnostic(f, template, key)));
  }
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
