/**
 * The HTTP seam every built-in driver shares (docs/channels.md): a keep-alive agent per driver instance, the
 * channel's request timeout, no automatic retries (the runner retries), no throwing on HTTP errors, no redirects
 * followed, gzip/deflate/br bodies decoded, and JSON parsed whatever the `Content-Type` says (WeChat answers
 * `application/json; encoding=utf-8` and sometimes `text/plain`).
 *
 * Node's own `http.request`, not a client library: a call is a few options and a body, and a library's option
 * handling cost each call a fifth of a millisecond, and each process a third of a second warming it up — a tenth of
 * a dispatch worker's time at 20,000 sends a second.
 *
 * A transport failure is returned as a value that tells whether the request may have reached the provider
 * (`sent: true` → the driver must classify it `ambiguous`), never thrown.
 */
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";
import zlib from "node:zlib";

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

/** Creates the keep-alive HTTP client of a driver instance. */
export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const maxSockets = opts.maxSockets ?? 64;
  // Idle keep-alive sockets are dropped after `idleSocketMs`, well before providers close them: a request written
  // on a socket the server is closing fails with a reset that a driver must treat as ambiguous.
  const idle = opts.idleSocketMs ?? 15_000;
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets, timeout: idle }),
    https: new https.Agent({ keepAlive: true, maxSockets, timeout: idle }),
  };
  return {
    call: (c) => request(c, agent, opts.timeoutMs),
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

/** One call: resolves with the answer or the transport failure, never rejects. */
function request(c: HttpCallOptions, agent: { http: http.Agent; https: https.Agent }, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(c.url);
    } catch {
      resolve(classifyTransportError({ code: "ERR_INVALID_URL" }));
      return;
    }
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") {
      resolve(classifyTransportError({ code: "ERR_INVALID_URL" }));
      return;
    }
    // The query string given replaces any in the URL.
    if (c.searchParams) url.search = new URLSearchParams(c.searchParams).toString();
    const headers: Record<string, string> = { "user-agent": "chuda", "accept-encoding": "gzip, deflate, br" };
    for (const [k, v] of Object.entries(c.headers ?? {})) headers[k.toLowerCase()] = v;
    const body = c.json !== undefined ? JSON.stringify(c.json) : c.body;
    if (c.json !== undefined) headers["content-type"] ??= "application/json";
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    let settled = false;
    const settle = (r: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = (secure ? https : http).request(url, { method: c.method, agent: secure ? agent.https : agent.http, headers }, (res) => {
      const encoding = String(res.headers["content-encoding"] ?? "").toLowerCase();
      const decoder =
        encoding === "gzip" || encoding === "x-gzip"
          ? zlib.createGunzip()
          : encoding === "deflate"
            ? zlib.createInflate()
            : encoding === "br"
              ? zlib.createBrotliDecompress()
              : undefined;
      const stream: Readable = decoder ? res.pipe(decoder) : res;
      const chunks: Buffer[] = [];
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        settle({ ok: true, status: res.statusCode ?? 0, headers: res.headers, text, json: parseJsonLoose(text) });
      });
      stream.on("error", (e) => settle(classifyTransportError(e)));
      // The connection closed before the whole answer came: the provider may have acted on the request.
      res.on("close", () => {
        if (!res.complete) settle(classifyTransportError({ code: "ECONNRESET" }));
      });
    });
    // The whole call, from the first byte written to the last one read, as one deadline.
    const timer = setTimeout(() => {
      settle(classifyTransportError({ code: "ETIMEDOUT" }));
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) => settle(classifyTransportError(e)));
    req.end(body);
  });
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

/** Maps a Node error to a transport failure. Only connection-level errors before sending count as unsent. */
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
