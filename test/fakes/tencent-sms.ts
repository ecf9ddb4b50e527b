/**
 * Loopback fake of Tencent Cloud SMS, API 3.0 version 2021-01-11 (docs/channels.md):
 * `POST /` with `X-TC-Action` = `SendSms`, `PullSmsSendStatus`, `PullSmsSendStatusByPhoneNumber`.
 *
 * Verifies TC3-HMAC-SHA256 over exactly the `SignedHeaders` the request lists (the port stripped from `Host`),
 * the credential date (UTC date of `X-TC-Timestamp`), service `sms`, a 5-minute timestamp window, the SecretId,
 * `X-TC-Version`, and the body rules of §8.4. Keeps per-number 30 s / 1 h / day counters, an app daily counter, a
 * package balance, a blacklist, marketing templates (refused outside 08:00–22:00 Asia/Shanghai on the fake clock),
 * and a report queue served by the Pull APIs after `reportDelayMs`.
 *
 * The fake's choices where the provider's behaviour is unverified: per-number problems come back in
 * `SendStatusSet[].Code`; whole-call problems (auth, app, template, marketing window, rate) in `Response.Error`
 * with HTTP 200. `recipientErrors` codes are per-number.
 */
import { randomUUID } from "node:crypto";
import { parseTc3Authorization, safeEqual, tc3Date, tc3Sign } from "../../src/drivers/signing.js";
import {
  type CommonFakeOptions,
  type Fault,
  type FaultLogEntry,
  type FakeRequest,
  type FakeResponse,
  FaultInjector,
  RateLimiter,
  startFakeServer,
} from "./common.js";

export interface TencentTemplateDef {
  /** Number of positional parameters `{1}`…`{n}`. */
  params: number;
  /** Marketing template: refused outside 08:00–22:00 Asia/Shanghai. */
  marketing?: boolean;
  /** Template text, for `Fee` (segments). */
  text?: string;
}

export interface TencentSmsFakeOptions extends CommonFakeOptions {
  /** SecretId → SecretKey. Default `{ AKIDtest: "testsecretkey" }`. */
  secrets?: Record<string, string>;
  /** Known SmsSdkAppIds. Default `["1400000000"]`. */
  sdkAppIds?: string[];
  /** Approved signs; default any. */
  signs?: string[];
  /** Approved templates by TemplateId; default any id with any params. */
  templates?: Record<string, TencentTemplateDef>;
  /** Per-number limits (all templates together); default none. */
  perNumber?: { thirtySeconds?: number; oneHour?: number; daily?: number };
  /** Successful numbers per Asia/Shanghai day for the app; beyond: whole-call `LimitExceeded.AppDailyLimit`. */
  appDailyLimit?: number;
  /** Package balance in segments; default ∞. */
  balance?: number;
  /** Numbers (E.164 or 11 digits) that answer `FailedOperation.PhoneNumberInBlacklist`. */
  blacklist?: string[];
  /** Fake-time delay before a report appears. Default 5000 ms. */
  reportDelayMs?: number;
  /** Number → `Description` of a FAIL report. */
  deliveryFailures?: Record<string, string>;
  /** Whether reports carry `SessionContext` (Tencent enables it on request). Default true. */
  reportSessionContext?: boolean;
}

export interface TencentDelivery {
  phone: string;
  serialNo: string;
  sessionContext: string;
  templateId: string;
  params: string[];
  sign: string;
  fee: number;
  at: number;
}

export interface TencentReport {
  UserReceiveTime: string;
  CountryCode: string;
  SubscriberNumber: string;
  PhoneNumber: string;
  SerialNo: string;
  ReportStatus: "SUCCESS" | "FAIL";
  Description: string;
  SessionContext?: string;
}

export interface TencentCall {
  action: string;
  numbers: number;
  /** `Ok` when no whole-call error, else the error code. */
  code: string;
  sessionContext?: string;
}

export interface TencentSmsFake {
  url: string;
  close(): Promise<void>;
  script(...faults: Fault[]): void;
  deliveries(): TencentDelivery[];
  /** Reports visible now (fake clock). */
  reports(phone?: string): TencentReport[];
  faults(): FaultLogEntry[];
  calls(): TencentCall[];
  blacklist(phone: string): void;
  setBalance(n: number): void;
}

const ACTIONS = new Set(["SendSms", "PullSmsSendStatus", "PullSmsSendStatusByPhoneNumber"]);
const CN = 8 * 3600_000;
const DAY = 86_400_000;

/** E.164 (`+86…`), accepting the domestic forms `86…`, `0086…` and bare 11 digits; undefined when malformed. */
export function tencentPhone(raw: string): string | undefined {
  const s = raw.trim();
  const cn = /^(?:\+86|0086|86)?(1\d{10})$/.exec(s);
  if (cn) return `+86${cn[1]}`;
  if (/^\+[1-9]\d{6,14}$/.test(s) && !s.startsWith("+86")) return s;
  return undefined;
}

