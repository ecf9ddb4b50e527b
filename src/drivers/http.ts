/**
 * The HTTP seam every built-in driver shares (docs/channels.md): one `got` instance per driver instance with a
 * keep-alive agent, the channel's request timeout, no automatic retries (the runner retries), no throwing on
 * HTTP errors, and JSON parsed whatever the `Content-Type` says (WeChat answers `application/json; encoding=utf-8`
 * and sometimes `text/plain`).
 *
 * A transport failure is returned as a value that tells whether the request may have reached the provider
 * (`sent: true` → the driver must classify it `ambiguous`), never thrown.
 */
import http from "node:http";
import https from "node:https";
import got, { type Got, type Method } from "got";

export interface HttpCallOptions {
  method: "GET" | "POST";
  /** Absolute URL (see `providerUrl`). */
  url: string;
  searchParams?: Record<string, string>;
  /** A JSON body (serialised with `JSON.stringify`, sent as `application/json`). */
  json?: unknown;
  /** A raw body (e.g. form-encoded or a pre-serialised JSON the caller signed). */
  body?: string;
  headers?: Record<string, string>;
}

export interface HttpAnswer {
  ok: true;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or `undefined` when it is empty or not JSON. */
  json: unknown;
}

export interface HttpTransportFailure {
  ok: false;
  /** `timeout`, `reset`, `refused` (never connected), `dns` (never connected), `other`. */
  kind: "timeout" | "reset" | "refused" | "dns" | "other";
  /** A short code for outcomes: `timeout`, `reset`, `refused`, `dns`, or the Node error code. */
  code: string;
  /** Whether the request may have reached the provider: if so, the send is ambiguous. */
  sent: boolean;
  /** A message safe to show (no URL, no query string, no secrets). */
  message: string;
}

export type HttpResult = HttpAnswer | HttpTransportFailure;

export interface HttpClient {
  call(opts: HttpCallOptions): Promise<HttpResult>;
  close(): void;
}

export interface HttpClientOptions {
  timeoutMs: number;
  /** Per-host socket bound of the keep-alive agent. Default 64. */
  maxSockets?: number;
  /** Idle keep-alive sockets are closed after this many ms. Default 15 000. */
  idleSocketMs?: number;
}

/** Creates one keep-alive `got` instance for a driver instance. */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const maxSockets = opts.maxSockets ?? 64;
  // Idle keep-alive sockets are dropped after `idleSocketMs`, well before providers close them: a request written
  // on a socket the server is closing fails with a reset that a driver must treat as ambiguous.
  const idle = opts.idleSocketMs ?? 15_000;
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets, timeout: idle }),
    https: new https.Agent({ keepAlive: true, maxSockets, timeout: idle }),
  };
  const client: Got = got.extend({
    agent,
    timeout: { request: opts.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: "text",
    decompress: true,
  });
  return {
    async call(c: HttpCallOptions): Promise<HttpResult> {
      try {
        const res = await client(c.url, {
          method: c.method as Method,
          searchParams: c.searchParams,
          headers: c.headers,
          ...(c.json !== undefined ? { json: c.json } : {}),
          ...(c.body !== undefined ? { body: c.body } : {}),
        });
        const text = typeof res.body === "string" ? res.body : String(res.body ?? "");
        return { ok: true, status: res.statusCode, headers: res.headers, text, json: parseJsonLoose(text) };
      } catch (err) {
        return classifyTransportError(err);
      }
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

/** Parses a body as JSON whatever the content type; `undefined` when empty or not JSON. */
export function parseJsonLoose(text: string): unknown {
  const t = text.trim();
  if (t === "" || (t[0] !== "{" && t[0] !== "[")) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

const NEVER_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ERR_INVALID_URL"]);

/** Maps a `got` / Node error to a transport failure. Only connection-level errors before sending count as unsent. */
export function classifyTransportError(err: unknown): HttpTransportFailure {
  const e = err as { code?: string; name?: string; message?: string; timings?: { upload?: number } };
  const code = typeof e?.code === "string" ? e.code : "";
  if (code === "ETIMEDOUT" || e?.name === "TimeoutError") {
    return { ok: false, kind: "timeout", code: "timeout", sent: true, message: "no answer within the request timeout" };
  }
  if (code === "ECONNREFUSED") {
    return { ok: false, kind: "refused", code: "refused", sent: false, message: "connection refused" };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return { ok: false, kind: "dns", code: "dns", sent: false, message: `host name not resolved (${code})` };
  }
  if (code === "ECONNRESET" || code === "EPIPE" || /socket hang up/i.test(e?.message ?? "")) {
    return { ok: false, kind: "reset", code: "reset", sent: true, message: "connection reset before an answer" };
  }
  const sent = !NEVER_SENT_CODES.has(code);
  return { ok: false, kind: "other", code: code || "transport", sent, message: `transport error${code ? ` ${code}` : ""}` };
}

/**
 * The URL of a provider endpoint. `baseUrl` replaces scheme, host and port of `defaultOrigin`; a path prefix in
 * `baseUrl` (a reverse proxy) is kept in front of the provider's own path.
 */
export function providerUrl(baseUrl: string | undefined, defaultOrigin: string, path: string): string {
  const base = new URL(baseUrl && baseUrl.trim() !== "" ? baseUrl : defaultOrigin);
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${path}`;
}

/** Replaces every occurrence of any secret value in `text` with `***` (values shorter than 4 chars are ignored). */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join("***");
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; resolves when all are done (order of calls kept). */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
