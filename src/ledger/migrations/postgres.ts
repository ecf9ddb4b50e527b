/**
 * The PostgreSQL ledger's schema as numbered steps. `schema_version` records the steps applied; `migratePostgres`
 * applies the missing ones in one transaction under an advisory lock, so two processes starting together never
 * both migrate (the second waits, then finds nothing left to do).
 */
import type pg from "pg";

/** The columns of `sends` with their types, in table order: what copies and inserts of sends read. */
export const SEND_COLUMN_TYPES: [string, string][] = [
  ["id", "bigint"],
  ["key", "text"],
  ["campaign", "text"],
  ["occurrence", "text"],
  ["member", "text"],
  ["channel", "text"],
  ["state", "text"],
  ["send_at", "bigint"],
  ["address", "text"],
  ["sender", "text"],
  ["content", "text"],
  ["fallbacks", "text"],
  ["vars", "text"],
  ["attempts", "integer"],
  ["provider_id", "text"],
  ["error_code", "text"],
  ["error_message", "text"],
  ["not_before", "bigint"],
  ["run_id", "bigint"],
  ["first_attempt_at", "bigint"],
  ["updated_at", "bigint"],
  ["delivered_at", "bigint"],
  ["delivery_code", "text"],
  ["delivery_at", "bigint"],
];

/**
 * `chuda_record_receipts`: records a batch of receipts; one outcome each, in order, with the send it is for. `ok` is
 * the test that keeps a receipt whose send was not found by message id: a send in flight to its address (the
 * receipt came before the send's result). Step 3 found those by the state's own index; step 7, which made the mark
 * a heap-only update, by the address among active sends.
 */
const recordReceipts = (
  create: "CREATE" | "CREATE OR REPLACE",
  ok: string,
) => `${create} FUNCTION chuda_record_receipts(p_channel TEXT[], p_provider TEXT[], p_address TEXT[], p_state TEXT[], p_code TEXT[], p_at BIGINT[],
  p_source TEXT[], p_now BIGINT) RETURNS TABLE (outcome TEXT, send_key TEXT) LANGUAGE sql AS $$
WITH input AS MATERIALIZED (
  SELECT n, channel, provider, address AS raw, chuda_normalize_address(address) AS a, state, code, at, source
  FROM unnest(p_channel, p_provider, p_address, p_state, p_code, p_at, p_source) WITH ORDINALITY AS u(channel, provider, address, state, code, at, source, n)
), matched AS MATERIALIZED (
  SELECT i.*, COALESCE(
    -- A WeCom task's msgid is shared by up to 10 000 sends: the address as stored finds the one without reading them all.
    (SELECT CASE WHEN COUNT(*) = 1 THEN MIN(x.key) END FROM (SELECT e.key FROM sends e WHERE e.provider_id = i.provider AND e.channel = i.channel
      AND e.address IN (i.raw, i.a) LIMIT 2) x),
    (SELECT s.key FROM sends s WHERE s.provider_id = i.provider AND s.channel = i.channel
      AND (i.a IS NULL OR (chuda_same_address(s.address, i.a))
        OR (SELECT COUNT(*) FROM sends t WHERE t.provider_id = i.provider AND t.channel = i.channel) <= 1)
    ORDER BY s.id LIMIT 1)) AS key
  FROM input i
), known AS (
  SELECT m.*, m.channel || '|' || m.provider || '|' || COALESCE(m.a, '') || '|' || m.state || '|' || COALESCE(m.code, '') || '|' || m.at AS dedupe,
${ok}
  FROM matched m
), firsts AS (
  SELECT DISTINCT ON (dedupe) * FROM known WHERE ok ORDER BY dedupe, n
), inserted AS (
  INSERT INTO receipts (channel, provider_id, address, state, code, reported_at, received_at, source, send_key, dedupe)
  SELECT channel, provider, a, state, code, at, p_now, source, key, dedupe FROM firsts ORDER BY n
  ON CONFLICT (dedupe) DO NOTHING RETURNING dedupe
), stored AS (
  SELECT f.* FROM firsts f JOIN inserted USING (dedupe)
), applied AS (
  UPDATE sends SET delivered_at = CASE WHEN w.state = 'delivered' THEN w.at END,
    delivery_code = CASE WHEN w.state = 'failed' THEN COALESCE(w.code, 'failed') END, delivery_at = w.at
  FROM (SELECT DISTINCT ON (key) key, state, code, at FROM stored WHERE key IS NOT NULL ORDER BY key, at DESC, n DESC) w
  WHERE sends.key = w.key AND (sends.delivery_at IS NULL OR sends.delivery_at <= w.at)
  RETURNING sends.key
)
SELECT CASE WHEN NOT k.ok THEN 'unknown' WHEN s.n IS NULL THEN 'duplicate' WHEN k.key IS NULL THEN 'pending' ELSE 'applied' END, k.key
FROM known k LEFT JOIN stored s ON s.n = k.n ORDER BY k.n
$$;
`;

