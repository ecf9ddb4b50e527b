/**
 * What the two WeChat drivers share (docs/channels.md): the access-token cache (one token per appid in this
 * process, `stable_token` with `force_refresh: false` by default, refreshed at `expires_in` − 300 s and on
 * 40001/40014/42001), the authenticated POST with one refresh-and-retry, and the parts of error classification both
 * message APIs have in common.
 */
import { createHash } from "node:crypto";
import type { DriverContext, SendOutcome, SendRequest } from "./types.js";
import { type HttpClient, type HttpResult, providerUrl, redact } from "./http.js";

export const WECHAT_ORIGIN = "https://api.weixin.qq.com";

export type Failed = Extract<SendOutcome, { status: "failed" }>;

export function fail(cls: Failed["class"], code: string, message: string, notBefore?: number): Failed {
  return notBefore === undefined ? { status: "failed", class: cls, code, message } : { status: "failed", class: cls, code, message, notBefore };
}

export const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

export function optNumber(o: Record<string, unknown>, k: string, d: number): number {
  const v = o[k];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return d;
}

/** Epoch ms of the next 00:00 in Asia/Shanghai (WeChat's daily quotas reset then). */
export function nextShanghaiMidnight(now: number): number {
  const offset = 8 * 3600_000;
  return Math.floor((now + offset) / 86_400_000) * 86_400_000 + 86_400_000 - offset;
}

/** Token codes of WeChat (docs/channels.md, "Access tokens"): refresh once, retry once. */
export const WECHAT_TOKEN_CODES = new Set([40001, 40014, 42001]);

/** Errors of the token endpoints (§4). `-1` → retry, quotas → defer, everything else account-level → stop. */
function tokenErrorOutcome(code: number, msg: string, now: number): Failed {
  if (code === -1) return fail("retry", "-1", msg);
  if (code === 45009) return fail("defer", "45009", msg, nextShanghaiMidnight(now));
  if (code === 45011) return fail("defer", "45011", msg, now + 60_000);
  // 40013 invalid appid, 40125 invalid secret, 40164 IP whitelist, 40243 secret frozen, 50007 account frozen,
  // 41002 / 41004 missing appid / secret, and anything unknown.
  return fail("stop", String(code), msg);
}

export type TokenResult = { ok: true; token: string } | { ok: false; outcome: Failed };

interface TokenSlot {
  token?: string;
  refreshAt?: number;
  inflight?: Promise<TokenResult>;
}
const slots = new Map<string, TokenSlot>();

/** Forgets every cached WeChat token of this process. */
export function clearWechatTokens(): void {
  slots.clear();
}

export interface WechatTokens {
  /** The cached token, or a fresh one. `rejected`: a token the provider just refused, never returned again. */
  get(rejected?: string): Promise<TokenResult>;
}

/**
 * The token source of one WeChat app. `ctx.options.token_endpoint`: `stable` (default, `/cgi-bin/stable_token`)
 * or `token` (`/cgi-bin/token`, which invalidates the previous token after 5 minutes).
 */
export function wechatTokens(ctx: DriverContext, http: HttpClient): WechatTokens {
  const appId = ctx.secrets.app_id ?? "";
  const appSecret = ctx.secrets.app_secret ?? "";
  const useStable = ctx.options?.token_endpoint !== "token";
  const origin = providerUrl(ctx.baseUrl, WECHAT_ORIGIN, "");
  const key = `${origin}|${appId}|${createHash("sha256").update(appSecret).digest("hex").slice(0, 16)}|${useStable ? "s" : "t"}`;
  const safe = (s: string) => redact(s, [appSecret]);

  const slot = (): TokenSlot => {
    let s = slots.get(key);
    if (!s) slots.set(key, (s = {}));
    return s;
  };

  async function fetchOnce(forceRefresh: boolean): Promise<TokenResult> {
    const r = useStable
      ? await http.call({
          method: "POST",
          url: providerUrl(ctx.baseUrl, WECHAT_ORIGIN, "/cgi-bin/stable_token"),
          json: { grant_type: "client_credential", appid: appId, secret: appSecret, force_refresh: forceRefresh },
        })
      : await http.call({
          method: "GET",
          url: providerUrl(ctx.baseUrl, WECHAT_ORIGIN, "/cgi-bin/token"),
          searchParams: { grant_type: "client_credential", appid: appId, secret: appSecret },
        });
    if (!r.ok) return { ok: false, outcome: fail("retry", r.code, `wechat token: ${r.message}`) };
    const j = r.json;
    if (!isObj(j)) return { ok: false, outcome: fail("retry", `http_${r.status}`, `wechat token: HTTP ${r.status}, no JSON body`) };
    const code = Number(j.errcode ?? 0);
    if (code === 0 && typeof j.access_token === "string" && j.access_token !== "") {
      const expiresIn = optNumber(j, "expires_in", 7200);
      const s = slot();
      s.token = j.access_token;
      s.refreshAt = ctx.now() + Math.max(0, expiresIn - 300) * 1000;
      return { ok: true, token: j.access_token };
    }
    return { ok: false, outcome: tokenErrorOutcome(code, safe(`wechat token ${code}: ${String(j.errmsg ?? "")}`), ctx.now()) };
  }

  async function fetchToken(rejected?: string): Promise<TokenResult> {
    if (!appId || !appSecret) return { ok: false, outcome: fail("stop", "no_credentials", "wechat: app_id or app_secret is not set") };
    const t = await fetchOnce(false);
    // stable_token without force returns the same token while the provider thinks it valid; one that was just
    // refused needs a forced refresh.
    if (t.ok && rejected !== undefined && t.token === rejected && useStable) return fetchOnce(true);
    return t;
  }

  return {
    async get(rejected?: string): Promise<TokenResult> {
      const s = slot();
      if (s.token && s.token !== rejected && (s.refreshAt ?? 0) > ctx.now()) return { ok: true, token: s.token };
      if (rejected !== undefined && s.token === rejected) {
        s.token = undefined;
        s.refreshAt = undefined;
      }
      if (!s.inflight) {
        s.inflight = fetchToken(rejected).finally(() => {
          s.inflight = undefined;
        });
      }
      return s.inflight;
    },
  };
}

