/**
 * Loopback fake of WeChat (docs/channels.md–§6): `/cgi-bin/token`,
 * `/cgi-bin/stable_token`, `/cgi-bin/message/template/send`, `/cgi-bin/message/subscribe/send`.
 *
 * One fake plays both the 服务号 (followers, templates, `client_msg_id` dedupe for 10 minutes of fake time, a daily
 * call counter) and the mini-program (users, subscribe templates, pages, one-time consent counters).
 */
import {
  type CommonFakeOptions,
  type Fault,
  type FaultLogEntry,
  type FakeRequest,
  type FakeResponse,
  FaultInjector,
  RateLimiter,
  TokenStore,
  startFakeServer,
  utf8Bytes,
} from "./common.js";

export interface WechatTemplateDef {
  /** Placeholder keys without `.DATA` (`thing1`, `time3`, `keyword1`). */
  keys: string[];
  /** 43116 on every send. */
  restricted?: boolean;
  /** 40249 on every send (a marketing template). */
  marketing?: boolean;
  /** For `enum<n>` keys: the allowed values. */
  enums?: Record<string, string[]>;
}

export interface WechatSubscribeTemplateDef {
  keys: string[];
  /** 43107 on every send. */
  banned?: boolean;
  enums?: Record<string, string[]>;
}

export interface WechatFakeOptions extends CommonFakeOptions {
  /** appid → secret. Default `{ wx_test_app: "wechat_test_secret_0123456789" }`. */
  apps?: Record<string, string>;
  /** 服务号 followers (openids). */
  followers?: string[];
  /** Openids known to the 服务号 that do not follow it (43004). */
  unfollowed?: string[];
  /** 服务号 templates by template_id. */
  templates?: Record<string, WechatTemplateDef>;
  /** template/send calls allowed per day (Asia/Shanghai); beyond: 45009. Default ∞. */
  dailyQuota?: number;
  /** Mini-program users (openids). */
  users?: string[];
  /** Subscribe templates by template_id. */
  subscribeTemplates?: Record<string, WechatSubscribeTemplateDef>;
  /** Pages of the released mini-program (without query). Default: any page. */
  pages?: string[];
  /** `${openid}|${template_id}` → remaining one-time consents. */
  consents?: Record<string, number>;
  /** Words that make subscribe/send answer 45168. */
  sensitiveWords?: string[];
}

export interface TemplateDelivery {
  openid: string;
  templateId: string;
  msgid: number;
  clientMsgId?: string;
  data: Record<string, string>;
  url?: string;
  miniprogram?: unknown;
  at: number;
}

export interface SubscribeDelivery {
  openid: string;
  templateId: string;
  page?: string;
  miniprogramState?: unknown;
  lang?: unknown;
  data: Record<string, string>;
  at: number;
}

export interface WechatFakeState {
  tokens: TokenStore;
  injector: FaultInjector;
  followers: Set<string>;
  unfollowed: Set<string>;
  templates: Map<string, WechatTemplateDef>;
  subscribeTemplates: Map<string, WechatSubscribeTemplateDef>;
  users: Set<string>;
  consents: Map<string, number>;
  /** `${openid}|${client_msg_id}` → first msgid and time. */
  clientMsgIds: Map<string, { msgid: number; at: number }>;
  /** template/send calls counted per Shanghai day. */
  dailyCalls: Map<number, number>;
  /** Calls that reached a send handler, with their errcode. */
  calls: { path: string; touser?: string; errcode: number }[];
}

export interface WechatFake {
  url: string;
  close(): Promise<void>;
  state: WechatFakeState;
  script(...faults: Fault[]): void;
  /** Accepted template messages (a deduplicated re-send is not counted). */
  deliveries(): TemplateDelivery[];
  /** Accepted subscribe messages. */
  subscribeDeliveries(): SubscribeDelivery[];
  faults(): FaultLogEntry[];
  /** Invalidates every token of `appid` now, as if another holder forced a refresh (sends then answer 40001). */
  revokeTokens(appid?: string): void;
  grantConsent(openid: string, templateId: string, n?: number): void;
  unfollow(openid: string): void;
}

const ERRMSG: Record<number, string> = {
  0: "ok",
  [-1]: "system error",
  40001: "invalid credential, access_token is invalid or not latest",
  40002: "invalid grant_type",
  40003: "invalid openid",
  40013: "invalid appid",
  40014: "invalid access_token",
  40037: "invalid template_id",
  40039: "invalid url size",
  40125: "invalid appsecret",
  40249: "marketing content is forbidden",
  41001: "access_token missing",
  41002: "appid missing",
  41004: "appsecret missing",
  41030: "invalid page",
  42001: "access_token expired",
  43004: "require subscribe",
  43101: "user refuse to accept the msg",
  43107: "subscribe ability banned",
  43108: "concurrent limit",
  43116: "this template is restricted",
  45009: "reach max api daily quota limit",
  45011: "api minute-quota reach limit, retry next minute",
  45168: "keyword blocked",
  47001: "data format error",
  47003: "argument invalid!",
};

