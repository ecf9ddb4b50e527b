/**
 * The dispatch ledger: SQLite in WAL mode at `.chuda/state.db`. Every planned send is recorded with its key
 * (campaign, occurrence, member, channel) before any provider call, and its result after. Writes are batched
 * in transactions so that the ledger is never the bottleneck.
 */
import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { migrateSqlite } from "../ledger/migrations/sqlite.js";
import type { HistorySend } from "../plan/types.js";
import type {
  DuePosition,
  DueSend,
  Ledger,
  OccurrenceRecord,
  PendingDueSend,
  InFlightElsewhere,
  RunRow,
  SendInsert,
  SendResult,
  SendRow,
  SendState,
  StaffConfirmation,
  StoredEvent,
  TestSendRecord,
} from "../ledger/types.js";
import { queryOutcomeRows, type LedgerOutcomeRow } from "../outcomes/attribution.js";
import { GroupCommitQueue } from "../ledger/group-commit.js";
import {
  activeSuppressions,
  addSuppression,
  allSuppressions,
  deliveryCounts,
  matchPendingReceipts,
  providerIds,
  migrateDelivery,
  observedDelivery,
  recordReceipt,
  removeSuppression,
  suppressFromSendErrors,
  unconfirmedSends,
  writeDelivery,
  type DeliveryCommitResult,
  type DeliveryCounts,
  type DeliveryWrites,
  type ReceiptInput,
  type ReceiptOutcome,
  type Settled,
  type SuppressionInput,
  type SuppressionRow,
  type UnconfirmedSend,
} from "./delivery.js";

export type { DueSend, Ledger, SendInsert, SendResult, SendRow, SendState, StaffConfirmation, StoredEvent } from "../ledger/types.js";

/** How long a send that kept failing transiently in a run waits: beyond the run, so the next run retries it. */
export const NEXT_RUN_MS = 120_000;

/** A clause of the queries a run sends from: the campaign is in the run's scope (two parameters, both `scopeJson`). */
const IN_SCOPE = `(? IS NULL OR campaign IN (SELECT value FROM json_each(?)))`;

/** Due sends of a channel in send-time order, raw rows (a third cheaper to read than objects with named columns); `extra`, more conditions. */
const dueSql = (
  extra: string,
) => `SELECT rowid, key, campaign, occurrence, member, channel, address, sender, content, attempts, first_attempt_at, send_at FROM sends
  WHERE state = 'planned' AND channel = ? AND send_at <= ? AND (not_before IS NULL OR not_before <= ?) AND ${IN_SCOPE} ${extra} ORDER BY send_at, rowid LIMIT ?`;

/** The error message of a send the ledger expires (both ledgers write the same). */
export const expiredMessage = (ms: number) => `not sent within ${Math.round(ms / 60_000)} minutes of its planned time`;

export const sendKey = (campaign: string, occurrence: string, member: string, channel: string) => `${campaign}|${occurrence}|${member}|${channel}`;

/** The ledger's file was removed or replaced while a run had it open: what the run records would be lost. */
export class LedgerFileError extends Error {}

/**
 * Business events received by `chuda serve` (`POST /events`) and clicks on tracked links. `ident` is a hash of
 * (member, name, time, properties): an event posted twice is stored once. Apart from SCHEMA so that a ledger made
 * before these tables gets them on open.
 */
const EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ident TEXT NOT NULL UNIQUE,
  member TEXT NOT NULL,
  name TEXT NOT NULL,
  time INTEGER NOT NULL,
  props TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TABLE IF NOT EXISTS clicks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  send_key TEXT NOT NULL,
  link INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_send ON clicks (send_key);
