/**
 * Shared machinery of the loopback provider fakes (docs/channels.md): an injectable clock, a script of faults and
 * a seeded fault rate, a fault log, fixed-window rate limits, a token store with TTL / max uses, and a node:http
 * server on 127.0.0.1:<random port> that applies transport faults around a provider-specific handler.
 *
 * Knob names are the project's own (§0.1 "Suggested knobs").
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";

// ---------------------------------------------------------------------------------------------------------------
// Faults

export type FaultKind = "http" | "slow" | "reset" | "acceptThenDrop" | "badJson" | "error";

export type Fault =
  /** HTTP 500/502/503 with a provider-shaped body; the request is not performed. */
  | { kind: "http"; status: number; path?: string }
  /** The request is performed, the answer is held back `ms` of real time (longer than the driver's timeout). */
  | { kind: "slow"; ms: number; path?: string }
  /** The socket is destroyed before anything is performed or answered. */
  | { kind: "reset"; path?: string }
  /** The request is performed and recorded, then the socket is destroyed without an answer. */
  | { kind: "acceptThenDrop"; path?: string }
  /** HTTP 200 with a non-JSON body; the request is not performed. */
  | { kind: "badJson"; path?: string }
  /** HTTP 200 with the provider's error body for `code`; the request is not performed. */
  | { kind: "error"; code: number | string; path?: string };

/** Builders for script entries. `path` (optional) makes the entry wait for the next request whose path contains it. */
export const fault = {
  http: (status = 500, path?: string): Fault => ({ kind: "http", status, path }),
  slow: (ms: number, path?: string): Fault => ({ kind: "slow", ms, path }),
  reset: (path?: string): Fault => ({ kind: "reset", path }),
  acceptThenDrop: (path?: string): Fault => ({ kind: "acceptThenDrop", path }),
  badJson: (path?: string): Fault => ({ kind: "badJson", path }),
  error: (code: number | string, path?: string): Fault => ({ kind: "error", code, path }),
};

export interface FaultLogEntry {
  /** Fake-clock time. */
  at: number;
  method: string;
  path: string;
  /** The request body (raw, truncated to 500 chars). */
  body: string;
  fault: Fault;
  /** `script` or `rate`. */
  source: "script" | "rate";
}

/** A small, fast, seeded PRNG (mulberry32). Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RateLimit {
  perSecond?: number;
  perMinute?: number;
  perDay?: number;
}

export interface CommonFakeOptions {
  /** Fake clock, epoch ms, shared with the test. Default: real time. */
  clock?: () => number;
  /** Faults applied to the next (matching) requests, in order. */
  script?: Fault[];
  /** Probability of a random fault on each faultable request. Default 0. */
  faultRate?: number;
  /** Seed of the PRNG behind `faultRate` (and anything else random in a fake). Default 1. */
  seed?: number;
  /** Real-time delay of a random `slow` fault. Default 1500 ms. */
  slowMs?: number;
  /** Error codes a random `error` fault may use. Default: none (no random `error` faults). */
  randomErrorCodes?: (number | string)[];
  /** Beyond these, the provider's rate-limit error. */
  rateLimit?: RateLimit;
  /** Tokens expire after N seconds of fake time. Default 7200. */
  tokenTtlSeconds?: number;
  /** Tokens expire after N uses. Default ∞. */
  tokenMaxUses?: number;
  /** Recipient (external_userid, openid, phone) → provider error code. */
  recipientErrors?: Record<string, number | string>;
}

/** Decides, per request, whether and which fault applies; logs every injected fault. */
export class FaultInjector {
  readonly log: FaultLogEntry[] = [];
  private readonly queue: Fault[];
  private readonly rng: () => number;
  private readonly rate: number;
  private readonly slowMs: number;
  private readonly errorCodes: (number | string)[];

  constructor(
    opts: CommonFakeOptions,
    private readonly clock: () => number,
  ) {
    this.queue = [...(opts.script ?? [])];
    this.rng = mulberry32(opts.seed ?? 1);
    this.rate = opts.faultRate ?? 0;
    this.slowMs = opts.slowMs ?? 1500;
    this.errorCodes = opts.randomErrorCodes ?? [];
  }

  /** Appends faults to the script. */
  push(...faults: Fault[]): void {
    this.queue.push(...faults);
  }

  /** Faults still waiting in the script. */
  pending(): number {
    return this.queue.length;
  }

