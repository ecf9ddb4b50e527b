/**
 * Loopback fake of Aliyun SMS, dysmsapi RPC (docs/channels.md): `GET|POST /` with `Action` =
 * `SendSms`, `SendBatchSms`, `QuerySendDetails`.
 *
 * Verifies the RPC signature (recomputed from the received parameters and method), the AccessKeyId, the
 * timestamp (15 minutes), nonce reuse (15 minutes), `Version` / `SignatureMethod` / `SignatureVersion` / `Format`,
 * and the business rules of §7.4. Keeps per (sign, template, number) rolling-24 h counters (`isv.BUSINESS_LIMIT_CONTROL`
 * at 50), a balance (`isv.AMOUNT_NOT_ENOUGH`), and receipts per (phone, send date) that turn from `SendStatus` 1 to
 * 3 (or 2 for numbers given in `deliveryFailures`) after `receiptDelayMs` of fake time.
 *
 * The fake's choices where the provider's behaviour is unverified: in a call with several numbers, one bad or
 * over-limit number fails the whole call with its code (there is one `Code` per call); `Throttling.User` is HTTP 400.
 */
import { randomUUID } from "node:crypto";
import { aliyunSignature } from "../../src/drivers/signing.js";
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

export interface AliyunTemplateDef {
  /** Parameter names the template needs (`${name}`). */
  params: string[];
  /** Template text with `${var}` placeholders, for `Content` in receipts. */
  text?: string;
}

export interface AliyunSmsFakeOptions extends CommonFakeOptions {
  /** AccessKeyId → AccessKeySecret. Default `{ testid: "testsecret" }`. */
  accessKeys?: Record<string, string>;
  /** Approved signs; default: any. */
  signs?: string[];
  /** Approved templates by code; default: any code, any params. */
  templates?: Record<string, AliyunTemplateDef>;
  /** Per (sign, template, number) sends per rolling 24 h. Default 50. */
  perNumberDailyLimit?: number;
  /** Messages left on the account; default ∞. */
  balance?: number;
  /** Fake-time delay before a receipt turns final. Default 5000 ms. */
  receiptDelayMs?: number;
  /** Phone (11 digits) → `ErrCode` of a delivery failure that shows only in QuerySendDetails (`SendStatus` 2). */
  deliveryFailures?: Record<string, string>;
}

export interface AliyunDelivery {
  action: "SendSms" | "SendBatchSms";
  /** 11 digits. */
  phone: string;
  sign: string;
  template: string;
  params: Record<string, string>;
  outId?: string;
  bizId: string;
  at: number;
}

export interface AliyunReceipt {
  PhoneNum: string;
  SendStatus: number;
  ErrCode: string;
  TemplateCode: string;
  Content: string;
  SendDate: string;
  ReceiveDate: string;
  OutId: string;
}

export interface AliyunCall {
  action: string;
  method: string;
  numbers: number;
  code: string;
  outId?: string;
}

export interface AliyunSmsFake {
  url: string;
  close(): Promise<void>;
  script(...faults: Fault[]): void;
  /** Accepted recipients, one entry per number. */
  deliveries(): AliyunDelivery[];
  /** Receipts as QuerySendDetails would show them now (fake clock), optionally for one phone. */
  receipts(phone?: string): AliyunReceipt[];
  faults(): FaultLogEntry[];
  /** Every call that reached the handler (faults aside), with the `Code` answered. */
  calls(): AliyunCall[];
  setBalance(n: number): void;
  setDeliveryFailure(phone: string, errCode: string): void;
}

const SEND_ACTIONS = new Set(["SendSms", "SendBatchSms"]);
const NONCE_WINDOW_MS = 15 * 60_000;
const SKEW_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
const CN = 8 * 3600_000;