const KNOWN_BY_IN_FLIGHT = `    (m.key IS NOT NULL OR EXISTS (SELECT 1 FROM sends f WHERE f.state = 'in_flight' AND f.channel = m.channel AND f.address IS NOT NULL
      AND (m.a IS NULL OR chuda_same_address(f.address, m.a)))) AS ok`;

const KNOWN_BY_ACTIVE_ADDRESS = `    (m.key IS NOT NULL OR CASE WHEN m.a IS NULL
      THEN EXISTS (SELECT 1 FROM sends f WHERE f.active AND f.state = 'in_flight' AND f.channel = m.channel AND f.address IS NOT NULL)
      -- The address's last 11 characters find the sends in flight to it in an index, not by reading every send in flight.
      ELSE EXISTS (SELECT 1 FROM sends f WHERE f.active AND f.state = 'in_flight' AND f.channel = m.channel
        AND right(btrim(f.address, E' \\t\\r\\n'), 11) = right(m.a, 11) AND chuda_same_address(f.address, m.a)) END) AS ok`;

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
  {
    version: 3,
    name: "delivery receipts, suppressions, events and tracked links",
    // The same tables as the SQLite ledger's (src/dispatch/delivery.ts, src/dispatch/ledger.ts). The receipt
    // matching of src/dispatch/delivery.ts runs here as functions, so that a batch of receipts is one round trip.
    sql: `
-- delivered_at: report time of a delivery; delivery_code: the provider's failure code; delivery_at: report time of
-- the latest final state (either), which a later report must not be older than to replace it.
ALTER TABLE sends ADD COLUMN delivered_at BIGINT;
ALTER TABLE sends ADD COLUMN delivery_code TEXT;
ALTER TABLE sends ADD COLUMN delivery_at BIGINT;
CREATE INDEX sends_provider_address ON sends (provider_id, address) WHERE provider_id IS NOT NULL;
CREATE TABLE receipts (
  id BIGSERIAL PRIMARY KEY,
  channel TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  address TEXT,
  state TEXT NOT NULL,
  code TEXT,
  reported_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  source TEXT NOT NULL,
  send_key TEXT COLLATE "C",
  dedupe TEXT NOT NULL UNIQUE
);
CREATE INDEX receipts_pending ON receipts (provider_id) WHERE send_key IS NULL;
CREATE TABLE suppressions (
  id BIGSERIAL PRIMARY KEY,
  member TEXT,
  channel TEXT NOT NULL,
  address TEXT,
  via TEXT,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL,
  removed_at BIGINT,
  removed_by TEXT,
  removed_reason TEXT,
  dedupe TEXT UNIQUE
);
CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY,
  ident TEXT NOT NULL UNIQUE,
  member TEXT NOT NULL,
  name TEXT NOT NULL,
  time BIGINT NOT NULL,
  props TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX events_time ON events (time);
CREATE TABLE clicks (
  id BIGSERIAL PRIMARY KEY,
  send_key TEXT COLLATE "C" NOT NULL,
  link INTEGER NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX clicks_send ON clicks (send_key);
CREATE TABLE links (
  id TEXT PRIMARY KEY,
  send_key TEXT COLLATE "C" NOT NULL,
  link INTEGER NOT NULL,
  url TEXT NOT NULL
);
CREATE INDEX links_send ON links (send_key);

-- Mainland mobile numbers in any usual form (+86…, 0086…, 86…) as 11 digits; anything else as it is, trimmed.
CREATE FUNCTION chuda_normalize_address(a TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(substring(btrim(a, E' \\t\\r\\n') FROM '^(?:\\+86|0086|86)?(1[0-9]{10})$'), btrim(a, E' \\t\\r\\n'))
$$;

-- Whether a stored address normalizes to the given normalized one. That one is the end of the trimmed address (a phone
-- number) or all of it, so comparing the ends first spares the regular expression for almost every other row. (Inlined
-- where its arguments are plain values: hence the materialized input below.)
CREATE FUNCTION chuda_same_address(address TEXT, normalized TEXT) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
  SELECT address IS NOT NULL AND right(btrim(address, E' \\t\\r\\n'), 11) = right(normalized, 11) AND chuda_normalize_address(address) = normalized
$$;

-- The send a receipt is for: by provider message id; an id shared by several sends (Aliyun's BizId is one per
-- request) is told apart by the address.
CREATE FUNCTION chuda_receipt_send(p_channel TEXT, p_provider TEXT, p_address TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE
  n INTEGER;
  k TEXT;
  a TEXT;
BEGIN
  -- A WeCom task's msgid is shared by up to 10 000 sends: the address as stored finds the one without reading them all.
  IF p_address IS NOT NULL THEN
    SELECT CASE WHEN COUNT(*) = 1 THEN MIN(x.key) END INTO k FROM (
      SELECT key FROM sends WHERE provider_id = p_provider AND channel = p_channel AND address IN (p_address, chuda_normalize_address(p_address)) LIMIT 2) x;
    IF k IS NOT NULL THEN
      RETURN k;
    END IF;
  END IF;
  SELECT COUNT(*) INTO n FROM sends WHERE provider_id = p_provider AND channel = p_channel;
  IF n <= 1 OR p_address IS NULL THEN
    SELECT key INTO k FROM sends WHERE provider_id = p_provider AND channel = p_channel ORDER BY id LIMIT 1;
  ELSE
    a := chuda_normalize_address(p_address);
    SELECT key INTO k FROM sends WHERE provider_id = p_provider AND channel = p_channel AND chuda_same_address(address, a) ORDER BY id LIMIT 1;
  END IF;
  RETURN k;
END $$;

-- A send keeps the final state with the latest report time.
CREATE FUNCTION chuda_apply_receipt(p_key TEXT, p_state TEXT, p_code TEXT, p_at BIGINT) RETURNS VOID LANGUAGE sql AS $$
  UPDATE sends SET delivered_at = CASE WHEN p_state = 'delivered' THEN p_at END,
    delivery_code = CASE WHEN p_state = 'failed' THEN COALESCE(p_code, 'failed') END, delivery_at = p_at
  WHERE key = p_key AND (delivery_at IS NULL OR delivery_at <= p_at)
$$;

-- Records a batch of receipts; one outcome each, in order, with the send it is for: applied, pending (its send is in flight: applied when the
-- result commits), duplicate (stored already, or earlier in the batch), or unknown (nothing written). One statement
-- for the whole batch: of several receipts for one send, the one with the latest report time (the last of equals)
-- is the send's final state, as if they were applied one by one.
${recordReceipts("CREATE", KNOWN_BY_IN_FLIGHT)}
-- Applies receipts stored before their send's result; returns those that matched now.
CREATE FUNCTION chuda_match_pending_receipts() RETURNS TABLE (send_key TEXT, state TEXT, code TEXT, reported_at BIGINT) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r RECORD;
  k TEXT;
BEGIN
  FOR r IN SELECT p.id, p.channel, p.provider_id, p.address, p.state, p.code, p.reported_at FROM receipts p WHERE p.send_key IS NULL ORDER BY p.reported_at, p.id LOOP
    k := chuda_receipt_send(r.channel, r.provider_id, r.address);
    CONTINUE WHEN k IS NULL;
    UPDATE receipts SET send_key = k WHERE id = r.id;
    PERFORM chuda_apply_receipt(k, r.state, r.code, r.reported_at);
    send_key := k;
    state := r.state;
    code := r.code;
    reported_at := r.reported_at;
    RETURN NEXT;
  END LOOP;
END $$;`,
  },
  {
    version: 4,
    name: "room for leases",
    // A lease (due) changes no indexed column: with room left on its page, PostgreSQL writes the row's new version
    // there (a heap-only update) without an entry in each of the table's indexes, a third of the cost of a send's
    // writes otherwise. Pages of sends planned from now on are filled half; the later versions of the row fill the rest.
    sql: `ALTER TABLE sends SET (fillfactor = 50);`,
  },
  {
    version: 5,
    name: "no index of sends by member",
    // No statement looks sends up by member (history is read whole), and every state change of a send wrote an entry
    // in it: a fifth of the cost of marking a send in flight and of recording its result.
    sql: `DROP INDEX IF EXISTS sends_member;`,
  },
  {
    version: 6,
    name: "pending receipts matched by message id",
    // A receipt that never finds its send (its send ended unknown, without the provider's id) stays pending. Matched
    // whole after every commit of results, such receipts cost every commit a second transaction, longer the more there
    // are; results now match only the receipts of their own message ids (ids NULL: every pending receipt).
    sql: `DROP FUNCTION chuda_match_pending_receipts();
CREATE FUNCTION chuda_match_pending_receipts(ids TEXT[] DEFAULT NULL) RETURNS TABLE (send_key TEXT, state TEXT, code TEXT, reported_at BIGINT) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r RECORD;
  k TEXT;
BEGIN
  FOR r IN SELECT p.id, p.channel, p.provider_id, p.address, p.state, p.code, p.reported_at FROM receipts p
           WHERE p.send_key IS NULL AND (ids IS NULL OR p.provider_id = ANY(ids)) ORDER BY p.reported_at, p.id LOOP
    k := chuda_receipt_send(r.channel, r.provider_id, r.address);
    CONTINUE WHEN k IS NULL;
    UPDATE receipts SET send_key = k WHERE id = r.id;
    PERFORM chuda_apply_receipt(k, r.state, r.code, r.reported_at);
    send_key := k;
    state := r.state;
    code := r.code;
    reported_at := r.reported_at;
    RETURN NEXT;
  END LOOP;
END $$;`,
  },
  {
    version: 7,
    name: "sends waiting or in flight in an index of their own",
    // The indexes of planned and of in-flight sends named the state in their predicates, so no change of state could
    // be a heap-only update: marking a send in flight wrote an entry in every index of the table. The column active (planned
    // or in flight) is the same for both states, so the mark now writes the row's new version beside the old one and
    // touches no index; the result, which ends a send's activity and records the provider's id, still does.
    sql: `ALTER TABLE sends ADD COLUMN active BOOLEAN GENERATED ALWAYS AS (state IN ('planned', 'in_flight')) STORED;
CREATE INDEX sends_active ON sends (channel, send_at, id) WHERE active;
-- A receipt before its send's result is kept if a send in flight has its address.
CREATE INDEX sends_active_address ON sends (right(btrim(address, E' \\t\\r\\n'), 11)) WHERE active;
DROP INDEX sends_due;
DROP INDEX sends_in_flight;
${recordReceipts("CREATE OR REPLACE", KNOWN_BY_ACTIVE_ADDRESS)}`,
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
  const known = steps[steps.length - 1]?.version ?? 0;
  // A ledger that is up to date is only read: no lock, and no DDL, which would need the right to create tables in
  // the schema (PostgreSQL checks it even for CREATE TABLE IF NOT EXISTS) — a login for `status` may lack it.
  const present = await client.query<{ present: boolean }>(`SELECT to_regclass('schema_version') IS NOT NULL AS present`);
  if (present.rows[0]?.present) {
    const current = (await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM schema_version`)).rows[0]?.v ?? 0;
    if (current > known) throw new SchemaTooNewError(current, known);
    if (current === known) return { from: current, to: current };
  }
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM schema_version`);
    const from = r.rows[0]?.v ?? 0;
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
