/**
 * Driver `tencent-sms`: Tencent Cloud SMS, API 3.0 `SendSms` version 2021-01-11 with TC3-HMAC-SHA256 (docs/channels.md).
 *
 * `TemplateParamSet` is one list for every number of a call, so a batch is split into calls of recipients of one
 * (campaign, occurrence) with identical sign, template and params, all domestic or all international, ≤200 numbers.
 * A single-number call carries the request's `dedupeId` as `SessionContext`; a multi-number call carries the
 * (campaign, occurrence, channel) id of `groupId` (one `SessionContext` per call). Every `SendStatusSet` element is
 * read: one call can succeed for some numbers and fail for others. Whether a code comes whole-call or per number is
 * (unverified) (§8.5): both go through `classifyTencentCode`.
 *
 * Options: `sdk_app_id` (required), `region` (default `ap-guangzhou`), `concurrency` (4), `report_wait_ms`
 * (600 000: how long after a first attempt a missing report counts as "not sent" on reconcile).
 */
import type { Driver, DriverContext, DriverInstance, OutcomeClass, SendOutcome, SendRequest } from "./types.js";
import { type HttpClient, type HttpResult, createHttpClient, providerUrl, redact } from "./http.js";
import { TC3_CONTENT_TYPE, tc3Sign } from "./signing.js";
import { type Failed, failed, numOpt, strOpt } from "./common.js";
import { type SmsItem, type SmsProvider, type SmsReceipt, answerlessOutcome, e164, groupId, nextCnHour, nextCnMidnight, smsInstance } from "./sms-common.js";

export const TENCENT_DEFAULT_ORIGIN = "https://sms.tencentcloudapi.com";
export const TENCENT_VERSION = "2021-01-11";

type FailClass = Exclude<OutcomeClass, "sent" | "queued">;

/** §8.5: code → class. `InternalError.OtherError` & co. are `retry` once per request, then `request`. */
export const TENCENT_ERROR_CLASSES: Record<string, FailClass> = {
  "LimitExceeded.PhoneNumberThirtySecondLimit": "defer",
  "LimitExceeded.PhoneNumberOneHourLimit": "defer",
  "LimitExceeded.PhoneNumberDailyLimit": "defer",
  "LimitExceeded.PhoneNumberSameContentDailyLimit": "defer",
  "LimitExceeded.DeliveryFrequencyLimit": "defer",
  "LimitExceeded.AppDailyLimit": "stop",
  "LimitExceeded.DailyLimit": "stop",
  "LimitExceeded.PhoneNumberCountLimit": "request",
  "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": "request",
  "MissingParameter.EmptyPhoneNumberSet": "request",
  RequestLimitExceeded: "retry",
  "InternalError.Timeout": "ambiguous",
  "InternalError.SendAndRecvFail": "ambiguous",
  "InternalError.OtherError": "retry",
  "InternalError.UnknownError": "retry",
  "InternalError.JsonParseFail": "retry",
  "InternalError.RequestTimeException": "stop",
  "AuthFailure.SignatureExpire": "stop",
  "AuthFailure.SignatureFailure": "stop",
  "AuthFailure.SecretIdNotFound": "stop",
  "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "stop",
  "UnauthorizedOperation.RequestIpNotInWhitelist": "stop",
  "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": "stop",
  "UnauthorizedOperation.SerivceSuspendDueToArrears": "stop",
  "FailedOperation.InsufficientBalanceInSmsPackage": "stop",
  "FailedOperation.MarketingSendTimeConstraint": "defer",
  "InvalidParameterValue.IncorrectPhoneNumber": "recipient",
  "FailedOperation.PhoneNumberInBlacklist": "recipient",
  "FailedOperation.SignatureIncorrectOrUnapproved": "request",
  "FailedOperation.TemplateIncorrectOrUnapproved": "request",
  "FailedOperation.ContainSensitiveWord": "request",
  "InvalidParameterValue.ContentLengthLimit": "request",
  "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": "request",
  "InvalidParameterValue.TemplateParameterLengthLimit": "request",
  "InvalidParameterValue.TemplateParameterFormatError": "request",
};

/** Codes retried once per request, then `request` (§8.5). */
const RETRY_ONCE = new Set(["InternalError.OtherError", "InternalError.UnknownError", "InternalError.JsonParseFail"]);

export function classifyTencentCode(code: string): FailClass {
  const c = TENCENT_ERROR_CLASSES[code];
  if (c) return c;
  if (code === "InternalError" || code.startsWith("InternalError.")) return "retry";
  if (code.startsWith("AuthFailure") || code.startsWith("UnauthorizedOperation")) return "stop";
  if (code.startsWith("LimitExceeded")) return "defer";
  return "request";
}

