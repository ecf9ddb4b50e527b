/**
 * `chuda ledger copy`: an existing SQLite ledger into an empty PostgreSQL one, with its whole history (runs, occurrences,
 * sends with their delivery results, test sends, tokens, delivery receipts, suppressions, business events, tracked links
 * and their clicks, and the ledger's id and link secret), so caps, quotas, repeat rules and reports keep counting, and the
 * repository's `.chuda/ledger-id` marker still matches. One transaction: an interrupted copy leaves the target empty.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { migratePostgres, SEND_COLUMN_TYPES } from "./migrations/postgres.js";

export interface CopyCounts {
  runs: number;
  occurrences: number;
  sends: number;
  test_sends: number;
  tokens: number;
  receipts: number;
  suppressions: number;
  events: number;
  links: number;
  clicks: number;
}

/** Rows per INSERT: parameters are one array per column. */
const BATCH = 10_000;

/** What a target already holds: a copy goes only into a ledger without history. */
export async function targetHistory(client: pg.ClientBase): Promise<{ runs: number; sends: number }> {
  const r = await client.query<{ runs: string; sends: string }>(`SELECT (SELECT COUNT(*) FROM runs) AS runs, (SELECT COUNT(*) FROM sends) AS sends`);
  return { runs: Number(r.rows[0]!.runs), sends: Number(r.rows[0]!.sends) };
}

interface Table {
  name: keyof CopyCounts;
  /** Column → PostgreSQL array type; the SQLite source's `rowid`-like id comes first where the table has one. */
  columns: [string, string][];
  /** The sequence to move past the copied ids. */
  serial?: string;
  /** The SQLite expression of each column (default: the column). */
  source?: Record<string, string>;
}

const TABLES: Table[] = [
  {
    name: "runs",
    columns: [
      ["id", "bigint"],
      ["started_at", "bigint"],
      ["finished_at", "bigint"],
      ["at", "bigint"],
      ["pid", "integer"],
      ["status", "text"],
      ["summary", "text"],
      ["members", "bigint"],
    ],
    serial: "id",
  },
  {
    name: "occurrences",
    columns: [
      ["campaign", "text"],
      ["occurrence", "text"],
      ["send_at", "bigint"],
      ["run_id", "bigint"],
      ["audience", "bigint"],
    ],
  },
  {
    name: "sends",
    columns: SEND_COLUMN_TYPES,
    serial: "id",
    source: { id: "rowid" },
  },
  {
    name: "test_sends",
    columns: [
      ["id", "bigint"],
      ["campaign", "text"],
      ["member", "text"],
      ["channel", "text"],
      ["address", "text"],
      ["state", "text"],
      ["provider_id", "text"],
      ["error_code", "text"],
      ["error_message", "text"],
      ["at", "bigint"],
    ],
    serial: "id",
  },
  {
    name: "tokens",
    columns: [
      ["key", "text"],
      ["token", "text"],
      ["expires_at", "bigint"],
    ],
  },
  {
    name: "receipts",
    columns: [
      ["id", "bigint"],
      ["channel", "text"],
      ["provider_id", "text"],
      ["address", "text"],
      ["state", "text"],
      ["code", "text"],
      ["reported_at", "bigint"],
      ["received_at", "bigint"],
      ["source", "text"],
      ["send_key", "text"],
      ["dedupe", "text"],
    ],
    serial: "id",
  },
  {
    name: "suppressions",
    columns: [
      ["id", "bigint"],
      ["member", "text"],
      ["channel", "text"],
      ["address", "text"],
      ["via", "text"],
      ["source", "text"],
      ["reason", "text"],
      ["actor", "text"],
      ["at", "bigint"],
      ["removed_at", "bigint"],
      ["removed_by", "text"],
      ["removed_reason", "text"],
      ["dedupe", "text"],
    ],
    serial: "id",
  },
  {
    name: "events",
    columns: [
      ["id", "bigint"],
      ["ident", "text"],
      ["member", "text"],
      ["name", "text"],
      ["time", "bigint"],
      ["props", "text"],
      ["received_at", "bigint"],
    ],
    serial: "id",
  },
  {
    name: "links",
    columns: [
      ["id", "text"],
      ["send_key", "text"],
      ["link", "integer"],
      ["url", "text"],
    ],
  },
  {
    name: "clicks",
    columns: [
      ["id", "bigint"],
      ["send_key", "text"],
      ["link", "integer"],
      ["at", "bigint"],
    ],
    serial: "id",
  },
];