function err(code: number, detail?: string): FakeResponse {
  const base = ERRMSG[code] ?? "error";
  return { body: { errcode: code, errmsg: detail ? `${base} ${detail}` : base } };
}

// ---------------------------------------------------------------------------------------------------------------
// §6.2 value rules

const HAN = /\p{Script=Han}/u;
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
const DATE = String.raw`(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{4}-\d{1,2}|\d{1,2}-\d{1,2})`;
const TIME = String.raw`(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?`;
const TIME_RE = new RegExp(`^(?:${DATE}\\s*)?${TIME}$`);
const DATE_RE = new RegExp(`^${DATE}(?:\\s*${TIME})?$`);

function ranged(value: string, re: RegExp): boolean {
  const parts = value.split("~");
  return parts.length <= 2 && parts.every((p) => re.test(p.trim()));
}

/** The type prefix of a key (`thing1` → `thing`, `character_string2` → `character_string`), or undefined. */
export function keyType(key: string): string | undefined {
  const m = /^([a-z_]+?)(\d+)$/.exec(key);
  return m ? m[1] : undefined;
}

/**
 * Checks a value against docs/templates.md for its key's type. Returns `undefined` if it passes, `empty` or `invalid`.
 * Keys without a known type prefix (`keyword1`, legacy templates) only refuse line breaks and control characters.
 */
export function checkTypedValue(key: string, value: string, enums?: string[]): "empty" | "invalid" | undefined {
  if (value === "") return "empty";
  if (CONTROL.test(value)) return "invalid";
  const len = [...value].length;
  const t = keyType(key);
  switch (t) {
    case "thing":
      return len <= 20 ? undefined : "invalid";
    case "number":
      return /^\d+(\.\d+)?$/.test(value) && len <= 32 ? undefined : "invalid";
    case "letter":
      return /^[A-Za-z]{1,32}$/.test(value) ? undefined : "invalid";
    case "symbol":
      return len <= 5 && !/[\p{L}\p{N}]/u.test(value) ? undefined : "invalid";
    case "character_string":
      return /^[\x20-\x7e]{1,32}$/.test(value) ? undefined : "invalid";
    case "time":
      return ranged(value, TIME_RE) ? undefined : "invalid";
    case "date":
      return ranged(value, DATE_RE) ? undefined : "invalid";
    case "amount":
      return /^[¥￥$€£]?\d{1,10}(\.\d+)?元?$/.test(value) ? undefined : "invalid";
    case "phone_number":
      return /^[\d+\-() ]{1,17}$/.test(value) ? undefined : "invalid";
    case "car_number":
      return len <= 8 && /^[\p{Script=Han}A-Za-z0-9][A-Za-z0-9]*[\p{Script=Han}A-Za-z0-9]?$/u.test(value) ? undefined : "invalid";
    case "name":
      return (HAN.test(value) ? len <= 10 : len <= 20) ? undefined : "invalid";
    case "phrase":
      return /^\p{Script=Han}{1,5}$/u.test(value) ? undefined : "invalid";
    case "enum":
      return !enums || enums.includes(value) ? undefined : "invalid";
    default:
      return undefined;
  }
}

/** Validates `data` against the template's keys; returns the 47003 answer or the plain values. */
function checkData(data: unknown, keys: string[], enums: Record<string, string[]> | undefined): FakeResponse | Record<string, string> {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return err(47003, "data is empty");
  const d = data as Record<string, unknown>;
  const values: Record<string, string> = {};
  for (const k of keys) {
    const item = d[k];
    const v = typeof item === "object" && item !== null ? (item as { value?: unknown }).value : undefined;
    if (v === undefined || v === null) return err(47003, `data.${k}.value is emtpy`);
    if (typeof v !== "string") return err(47003, `data.${k}.value invalid`);
    const r = checkTypedValue(k, v, enums?.[k]);
    if (r === "empty") return err(47003, `data.${k}.value is emtpy`);
    if (r === "invalid") return err(47003, `data.${k}.value invalid`);
    values[k] = v;
  }
  return values;
}

const isResp = (x: FakeResponse | Record<string, string>): x is FakeResponse => "body" in x && typeof (x as FakeResponse).body === "object";

