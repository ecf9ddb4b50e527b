/**
 * Driver `aliyun-sms`: Aliyun SMS, dysmsapi RPC with the HMAC-SHA1 signature (docs/channels.md, `aliyun-sms`).
 *
 * A batch (≤100) is split into calls: recipients of one (campaign, occurrence) with identical sign, template and
 * params go out in one `SendSms` (≤1000 numbers); the rest of one (campaign, occurrence, template) go out in one
 * `SendBatchSms` (≤100, own sign and params); a lone recipient goes out in a single-number `SendSms`.
 * A single-number call carries the request's `dedupeId` as `OutId`; a multi-number call carries the
 * (campaign, occurrence, channel) id of `groupId` (the provider echoes one `OutId` per call), and reconciliation
 * matches (phone, OutId) in `QuerySendDetails`.
 *
 * A multi-number call rejected with a per-number code (`isv.MOBILE_NUMBER_ILLEGAL`, `isv.BUSINESS_LIMIT_CONTROL`,
 * `isv.BLACK_KEY_CONTROL_LIMIT`, or a parameter-length code) is resent number by number, which is safe because
 * the rejected call sent nothing, and which pins the code on the number at fault. Whether the provider rejects a
 * whole list for one such number is (unverified) (§7.5); this is the one place that handles it.
 */
import { randomUUID } from "node:crypto";
import type { Driver, DriverContext, DriverInstance, OutcomeClass, SendOutcome } from "./types.js";
import type { SmsContent } from "../content/types.js";
import { type HttpClient, type HttpResult, createHttpClient, mapLimit, providerUrl, redact } from "./http.js";
import { aliyunSignature, percentEncode } from "./signing.js";
import { type Failed, failed, numOpt, strOpt } from "./common.js";
import {
  type SmsItem,
  type SmsProvider,
  type SmsReceipt,
  answerlessOutcome,
  cnYmd,
  groupId,
  mainlandDigits,
  nextCnMidnight,
  smsInstance,
} from "./sms-common.js";

export const ALIYUN_DEFAULT_ORIGIN = "https://dysmsapi.aliyuncs.com";

/** §7.5: provider code → outcome class. Unknown `isp.*` / `Throttling*` codes retry; anything else unknown is `request`. */
export const ALIYUN_ERROR_CLASSES: Record<string, Exclude<OutcomeClass, "sent" | "queued">> = {
  "isv.BUSINESS_LIMIT_CONTROL": "defer",
  "Throttling.User": "retry",
  "isv.DAY_LIMIT_CONTROL": "stop",
  "isv.MONTH_LIMIT_CONTROL": "stop",
  "isv.AMOUNT_NOT_ENOUGH": "stop",
  "isv.OUT_OF_SERVICE": "stop",
  "isv.MOBILE_NUMBER_ILLEGAL": "recipient",
  "isv.MOBILE_COUNT_OVER_LIMIT": "request",
  "isv.TEMPLATE_MISSING_PARAMETERS": "request",
  "isv.INVALID_JSON_PARAM": "request",
  "isv.INVALID_PARAMETERS": "request",
  "isv.PARAM_LENGTH_LIMIT": "request",
  "isv.PARAM_NOT_SUPPORT_URL": "request",
  "isv.BLACK_KEY_CONTROL_LIMIT": "request",
  "isv.SMS_TEMPLATE_ILLEGAL": "request",
  "isv.SMS_SIGNATURE_ILLEGAL": "request",
  "isv.SMS_SIGNATURE_SCENE_ILLEGAL": "request",
  "isv.SIGN_STATE_ILLEGAL": "request",
  "isv.SMS_SIGN_ILLEGAL": "request",
  "isv.SMS_CONTENT_ILLEGAL": "request",
  "isv.EXTEND_CODE_ERROR": "request",
  "isp.RAM_PERMISSION_DENY": "stop",
  "isv.DENY_IP_RANGE": "stop",
  "isv.PRODUCT_UN_SUBSCRIPT": "stop",
  "isv.ACCOUNT_NOT_EXISTS": "stop",
  "isv.ACCOUNT_ABNORMAL": "stop",
  "InvalidAccessKeyId.NotFound": "stop",
  "InvalidAccessKeyId.Inactive": "stop",
  SignatureDoesNotMatch: "stop",
  "InvalidTimeStamp.Expired": "stop",
  SignatureNonceUsed: "retry",
  "isp.SYSTEM_ERROR": "retry",
  ServiceUnavailable: "retry",
  InternalError: "retry",
};

