/** 服务号 template message (docs/channels.md, `wechat-template`). */
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { TemplateMessageContent } from "../types.js";
import { chars, CONTROL_RE, finding, isRecord, type Finding } from "./common.js";
import { fixedPrefix, renderedMeasure, staticMeasure, type Measure } from "./text.js";
import { checkTypedField, checkTypedValue, prefixOf } from "./values.js";
import { httpPrefixOk } from "./wecom.js";

/** Since 2023-05-04: each field of the main content is at most 20 characters, no line break. */
export const TEMPLATE_VALUE_MAX_CHARS = 20;
/** Keys WeChat removed on 2023-05-04. */
export const OBSOLETE_TEMPLATE_KEYS = ["first", "remark"];

function checkHead(raw: { template_id?: unknown; url?: unknown; miniprogram?: unknown }, ft: Measure): Finding[] {
  const out: Finding[] = [];
  const id = ft(raw.template_id);
  if (!id || (id.constant && !id.literal.trim())) out.push(finding("template.template_id.required", "template_id", M.contentRequired, ["template_id"]));
  const url = ft(raw.url);
  if (url && !(url.constant && url.literal === "") && !httpPrefixOk(fixedPrefix(url), url.constant))
    out.push(finding("template.url.scheme", "url", M.contentNotHttpUrl, ["url"]));
  if (raw.miniprogram !== undefined && raw.miniprogram !== null) {
    const mp = isRecord(raw.miniprogram) ? raw.miniprogram : {};
    for (const key of ["appid", "pagepath"]) {
      const v = ft(mp[key]);
      if (!v || (v.constant && !v.literal.trim()))
        out.push(finding(`template.miniprogram.${key}.required`, `miniprogram.${key}`, M.contentRequired, [`miniprogram.${key}`]));
    }
  }
  return out;
}

/** An untyped key (`keyword1`): ≤ 20 characters, single line. */
function checkPlain(v: string, literalOnly: boolean, field: string): Finding[] {
  if (!literalOnly && v.trim() === "") return [finding("template.value.empty", field, M.contentEmptyValue, [field], { severity: "warning" })];
  if (CONTROL_RE.test(v)) return [finding("template.value.linebreak", field, M.contentLineBreak, [field])];
  if (chars(v) > TEMPLATE_VALUE_MAX_CHARS) return [finding("template.value.length", field, M.contentTooLong, [field, TEMPLATE_VALUE_MAX_CHARS, "characters"])];
  return [];
}

/** Static rules of a `template_message:` section. */
export function checkTemplateMessageSection(raw: Record<string, unknown>): Finding[] {
  const out = checkHead(raw, staticMeasure);
  const data = isRecord(raw.data) ? raw.data : {};
  if (!Object.keys(data).length) out.push(finding("template.data.empty", "data", M.contentDataEmpty, []));
  for (const [key, v] of Object.entries(data)) {
    const field = `data.${key}`;
    if (OBSOLETE_TEMPLATE_KEYS.includes(key)) {
      out.push(finding("template.key.obsolete", field, M.contentObsoleteKey, [field]));
      continue;
    }
    const ft = staticMeasure(v);
    if (!ft) continue;
    const prefix = prefixOf(key);
    if (prefix) out.push(...checkTypedField(prefix, ft, field, "template"));
    else out.push(...checkPlain(ft.literal, !ft.constant, field));
  }
  return out;
}

/** Rules of one rendered template message. */
export function checkTemplateMessageContent(c: TemplateMessageContent): Finding[] {
  const out = checkHead(c, renderedMeasure);
  if (!Object.keys(c.data).length) out.push(finding("template.data.empty", "data", M.contentDataEmpty, []));
  for (const [key, v] of Object.entries(c.data)) {
    if (OBSOLETE_TEMPLATE_KEYS.includes(key)) continue;
    const field = `data.${key}`;
    const prefix = prefixOf(key);
    out.push(...(prefix ? checkTypedValue(prefix, v, field, "template") : checkPlain(v, false, field)));
  }
  return out;
}
