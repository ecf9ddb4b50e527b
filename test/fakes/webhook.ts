/**
 * Loopback fake of a webhook receiver speaking the project's own protocol (docs/channels.md):
 * `POST <any path>` with `X-Chuda-Timestamp` / `X-Chuda-Signature`, verified over `timestamp.body` within ±300 s of
 * the fake clock. Deliveries are kept by `key`: a repeated key is answered 2xx and not counted twice.
 *
 * Knobs beyond the common ones: `respond(status, headers)` queues plain HTTP answers (e.g. 429 with `Retry-After`,
 * 400, 503) for the next requests; `rateLimit` answers 429 with `Retry-After: retryAfterSeconds`.
 * The common `error(code)` fault is not meaningful here (it answers 200); use `respond` instead.
 */
import { safeEqual, webhookSignature } from "../../src/drivers/signing.js";
import {
  type CommonFakeOptions,
  type Fault,
  type FaultLogEntry,
  type FakeRequest,
  type FakeResponse,
  FaultInjector,
  RateLimiter,
  startFakeServer,
} from "./common.js";

export interface WebhookFakeOptions extends CommonFakeOptions {
  /** Default `whsecret`. */
  secret?: string;
  /** Allowed clock difference, seconds. Default 300. */
  toleranceSeconds?: number;
  /** `Retry-After` of a rate-limit 429. Default `30`. */
  retryAfterSeconds?: number;
}

export interface WebhookDelivery {
  key: string;
  path: string;
  body: Record<string, unknown>;
  at: number;
}

export interface WebhookFake {
  url: string;
  close(): Promise<void>;
  script(...faults: Fault[]): void;
  /** Queues `n` plain answers with this status and headers for the next requests. */
  respond(status: number, headers?: Record<string, string>, n?: number): void;
  /** An outage: every request answered with this status until `down(undefined)`. */
  down(status: number | undefined): void;
  /** One entry per distinct key. */
  deliveries(): WebhookDelivery[];
  /** Every verified POST that reached the handler, duplicates included. */
  received(): number;
  /** Every verified POST, whatever it was answered (429s and queued answers included). */
  requests(): number;
  /** Requests refused for a bad signature or timestamp. */
  rejected(): { reason: string; at: number }[];
  faults(): FaultLogEntry[];
}

export async function startWebhookFake(opts: WebhookFakeOptions = {}): Promise<WebhookFake> {
  const clock = opts.clock ?? (() => Date.now());
  const injector = new FaultInjector(opts, clock);
  const limiter = new RateLimiter(opts.rateLimit, clock);
  const secret = opts.secret ?? "whsecret";
  const tolerance = opts.toleranceSeconds ?? 300;
  const queue: { status: number; headers: Record<string, string> }[] = [];
  let outage: number | undefined;
  const byKey = new Map<string, WebhookDelivery>();
  const rejected: { reason: string; at: number }[] = [];
  let received = 0;
  let verified = 0;

  const header = (req: FakeRequest, n: string) => {
    const v = req.headers[n];
    return Array.isArray(v) ? v[0] : v;
  };

  function handler(req: FakeRequest): FakeResponse {
    if (req.method !== "POST") return { status: 405, body: { error: "method_not_allowed" } };
    const ts = header(req, "x-chuda-timestamp");
    const sig = header(req, "x-chuda-signature");
    if (!ts || !/^\d+$/.test(ts) || Math.abs(clock() / 1000 - Number(ts)) > tolerance) {
      rejected.push({ reason: "timestamp", at: clock() });
      return { status: 401, body: { error: "stale_or_missing_timestamp" } };
    }
    if (!sig || !safeEqual(sig, webhookSignature(secret, ts, req.raw))) {
      rejected.push({ reason: "signature", at: clock() });
      return { status: 401, body: { error: "bad_signature" } };
    }
    verified++;
    if (outage !== undefined) return { status: outage, body: { error: `status_${outage}` } };
    const q = queue.shift();
    if (q) return { status: q.status, body: { error: `status_${q.status}` }, headers: q.headers };
    if (limiter.hit()) return { status: 429, body: { error: "rate_limited" }, headers: { "retry-after": String(opts.retryAfterSeconds ?? 30) } };
    const b = req.json as Record<string, unknown> | undefined;
    if (req.jsonError || !b || typeof b !== "object" || typeof b.key !== "string" || b.key === "") return { status: 400, body: { error: "bad_body" } };
    received++;
    const dup = byKey.has(b.key);
    if (!dup) byKey.set(b.key, { key: b.key, path: req.path, body: b, at: clock() });
    return { status: 200, body: { ok: true, duplicate: dup } };
  }

  const server = await startFakeServer({
    handler,
    injector,
    httpErrorBody: (status) => ({ error: `http_${status}` }),
    errorBody: (code) => ({ error: String(code) }),
    contentType: "application/json",
  });

  return {
    url: server.url,
    close: server.close,
    script: (...f) => injector.push(...f),
    respond: (status, headers = {}, n = 1) => {
      for (let i = 0; i < n; i++) queue.push({ status, headers });
    },
    down: (status) => {
      outage = status;
    },
    deliveries: () => [...byKey.values()],
    received: () => received,
    requests: () => verified,
    rejected: () => [...rejected],
    faults: () => [...injector.log],
  };
}
