/**
 * Access tokens of WeChat and WeCom (docs/channels.md, "Access tokens"), and the authenticated call that refreshes a
 * refused one once.
 *
 * Tokens live in a `TokenStore`: during a dispatch, the ledger's `tokens` table, so that every process of one ledger
 * uses one token per app (a WeChat fetch invalidates the token other processes hold). Without a store (a driver
 * created outside a dispatch), one store in this process's memory. In front of the store, each process keeps the token
 * in memory and shares one fetch between its concurrent callers.
 *
 * Getting a token: memory while fresh; else the store; else, under the store's lease on the key (so that two
 * processes never both fetch), the store once more (another process may have stored one meanwhile), and only then the
 * provider. A token is stored until `expires_in` − 300 s; a token the provider refused is never handed out again.
 */
import { randomUUID } from "node:crypto";
import type { DriverContext, TokenStore } from "./types.js";
import { type HttpClient, type HttpResult, providerUrl, redact } from "./http.js";
import { type Failed, failed, isObj } from "./common.js";

/** A store in this process's memory: the default when a driver is given none. */
export function memoryTokenStore(): TokenStore {
  const tokens = new Map<string, { token: string; expiresAt: number }>();
  return {
    async get(key, now) {
      const t = tokens.get(key);
      return t && t.expiresAt > now ? t.token : undefined;
    },
    async put(key, token, expiresAt) {
      tokens.set(key, { token, expiresAt });
    },
  };
}

const processStore = memoryTokenStore();

export type TokenResult = { ok: true; token: string } | { ok: false; outcome: Failed };
/** What a provider's token endpoint answered. */
export type FetchedToken = { ok: true; token: string; expiresIn: number } | { ok: false; outcome: Failed };

export interface AccessTokens {
  /** A fresh token. `rejected`: a token the provider just refused, never returned again. */
  get(rejected?: string): Promise<TokenResult>;
}

/** Refresh this long before the provider's expiry. */
const REFRESH_MARGIN_S = 300;
/** A token read from the store (stored by another process) is read again after this long. */
const RECHECK_MS = 60_000;
/** How often a process waiting for another's fetch looks at the store. */
const LEASE_POLL_MS = 100;

interface Slot {
  token?: string;
  freshUntil?: number;
  inflight?: Promise<TokenResult>;
}
const slotsByStore = new WeakMap<TokenStore, Map<string, Slot>>();

/**
 * The tokens of one app: `key` names the app across processes (provider, origin, app id and a hash of the secret);
 * `fetch` asks the provider for one (given the token just refused, if any).
 */
export function accessTokens(ctx: DriverContext, key: string, fetch: (rejected?: string) => Promise<FetchedToken>): AccessTokens {
  const store = ctx.tokens ?? processStore;
  const slot = (): Slot => {
    let slots = slotsByStore.get(store);
    if (!slots) slotsByStore.set(store, (slots = new Map()));
    let s = slots.get(key);
    if (!s) slots.set(key, (s = {}));
    return s;
  };
  const usable = (t: string | undefined, rejected: string | undefined): t is string => t !== undefined && t !== rejected;
  const remember = (token: string, freshUntil: number): TokenResult => {
    const s = slot();
    s.token = token;
    s.freshUntil = freshUntil;
    return { ok: true, token };
  };

  async function fetchAndStore(rejected: string | undefined): Promise<TokenResult> {
    const f = await fetch(rejected);
    if (!f.ok) return f;
    const expiresAt = ctx.now() + Math.max(0, f.expiresIn - REFRESH_MARGIN_S) * 1000;
    await store.put(key, f.token, expiresAt);
    return remember(f.token, expiresAt);
  }

  async function obtain(rejected: string | undefined): Promise<TokenResult> {
    const stored = await store.get(key, ctx.now());
    if (usable(stored, rejected)) return remember(stored, ctx.now() + RECHECK_MS);
    if (!store.lease) return fetchAndStore(rejected);
    const holder = randomUUID();
    const leaseMs = 2 * ctx.timeoutMs + 1000;
    while (!(await store.lease(key, holder, Date.now(), Date.now() + leaseMs))) {
      await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
      const other = await store.get(key, ctx.now());
      if (usable(other, rejected)) return remember(other, ctx.now() + RECHECK_MS);
    }
    try {
      const again = await store.get(key, ctx.now());
      if (usable(again, rejected)) return remember(again, ctx.now() + RECHECK_MS);
      return await fetchAndStore(rejected);
    } finally {
      // Best effort: a lease that is not released expires by itself.
      await store.lease(key, holder, Date.now(), 0).catch(() => false);
    }
  }

  return {
    async get(rejected) {
      const s = slot();
      if (usable(s.token, rejected) && (s.freshUntil ?? 0) > ctx.now()) return { ok: true, token: s.token };
      s.inflight ??= obtain(rejected).finally(() => (s.inflight = undefined));
      return s.inflight;
    },
  };
}

