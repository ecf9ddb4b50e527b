/**
 * The one interface every channel driver implements (docs/channels.md, "Shared conventions").
 * A driver sends only what it is handed; it never decides who gets what.
 */
import type { ContentKind } from "../project/types.js";
import type { RenderedContent } from "../content/types.js";

/** One recipient of one send. `key` is the ledger key (campaign, occurrence, member, channel) as one string. */
export interface SendRequest {
  key: string;
  /** First 32 hex chars of sha256(key): the provider-visible id (client_msg_id, OutId, SessionContext, webhook key). */
  dedupeId: string;
  campaign: string;
  /** ISO 8601 with offset, e.g. 2026-11-24T10:00:00+08:00. */
  occurrence: string;
  member: string;
  channel: string;
  /** external_userid, openid or phone number. */
  address: string;
  /** WeCom: the staff userid that sends. */
  sender?: string;
  content: RenderedContent;
  /** Epoch ms of the first attempt of this key (from the ledger), for reconciliation after a crash. */
  firstAttemptAt?: number;
}

/** The outcome classes of docs/channels.md, "Outcome classes". */
export type OutcomeClass = "sent" | "queued" | "retry" | "refresh" | "defer" | "recipient" | "request" | "stop" | "ambiguous";

/** A send that was queued: its request and the provider's task id. */
export interface QueuedRequest extends SendRequest {
  providerId: string;
}

export type SendOutcome =
  | { status: "sent"; providerId?: string }
  /** WeCom: a task created that waits for the staff member to confirm. */
  | { status: "queued"; providerId: string }
  | {
      status: "failed";
      class: Exclude<OutcomeClass, "sent" | "queued">;
      /** The provider's error code as a string (`45009`, `isv.BUSINESS_LIMIT_CONTROL`, `http_503`, `timeout`). */
      code: string;
      message: string;
      /** For `defer`: do not try before this epoch ms. */
      notBefore?: number;
    };

/** True for outcomes the runner may try again automatically (same request). */
export function isRetryable(o: SendOutcome): boolean {
  return o.status === "failed" && (o.class === "retry" || o.class === "refresh" || o.class === "defer");
}

/** True for outcomes after which the member falls back to the next channel of the campaign. */
export function isPermanentForRecipient(o: SendOutcome): boolean {
  return o.status === "failed" && o.class === "recipient";
}

/**
 * Where tokens are kept across processes. Every method may be answered asynchronously (the PostgreSQL ledger answers
 * over the network; the SQLite ledger at once).
 */
export interface TokenStore {
  /** The token stored under `key`, unless it expires at or before `now` (epoch ms). */
  get(key: string, now: number): Promise<string | undefined>;
  /** Stores `token` under `key` until `expiresAt` (epoch ms), replacing what was there. */
  put(key: string, token: string, expiresAt: number): Promise<void>;
  /**
   * The lock on fetching `key`, across processes: takes the lease for `holder` until `until` (wall-clock epoch ms) when
   * it is free at `now` or already `holder`'s, and answers whether `holder` holds it. `until` ≤ `now` releases it.
   * Without it, processes sharing the store may fetch at the same moment (one process still fetches once).
   */
  lease?(key: string, holder: string, now: number, until: number): Promise<boolean>;
}

export interface DriverContext {
  channel: string;
  /** Resolved secrets (env var values), by the names of the channel's `env:` map. Never log these. */
  secrets: Record<string, string>;
  /** Replaces scheme, host and port of the provider's endpoint. */
  baseUrl?: string;
  /** The channel's `options:` map from chuda.yaml. */
  options: Record<string, unknown>;
  /** Injectable clock (epoch ms). */
  now: () => number;
  /** Request timeout, ms. */
  timeoutMs: number;
  /** Project root (the file driver writes relative to it). */
  root: string;
  /**
   * The channel's `rate_limit` pacing: a driver awaits it right before EVERY HTTP call to the provider (sends,
   * retries within a send, reconciliation queries; not access-token calls). Resolves at once when the channel has
   * no rate limit; absent when the caller paces batches itself.
   */
  acquire?: () => Promise<void>;
  /** Where access tokens are shared with other processes (during a dispatch: the ledger). Absent: this process only. */
  tokens?: TokenStore;
}

export interface DriverInstance {
  /** Sends one batch (at most `batchLimit` requests); returns exactly one outcome per request, in order. */
  send(batch: SendRequest[]): Promise<SendOutcome[]>;
  /**
   * After an `ambiguous` outcome or a crash with sends in flight: asks the provider what became of them.
   * Returns an outcome per request, or `undefined` for a request the provider cannot tell about (→ `unknown`).
   */
  reconcile?(requests: SendRequest[]): Promise<(SendOutcome | undefined)[]>;
  /**
   * WeCom: what became of `queued` sends (tasks waiting for a staff member). One outcome per request: `sent`,
   * `failed`, or `undefined` while the task still waits (or the provider cannot tell yet).
   */
  poll?(requests: QueuedRequest[]): Promise<(SendOutcome | undefined)[]>;
  /** WeCom: stops a task nobody confirmed in time. True once the provider accepted the cancellation. */
  cancel?(providerId: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface Driver {
  name: string;
  /** The template section this driver reads. */
  contentKind: ContentKind;
  /** Most recipients in one `send` call. */
  batchLimit: number;
  /** Whether requests in one batch must share identical content (Aliyun SendSms, WeCom mass message). */
  batchSameContent?: boolean;
  /** Secret names the driver needs in the channel's `env:` map. */
  secrets: string[];
  /**
   * Awaits `DriverContext.acquire` before every provider call (not token calls), so that the channel's `rate_limit`
   * bounds the calls the provider sees: the runner then leaves pacing to it. Otherwise the runner paces per batch.
   */
  paced?: boolean;
  /** Makes one provider call per recipient: when the runner paces it per batch, it hands it batches of one. */
  perRecipient?: boolean;
  create(ctx: DriverContext): DriverInstance;
}
