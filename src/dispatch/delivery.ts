/**
 * What happens to a send after the provider accepted it: delivery receipts (pushed to `chuda serve` or pulled) and
 * the suppression list (opt-outs). Tables in the ledger's SQLite file, next to `sends`; the functions here take the
 * database handle and run inside the caller's transaction, so the server can commit many requests at once.
 *
 * A receipt is matched to its send by the provider's message id (Aliyun's BizId is one per request, so with the
 * phone number as well). One that arrives before the send's own result is committed is kept unmatched and applied
 * when the result commits (`matchPendingReceipts`). Every receipt is stored once (`dedupe`), and a send keeps the
 * final state with the latest report time.
 */
import type Database from "better-sqlite3";
import type { UnconfirmedSend } from "../receipts/pull.js";

export type { UnconfirmedSend } from "../receipts/pull.js";

export const DELIVERY_SCHEMA = `
CREATE TABLE IF NOT EXISTS receipts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  address TEXT,
  state TEXT NOT NULL,
  code TEXT,
  reported_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  send_key TEXT,
  dedupe TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS receipts_pending ON receipts (provider_id) WHERE send_key IS NULL;
CREATE TABLE IF NOT EXISTS suppressions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  member TEXT,
  channel TEXT NOT NULL,
  address TEXT,
  via TEXT,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  removed_at INTEGER,
  removed_by TEXT,
  removed_reason TEXT,
  dedupe TEXT UNIQUE
);
DROP INDEX IF EXISTS sends_provider;
CREATE INDEX IF NOT EXISTS sends_provider_address ON sends (provider_id, address) WHERE provider_id IS NOT NULL;
`;

/** Adds the delivery columns to `sends` (ledgers made before receipts existed) and the tables above. */
export function migrateDelivery(db: Database.Database): void {
  const cols = new Set((db.prepare(`PRAGMA table_info(sends)`).all() as { name: string }[]).map((c) => c.name));
  // delivered_at: report time of a delivery; delivery_code: the provider's failure code; delivery_at: report time
  // of the latest final state (either), which a later report must not be older than to replace it.
  for (const c of ["delivered_at INTEGER", "delivery_code TEXT", "delivery_at INTEGER"])
    if (!cols.has(c.split(" ")[0]!)) db.exec(`ALTER TABLE sends ADD COLUMN ${c}`);
  db.exec(DELIVERY_SCHEMA);
}

export type DeliveryState = "delivered" | "failed";

export interface ReceiptInput {
  channel: string;
  /** The provider's message id: Aliyun BizId, Tencent SerialNo (sid), WeChat MsgID, WeCom msgid. */
  providerId: string;
  /** The recipient as the provider names it (phone, openid, external_userid); narrows a shared id. */
  address?: string;
  state: DeliveryState;
  code?: string | null;
  /** The provider's report time, epoch ms. */
  at: number;
  source: "push" | "pull";
}

/** `applied` to its send; `pending` (its send is in flight: applied when the result commits); `duplicate`; `unknown`. */
export type ReceiptOutcome = "applied" | "pending" | "duplicate" | "unknown";

/** Lifts suppressions of an address on a channel from these sources (a member who follows again, accepts again). */
export interface Lift {
  channel: string;
  address: string;
  sources: string[];
  reason: string;
}

/** What one provider callback writes: receipts, opt-outs, and opt-outs lifted. */
export interface DeliveryWrites {
  receipts: ReceiptInput[];
  suppressions: SuppressionInput[];
  lifts: Lift[];
}

export interface DeliveryCommitResult {
  outcomes: ReceiptOutcome[];
  /** New suppressions. */
  suppressed: number;
  lifted: number;
}

/** One request's part of a group commit: its result, or the error that rolled back its writes alone. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Mainland mobile numbers in any usual form (+86…, 0086…, 86…) → 11 digits; anything else as it is, trimmed. */
export function normalizeAddress(a: string): string {
  const t = a.trim();
  const m = /^(?:\+86|0086|86)?(1\d{10})$/.exec(t);
  return m ? m[1]! : t;
}

const stmtCache = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