export type WechatApiResult = { ok: true; json: Record<string, unknown>; errcode: number; errmsg: string } | { ok: false; outcome: Failed };

/**
 * POSTs `body` to `path?access_token=…`. A refused token is refreshed once and the call retried once; refused again
 * → `stop`. A transport failure after the request may have left → `ambiguous`; before → `retry`. An answer that is
 * not JSON → `ambiguous` (5xx / 200), `retry` (429) or `request` (other 4xx).
 */
export async function callWechat(
  ctx: DriverContext,
  http: HttpClient,
  tokens: WechatTokens,
  path: string,
  body: unknown,
  what: string,
): Promise<WechatApiResult> {
  let tok = await tokens.get();
  if (!tok.ok) return tok;
  const safe = (s: string) => redact(s, [ctx.secrets.app_secret]);
  for (let attempt = 0; ; attempt++) {
    await ctx.acquire?.();
    const r: HttpResult = await http.call({
      method: "POST",
      url: providerUrl(ctx.baseUrl, WECHAT_ORIGIN, path),
      searchParams: { access_token: tok.token },
      json: body,
    });
    if (!r.ok) {
      return {
        ok: false,
        outcome: r.sent
          ? fail("ambiguous", r.code, `wechat ${what}: ${r.message}; the message may have been sent`)
          : fail("retry", r.code, `wechat ${what}: ${r.message}`),
      };
    }
    const j = r.json;
    if (!isObj(j) || (j.errcode === undefined && r.status !== 200)) {
      const code = `http_${r.status}`;
      if (r.status >= 500 || r.status === 200)
        return { ok: false, outcome: fail("ambiguous", code, `wechat ${what}: HTTP ${r.status} without a readable answer`) };
      if (r.status === 429) return { ok: false, outcome: fail("retry", code, `wechat ${what}: HTTP 429`) };
      return { ok: false, outcome: fail("request", code, `wechat ${what}: HTTP ${r.status}`) };
    }
    const errcode = Number(j.errcode ?? 0);
    const errmsg = safe(String(j.errmsg ?? ""));
    if (WECHAT_TOKEN_CODES.has(errcode)) {
      if (attempt === 0) {
        tok = await tokens.get(tok.token);
        if (!tok.ok) return tok;
        continue;
      }
      return { ok: false, outcome: fail("stop", String(errcode), `wechat ${what}: access token refused again right after a refresh (${errmsg})`) };
    }
    return { ok: true, json: j, errcode, errmsg };
  }
}

/**
 * `47003` (a data value breaks its rule): `recipient` when the value named in `errmsg` is member-specific — it differs
 * between the batch's requests — else `request`. With nothing to compare (a batch of one, or no field named), `request`.
 */
export function classify47003(errmsg: string, r: SendRequest, batch: readonly SendRequest[]): Failed["class"] {
  const m = /data\.([A-Za-z_]+\d*)/.exec(errmsg);
  if (!m) return "request";
  const field = m[1];
  const val = (x: SendRequest) => (x.content.kind === "template_message" || x.content.kind === "subscribe_message" ? x.content.data[field] : undefined);
  const mine = val(r);
  return batch.some((x) => x !== r && x.content.kind === r.content.kind && val(x) !== mine) ? "recipient" : "request";
}

/** `{key: value}` → `{key: {value}}`. */
export function wrapData(data: Record<string, string>): Record<string, { value: string }> {
  const out: Record<string, { value: string }> = {};
  for (const [k, v] of Object.entries(data)) out[k] = { value: v };
  return out;
}
