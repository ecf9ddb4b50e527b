/**
 * The dispatch ledger in PostgreSQL: the same tables, states and semantics as the SQLite ledger
 * (src/dispatch/ledger.ts), for several workers on one or more hosts sharing one history. The ledger's own
 * connection runs its statements one at a time in call order (a transaction is never interleaved with another call).
 * In-flight marks and results are group-committed like SQLite's, on writer connections of their own: everything
 * queued while a writer was busy is written by one statement, one durable commit.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import copyStreams from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expiredMessage, NEXT_RUN_MS } from "../dispatch/ledger.js";
import type {
  DuePosition,
  DueSend,
  InFlightElsewhere,
  Ledger,
  RunRow,
  SendInsert,
  SendResult,
  SendRow,
  SendState,
  StaffConfirmation,
  StoredEvent,
  TestSendRecord,
} from "./types.js";
import { ASSIGNED_STATES, type LedgerOutcomeRow } from "../outcomes/attribution.js";
import type { HistorySend } from "../plan/types.js";
import { migratePostgres, SEND_COLUMN_TYPES } from "./migrations/postgres.js";
import { dropFailedLogin } from "./pg-login.js";
import { libpqUrl, maskSecretIn } from "./url.js";
import { GroupCommitQueue, type CommitGroup } from "./group-commit.js";
import {
  ASKED_STATES,
  normalizeAddress,
  optOutFailures,
  providerIds,
  sendErrorSuppression,
  type DeliveryCommitResult,
  type DeliveryCounts,
  type DeliveryWrites,
  type ReceiptInput,
  type ReceiptOutcome,
  type Settled,
  type SuppressionInput,
  type SuppressionRow,
  type UnconfirmedSend,
} from "../dispatch/delivery.js";

const { from: copyFrom } = copyStreams;

/** BIGINT and NUMERIC come back as numbers (times in ms, counts, ids: all far below 2^53). */
const TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as "text");
  }) as typeof pg.types.getTypeParser,
};

/** The campaign is in the run's scope (`$n` is a text[] or null). */
const inScope = (n: number) => `($${n}::text[] IS NULL OR campaign = ANY($${n}::text[]))`;

/** Columns of a send as the plan records them, in insert order, with their array types for `unnest`. */
const INSERT_COLUMNS = (
  [
    "key",
    "campaign",
    "occurrence",
    "member",
    "channel",
    "state",
    "send_at",
    "address",
    "sender",
    "content",
    "fallbacks",
    "vars",
    "run_id",
    "updated_at",
  ] as const
).map((name): [keyof SendInsert, string] => [name, SEND_COLUMN_TYPES.find(([c]) => c === name)![1]]);

/** Inserts sends (their columns as arrays from parameter `$first` on), leaving keys recorded already as they are. */
const insertSql = (first: number) => `INSERT INTO sends (${INSERT_COLUMNS.map((c) => c[0]).join(", ")})
  SELECT * FROM unnest(${INSERT_COLUMNS.map((c, i) => `$${first + i}::${c[1]}[]`).join(", ")})
  ON CONFLICT (key) DO NOTHING`;

const INSERT_SQL = `${insertSql(1)} RETURNING state`;

/**
 * Copies sends that cannot be recorded yet (of occurrences planned for the first time) into the table: no conflict to
 * look for, so PostgreSQL's bulk load takes them, without building and parsing an array per column.
 */
const COPY_NEW_SQL = `COPY sends (${INSERT_COLUMNS.map((c) => c[0]).join(", ")}) FROM STDIN`;

/** Rows per piece of a copy: the next piece is built while the server takes this one. */
const COPY_CHUNK = 5_000;

const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** A field in COPY's text format: `\N` for null; backslash, tab, newline and carriage return escaped. */
function copyField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : v;
}

/** Sends as lines of COPY's text format, a piece at a time. */
function* copyLines(sends: Iterable<SendInsert>): Generator<string> {
  const columns = INSERT_COLUMNS.map(([c]) => c);
  let out = "";
  let n = 0;
  for (const s of sends) {
    // Field by field into the piece (an array and a join per line cost a third of writing it).
    for (let k = 0; k < columns.length; k++) out += (k ? "\t" : "") + copyField(s[columns[k]!]);
    out += "\n";
    if (++n === COPY_CHUNK) {
      yield out;
      out = "";
      n = 0;
    }
  }
  if (n) yield out;
}

/**
 * The parameters of `insertSql`: one array per column, already in PostgreSQL's array syntax, so that the next chunk's
 * can be built while the server inserts the previous one (the driver would build them only as it sends them).
 */
const insertParams = (sends: SendInsert[]) => INSERT_COLUMNS.map(([c]) => arrayLiteral(sends.map((s) => s[c] ?? null)));

/**
 * A one-dimensional array of texts or numbers as PostgreSQL reads it: `{"a","b\\"c",NULL,1}`. That is JSON's array
 * (quotes and backslashes escaped alike, `null` unquoted) whenever JSON escaped nothing else (a control character):
 * built natively, a few times faster than element by element.
 */
function arrayLiteral(values: (string | number | null)[]): string {
  const json = JSON.stringify(values);
  if (!/\\[^"\\]/.test(json)) return `{${json.slice(1, -1)}}`;
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else if (typeof v === "number") out += String(v);
    else out += `"${v.replace(/[\\"]/g, "\\$&")}"`;
  }
  return out + "}";
}

/**
 * Applies results found by `id` or by `key` (parameters from `$first` on: the ids or keys, then state, provider_id,
 * error_code, error_message, not_before, updated_at, each an array). The lease ends with the result.
 */
const resultSql = (by: "id" | "key", first: number) => {
  const $ = (i: number, type: string) => `$${first + i}::${type}[]`;
  return `UPDATE sends s SET state = u.state, provider_id = COALESCE(u.provider_id, s.provider_id), error_code = u.error_code, error_message = u.error_message,
      not_before = u.not_before, updated_at = u.updated_at, lease_owner = NULL, lease_until = NULL
    FROM unnest(${$(0, by === "id" ? "bigint" : "text")}, ${$(1, "text")}, ${$(2, "text")}, ${$(3, "text")}, ${$(4, "text")}, ${$(5, "bigint")}, ${$(6, "bigint")})
      AS u(${by}, state, provider_id, error_code, error_message, not_before, updated_at)
    WHERE s.${by} = u.${by}`;
};

/** The parameters of `resultSql`, after the ids or keys. */
const resultParams = (xs: { r: SendResult; now: number }[]) =>
  [
    xs.map((x) => x.r.state),
    xs.map((x) => x.r.provider_id ?? null),
    xs.map((x) => x.r.error_code ?? null),
    xs.map((x) => x.r.error_message ?? null),
    xs.map((x) => x.r.not_before ?? null),
    xs.map((x) => x.now),
  ].map(arrayLiteral);

/**
 * Marks sends in flight for this worker (parameters from `$first` on: ids, the number of the mark each belongs to, run
 * ids, times, the attempts each send had when read (null: not known), then the worker and the lease in ms); returns the
 * ids still planned and not attempted since they were read (by another worker), with their mark. `(state =
 * 'planned') IS TRUE` is that test written so that the planner never answers it from a partial index of planned sends:
 * with the statistics of before a large plan it once intersected such an index whole with the ids, once per mark (a
 * plan of 100,000 sends spent most of its run there). The ids' own index finds the rows. The mark changes no indexed
 * column (`active` stays true), so each row's new version is written beside the old one, in no index.
 */
const markSql = (first: number) => `UPDATE sends s SET state = 'in_flight', attempts = s.attempts + 1, run_id = m.run_id,
    first_attempt_at = COALESCE(s.first_attempt_at, m.now), updated_at = m.now, lease_owner = $${first + 5}::text, lease_until = ${DB_NOW} + $${first + 6}::bigint
  FROM unnest($${first}::bigint[], $${first + 1}::int[], $${first + 2}::bigint[], $${first + 3}::bigint[], $${first + 4}::int[]) AS m(id, mark, run_id, now, attempts)
  WHERE s.id = m.id AND (s.state = 'planned') IS TRUE AND (m.attempts IS NULL OR s.attempts = m.attempts) RETURNING s.id, m.mark`;

const SEND_COLUMNS = `id, key, campaign, occurrence, member, channel, state, send_at, address, sender, content, fallbacks, vars, attempts, provider_id,
  error_code, error_message, not_before, run_id, first_attempt_at, updated_at`;

/**
 * The end of a query for the first active send that matches, if any: in the order of the `sends_active` index, so
 * that the planner walks that index and stops at the first match. The statistics of `sends` are taken when a plan
 * is recorded, with every send active; at the end of a run, when none is any more, an EXISTS or a COUNT planned from
 * them read the whole table (40 ms for 100,000 sends), each time. Only conditions those statistics call common go
 * with it (a rare one, such as a send in flight, makes reading the table look cheaper again). Inside EXISTS,
 * PostgreSQL drops the ORDER BY, so this is a query or a LATERAL subquery of its own.
 */
const FIRST_ACTIVE = "ORDER BY channel, send_at, id LIMIT 1";

/**
 * Due sends in send-time order, at most `$5`. A run of sends with one message (an occurrence's, rendered once) carries
 * it in its first row only (`same`: as the row before): the rest of the run would send, and the driver parse, the
 * same text again in every row, a third of a read's bytes.
 */
const dueSql = (where: string) => `SELECT id, key, campaign, occurrence, member, channel, address, sender, CASE WHEN same THEN NULL ELSE content END AS content,
    same, attempts, first_attempt_at, send_at
  FROM (SELECT id, key, campaign, occurrence, member, channel, address, sender, content, attempts, first_attempt_at, send_at,
      content IS NOT DISTINCT FROM lag(content) OVER (ORDER BY send_at, id) AS same
    FROM sends WHERE ${where} ORDER BY send_at, id LIMIT $5) due`;

/** A row of `dueSql`, as an array. */
type DueRow = [
  id: number,
  key: string,
  campaign: string,
  occurrence: string,
  member: string,
  channel: string,
  address: string | null,
  sender: string | null,
  content: string | null,
  same: boolean,
  attempts: number,
  first_attempt_at: number | null,
  send_at: number,
];

/** The database's clock in ms: leases and heartbeats compare against one clock for every worker (not CHUDA_NOW). */
const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * How long a worker's claim on sends lasts (`CHUDA_LEDGER_LEASE_SECONDS`, default 120): sends it marked in flight are
 * left alone (not reconciled) until then. Far longer than a provider call with its retries, so a live worker never
 * loses its sends; a killed worker's sends wait this long. (A lease left on planned sends by an earlier chuda, which
 * leased what it read, is respected until it ends.)
 */
