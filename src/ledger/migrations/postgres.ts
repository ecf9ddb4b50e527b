/**
 * The PostgreSQL ledger's schema as numbered steps. `schema_version` records the steps applied; `migratePostgres`
 * applies the missing ones in one transaction under an advisory lock, so two processes starting together never
 * both migrate (the second waits, then finds nothing left to do).
 */
import type pg from "pg";

export interface PostgresStep {
  version: number;
  name: string;
  sql: string;
}

/** Keys compare byte-wise (`COLLATE "C"`) whatever the database's locale: an occurrence's sends are one key range. */
export const POSTGRES_STEPS: PostgresStep[] = [
  {
    version: 1,
    name: "ledger tables",
    sql: `
CREATE TABLE runs (
  id BIGSERIAL PRIMARY KEY,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  at BIGINT NOT NULL,
  pid INTEGER NOT NULL,
  status TEXT NOT NULL,
  summary TEXT,
  members BIGINT
);
CREATE TABLE occurrences (
  campaign TEXT NOT NULL,
  occurrence TEXT NOT NULL,
  send_at BIGINT NOT NULL,
  run_id BIGINT NOT NULL,
  audience BIGINT NOT NULL,
  PRIMARY KEY (campaign, occurrence)
);
CREATE INDEX occurrences_send_at ON occurrences (send_at);
CREATE TABLE sends (
  id BIGSERIAL UNIQUE,
  key TEXT COLLATE "C" PRIMARY KEY,
  campaign TEXT NOT NULL,
  occurrence TEXT NOT NULL,
  member TEXT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  send_at BIGINT NOT NULL,
  address TEXT,
  sender TEXT,
  content TEXT,
  fallbacks TEXT,
  vars TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  provider_id TEXT,
  error_code TEXT,
  error_message TEXT,
  not_before BIGINT,
  run_id BIGINT,
  first_attempt_at BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX sends_due ON sends (channel, send_at, id) WHERE state = 'planned';
CREATE INDEX sends_in_flight ON sends (channel) WHERE state = 'in_flight';
CREATE INDEX sends_member ON sends (member);
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE test_sends (
  id BIGSERIAL PRIMARY KEY,
  campaign TEXT NOT NULL,
  member TEXT NOT NULL,
  channel TEXT NOT NULL,
  address TEXT,
  state TEXT NOT NULL,
  provider_id TEXT,
  error_code TEXT,
  error_message TEXT,
  at BIGINT NOT NULL
);
CREATE TABLE tokens (
  key TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);`,
  },
  {
    version: 2,
    name: "worker leases",
    // Several workers share one ledger: a send in flight belongs to the worker (lease_owner) that marked it until
    // lease_until; a run row is alive while its heartbeat is recent.
    sql: `
ALTER TABLE sends ADD COLUMN lease_owner TEXT;
ALTER TABLE sends ADD COLUMN lease_until BIGINT;
ALTER TABLE runs ADD COLUMN heartbeat_at BIGINT;
-- The shared rate budget of each channel: when the last n calls of all workers were booked to leave (a ring).
CREATE TABLE rate_buckets (
  bucket TEXT PRIMARY KEY,
  times BIGINT[] NOT NULL,
  head INTEGER NOT NULL,
  slot BIGINT NOT NULL
);`,
  },
];

/** The newest schema this chuda knows. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_STEPS[POSTGRES_STEPS.length - 1]!.version;

/** A fixed advisory-lock key for the migration (any 64-bit number chuda alone uses): "chuda" in ASCII. */
const MIGRATION_LOCK = 0x6368756461;

/** The ledger's schema is newer than this chuda (a newer chuda migrated it): refuse rather than guess. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`the ledger's schema is version ${found}, newer than this chuda knows (${known}); upgrade chuda`);
  }
}

/** Applies the missing steps; returns the versions before and after. */
export async function migratePostgres(client: pg.ClientBase, steps: PostgresStep[] = POSTGRES_STEPS): Promise<{ from: number; to: number }> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM schema_version`);
    const from = r.rows[0]?.v ?? 0;
    const known = steps[steps.length - 1]?.version ?? 0;
    if (from > known) throw new SchemaTooNewError(from, known);
    for (const s of steps) {
      if (s.version <= from) continue;
      await client.query(s.sql);
      await client.query(`INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)`, [s.version, s.name, Date.now()]);
    }
    await client.query("COMMIT");
    return { from, to: Math.max(from, known) };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
