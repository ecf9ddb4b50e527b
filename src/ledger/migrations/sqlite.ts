/**
 * The SQLite ledger's schema as numbered steps, recorded in `schema_version`. Steps are written to also adopt a
 * ledger made before versions were recorded (its tables exist already). `migrateSqlite` applies the missing steps in
 * one `BEGIN IMMEDIATE` transaction: a second process opening the file at the same moment waits for it, then finds
 * nothing left to do.
 */
import type Database from "better-sqlite3";
import { SchemaTooNewError } from "./postgres.js";

export interface SqliteStep {
  version: number;
  name: string;
  apply: (db: Database.Database) => void;
}

const TABLES = `
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
-- Partial indexes: only rows in the two working states are indexed, so a state change touches a small, hot part of
-- an index instead of an index over every send ever made (the old sends_state index is dropped below).
CREATE INDEX IF NOT EXISTS sends_due ON sends (channel, send_at) WHERE state = 'planned';
CREATE INDEX IF NOT EXISTS sends_in_flight ON sends (channel) WHERE state = 'in_flight';
CREATE INDEX IF NOT EXISTS sends_member ON sends (member);
DROP INDEX IF EXISTS sends_state;
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- Test sends to staff before a launch (dispatch --test-to): apart from the campaign's sends, so that no report,
-- cap, quota or occurrence ever counts them.
CREATE TABLE IF NOT EXISTS test_sends (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign TEXT NOT NULL,
  member TEXT NOT NULL,
  channel TEXT NOT NULL,
  address TEXT,
  state TEXT NOT NULL,
  provider_id TEXT,
  error_code TEXT,
  error_message TEXT,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  key TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

export const SQLITE_STEPS: SqliteStep[] = [
  { version: 1, name: "ledger tables", apply: (db) => db.exec(TABLES) },
  {
    version: 2,
    name: "snapshot size of each run",
    // For the shrink guard; a ledger made before versions were recorded may have the column already.
    apply: (db) => {
      const columns = (db.prepare(`PRAGMA table_info(runs)`).all() as { name: string }[]).map((c) => c.name);
      if (!columns.includes("members")) db.exec(`ALTER TABLE runs ADD COLUMN members INTEGER`);
    },
  },
];

export const SQLITE_SCHEMA_VERSION = SQLITE_STEPS[SQLITE_STEPS.length - 1]!.version;

/** The applied version, 0 for a new file or one from before versions were recorded. */
function currentVersion(db: Database.Database): number {
  const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (!has) return 0;
  return (db.prepare(`SELECT MAX(version) AS v FROM schema_version`).get() as { v: number | null }).v ?? 0;
}

/** Applies the missing steps; returns the versions before and after. */
export function migrateSqlite(db: Database.Database, steps: SqliteStep[] = SQLITE_STEPS): { from: number; to: number } {
  const known = steps[steps.length - 1]?.version ?? 0;
  // Checked outside a write transaction first: an up-to-date ledger (every open but the first) takes no write lock.
  const seen = currentVersion(db);
  if (seen > known) throw new SchemaTooNewError(seen, known);
  if (seen === known) return { from: seen, to: seen };
  return db
    .transaction(() => {
      const from = currentVersion(db);
      if (from > known) throw new SchemaTooNewError(from, known);
      db.exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
      const record = db.prepare(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`);
      for (const s of steps) {
        if (s.version <= from) continue;
        s.apply(db);
        record.run(s.version, s.name, Date.now());
      }
      return { from, to: Math.max(from, known) };
    })
    .immediate();
}
