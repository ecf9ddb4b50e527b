/**
 * The dispatch ledger: SQLite in WAL mode at `.chuda/state.db`. Every planned send is recorded with its key
 * (campaign, occurrence, member, channel) before any provider call, and its result after. Writes are batched
 * in transactions so that the ledger is never the bottleneck.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { HistorySend } from "../plan/types.js";

export type SendState = "planned" | "in_flight" | "sent" | "queued" | "failed" | "unknown" | "held_out";

export interface SendRow {
  key: string;
  campaign: string;
  occurrence: string;
  member: string;
  channel: string;
  state: SendState;
  send_at: number;
  address: string | null;
  sender: string | null;
  content: string | null;
  fallbacks: string | null;
  vars: string | null;
  attempts: number;
  provider_id: string | null;
  error_code: string | null;
  error_message: string | null;
  not_before: number | null;
  run_id: number | null;
  first_attempt_at: number | null;
  updated_at: number;
}

export const sendKey = (campaign: string, occurrence: string, member: string, channel: string) => `${campaign}|${occurrence}|${member}|${channel}`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  at INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  status TEXT NOT NULL,
  summary TEXT
);
CREATE TABLE IF NOT EXISTS occurrences (
  campaign TEXT NOT NULL,
  occurrence TEXT NOT NULL,
  send_at INTEGER NOT NULL,
  run_id INTEGER NOT NULL,
  audience INTEGER NOT NULL,
  PRIMARY KEY (campaign, occurrence)
);
CREATE TABLE IF NOT EXISTS sends (
  key TEXT PRIMARY KEY,
  campaign TEXT NOT NULL,
  occurrence TEXT NOT NULL,
  member TEXT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  send_at INTEGER NOT NULL,
  address TEXT,
  sender TEXT,
  content TEXT,
  fallbacks TEXT,
  vars TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  provider_id TEXT,
  error_code TEXT,
  error_message TEXT,
  not_before INTEGER,
  run_id INTEGER,
  first_attempt_at INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_state ON sends (state, channel);
CREATE INDEX IF NOT EXISTS sends_member ON sends (member);
CREATE TABLE IF NOT EXISTS tokens (
  key TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

export class Ledger {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    // FULL: a send marked in-flight is on disk before the provider call leaves the process.
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.stmts = {
      insertSend: this.db.prepare(
        `INSERT OR IGNORE INTO sends (key, campaign, occurrence, member, channel, state, send_at, address, sender, content, fallbacks, vars, run_id, updated_at)
         VALUES (@key, @campaign, @occurrence, @member, @channel, @state, @send_at, @address, @sender, @content, @fallbacks, @vars, @run_id, @updated_at)`,
      ),
      insertOcc: this.db.prepare(`INSERT OR IGNORE INTO occurrences (campaign, occurrence, send_at, run_id, audience) VALUES (?, ?, ?, ?, ?)`),
      setState: this.db.prepare(`UPDATE sends SET state = ?, updated_at = ? WHERE key = ?`),
      markInFlight: this.db.prepare(
        `UPDATE sends SET state = 'in_flight', attempts = attempts + 1, run_id = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ? WHERE key = ? AND state = 'planned'`,
      ),
      finish: this.db.prepare(
        `UPDATE sends SET state = @state, provider_id = COALESCE(@provider_id, provider_id), error_code = @error_code, error_message = @error_message, not_before = @not_before, updated_at = @updated_at WHERE key = @key`,
      ),
    };
  }

  startRun(at: number, now: number): number {
    const r = this.db.prepare(`INSERT INTO runs (started_at, at, pid, status) VALUES (?, ?, ?, 'running')`).run(now, at, process.pid);
    return Number(r.lastInsertRowid);
  }

  finishRun(id: number, now: number, status: string, summary: unknown): void {
    this.db.prepare(`UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?`).run(now, status, JSON.stringify(summary), id);
  }

  /** Occurrences an earlier run planned already: `${campaign}|${occurrence}`. */
  plannedOccurrences(): Set<string> {
    const rows = this.db.prepare(`SELECT campaign, occurrence FROM occurrences`).all() as { campaign: string; occurrence: string }[];
    return new Set(rows.map((r) => `${r.campaign}|${r.occurrence}`));
  }

  /** Sends that count against caps, quotas and repeat: everything committed to, not what failed. */
  history(): HistorySend[] {
    const rows = this.db
      .prepare(`SELECT member, campaign, channel, send_at AS at FROM sends WHERE state IN ('planned','in_flight','sent','queued','unknown') ORDER BY send_at`)
      .all() as HistorySend[];
    return rows;
  }

  /** Records a whole plan (its occurrences and every send and held-out member) in one transaction. */
  recordPlan(occurrences: { campaign: string; occurrence: string; sendAt: number; audience: number }[], sends: Omit<SendRow, "attempts" | "provider_id" | "error_code" | "error_message" | "not_before" | "first_attempt_at">[], runId: number): void {
    const tx = this.db.transaction(() => {
      for (const o of occurrences) this.stmts.insertOcc.run(o.campaign, o.occurrence, o.sendAt, runId, o.audience);
      for (const s of sends) this.stmts.insertSend.run(s);
    });
    tx();
  }

  insertSends(sends: Omit<SendRow, "attempts" | "provider_id" | "error_code" | "error_message" | "not_before" | "first_attempt_at">[]): void {
    this.db.transaction(() => {
      for (const s of sends) this.stmts.insertSend.run(s);
    })();
  }

  /**
   * Planned sends of a channel whose send time is at or before `until` (the run's moment, `--at`) and whose
   * backoff (`not_before`) has passed at `now` (the wall clock), in send-time order.
   */
  due(channel: string, until: number, now: number, limit: number): SendRow[] {
    return this.db
      .prepare(`SELECT * FROM sends WHERE state = 'planned' AND channel = ? AND send_at <= ? AND (not_before IS NULL OR not_before <= ?) ORDER BY send_at, key LIMIT ?`)
      .all(channel, until, now, limit) as SendRow[];
  }

  dueChannels(now: number): string[] {
    return (this.db.prepare(`SELECT DISTINCT channel FROM sends WHERE state = 'planned' AND send_at <= ?`).all(now) as { channel: string }[]).map((r) => r.channel);
  }

  /** Earliest not_before among planned sends due by `until`, of one channel if given (for waiting on deferrals within a run). */
  nextNotBefore(until: number, channel?: string): number | undefined {
    const r = (
      channel === undefined
        ? this.db.prepare(`SELECT MIN(not_before) AS t FROM sends WHERE state = 'planned' AND send_at <= ? AND not_before IS NOT NULL`).get(until)
        : this.db.prepare(`SELECT MIN(not_before) AS t FROM sends WHERE state = 'planned' AND channel = ? AND send_at <= ? AND not_before IS NOT NULL`).get(channel, until)
    ) as { t: number | null };
    return r.t ?? undefined;
  }

  /** Marks a batch in flight in one durable transaction; returns the keys that were still planned. */
  markInFlight(keys: string[], runId: number, now: number): Set<string> {
    const ok = new Set<string>();
    this.db.transaction(() => {
      for (const k of keys) if (this.stmts.markInFlight.run(runId, now, now, k).changes) ok.add(k);
    })();
    return ok;
  }

  /**
   * Records a batch's results, and the fallback sends they open, in one transaction: a crash cannot leave a member
   * failed on one channel without the send on the next.
   */
  finish(
    results: { key: string; state: SendState; provider_id?: string | null; error_code?: string | null; error_message?: string | null; not_before?: number | null }[],
    now: number,
    inserts: Omit<SendRow, "attempts" | "provider_id" | "error_code" | "error_message" | "not_before" | "first_attempt_at">[] = [],
  ): void {
    this.db.transaction(() => {
      for (const s of inserts) this.stmts.insertSend.run(s);
      for (const r of results)
        this.stmts.finish.run({
          key: r.key,
          state: r.state,
          provider_id: r.provider_id ?? null,
          error_code: r.error_code ?? null,
          error_message: r.error_message ?? null,
          not_before: r.not_before ?? null,
          updated_at: now,
        });
    })();
  }

  inFlight(): SendRow[] {
    return this.db.prepare(`SELECT * FROM sends WHERE state = 'in_flight' ORDER BY channel, key`).all() as SendRow[];
  }

  get(key: string): SendRow | undefined {
    return this.db.prepare(`SELECT * FROM sends WHERE key = ?`).get(key) as SendRow | undefined;
  }

  counts(): { campaign: string; channel: string; state: SendState; n: number }[] {
    return this.db.prepare(`SELECT campaign, channel, state, COUNT(*) AS n FROM sends GROUP BY campaign, channel, state ORDER BY campaign, channel, state`).all() as never;
  }

  runs(limit = 20): { id: number; started_at: number; finished_at: number | null; at: number; status: string; summary: string | null }[] {
    return this.db.prepare(`SELECT id, started_at, finished_at, at, status, summary FROM runs ORDER BY id DESC LIMIT ?`).all(limit) as never;
  }

  unknownSends(limit = 50): SendRow[] {
    return this.db.prepare(`SELECT * FROM sends WHERE state = 'unknown' ORDER BY send_at, key LIMIT ?`).all(limit) as SendRow[];
  }

  failuresByCode(): { channel: string; error_code: string; n: number }[] {
    return this.db.prepare(`SELECT channel, error_code, COUNT(*) AS n FROM sends WHERE state = 'failed' GROUP BY channel, error_code ORDER BY n DESC`).all() as never;
  }

  getToken(key: string, now: number): string | undefined {
    const r = this.db.prepare(`SELECT token, expires_at FROM tokens WHERE key = ?`).get(key) as { token: string; expires_at: number } | undefined;
    return r && r.expires_at > now ? r.token : undefined;
  }

  putToken(key: string, token: string, expiresAt: number): void {
    this.db.prepare(`INSERT INTO tokens (key, token, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at`).run(key, token, expiresAt);
  }

  close(): void {
    this.db.close();
  }
}

export function ledgerPath(root: string): string {
  return path.join(root, ".chuda", "state.db");
}