/** How one provider's authenticated calls read (WeChat and WeCom answer alike: `errcode`, `errmsg`). */
export interface TokenCallSpec {
  /** `wechat`, `wecom`: the start of every message. */
  provider: string;
  /** The provider's origin (`DriverContext.baseUrl` replaces it). */
  origin: string;
  /** The `errcode`s of a refused token: refreshed once, then the call retried once. */
  refreshCodes: ReadonlySet<number>;
  /** Values never shown in a message. */
  secrets: string[];
  /** What may have happened when an answer is lost after the request left: "the message may have been sent". */
  mayHave: string;
}

export type TokenCallResult = { ok: true; json: Record<string, unknown>; errcode: number; errmsg: string } | { ok: false; outcome: Failed };

/** An answer that is not the provider's JSON: `ambiguous` (5xx / 200) when the call changes something, else by status. */
function unreadable(spec: TokenCallSpec, status: number, mutating: boolean, what: string): Failed {
  const code = `http_${status}`;
  if (status >= 500 || status === 200)
    return mutating
      ? failed("ambiguous", code, `${spec.provider} ${what}: HTTP ${status} without a readable answer`)
      : failed("retry", code, `${spec.provider} ${what}: HTTP ${status}`);
  if (status === 429) return failed("retry", code, `${spec.provider} ${what}: HTTP 429`);
  return failed("request", code, `${spec.provider} ${what}: HTTP ${status}`);
}

/**
 * POSTs `body` to `path?access_token=…`, awaiting `ctx.acquire` before each attempt. A refused token is refreshed once
 * and the call retried once; refused again → `stop`. A transport failure after the request may have left →
 * `ambiguous` when `mutating`, else `retry`.
 */
export async function callWithToken(
  ctx: DriverContext,
  http: HttpClient,
  tokens: AccessTokens,
  spec: TokenCallSpec,
  call: { path: string; body: unknown; what: string; mutating: boolean },
): Promise<TokenCallResult> {
  let tok = await tokens.get();
  if (!tok.ok) return tok;
  const { provider, refreshCodes } = spec;
  for (let attempt = 0; ; attempt++) {
    await ctx.acquire?.();
    const url = providerUrl(ctx.baseUrl, spec.origin, call.path);
    const r: HttpResult = await http.call({ method: "POST", url, searchParams: { access_token: tok.token }, json: call.body });
    if (!r.ok) {
      if (r.sent && call.mutating) return { ok: false, outcome: failed("ambiguous", r.code, `${provider} ${call.what}: ${r.message}; ${spec.mayHave}`) };
      return { ok: false, outcome: failed("retry", r.code, `${provider} ${call.what}: ${r.message}`) };
    }
    const j = r.json;
    if (!isObj(j) || (j.errcode === undefined && r.status !== 200)) return { ok: false, outcome: unreadable(spec, r.status, call.mutating, call.what) };
    const errcode = Number(j.errcode ?? 0);
    const errmsg = redact(String(j.errmsg ?? ""), spec.secrets);
    if (!refreshCodes.has(errcode)) return { ok: true, json: j, errcode, errmsg };
    if (attempt > 0)
      return { ok: false, outcome: failed("stop", String(errcode), `${provider} ${call.what}: access token refused again right after a refresh (${errmsg})`) };
    tok = await tokens.get(tok.token);
    if (!tok.ok) return tok;
  }
}