CREATE TABLE IF NOT EXISTS links (
  id TEXT PRIMARY KEY,
  send_key TEXT NOT NULL,
  link INTEGER NOT NULL,
  url TEXT NOT NULL
);
`;

/** The SQLite ledger. Its work is synchronous (better-sqlite3); its methods return promises to fit `Ledger`. */
export class SqliteLedger implements Ledger {
  readonly db: Database.Database;
  /** A random id given to the ledger when it is created (table `meta`): its history's identity. */
  readonly id: string;
  /** Device and inode of the file when opened: a run notices a ledger deleted or replaced under it. */
  private readonly fileId: string | undefined;
  private readonly stmts;
  /** Group commit: in-flight marks and results queued by concurrent workers, written by the next `flush`. */
  private readonly queue = new GroupCommitQueue(() => {
    try {
      this.flushNow();
    } catch {
      /* kept by the queue: rethrown by the next call that writes or flushes */
    }
  });
  /** `restrictTo`'s campaigns as a JSON array, or null for every campaign. */
  private scopeJson: string | null = null;
  private readonly file: string;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    // FULL: every commit syncs the WAL, so a send marked in flight is on disk (power loss included) before its
    // provider call leaves the process. Kept for all commits: group commit (below) makes them few.
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    // A larger page cache and fewer checkpoints while a run writes: each checkpoint syncs the database file.
    this.db.pragma("cache_size = -32768");
    this.db.pragma("wal_autocheckpoint = 4000");
    this.db.pragma("temp_store = MEMORY");
    migrateSqlite(this.db);
    this.db.exec(EVENTS_SCHEMA);
    this.db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('ledger_id', ?)`).run(randomUUID());
    this.id = (this.db.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string }).value;
    this.file = file;
    this.fileId = file === ":memory:" ? undefined : fileIdOf(file);
    migrateDelivery(this.db);
    const db = this.db;
    this.stmts = {
      insertSend: db.prepare(
        `INSERT OR IGNORE INTO sends (key, campaign, occurrence, member, channel, state, send_at, address, sender, content, fallbacks, vars, run_id, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertOcc: db.prepare(`INSERT OR IGNORE INTO occurrences (campaign, occurrence, send_at, run_id, audience) VALUES (?, ?, ?, ?, ?)`),
      finishById: db.prepare(
        `UPDATE sends SET state = ?, provider_id = COALESCE(?, provider_id), error_code = ?, error_message = ?, not_before = ?, updated_at = ? WHERE rowid = ?`,
      ),
      // One statement for many rows (a JSON array of rowids): far fewer statement runs than one per row.
      markInFlightMany: db
        .prepare(
          `UPDATE sends SET state = 'in_flight', attempts = attempts + 1, run_id = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?
           WHERE rowid IN (SELECT value FROM json_each(?)) AND state = 'planned' RETURNING rowid`,
        )
        .pluck(),
      finishMany: db.prepare(
        `UPDATE sends SET state = ?, provider_id = COALESCE(?, provider_id), error_code = ?, error_message = ?, not_before = ?, updated_at = ? WHERE rowid IN (SELECT value FROM json_each(?))`,
      ),
      finishByKey: db.prepare(
        `UPDATE sends SET state = ?, provider_id = COALESCE(?, provider_id), error_code = ?, error_message = ?, not_before = ?, updated_at = ? WHERE key = ?`,
      ),
      due: db.prepare(dueSql("")).raw(true),
      // After a place in that order (the caller's last read).
      dueAfter: db.prepare(dueSql("AND (send_at, rowid) > (?, ?)")).raw(true),
      hasDue: db.prepare(
        `SELECT 1 FROM sends WHERE state = 'planned' AND channel = ? AND send_at <= ? AND (not_before IS NULL OR not_before <= ?) AND ${IN_SCOPE} LIMIT 1`,
      ),
      byId: db.prepare(`SELECT * FROM sends WHERE rowid = ?`),
      plannedCount: db.prepare(`SELECT COUNT(*) AS n FROM sends WHERE state = 'planned' AND ${IN_SCOPE}`),
    };
  }

  async startRun(at: number, now: number, members: number | null = null): Promise<number> {
    const r = this.db.prepare(`INSERT INTO runs (started_at, at, pid, status, members) VALUES (?, ?, ?, 'running', ?)`).run(now, at, process.pid, members);
    return Number(r.lastInsertRowid);
  }

  async recordRunMembers(id: number, members: number): Promise<void> {
    this.db.prepare(`UPDATE runs SET members = ? WHERE id = ?`).run(members, id);
  }

  /** The member count of the snapshot the latest run used, if any run recorded one. */
  async lastSnapshotSize(): Promise<number | undefined> {
    const r = this.db.prepare(`SELECT members FROM runs WHERE members IS NOT NULL ORDER BY id DESC LIMIT 1`).get() as { members: number } | undefined;
    return r?.members;
  }

  /**
   * Members with a send (any state but held_out) in the occurrences an earlier run planned whose send time is in
   * [fromMs, toMs]: `${campaign}|${occurrence}` → member keys. A later run plans those occurrences again and leaves
   * these members as they are.
   */
  async committed(fromMs: number, toMs: number): Promise<Map<string, Set<string>>> {
    this.flushNow();
    const occs = this.db.prepare(`SELECT campaign, occurrence FROM occurrences WHERE send_at BETWEEN ? AND ?`).all(fromMs, toMs) as {
      campaign: string;
      occurrence: string;
    }[];
    const members = this.db.prepare(`SELECT DISTINCT member FROM sends WHERE key >= ? AND key < ? AND state <> 'held_out'`).pluck();
    const out = new Map<string, Set<string>>();
    for (const o of occs) {
      const [lo, hi] = occurrenceKeyRange(o.campaign, o.occurrence);
      out.set(`${o.campaign}|${o.occurrence}`, new Set(members.all(lo, hi) as string[]));
    }
    return out;
  }

  /** Channel and content of an occurrence's sends that cost (committed to, not failed or withdrawn). */
  async committedContent(campaign: string, occurrence: string): Promise<{ channel: string; content: string | null }[]> {
    this.flushNow();
    const [lo, hi] = occurrenceKeyRange(campaign, occurrence);
    return this.db
      .prepare(`SELECT channel, content FROM sends WHERE key >= ? AND key < ? AND state IN ('planned','in_flight','sent','queued','unknown')`)
      .all(lo, hi) as { channel: string; content: string | null }[];
  }

  /** Occurrences planned to go out before `before` that still have pending sends (a run left them after an outage). */
  async pendingOccurrences(before: number): Promise<{ campaign: string; occurrence: string; send_at: number }[]> {
    this.flushNow();
    return this.db
      .prepare(
        `SELECT DISTINCT s.campaign, s.occurrence, o.send_at FROM sends s JOIN occurrences o ON o.campaign = s.campaign AND o.occurrence = s.occurrence WHERE s.state = 'planned' AND o.send_at < ? ORDER BY o.send_at`,
      )
      .all(before) as { campaign: string; occurrence: string; send_at: number }[];
  }

  /** Withdraws the pending sends of an occurrence that `keep` rejects (by member and channel); returns how many. */
  async withdraw(campaign: string, occurrence: string, keep: (member: string, channel: string) => boolean, now: number): Promise<number> {
    this.flushNow();
    const [lo, hi] = occurrenceKeyRange(campaign, occurrence);
    const pending = this.db.prepare(`SELECT rowid AS id, member, channel FROM sends WHERE key >= ? AND key < ? AND state = 'planned'`).all(lo, hi) as {
      id: number;
      member: string;
      channel: string;
    }[];
    const ids = pending.filter((r) => !keep(r.member, r.channel)).map((r) => r.id);
    if (ids.length)
      this.db
        .prepare(
          `UPDATE sends SET state = 'withdrawn', error_code = 'not_eligible', error_message = 'no longer eligible when the occurrence was planned again', updated_at = ? WHERE rowid IN (SELECT value FROM json_each(?)) AND state = 'planned'`,
        )
        .run(now, JSON.stringify(ids));
    return ids.length;
  }

  async recordTestSend(t: TestSendRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO test_sends (campaign, member, channel, address, state, provider_id, error_code, error_message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(t.campaign, t.member, t.channel, t.address, t.state, t.provider_id ?? null, t.error_code ?? null, t.error_message ?? null, t.at);
  }

  async finishRun(id: number, now: number, status: string, summary: unknown): Promise<void> {
    this.flushNow();
    this.db.prepare(`UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?`).run(now, status, JSON.stringify(summary), id);
  }

  /**
   * Runs still marked `running` other than `current` become `interrupted`. Only for a caller holding the dispatch
   * lock: no other run is alive then, so such a row is a run whose process died.
   */
  async markDeadRunsInterrupted(current: number, now: number): Promise<number> {
    return this.db
      .prepare(`UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?) WHERE status = 'running' AND id <> ?`)
      .run(now, current).changes;
  }

  /** Occurrences an earlier run planned already: `${campaign}|${occurrence}`. */
  async plannedOccurrences(): Promise<Set<string>> {
    const rows = this.db.prepare(`SELECT campaign, occurrence FROM occurrences`).all() as { campaign: string; occurrence: string }[];
    return new Set(rows.map((r) => `${r.campaign}|${r.occurrence}`));
  }

  /** Sends that count against caps, quotas and repeat: everything committed to, not what failed; held-out members for repeat. */
  async history(): Promise<HistorySend[]> {
    this.flushNow();
    const rows = this.db
      .prepare(
        `SELECT member, campaign, channel, send_at AS at FROM sends WHERE state IN ('planned','in_flight','sent','queued','unknown','held_out') ORDER BY send_at`,
      )
      .all() as HistorySend[];
    return rows;
  }

  /** Inserts a send unless its key is recorded already; whether it was new. */
  private insert(s: SendInsert): boolean {
    return (
      this.stmts.insertSend.run(
        s.key,
        s.campaign,
        s.occurrence,
        s.member,
        s.channel,
        s.state,
        s.send_at,
        s.address,
        s.sender,
        s.content,
        s.fallbacks,
        s.vars,
        s.run_id,
        s.updated_at,
      ).changes > 0
    );
  }

  private apply(r: SendResult, now: number): void {
    const args = [r.state, r.provider_id ?? null, r.error_code ?? null, r.error_message ?? null, r.not_before ?? null, now] as const;
    if (r.id !== undefined) this.stmts.finishById.run(...args, r.id);
    else this.stmts.finishByKey.run(...args, r.key);
  }

  /** Applies results, rows with identical outcomes (a batch's "sent" with one provider id) by one statement. */
  private applyMany(results: { r: SendResult; now: number }[]): void {
    const groups = new Map<string, { r: SendResult; now: number; ids: number[] }>();
    for (const x of results) {
      const r = x.r;
      if (r.id === undefined || (r.not_before !== undefined && r.not_before !== null)) {
        this.apply(r, x.now);
        continue;
      }
      const k = `${r.state}\u0000${r.provider_id ?? ""}\u0000${r.error_code ?? ""}\u0000${r.error_message ?? ""}\u0000${x.now}\u0000${r.provider_id == null ? 0 : 1}`;
      const g = groups.get(k);
      if (g) g.ids.push(r.id);
      else groups.set(k, { r, now: x.now, ids: [r.id] });
    }
    for (const { r, now, ids } of groups.values()) {
      if (ids.length === 1) this.apply(r, now);
      else this.stmts.finishMany.run(r.state, r.provider_id ?? null, r.error_code ?? null, r.error_message ?? null, null, now, JSON.stringify(ids));
    }
  }

  /**
   * Records a whole plan (its occurrences and every send and held-out member) in one transaction. Keys recorded
   * already (an occurrence planned again) are left as they are; returns how many held-out members are new.
   */
  async recordPlan(occurrences: OccurrenceRecord[], sends: Iterable<SendInsert>, runId: number): Promise<{ heldOut: number }> {
    this.flushNow();
    let heldOut = 0;
    this.db.transaction(() => {
      for (const o of occurrences) this.stmts.insertOcc.run(o.campaign, o.occurrence, o.sendAt, runId, o.audience);
      for (const s of sends) if (this.insert(s) && s.state === "held_out") heldOut++;
    })();
    return { heldOut };
  }

  async insertSends(sends: SendInsert[]): Promise<void> {
    this.flushNow();
    this.db.transaction(() => {
      for (const s of sends) this.insert(s);
    })();
  }

  /**
   * Planned sends of a channel whose send time is at or before `until` (the run's moment, `--at`) and whose
   * backoff (`not_before`) has passed at `now` (the wall clock), in send-time order. Writes still queued are
   * committed first, so what this returns is what the ledger holds.
   */
  async due(channel: string, until: number, now: number, limit: number, after?: DuePosition): Promise<DueSend[]> {
    this.flushNow();
    const raw = (
      after
        ? this.stmts.dueAfter.all(channel, until, now, this.scopeJson, this.scopeJson, after.send_at, after.id, limit)
        : this.stmts.due.all(channel, until, now, this.scopeJson, this.scopeJson, limit)
    ) as unknown[][];
    const out: DueSend[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i]!;
      out[i] = {
        id: r[0] as number,
        key: r[1] as string,
        campaign: r[2] as string,
        occurrence: r[3] as string,
        member: r[4] as string,
        channel: r[5] as string,
        address: r[6] as string | null,
        sender: r[7] as string | null,
        content: r[8] as string | null,
        attempts: r[9] as number,
        first_attempt_at: r[10] as number | null,
        send_at: r[11] as number,
      };
    }
    return out;
  }

  /** Whether `due` would return anything. */
  async hasDue(channel: string, until: number, now: number): Promise<boolean> {
    this.flushNow();
    return this.stmts.hasDue.get(channel, until, now, this.scopeJson, this.scopeJson) !== undefined;
  }

  /** The whole row of a send (for a fallback after a permanent failure: its `fallbacks` and `vars`). */
  async row(id: number): Promise<SendRow | undefined> {
    return this.stmts.byId.get(id) as SendRow | undefined;
  }

  /**
   * Sends a run gave up on for now after repeated transient failures wait exactly NEXT_RUN_MS after their last
   * update (that exact offset is the marker); the next run makes them due again at once.
   */
  async releaseForNextRun(): Promise<number> {
    this.flushNow();
    return this.db.prepare(`UPDATE sends SET not_before = NULL WHERE state = 'planned' AND not_before = updated_at + ?`).run(NEXT_RUN_MS).changes;
  }

  async plannedCount(): Promise<number> {
    this.flushNow();
    return (this.stmts.plannedCount.get(this.scopeJson, this.scopeJson) as { n: number }).n;
  }

  async dueChannels(now: number): Promise<string[]> {
    this.flushNow();
    return (
      this.db
        .prepare(`SELECT DISTINCT channel FROM sends WHERE state = 'planned' AND send_at <= ? AND ${IN_SCOPE}`)
        .all(now, this.scopeJson, this.scopeJson) as { channel: string }[]
    ).map((r) => r.channel);
  }

  /**
   * Narrows what this ledger hands a run to send (`due`, `hasDue`, `dueChannels`, `nextNotBefore`, `plannedCount`,
   * `expire`, `pendingDue`) to these campaigns: `dispatch --only` sends nothing of the others, pending or not.
   */
  async restrictTo(campaigns: string[]): Promise<void> {
    this.scopeJson = JSON.stringify(campaigns);
  }

  /**
   * Marks pending sends whose expiry has passed at `now` as `expired` (never sent): a send expires `afterMs` after its
   * planned time, by its campaign's rule, else `defaultMs` (campaigns no longer in the project included, unless the
   * ledger is restricted). Returns how many expired.
   */
  async expire(rules: { campaign: string; afterMs: number }[], defaultMs: number, now: number): Promise<number> {
    this.flushNow();
    const one = this.db.prepare(
      `UPDATE sends SET state = 'expired', error_code = 'expired', error_message = ?, updated_at = ? WHERE state = 'planned' AND campaign = ? AND send_at + ? <= ?`,
    );
    const rest = this.db.prepare(
      `UPDATE sends SET state = 'expired', error_code = 'expired', error_message = ?, updated_at = ?
       WHERE state = 'planned' AND campaign NOT IN (SELECT value FROM json_each(?)) AND send_at + ? <= ? AND ${IN_SCOPE}`,
    );
    let n = 0;
    this.db.transaction(() => {
      for (const r of rules) n += one.run(expiredMessage(r.afterMs), now, r.campaign, r.afterMs, now).changes;
      n += rest.run(expiredMessage(defaultMs), now, JSON.stringify(rules.map((r) => r.campaign)), defaultMs, now, this.scopeJson, this.scopeJson).changes;
    })();
    return n;
  }

  /** Moves pending sends (rowids) to wait until `notBefore` (quiet hours, a send window), touching nothing else. */
  async postpone(ids: number[], notBefore: number): Promise<void> {
    if (!ids.length) return;
    this.flushNow();
    this.db
      .prepare(`UPDATE sends SET not_before = ? WHERE rowid IN (SELECT value FROM json_each(?)) AND state = 'planned'`)
      .run(notBefore, JSON.stringify(ids));
  }

  /** Pending sends planned by earlier runs that are due by `until` (for a dry run: what a real run would also send). */
  async pendingDue(until: number): Promise<PendingDueSend[]> {
    this.flushNow();
    return this.db
      .prepare(
        `SELECT key, campaign, occurrence, member, channel, address, send_at, not_before, updated_at FROM sends
         WHERE state = 'planned' AND send_at <= ? AND ${IN_SCOPE} ORDER BY send_at, rowid`,
      )
      .all(until, this.scopeJson, this.scopeJson) as never;
  }

  /** Earliest not_before among planned sends due by `until`, of one channel if given (for waiting on deferrals within a run). */
  async nextNotBefore(until: number, channel?: string): Promise<number | undefined> {
    this.flushNow();
    const r = (
      channel === undefined
        ? this.db
            .prepare(`SELECT MIN(not_before) AS t FROM sends WHERE state = 'planned' AND send_at <= ? AND not_before IS NOT NULL AND ${IN_SCOPE}`)
            .get(until, this.scopeJson, this.scopeJson)
        : this.db
            .prepare(
              `SELECT MIN(not_before) AS t FROM sends WHERE state = 'planned' AND channel = ? AND send_at <= ? AND not_before IS NOT NULL AND ${IN_SCOPE}`,
            )
            .get(channel, until, this.scopeJson, this.scopeJson)
    ) as { t: number | null };
    return r.t ?? undefined;
  }

  /**
   * Group commit. Queues an in-flight mark of the sends `ids` (rowids); resolves, with the ids that were still
   * planned, once the mark is durable. Marks and results queued by every worker within one turn of the event loop
   * are written by one transaction (one WAL sync) instead of one each. A provider call may be made only after this
   * resolves: that is the crash-safety protocol (a key is durably in flight before its call leaves the process).
   */
  markInFlightQueued(ids: number[], runId: number, now: number): Promise<Set<number>> {
    return this.queue.mark(ids, runId, now);
  }

  /**
   * Queues a batch's results and the fallback sends they open: they are committed together by the next flush (with
   * the marks of other batches), in one transaction, so a crash cannot leave a member failed on one channel without
   * the send on the next. Until then the rows stay `in_flight`: a crash before the flush leaves them to
   * reconciliation (or `unknown`), never to a second send.
   */
  async queueFinish(results: SendResult[], now: number, inserts: SendInsert[] = []): Promise<void> {
    this.queue.finish(results, now, inserts);
  }

  async flush(): Promise<void> {
    this.flushNow();
  }

  /** Commits everything queued (results and fallback inserts first, then in-flight marks) in one transaction. */
  private flushNow(): void {
    this.queue.throwIfFailed();
    this.checkFile();
    const group = this.queue.take();
    if (!group) return;
    const { marks, results, inserts } = group;
    let ok: Set<number>[];
    try {
      ok = this.db.transaction(() => {
        for (const s of inserts) this.insert(s);
        this.applyMany(results);
        if (results.length) {
          const sends = results.map((x) => x.r);
          matchPendingReceipts(this.db, providerIds(sends));
          suppressFromSendErrors(this.db, sends, results[0]!.now);
        }
        return marks.map((m) => new Set(this.stmts.markInFlightMany.all(m.runId, m.now, m.now, JSON.stringify(m.ids)) as number[]));
      })();
    } catch (e) {
      this.queue.fail(group, e);
      throw e;
    }
    this.queue.settle(group, ok);
  }

  /**
   * Records results, and the fallback sends they open, in one transaction: a crash cannot leave a member
   * failed on one channel without the send on the next.
   */
  async finish(results: SendResult[], now: number, inserts: SendInsert[] = []): Promise<void> {
    this.flushNow();
    this.db.transaction(() => {
      for (const s of inserts) this.insert(s);
      for (const r of results) this.apply(r, now);
      if (results.length) {
        matchPendingReceipts(this.db, providerIds(results));
        suppressFromSendErrors(this.db, results, now);
      }
    })();
  }

  /** Records delivery receipts in one durable transaction (src/dispatch/delivery.ts); one outcome per receipt. */
  async recordReceipts(receipts: ReceiptInput[], now: number): Promise<ReceiptOutcome[]> {
    this.flushNow();
    return this.db.transaction(() => receipts.map((r) => recordReceipt(this.db, r, now)))();
  }

  /** Adds suppressions (opt-outs) in one transaction; how many were new. */
  async suppress(entries: SuppressionInput[]): Promise<number> {
    this.flushNow();
    return this.db.transaction(() => entries.filter((e) => addSuppression(this.db, e)).length)();
  }

  /** Applies receipts stored before their send's result; how many matched now. */
  async matchPendingReceipts(): Promise<number> {
    this.flushNow();
    return this.db.transaction(() => matchPendingReceipts(this.db))();
  }

  /** The group commit of `chuda serve`: one transaction (one WAL sync), a savepoint per request. */
  async commitDelivery(batch: { writes: DeliveryWrites; now: number }[]): Promise<Settled<DeliveryCommitResult>[]> {
    this.flushNow();
    return this.db.transaction(() =>
      batch.map(({ writes, now }): Settled<DeliveryCommitResult> => {
        try {
          return { ok: true, value: this.db.transaction(() => writeDelivery(this.db, writes, now))() };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    )();
  }

  async unsuppress(who: string, channel: string | undefined, actor: string, reason: string, at: number): Promise<number> {
    return this.db.transaction(() => removeSuppression(this.db, who, channel, actor, reason, at))();
  }

  /** The suppressions in force (with `all`, lifted ones too). */
  async suppressions(opts: { all?: boolean } = {}): Promise<SuppressionRow[]> {
    return opts.all ? allSuppressions(this.db) : activeSuppressions(this.db);
  }

  async observedDelivery(since: number): Promise<Map<string, { rate: number; sample: number }>> {
    this.flushNow();
    return observedDelivery(this.db, since);
  }

  async unconfirmedSends(channel: string, since: number): Promise<UnconfirmedSend[]> {
    this.flushNow();
    return unconfirmedSends(this.db, channel, since);
  }

  async ping(): Promise<void> {
    this.db.prepare("SELECT 1").get();
  }

  /** Sends delivered, failed, and sent without a final receipt. */
  async delivery(): Promise<DeliveryCounts> {
    this.flushNow();
    return deliveryCounts(this.db);
  }

  async inFlight(): Promise<SendRow[]> {
    this.flushNow();
    return this.db.prepare(`SELECT * FROM sends WHERE state = 'in_flight' ORDER BY channel, key`).all() as SendRow[];
  }

  /** WeCom sends whose task waits for a staff member, by channel (of the run's campaigns, see `restrictTo`). */
  async queued(): Promise<SendRow[]> {
    this.flushNow();
    return this.db
      .prepare(`SELECT * FROM sends WHERE state = 'queued' AND ${IN_SCOPE} ORDER BY channel, provider_id, key`)
      .all(this.scopeJson, this.scopeJson) as SendRow[];
  }

  /**
   * The staff confirmation rate (员工执行率) of WeCom tasks per campaign and staff member: tasks created, tasks the
   * staff member confirmed (a send of it is sent, or refused at confirmation: status 2 or 3), and their sends.
   */
  async staffConfirmation(): Promise<StaffConfirmation[]> {
    this.flushNow();
    return this.db
      .prepare(
        `SELECT campaign, channel, sender AS staff, COUNT(DISTINCT provider_id) AS tasks,
           COUNT(DISTINCT CASE WHEN state = 'sent' OR error_code IN ('status_2', 'status_3') THEN provider_id END) AS confirmed,
           COUNT(*) AS sends, SUM(state = 'sent') AS sent, SUM(state = 'queued') AS waiting, SUM(state = 'expired') AS expired
         FROM sends WHERE sender IS NOT NULL AND provider_id IS NOT NULL GROUP BY campaign, channel, sender ORDER BY campaign, channel, sender`,
      )
      .all() as StaffConfirmation[];
  }

  async get(key: string): Promise<SendRow | undefined> {
    this.flushNow();
    return this.db.prepare(`SELECT * FROM sends WHERE key = ?`).get(key) as SendRow | undefined;
  }

  async counts(): Promise<{ campaign: string; channel: string; state: SendState; n: number }[]> {
    this.flushNow();
    return this.db
      .prepare(`SELECT campaign, channel, state, COUNT(*) AS n FROM sends GROUP BY campaign, channel, state ORDER BY campaign, channel, state`)
      .all() as never;
  }

  async runs(limit = 20): Promise<RunRow[]> {
    const rows = this.db.prepare(`SELECT id, started_at, finished_at, at, status, summary, pid FROM runs ORDER BY id DESC LIMIT ?`).all(limit) as (RunRow & {
      pid: number | null;
    })[];
    // One host writes this ledger: a run marked running whose process is gone was killed.
    return rows.map(({ pid, ...r }) => (r.status === "running" && !processAlive(pid) ? { ...r, stale: true } : r));
  }

  async inFlightElsewhere(runId: number): Promise<InFlightElsewhere> {
    this.flushNow();
    // One run at a time holds this ledger: another run's sends in flight are a dead run's.
    const r = this.db.prepare(`SELECT COUNT(*) AS n FROM sends WHERE state = 'in_flight' AND run_id IS NOT ?`).get(runId) as { n: number };
    return { live: 0, silent: r.n };
  }

  async unknownSends(limit = 50): Promise<SendRow[]> {
    this.flushNow();
    return this.db.prepare(`SELECT * FROM sends WHERE state = 'unknown' ORDER BY send_at, key LIMIT ?`).all(limit) as SendRow[];
  }

  async failuresByCode(): Promise<{ channel: string; error_code: string; n: number }[]> {
    this.flushNow();
    return this.db
      .prepare(`SELECT channel, error_code, COUNT(*) AS n FROM sends WHERE state = 'failed' GROUP BY channel, error_code ORDER BY n DESC`)
      .all() as never;
  }

  async outcomeRows(): Promise<LedgerOutcomeRow[]> {
    this.flushNow();
    return queryOutcomeRows(this.db);
  }

  async getToken(key: string, now: number): Promise<string | undefined> {
    const r = this.db.prepare(`SELECT token, expires_at FROM tokens WHERE key = ?`).get(key) as { token: string; expires_at: number } | undefined;
    return r && r.expires_at > now ? r.token : undefined;
  }

  async putToken(key: string, token: string, expiresAt: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO tokens (key, token, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at`,
      )
      .run(key, token, expiresAt);
  }

  /**
   * The lease on fetching the token of `key` (row `lease|<key>` of `tokens`, its token the holder): taken for `holder`
   * until `until` when free at `now` or already `holder`'s, in one statement (atomic across processes); `until` ≤ `now`
   * releases it. True when `holder` holds it.
   */
  async leaseToken(key: string, holder: string, now: number, until: number): Promise<boolean> {
    const r = this.db
      .prepare(
        `INSERT INTO tokens (key, token, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
         WHERE tokens.expires_at <= ? OR tokens.token = excluded.token`,
      )
      .run(`lease|${key}`, holder, until, now);
    return r.changes === 1 && until > now;
  }

  /**
   * Throws LedgerFileError (and refuses every later write) when the ledger's file is no longer the one this run
   * opened: deleted, or replaced by another file. Checked at every group commit, hence before every batch.
   */
  checkFile(): void {
    if (this.fileId === undefined || this.queue.hasFailed) return;
    const now = fileIdOf(this.file);
    if (now === this.fileId) return;
    const e = new LedgerFileError(`the ledger ${this.file} was ${now === undefined ? "deleted" : "replaced by another file"} during the run; the run stopped`);
    this.queue.fail(this.queue.take(), e);
    throw e;
  }

  /**
   * Stores business events in one transaction (committed, durably, when this returns). An event whose `ident` is
   * already stored is a duplicate and ignored. Returns how many were new.
   */
  async insertEvents(events: Omit<StoredEvent, "id">[], receivedAt: number): Promise<{ inserted: number; duplicates: number }> {
    this.flushNow();
    const stmt = this.db.prepare(`INSERT OR IGNORE INTO events (ident, member, name, time, props, received_at) VALUES (?, ?, ?, ?, ?, ?)`);
    let inserted = 0;
    this.db.transaction(() => {
      for (const e of events) inserted += stmt.run(e.ident, e.member, e.name, e.time, JSON.stringify(e.props), receivedAt).changes;
    })();
    return { inserted, duplicates: events.length - inserted };
  }

  /** Events stored after id `afterId` whose time is at or after `fromTime`, oldest id first. */
  async eventsAfter(afterId: number, fromTime: number, limit = 10_000): Promise<StoredEvent[]> {
    const rows = this.db
      .prepare(`SELECT id, ident, member, name, time, props FROM events WHERE id > ? AND time >= ? ORDER BY id LIMIT ?`)
      .all(afterId, fromTime, limit) as (Omit<StoredEvent, "props"> & { props: string })[];
    return rows.map((r) => ({ ...r, props: JSON.parse(r.props) as Record<string, unknown> }));
  }

  async eventCount(): Promise<number> {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM events`).get() as { n: number }).n;
  }

  /** A secret made when first asked for and kept in the ledger: it signs the ids of tracked links. */
  async linkSecret(): Promise<string> {
    this.db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('link_secret', ?)`).run(randomUUID() + randomUUID());
    return (this.db.prepare(`SELECT value FROM meta WHERE key = 'link_secret'`).get() as { value: string }).value;
  }

  /** Records the tracked links of sends about to be recorded (an id already known is the same link). */
  async insertLinks(links: { id: string; sendKey: string; link: number; url: string }[]): Promise<void> {
    const stmt = this.db.prepare(`INSERT OR IGNORE INTO links (id, send_key, link, url) VALUES (?, ?, ?, ?)`);
    this.db.transaction(() => {
      for (const l of links) stmt.run(l.id, l.sendKey, l.link, l.url);
    })();
  }

  /** A tracked link by its id. */
  async link(id: string): Promise<{ send_key: string; link: number; url: string } | undefined> {
    return this.db.prepare(`SELECT send_key, link, url FROM links WHERE id = ?`).get(id) as { send_key: string; link: number; url: string } | undefined;
  }

  /** Records a click on link `link` of a send, committed when this returns. */
  async recordClick(sendKey: string, link: number, at: number): Promise<void> {
    this.db.prepare(`INSERT INTO clicks (send_key, link, at) VALUES (?, ?, ?)`).run(sendKey, link, at);
  }

  /** Commits what is queued, then closes. */
  async close(): Promise<void> {
    try {
      if (!this.queue.hasFailed) this.flushNow();
    } finally {
      this.db.close();
    }
  }
}