/** The not-before of a `defer` code (§8.5), from `now`. */
export function tencentNotBefore(code: string, now: number): number {
  switch (code) {
    case "LimitExceeded.PhoneNumberThirtySecondLimit":
      return now + 30_000;
    case "LimitExceeded.PhoneNumberDailyLimit":
    case "LimitExceeded.PhoneNumberSameContentDailyLimit":
      return nextCnMidnight(now);
    case "FailedOperation.MarketingSendTimeConstraint":
      return nextCnHour(now, 8);
    default:
      return now + 3_600_000;
  }
}

interface Call {
  items: SmsItem[];
  session: string;
}

/** Calls of one batch: identical content, same number region, ≤200 numbers, no number twice in a call. */
export function planTencentCalls(items: SmsItem[]): Call[] {
  const groups = new Map<string, SmsItem[]>();
  for (const it of items) {
    const intl = !it.phone.startsWith("+86");
    const k = JSON.stringify([it.req.campaign, it.req.occurrence, it.req.channel, it.content.sign, it.content.code, Object.values(it.content.params), intl]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(it);
  }
  const calls: Call[] = [];
  for (const g of groups.values()) {
    const chunks: SmsItem[][] = [];
    for (const it of g) {
      const c = chunks.find((ch) => ch.length < 200 && !ch.some((x) => x.phone === it.phone));
      if (c) c.push(it);
      else chunks.push([it]);
    }
    for (const ch of chunks) calls.push({ items: ch, session: ch.length === 1 ? ch[0]!.req.dedupeId : groupId(ch[0]!.req) });
  }
  return calls;
}

/** One channel's client: its options and secrets, the HTTP client of its instance, and the keys retried once. */
interface Tencent {
  ctx: DriverContext;
  http: HttpClient;
  url: string;
  host: string;
  secretId: string;
  secretKey: string;
  appId: string;
  region: string;
  /** Keys that already got one "retry once" code. */
  retriedOnce: Set<string>;
}

async function api(t: Tencent, action: string, payload: Record<string, unknown>): Promise<HttpResult> {
  await t.ctx.acquire?.();
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(t.ctx.now() / 1000);
  const headers: Record<string, string> = { "content-type": TC3_CONTENT_TYPE, host: t.host, "x-tc-action": action };
  const { secretId, secretKey } = t;
  const sig = tc3Sign({ secretId, secretKey, service: "sms", timestamp, headers, signedHeaders: ["content-type", "host", "x-tc-action"], body });
  return t.http.call({
    method: "POST",
    url: t.url,
    body,
    headers: {
      "content-type": TC3_CONTENT_TYPE,
      "x-tc-action": action,
      "x-tc-version": TENCENT_VERSION,
      "x-tc-timestamp": String(timestamp),
      "x-tc-region": t.region,
      authorization: sig.authorization,
    },
  });
}

function codeOutcome(t: Tencent, code: string, message: string, key: string): Failed {
  const msg = redact(`tencent-sms ${code}: ${message}`, [t.secretId, t.secretKey]).slice(0, 300);
  if (RETRY_ONCE.has(code)) {
    if (t.retriedOnce.has(key)) return failed("request", code, msg);
    t.retriedOnce.add(key);
    return failed("retry", code, msg);
  }
  const cls = classifyTencentCode(code);
  const now = t.ctx.now();
  if (cls === "defer") return failed("defer", code, msg, tencentNotBefore(code, now));
  if (code === "LimitExceeded.AppDailyLimit" || code === "LimitExceeded.DailyLimit") return failed("stop", code, msg, nextCnMidnight(now));
  return failed(cls, code, msg);
}

type SendStatus = { PhoneNumber?: unknown; Code?: unknown; Message?: unknown; SerialNo?: unknown };

async function runCall(t: Tencent, call: Call, out: SendOutcome[]): Promise<void> {
  const c = call.items[0]!.content;
  const res = await api(t, "SendSms", {
    PhoneNumberSet: call.items.map((i) => i.phone),
    SmsSdkAppId: t.appId,
    SignName: c.sign,
    TemplateId: c.code,
    TemplateParamSet: Object.values(c.params),
    SessionContext: call.session,
  });
  const j = res.ok ? (res.json as { Response?: unknown } | undefined) : undefined;
  if (!j || typeof j.Response !== "object" || j.Response === null) {
    const whole = answerlessOutcome("tencent-sms", res);
    for (const it of call.items) out[it.index] = whole;
    return;
  }
  const resp = j.Response as { Error?: { Code?: unknown; Message?: unknown }; SendStatusSet?: SendStatus[] };
  if (resp.Error && typeof resp.Error.Code === "string") {
    for (const it of call.items) out[it.index] = codeOutcome(t, resp.Error.Code, String(resp.Error.Message ?? ""), it.req.key);
    return;
  }
  const statuses = Array.isArray(resp.SendStatusSet) ? [...resp.SendStatusSet] : [];
  for (const it of call.items) {
    const k = statuses.findIndex((s) => typeof s?.PhoneNumber === "string" && e164(s.PhoneNumber) === it.phone);
    if (k < 0) {
      out[it.index] = failed("ambiguous", "missing_status", "tencent-sms: the answer carries no status for this number");
      continue;
    }
    const s = statuses.splice(k, 1)[0]!;
    const code = String(s.Code ?? "");
    if (code === "Ok") out[it.index] = typeof s.SerialNo === "string" && s.SerialNo ? { status: "sent", providerId: s.SerialNo } : { status: "sent" };
    else out[it.index] = codeOutcome(t, code || "unknown", String(s.Message ?? ""), it.req.key);
  }
}

/** Reports of one number between two times (`PullSmsSendStatusByPhoneNumber`), or undefined when the provider did not answer cleanly. */
async function reportsOf(t: Tencent, phone: string, beginSec: number, endSec: number): Promise<SmsReceipt[] | undefined> {
  const all: SmsReceipt[] = [];
  for (let page = 0; page < 10; page++) {
    const res = await api(t, "PullSmsSendStatusByPhoneNumber", {
      BeginTime: beginSec,
      EndTime: endSec,
      Offset: page * 100,
      Limit: 100,
      PhoneNumber: phone,
      SmsSdkAppId: t.appId,
    });
    if (!res.ok) return undefined;
    const r = (res.json as { Response?: { Error?: unknown; PullSmsSendStatusSet?: Record<string, unknown>[] } } | undefined)?.Response;
    if (!r || r.Error || !Array.isArray(r.PullSmsSendStatusSet)) return undefined;
    for (const x of r.PullSmsSendStatusSet) {
      const serial = String(x.SerialNo ?? "");
      all.push({
        uid: serial,
        ref: typeof x.SessionContext === "string" ? x.SessionContext : undefined,
        outcome:
          String(x.ReportStatus ?? "") === "SUCCESS"
            ? { status: "sent", providerId: serial }
            : failed("recipient", "report_fail", `tencent-sms: the carrier report says undelivered (${String(x.Description ?? "")})`.slice(0, 300)),
      });
    }
    if (r.PullSmsSendStatusSet.length < 100) return all;
  }
  return all;
}

/**
 * Reconcile pulls each number's reports over the send window (at most 7 days) and matches `SessionContext`. SUCCESS →
 * `sent`, FAIL → `recipient`. Nothing found once `report_wait_ms` has passed since the first attempt, with no report
 * lacking a SessionContext → `retry` (not sent); otherwise unknown.
 */
function create(ctx: DriverContext): DriverInstance {
  const o = ctx.options ?? {};
  const url = providerUrl(ctx.baseUrl, TENCENT_DEFAULT_ORIGIN, "/");
  const t: Tencent = {
    ctx,
    http: createHttpClient({ timeoutMs: ctx.timeoutMs }),
    url,
    host: new URL(url).hostname,
    secretId: ctx.secrets.secret_id ?? "",
    secretKey: ctx.secrets.secret_key ?? "",
    appId: strOpt(o, "sdk_app_id") ?? "",
    region: strOpt(o, "region") ?? "ap-guangzhou",
    retriedOnce: new Set(),
  };
  const reportWaitMs = numOpt(o, "report_wait_ms", 600_000);
  const firstAttempt = (req: SendRequest, now: number) => req.firstAttemptAt ?? now - 86_400_000;
  const provider: SmsProvider<Call> = {
    name: "tencent-sms",
    concurrency: Math.max(1, Math.floor(numOpt(o, "concurrency", 4))),
    now: ctx.now,
    notReady: () => {
      if (!t.secretId || !t.secretKey) return failed("stop", "missing_secret", "tencent-sms: secret_id and secret_key are required");
      return t.appId ? undefined : failed("stop", "missing_option", "tencent-sms: options.sdk_app_id is required");
    },
    phone: e164,
    badPhone: failed("recipient", "InvalidParameterValue.IncorrectPhoneNumber", "tencent-sms: the member's number is not a valid phone number"),
    plan: planTencentCalls,
    run: (call, out) => runCall(t, call, out),
    lookups: (req, phone, now) => {
      const begin = Math.max(Math.floor((firstAttempt(req, now) - 300_000) / 1000), Math.floor((now - 7 * 86_400_000) / 1000) + 60);
      return [{ key: `${phone}|${begin}`, fetch: () => reportsOf(t, phone, begin, Math.ceil(now / 1000) + 60) }];
    },
    notFound: (req, receipts, now) =>
      receipts.every((r) => r.ref !== undefined) && now - firstAttempt(req, now) >= reportWaitMs
        ? failed("retry", "not_found", "tencent-sms: no report of this send at the provider; safe to send again")
        : undefined,
  };
  return smsInstance(provider, () => t.http.close());
}

const tencentSms: Driver = {
  name: "tencent-sms",
  contentKind: "sms",
  batchLimit: 200,
  batchSameContent: true,
  secrets: ["secret_id", "secret_key"],
  paced: true,
  create,
};

export default tencentSms;
