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
import type { Driver, DriverContext, DriverInstance, OutcomeClass, SendOutcome, SendRequest } from "./types.js";
import type { SmsContent } from "../content/types.js";
import { createHttpClient, mapLimit, providerUrl, redact } from "./http.js";
import { aliyunSignature, percentEncode } from "./signing.js";
import { type Failed, failed, numOpt, strOpt } from "./common.js";
import { cnYmd, groupId, mainlandDigits, nextCnMidnight } from "./sms-common.js";

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

interface Item {
  index: number;
  req: SendRequest;
  phone: string;
  content: SmsContent;
}

interface Call {
  action: "SendSms" | "SendBatchSms";
  items: Item[];
  outId: string;
}

type CallResult = { ok: true; bizId?: string } | { ok: false; outcome: Failed };

/** Plans the calls of one batch (see the module comment). */
export function planAliyunCalls(items: Item[]): Call[] {
  const calls: Call[] = [];
  const same = new Map<string, Item[]>();
  for (const it of items) {
    const k = JSON.stringify([it.req.campaign, it.req.occurrence, it.req.channel, it.content.sign, it.content.code, it.content.params]);
    let g = same.get(k);
    if (!g) same.set(k, (g = []));
    g.push(it);
  }
  const singles: Item[] = [];
  const chunked = (group: Item[], max: number, emit: (chunk: Item[]) => void) => {
    let chunk: Item[] = [];
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
  const leftovers: Item[] = [];
  for (const g of same.values()) {
    if (g.length < 2) {
      leftovers.push(...g);
      continue;
    }
    chunked(g, 1000, (chunk) => (chunk.length > 1 ? calls.push({ action: "SendSms", items: chunk, outId: groupId(chunk[0]!.req) }) : leftovers.push(...chunk)));
  }
  const byTemplate = new Map<string, Item[]>();
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

function create(ctx: DriverContext): DriverInstance {
  const o = ctx.options ?? {};
  const http = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const url = providerUrl(ctx.baseUrl, ALIYUN_DEFAULT_ORIGIN, "/");
  const keyId = ctx.secrets.access_key_id ?? "";
  const keySecret = ctx.secrets.access_key_secret ?? "";
  const regionId = strOpt(o, "region_id") ?? "cn-hangzhou";
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 4)));
  const limitDeferMs = numOpt(o, "business_limit_defer_ms", 3_600_000);
  /** How long after a first attempt a missing receipt record proves "not sent". */
  const graceMs = numOpt(o, "reconcile_grace_ms", 0);
  const secrets = [keyId, keySecret];

  /** One signed RPC call (POST, form body). */
  async function rpc(action: string, extra: Record<string, string>) {
    await ctx.acquire?.();
    const params: Record<string, string> = {
      AccessKeyId: keyId,
      Action: action,
      Format: "JSON",
      RegionId: regionId,
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: randomUUID(),
      SignatureVersion: "1.0",
      Timestamp: new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      Version: "2017-05-25",
      ...extra,
    };
    params.Signature = aliyunSignature("POST", params, keySecret);
    const body = Object.entries(params)
      .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
      .join("&");
    return http.call({
      method: "POST",
      url,
      body,
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8", accept: "application/json" },
    });
  }

  /** Maps an answer to "accepted" or a failed outcome (§7.5, §1.1). */
  function classify(res: Awaited<ReturnType<typeof rpc>>): CallResult {
    if (!res.ok) return { ok: false, outcome: failed(res.sent ? "ambiguous" : "retry", res.code, `aliyun-sms: ${res.message}`) };
    const j = res.json as { Code?: unknown; Message?: unknown; BizId?: unknown } | undefined;
    if (j && typeof j.Code === "string") {
      if (j.Code === "OK") return { ok: true, bizId: typeof j.BizId === "string" ? j.BizId : undefined };
      const code = j.Code;
      const raw = OPAQUE_MESSAGES.has(code) ? "the provider rejected the request signature (check access_key_secret)" : String(j.Message ?? "");
      const msg = redact(`aliyun-sms ${code}: ${raw}`, secrets).slice(0, 300);
      const cls = classifyAliyunCode(code);
      if (cls === "defer") {
        const now = ctx.now();
        const m = String(j.Message ?? "");
        const nb = /分钟|minute/i.test(m)
          ? Math.floor(now / 60_000) * 60_000 + 60_000
          : /小时|hour/i.test(m)
            ? Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000
            : now + limitDeferMs;
        return { ok: false, outcome: failed("defer", code, msg, nb) };
      }
      if (code === "isv.DAY_LIMIT_CONTROL") return { ok: false, outcome: failed("stop", code, msg, nextCnMidnight(ctx.now())) };
      return { ok: false, outcome: failed(cls, code, msg) };
    }
    if (res.status >= 500) return { ok: false, outcome: failed("ambiguous", `http_${res.status}`, `aliyun-sms: HTTP ${res.status} without a provider body`) };
    if (res.status === 429) return { ok: false, outcome: failed("retry", "http_429", "aliyun-sms: HTTP 429") };
    if (res.status >= 200 && res.status < 300)
      return { ok: false, outcome: failed("ambiguous", "bad_answer", `aliyun-sms: HTTP ${res.status} with an answer that is not JSON`) };
    return { ok: false, outcome: failed("request", `http_${res.status}`, `aliyun-sms: HTTP ${res.status} without a provider body`) };
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

  async function runCall(call: Call, out: SendOutcome[]): Promise<void> {
    const r = classify(await rpc(call.action, callParams(call)));
    if (r.ok) {
      for (const it of call.items) out[it.index] = r.bizId ? { status: "sent", providerId: r.bizId } : { status: "sent" };
      return;
    }
    if (call.items.length > 1 && PER_NUMBER_CODES.has(r.outcome.code)) {
      await mapLimit(call.items, concurrency, async (it) => runCall({ action: "SendSms", items: [it], outId: it.req.dedupeId }, out));
      return;
    }
    for (const it of call.items) out[it.index] = r.outcome;
  }

  return {
    async send(batch) {
      const out: SendOutcome[] = new Array(batch.length);
      if (!keyId || !keySecret) {
        return batch.map(() => failed("stop", "missing_secret", "aliyun-sms: access_key_id and access_key_secret are required"));
      }
      const items: Item[] = [];
      batch.forEach((req, index) => {
        if (req.content?.kind !== "sms")
          return void (out[index] = failed("request", "content_kind", `aliyun-sms: content of kind ${req.content?.kind} cannot be sent by this driver`));
        const phone = mainlandDigits(req.address ?? "");
        if (!phone)
          return void (out[index] = failed("recipient", "isv.MOBILE_NUMBER_ILLEGAL", "aliyun-sms: the member's number is not a mainland mobile number"));
        items.push({ index, req, phone, content: req.content });
      });
      await mapLimit(planAliyunCalls(items), concurrency, (call) => runCall(call, out));
      return out;
    },

    /**
     * Looks each request up in `QuerySendDetails` (its phone, on the Shanghai dates of its first attempt and of
     * now), matching `OutId` = its dedupeId or its group id. Found → `sent` (or `recipient` when the receipt says
     * the delivery failed); not found after `reconcile_grace_ms` → `retry` (proven unsent); lookup failure → unknown.
     */
    async reconcile(requests) {
      const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
      if (!keyId || !keySecret) return out;
      /** Receipts already matched to a request: one record proves one request. */
      const used = new Set<string>();
      const lookups = new Map<string, Promise<Receipt[] | undefined>>();
      const now = ctx.now();
      await mapLimit(requests, concurrency, async (req, i) => {
        const phone = mainlandDigits(req.address ?? "");
        if (!phone) return;
        const first = req.firstAttemptAt ?? now;
        const dates = [...new Set([cnYmd(first), cnYmd(now)])];
        const found: Receipt[] = [];
        for (const d of dates) {
          const k = `${phone}|${d}`;
          let p = lookups.get(k);
          if (!p) lookups.set(k, (p = queryAll(phone, d)));
          const rs = await p;
          if (rs === undefined) return; // the provider could not tell
          found.push(...rs);
        }
        const ids = new Set([req.dedupeId, groupId(req)]);
        const hit = found.find((r) => ids.has(r.OutId) && !used.has(r.uid));
        if (hit) {
          used.add(hit.uid);
          out[i] =
            hit.SendStatus === 2
              ? failed("recipient", hit.ErrCode || "undelivered", `aliyun-sms: the carrier receipt says undelivered (${hit.ErrCode})`)
              : { status: "sent" };
          return;
        }
        if (now - first >= graceMs) out[i] = failed("retry", "not_found", "aliyun-sms: no record of this send at the provider; safe to send again");
      });
      return out;
    },

    async close() {
      http.close();
    },
  };

  interface Receipt {
    uid: string;
    OutId: string;
    SendStatus: number;
    ErrCode: string;
  }

  /** Every receipt of one phone on one date, or undefined when the provider did not answer cleanly. */
  async function queryAll(phone: string, date: string): Promise<Receipt[] | undefined> {
    const all: Receipt[] = [];
    for (let page = 1; page <= 20; page++) {
      const res = await rpc("QuerySendDetails", { PhoneNumber: phone, SendDate: date, PageSize: "50", CurrentPage: String(page) });
      if (!res.ok) return undefined;
      const j = res.json as { Code?: string; TotalCount?: number | string; SmsSendDetailDTOs?: { SmsSendDetailDTO?: Record<string, unknown>[] } } | undefined;
      if (!j || j.Code !== "OK") return undefined;
      const rows = j.SmsSendDetailDTOs?.SmsSendDetailDTO ?? [];
      rows.forEach((r, k) =>
        all.push({
          uid: `${phone}|${date}|${page}|${k}|${String(r.SendDate ?? "")}`,
          OutId: String(r.OutId ?? ""),
          SendStatus: Number(r.SendStatus),
          ErrCode: String(r.ErrCode ?? ""),
        }),
      );
      if (rows.length < 50 || all.length >= Number(j.TotalCount ?? 0)) return all;
    }
    return all;
  }
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