/** Bounds of the send keys of one occurrence (`campaign|occurrence|…`): '}' sorts right after '|'. */
function occurrenceKeyRange(campaign: string, occurrence: string): [string, string] {
  return [`${campaign}|${occurrence}|`, `${campaign}|${occurrence}}`];
}

export function ledgerPath(root: string): string {
  return path.join(root, ".chuda", "state.db");
}

function fileIdOf(file: string): string | undefined {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Next to the ledger: the id of the ledger this repository's dispatches have written to. */
export function ledgerMarkerPath(root: string): string {
  return path.join(root, ".chuda", "ledger-id");
}

export type LedgerIdentity = { ok: true } | { ok: false; problem: "missing" | "mismatch"; expected: string; found?: string };

/**
 * Whether the ledger at `root` is the one this repository's dispatches wrote (see `ledgerMarkerPath`): a ledger
 * that is missing although the marker says there was one, or whose id differs from the marker (a ledger copied in
 * from elsewhere, an old backup of another history), would make a run send again what was sent. Without a marker
 * (no dispatch yet, or one from before the marker existed) any ledger is accepted.
 */
export function checkLedgerIdentity(root: string): LedgerIdentity {
  const marker = ledgerMarkerPath(root);
  if (!existsSync(marker)) return { ok: true };
  const expected = readFileSync(marker, "utf8").trim();
  const file = ledgerPath(root);
  if (!existsSync(file)) return { ok: false, problem: "missing", expected };
  let found: string | undefined;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get();
    found = hasMeta ? (db.prepare(`SELECT value FROM meta WHERE key = 'ledger_id'`).get() as { value: string } | undefined)?.value : undefined;
  } finally {
    db.close();
  }
  return found === expected ? { ok: true } : { ok: false, problem: "mismatch", expected, found };
}

/** Records the ledger's id in the marker (after a run opened it, or when `--new-ledger` starts a new history). */
export function writeLedgerMarker(root: string, id: string): void {
  writeFileSync(ledgerMarkerPath(root), id + "\n");
}

/** Whether a process of this host with that id is running (EPERM: it is, but not ours). */
function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
