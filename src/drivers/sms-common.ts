/**
 * What the two SMS drivers (`aliyun-sms`, `tencent-sms`) share: the send and reconcile skeleton (`smsInstance`), phone
 * normalisation, Asia/Shanghai time arithmetic and the call-level id derived from a send's (campaign, occurrence,
 * channel). Each driver keeps its signing, its request shapes and its error mapping.
 */
import { createHash } from "node:crypto";
import type { DriverInstance, SendOutcome, SendRequest } from "./types.js";
import type { SmsContent } from "../content/types.js";
import { type HttpResult, mapLimit } from "./http.js";
import { type Failed, failed } from "./common.js";

/** Mainland numbers (`+86`/`0086`/`86`-prefixed or bare 11 digits) → 11 digits; anything else → undefined. */
export function mainlandDigits(raw: string): string | undefined {
  const m = /^(?:\+86|0086|86)?(1\d{10})$/.exec(raw.replace(/[\s-]/g, ""));
  return m ? m[1] : undefined;
}

/** E.164 for Tencent: mainland forms → `+86…`; `+<digits>` kept; `00<digits>` → `+<digits>`; else undefined. */
export function e164(raw: string): string | undefined {
  const s = raw.replace(/[\s-]/g, "");
  const cn = mainlandDigits(s);
  if (cn) return `+86${cn}`;
  if (/^\+[1-9]\d{6,14}$/.test(s)) return s;
  if (/^00[1-9]\d{6,14}$/.test(s)) return `+${s.slice(2)}`;
  return undefined;
}

const CN_OFFSET = 8 * 3600_000;
const DAY = 86_400_000;

/** The next 00:00 Asia/Shanghai after `now`. */
export function nextCnMidnight(now: number): number {
  return Math.floor((now + CN_OFFSET) / DAY) * DAY + DAY - CN_OFFSET;
}

/** The next `hour`:00 Asia/Shanghai strictly after `now`. */
export function nextCnHour(now: number, hour: number): number {
  const dayStart = Math.floor((now + CN_OFFSET) / DAY) * DAY - CN_OFFSET;
  const t = dayStart + hour * 3600_000;
  return t > now ? t : t + DAY;
}

/** `yyyyMMdd` of `ms` in Asia/Shanghai. */
export function cnYmd(ms: number): string {
  const d = new Date(ms + CN_OFFSET);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
}

/**
 * The provider-visible id of a call that carries several recipients of one (campaign, occurrence, channel): the
 * providers echo one `OutId` / `SessionContext` per call, so a multi-number call carries this id and reconciliation
 * matches (phone, this id). A single-number call carries the request's own `dedupeId`.
 */
export function groupId(r: Pick<SendRequest, "campaign" | "occurrence" | "channel">): string {
  return "g" + createHash("sha256").update(`${r.campaign}\u0000${r.occurrence}\u0000${r.channel}`).digest("hex").slice(0, 31);
}

/** One recipient of a batch, with the member's number in the provider's form. */
export interface SmsItem {
  index: number;
  req: SendRequest;
  phone: string;
  content: SmsContent;
}

/** A delivery receipt as both providers report one: `ref` is the `OutId` / `SessionContext` the call carried. */
export interface SmsReceipt {
  /** Unique among the receipts of one reconcile: one receipt proves one request. */
  uid: string;
  ref?: string;
  /** `sent`, or `recipient` when the carrier reports the message undelivered. */
  outcome: SendOutcome;
}

/** One query of receipts: a cache key (requests of one number share the answer) and the query itself. */
export interface ReceiptLookup {
  key: string;
  /** The receipts, or undefined when the provider did not answer cleanly (the request stays unknown). */
  fetch: () => Promise<SmsReceipt[] | undefined>;
}

