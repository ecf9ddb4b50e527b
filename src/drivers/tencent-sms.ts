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
import type { SmsContent } from "../content/types.js";
import { type HttpResult, createHttpClient, mapLimit, providerUrl, redact } from "./http.js";
import { TC3_CONTENT_TYPE, tc3Sign } from "./signing.js";
import { type Failed, failed, numOpt, strOpt } from "./common.js";
import { e164, groupId, nextCnHour, nextCnMidnight } from "./sms-common.js";

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

interface Item {
  index: number;
  req: SendRequest;
  phone: string;
  content: SmsContent;
}

interface Call {
  items: Item[];
  session: string;
}

/** Calls of one batch: identical content, same number region, ≤200 numbers, no number twice in a call. */
export function planTencentCalls(items: Item[]): Call[] {
  const groups = new Map<string, Item[]>();
  for (const it of items) {
    const intl = !it.phone.startsWith("+86");
    const k = JSON.stringify([it.req.campaign, it.req.occurrence, it.req.channel, it.content.sign, it.content.code, Object.values(it.content.params), intl]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(it);
  }
  const calls: Call[] = [];
  for (const g of groups.values()) {
    const chunks: Item[][] = [];
    for (const it of g) {
      const c = chunks.find((ch) => ch.length < 200 && !ch.some((x) => x.phone === it.phone));
      if (c) c.push(it);
      else chunks.push([it]);
    }
    for (const ch of chunks) calls.push({ items: ch, session: ch.length === 1 ? ch[0]!.req.dedupeId : groupId(ch[0]!.req) });
  }
  return calls;
}

function create(ctx: DriverContext): DriverInstance {
  const o = ctx.options ?? {};
  const http = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const url = providerUrl(ctx.baseUrl, TENCENT_DEFAULT_ORIGIN, "/");
  const host = new URL(url).hostname;
  const secretId = ctx.secrets.secret_id ?? "";
  const secretKey = ctx.secrets.secret_key ?? "";
  const appId = strOpt(o, "sdk_app_id") ?? "";
  const region = strOpt(o, "region") ?? "ap-guangzhou";
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 4)));
  const reportWaitMs = numOpt(o, "report_wait_ms", 600_000);
  const secrets = [secretId, secretKey];
  /** Keys that already got one "retry once" code. */
  const retriedOnce = new Set<string>();

  async function api(action: string, payload: Record<string, unknown>): Promise<HttpResult> {
    await ctx.acquire?.();
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(ctx.now() / 1000);
    const headers: Record<string, string> = { "content-type": TC3_CONTENT_TYPE, host, "x-tc-action": action };
    const sig = tc3Sign({ secretId, secretKey, service: "sms", timestamp, headers, signedHeaders: ["content-type", "host", "x-tc-action"], body });
    return http.call({
      method: "POST",
      url,
      body,
      headers: {
        "content-type": TC3_CONTENT_TYPE,
        "x-tc-action": action,
        "x-tc-version": TENCENT_VERSION,
        "x-tc-timestamp": String(timestamp),
        "x-tc-region": region,
        authorization: sig.authorization,
      },
    });
  }

  function codeOutcome(code: string, message: string, key: string): Failed {
    const msg = redact(`tencent-sms ${code}: ${message}`, secrets).slice(0, 300);
    if (RETRY_ONCE.has(code)) {
      if (retriedOnce.has(key)) return failed("request", code, msg);
      retriedOnce.add(key);
      return failed("retry", code, msg);
    }
    const cls = classifyTencentCode(code);
    const now = ctx.now();
    if (cls === "defer") return failed("defer", code, msg, tencentNotBefore(code, now));
    if (code === "LimitExceeded.AppDailyLimit" || code === "LimitExceeded.DailyLimit") return failed("stop", code, msg, nextCnMidnight(now));
    return failed(cls, code, msg);
  }

  /** A failure that applies to a whole call, from an answer without a usable `Response`. */
  function transportOutcome(res: HttpResult): Failed | undefined {
    if (!res.ok) return failed(res.sent ? "ambiguous" : "retry", res.code, `tencent-sms: ${res.message}`);
    const j = res.json as { Response?: unknown } | undefined;
    if (j && typeof j.Response === "object" && j.Response !== null) return undefined;
    if (res.status === 429) return failed("retry", "http_429", "tencent-sms: HTTP 429");
    if (res.status >= 500 || (res.status >= 200 && res.status < 300))
      return failed("ambiguous", res.status >= 500 ? `http_${res.status}` : "bad_answer", `tencent-sms: HTTP ${res.status} without a provider body`);
    return failed("request", `http_${res.status}`, `tencent-sms: HTTP ${res.status} without a provider body`);
  }

  async function runCall(call: Call, out: SendOutcome[]): Promise<void> {
    const c = call.items[0]!.content;
    const payload: Record<string, unknown> = {
      PhoneNumberSet: call.items.map((i) => i.phone),
      SmsSdkAppId: appId,
      SignName: c.sign,
      TemplateId: c.code,
      TemplateParamSet: Object.values(c.params),
      SessionContext: call.session,
    };
    const res = await api("SendSms", payload);
    const t = transportOutcome(res);
    if (t) {
      for (const it of call.items) out[it.index] = t;
      return;
    }
    const resp = ((res as { json: { Response: Record<string, unknown> } }).json.Response ?? {}) as {
      Error?: { Code?: unknown; Message?: unknown };
      SendStatusSet?: { PhoneNumber?: unknown; Code?: unknown; Message?: unknown; SerialNo?: unknown }[];
    };
    if (resp.Error && typeof resp.Error.Code === "string") {
      for (const it of call.items) out[it.index] = codeOutcome(resp.Error.Code, String(resp.Error.Message ?? ""), it.req.key);
      return;
    }
    const statuses = Array.isArray(resp.SendStatusSet) ? [...resp.SendStatusSet] : [];
    for (const it of call.items) {
      const j = statuses.findIndex((s) => typeof s?.PhoneNumber === "string" && e164(s.PhoneNumber) === it.phone);
      if (j < 0) {
        out[it.index] = failed("ambiguous", "missing_status", "tencent-sms: the answer carries no status for this number");
        continue;
      }
      const s = statuses.splice(j, 1)[0]!;
      const code = String(s.Code ?? "");
      if (code === "Ok") {
        out[it.index] = typeof s.SerialNo === "string" && s.SerialNo ? { status: "sent", providerId: s.SerialNo } : { status: "sent" };
      } else {
        out[it.index] = codeOutcome(code || "unknown", String(s.Message ?? ""), it.req.key);
      }
    }
  }

  interface Report {
    SerialNo: string;
    SessionContext?: string;
    ReportStatus: string;
    Description: string;
  }

  /** Reports of one number since `beginSec`, or undefined when the provider did not answer cleanly. */
  async function reportsOf(phone: string, beginSec: number, endSec: number): Promise<Report[] | undefined> {
    const all: Report[] = [];
    for (let page = 0; page < 10; page++) {
      const res = await api("PullSmsSendStatusByPhoneNumber", {
        BeginTime: beginSec,
        EndTime: endSec,
        Offset: page * 100,
        Limit: 100,
        PhoneNumber: phone,
        SmsSdkAppId: appId,
      });
      if (!res.ok) return undefined;
      const r = (res.json as { Response?: { Error?: unknown; PullSmsSendStatusSet?: Record<string, unknown>[] } } | undefined)?.Response;
      if (!r || r.Error || !Array.isArray(r.PullSmsSendStatusSet)) return undefined;
      for (const x of r.PullSmsSendStatusSet) {
        all.push({
          SerialNo: String(x.SerialNo ?? ""),
          SessionContext: typeof x.SessionContext === "string" ? x.SessionContext : undefined,
          ReportStatus: String(x.ReportStatus ?? ""),
          Description: String(x.Description ?? ""),
        });
      }
      if (r.PullSmsSendStatusSet.length < 100) return all;
    }
    return all;
  }

  return {
    async send(batch) {
      if (!secretId || !secretKey) return batch.map(() => failed("stop", "missing_secret", "tencent-sms: secret_id and secret_key are required"));
      if (!appId) return batch.map(() => failed("stop", "missing_option", "tencent-sms: options.sdk_app_id is required"));
      const out: SendOutcome[] = new Array(batch.length);
      const items: Item[] = [];
      batch.forEach((req, index) => {
        if (req.content?.kind !== "sms")
          return void (out[index] = failed("request", "content_kind", `tencent-sms: content of kind ${req.content?.kind} cannot be sent by this driver`));
        const phone = e164(req.address ?? "");
        if (!phone)
          return void (out[index] = failed(
            "recipient",
            "InvalidParameterValue.IncorrectPhoneNumber",
            "tencent-sms: the member's number is not a valid phone number",
          ));
        items.push({ index, req, phone, content: req.content });
      });
      await mapLimit(planTencentCalls(items), concurrency, (call) => runCall(call, out));
      return out;
    },

    /**
     * Pulls each number's reports over the send window (at most 7 days) and matches `SessionContext` = its
     * dedupeId or group id. SUCCESS → `sent`, FAIL → `recipient`. Nothing found once `report_wait_ms` has passed
     * since the first attempt, with no report lacking a SessionContext → `retry` (not sent); otherwise unknown.
     */
    async reconcile(requests) {
      const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
      if (!secretId || !secretKey || !appId) return out;
      const now = ctx.now();
      const used = new Set<string>();
      const cache = new Map<string, Promise<Report[] | undefined>>();
      await mapLimit(requests, concurrency, async (req, i) => {
        const phone = e164(req.address ?? "");
        if (!phone) return;
        const first = req.firstAttemptAt ?? now - 86_400_000;
        const begin = Math.max(Math.floor((first - 300_000) / 1000), Math.floor((now - 7 * 86_400_000) / 1000) + 60);
        const end = Math.ceil(now / 1000) + 60;
        const k = `${phone}|${begin}`;
        let p = cache.get(k);
        if (!p) cache.set(k, (p = reportsOf(phone, begin, end)));
        const reports = await p;
        if (!reports) return;
        const ids = new Set([req.dedupeId, groupId(req)]);
        const hit = reports.find((r) => r.SessionContext !== undefined && ids.has(r.SessionContext) && !used.has(r.SerialNo));
        if (hit) {
          used.add(hit.SerialNo);
          out[i] =
            hit.ReportStatus === "SUCCESS"
              ? { status: "sent", providerId: hit.SerialNo }
              : failed("recipient", "report_fail", `tencent-sms: the carrier report says undelivered (${hit.Description})`.slice(0, 300));
          return;
        }
        const blind = reports.some((r) => r.SessionContext === undefined);
        if (!blind && now - first >= reportWaitMs)
          out[i] = failed("retry", "not_found", "tencent-sms: no report of this send at the provider; safe to send again");
      });
      return out;
    },

    async close() {
      http.close();
    },
  };
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