/** `+86`/`0086`/`86`-prefixed or bare 11-digit mainland numbers → 11 digits; anything else → undefined. */
export function aliyunPhone(raw: string): string | undefined {
  const m = /^(?:\+86|0086|86)?(1\d{10})$/.exec(raw.trim());
  return m ? m[1] : undefined;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `yyyy-MM-dd HH:mm:ss` in UTC+8. */
export function cnDateTime(ms: number): string {
  const d = new Date(ms + CN);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `yyyyMMdd` in UTC+8. */
export function cnDate(ms: number): string {
  return cnDateTime(ms).slice(0, 10).replace(/-/g, "");
}

export async function startAliyunSmsFake(opts: AliyunSmsFakeOptions = {}): Promise<AliyunSmsFake> {
  const clock = opts.clock ?? (() => Date.now());
  const injector = new FaultInjector(opts, clock);
  const limiter = new RateLimiter(opts.rateLimit, clock);
  const keys = opts.accessKeys ?? { testid: "testsecret" };
  const perNumberLimit = opts.perNumberDailyLimit ?? 50;
  const receiptDelay = opts.receiptDelayMs ?? 5000;
  const deliveryFailures = new Map(Object.entries(opts.deliveryFailures ?? {}));
  const recipientErrors = new Map(Object.entries(opts.recipientErrors ?? {}).map(([k, v]) => [aliyunPhone(k) ?? k, String(v)]));
  let balance = opts.balance ?? Number.POSITIVE_INFINITY;
  const nonces = new Map<string, number>();
  /** `${sign}|${template}|${phone}` → send times (rolling 24 h). */
  const counters = new Map<string, number[]>();
  const ledger: AliyunDelivery[] = [];
  const calls: AliyunCall[] = [];
  let bizSeq = 900619746936498;

  const requestId = () => randomUUID().toUpperCase();
  const gateway = (status: number, code: string, message: string): FakeResponse => ({
    status,
    body: { Code: code, Message: message, RequestId: requestId(), HostId: "dysmsapi.aliyuncs.com", Recommend: `https://api.aliyun.com/troubleshoot?q=${code}` },
  });
  const biz = (code: string, message: string): FakeResponse => ({ body: { Code: code, Message: message, RequestId: requestId() } });

  function params(req: FakeRequest): Record<string, string> {
    const src = req.method === "POST" && req.raw ? new URLSearchParams(req.raw) : req.query;
    const out: Record<string, string> = {};
    for (const [k, v] of src) out[k] = v;
    // Parameters may also be split between query and body.
    if (req.method === "POST") for (const [k, v] of req.query) if (!(k in out)) out[k] = v;
    return out;
  }

  /** Common-parameter and signature checks; undefined when the request passes. */
  function verify(method: string, p: Record<string, string>): FakeResponse | undefined {
    for (const k of ["AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp", "Version", "Action"]) {
      if (!p[k]) return gateway(400, `MissingParameter`, `The input parameter "${k}" that is mandatory for processing this request is not supplied.`);
    }
    if (p.Version !== "2017-05-25") return gateway(400, "InvalidVersion", `Specified parameter Version is not valid.`);
    if (p.SignatureMethod !== "HMAC-SHA1") return gateway(400, "InvalidSignatureMethod", "Specified signature method is not valid.");
    if (p.SignatureVersion !== "1.0") return gateway(400, "UnsupportedSignatureVersion", "Specified signature version is not supported.");
    if (p.Format !== undefined && p.Format !== "JSON" && p.Format !== "XML")
      return gateway(400, "InvalidParameter.Format", "Specified parameter Format is not valid.");
    const secret = keys[p.AccessKeyId!];
    if (secret === undefined) return gateway(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    const ts = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(p.Timestamp!) ? Date.parse(p.Timestamp!) : Number.NaN;
    if (!Number.isFinite(ts)) return gateway(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.");
    const expected = aliyunSignature(method, p, secret);
    if (expected !== p.Signature) {
      return gateway(400, "SignatureDoesNotMatch", `Specified signature is not matched with our calculation. server string to sign is:${method}&%2F&…`);
    }
    if (Math.abs(clock() - ts) > SKEW_MS) return gateway(400, "InvalidTimeStamp.Expired", `Specified time stamp or date value is expired.`);
    const now = clock();
    for (const [n, t] of nonces) if (now - t > NONCE_WINDOW_MS) nonces.delete(n);
    if (nonces.has(p.SignatureNonce!)) return gateway(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    nonces.set(p.SignatureNonce!, now);
    return undefined;
  }

  function parseParamObject(s: string | undefined): Record<string, string> | "bad" | undefined {
    if (s === undefined || s === "") return undefined;
    try {
      const v = JSON.parse(s) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return "bad";
      for (const x of Object.values(v)) if (typeof x !== "string") return "bad";
      return v as Record<string, string>;
    } catch {
      return "bad";
    }
  }

  interface Item {
    phone: string;
    sign: string;
    params: Record<string, string>;
  }

  /** Checks business rules for every number, then records all or nothing. */
  function perform(action: "SendSms" | "SendBatchSms", template: string, items: Item[], outId: string | undefined): FakeResponse {
    const tpl = opts.templates?.[template];
    if (opts.templates && !tpl) return biz("isv.SMS_TEMPLATE_ILLEGAL", `该账号下找不到对应模板`);
    for (const it of items) {
      if (opts.signs && !opts.signs.includes(it.sign)) return biz("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
      if (tpl) for (const k of tpl.params) if (it.params[k] === undefined) return biz("isv.TEMPLATE_MISSING_PARAMETERS", `模板变量缺少对应参数值: ${k}`);
      for (const v of Object.values(it.params)) if ([...v].length > 35) return biz("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制");
    }
    for (const it of items) {
      const code = recipientErrors.get(it.phone);
      if (code) return biz(code, `number ${it.phone} rejected`);
    }
    const now = clock();
    // Each number's sends of the last 24 h (one map lookup per number: a batch of 100,000 is a benchmark's load).
    const windows: number[][] = [];
    for (const it of items) {
      const k = `${it.sign}|${template}|${it.phone}`;
      let times = counters.get(k);
      if (!times) counters.set(k, (times = []));
      else if (times.some((t) => now - t >= DAY_MS)) counters.set(k, (times = times.filter((t) => now - t < DAY_MS)));
      if (times.length >= perNumberLimit) return biz("isv.BUSINESS_LIMIT_CONTROL", `触发天级流控Permits:${perNumberLimit}`);
      windows.push(times);
    }
    if (balance < items.length) return biz("isv.AMOUNT_NOT_ENOUGH", "账户余额不足");
    balance -= items.length;
    const bizId = `${bizSeq++}^0`;
    items.forEach((it, i) => {
      windows[i]!.push(now);
      ledger.push({ action, phone: it.phone, sign: it.sign, template, params: it.params, outId, bizId, at: now });
    });
    return { body: { Code: "OK", Message: "OK", BizId: bizId, RequestId: requestId() } };
  }

  function sendSms(p: Record<string, string>): FakeResponse {
    for (const k of ["PhoneNumbers", "SignName", "TemplateCode"])
      if (!p[k]) return gateway(400, "MissingParameter", `The input parameter "${k}" that is mandatory for processing this request is not supplied.`);
    const raw = p.PhoneNumbers!.split(",");
    if (raw.length > 1000) return biz("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制");
    const phones = raw.map(aliyunPhone);
    if (phones.some((x) => x === undefined)) return biz("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    const params = parseParamObject(p.TemplateParam);
    if (params === "bad") return biz("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
    if (p.OutId !== undefined && p.OutId.length >= 256) return biz("isv.INVALID_PARAMETERS", "OutId too long");
    return perform(
      "SendSms",
      p.TemplateCode!,
      phones.map((ph) => ({ phone: ph!, sign: p.SignName!, params: params ?? {} })),
      p.OutId,
    );
  }

  function sendBatchSms(p: Record<string, string>): FakeResponse {
    for (const k of ["PhoneNumberJson", "SignNameJson", "TemplateCode"])
      if (!p[k]) return gateway(400, "MissingParameter", `The input parameter "${k}" that is mandatory for processing this request is not supplied.`);
    let phones: unknown, signs: unknown, params: unknown;
    try {
      phones = JSON.parse(p.PhoneNumberJson!);
      signs = JSON.parse(p.SignNameJson!);
      params = p.TemplateParamJson ? JSON.parse(p.TemplateParamJson) : undefined;
    } catch {
      return biz("isv.INVALID_JSON_PARAM", "JSON参数不合法");
    }
    if (!Array.isArray(phones) || !Array.isArray(signs) || (params !== undefined && !Array.isArray(params)))
      return biz("isv.INVALID_PARAMETERS", "参数格式错误");
    if (phones.length > 100) return biz("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制");
    if (signs.length !== phones.length || (Array.isArray(params) && params.length !== phones.length))
      return biz("isv.INVALID_PARAMETERS", "签名、参数与号码数量不一致");
    const items: Item[] = [];
    for (let i = 0; i < phones.length; i++) {
      const ph = typeof phones[i] === "string" ? aliyunPhone(phones[i] as string) : undefined;
      if (!ph) return biz("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
      const ps = Array.isArray(params) ? params[i] : {};
      if (typeof ps !== "object" || ps === null || Array.isArray(ps) || Object.values(ps).some((v) => typeof v !== "string"))
        return biz("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
      items.push({ phone: ph, sign: String(signs[i]), params: ps as Record<string, string> });
    }
    return perform("SendBatchSms", p.TemplateCode!, items, p.OutId);
  }

  function receiptOf(d: AliyunDelivery): AliyunReceipt {
    const done = clock() >= d.at + receiptDelay;
    const failure = deliveryFailures.get(d.phone);
    const tpl = opts.templates?.[d.template]?.text;
    const content = `【${d.sign}】${tpl ? tpl.replace(/\$\{(\w+)\}/g, (_, k: string) => d.params[k] ?? "") : Object.values(d.params).join(",")}`;
    return {
      PhoneNum: d.phone,
      SendStatus: !done ? 1 : failure ? 2 : 3,
      ErrCode: !done ? "" : (failure ?? "DELIVRD"),
      TemplateCode: d.template,
      Content: content,
      SendDate: cnDateTime(d.at),
      ReceiveDate: done ? cnDateTime(d.at + receiptDelay) : "",
      OutId: d.outId ?? "",
    };
  }

  function query(p: Record<string, string>): FakeResponse {
    for (const k of ["PhoneNumber", "SendDate", "PageSize", "CurrentPage"])
      if (!p[k]) return gateway(400, "MissingParameter", `The input parameter "${k}" that is mandatory for processing this request is not supplied.`);
    const phone = aliyunPhone(p.PhoneNumber!);
    if (!phone) return biz("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    if (!/^\d{8}$/.test(p.SendDate!)) return biz("isv.INVALID_PARAMETERS", "SendDate 格式错误");
    const size = Number(p.PageSize);
    const page = Number(p.CurrentPage);
    if (!Number.isInteger(size) || size < 1 || size > 50 || !Number.isInteger(page) || page < 1) return biz("isv.INVALID_PARAMETERS", "分页参数错误");
    const day = Date.UTC(+p.SendDate!.slice(0, 4), +p.SendDate!.slice(4, 6) - 1, +p.SendDate!.slice(6, 8)) - CN;
    if (clock() - day > 31 * DAY_MS) return biz("isv.INVALID_PARAMETERS", "只支持查询最近30天的记录");
    const all = ledger.filter((d) => d.phone === phone && cnDate(d.at) === p.SendDate && (!p.BizId || d.bizId === p.BizId)).map(receiptOf);
    const slice = all.slice((page - 1) * size, page * size);
    return { body: { Code: "OK", Message: "OK", RequestId: requestId(), TotalCount: all.length, SmsSendDetailDTOs: { SmsSendDetailDTO: slice } } };
  }

  function handler(req: FakeRequest): FakeResponse {
    if (req.path !== "/") return gateway(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.");
    if (req.method !== "GET" && req.method !== "POST") return gateway(405, "UnsupportedHTTPMethod", "Specified HTTP method is not supported.");
    const p = params(req);
    const bad = verify(req.method, p);
    const record = (r: FakeResponse, numbers: number) => {
      calls.push({ action: p.Action ?? "", method: req.method, numbers, code: String((r.body as { Code?: string }).Code), outId: p.OutId });
      return r;
    };
    if (bad) return record(bad, 0);
    const action = p.Action!;
    if (SEND_ACTIONS.has(action) && limiter.hit()) return record(gateway(400, "Throttling.User", "Request was denied due to user flow control."), 0);
    if (action === "SendSms") return record(sendSms(p), (p.PhoneNumbers ?? "").split(",").length);
    if (action === "SendBatchSms") {
      let n = 0;
      try {
        n = (JSON.parse(p.PhoneNumberJson ?? "[]") as unknown[]).length;
      } catch {
        /* counted as 0 */
      }
      return record(sendBatchSms(p), n);
    }
    if (action === "QuerySendDetails") return record(query(p), 0);
    return record(gateway(404, "InvalidAction.NotFound", `Specified api is not found, please check your url and method.`), 0);
  }

  const server = await startFakeServer({
    handler,
    injector,
    faultable: (r) => {
      const a = (r.method === "POST" && r.raw ? new URLSearchParams(r.raw) : r.query).get("Action") ?? r.query.get("Action");
      return a !== null && SEND_ACTIONS.has(a);
    },
    httpErrorBody: (status) => ({
      Code: status === 503 ? "ServiceUnavailable" : "InternalError",
      Message: "The request processing has failed due to some unknown error.",
      RequestId: requestId(),
      HostId: "dysmsapi.aliyuncs.com",
    }),
    errorBody: (code) => ({ Code: String(code), Message: `injected ${code}`, RequestId: requestId() }),
    contentType: "application/json;charset=utf-8",
  });

  return {
    url: server.url,
    close: server.close,
    script: (...f) => injector.push(...f),
    deliveries: () => [...ledger],
    receipts: (phone) => ledger.filter((d) => phone === undefined || d.phone === (aliyunPhone(phone) ?? phone)).map(receiptOf),
    faults: () => [...injector.log],
    calls: () => [...calls],
    setBalance: (n) => void (balance = n),
    setDeliveryFailure: (phone, code) => void deliveryFailures.set(aliyunPhone(phone) ?? phone, code),
  };
}