/** What one SMS provider brings to the shared skeleton. */
export interface SmsProvider<Call> {
  /** `aliyun-sms`, `tencent-sms`: the start of messages. */
  name: string;
  concurrency: number;
  now: () => number;
  /** A missing secret or option: every send stops with it, and reconcile cannot ask (undefined). */
  notReady(): Failed | undefined;
  /** The member's number in the provider's form, or undefined when it is not one. */
  phone(raw: string): string | undefined;
  /** The outcome of a member whose number is not one. */
  badPhone: Failed;
  /** The provider calls of one batch's sendable items. */
  plan(items: SmsItem[]): Call[];
  /** Performs one call and writes the outcome of each of its items into `out`. */
  run(call: Call, out: SendOutcome[]): Promise<void>;
  /** The receipt queries that cover a request's send. */
  lookups(req: SendRequest, phone: string, now: number): ReceiptLookup[];
  /** No receipt of the request among `receipts`: `retry` when that proves it unsent, else undefined (unknown). */
  notFound(req: SendRequest, receipts: SmsReceipt[], now: number): Failed | undefined;
}

/** A batch: every request gets its outcome, from the checks here or from the provider's calls. */
async function sendSms<Call>(p: SmsProvider<Call>, batch: SendRequest[]): Promise<SendOutcome[]> {
  const stop = p.notReady();
  if (stop) return batch.map(() => stop);
  const out: SendOutcome[] = new Array(batch.length);
  const items: SmsItem[] = [];
  batch.forEach((req, index) => {
    if (req.content?.kind !== "sms")
      return void (out[index] = failed("request", "content_kind", `${p.name}: content of kind ${req.content?.kind} cannot be sent by this driver`));
    const phone = p.phone(req.address ?? "");
    if (!phone) return void (out[index] = p.badPhone);
    items.push({ index, req, phone, content: req.content });
  });
  await mapLimit(p.plan(items), p.concurrency, (call) => p.run(call, out));
  return out;
}

/**
 * Looks each request up in its number's receipts, matching `ref` = its dedupeId or its group id (a multi-number call
 * carries the group id): found → the receipt's outcome; not found → the provider's `notFound`; a query that failed →
 * unknown.
 */
async function reconcileSms<Call>(p: SmsProvider<Call>, requests: SendRequest[]): Promise<(SendOutcome | undefined)[]> {
  const out: (SendOutcome | undefined)[] = new Array(requests.length).fill(undefined);
  if (p.notReady()) return out;
  const used = new Set<string>();
  const cache = new Map<string, Promise<SmsReceipt[] | undefined>>();
  const now = p.now();
  await mapLimit(requests, p.concurrency, async (req, i) => {
    const phone = p.phone(req.address ?? "");
    if (!phone) return;
    const found: SmsReceipt[] = [];
    for (const l of p.lookups(req, phone, now)) {
      let pending = cache.get(l.key);
      if (!pending) cache.set(l.key, (pending = l.fetch()));
      const rs = await pending;
      if (rs === undefined) return;
      found.push(...rs);
    }
    const ids = new Set([req.dedupeId, groupId(req)]);
    const hit = found.find((r) => r.ref !== undefined && ids.has(r.ref) && !used.has(r.uid));
    if (hit) {
      used.add(hit.uid);
      out[i] = hit.outcome;
      return;
    }
    out[i] = p.notFound(req, found, now);
  });
  return out;
}

/** The driver instance of an SMS provider. */
export function smsInstance<Call>(p: SmsProvider<Call>, close: () => void): DriverInstance {
  return {
    send: (batch) => sendSms(p, batch),
    reconcile: (requests) => reconcileSms(p, requests),
    async close() {
      close();
    },
  };
}

/**
 * An answer without the provider's body, for a whole call: a transport failure (`ambiguous` once the request may have
 * left), 429 → `retry`, 5xx or 2xx → `ambiguous` (the provider may have sent), other statuses → `request`.
 */
export function answerlessOutcome(name: string, res: HttpResult): Failed {
  if (!res.ok) return failed(res.sent ? "ambiguous" : "retry", res.code, `${name}: ${res.message}`);
  if (res.status === 429) return failed("retry", "http_429", `${name}: HTTP 429`);
  if (res.status >= 500) return failed("ambiguous", `http_${res.status}`, `${name}: HTTP ${res.status} without a provider body`);
  if (res.status >= 200 && res.status < 300) return failed("ambiguous", "bad_answer", `${name}: HTTP ${res.status} without a provider body`);
  return failed("request", `http_${res.status}`, `${name}: HTTP ${res.status} without a provider body`);
}