export const LEASE_MS = leaseMs(process.env.CHUDA_LEDGER_LEASE_SECONDS) * 1000;

function leaseMs(seconds: string | undefined): number {
  return (seconds === undefined ? undefined : leaseSeconds(seconds)) ?? 120;
}

/** `CHUDA_LEDGER_LEASE_SECONDS` as seconds, or undefined when it is not a number of at least 1 (refused: CH9208). */
export function leaseSeconds(raw: string): number | undefined {
  const n = Number(raw.trim());
  return raw.trim() !== "" && Number.isFinite(n) && n >= 1 ? n : undefined;
}

/** A run whose heartbeat is older than this is dead (its process was killed); heartbeats come every HEARTBEAT_MS. */
const HEARTBEAT_MS = 5_000;
const DEAD_AFTER_MS = 30_000;
/** A run not heard from for two heartbeats is reported as silent (status, the end of another worker's run). */
const SILENT_AFTER_MS = 2 * HEARTBEAT_MS + 1_000;

/** Advisory-lock keys (64-bit numbers chuda alone uses): planning, and one per access token. */
const PLAN_LOCK = 0x6368756401;
/** How often a worker waiting for the planning lock asks for it again (the others wait out the plan's recording). */
const PLAN_LOCK_POLL_MS = 20;

/** Rows per statement when inserting: parameters are arrays, so only the message size bounds it. */
const INSERT_CHUNK = 20_000;

/**
 * Connections that write group commits, each its own transaction, side by side: while one commit waits for its
 * durable flush the next one is written (PostgreSQL flushes commits that wait together in one go). The commits of one
 * worker touch different rows: a send is marked only once due() found it planned again, after its result committed.
 */
const WRITERS = 2;

/** One statement on one connection. */
type Sql = <R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

/** Runs `fn` in a transaction of the connection `sql` writes to. */
async function inTransaction<T>(sql: Sql, fn: () => Promise<T>): Promise<T> {
  await sql("BEGIN");
  try {
    const out = await fn();
    await sql("COMMIT");
    return out;
  } catch (e) {
    await sql("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/**
 * Runs a statement or a transaction again when PostgreSQL rolled it back whole to end a deadlock (or a serialization
 * failure): nothing of it was written, so the same writes are simply made again. Two workers' commits should never
 * deadlock (marks lock rows in the order of their ids), but a run must not end on one if they ever do.
 */
async function retriedAfterDeadlock<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (attempt >= attempts || (code !== "40P01" && code !== "40001")) throw e;
    }
  }
}

/** The writer connections, opened when first needed, at most `max`; a caller waits for one to be free. */
class WriterPool {
  private readonly idle: Sql[] = [];
  private readonly clients: pg.Client[] = [];
  private readonly waiting: ((w: Sql) => void)[] = [];
  private opening = 0;

  constructor(
    private readonly url: string,
    private readonly max: number,
  ) {}

  get available(): boolean {
    return this.idle.length > 0 || this.clients.length + this.opening < this.max;
  }

  async acquire(): Promise<Sql> {
    const w = this.idle.pop();
    if (w) return w;
    if (this.clients.length + this.opening >= this.max) return new Promise((resolve) => this.waiting.push(resolve));
    this.opening++;
    try {
      const client = new pg.Client({ connectionString: libpqUrl(this.url), types: TYPES, application_name: "chuda writer" });
      client.on("error", () => undefined);
      await client.connect();
      this.clients.push(client);
      return (text, params) => client.query(text, params);
    } finally {
      this.opening--;
    }
  }

  release(w: Sql): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  async end(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.end().catch(() => undefined)));
  }
}

export class PostgresLedger implements Ledger {
  /** The ledger's history identity (table `meta`), the same as the SQLite ledger's after `chuda ledger copy`. */
  readonly id: string;
  /** In-flight marks, results and fallback inserts waiting for a writer. */
  private readonly queue = new GroupCommitQueue(() => this.commitQueued());
  private readonly writers: WriterPool;
  /** The group commits under way. */
  private readonly commits = new Set<Promise<void>>();
  private scope: string[] | null = null;
  /** The tail of the queue of calls: each call runs after the previous one settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** This process's name on the leases it takes. */
  readonly worker = randomUUID();
  private heartbeat: NodeJS.Timeout | undefined;
  /** This process's run, once started: other runs are other workers. */
  private runId: number | undefined;

  private constructor(
    private readonly client: pg.Client,
    id: string,
    readonly url: string,
  ) {
    this.id = id;
    this.writers = new WriterPool(url, WRITERS);
  }