/** The tables a copy writes (all locked for it). */
const TABLE_NAMES = ["runs", "sends", "occurrences", "test_sends", "tokens", "meta", "receipts", "suppressions", "events", "links", "clicks"];

/** Whether `file` is a chuda SQLite ledger (it has the sends and meta tables). */
export function isSqliteLedger(file: string): boolean {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const n = db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('sends', 'meta')`).pluck().get() as number;
      return n === 2;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/**
 * Copies the SQLite ledger `from` into the migrated, empty PostgreSQL ledger behind `client`. The caller checked the
 * target is empty (`targetHistory`); this checks again inside the transaction, under a lock on the tables.
 */
export async function copySqliteToPostgres(from: string, client: pg.ClientBase): Promise<CopyCounts & { ledgerId: string }> {
  await migratePostgres(client);
  const src = new Database(from, { readonly: true, fileMustExist: true });
  const counts: CopyCounts = { runs: 0, occurrences: 0, sends: 0, test_sends: 0, tokens: 0, receipts: 0, suppressions: 0, events: 0, links: 0, clicks: 0 };
  try {
    await client.query("BEGIN");
    await client.query(`LOCK TABLE ${TABLE_NAMES.join(", ")} IN EXCLUSIVE MODE`);
    const held = await targetHistory(client);
    if (held.runs || held.sends) throw new TargetNotEmptyError(held.runs, held.sends);
    for (const t of TABLES) {
      const present = new Set((src.prepare(`PRAGMA table_info(${t.name})`).all() as { name: string }[]).map((c) => c.name));
      // A ledger from before receipts, events or tracked links has none of those tables: nothing to copy.
      if (!present.size) continue;
      const select = t.columns.map(([c]) => t.source?.[c] ?? (present.has(c) ? c : "NULL")).join(", ");
      const rows = src.prepare(`SELECT ${select} FROM ${t.name}`).raw(true).iterate() as IterableIterator<unknown[]>;
      const insert = `INSERT INTO ${t.name} (${t.columns.map(([c]) => c).join(", ")}) SELECT * FROM unnest(${t.columns
        .map(([, type], i) => `$${i + 1}::${type}[]`)
        .join(", ")}) ON CONFLICT DO NOTHING`;
      let batch: unknown[][] = t.columns.map(() => []);
      let n = 0;
      const write = async () => {
        if (!n) return;
        await client.query(insert, batch);
        counts[t.name] += n;
        batch = t.columns.map(() => []);
        n = 0;
      };
      for (const row of rows) {
        for (let i = 0; i < row.length; i++) batch[i]!.push(typeof row[i] === "bigint" ? Number(row[i]) : row[i]);
        if (++n === BATCH) await write();
      }
      await write();
      if (t.serial)
        await client.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), GREATEST((SELECT MAX(${t.serial}) FROM ${t.name}), 1))`);
    }
    const meta = src.prepare(`SELECT key, value FROM meta`).all() as { key: string; value: string }[];
    for (const m of meta)
      await client.query(`INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [m.key, m.value]);
    const id = (await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'ledger_id'`)).rows[0]?.value ?? "";
    await client.query("COMMIT");
    return { ...counts, ledgerId: id };
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    src.close();
  }
}

export class TargetNotEmptyError extends Error {
  constructor(
    readonly runs: number,
    readonly sends: number,
  ) {
    super(`the target ledger holds ${runs} runs and ${sends} sends`);
  }
}
