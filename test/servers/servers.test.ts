// The database servers the suite starts are real and answer SQL (a missing server fails here, never skips).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMariaDb, type MariaDbServer } from "./mariadb.js";
import { startPostgres, type PostgresServer } from "./postgres.js";

describe("test servers", () => {
  let postgres: PostgresServer;
  let mariadb: MariaDbServer;
  beforeAll(async () => {
    [postgres, mariadb] = await Promise.all([startPostgres({ durable: false }), startMariaDb()]);
  });
  afterAll(async () => {
    await Promise.all([postgres?.stop(), mariadb?.stop()]);
  });

  it("PostgreSQL answers on its own port and creates databases", async () => {
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: await postgres.database("servers_test") });
    await client.connect();
    const { rows } = await client.query<{ v: string; db: string }>("select current_setting('server_version_num') as v, current_database() as db");
    await client.end();
    expect(Number(rows[0].v)).toBeGreaterThanOrEqual(150000);
    expect(rows[0].db).toBe("servers_test");
  });

  it("MariaDB answers on its own port", async () => {
    const mysql = await import("mysql2/promise");
    const conn = await mysql.createConnection(mariadb.url);
    const [rows] = await conn.query("select version() as v, database() as db");
    await conn.end();
    const row = (rows as Array<{ v: string; db: string }>)[0];
    expect(row.v).toMatch(/MariaDB/);
    expect(row.db).toBe("chuda");
  });
});
