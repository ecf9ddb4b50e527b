/** Mini-program subscribe message (docs/channels.md, `wechat-subscribe`). */
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { SubscribeMessageContent } from "../types.js";
import { CONTROL_RE, finding, isRecord, type Finding } from "./common.js";
import { renderedMeasure, staticMeasure, type Measure } from "./text.js";
import { checkTypedField, checkTypedValue, prefixOf } from "./values.js";

export const MINIPROGRAM_STATES = ["developer", "trial", "formal"] as const;
export const SUBSCRIBE_LANGS = ["zh_CN", "en_US", "zh_HK", "zh_TW"] as const;

/**
 * Every send consumes the member's one-time consent ("订阅1次可下发1次"); the planner counts consents, this flag
 * says the kind needs it.
 */
export const consumesConsent = true;

function checkHead(raw: { template_id?: unknown; page?: unknown; miniprogram_state?: unknown; lang?: unknown }, ft: Measure): Finding[] {
  const out: Finding[] = [];
  const id = ft(raw.template_id);
  if (!id || (id.constant && !id.literal.trim())) out.push(finding("subscribe.template_id.required", "template_id", M.contentRequired, ["template_id"]));
  const enums: [string, readonly string[]][] = [
    ["miniprogram_state", MINIPROGRAM_STATES],
    ["lang", SUBSCRIBE_LANGS],
  ];
  for (const [key, allowed] of enums) {
    const v = ft((raw as Record<string, unknown>)[key]);
    if (v && v.constant && !allowed.includes(v.literal)) out.push(finding(`subscribe.${key}.value`, key, M.contentBadEnum, [key, allowed.join(", ")]));
  }
  const page = ft(raw.page);
  if (page && CONTROL_RE.test(page.literal)) out.push(finding("subscribe.page.linebreak", "page", M.contentLineBreak, ["page"]));
  return out;
}

/** Static rules of a `subscribe_message:` section. */
export function checkSubscribeMessageSection(raw: Record<string, unknown>): Finding[] {
  const out = checkHead(raw, staticMeasure);
  const data = isRecord(raw.data) ? raw.data : {};
  if (!Object.keys(data).length) out.push(finding("subscribe.data.empty", "data", M.contentDataEmpty, []));
  for (const [key, v] of Object.entries(data)) {
    const field = `data.${key}`;
    const prefix = prefixOf(key);
    if (!prefix) {
      out.push(finding("subscribe.key.prefix", field, M.contentUnknownPrefix, [key]));
      continue;
    }
    const ft = staticMeasure(v);
    if (ft) out.push(...checkTypedField(prefix, ft, field, "subscribe"));
  }
  return out;
}

/** Rules of one rendered subscribe message. */
export function checkSubscribeMessageContent(c: SubscribeMessageContent): Finding[] {
  const out = checkHead(c, renderedMeasure);
  if (!Object.keys(c.data).length) out.push(finding("subscribe.data.empty", "data", M.contentDataEmpty, []));
  for (const [key, v] of Object.entries(c.data)) {
    const field = `data.${key}`;
    const prefix = prefixOf(key);
    if (prefix) out.push(...checkTypedValue(prefix, v, field, "subscribe"));
    else if (v.trim() === "") out.push(finding("subscribe.value.empty", field, M.contentEmptyValue, [field]));
    else if (CONTROL_RE.test(v)) out.push(finding("subscribe.value.linebreak", field, M.contentLineBreak, [field]));
  }
  return out;
}