  /**
   * The fault for this request, if any. A script entry with a `path` waits for a request whose path contains it
   * (token endpoints included); one without applies to the next faultable request.
   */
  next(req: { method: string; path: string; raw: string }, faultable: boolean): Fault | undefined {
    const idx = this.queue.findIndex((f) => (f.path !== undefined ? req.path.includes(f.path) : faultable));
    let chosen: Fault | undefined;
    let source: "script" | "rate" = "script";
    if (idx >= 0) {
      chosen = this.queue.splice(idx, 1)[0];
    } else if (faultable && this.rate > 0 && this.rng() < this.rate) {
      source = "rate";
      const menu: Fault[] = [
        fault.http(500),
        fault.http(502),
        fault.http(503),
        fault.slow(this.slowMs),
        fault.reset(),
        fault.acceptThenDrop(),
        fault.badJson(),
        ...this.errorCodes.map((c) => fault.error(c)),
      ];
      chosen = menu[Math.floor(this.rng() * menu.length)];
    }
    if (chosen) {
      this.log.push({ at: this.clock(), method: req.method, path: req.path, body: req.raw.slice(0, 500), fault: chosen, source });
    }
    return chosen;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rate limits

/** Fixed windows on the fake clock. Days are calendar days at `dayOffsetMs` from UTC (default UTC+8). */
export class RateLimiter {
  private counts = new Map<string, number>();
  constructor(
    private readonly limit: RateLimit | undefined,
    private readonly clock: () => number,
    private readonly dayOffsetMs = 8 * 3600_000,
  ) {}

  /** Counts one call; returns the window that is exceeded (the call is then refused and still counted), if any. */
  hit(scope = ""): "second" | "minute" | "day" | undefined {
    if (!this.limit) return undefined;
    const t = this.clock();
    const windows: ["second" | "minute" | "day", number | undefined, number][] = [
      ["second", this.limit.perSecond, Math.floor(t / 1000)],
      ["minute", this.limit.perMinute, Math.floor(t / 60_000)],
      ["day", this.limit.perDay, Math.floor((t + this.dayOffsetMs) / 86_400_000)],
    ];
    let exceeded: "second" | "minute" | "day" | undefined;
    for (const [name, max, bucket] of windows) {
      if (max === undefined) continue;
      const k = `${scope}|${name}|${bucket}`;
      const n = (this.counts.get(k) ?? 0) + 1;
      this.counts.set(k, n);
      if (n > max && exceeded === undefined) exceeded = name;
    }
    return exceeded;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

export type TokenCheck = "ok" | "missing" | "unknown" | "expired";

interface TokenRecord {
  subject: string;
  expiresAt: number;
  uses: number;
  /** Set when another holder forced a refresh: the token answers as invalid (WeChat 40001). */
  revokedAt?: number;
}

/** Access tokens with a TTL on the fake clock and an optional use budget. */
export class TokenStore {
  readonly issued: { subject: string; token: string; at: number }[] = [];
  private tokens = new Map<string, TokenRecord>();
  private current = new Map<string, string>();

  constructor(
    private readonly clock: () => number,
    private readonly ttlSeconds = 7200,
    private readonly maxUses = Number.POSITIVE_INFINITY,
  ) {}

  get ttl(): number {
    return this.ttlSeconds;
  }

  /** A new token for `subject`. */
  issue(subject: string): { token: string; expiresIn: number } {
    const token = `tok_${randomBytes(24).toString("base64url")}`;
    this.tokens.set(token, { subject, expiresAt: this.clock() + this.ttlSeconds * 1000, uses: 0 });
    this.current.set(subject, token);
    this.issued.push({ subject, token, at: this.clock() });
    return { token, expiresIn: this.ttlSeconds };
  }

  /** The subject's current token if still valid (stable_token semantics), else a new one. */
  stable(subject: string): { token: string; expiresIn: number } {
    const cur = this.current.get(subject);
    const rec = cur ? this.tokens.get(cur) : undefined;
    if (cur && rec && !rec.revokedAt && rec.expiresAt > this.clock() && rec.uses < this.maxUses) {
      return { token: cur, expiresIn: Math.max(1, Math.floor((rec.expiresAt - this.clock()) / 1000)) };
    }
    return this.issue(subject);
  }

  /** Checks and counts one use. */
  use(token: string | null | undefined): { check: TokenCheck; subject?: string } {
    if (!token) return { check: "missing" };
    const rec = this.tokens.get(token);
    if (!rec || rec.revokedAt !== undefined) return { check: "unknown" };
    if (rec.expiresAt <= this.clock() || rec.uses >= this.maxUses) return { check: "expired", subject: rec.subject };
    rec.uses++;
    return { check: "ok", subject: rec.subject };
  }

  /** Expires every token of `subject` now (the provider "may invalidate a token early"). */
  expireAll(subject?: string): void {
    for (const rec of this.tokens.values()) if (subject === undefined || rec.subject === subject) rec.expiresAt = this.clock();
  }

  /** Caps the remaining life of every token of `subject` but `except` at `untilMs` (WeChat's 5-minute overlap). */
  shorten(subject: string, untilMs: number, except?: string): void {
    for (const [tok, rec] of this.tokens) if (rec.subject === subject && tok !== except) rec.expiresAt = Math.min(rec.expiresAt, untilMs);
  }

  /** Revokes every token of `subject` (another holder refreshed: WeChat answers 40001). */
  revokeAll(subject?: string): void {
    for (const rec of this.tokens.values()) if (subject === undefined || rec.subject === subject) rec.revokedAt = this.clock();
    if (subject === undefined) this.current.clear();
    else this.current.delete(subject);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Server

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** The body parsed as JSON; `undefined` if absent or malformed (see `jsonError`). */
  json: unknown;
  jsonError: boolean;
}

export interface FakeResponse {
  status?: number;
  /** An object is JSON-serialised; a string is sent as is. */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface FakeServerHooks {
  handler: (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;
  injector: FaultInjector;
  /** Which requests random / path-less scripted faults may hit. Default: all. */
  faultable?: (req: FakeRequest) => boolean;
  /** Body of an injected HTTP 5xx. */
  httpErrorBody: (status: number) => unknown;
  /** Body of an injected `error(code)`. */
  errorBody: (code: number | string) => unknown;
  /** Default content type of JSON answers. */
  contentType?: string;
}

export interface StartedServer {
  url: string;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Starts a node:http server on 127.0.0.1:<random port> that applies injected faults around `hooks.handler`. */
export async function startFakeServer(hooks: FakeServerHooks): Promise<StartedServer> {
  const timers = new Set<NodeJS.Timeout>();
  const defaultType = hooks.contentType ?? "application/json; encoding=utf-8";

  const write = (res: http.ServerResponse, r: FakeResponse) => {
    if (res.destroyed || res.writableEnded) return;
    const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
    res.writeHead(r.status ?? 200, { "content-type": r.contentType ?? defaultType, ...(r.headers ?? {}) });
    res.end(text);
  };

  // Node calls a request listener without awaiting it: the handler catches its own errors.
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      const raw = await readBody(req);
      const u = new URL(req.url ?? "/", "http://127.0.0.1");
      let json: unknown;
      let jsonError = false;
      if (raw.trim() !== "") {
        try {
          json = JSON.parse(raw);
        } catch {
          jsonError = true;
        }
      }
      const fr: FakeRequest = { method: req.method ?? "GET", path: u.pathname, query: u.searchParams, headers: req.headers, raw, json, jsonError };
      const faultable = hooks.faultable ? hooks.faultable(fr) : true;
      const f = hooks.injector.next(fr, faultable);
      if (!f) return write(res, await hooks.handler(fr));
      switch (f.kind) {
        case "reset":
          req.socket.destroy();
          return;
        case "http":
          return write(res, { status: f.status, body: hooks.httpErrorBody(f.status) });
        case "error":
          return write(res, { body: hooks.errorBody(f.code) });
        case "badJson":
          return write(res, { body: "<html><body>502 Bad Gateway</body></html>", contentType: "text/html" });
        case "acceptThenDrop":
          await hooks.handler(fr);
          req.socket.destroy();
          return;
        case "slow": {
          const answer = await hooks.handler(fr);
          const t = setTimeout(() => {
            timers.delete(t);
            write(res, answer);
          }, f.ms);
          timers.add(t);
          return;
        }
      }
    } catch (err) {
      write(res, { status: 500, body: { errcode: -1, errmsg: `fake crashed: ${(err as Error).message}` } });
    }
  };
  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A manual clock for tests: `clock.now()` is the fake time; `advance(ms)` moves it. */
export function manualClock(start = Date.UTC(2026, 10, 24, 2, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (t: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (v) => void (t = v) };
}

/** UTF-8 byte length. */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