  /** Connects, applies missing schema migrations, and gives the ledger an id on first use. */
  static async open(url: string): Promise<PostgresLedger> {
    const client = new pg.Client({ connectionString: libpqUrl(url), types: TYPES, application_name: "chuda" });
    try {
      await client.connect();
    } catch (e) {
      client.on("error", () => undefined);
      dropFailedLogin(client);
      throw new Error(maskSecretIn(`cannot connect to the ledger: ${(e as Error).message}`, url));
    }
    // A server restart or a dropped connection surfaces at the next call; without a listener it would crash the process.
    client.on("error", () => undefined);
    try {
      await migratePostgres(client);
      const idOf = async () => (await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'ledger_id'`)).rows[0]?.value;
      // Written once, by the first command on a new ledger (a login that only reads never needs to write it).
      let id = await idOf();
      if (id === undefined) {
        await client.query(`INSERT INTO meta (key, value) VALUES ('ledger_id', $1) ON CONFLICT (key) DO NOTHING`, [randomUUID()]);
        id = (await idOf())!;
      }
      return new PostgresLedger(client, id, url);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  }

  /** Runs `fn` once every earlier call has settled: one statement or transaction at a time on the connection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** A statement on the ledger's own connection. */
  private readonly q: Sql = (sql, params = []) => this.client.query(sql, params);

  /** Commits queued writes, then runs `fn` alone on the connection. */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    await this.flush();
    return this.exclusive(fn);
  }

  private transaction<T>(fn: () => Promise<T>): Promise<T> {
    return inTransaction(this.q, fn);
  }

  async startRun(at: number, now: number, members: number | null = null): Promise<number> {
    const r = await this.exclusive(() =>
      this.q<{ id: number }>(
        `INSERT INTO runs (started_at, at, pid, status, members, heartbeat_at) VALUES ($1, $2, $3, 'running', $4, ${DB_NOW}) RETURNING id`,
        [now, at, process.pid, members],
      ),
    );
    const id = r.rows[0]!.id;
    this.runId = id;
    // Other workers tell a live run from a killed one by this heartbeat (markDeadRunsInterrupted).
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!this.closed) void this.exclusive(() => this.q(`UPDATE runs SET heartbeat_at = ${DB_NOW} WHERE id = $1`, [id])).catch(() => undefined);
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    return id;
  }

  async recordRunMembers(id: number, members: number): Promise<void> {
    await this.exclusive(() => this.q(`UPDATE runs SET members = $1 WHERE id = $2`, [members, id]));
  }

  async lastSnapshotSize(): Promise<number | undefined> {
    const r = await this.exclusive(() => this.q<{ members: number }>(`SELECT members FROM runs WHERE members IS NOT NULL ORDER BY id DESC LIMIT 1`));
    return r.rows[0]?.members;
  }

  async committed(fromMs: number, toMs: number): Promise<Map<string, Set<string>>> {
    return this.read(async () => {
      const r = await this.q<{ campaign: string; occurrence: string; member: string | null }>(
        `SELECT o.campaign, o.occurrence, s.member FROM occurrences o
         LEFT JOIN LATERAL (SELECT DISTINCT member FROM sends WHERE key >= o.campaign || '|' || o.occurrence || '|' AND key < o.campaign || '|' || o.occurrence || '}'
           AND state <> 'held_out') s ON true
         WHERE o.send_at BETWEEN $1 AND $2`,
        [fromMs, toMs],
      );
      const out = new Map<string, Set<string>>();
      for (const row of r.rows) {
        const k = `${row.campaign}|${row.occurrence}`;
        let set = out.get(k);
        if (!set) out.set(k, (set = new Set()));
        if (row.member !== null) set.add(row.member);
      }
      return out;
    });
  }

  async committedContent(campaign: string, occurrence: string): Promise<{ channel: string; content: string | null }[]> {
    const [lo, hi] = occurrenceKeyRange(campaign, occurrence);
    return this.read(
      async () =>
        (
          await this.q<{ channel: string; content: string | null }>(
            `SELECT channel, content FROM sends WHERE key >= $1 AND key < $2 AND state IN ('planned','in_flight','sent','queued','unknown')`,
            [lo, hi],
          )
        ).rows,
    );
  }

  async pendingOccurrences(before: number): Promise<{ campaign: string; occurrence: string; send_at: number }[]> {
    return this.read(
      async () =>
        (
          await this.q<{ campaign: string; occurrence: string; send_at: number }>(
            `SELECT DISTINCT s.campaign, s.occurrence, o.send_at FROM sends s JOIN occurrences o ON o.campaign = s.campaign AND o.occurrence = s.occurrence
             WHERE s.active AND s.state = 'planned' AND o.send_at < $1 ORDER BY o.send_at`,
            [before],
          )
        ).rows,
    );
  }

  async withdraw(campaign: string, occurrence: string, keep: (member: string, channel: string) => boolean, now: number): Promise<number> {
    const [lo, hi] = occurrenceKeyRange(campaign, occurrence);
    return this.read(async () => {
      const pending = await this.q<{ id: number; member: string; channel: string }>(
        `SELECT id, member, channel FROM sends WHERE key >= $1 AND key < $2 AND state = 'planned'`,
        [lo, hi],
      );
      const ids = pending.rows.filter((r) => !keep(r.member, r.channel)).map((r) => r.id);
      if (ids.length)
        await this.q(
          `UPDATE sends SET state = 'withdrawn', error_code = 'not_eligible', error_message = 'no longer eligible when the occurrence was planned again', updated_at = $1
           WHERE id = ANY($2::bigint[]) AND state = 'planned'`,
          [now, ids],
        );
      return ids.length;
    });
  }

  async recordTestSend(t: TestSendRecord): Promise<void> {
    await this.exclusive(() =>
      this.q(
        `INSERT INTO test_sends (campaign, member, channel, address, state, provider_id, error_code, error_message, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [t.campaign, t.member, t.channel, t.address, t.state, t.provider_id ?? null, t.error_code ?? null, t.error_message ?? null, t.at],
      ),
    );
  }

  async finishRun(id: number, now: number, status: string, summary: unknown): Promise<void> {
    await this.read(() => this.q(`UPDATE runs SET finished_at = $1, status = $2, summary = $3 WHERE id = $4`, [now, status, JSON.stringify(summary), id]));
  }

  /** Runs still `running` whose heartbeat stopped (their process died) become `interrupted`; other workers' live runs stay. */
  async markDeadRunsInterrupted(current: number, now: number): Promise<number> {
    const r = await this.exclusive(() =>
      this.q(
        `UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, $1)
         WHERE status = 'running' AND id <> $2 AND COALESCE(heartbeat_at, 0) < ${DB_NOW} - $3`,
        [now, current, DEAD_AFTER_MS],
      ),
    );
    return r.rowCount ?? 0;
  }

  async plannedOccurrences(): Promise<Set<string>> {
    const r = await this.exclusive(() => this.q<{ campaign: string; occurrence: string }>(`SELECT campaign, occurrence FROM occurrences`));
    return new Set(r.rows.map((x) => `${x.campaign}|${x.occurrence}`));
  }

  async history(): Promise<HistorySend[]> {
    return this.read(
      async () =>
        (
          await this.q<HistorySend>(
            `SELECT member, campaign, channel, send_at AS at FROM sends WHERE state IN ('planned','in_flight','sent','queued','unknown','held_out') ORDER BY send_at, id`,
          )
        ).rows,
    );
  }

  /** Inserts sends whose keys are not recorded yet; returns the states of those that were new. */
  private async insertMany(sends: SendInsert[], sql: Sql = this.q): Promise<string[]> {
    // Chunk by chunk; the next chunk is built while the server inserts this one.
    const states: string[] = [];
    const chunk = (i: number) => (i < sends.length ? insertParams(sends.slice(i, i + INSERT_CHUNK)) : undefined);
    let params = chunk(0);
    for (let i = 0; params; i += INSERT_CHUNK) {
      const inserted = sql<{ state: string }>(INSERT_SQL, params);
      params = chunk(i + INSERT_CHUNK);
      for (const row of (await inserted).rows) states.push(row.state);
    }
    return states;
  }

  /**
   * Inserts the sends of occurrences planned for the first time (those of `sends` that `isNew` picks), in the
   * transaction under way: none of their keys can be recorded, so no conflict is looked for (a third of an insert's
   * cost). They are copied as `sends` yields them, so that a plan's rows are built while the server takes the ones
   * before, and none is kept. The others are pushed to `others`. Should one be recorded after all, the copy is undone
   * and `sends` read again, key by key. Returns how many were new, and how many of those held out.
   */
  private async insertNew(
    sends: Iterable<SendInsert>,
    isNew: (s: SendInsert) => boolean,
    others: SendInsert[],
  ): Promise<{ inserted: number; heldOut: number }> {
    let inserted = 0;
    let heldOut = 0;
    function* fresh(): Generator<SendInsert> {
      for (const s of sends)
        if (!isNew(s)) others.push(s);
        else {
          inserted++;
          if (s.state === "held_out") heldOut++;
          yield s;
        }
    }
    await this.q("SAVEPOINT new_sends");
    try {
      // Two pieces ahead of the server at most: the rest are built as it takes these.
      await pipeline(Readable.from(copyLines(fresh()), { highWaterMark: 2 }), this.client.query(copyFrom(COPY_NEW_SQL)));
    } catch (e) {
      if ((e as { code?: string }).code !== "23505") throw e;
      await this.q("ROLLBACK TO SAVEPOINT new_sends");
      others.length = 0;
      const states = await this.insertMany([...sends]);
      return { inserted: states.length, heldOut: states.filter((s) => s === "held_out").length };
    }
    await this.q("RELEASE SAVEPOINT new_sends");
    return { inserted, heldOut };
  }

  /** Applies results in two statements (by id, by key); of several results for one row, the last one counts. */
  private async applyMany(results: { r: SendResult; now: number }[], sql: Sql = this.q): Promise<void> {
    const byId = new Map<number, { r: SendResult; now: number }>();
    const byKey = new Map<string, { r: SendResult; now: number }>();
    for (const x of results) {
      if (x.r.id !== undefined) byId.set(x.r.id, x);
      else byKey.set(x.r.key, x);
    }
    if (byId.size) await sql(resultSql("id", 1), [arrayLiteral([...byId.keys()]), ...resultParams([...byId.values()])]);
    if (byKey.size) await sql(resultSql("key", 1), [arrayLiteral([...byKey.keys()]), ...resultParams([...byKey.values()])]);
  }

  async recordPlan(
    occurrences: { campaign: string; occurrence: string; sendAt: number; audience: number }[],
    sends: Iterable<SendInsert>,
    runId: number,
  ): Promise<{ heldOut: number }> {
    return this.read(() =>
      this.transaction(async () => {
        // The occurrences recorded now are new; the sends of the others (planned again) may be recorded already.
        const fresh = new Set<string>();
        if (occurrences.length)
          for (const r of (
            await this.q<{ c: string; o: string }>(
              `INSERT INTO occurrences (campaign, occurrence, send_at, run_id, audience)
               SELECT c, o, t, $5, a FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS x(c, o, t, a) ON CONFLICT DO NOTHING
               RETURNING campaign AS c, occurrence AS o`,
              [
                occurrences.map((o) => o.campaign),
                occurrences.map((o) => o.occurrence),
                occurrences.map((o) => o.sendAt),
                occurrences.map((o) => o.audience),
                runId,
              ],
            )
          ).rows)
            fresh.add(`${r.c}|${r.o}`);
        // Asked once per occurrence, not once per send.
        const known = new Map<string, Map<string, boolean>>();
        const isNew = (s: SendInsert) => {
          let byOcc = known.get(s.campaign);
          if (!byOcc) known.set(s.campaign, (byOcc = new Map()));
          let v = byOcc.get(s.occurrence);
          if (v === undefined) byOcc.set(s.occurrence, (v = fresh.has(`${s.campaign}|${s.occurrence}`)));
          return v;
        };
        // One pass over the sends: those of new occurrences are copied as they come, the others kept for after.
        const others: SendInsert[] = [];
        let copied = { inserted: 0, heldOut: 0 };
        if (fresh.size) copied = await this.insertNew(sends, isNew, others);
        else for (const s of sends) others.push(s);
        const states = await this.insertMany(others);
        return {
          heldOut: copied.heldOut + states.filter((s) => s === "held_out").length,
          inserted: copied.inserted + states.length,
        };
      }).then(async ({ heldOut, inserted }) => {
        await this.refreshStatistics(inserted);
        return { heldOut };
      }),
    );
  }

  /**
   * After a plan that grew the table by a fifth or more, PostgreSQL's statistics of sends are refreshed at once (a
   * small sample, a few tens of ms): planned without them, as on a new ledger, the reads of due sends sorted the whole
   * plan on every call instead of reading the first rows of the index (65 ms a call for 100,000 sends). Autovacuum
   * would refresh them too, a minute or so later. Skipped quietly by a login that does not own the table, or when
   * another session (a VACUUM) holds the table's statistics lock.
   */
  private async refreshStatistics(inserted: number): Promise<void> {
    if (inserted < 1_000) return;
    const r = await this.q<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'sends'::regclass`);
    const known = r.rows[0]?.n ?? -1;
    if (known >= 0 && inserted < known * 0.2) return;
    await inTransaction(this.q, async () => {
      await this.q(`SET LOCAL default_statistics_target = 10`);
      await this.q(`SET LOCAL lock_timeout = 200`);
      await this.q(`SET LOCAL client_min_messages = error`);
      await this.q(`ANALYZE sends`);
    }).catch(() => undefined);
  }

  async insertSends(sends: SendInsert[]): Promise<void> {
    await this.read(() => this.transaction(() => this.insertMany(sends)));
  }

  async due(channel: string, until: number, now: number, limit: number, after?: DuePosition): Promise<DueSend[]> {
    return this.read(async () => {
      const params: unknown[] = [channel, until, now, this.scope, limit, this.worker];
      let due = `active AND state = 'planned' AND channel = $1 AND send_at <= $2 AND (not_before IS NULL OR not_before <= $3) AND ${inScope(4)} AND ${this.free(6)}`;
      // Past the caller's last read: the index is entered there, not walked again over the sends read before (in
      // flight or finished, each a visit to the table) on every read of a large plan.
      if (after) due += ` AND (send_at, id) > ($${params.push(after.send_at)}::bigint, $${params.push(after.id)}::bigint)`;
      // The in-flight mark is the claim: it takes a send only if nobody attempted it since this read. With other
      // workers live, each first reads its own share of the due sends (ids whose remainder by the number of live runs
      // is this run's rank among them), so that workers do not read, and then race to mark, the same rows; a share
      // read costs no write (a lease per row cost each send one more row version). Once its share is done, a worker
      // helps with the others' (a worker killed mid-run leaves its share to them); the marks decide every send of it
      // exactly once, as they do while workers start or stop and the shares shift.
      const { n, k } = await this.share();
      if (n > 1) {
        // int8eq rather than `=`: PostgreSQL guesses a share of 1 in 200 for an equality on an expression, and with that
        // guess it read the whole table (a share is 1 in n); for a function it guesses 1 in 3.
        const mine = await this.dueRows(`${due} AND int8eq(id % $${params.length + 1}::bigint, $${params.length + 2}::bigint)`, [...params, n, k]);
        if (mine.length) return mine;
      }
      return this.dueRows(due, params);
    });
  }

  /** The due sends `where` picks (see `dueSql`), each with its message. */
  private async dueRows(where: string, params: unknown[]): Promise<DueSend[]> {
    const r = await this.client.query<DueRow>({ text: dueSql(where), values: params, rowMode: "array" });
    const out: DueSend[] = new Array(r.rows.length);
    let content: string | null = null;
    for (let i = 0; i < r.rows.length; i++) {
      const x = r.rows[i]!;
      if (!x[9]) content = x[8];
      out[i] = {
        id: x[0],
        key: x[1],
        campaign: x[2],
        occurrence: x[3],
        member: x[4],
        channel: x[5],
        address: x[6],
        sender: x[7],
        content,
        attempts: x[10],
        first_attempt_at: x[11],
        send_at: x[12],
      };
    }
    return out;
  }

  /** The live runs on this ledger (heartbeat recent), and this run's rank among them by id: its share of due sends. */
  private async share(): Promise<{ n: number; k: number }> {
    if (this.runId === undefined) return { n: 1, k: 0 };
    const r = await this.q<{ n: number; k: number }>(
      `SELECT COUNT(*)::int AS n, (COUNT(*) FILTER (WHERE id < $1))::int AS k FROM runs WHERE status = 'running' AND (id = $1 OR heartbeat_at >= ${DB_NOW} - $2)`,
      [this.runId, DEAD_AFTER_MS],
    );
    return r.rows[0] ?? { n: 1, k: 0 };
  }

  /** Whether a send matches `where` (which names `active`): the first match in the order of `sends_active`. */
  private async anyActive(where: string, params: unknown[]): Promise<boolean> {
    return (await this.q(`SELECT 1 FROM sends WHERE ${where} ${FIRST_ACTIVE}`, params)).rows.length > 0;
  }

  /** The row is not leased to another worker (`$n` is this worker's name). */
  private free(n: number): string {
    return `(lease_owner IS NULL OR lease_owner = $${n}::text OR lease_until < ${DB_NOW})`;
  }

  async hasDue(channel: string, until: number, now: number): Promise<boolean> {
    return this.read(() =>
      this.anyActive(
        `active AND state = 'planned' AND channel = $1 AND send_at <= $2 AND (not_before IS NULL OR not_before <= $3) AND ${inScope(4)} AND ${this.free(5)}`,
        [channel, until, now, this.scope, this.worker],
      ),
    );
  }

  async row(id: number): Promise<SendRow | undefined> {
    return this.read(async () => stripId((await this.q<SendRow & { id: number }>(`SELECT ${SEND_COLUMNS} FROM sends WHERE id = $1`, [id])).rows[0]));
  }

  async releaseForNextRun(): Promise<number> {
    return this.read(
      async () =>
        (await this.q(`UPDATE sends SET not_before = NULL WHERE active AND state = 'planned' AND not_before = updated_at + $1`, [NEXT_RUN_MS])).rowCount ?? 0,
    );
  }

  /** Pending sends, less those another live worker has leased to send (they are its to send, not left over). */
  async plannedCount(): Promise<number> {
    return this.read(async () => {
      const pending = `active AND state = 'planned' AND ${inScope(1)} AND ${this.free(2)}`;
      const params = [this.scope, this.worker];
      // Usually none is left at the end of a run: known from the index, without counting.
      if (!(await this.anyActive(pending, params))) return 0;
      return (await this.q<{ n: number }>(`SELECT COUNT(*) AS n FROM sends WHERE ${pending}`, params)).rows[0]!.n;
    });
  }

  async dueChannels(now: number): Promise<string[]> {
    return this.read(async () =>
      (
        await this.q<{ channel: string }>(
          // The channels of active sends, one index probe each (there are a few), and of those the ones with a send due.
          `WITH RECURSIVE ch AS (
             (SELECT channel FROM sends WHERE active ORDER BY channel LIMIT 1)
             UNION ALL
             SELECT (SELECT channel FROM sends WHERE active AND channel > ch.channel ORDER BY channel LIMIT 1) FROM ch WHERE ch.channel IS NOT NULL)
           SELECT ch.channel FROM ch CROSS JOIN LATERAL (
             SELECT 1 FROM sends WHERE active AND state = 'planned' AND channel = ch.channel AND send_at <= $1 AND ${inScope(2)} AND ${this.free(3)} ${FIRST_ACTIVE}) due
           WHERE ch.channel IS NOT NULL`,
          [now, this.scope, this.worker],
        )
      ).rows.map((r) => r.channel),
    );
  }

  async restrictTo(campaigns: string[]): Promise<void> {
    this.scope = [...campaigns];
  }

  async expire(rules: { campaign: string; afterMs: number }[], defaultMs: number, now: number): Promise<number> {
    return this.read(() =>
      this.transaction(async () => {
        let n = 0;
        for (const r of rules)
          n +=
            (
              await this.q(
                `UPDATE sends SET state = 'expired', error_code = 'expired', error_message = $1, updated_at = $2 WHERE active AND state = 'planned' AND campaign = $3 AND send_at <= $2::bigint - $4::bigint`,
                [expiredMessage(r.afterMs), now, r.campaign, r.afterMs],
              )
            ).rowCount ?? 0;
        n +=
          (
            await this.q(
              `UPDATE sends SET state = 'expired', error_code = 'expired', error_message = $1, updated_at = $2
               WHERE active AND state = 'planned' AND NOT (campaign = ANY($3::text[])) AND send_at <= $2::bigint - $4::bigint AND ${inScope(5)}`,
              [expiredMessage(defaultMs), now, rules.map((r) => r.campaign), defaultMs, this.scope],
            )
          ).rowCount ?? 0;
        return n;
      }),
    );
  }

  async postpone(ids: number[], notBefore: number): Promise<void> {
    if (!ids.length) return;
    await this.read(() => this.q(`UPDATE sends SET not_before = $1 WHERE id = ANY($2::bigint[]) AND state = 'planned'`, [notBefore, ids]));
  }

  async pendingDue(
    until: number,
  ): Promise<Pick<SendRow, "key" | "campaign" | "occurrence" | "member" | "channel" | "address" | "send_at" | "not_before" | "updated_at">[]> {
    return this.read(
      async () =>
        (
          await this.q(
            `SELECT key, campaign, occurrence, member, channel, address, send_at, not_before, updated_at FROM sends
             WHERE active AND state = 'planned' AND send_at <= $1 AND ${inScope(2)} ORDER BY send_at, id`,
            [until, this.scope],
          )
        ).rows as never,
    );
  }

  async nextNotBefore(until: number, channel?: string): Promise<number | undefined> {
    return this.read(async () => {
      const planned = `active AND state = 'planned' AND send_at <= $1 AND ${inScope(2)}${channel === undefined ? "" : " AND channel = $3"}`;
      const params = channel === undefined ? [until, this.scope] : [until, this.scope, channel];
      // Usually no send is planned any more: known from the index before the earliest postponed one is looked for.
      // (The probe leaves not_before out: a condition the statistics call rare would make the planner read the table.)
      if (!(await this.anyActive(planned, params))) return undefined;
      return (
        (await this.q<{ t: number | null }>(`SELECT MIN(not_before) AS t FROM sends WHERE ${planned} AND not_before IS NOT NULL`, params)).rows[0]?.t ??
        undefined
      );
    });
  }

  /**
   * Group commit, as in the SQLite ledger: resolves with the ids that were still planned once their in-flight mark
   * is durable. Between workers the mark is the claim: `state = 'planned'` is checked again under the row lock, so of
   * two workers marking one send exactly one gets it.
   */
  markInFlightQueued(ids: number[], runId: number, now: number, attempts?: number[]): Promise<Set<number>> {
    return this.queue.mark(ids, runId, now, attempts);
  }

  async queueFinish(results: SendResult[], now: number, inserts: SendInsert[] = []): Promise<void> {
    this.queue.finish(results, now, inserts);
  }

  /** Commits everything queued, and waits for the commits under way. */
  async flush(): Promise<void> {
    this.queue.throwIfFailed();
    if (this.queue.hasQueued) this.startCommit();
    await Promise.allSettled([...this.commits]);
    this.queue.throwIfFailed();
  }

  /** Woken by the queue: commits what is queued if a writer is free (otherwise the next free writer takes it). */
  private commitQueued(): void {
    if (this.queue.hasQueued && !this.queue.hasFailed && this.writers.available) this.startCommit();
  }

  /**
   * A group commit on a writer connection. It takes the queue once it has its writer, so that everything queued
   * while the writers were busy goes in one commit; when it is done, the writer takes what was queued meanwhile.
   */
  private startCommit(): void {
    const commit = (async () => {
      let writer: Sql;
      try {
        writer = await this.writers.acquire();
      } catch (e) {
        // No writer connection (the server refuses one): what is queued cannot be committed, and nothing after it.
        this.queue.fail(this.queue.take(), new Error(maskSecretIn(`cannot connect to the ledger: ${(e as Error).message}`, this.url)));
        return;
      }
      const group = this.queue.take();
      try {
        if (!group) return;
        let ok: Set<number>[];
        try {
          ok = await this.commitGroup(writer, group);
        } catch (e) {
          this.queue.fail(group, e);
          return;
        }
        this.queue.settle(group, ok);
      } finally {
        this.writers.release(writer);
        this.commitQueued();
      }
    })();
    this.commits.add(commit);
    void commit.catch(() => undefined).finally(() => this.commits.delete(commit));
  }

  /**
   * A group commit's writes as one statement: fallback inserts, results and in-flight marks are parts of it. They touch
   * different rows (a send is marked only once the results of its previous attempt are committed), so that the parts
   * cannot see each other's writes does not matter. The statement is its own transaction: one round trip and one
   * durable commit. Receipts that came before their send's result (stored pending) are matched by a transaction
   * after it, only when there are any. Results that open suppressions, results found by key, or more inserts than
   * one statement carries take a transaction of several statements.
   */
  private async commitGroup(sql: Sql, { inserts, results, marks }: CommitGroup): Promise<Set<number>[]> {
    const out = marks.map(() => new Set<number>());
    const marked: { id: number; mark: number; attempts: number | null }[] = [];
    marks.forEach((m, i) => m.ids.forEach((id, j) => marked.push({ id, mark: i, attempts: m.attempts?.[j] ?? null })));
    // In the order of their ids: workers marking the same sends (one helping another with its share) then take the
    // rows' locks in one order, and one waits for the other instead of both waiting for each other (a deadlock, which
    // PostgreSQL ends by failing one of the commits).
    marked.sort((a, b) => a.id - b.id);
    const ids = marked.map((x) => x.id);
    const markOf = marked.map((x) => x.mark);
    const attempts = marked.map((x) => x.attempts);
    // Arrays in PostgreSQL's syntax, built here at once rather than element by element by the driver.
    const markParams = [
      ...[ids, markOf, markOf.map((i) => marks[i]!.runId), markOf.map((i) => marks[i]!.now), attempts].map(arrayLiteral),
      this.worker,
      LEASE_MS,
    ];
    const collect = (rows: { id: number | null; mark: number | null }[]) => {
      for (const r of rows) if (r.id !== null) out[r.mark!]!.add(r.id);
      return out;
    };
    const now = results[0]?.now ?? 0;
    const sends = results.map((x) => x.r);
    if (inserts.length > INSERT_CHUNK || sends.some((r) => r.id === undefined) || optOutFailures(sends).length)
      return retriedAfterDeadlock(() =>
        inTransaction(sql, async () => {
          await this.insertMany(inserts, sql);
          await this.applyMany(results, sql);
          if (results.length) await this.afterResults(sends, now, sql);
          return collect(ids.length ? (await sql<{ id: number; mark: number }>(markSql(1), markParams)).rows : []);
        }),
      );
    const params: unknown[] = [];
    const parts: string[] = [];
    if (inserts.length) {
      parts.push(`inserted AS (${insertSql(params.length + 1)})`);
      params.push(...insertParams(inserts));
    }
    if (results.length) {
      // Of several results for one row, the last one counts.
      const byId = new Map(results.map((x) => [x.r.id!, x]));
      parts.push(`applied AS (${resultSql("id", params.length + 1)})`);
      params.push(arrayLiteral([...byId.keys()]), ...resultParams([...byId.values()]));
    }
    if (ids.length) {
      parts.push(`marked AS (${markSql(params.length + 1)})`);
      params.push(...markParams);
    }
    if (!parts.length) return out;
    const selects = [ids.length ? "SELECT id, mark FROM marked" : "SELECT NULL::bigint AS id, NULL::int AS mark WHERE false"];
    // A row without an id says receipts of these results' message ids are waiting for their send.
    const accepted = providerIds(sends);
    if (accepted.length) {
      params.push(accepted);
      selects.push(
        `SELECT NULL::bigint, NULL::int WHERE EXISTS (SELECT 1 FROM receipts WHERE send_key IS NULL AND provider_id = ANY($${params.length}::text[]))`,
      );
    }
    const statement = `WITH ${parts.join(",\n")}\n${selects.join("\nUNION ALL ")}`;
    const rows = (await retriedAfterDeadlock(() => sql<{ id: number | null; mark: number | null }>(statement, params))).rows;
    if (rows.some((r) => r.id === null)) await inTransaction(sql, () => this.matchPending(sql, accepted));
    return collect(rows);
  }

  async finish(results: SendResult[], now: number, inserts: SendInsert[] = []): Promise<void> {
    await this.read(() =>
      this.transaction(async () => {
        if (inserts.length) await this.insertMany(inserts);
        // In order, one by one: as in SQLite, a later result for a row overrides an earlier one.
        if (results.length) await this.applyMany(results.map((r) => ({ r, now })));
        if (results.length) await this.afterResults(results, now);
      }),
    );
  }

  /**
   * Sends in flight that no live worker holds: their lease expired (the worker was killed, or lost the database) or
   * they have none (copied from SQLite), and the run that marked them has no heartbeat any more. A live worker's sends
   * in flight are its own to finish, never reconciled, however long they take: a batch paced by a low rate limit can
   * outlast the lease, and reconciling it then would send again (a webhook) what is still being sent.
   */
  async inFlight(): Promise<SendRow[]> {
    return this.read(async () =>
      (
        await this.q<SendRow & { id: number }>(
          `SELECT ${SEND_COLUMNS} FROM sends s WHERE active AND state = 'in_flight' AND (lease_owner = $1 OR (
             (lease_until IS NULL OR lease_until < ${DB_NOW})
             AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = s.run_id AND r.status = 'running' AND r.heartbeat_at >= ${DB_NOW} - $2)))
           ORDER BY channel, key`,
          [this.worker, DEAD_AFTER_MS],
        )
      ).rows.map((r) => stripId(r)!),
    );
  }

  /**
   * Holds the planning lock until the returned release is called: of several workers starting together, one plans
   * each occurrence while the others wait, then find it planned (a session lock on this connection; a killed
   * worker's lock goes with its connection).
   */
  async lockPlanning(): Promise<() => Promise<void>> {
    await this.flush();
    // Polled rather than waited for: the connection stays free for this worker's heartbeat meanwhile.
    while (!(await this.exclusive(() => this.q<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1) AS ok`, [PLAN_LOCK]))).rows[0]!.ok)
      await new Promise((resolve) => setTimeout(resolve, PLAN_LOCK_POLL_MS));
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.exclusive(() => this.q(`SELECT pg_advisory_unlock($1)`, [PLAN_LOCK]));
    };
  }

  /**
   * Runs `fn` holding the lock of one access token (`key`): of several workers needing a token at once, one fetches it
   * (and stores it with putToken) while the others wait, then read the stored one. On a connection of its own, so
   * that `fn` may read and write the ledger meanwhile.
   */
  async withTokenLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: libpqUrl(this.url), types: TYPES, application_name: "chuda token" });
    client.on("error", () => undefined);
    await client.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`chuda token ${key}`]);
      return await fn();
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Books the next `count` call slots of a shared rate budget (a channel's `rate_limit` across every worker): the
   * moments, on the database's clock, at which this worker's next calls may leave. The same sliding window as one
   * process's gate, kept in the database: with n the rate and W the window, a slot is at least W after the slot booked
   * n places before it (by any worker) and W / n after the previous one, so no W ms hold more than n calls whichever
   * worker makes them. `now` is the database's clock when booked, for the caller to translate the slots to its own.
   */
  async bookRate(bucket: string, n: number, windowMs: number, count: number): Promise<{ now: number; slots: number[] }> {
    const interval = windowMs / n;
    return this.exclusive(() =>
      this.transaction(async () => {
        await this.q(`INSERT INTO rate_buckets (bucket, times, head, slot) VALUES ($1, '{}', 0, 0) ON CONFLICT (bucket) DO NOTHING`, [bucket]);
        const r = await this.q<{ times: string[]; head: number; slot: number; now: number }>(
          `SELECT times, head, slot, ${DB_NOW} AS now FROM rate_buckets WHERE bucket = $1 FOR UPDATE`,
          [bucket],
        );
        const row = r.rows[0]!;
        const now = row.now;
        // A ring of the last n booked moments; a rate changed since (another n) starts a new ring.
        let times = row.times.map(Number);
        let head = row.head;
        if (times.length !== n) {
          times = new Array<number>(n).fill(-Infinity);
          head = 0;
        }
        let slot = Number(row.slot);
        const slots: number[] = [];
        for (let i = 0; i < count; i++) {
          let at = Math.max(slot + interval, times[head]! + windowMs);
          // An idle budget grants from now, banking no unused slots.
          if (at < now) at = now;
          slot = at;
          times[head] = at;
          head = (head + 1) % n;
          slots.push(at);
        }
        await this.q(`UPDATE rate_buckets SET times = $2::bigint[], head = $3, slot = $4 WHERE bucket = $1`, [
          bucket,
          times.map((t) => (Number.isFinite(t) ? Math.ceil(t) : -1e15)),
          head,
          Math.ceil(slot),
        ]);
        return { now, slots };
      }),
    );
  }

  async queued(): Promise<SendRow[]> {
    return this.read(async () =>
      (
        await this.q<SendRow & { id: number }>(
          `SELECT ${SEND_COLUMNS} FROM sends WHERE state = 'queued' AND ${inScope(1)} ORDER BY channel, provider_id, key`,
          [this.scope],
        )
      ).rows.map((r) => stripId(r)!),
    );
  }

  async staffConfirmation(): Promise<StaffConfirmation[]> {
    return this.read(
      async () =>
        (
          await this.q<StaffConfirmation>(
            `SELECT campaign, channel, sender AS staff, COUNT(DISTINCT provider_id) AS tasks,
               COUNT(DISTINCT CASE WHEN state = 'sent' OR error_code IN ('status_2', 'status_3') THEN provider_id END) AS confirmed,
               COUNT(*) AS sends, SUM((state = 'sent')::int) AS sent, SUM((state = 'queued')::int) AS waiting, SUM((state = 'expired')::int) AS expired
             FROM sends WHERE sender IS NOT NULL AND provider_id IS NOT NULL GROUP BY campaign, channel, sender ORDER BY campaign, channel, sender`,
          )
        ).rows,
    );
  }

  async get(key: string): Promise<SendRow | undefined> {
    return this.read(async () => stripId((await this.q<SendRow & { id: number }>(`SELECT ${SEND_COLUMNS} FROM sends WHERE key = $1`, [key])).rows[0]));
  }

  async counts(): Promise<{ campaign: string; channel: string; state: SendState; n: number }[]> {
    return this.read(
      async () =>
        (
          await this.q<{ campaign: string; channel: string; state: SendState; n: number }>(
            `SELECT campaign, channel, state, COUNT(*) AS n FROM sends GROUP BY campaign, channel, state
             ORDER BY campaign COLLATE "C", channel COLLATE "C", state COLLATE "C"`,
          )
        ).rows,
    );
  }

  async runs(limit = 20): Promise<RunRow[]> {
    const rows = await this.exclusive(
      async () =>
        (
          await this.q<RunRow & { silent: boolean; heartbeat_at: number | null }>(
            `SELECT id, started_at, finished_at, at, status, summary, heartbeat_at,
                    status = 'running' AND COALESCE(heartbeat_at, 0) < ${DB_NOW} - $2 AS silent
               FROM runs ORDER BY id DESC LIMIT $1`,
            [limit, SILENT_AFTER_MS],
          )
        ).rows,
    );
    return rows.map(({ silent, heartbeat_at, ...r }) => (silent ? { ...r, stale: true, last_seen: heartbeat_at } : r));
  }

  async inFlightElsewhere(runId: number): Promise<InFlightElsewhere> {
    return this.read(async () => {
      // Usually no send is active any more at the end of a run: known from the index before sends in flight are counted.
      if (!(await this.anyActive("active", []))) return { live: 0, silent: 0 };
      const r = await this.q<{ live: number; silent: number }>(
        `SELECT COUNT(*) FILTER (WHERE live)::int AS live, COUNT(*) FILTER (WHERE NOT live)::int AS silent FROM (
           SELECT EXISTS (SELECT 1 FROM runs r WHERE r.id = s.run_id AND r.status = 'running' AND r.heartbeat_at >= ${DB_NOW} - $2) AS live
             FROM sends s WHERE s.active AND s.state = 'in_flight' AND s.run_id IS DISTINCT FROM $1) x`,
        [runId, SILENT_AFTER_MS],
      );
      return { live: r.rows[0]!.live, silent: r.rows[0]!.silent };
    });
  }

  async unknownSends(limit = 50): Promise<SendRow[]> {
    return this.read(async () =>
      (
        await this.q<SendRow & { id: number }>(`SELECT ${SEND_COLUMNS} FROM sends WHERE state = 'unknown' ORDER BY send_at, key LIMIT $1`, [
          Math.min(limit, Number.MAX_SAFE_INTEGER),
        ])
      ).rows.map((r) => stripId(r)!),
    );
  }

  async failuresByCode(): Promise<{ channel: string; error_code: string; n: number }[]> {
    return this.read(
      async () =>
        (
          await this.q(
            `SELECT channel, error_code, COUNT(*) AS n FROM sends WHERE state = 'failed' GROUP BY channel, error_code ORDER BY n DESC, channel, error_code`,
          )
        ).rows as never,
    );
  }

  /** The sends that matter for outcomes (`chuda report`): every assigned or held-out member. */
  async outcomeRows(): Promise<LedgerOutcomeRow[]> {
    return this.read(
      async () =>
        (
          await this.q<LedgerOutcomeRow>(
            // As the SQLite ledger reads them (src/outcomes/attribution.ts): delivered from a final receipt, opened from
            // clicks when the send's links are tracked.
            `SELECT campaign, occurrence, member, channel, state, send_at, content,
               CASE WHEN delivered_at IS NOT NULL THEN 1 WHEN delivery_at IS NOT NULL THEN 0 END AS delivered,
               CASE WHEN EXISTS (SELECT 1 FROM links l WHERE l.send_key = sends.key)
                 THEN (CASE WHEN EXISTS (SELECT 1 FROM clicks k WHERE k.send_key = sends.key) THEN 1 ELSE 0 END) END AS opened,
               CASE WHEN EXISTS (SELECT 1 FROM links l WHERE l.send_key = sends.key) THEN 1 END AS tracked
             FROM sends WHERE state = ANY($1::text[]) ORDER BY campaign COLLATE "C", occurrence COLLATE "C", member COLLATE "C", channel COLLATE "C"`,
            [[...ASSIGNED_STATES, "held_out"]],
          )
        ).rows,
    );
  }

  async getToken(key: string, now: number): Promise<string | undefined> {
    const r = await this.exclusive(() => this.q<{ token: string; expires_at: number }>(`SELECT token, expires_at FROM tokens WHERE key = $1`, [key]));
    const row = r.rows[0];
    return row && row.expires_at > now ? row.token : undefined;
  }

  async putToken(key: string, token: string, expiresAt: number): Promise<void> {
    await this.exclusive(() =>
      this.q(
        `INSERT INTO tokens (key, token, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at`,
        [key, token, expiresAt],
      ),
    );
  }

  /**
   * The token-fetch lease of the access-token cache: one conditional upsert, so exactly one worker holds it until it
   * expires or its holder takes it again (the same statement as SQLite's).
   */
  async leaseToken(key: string, holder: string, now: number, until: number): Promise<boolean> {
    const r = await this.exclusive(() =>
      this.q(
        `INSERT INTO tokens (key, token, expires_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
         WHERE tokens.expires_at <= $4 OR tokens.token = excluded.token`,
        [`lease|${key}`, holder, until, now],
      ),
    );
    return r.rowCount === 1 && until > now;
  }

  // Delivery receipts and opt-outs (src/dispatch/delivery.ts): the receipt matching runs in the database
  // (migration 3's functions), one round trip per batch of receipts.

  /** Records receipts in the transaction under way (`chuda_record_receipts`). */
  private async writeReceipts(receipts: ReceiptInput[], now: number): Promise<ReceiptOutcome[]> {
    if (!receipts.length) return [];
    const r = await this.q<{ outcome: ReceiptOutcome; send_key: string | null }>(
      `SELECT outcome, send_key FROM chuda_record_receipts($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8)`,
      [
        receipts.map((x) => x.channel),
        receipts.map((x) => x.providerId),
        receipts.map((x) => x.address ?? null),
        receipts.map((x) => x.state),
        receipts.map((x) => x.code ?? null),
        receipts.map((x) => x.at),
        receipts.map((x) => x.source),
        now,
      ],
    );
    await this.suppressRefused(
      r.rows.flatMap((row, i) =>
        row.outcome === "applied" ? [{ key: row.send_key!, state: receipts[i]!.state, error_code: receipts[i]!.code, at: receipts[i]!.at }] : [],
      ),
    );
    return r.rows.map((row) => row.outcome);
  }

  /** Applies receipts stored before their send's result (in the transaction under way); how many matched now. */
  /** Applies pending receipts that now find their send: those of the message ids `ids`, or every one. */
  private async matchPending(sql: Sql = this.q, ids?: string[]): Promise<number> {
    if (ids && !ids.length) return 0;
    const r = await sql<{ send_key: string; state: string; code: string | null; reported_at: number }>(`SELECT * FROM chuda_match_pending_receipts($1)`, [
      ids ?? null,
    ]);
    await this.suppressRefused(
      r.rows.map((x) => ({ key: x.send_key, state: x.state, error_code: x.code, at: x.reported_at })),
      sql,
    );
    return r.rows.length;
  }

  /**
   * Suppresses the members whose send failed, or whose receipt reported a failure, with an opt-out code (as the SQLite
   * ledger does: src/dispatch/delivery.ts), in the transaction under way.
   */
  private async suppressRefused(
    results: { id?: number; key: string; state: string; error_code?: string | null; at: number }[],
    sql: Sql = this.q,
  ): Promise<void> {
    for (const r of optOutFailures(results)) {
      const row = (
        await sql<{ member: string; channel: string; address: string | null }>(
          r.id !== undefined ? `SELECT member, channel, address FROM sends WHERE id = $1` : `SELECT member, channel, address FROM sends WHERE key = $1`,
          [r.id ?? r.key],
        )
      ).rows[0];
      if (row) await this.writeSuppressions([sendErrorSuppression(row, r.error_code, r.at)], sql);
    }
  }

  /** Adds suppressions in the transaction under way; how many were new (an entry whose `dedupe` is known is not). */
  private async writeSuppressions(entries: SuppressionInput[], sql: Sql = this.q): Promise<number> {
    if (!entries.length) return 0;
    const r = await sql(
      `INSERT INTO suppressions (member, channel, address, via, source, reason, actor, at, dedupe)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[])
       ON CONFLICT DO NOTHING`,
      [
        entries.map((e) => e.member ?? null),
        entries.map((e) => e.channel),
        entries.map((e) => (e.address ? normalizeAddress(e.address) : null)),
        entries.map((e) => e.via ?? null),
        entries.map((e) => e.source),
        entries.map((e) => e.reason),
        entries.map((e) => e.actor),
        entries.map((e) => e.at),
        entries.map((e) => e.dedupe ?? null),
      ],
    );
    return r.rowCount ?? 0;
  }

  /**
   * What committing results adds, in their transaction (as the SQLite ledger does): receipts that came before the
   * results are applied, and members refused with an opt-out error are suppressed.
   */
  private async afterResults(results: SendResult[], now: number, sql: Sql = this.q): Promise<void> {
    await this.matchPending(sql, providerIds(results));
    await this.suppressRefused(
      results.map((r) => ({ ...r, at: now })),
      sql,
    );
  }

  async recordReceipts(receipts: ReceiptInput[], now: number): Promise<ReceiptOutcome[]> {
    return this.read(() => this.transaction(() => this.writeReceipts(receipts, now)));
  }

  async matchPendingReceipts(): Promise<number> {
    return this.read(() => this.transaction(() => this.matchPending()));
  }

  /** The group commit of `chuda serve`: one durable transaction, a savepoint per request. */
  async commitDelivery(batch: { writes: DeliveryWrites; now: number }[]): Promise<Settled<DeliveryCommitResult>[]> {
    return this.read(() =>
      this.transaction(async () => {
        const out: Settled<DeliveryCommitResult>[] = [];
        for (const { writes, now } of batch) {
          await this.q("SAVEPOINT request");
          try {
            const outcomes = await this.writeReceipts(writes.receipts, now);
            const suppressed = await this.writeSuppressions(writes.suppressions);
            let lifted = 0;
            for (const l of writes.lifts)
              lifted +=
                (
                  await this.q(
                    `UPDATE suppressions SET removed_at = $1, removed_by = 'serve', removed_reason = $2
                     WHERE removed_at IS NULL AND channel = $3 AND address = $4 AND source = ANY($5::text[])`,
                    [now, l.reason, l.channel, normalizeAddress(l.address), l.sources],
                  )
                ).rowCount ?? 0;
            await this.q("RELEASE SAVEPOINT request");
            out.push({ ok: true, value: { outcomes, suppressed, lifted } });
          } catch (error) {
            await this.q("ROLLBACK TO SAVEPOINT request");
            out.push({ ok: false, error });
          }
        }
        return out;
      }),
    );
  }

  async suppress(entries: SuppressionInput[]): Promise<number> {
    return this.read(() => this.transaction(() => this.writeSuppressions(entries)));
  }

  async unsuppress(who: string, channel: string | undefined, actor: string, reason: string, at: number): Promise<number> {
    const r = await this.read(() =>
      this.q(
        `UPDATE suppressions SET removed_at = $1, removed_by = $2, removed_reason = $3
         WHERE removed_at IS NULL AND (member = $4 OR address = $5) AND ($6::text IS NULL OR channel = $6::text)`,
        [at, actor, reason, who, normalizeAddress(who), channel ?? null],
      ),
    );
    return r.rowCount ?? 0;
  }

  async suppressions(opts: { all?: boolean } = {}): Promise<SuppressionRow[]> {
    return this.read(
      async () =>
        (
          await this.q<SuppressionRow>(
            // Every column, as the SQLite ledger reads them.
            `SELECT * FROM suppressions ${opts.all ? "" : "WHERE removed_at IS NULL"} ORDER BY at, id`,
          )
        ).rows,
    );
  }

  async delivery(): Promise<DeliveryCounts> {
    return this.read(
      async () =>
        (
          await this.q<DeliveryCounts>(
            `SELECT COUNT(delivered_at) AS delivered, COUNT(delivery_code) AS failed, COUNT(*) FILTER (WHERE state = 'sent' AND delivery_at IS NULL) AS unconfirmed
             FROM sends`,
          )
        ).rows[0]!,
    );
  }

  async observedDelivery(since: number): Promise<Map<string, { rate: number; sample: number }>> {
    const rows = await this.read(
      async () =>
        (
          await this.q<{ channel: string; delivered: number; confirmed: number }>(
            `SELECT channel, COUNT(delivered_at) AS delivered, COUNT(*) AS confirmed FROM sends WHERE send_at >= $1 AND delivery_at IS NOT NULL GROUP BY channel`,
            [since],
          )
        ).rows,
    );
    return new Map(rows.map((r) => [r.channel, { rate: r.confirmed ? r.delivered / r.confirmed : 0, sample: r.confirmed }]));
  }

  async unconfirmedSends(channel: string, since: number): Promise<UnconfirmedSend[]> {
    return this.read(
      async () =>
        (
          await this.q<UnconfirmedSend>(
            `SELECT key, address, provider_id, sender, send_at, first_attempt_at FROM sends
             WHERE channel = $1 AND state IN (${ASKED_STATES}) AND delivery_at IS NULL AND provider_id IS NOT NULL AND send_at >= $2 ORDER BY id`,
            [channel, since],
          )
        ).rows,
    );
  }

  async ping(): Promise<void> {
    await this.exclusive(() => this.q(`SELECT 1`));
  }

  // Business events (`POST /events`) and tracked links (`{{track}}`, `GET /r/<id>`), as in the SQLite ledger.

  async insertEvents(events: Omit<StoredEvent, "id">[], receivedAt: number): Promise<{ inserted: number; duplicates: number }> {
    if (!events.length) return { inserted: 0, duplicates: 0 };
    const r = await this.read(() =>
      this.q(
        `INSERT INTO events (ident, member, name, time, props, received_at)
         SELECT *, $6::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[]) ON CONFLICT (ident) DO NOTHING`,
        [
          events.map((e) => e.ident),
          events.map((e) => e.member),
          events.map((e) => e.name),
          events.map((e) => e.time),
          events.map((e) => JSON.stringify(e.props)),
          receivedAt,
        ],
      ),
    );
    const inserted = r.rowCount ?? 0;
    return { inserted, duplicates: events.length - inserted };
  }

  async eventsAfter(afterId: number, fromTime: number, limit = 10_000): Promise<StoredEvent[]> {
    const r = await this.exclusive(() =>
      this.q<Omit<StoredEvent, "props"> & { props: string }>(
        `SELECT id, ident, member, name, time, props FROM events WHERE id > $1 AND time >= $2 ORDER BY id LIMIT $3`,
        [afterId, fromTime, limit],
      ),
    );
    return r.rows.map((e) => ({ ...e, props: JSON.parse(e.props) as Record<string, unknown> }));
  }

  async eventCount(): Promise<number> {
    return (await this.exclusive(() => this.q<{ n: number }>(`SELECT COUNT(*) AS n FROM events`))).rows[0]!.n;
  }

  async linkSecret(): Promise<string> {
    return this.exclusive(async () => {
      await this.q(`INSERT INTO meta (key, value) VALUES ('link_secret', $1) ON CONFLICT (key) DO NOTHING`, [randomUUID() + randomUUID()]);
      return (await this.q<{ value: string }>(`SELECT value FROM meta WHERE key = 'link_secret'`)).rows[0]!.value;
    });
  }

  async insertLinks(links: { id: string; sendKey: string; link: number; url: string }[]): Promise<void> {
    if (!links.length) return;
    await this.read(() =>
      this.q(`INSERT INTO links (id, send_key, link, url) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) ON CONFLICT (id) DO NOTHING`, [
        links.map((l) => l.id),
        links.map((l) => l.sendKey),
        links.map((l) => l.link),
        links.map((l) => l.url),
      ]),
    );
  }

  async link(id: string): Promise<{ send_key: string; link: number; url: string } | undefined> {
    const r = await this.exclusive(() => this.q<{ send_key: string; link: number; url: string }>(`SELECT send_key, link, url FROM links WHERE id = $1`, [id]));
    return r.rows[0];
  }

  async recordClick(sendKey: string, link: number, at: number): Promise<void> {
    await this.exclusive(() => this.q(`INSERT INTO clicks (send_key, link, at) VALUES ($1, $2, $3)`, [sendKey, link, at]));
  }

  /** The SQLite ledger checks that its file is still the one it opened; a database has no such file. */
  async checkFile(): Promise<void> {
    this.queue.throwIfFailed();
  }

  /** Commits what is queued, then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    try {
      if (!this.queue.hasFailed) await this.flush();
    } finally {
      await Promise.allSettled([...this.commits]);
      await this.tail;
      await this.writers.end();
      await this.client.end().catch(() => undefined);
    }
  }
}

/** The row as the SQLite ledger returns it (`SELECT *`: no rowid). */
function stripId(r: (SendRow & { id?: number }) | undefined): SendRow | undefined {
  if (!r) return undefined;
  const { id: _id, ...rest } = r;
  return rest;
}

function occurrenceKeyRange(campaign: string, occurrence: string): [string, string] {
  return [`${campaign}|${occurrence}|`, `${campaign}|${occurrence}}`];
}