/** Codes that, on a multi-number call, are resent number by number to find the number at fault. */
const PER_NUMBER_CODES = new Set([
  "isv.MOBILE_NUMBER_ILLEGAL",
  "isv.BUSINESS_LIMIT_CONTROL",
  "isv.BLACK_KEY_CONTROL_LIMIT",
  "isv.PARAM_LENGTH_LIMIT",
  "isv.PARAM_NOT_SUPPORT_URL",
]);

/** Codes whose `Message` may echo parameters or phone numbers: never carried into an outcome verbatim. */
const OPAQUE_MESSAGES = new Set(["SignatureDoesNotMatch", "IncompleteSignature"]);

export function classifyAliyunCode(code: string): Exclude<OutcomeClass, "sent" | "queued"> {
  const c = ALIYUN_ERROR_CLASSES[code];
  if (c) return c;
  if (code.startsWith("isp.") || code.startsWith("Throttling")) return "retry";
  return "request";
}

interface Call {
  action: "SendSms" | "SendBatchSms";
  items: SmsItem[];
  outId: string;
}

type CallResult = { ok: true; bizId?: string } | { ok: false; outcome: Failed };

/**
 * The sign, template and params of a message as text, once per content object: the requests of one message share
 * theirs, and writing them out for each request cost more than the rest of planning a call.
 */
const messageKeys = new WeakMap<SmsContent, string>();
function messageKey(c: SmsContent): string {
  let k = messageKeys.get(c);
  if (k === undefined) messageKeys.set(c, (k = JSON.stringify([c.sign, c.code, c.params])));
  return k;
}

/** Plans the calls of one batch (see the module comment). */
export function planAliyunCalls(items: SmsItem[]): Call[] {
  const calls: Call[] = [];
  const same = new Map<string, SmsItem[]>();
  let prev: SmsItem | undefined;
  let g: SmsItem[] = [];
  for (const it of items) {
    // Usually the item before is of the same group (a batch is mostly one occurrence's message): its key is not
    // written out again.
    if (
      !prev ||
      it.content !== prev.content ||
      it.req.campaign !== prev.req.campaign ||
      it.req.occurrence !== prev.req.occurrence ||
      it.req.channel !== prev.req.channel
    ) {
      const k = `${JSON.stringify([it.req.campaign, it.req.occurrence, it.req.channel])}${messageKey(it.content)}`;
      const found = same.get(k);
      if (found) g = found;
      else same.set(k, (g = []));
    }
    g.push(it);
    prev = it;
  }
  const singles: SmsItem[] = [];
  const chunked = (group: SmsItem[], max: number, emit: (chunk: SmsItem[]) => void) => {
    let chunk: SmsItem[] = [];
    let phones = new Set<string>();
    for (const it of group) {
      if (phones.has(it.phone)) {
        singles.push(it); // the same number twice in one call could not be told apart in the receipts
        continue;
      }
      chunk.push(it);
      phones.add(it.phone);
      if (chunk.length === max) {
        emit(chunk);
        chunk = [];
        phones = new Set();
      }
    }
    if (chunk.length) emit(chunk);
  };
  const leftovers: SmsItem[] = [];
  for (const g of same.values()) {
    if (g.length < 2) {
      leftovers.push(...g);
      continue;
    }
    chunked(g, 1000, (chunk) => (chunk.length > 1 ? calls.push({ action: "SendSms", items: chunk, outId: groupId(chunk[0]!.req) }) : leftovers.push(...chunk)));
  }
  const byTemplate = new Map<string, SmsItem[]>();
  for (const it of leftovers) {
    const k = JSON.stringify([it.req.campaign, it.req.occurrence, it.req.channel, it.content.code]);
    let g = byTemplate.get(k);
    if (!g) byTemplate.set(k, (g = []));
    g.push(it);
  }
  for (const g of byTemplate.values()) {
    if (g.length < 2) {
      singles.push(...g);
      continue;
    }
    chunked(g, 100, (chunk) =>
      chunk.length > 1 ? calls.push({ action: "SendBatchSms", items: chunk, outId: groupId(chunk[0]!.req) }) : singles.push(...chunk),
    );
  }
  for (const it of singles) calls.push({ action: "SendSms", items: [it], outId: it.req.dedupeId });
  return calls;
}

