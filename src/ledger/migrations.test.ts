import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import { SqliteLedger } from "../dispatch/ledger.js";
import { migratePostgres, POSTGRES_SCHEMA_VERSION, POSTGRES_STEPS, SchemaTooNewError } from "./migrations/postgres.js";
import { migrateSqlite, SQLITE_SCHEMA_VERSION } from "./migrations/sqlite.js";
import { PostgresLedger } from "./postgres.js";
import { maskSecretIn, maskUrl } from "./url.js";

describe("SQLite migrations", () => {
  it("adopts a ledger from before versions were recorded: its tables kept, the runs' snapshot size added, the version recorded", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-mig-"));
    try {
      const file = path.join(dir, "state.db");
      const old = new Database(file);
      old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at INTEGER NOT NULL, finished_at INTEGER, at INTEGER NOT NULL,
        pid INTEGER NOT NULL, status TEXT NOT NULL, summary TEXT); INSERT INTO runs (started_at, at, pid, status) VALUES (1, 1, 1, 'ok');`);
      old.close();
      const ledger = new SqliteLedger(file);
      await ledger.close();
      const db = new Database(file);
      expect(db.prepare(`SELECT version FROM schema_version ORDER BY version`).pluck().all()).toEqual([1, 2]);
      expect((db.prepare(`PRAGMA table_info(runs)`).all() as { name: string }[]).map((c) => c.name)).toContain("members");
      expect(db.prepare(`SELECT COUNT(*) FROM runs`).pluck().get()).toBe(1);
      // Up to date: nothing applied again.
      expect(migrateSqlite(db)).toEqual({ from: SQLITE_SCHEMA_VERSION, to: SQLITE_SCHEMA_VERSION });
      db.prepare(`INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)`).run();
      expect(() => migrateSqlite(db)).toThrow(SchemaTooNewError);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("PostgreSQL migrations", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres({ durable: false });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("two processes migrating one new database at the same moment: the steps run once, both end up current", async () => {
    const url = await server.database("race");
    const clients = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.all(clients.map((c) => migratePostgres(c)));
      expect(results.map((r) => r.to)).toEqual([POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION]);
      expect(results.map((r) => r.from).sort()).toEqual([0, POSTGRES_SCHEMA_VERSION]);
      const rows = await clients[0]!.query(`SELECT version FROM schema_version ORDER BY version`);
      expect(rows.rows.map((r) => r.version)).toEqual(POSTGRES_STEPS.map((s) => s.version));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it("an up-to-date ledger opens for a login that may only read it (no right to create tables, no writes)", async () => {
    const url = await server.database("readonly_login");
    const owner = await PostgresLedger.open(url);
    await owner.startRun(1, 1);
    await owner.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ledger_reader LOGIN`);
      await admin.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ledger_reader`);
    } finally {
      await admin.end();
    }
    const reader = await PostgresLedger.open(url.replace("://postgres@", "://ledger_reader@"));
    try {
      expect((await reader.runs()).map((r) => r.status)).toEqual(["running"]);
    } finally {
      await reader.close();
    }
  });

  it("steps apply in order from the version found; a failing step leaves the schema as it was", async () => {
    const url = await server.database("steps");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await migratePostgres(client, POSTGRES_STEPS.slice(0, 1))).toEqual({ from: 0, to: 1 });
      const broken = [...POSTGRES_STEPS, { version: 3, name: "broken", sql: "ALTER TABLE sends ADD COLUMN x INTEGER; SELECT nonsense_column FROM sends" }];
      await expect(migratePostgres(client, broken)).rejects.toThrow(/nonsense_column/);
      expect((await client.query(`SELECT MAX(version) AS v FROM schema_version`)).rows[0].v).toBe(1);
      expect(await migratePostgres(client)).toEqual({ from: 1, to: POSTGRES_SCHEMA_VERSION });
      await client.query(`INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 0)`);
      await expect(PostgresLedger.open(url)).rejects.toThrow(/version 99, newer than this chuda knows/);
    } finally {
      await client.end();
    }
  });

  it("a ledger with sends planned, in flight and sent keeps them through step 7 (active sends indexed apart)", async () => {
    const url = await server.database("step7");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migratePostgres(
        client,
        POSTGRES_STEPS.filter((s) => s.version < 7),
      );
      const states = ["planned", "in_flight", "sent", "planned", "failed"];
      await client.query(
        `INSERT INTO sends (key, campaign, occurrence, member, channel, state, send_at, address, updated_at, run_id)
         SELECT 'c|o|m' || n || '|sms', 'c', 'o', 'm' || n, 'sms', s, 10 * n, '1380000000' || n, 0, 1 FROM unnest($1::text[]) WITH ORDINALITY AS u(s, n)`,
        [states],
      );
      expect(await migratePostgres(client)).toEqual({ from: 6, to: POSTGRES_SCHEMA_VERSION });
      const rows = await client.query(`SELECT member, state, active FROM sends ORDER BY id`);
      expect(rows.rows.map((r) => [r.state, r.active])).toEqual(states.map((s) => [s, s === "planned" || s === "in_flight"]));
      // The state's own indexes are gone: no index of sends names the state, so no change of state rules out a heap-only update.
      const defs = (await client.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'sends'`)).rows.map((r) => r.def);
      expect(defs.filter((d) => /\bstate\b/.test(d))).toEqual([]);
      expect(defs.some((d) => /sends_active\b.*\(channel, send_at, id\) WHERE active/.test(d))).toBe(true);
    } finally {
      await client.end();
    }
    const ledger = await PostgresLedger.open(url);
    try {
      expect((await ledger.due("sms", 100, 100, 10)).map((r) => r.member)).toEqual(["m1", "m4"]);
      expect((await ledger.inFlight()).map((r) => r.member)).toEqual(["m2"]);
      // A later mark takes the send out of the planned ones; its result out of the active ones.
      const [first] = await ledger.due("sms", 100, 100, 1);
      await ledger.finish([{ id: first!.id, key: first!.key, state: "sent", provider_id: "p1" }], 1);
      expect((await ledger.due("sms", 100, 100, 10)).map((r) => r.member)).toEqual(["m4"]);
    } finally {
      await ledger.close();
    }
  });

  it("a connection error names the ledger without its password", async () => {
    const url = `postgres://chuda:s3cret-pw@127.0.0.1:${server.port}/no_such_db`;
    const e = await PostgresLedger.open(url).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).not.toContain("s3cret-pw");
  });
});

describe("ledger URLs", () => {
  it("masks the password in the URL and wherever it is quoted", () => {
    expect(maskUrl("postgres://chuda:p%40ss@db.example:5432/ledger?sslmode=require")).toBe("postgres://chuda:***@db.example:5432/ledger?sslmode=require");
    expect(maskUrl("postgres://db/ledger?user=x&password=hunter2")).toBe("postgres://db/ledger?user=x&password=***");
    expect(maskUrl("postgres://chuda@db/ledger")).toBe("postgres://chuda@db/ledger");
    expect(maskSecretIn("failed for postgres://u:p%40ss@h/d: password p@ss rejected", "postgres://u:p%40ss@h/d")).toBe(
      "failed for postgres://u:***@h/d: password *** rejected",
    );
  });
});
