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

  it("PostgreSQL's CPU seconds count the work of its backends, also of connections that ended", async () => {
    const { default: pg } = await import("pg");
    const before = postgres.cpuSeconds();
    expect(before).toBeGreaterThan(0);
    const client = new pg.Client({ connectionString: await postgres.database("servers_cpu") });
    await client.connect();
    // Most of a second of one backend's CPU, still counted after the connection (and so its process) has ended.
    await client.query("select count(*) from generate_series(1, 10000000)");
    await client.end();
    let used = 0;
    for (let i = 0; i < 50 && used <= 0.2; i++) {
      await new Promise((r) => setTimeout(r, 100)); // until the postmaster has reaped the backend
      used = postgres.cpuSeconds() - before;
    }
    expect(used).toBeGreaterThan(0.2);
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
