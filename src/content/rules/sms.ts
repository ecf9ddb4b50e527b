/** SMS content rules shared by aliyun-sms and tencent-sms (docs/templates.md, "sms"). */
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { SmsContent } from "../types.js";
import { asText, chars, finding, isRecord, LINK_RE, type Finding } from "./common.js";
import { renderedMeasure, staticMeasure, type Measure } from "./text.js";

/** Aliyun: each variable value 1–35 characters (Tencent individual accounts: 12; enterprise: per console). */
export const SMS_PARAM_MAX_CHARS = 35;
export const SMS_SIGN_MIN_CHARS = 2;
export const SMS_SIGN_MAX_CHARS = 12;
/** Sign with its 【】 plus text. */
export const SMS_MAX_CHARS = 500;
export const SMS_OPT_OUT = "拒收请回复R";
export const SMS_SINGLE_SEGMENT_CHARS = 70;
export const SMS_LONG_SEGMENT_CHARS = 67;

/** `${name}` in a body. */
export const SMS_VAR_RE = /\$\{([^}]*)\}/g;

/**
 * Billing segments of one SMS: n = characters of `【sign】text` (code points; Chinese, letters, digits,
 * punctuation and emoji each 1); n ≤ 70 → 1, else ⌈n / 67⌉.
 */
export function smsSegments(sign: string, text: string): number {
  const n = smsLength(sign, text);
  return n <= SMS_SINGLE_SEGMENT_CHARS ? 1 : Math.ceil(n / SMS_LONG_SEGMENT_CHARS);
}

/** Characters of `【sign】text` as the providers count them. */
export function smsLength(sign: string, text: string): number {
  return chars(sign) + 2 + chars(text);
}

/** Replaces `${var}` in a body with the params, in one pass (a value containing `${x}` stays as it is). */
export function fillBody(body: string, params: Record<string, string>): string {
  return body.replace(SMS_VAR_RE, (whole, name: string) => (Object.prototype.hasOwnProperty.call(params, name) ? params[name]! : whole));
}

const hasBrackets = (s: string) => /[【】]/.test(s);

function checkSign(sign: unknown, ft: Measure): Finding[] {
  const s = ft(sign);
  if (!s || (s.constant && s.literal.trim() === "")) return [finding("sms.sign.required", "sign", M.contentRequired, ["sign"])];
  const out: Finding[] = [];
  if (hasBrackets(s.literal)) out.push(finding("sms.sign.brackets", "sign", M.contentSmsBrackets, ["sign"]));
  const n = chars(s.literal);
  if ((s.constant && n < SMS_SIGN_MIN_CHARS) || n > SMS_SIGN_MAX_CHARS) out.push(finding("sms.sign.length", "sign", M.contentSmsSignLength, []));
  return out;
}

function checkParam(name: string, v: unknown, ft: Measure, rendered: boolean): Finding[] {
  const field = `params.${name}`;
  const p = ft(v);
  if (!p || (p.constant && p.literal.trim() === "")) return [finding("sms.param.empty", field, M.contentEmptyValue, [field])];
  const out: Finding[] = [];
  const n = chars(p.literal);
  if (n > SMS_PARAM_MAX_CHARS) {
    out.push(
      finding(
        "sms.param.length",
        field,
        M.contentTooLong,
        [field, SMS_PARAM_MAX_CHARS, "characters"],
        rendered ? {} : { help: `its fixed text alone has ${n} characters` },
      ),
    );
  }
  if (LINK_RE.test(p.literal)) out.push(finding("sms.param.url", field, M.contentSmsUrlInParam, [field]));
  if (hasBrackets(p.literal)) out.push(finding("sms.param.brackets", field, M.contentSmsBrackets, [field]));
  return out;
}

