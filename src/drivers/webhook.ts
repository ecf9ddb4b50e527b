/**
 * Driver `webhook`: the project's own HTTP JSON protocol (docs/channels.md). One signed POST per recipient to
 * `options.url` (required), with the body `{"key","campaign","occurrence","member","channel","content"}` where `key`
 * is the request's dedupeId and `content` the rendered `webhook:` section. Receivers dedupe on `key`, so a timeout
 * or a reset is a plain `retry` with the same body and key, and `reconcile` simply sends again.
 *
 * `base_url` replaces scheme, host and port of `options.url` (a path prefix in it is kept in front of the URL's path).
 * Options: `url`, `concurrency` (8), `retry_after_default_s` (60, when a 429 carries no usable `Retry-After`).
 */
import type { Driver, DriverContext, DriverInstance, SendOutcome, SendRequest } from "./types.js";
import { createHttpClient, mapLimit, redact } from "./http.js";
import { webhookSignature } from "./signing.js";
import { failed, numOpt, strOpt } from "./common.js";

/** The target URL: `options.url` with scheme, host and port (and a path prefix) taken from `baseUrl` when given. */
export function webhookUrl(optionUrl: string, baseUrl?: string): string {
  const u = new URL(optionUrl);
  if (!baseUrl || baseUrl.trim() === "") return u.toString();
  const b = new URL(baseUrl);
  const prefix = b.pathname.replace(/\/+$/, "");
  return `${b.origin}${prefix}${u.pathname}${u.search}`;
}

/** `Retry-After` (delta seconds or an HTTP date) → epoch ms, or undefined. */
export function parseRetryAfter(v: string | string[] | undefined, now: number): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return now + Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) ? Math.max(t, now) : undefined;
}

/** The exact body bytes sent (and signed) for one request. */
export function webhookBody(r: SendRequest): string {
  const content = r.content?.kind === "webhook" ? r.content.body : r.content;
  return JSON.stringify({ key: r.dedupeId, campaign: r.campaign, occurrence: r.occurrence, member: r.member, channel: r.channel, content });
}

function create(ctx: DriverContext): DriverInstance {
  const o = ctx.options ?? {};
  const http = createHttpClient({ timeoutMs: ctx.timeoutMs });
  const secret = ctx.secrets.secret ?? "";
  const concurrency = Math.max(1, Math.floor(numOpt(o, "concurrency", 8)));
  const defaultRetryAfterMs = numOpt(o, "retry_after_default_s", 60) * 1000;
  let url: string | undefined;
  let urlError: string | undefined;
  try {
    const raw = strOpt(o, "url");
    if (!raw) urlError = "webhook: options.url is required";
    else url = webhookUrl(raw, ctx.baseUrl);
  } catch {
    urlError = "webhook: options.url (or base_url) is not a valid URL";
  }

  async function sendOne(r: SendRequest): Promise<SendOutcome> {
    if (r.content?.kind !== "webhook") return failed("request", "content_kind", `webhook: content of kind ${r.content?.kind} cannot be sent by this driver`);
    const body = webhookBody(r);
    await ctx.acquire?.();
    const ts = Math.floor(ctx.now() / 1000);
    const res = await http.call({
      method: "POST",
      url: url!,
      body,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "x-chuda-timestamp": String(ts),
        "x-chuda-signature": webhookSignature(secret, ts, body),
        "user-agent": "chuda-webhook/1",
      },
    });
    if (!res.ok) return failed("retry", res.code, `webhook: ${res.message}`);
    if (res.status >= 200 && res.status < 300) return { status: "sent" };
    const detail = redact(res.text.slice(0, 200), [secret]);
    if (res.status === 429) {
      const nb = parseRetryAfter(res.headers["retry-after"], ctx.now()) ?? ctx.now() + defaultRetryAfterMs;
      return failed("defer", "http_429", "webhook: the receiver asked to slow down (429)", nb);
    }
    if (res.status >= 500) return failed("retry", `http_${res.status}`, `webhook: HTTP ${res.status} ${detail}`);
    // Credentials (401, 403) and routing (404) are wrong for every send alike: stop the channel, keep the sends.
    if (res.status === 401 || res.status === 403 || res.status === 404)
      return failed("stop", `http_${res.status}`, `webhook: HTTP ${res.status} ${detail} (check the channel's secret and options.url)`);
    return failed("request", `http_${res.status}`, `webhook: HTTP ${res.status} ${detail}`);
  }

  async function sendAll(batch: SendRequest[]): Promise<SendOutcome[]> {
    if (urlError) return batch.map(() => failed("stop", "missing_option", urlError!));
    if (!secret) return batch.map(() => failed("stop", "missing_secret", "webhook: the secret is required"));
    const out: SendOutcome[] = new Array(batch.length);
    await mapLimit(batch, concurrency, async (r, i) => {
      out[i] = await sendOne(r);
    });
    return out;
  }

  return {
    send: sendAll,
    /** Receivers dedupe on `key`: sending again with the same key is how the fate of a send is settled. */
    reconcile: sendAll,
    async close() {
      http.close();
    },
  };
}

const webhook: Driver = {
  name: "webhook",
  contentKind: "webhook",
  batchLimit: 50,
  secrets: ["secret"],
  paced: true,
  perRecipient: true,
  create,
};

export default webhook;