function prepare(db: Database.Database) {
  return {
    byProvider: db.prepare(`SELECT key, address FROM sends WHERE provider_id = ? AND channel = ?`),
    byProviderAddress: db.prepare(`SELECT key FROM sends WHERE provider_id = ? AND channel = ? AND address IN (?, ?) LIMIT 2`).pluck(),
    inFlight: db.prepare(`SELECT address FROM sends WHERE state = 'in_flight' AND channel = ?`).pluck(),
    insert: db.prepare(
      `INSERT OR IGNORE INTO receipts (channel, provider_id, address, state, code, reported_at, received_at, source, send_key, dedupe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    apply: db.prepare(
      `UPDATE sends SET delivered_at = CASE WHEN ? = 'delivered' THEN ? END, delivery_code = CASE WHEN ? = 'failed' THEN ? END, delivery_at = ?
       WHERE key = ? AND (delivery_at IS NULL OR delivery_at <= ?)`,
    ),
    pending: db.prepare(`SELECT id, channel, provider_id, address, state, code, reported_at FROM receipts WHERE send_key IS NULL ORDER BY reported_at, id`),
    pendingOf: db.prepare(
      `SELECT id, channel, provider_id, address, state, code, reported_at FROM receipts
       WHERE send_key IS NULL AND provider_id IN (SELECT value FROM json_each(?)) ORDER BY reported_at, id`,
    ),
    hasPending: db.prepare(`SELECT 1 FROM receipts WHERE send_key IS NULL LIMIT 1`),
    setKey: db.prepare(`UPDATE receipts SET send_key = ? WHERE id = ?`),
  };
}

function stmts(db: Database.Database) {
  let s = stmtCache.get(db);
  if (!s) stmtCache.set(db, (s = prepare(db)));
  return s;
}

function findSend(db: Database.Database, channel: string, providerId: string, address: string | undefined): string | undefined {
  // A WeCom task's msgid is shared by up to 10 000 sends: the address as stored finds the one without reading them all.
  if (address !== undefined) {
    const exact = stmts(db).byProviderAddress.all(providerId, channel, address, normalizeAddress(address)) as string[];
    if (exact.length === 1) return exact[0];
  }
  const rows = stmts(db).byProvider.all(providerId, channel) as { key: string; address: string | null }[];
  if (rows.length <= 1 || address === undefined) return rows[0]?.key;
  const want = normalizeAddress(address);
  return rows.find((r) => r.address !== null && normalizeAddress(r.address) === want)?.key;
}

function applyTo(db: Database.Database, key: string, state: DeliveryState, code: string | null, at: number): void {
  stmts(db).apply.run(state, at, state, code ?? "failed", at, key, at);
  // A failure that means the member refuses the channel suppresses them, as the same code at send time does.
  if (state === "failed" && code !== null && code in OPT_OUT_SEND_ERRORS) suppressFromSendErrors(db, [{ key, state, error_code: code }], at);
}

/**
 * Records one receipt (call inside a transaction). `unknown`: no send has this id and no send of the channel to this
 * address is in flight: nothing is written.
 */
export function recordReceipt(db: Database.Database, r: ReceiptInput, now: number): ReceiptOutcome {
  const s = stmts(db);
  const address = r.address === undefined ? null : normalizeAddress(r.address);
  const key = findSend(db, r.channel, r.providerId, r.address);
  if (key === undefined) {
    const inFlight = (s.inFlight.all(r.channel) as (string | null)[]).some((a) => a !== null && (address === null || normalizeAddress(a) === address));
    if (!inFlight) return "unknown";
  }
  const dedupe = `${r.channel}|${r.providerId}|${address ?? ""}|${r.state}|${r.code ?? ""}|${r.at}`;
  const ins = s.insert.run(r.channel, r.providerId, address, r.state, r.code ?? null, r.at, now, r.source, key ?? null, dedupe);
  if (!ins.changes) return "duplicate";
  if (key === undefined) return "pending";
  applyTo(db, key, r.state, r.code ?? null, r.at);
  return "applied";
}

/** The provider's message ids that results carry, once each: receipts waiting for their send can match only these. */
export const providerIds = (results: { provider_id?: string | null }[]): string[] => [
  ...new Set(results.flatMap((r) => (r.provider_id ? [r.provider_id] : []))),
];

/**
 * Applies receipts stored before their send's result (call inside a transaction); returns how many matched now. Given
 * the message ids of results just recorded, only their receipts: a receipt whose send never learnt its id (it ended
 * unknown) stays pending, and must not cost every later commit a look at it.
 */
export function matchPendingReceipts(db: Database.Database, providerIds?: string[]): number {
  const s = stmts(db);
  if (providerIds ? !providerIds.length : !s.hasPending.get()) return 0;
  let n = 0;
  for (const p of (providerIds ? s.pendingOf.all(JSON.stringify(providerIds)) : s.pending.all()) as {
    id: number;
    channel: string;
    provider_id: string;
    address: string | null;
    state: DeliveryState;
    code: string | null;
    reported_at: number;
  }[]) {
    const key = findSend(db, p.channel, p.provider_id, p.address ?? undefined);
    if (key === undefined) continue;
    s.setKey.run(key, p.id);
    applyTo(db, key, p.state, p.code, p.reported_at);
    n++;
  }
  return n;
}

/** A callback's writes (call inside a transaction). */
export function writeDelivery(db: Database.Database, w: DeliveryWrites, now: number): DeliveryCommitResult {
  const outcomes = w.receipts.map((r) => recordReceipt(db, r, now));
  let suppressed = 0;
  for (const s of w.suppressions) if (addSuppression(db, s)) suppressed++;
  let lifted = 0;
  for (const l of w.lifts)
    lifted += db
      .prepare(
        `UPDATE suppressions SET removed_at = ?, removed_by = 'serve', removed_reason = ? WHERE removed_at IS NULL AND channel = ? AND address = ? AND source IN (SELECT value FROM json_each(?))`,
      )
      .run(now, l.reason, l.channel, normalizeAddress(l.address), JSON.stringify(l.sources)).changes;
  return { outcomes, suppressed, lifted };
}

/**
 * The states of the sends a pull asks about, of those the provider accepted (they carry its message id): sent; queued
 * in a WeCom task the staff member may have confirmed since the last dispatch run; failed after acceptance (WeCom's not
 * a friend / over the cap, learnt by a run's poll), whose delivery failure is recorded too. SQL, for both ledgers.
 */
export const ASKED_STATES = `'sent', 'queued', 'failed'`;

/** Sends of `channel` since `since` that the provider accepted and no final receipt has confirmed. */
export function unconfirmedSends(db: Database.Database, channel: string, since: number): UnconfirmedSend[] {
  return db
    .prepare(
      `SELECT key, address, provider_id, sender, send_at, first_attempt_at FROM sends WHERE channel = ? AND state IN (${ASKED_STATES}) AND delivery_at IS NULL AND provider_id IS NOT NULL AND send_at >= ?`,
    )
    .all(channel, since) as UnconfirmedSend[];
}

export interface DeliveryCounts {
  delivered: number;
  failed: number;
  /** Sends accepted by the provider with no final receipt yet. */
  unconfirmed: number;
}

export function deliveryCounts(db: Database.Database): DeliveryCounts {
  const r = db
    .prepare(
      `SELECT COALESCE(SUM(delivered_at IS NOT NULL), 0) AS delivered, COALESCE(SUM(delivery_code IS NOT NULL), 0) AS failed,
         COALESCE(SUM(state = 'sent' AND delivery_at IS NULL), 0) AS unconfirmed FROM sends`,
    )
    .get() as DeliveryCounts;
  return r;
}

/** Delivered sends per campaign (for `report`). */
export function deliveredByCampaign(db: Database.Database): Map<string, { delivered: number; confirmed: number }> {
  const rows = db
    .prepare(`SELECT campaign, SUM(delivered_at IS NOT NULL) AS delivered, SUM(delivery_at IS NOT NULL) AS confirmed FROM sends GROUP BY campaign`)
    .all() as { campaign: string; delivered: number; confirmed: number }[];
  return new Map(rows.map((r) => [r.campaign, { delivered: r.delivered, confirmed: r.confirmed }]));
}

/**
 * The observed delivery rate of a channel: delivered / sends with a final receipt, over sends made since `since`.
 * `sample` is how many sends had a final receipt.
 */
export function observedDelivery(db: Database.Database, since: number): Map<string, { rate: number; sample: number }> {
  const rows = db
    .prepare(
      `SELECT channel, SUM(delivered_at IS NOT NULL) AS delivered, SUM(delivery_at IS NOT NULL) AS confirmed FROM sends WHERE send_at >= ? AND delivery_at IS NOT NULL GROUP BY channel`,
    )
    .all(since) as { channel: string; delivered: number; confirmed: number }[];
  return new Map(rows.map((r) => [r.channel, { rate: r.confirmed ? r.delivered / r.confirmed : 0, sample: r.confirmed }]));
}

// ---------------------------------------------------------------------------------------------------------------
// Suppressions

export interface SuppressionInput {
  /** The member key, when known (a manual entry); pushed opt-outs name an address on a channel (`via`). */
  member?: string | null;
  /** The channel suppressed, or `*` for every channel. */
  channel: string;
  address?: string | null;
  /** The channel whose address field `address` is. */
  via?: string | null;
  /** `sms-reply`, `wechat-unsubscribe`, `wechat-user-block`, `miniprogram-reject`, `wecom-deleted`, `send-error`, `manual`. */
  source: string;
  reason: string;
  actor: string;
  at: number;
  /** Makes a pushed event idempotent: the same event pushed twice is recorded once. */
  dedupe?: string;
}

export interface SuppressionRow {
  id: number;
  member: string | null;
  channel: string;
  address: string | null;
  via: string | null;
  source: string;
  reason: string;
  actor: string;
  at: number;
  removed_at: number | null;
  removed_by: string | null;
  removed_reason: string | null;
}

/** Adds a suppression (inside the caller's transaction); false when the same event was recorded already. */
export function addSuppression(db: Database.Database, s: SuppressionInput): boolean {
  return (
    db
      .prepare(`INSERT OR IGNORE INTO suppressions (member, channel, address, via, source, reason, actor, at, dedupe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(s.member ?? null, s.channel, s.address ? normalizeAddress(s.address) : null, s.via ?? null, s.source, s.reason, s.actor, s.at, s.dedupe ?? null)
      .changes > 0
  );
}

/** Ends the active suppressions of a member (by key or address) on a channel (`*`: all); returns how many. */
export function removeSuppression(db: Database.Database, who: string, channel: string | undefined, actor: string, reason: string, at: number): number {
  const addr = normalizeAddress(who);
  return db
    .prepare(
      `UPDATE suppressions SET removed_at = ?, removed_by = ?, removed_reason = ? WHERE removed_at IS NULL AND (member = ? OR address = ?) AND (? IS NULL OR channel = ?)`,
    )
    .run(at, actor, reason, who, addr, channel ?? null, channel ?? null).changes;
}

export function activeSuppressions(db: Database.Database): SuppressionRow[] {
  return db.prepare(`SELECT * FROM suppressions WHERE removed_at IS NULL ORDER BY at, id`).all() as SuppressionRow[];
}

export function allSuppressions(db: Database.Database): SuppressionRow[] {
  return db.prepare(`SELECT * FROM suppressions ORDER BY at, id`).all() as SuppressionRow[];
}

/**
 * Provider errors, at send time or in a delivery receipt, that mean the member refuses this channel: a number on the
 * SMS provider's blacklist (the member replied an opt-out to an earlier message, or asked the carrier), an
 * official-account openid no longer following (43004), a mini-program user with no consent left or who refused
 * (43101), a WeCom customer who is no longer a contact of the staff member (task result status 2: they deleted each
 * other, as the pushed contact-deleted event says).
 *
 * Aliyun: only the receipt code its help centre names for a blacklisted number, `W-BLACK` (the owner complained about
 * messages of this signature to the carrier, 12321 or the ministry; further sends with it fail). Other codes that
 * third parties list (`MOBILE_IN_BLACK` …) are not in Aliyun's own pages, and `isv.BLACK_KEY_CONTROL_LIMIT` is a
 * keyword blacklist on the content, not the number: neither is mapped.
 */
export const OPT_OUT_SEND_ERRORS: Record<string, string> = {
  "FailedOperation.PhoneNumberInBlacklist": "the number is on the SMS provider's blacklist",
  "W-BLACK": "the number is blacklisted for this SMS signature after a complaint (Aliyun receipt)",
  "43004": "the member no longer follows the official account",
  "43101": "the member refused the subscribe message (no consent left)",
  status_2: "the customer is no longer a contact of the staff member (WeCom)",
};

/** The results that failed with an opt-out error (see OPT_OUT_SEND_ERRORS). */
export function optOutFailures<R extends { state: string; error_code?: string | null }>(results: R[]): (R & { error_code: string })[] {
  return results.filter((r): r is R & { error_code: string } => r.state === "failed" && !!r.error_code && r.error_code in OPT_OUT_SEND_ERRORS);
}

/** The suppression a send refused with opt-out error `code` makes (the same error twice makes one). */
export function sendErrorSuppression(send: { member: string; channel: string; address: string | null }, code: string, now: number): SuppressionInput {
  return {
    member: send.member,
    channel: send.channel,
    address: send.address,
    via: send.channel,
    source: "send-error",
    reason: `${code}: ${OPT_OUT_SEND_ERRORS[code]}`,
    actor: "dispatch",
    at: now,
    dedupe: `send-error|${send.channel}|${send.member}|${code}`,
  };
}

/** Suppresses members whose send just failed with an opt-out error (inside the transaction that records the results). */
export function suppressFromSendErrors(
  db: Database.Database,
  results: { id?: number; key: string; state: string; error_code?: string | null }[],
  now: number,
): number {
  const hits = optOutFailures(results);
  if (!hits.length) return 0;
  let n = 0;
  const byId = db.prepare(`SELECT member, channel, address FROM sends WHERE rowid = ?`);
  const byKey = db.prepare(`SELECT member, channel, address FROM sends WHERE key = ?`);
  for (const r of hits) {
    const row = (r.id !== undefined ? byId.get(r.id) : byKey.get(r.key)) as { member: string; channel: string; address: string | null } | undefined;
    if (row && addSuppression(db, sendErrorSuppression(row, r.error_code, now))) n++;
  }
  return n;
}