/** Static rules of an `sms:` section. */
export function checkSmsSection(raw: Record<string, unknown>): Finding[] {
  const out: Finding[] = [...checkSign(raw.sign, staticMeasure)];
  const code = staticMeasure(raw.code);
  if (!code || (code.constant && code.literal.trim() === "")) out.push(finding("sms.code.required", "code", M.contentRequired, ["code"]));
  const body = asText(raw.body);
  if (body === undefined || body.trim() === "") {
    out.push(finding("sms.body.required", "body", M.contentRequired, ["body"]));
    return out;
  }
  const params = isRecord(raw.params) ? raw.params : {};
  if (body.includes("{{")) out.push(finding("sms.body.handlebars", "body", M.contentSmsBodyHandlebars, []));
  if (hasBrackets(body)) out.push(finding("sms.body.brackets", "body", M.contentSmsBrackets, ["body"]));

  // Variables: exactly the params, each once, never adjacent, not the whole body.
  const uses = [...body.matchAll(SMS_VAR_RE)];
  const counts = new Map<string, number>();
  for (const u of uses) counts.set(u[1]!, (counts.get(u[1]!) ?? 0) + 1);
  for (const [name, n] of counts) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) out.push(finding("sms.body.var.params", "body", M.contentSmsVarNotInParams, [name]));
    if (n > 1) out.push(finding("sms.body.var.twice", "body", M.contentSmsVarTwice, [name, n]));
  }
  for (const name of Object.keys(params)) {
    if (!counts.has(name)) out.push(finding("sms.param.unused", `params.${name}`, M.contentSmsParamNotInBody, [name]));
  }
  for (let i = 1; i < uses.length; i++) {
    const prev = uses[i - 1]!;
    if (prev.index! + prev[0].length === uses[i]!.index) out.push(finding("sms.body.var.adjacent", "body", M.contentSmsAdjacentVars, [prev[1]!, uses[i]![1]!]));
  }
  const fixed = body.replace(SMS_VAR_RE, "");
  if (uses.length && fixed.trim() === "") out.push(finding("sms.body.all_variables", "body", M.contentSmsAllVariables, []));

  // Opt-out: marketing (the default) must end with it, a notification must not carry it.
  const marketing = raw.marketing !== false;
  if (marketing && !body.trimEnd().endsWith(SMS_OPT_OUT)) out.push(finding("sms.optout.missing", "body", M.contentSmsOptOutMissing, []));
  if (!marketing && body.includes(SMS_OPT_OUT)) out.push(finding("sms.optout.notice", "body", M.contentSmsOptOutInNotice, []));

  for (const [name, v] of Object.entries(params)) if (counts.has(name)) out.push(...checkParam(name, v, staticMeasure, false));

  const sign = staticMeasure(raw.sign);
  const minLength = (sign ? chars(sign.literal) : 0) + 2 + chars(fixed);
  if (minLength > SMS_MAX_CHARS) {
    out.push(
      finding("sms.length", "body", M.contentTooLong, ["【sign】 + body", SMS_MAX_CHARS, "characters"], {
        help: `its fixed text alone has ${minLength} characters`,
      }),
    );
  }
  return out;
}

/** Rules of one rendered SMS. */
export function checkSmsContent(c: SmsContent): Finding[] {
  const out: Finding[] = [...checkSign(c.sign, renderedMeasure)];
  if (!c.code || !String(c.code).trim()) out.push(finding("sms.code.required", "code", M.contentRequired, ["code"]));
  for (const [name, v] of Object.entries(c.params)) out.push(...checkParam(name, v, renderedMeasure, true));
  if (smsLength(c.sign, c.text) > SMS_MAX_CHARS) out.push(finding("sms.length", "text", M.contentTooLong, ["【sign】 + text", SMS_MAX_CHARS, "characters"]));
  return out;
}

/** A literal `code` when the section's code is constant text, else undefined (a Handlebars code is checked per send). */
function literalCode(raw: Record<string, unknown>): string | undefined {
  const code = staticMeasure(raw.code);
  return code?.constant && code.literal.trim() !== "" ? code.literal.trim() : undefined;
}

/** Aliyun's own rules: a `SMS_…` template code and named variables. `who` names the channel. */
export function checkAliyunSmsSection(raw: Record<string, unknown>, who: string): Finding[] {
  const out: Finding[] = [];
  const code = literalCode(raw);
  if (code !== undefined && !/^SMS_\d+$/.test(code)) out.push(finding("sms.aliyun.code", "code", M.contentSmsAliyunCode, [who, code]));
  const params = isRecord(raw.params) ? Object.keys(raw.params) : [];
  for (const k of params) if (/^\d+$/.test(k)) out.push(finding("sms.aliyun.params", `params.${k}`, M.contentSmsAliyunParams, [who, k]));
  return out;
}

/** Tencent's own rules: a numeric TemplateId and positional variables `1`, `2` … in order. `who` names the channel. */
export function checkTencentSmsSection(raw: Record<string, unknown>, who: string): Finding[] {
  const out: Finding[] = [];
  const code = literalCode(raw);
  if (code !== undefined && !/^\d+$/.test(code)) out.push(finding("sms.tencent.code", "code", M.contentSmsTencentCode, [who, code]));
  const params = isRecord(raw.params) ? Object.keys(raw.params) : [];
  if (params.some((k, i) => k !== String(i + 1)))
    out.push(finding("sms.tencent.params", "params", M.contentSmsTencentParams, [who, params.map((k) => `\`${k}\``).join(", ")]));
  return out;
}