export async function startWechatFake(opts: WechatFakeOptions = {}): Promise<WechatFake> {
  const clock = opts.clock ?? (() => Date.now());
  const apps = opts.apps ?? { wx_test_app: "wechat_test_secret_0123456789" };
  const injector = new FaultInjector(opts, clock);
  const limiter = new RateLimiter(opts.rateLimit, clock);
  const tokens = new TokenStore(clock, opts.tokenTtlSeconds ?? 7200, opts.tokenMaxUses ?? Number.POSITIVE_INFINITY);
  const state: WechatFakeState = {
    tokens,
    injector,
    followers: new Set(opts.followers ?? []),
    unfollowed: new Set(opts.unfollowed ?? []),
    templates: new Map(Object.entries(opts.templates ?? {})),
    subscribeTemplates: new Map(Object.entries(opts.subscribeTemplates ?? {})),
    users: new Set(opts.users ?? []),
    consents: new Map(Object.entries(opts.consents ?? {})),
    clientMsgIds: new Map(),
    dailyCalls: new Map(),
    calls: [],
  };
  const recipientErrors = opts.recipientErrors ?? {};
  const templateLedger: TemplateDelivery[] = [];
  const subscribeLedger: SubscribeDelivery[] = [];
  let msgSeq = 200228332;

  function credentials(appid: string | null | undefined, secret: string | null | undefined): FakeResponse | undefined {
    if (!appid) return err(41002);
    if (!(appid in apps)) return err(40013);
    if (!secret) return err(41004);
    if (apps[appid] !== secret) return err(40125);
    return undefined;
  }

  function tokenCheck(req: FakeRequest): FakeResponse | undefined {
    const t = tokens.use(req.query.get("access_token"));
    if (t.check === "missing") return err(41001);
    if (t.check === "unknown") return err(40001);
    if (t.check === "expired") return err(42001);
    return undefined;
  }

  function rateCheck(scope: string): FakeResponse | undefined {
    const w = limiter.hit(scope);
    if (w === "day") return err(45009);
    if (w) return err(45011);
    return undefined;
  }

  const shanghaiDay = (t: number) => Math.floor((t + 8 * 3600_000) / 86_400_000);

  function templateSend(b: Record<string, unknown>): FakeResponse {
    const touser = typeof b.touser === "string" ? b.touser : "";
    if (!touser || (!state.followers.has(touser) && !state.unfollowed.has(touser))) return err(40003);
    if (!state.followers.has(touser)) return err(43004);
    const tid = typeof b.template_id === "string" ? b.template_id : "";
    const tpl = state.templates.get(tid);
    if (!tpl) return err(40037);
    if (tpl.restricted) return err(43116);
    if (tpl.marketing) return err(40249);
    if (b.url !== undefined && (typeof b.url !== "string" || utf8Bytes(b.url) > 1024)) return err(40039);
    if (b.miniprogram !== undefined) {
      const mp = b.miniprogram as Record<string, unknown> | null;
      if (typeof mp !== "object" || mp === null || typeof mp.appid !== "string") return err(47003, "miniprogram.appid");
    }
    const data = checkData(b.data, tpl.keys, tpl.enums);
    if (isResp(data)) return data;
    const rcode = recipientErrors[touser];
    if (rcode !== undefined) return err(Number(rcode));
    const cmid = typeof b.client_msg_id === "string" && b.client_msg_id !== "" ? b.client_msg_id : undefined;
    const now = clock();
    if (cmid) {
      const prev = state.clientMsgIds.get(`${touser}|${cmid}`);
      if (prev && now - prev.at < 10 * 60_000) return { body: { errcode: 0, errmsg: "ok", msgid: prev.msgid } };
    }
    const rate = rateCheck("template");
    if (rate) return rate;
    const day = shanghaiDay(now);
    const n = (state.dailyCalls.get(day) ?? 0) + 1;
    state.dailyCalls.set(day, n);
    if (opts.dailyQuota !== undefined && n > opts.dailyQuota) return err(45009);
    const msgid = ++msgSeq;
    if (cmid) state.clientMsgIds.set(`${touser}|${cmid}`, { msgid, at: now });
    templateLedger.push({
      openid: touser,
      templateId: tid,
      msgid,
      clientMsgId: cmid,
      data,
      url: b.url as string | undefined,
      miniprogram: b.miniprogram,
      at: now,
    });
    return { body: { errcode: 0, errmsg: "ok", msgid } };
  }

  function subscribeSend(b: Record<string, unknown>): FakeResponse {
    const touser = typeof b.touser === "string" ? b.touser : "";
    if (!touser || !state.users.has(touser)) return err(40003);
    const tid = typeof b.template_id === "string" ? b.template_id : "";
    const tpl = state.subscribeTemplates.get(tid);
    if (!tpl) return err(40037);
    if (tpl.banned) return err(43107);
    const page = typeof b.page === "string" ? b.page : undefined;
    if (b.page !== undefined && (page === undefined || (opts.pages && !opts.pages.includes(page.split("?")[0])))) return err(41030);
    if (b.miniprogram_state !== undefined && !["developer", "trial", "formal"].includes(String(b.miniprogram_state)))
      return err(47003, "miniprogram_state invalid");
    if (b.lang !== undefined && !["zh_CN", "en_US", "zh_HK", "zh_TW"].includes(String(b.lang))) return err(47003, "lang invalid");
    const data = checkData(b.data, tpl.keys, tpl.enums);
    if (isResp(data)) return data;
    if ((opts.sensitiveWords ?? []).some((w) => Object.values(data).some((v) => v.includes(w)))) return err(45168);
    const rcode = recipientErrors[touser];
    if (rcode !== undefined) return err(Number(rcode));
    const rate = rateCheck("subscribe");
    if (rate) return rate;
    const ck = `${touser}|${tid}`;
    const left = state.consents.get(ck) ?? 0;
    if (left <= 0) return err(43101);
    state.consents.set(ck, left - 1);
    subscribeLedger.push({ openid: touser, templateId: tid, page, miniprogramState: b.miniprogram_state, lang: b.lang, data, at: clock() });
    return { body: { errcode: 0, errmsg: "ok" } };
  }

  function handler(req: FakeRequest): FakeResponse {
    const p = req.path;
    if (p === "/cgi-bin/token") {
      if (req.method !== "GET") return { status: 405, body: "method not allowed", contentType: "text/plain" };
      if (req.query.get("grant_type") !== "client_credential") return err(40002);
      const appid = req.query.get("appid");
      const bad = credentials(appid, req.query.get("secret"));
      if (bad) return bad;
      const subject = `t:${appid}`;
      const { token, expiresIn } = tokens.issue(subject);
      tokens.shorten(subject, clock() + 5 * 60_000, token); // the previous token works 5 more minutes
      return { body: { access_token: token, expires_in: expiresIn } };
    }
    if (p === "/cgi-bin/stable_token") {
      if (req.method !== "POST") return { status: 405, body: "method not allowed", contentType: "text/plain" };
      const b = req.json as Record<string, unknown> | undefined;
      if (req.jsonError || typeof b !== "object" || b === null) return err(47001);
      if (b.grant_type !== "client_credential") return err(40002);
      const appid = typeof b.appid === "string" ? b.appid : undefined;
      const bad = credentials(appid, typeof b.secret === "string" ? b.secret : undefined);
      if (bad) return bad;
      const subject = `s:${appid}`;
      if (b.force_refresh === true) {
        const { token, expiresIn } = tokens.issue(subject);
        tokens.shorten(subject, clock(), token);
        return { body: { access_token: token, expires_in: expiresIn } };
      }
      const { token, expiresIn } = tokens.stable(subject);
      return { body: { access_token: token, expires_in: expiresIn } };
    }
    if (p !== "/cgi-bin/message/template/send" && p !== "/cgi-bin/message/subscribe/send") return { status: 404, body: "not found", contentType: "text/plain" };
    if (req.method !== "POST") return { status: 405, body: "method not allowed", contentType: "text/plain" };
    const tokErr = tokenCheck(req);
    if (tokErr) return tokErr;
    const b = req.json as Record<string, unknown> | undefined;
    if (req.jsonError || typeof b !== "object" || b === null || Array.isArray(b)) return err(47001);
    const r = p.endsWith("/template/send") ? templateSend(b) : subscribeSend(b);
    state.calls.push({ path: p, touser: typeof b.touser === "string" ? b.touser : undefined, errcode: (r.body as { errcode: number }).errcode });
    return r;
  }

  const server = await startFakeServer({
    handler,
    injector,
    faultable: (r) => r.path.startsWith("/cgi-bin/message/"),
    httpErrorBody: () => ({ errcode: -1, errmsg: "system error" }),
    errorBody: (code) => ({ errcode: Number(code), errmsg: ERRMSG[Number(code)] ?? "error" }),
    contentType: "application/json; encoding=utf-8",
  });

  return {
    url: server.url,
    close: server.close,
    state,
    script: (...f) => injector.push(...f),
    deliveries: () => [...templateLedger],
    subscribeDeliveries: () => [...subscribeLedger],
    faults: () => [...injector.log],
    revokeTokens: (appid) => {
      if (appid === undefined) tokens.revokeAll();
      else {
        tokens.revokeAll(`s:${appid}`);
        tokens.revokeAll(`t:${appid}`);
      }
    },
    grantConsent: (openid, tid, n = 1) => void state.consents.set(`${openid}|${tid}`, (state.consents.get(`${openid}|${tid}`) ?? 0) + n),
    unfollow: (openid) => {
      state.followers.delete(openid);
      state.unfollowed.add(openid);
    },
  };
}