/** One channel's client: its options and secrets, and the HTTP client of its instance. */
interface Aliyun {
  ctx: DriverContext;
  http: HttpClient;
  url: string;
  keyId: string;
  keySecret: string;
  regionId: string;
  concurrency: number;
  limitDeferMs: number;
  /** How long after a first attempt a missing receipt record proves "not sent". */
  graceMs: number;
}

/** One signed RPC call (POST, form body). */
async function rpc(a: Aliyun, action: string, extra: Record<string, string>): Promise<HttpResult> {
  await a.ctx.acquire?.();
  const params: Record<string, string> = {
    AccessKeyId: a.keyId,
    Action: action,
    Format: "JSON",
    RegionId: a.regionId,
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: randomUUID(),
    SignatureVersion: "1.0",
    Timestamp: new Date(a.ctx.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    Version: "2017-05-25",
    ...extra,
  };
  params.Signature = aliyunSignature("POST", params, a.keySecret);
  const body = Object.entries(params)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
    .join("&");
  return a.http.call({
    method: "POST",
    url: a.url,
    body,
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", accept: "application/json" },
  });
}

/** Maps an answer to "accepted" or a failed outcome (§7.5, §1.1). */
function classify(a: Aliyun, res: HttpResult): CallResult {
  const j = res.ok ? (res.json as { Code?: unknown; Message?: unknown; BizId?: unknown } | undefined) : undefined;
  if (!j || typeof j.Code !== "string") return { ok: false, outcome: answerlessOutcome("aliyun-sms", res) };
  if (j.Code === "OK") return { ok: true, bizId: typeof j.BizId === "string" ? j.BizId : undefined };
  const code = j.Code;
  const raw = OPAQUE_MESSAGES.has(code) ? "the provider rejected the request signature (check access_key_secret)" : String(j.Message ?? "");
  const msg = redact(`aliyun-sms ${code}: ${raw}`, [a.keyId, a.keySecret]).slice(0, 300);
  const cls = classifyAliyunCode(code);
  const now = a.ctx.now();
  if (cls === "defer") {
    const m = String(j.Message ?? "");
    const nb = /分钟|minute/i.test(m)
      ? Math.floor(now / 60_000) * 60_000 + 60_000
      : /小时|hour/i.test(m)
        ? Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000
        : now + a.limitDeferMs;
    return { ok: false, outcome: failed("defer", code, msg, nb) };
  }
  if (code === "isv.DAY_LIMIT_CONTROL") return { ok: false, outcome: failed("stop", code, msg, nextCnMidnight(now)) };
  return { ok: false, outcome: failed(cls, code, msg) };
}

function callParams(call: Call): Record<string, string> {
  const first = call.items[0]!;
  if (call.action === "SendSms") {
    const p: Record<string, string> = {
      PhoneNumbers: call.items.map((i) => i.phone).join(","),
      SignName: first.content.sign,
      TemplateCode: first.content.code,
      OutId: call.outId,
    };
    if (Object.keys(first.content.params).length) p.TemplateParam = JSON.stringify(first.content.params);
    return p;
  }
  return {
    PhoneNumberJson: JSON.stringify(call.items.map((i) => i.phone)),
    SignNameJson: JSON.stringify(call.items.map((i) => i.content.sign)),
    TemplateCode: first.content.code,
    TemplateParamJson: JSON.stringify(call.items.map((i) => i.content.params)),
    OutId: call.outId,
  };
}

async function runCall(a: Aliyun, call: Call, out: SendOutcome[]): Promise<void> {
  const r = classify(a, await rpc(a, call.action, callParams(call)));
  if (r.ok) {
    for (const it of call.items) out[it.index] = r.bizId ? { status: "sent", providerId: r.bizId } : { status: "sent" };
    return;
  }
  if (call.items.length > 1 && PER_NUMBER_CODES.has(r.outcome.code)) {
    await mapLimit(call.items, a.concurrency, async (it) => runCall(a, { action: "SendSms", items: [it], outId: it.req.dedupeId }, out));
    return;
  }
  for (const it of call.items) out[it.index] = r.outcome;
}

/** Every receipt of one phone on one date (`QuerySendDetails`), or undefined when the provider did not answer cleanly. */
async function queryAll(a: Aliyun, phone: string, date: string): Promise<SmsReceipt[] | undefined> {
  const all: SmsReceipt[] = [];
  for (let page = 1; page <= 20; page++) {
    const res = await rpc(a, "QuerySendDetails", { PhoneNumber: phone, SendDate: date, PageSize: "50", CurrentPage: String(page) });
    if (!res.ok) return undefined;
    const j = res.json as { Code?: string; TotalCount?: number | string; SmsSendDetailDTOs?: { SmsSendDetailDTO?: Record<string, unknown>[] } } | undefined;
    if (!j || j.Code !== "OK") return undefined;
    const rows = j.SmsSendDetailDTOs?.SmsSendDetailDTO ?? [];
    rows.forEach((r, k) => {
      const errCode = String(r.ErrCode ?? "");
      all.push({
        uid: `${phone}|${date}|${page}|${k}|${String(r.SendDate ?? "")}`,
        ref: String(r.OutId ?? ""),
        outcome:
          Number(r.SendStatus) === 2
            ? failed("recipient", errCode || "undelivered", `aliyun-sms: the carrier receipt says undelivered (${errCode})`)
            : { status: "sent" },
      });
    });
    if (rows.length < 50 || all.length >= Number(j.TotalCount ?? 0)) return all;
  }
  return all;
}

/**
 * Reconcile looks each request up in `QuerySendDetails` (its phone, on the Shanghai dates of its first attempt and of
 * now), matching `OutId`. Found → `sent` (or `recipient` when the receipt says the delivery failed); not found after
 * `reconcile_grace_ms` → `retry` (proven unsent); lookup failure → unknown.
 */
function create(ctx: DriverContext): DriverInstance {
  const o = ctx.options ?? {};
  const a: Aliyun = {
    ctx,
    http: createHttpClient({ timeoutMs: ctx.timeoutMs }),
    url: providerUrl(ctx.baseUrl, ALIYUN_DEFAULT_ORIGIN, "/"),
    keyId: ctx.secrets.access_key_id ?? "",
    keySecret: ctx.secrets.access_key_secret ?? "",
    regionId: strOpt(o, "region_id") ?? "cn-hangzhou",
    concurrency: Math.max(1, Math.floor(numOpt(o, "concurrency", 4))),
    limitDeferMs: numOpt(o, "business_limit_defer_ms", 3_600_000),
    graceMs: numOpt(o, "reconcile_grace_ms", 0),
  };
  const provider: SmsProvider<Call> = {
    name: "aliyun-sms",
    concurrency: a.concurrency,
    now: ctx.now,
    notReady: () => (a.keyId && a.keySecret ? undefined : failed("stop", "missing_secret", "aliyun-sms: access_key_id and access_key_secret are required")),
    phone: mainlandDigits,
    badPhone: failed("recipient", "isv.MOBILE_NUMBER_ILLEGAL", "aliyun-sms: the member's number is not a mainland mobile number"),
    plan: planAliyunCalls,
    run: (call, out) => runCall(a, call, out),
    lookups: (req, phone, now) =>
      [...new Set([cnYmd(req.firstAttemptAt ?? now), cnYmd(now)])].map((d) => ({ key: `${phone}|${d}`, fetch: () => queryAll(a, phone, d) })),
    notFound: (req, _receipts, now) =>
      now - (req.firstAttemptAt ?? now) >= a.graceMs
        ? failed("retry", "not_found", "aliyun-sms: no record of this send at the provider; safe to send again")
        : undefined,
  };
  return smsInstance(provider, () => a.http.close());
}

const aliyunSms: Driver = {
  name: "aliyun-sms",
  contentKind: "sms",
  batchLimit: 100,
  batchSameContent: false,
  secrets: ["access_key_id", "access_key_secret"],
  paced: true,
  create,
};

export default aliyunSms;
