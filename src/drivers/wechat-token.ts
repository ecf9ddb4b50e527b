/**
 * What the two WeChat drivers share (docs/channels.md): the token source of an app (`stable_token` with
 * `force_refresh: false` by default; the cache itself is `access-token.ts`), the authenticated POST (refreshed on
 * 40001/40014/42001), and the parts of error classification both message APIs have in common.
 */
import { createHash } from "node:crypto";
import type { DriverContext, SendOutcome, SendRequest } from "./types.js";
import { type HttpClient, providerUrl, redact } from "./http.js";
import { type Failed, failed, isObj, numOpt } from "./common.js";
import { type AccessTokens, type FetchedToken, type TokenCallResult, type TokenCallSpec, accessTokens, callWithToken } from "./access-token.js";
import { nextCnMidnight } from "./sms-common.js";

export const WECHAT_ORIGIN = "https://api.weixin.qq.com";

/** Epoch ms of the next 00:00 in Asia/Shanghai (WeChat's daily quotas reset then). */
export const nextShanghaiMidnight = nextCnMidnight;

/** Token codes of WeChat (docs/channels.md, "Access tokens"): refresh once, retry once. */
export const WECHAT_TOKEN_CODES = new Set([40001, 40014, 42001]);

/** Errors of the token endpoints (§4). `-1` → retry, quotas → defer, everything else account-level → stop. */
function tokenErrorOutcome(code: number, msg: string, now: number): Failed {
  if (code === -1) return failed("retry", "-1", msg);
  if (code === 45009) return failed("defer", "45009", msg, nextShanghaiMidnight(now));
  if (code === 45011) return failed("defer", "45011", msg, now + 60_000);
  // 40013 invalid appid, 40125 invalid secret, 40164 IP whitelist, 40243 secret frozen, 50007 account frozen,
  // 41002 / 41004 missing appid / secret, and anything unknown.
  return failed("stop", String(code), msg);
}

/**
 * The tokens of one WeChat app. `ctx.options.token_endpoint`: `stable` (default, `/cgi-bin/stable_token`) or `token`
 * (`/cgi-bin/token`, which invalidates the previous token after 5 minutes).
 */
export function wechatTokens(ctx: DriverContext, http: HttpClient): AccessTokens {
  const appId = ctx.secrets.app_id ?? "";
  const appSecret = ctx.secrets.app_secret ?? "";
  const useStable = ctx.options?.token_endpoint !== "token";
  const origin = providerUrl(ctx.baseUrl, WECHAT_ORIGIN, "");
  const key = `wechat|${origin}|${appId}|${createHash("sha256").update(appSecret).digest("hex").slice(0, 16)}|${useStable ? "s" : "t"}`;

  async function fetchOnce(forceRefresh: boolean): Promise<FetchedToken> {
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
    if (!r.ok) return { ok: false, outcome: failed("retry", r.code, `wechat token: ${r.message}`) };
    const j = r.json;
    if (!isObj(j)) return { ok: false, outcome: failed("retry", `http_${r.status}`, `wechat token: HTTP ${r.status}, no JSON body`) };
    const code = Number(j.errcode ?? 0);
    if (code === 0 && typeof j.access_token === "string" && j.access_token !== "")
      return { ok: true, token: j.access_token, expiresIn: numOpt(j, "expires_in", 7200) };
    const msg = redact(`wechat token ${code}: ${String(j.errmsg ?? "")}`, [appSecret]);
    return { ok: false, outcome: tokenErrorOutcome(code, msg, ctx.now()) };
  }

  return accessTokens(ctx, key, async (rejected) => {
    if (!appId || !appSecret) return { ok: false, outcome: failed("stop", "no_credentials", "wechat: app_id or app_secret is not set") };
    const t = await fetchOnce(false);
    // stable_token without force returns the same token while the provider thinks it valid; one that was just
    // refused needs a forced refresh.
    if (t.ok && rejected !== undefined && t.token === rejected && useStable) return fetchOnce(true);
    return t;
  });
}

/** POSTs `body` to a WeChat message API with the app's token (see `callWithToken`); every call may have sent a message. */
export function callWechat(ctx: DriverContext, http: HttpClient, tokens: AccessTokens, path: string, body: unknown, what: string): Promise<TokenCallResult> {
  const spec: TokenCallSpec = {
    provider: "wechat",
    origin: WECHAT_ORIGIN,
    refreshCodes: WECHAT_TOKEN_CODES,
    secrets: [ctx.secrets.app_secret ?? ""],
    mayHave: "the message may have been sent",
  };
  return callWithToken(ctx, http, tokens, spec, { path, body, what, mutating: true });
}

/**
 * The outcome of a message API's answer (template/send, subscribe/send): `0` → `sent` (with `msgid` when given),
 * `47003` by `classify47003`, the quotas → `defer`, other codes by the driver's `table` (unlisted: `request`).
 */
export function messageOutcome(
  res: TokenCallResult,
  r: SendRequest,
  batch: readonly SendRequest[],
  table: Record<number, Failed["class"]>,
  what: string,
  now: number,
): SendOutcome {
  if (!res.ok) return res.outcome;
  if (res.errcode === 0) {
    const id = res.json.msgid;
    return id === undefined || id === null ? { status: "sent" } : { status: "sent", providerId: String(id) };
  }
  const msg = `wechat ${what} ${res.errcode}: ${res.errmsg}`;
  if (res.errcode === 47003) return failed(classify47003(res.errmsg, r, batch), "47003", msg);
  if (res.errcode === 45009) return failed("defer", "45009", msg, nextShanghaiMidnight(now));
  if (res.errcode === 45011) return failed("defer", "45011", msg, now + 60_000);
  return failed(table[res.errcode] ?? "request", String(res.errcode), msg);
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