function segments(n: number): number {
  return n <= 70 ? 1 : Math.ceil(n / 67);
}

const pad = (n: number) => String(n).padStart(2, "0");
function cnDateTime(ms: number): string {
  const d = new Date(ms + CN);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export async function startTencentSmsFake(opts: TencentSmsFakeOptions = {}): Promise<TencentSmsFake> {
  const clock = opts.clock ?? (() => Date.now());
  const injector = new FaultInjector(opts, clock);
  const limiter = new RateLimiter(opts.rateLimit, clock);
  const secrets = opts.secrets ?? { AKIDtest: "testsecretkey" };
  const appIds = new Set(opts.sdkAppIds ?? ["1400000000"]);
  const blacklist = new Set((opts.blacklist ?? []).map((p) => tencentPhone(p) ?? p));
  const recipientErrors = new Map(Object.entries(opts.recipientErrors ?? {}).map(([k, v]) => [tencentPhone(k) ?? k, String(v)]));
  const failures = new Map(Object.entries(opts.deliveryFailures ?? {}).map(([k, v]) => [tencentPhone(k) ?? k, v]));
  const reportDelay = opts.reportDelayMs ?? 5000;
  const withSession = opts.reportSessionContext ?? true;
  let balance = opts.balance ?? Number.POSITIVE_INFINITY;
  const sends = new Map<string, number[]>();
  const appDaily = new Map<number, number>();
  const ledger: TencentDelivery[] = [];
  const pulled = new Set<string>();
  const calls: TencentCall[] = [];
  let serial = 1;

  const error = (code: string, message: string): FakeResponse => ({ body: { Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } } });
  const ok = (fields: Record<string, unknown>): FakeResponse => ({ body: { Response: { ...fields, RequestId: randomUUID() } } });

  function header(req: FakeRequest, name: string): string | undefined {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  /** Signature and common headers; undefined when the request passes. */
  function verify(req: FakeRequest): FakeResponse | undefined {
    const auth = parseTc3Authorization(header(req, "authorization"));
    if (!auth) return error("AuthFailure.InvalidAuthorization", "Authorization header is missing or malformed.");
    const ts = Number(header(req, "x-tc-timestamp"));
    if (!Number.isInteger(ts)) return error("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or malformed.");
    const key = secrets[auth.secretId];
    if (key === undefined) return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.");
    if (auth.service !== "sms") return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated: service must be sms.");
    if (auth.date !== tc3Date(ts))
      return error(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated: the credential date is not the UTC date of X-TC-Timestamp.",
      );
    if (!auth.signedHeaders.includes("content-type") || !auth.signedHeaders.includes("host")) {
      return error("AuthFailure.SignatureFailure", "SignedHeaders must include content-type and host.");
    }
    const headers: Record<string, string> = {};
    for (const h of auth.signedHeaders) {
      let v = header(req, h) ?? "";
      if (h === "host") v = v.replace(/:\d+$/, "");
      headers[h] = v;
    }
    const expected = tc3Sign({
      secretId: auth.secretId,
      secretKey: key,
      service: "sms",
      timestamp: ts,
      headers,
      signedHeaders: auth.signedHeaders,
      body: req.raw,
      date: auth.date,
    });
    if (!safeEqual(expected.signature, auth.signature))
      return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.");
    if (Math.abs(clock() - ts * 1000) > 5 * 60_000)
      return error("AuthFailure.SignatureExpire", "Signature expired. Timestamp and server time cannot differ by more than 5 minutes.");
    if (header(req, "x-tc-version") !== "2021-01-11") return error("NoSuchVersion", "The requested version does not exist or is not supported.");
    const action = header(req, "x-tc-action") ?? "";
    if (!ACTIONS.has(action)) return error("InvalidAction", `The action ${action} is not supported.`);
    if (req.jsonError || typeof req.json !== "object" || req.json === null || Array.isArray(req.json))
      return error("InternalError.JsonParseFail", "The request body is not a JSON object.");
    return undefined;
  }

  function counted(phone: string, now: number, windowMs: number): number {
    return (sends.get(phone) ?? []).filter((t) => now - t < windowMs).length;
  }

  function sendSms(b: Record<string, unknown>): { res: FakeResponse; numbers: number } {
    const set = b.PhoneNumberSet;
    if (!Array.isArray(set) || set.length === 0) return { res: error("MissingParameter.EmptyPhoneNumberSet", "The PhoneNumberSet is empty."), numbers: 0 };
    if (set.length > 200) return { res: error("LimitExceeded.PhoneNumberCountLimit", "More than 200 numbers in one call."), numbers: set.length };
    const appId = String(b.SmsSdkAppId ?? "");
    if (!appIds.has(appId)) return { res: error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed."), numbers: set.length };
    const tid = String(b.TemplateId ?? "");
    if (!tid) return { res: error("MissingParameter", "TemplateId is required."), numbers: set.length };
    const tpl = opts.templates?.[tid];
    if (opts.templates && !tpl)
      return { res: error("FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved or does not exist."), numbers: set.length };
    const params = b.TemplateParamSet === undefined ? [] : b.TemplateParamSet;
    if (!Array.isArray(params) || params.some((p) => typeof p !== "string"))
      return { res: error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet must be strings."), numbers: set.length };
    if (tpl && params.length !== tpl.params)
      return { res: error("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "TemplateParamSet does not match the template."), numbers: set.length };
    const raw = set.map((p) => (typeof p === "string" ? p.trim() : ""));
    const intl = raw.map((p) => p.startsWith("+") && !p.startsWith("+86"));
    if (intl.some((x) => x) && intl.some((x) => !x))
      return {
        res: error("UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber", "Domestic and international numbers in one call."),
        numbers: set.length,
      };
    const sign = typeof b.SignName === "string" ? b.SignName : "";
    if (!intl[0]) {
      if (!sign) return { res: error("MissingParameter", "SignName is required for domestic SMS."), numbers: set.length };
      if ((opts.signs && !opts.signs.includes(sign)) || [...sign].length < 2 || [...sign].length > 12) {
        return { res: error("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is not approved or does not exist."), numbers: set.length };
      }
    }
    const now = clock();
    if (tpl?.marketing) {
      const h = new Date(now + CN).getUTCHours();
      if (h < 8 || h >= 22)
        return { res: error("FailedOperation.MarketingSendTimeConstraint", "Marketing SMS may only be sent 08:00-22:00."), numbers: set.length };
    }
    const day = Math.floor((now + CN) / DAY);
    if (opts.appDailyLimit !== undefined && (appDaily.get(day) ?? 0) >= opts.appDailyLimit) {
      return { res: error("LimitExceeded.AppDailyLimit", "The app's daily limit is reached."), numbers: set.length };
    }
    const text = `【${sign}】${tpl?.text ? tpl.text.replace(/\{(\d+)\}/g, (_, n: string) => String(params[Number(n) - 1] ?? "")) : params.join("")}`;
    const fee = segments([...text].length);
    const session = typeof b.SessionContext === "string" ? b.SessionContext : "";
    const statuses = raw.map((input) => {
      const base = { SerialNo: "", PhoneNumber: input, Fee: 0, SessionContext: session, IsoCode: "CN" };
      const phone = tencentPhone(input);
      if (!phone) return { ...base, Code: "InvalidParameterValue.IncorrectPhoneNumber", Message: "incorrect phone number" };
      const rc = recipientErrors.get(phone);
      if (rc) return { ...base, PhoneNumber: phone, Code: rc, Message: "injected" };
      if (blacklist.has(phone))
        return { ...base, PhoneNumber: phone, Code: "FailedOperation.PhoneNumberInBlacklist", Message: "the number is in the blacklist" };
      const pn = opts.perNumber;
      if (pn?.thirtySeconds !== undefined && counted(phone, now, 30_000) >= pn.thirtySeconds)
        return { ...base, PhoneNumber: phone, Code: "LimitExceeded.PhoneNumberThirtySecondLimit", Message: "30 s limit" };
      if (pn?.oneHour !== undefined && counted(phone, now, 3600_000) >= pn.oneHour)
        return { ...base, PhoneNumber: phone, Code: "LimitExceeded.PhoneNumberOneHourLimit", Message: "1 h limit" };
      if (pn?.daily !== undefined && counted(phone, now, DAY) >= pn.daily)
        return { ...base, PhoneNumber: phone, Code: "LimitExceeded.PhoneNumberDailyLimit", Message: "daily limit" };
      if (balance < fee) return { ...base, PhoneNumber: phone, Code: "FailedOperation.InsufficientBalanceInSmsPackage", Message: "insufficient balance" };
      balance -= fee;
      const serialNo = `2028:${String(serial++).padStart(20, "0")}`;
      sends.set(phone, [...(sends.get(phone) ?? []).filter((t) => now - t < DAY), now]);
      appDaily.set(day, (appDaily.get(day) ?? 0) + 1);
      ledger.push({ phone, serialNo, sessionContext: session, templateId: tid, params: params as string[], sign, fee, at: now });
      return { ...base, PhoneNumber: phone, SerialNo: serialNo, Fee: fee, Code: "Ok", Message: "send success" };
    });
    return { res: ok({ SendStatusSet: statuses }), numbers: set.length };
  }

  function reportOf(d: TencentDelivery): TencentReport {
    const fail = failures.get(d.phone);
    const r: TencentReport = {
      UserReceiveTime: cnDateTime(d.at + reportDelay),
      CountryCode: d.phone.startsWith("+86") ? "86" : "",
      SubscriberNumber: d.phone.startsWith("+86") ? d.phone.slice(3) : d.phone.slice(1),
      PhoneNumber: d.phone,
      SerialNo: d.serialNo,
      ReportStatus: fail ? "FAIL" : "SUCCESS",
      Description: fail ?? "用户接收成功",
    };
    if (withSession && d.sessionContext) r.SessionContext = d.sessionContext;
    return r;
  }

  const visible = () => ledger.filter((d) => clock() >= d.at + reportDelay);

  function pullByPhone(b: Record<string, unknown>): FakeResponse {
    if (!appIds.has(String(b.SmsSdkAppId ?? ""))) return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed.");
    const phone = typeof b.PhoneNumber === "string" ? tencentPhone(b.PhoneNumber) : undefined;
    if (!phone) return error("InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number");
    const begin = Number(b.BeginTime);
    const end = b.EndTime === undefined ? Math.floor(clock() / 1000) : Number(b.EndTime);
    const limit = Number(b.Limit);
    const offset = Number(b.Offset ?? 0);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || !Number.isInteger(limit) || !Number.isInteger(offset))
      return error("InvalidParameter", "BeginTime, EndTime, Offset and Limit are integers.");
    if (limit < 1 || limit > 100) return error("InvalidParameterValue", "Limit is 1-100.");
    if (clock() / 1000 - begin > 7 * 86_400) return error("InvalidParameterValue", "BeginTime is at most 7 days back.");
    const rows = visible()
      .filter((d) => d.phone === phone && d.at / 1000 >= begin && d.at / 1000 <= end)
      .map(reportOf);
    return ok({ PullSmsSendStatusSet: rows.slice(offset, offset + limit) });
  }

  function pull(b: Record<string, unknown>): FakeResponse {
    if (!appIds.has(String(b.SmsSdkAppId ?? ""))) return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed.");
    const limit = Number(b.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return error("InvalidParameterValue", "Limit is 1-100.");
    const rows = visible()
      .filter((d) => !pulled.has(d.serialNo))
      .slice(0, limit);
    for (const d of rows) pulled.add(d.serialNo);
    return ok({ PullSmsSendStatusSet: rows.map(reportOf) });
  }

  function handler(req: FakeRequest): FakeResponse {
    const action = header(req, "x-tc-action") ?? "";
    const record = (res: FakeResponse, numbers: number, session?: string) => {
      const e = (res.body as { Response?: { Error?: { Code?: string } } }).Response?.Error?.Code;
      calls.push({ action, numbers, code: e ?? "Ok", sessionContext: session });
      return res;
    };
    if (req.method !== "POST" || req.path !== "/") return record(error("InvalidAction", "Only POST / is served."), 0);
    const bad = verify(req);
    if (bad) return record(bad, 0);
    const b = req.json as Record<string, unknown>;
    if (action === "SendSms") {
      if (limiter.hit()) return record(error("RequestLimitExceeded", "Your current request times exceed the limit."), 0);
      const r = sendSms(b);
      return record(r.res, r.numbers, typeof b.SessionContext === "string" ? b.SessionContext : undefined);
    }
    if (action === "PullSmsSendStatusByPhoneNumber") return record(pullByPhone(b), 0);
    return record(pull(b), 0);
  }

  const server = await startFakeServer({
    handler,
    injector,
    faultable: (r) => {
      const a = r.headers["x-tc-action"];
      return (Array.isArray(a) ? a[0] : a) === "SendSms";
    },
    httpErrorBody: () => ({ Response: { Error: { Code: "InternalError", Message: "An internal error has occurred." }, RequestId: randomUUID() } }),
    errorBody: (code) => ({ Response: { Error: { Code: String(code), Message: `injected ${code}` }, RequestId: randomUUID() } }),
    contentType: "application/json",
  });

  return {
    url: server.url,
    close: server.close,
    script: (...f) => injector.push(...f),
    deliveries: () => [...ledger],
    reports: (phone) =>
      visible()
        .filter((d) => phone === undefined || d.phone === (tencentPhone(phone) ?? phone))
        .map(reportOf),
    faults: () => [...injector.log],
    calls: () => [...calls],
    blacklist: (p) => void blacklist.add(tencentPhone(p) ?? p),
    setBalance: (n) => void (balance = n),
  };
}
