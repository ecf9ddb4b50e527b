// Members read from real PostgreSQL and MariaDB servers (no mocks): typing, rejections and errors as for files.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import { startMariaDb, type MariaDbServer } from "../../test/servers/mariadb.js";
import { freePort } from "../../test/servers/common.js";
import type { FieldType, MemberSchema, Project } from "../project/types.js";
import { databaseSource, maskUrl, openDatabaseSnapshot, utcToLocal, type DatabaseSource } from "./database.js";
import { libpqUrl } from "../ledger/url.js";
import { openSnapshot, type Snapshot } from "./snapshot.js";

const fields: [string, FieldType][] = [
  ["id", { kind: "string" }],
  ["tier", { kind: "enum", values: ["normal", "gold"] }],
  ["points", { kind: "number" }],
  ["birthday", { kind: "date" }],
  ["seen_at", { kind: "datetime" }],
  ["tags", { kind: "list" }],
  ["vip", { kind: "bool" }],
];

function project(source?: MemberSchema["source"]): Project {
  const members: MemberSchema = { key: "id", fields: new Map(fields) };
  if (source) members.source = source;
  return { root: "/", file: "/chuda.yaml", timezone: "Asia/Shanghai", members, channels: new Map(), spans: new Map() } as unknown as Project;
}

function source(url: string, config: MemberSchema["source"] = {}): DatabaseSource {
  const s = databaseSource(url, { source: config });
  if ("code" in s) throw new Error(s.message);
  return s;
}

async function rows(snap: Snapshot): Promise<Record<string, unknown>[]> {
  const r = await snap.conn.runAndReadAll(
    `SELECT id, tier, points, CAST(birthday AS VARCHAR) AS birthday, CAST(seen_at AS VARCHAR) AS seen_at, tags, vip FROM members ORDER BY id`,
  );
  return r.getRowObjectsJS() as Record<string, unknown>[];
}

let pg: PostgresServer;
let maria: MariaDbServer;
let pgUrl: string;

beforeAll(async () => {
  [pg, maria] = await Promise.all([startPostgres({ durable: false }), startMariaDb()]);
  pgUrl = await pg.database("members_unit");
  const { default: pgLib } = await import("pg");
  const c = new pgLib.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`SET TimeZone TO 'UTC'`);
  await c.query(`CREATE TABLE typed (id text, tier text, points numeric, birthday date, seen_at timestamptz, tags text[], vip boolean, extra int)`);
  await c.query(`INSERT INTO typed VALUES
    ('M1', 'gold', 12.5, '1990-02-03', '2026-01-01 02:00:00Z', '{wine,"a b"}', true, 1),
    ('M2', 'Normal', 3, NULL, NULL, '{}', false, 2),
    ('M3', NULL, NULL, '2000-12-31', '2026-06-30 16:30:00Z', NULL, NULL, 3)`);
  await c.query(`CREATE TABLE raw (id text, tier text, points text, birthday text, seen_at text, tags text, vip text, n serial)`);
  await c.query(`INSERT INTO raw (id, tier, points, birthday, seen_at, tags, vip) VALUES
    ('A1', 'gold', '1', '2001-01-01', NULL, 'x;y', 'yes'),
    ('A2', 'platinum', '2', NULL, NULL, NULL, NULL),
    (NULL, 'gold', '3', NULL, NULL, NULL, NULL),
    ('A1', 'gold', '4', NULL, NULL, NULL, NULL),
    ('A5', 'gold', 'lots', '2001-02-30', NULL, NULL, NULL),
    ('A6', 'normal', '6', NULL, NULL, NULL, '是')`);
  await c.query(`CREATE TABLE jsonish (id text, tags jsonb, name json)`);
  await c.query(`INSERT INTO jsonish VALUES ('J1', '["a","b"]', '"x"'), ('J2', '"c;d"', '{"k":1}')`);
  await c.end();

  const mysql = await import("mysql2/promise");
  const m = await mysql.createConnection(maria.url);
  await m.query(`SET time_zone = '+00:00'`);
  await m.query(
    `CREATE TABLE typed (id VARCHAR(20), tier VARCHAR(20), points DECIMAL(10,2), birthday DATE, seen_at TIMESTAMP NULL, tags JSON, vip BIT(1), extra INT)`,
  );
  await m.query(`INSERT INTO typed VALUES
    ('M1', 'gold', 12.5, '1990-02-03', '2026-01-01 02:00:00', '["wine","a b"]', b'1', 1),
    ('M2', 'Normal', 3, NULL, NULL, '[]', b'0', 2),
    ('M3', NULL, NULL, '2000-12-31', '2026-06-30 16:30:00', NULL, NULL, 3)`);
  await m.query(
    `CREATE TABLE raw (id VARCHAR(20), tier VARCHAR(20), points VARCHAR(20), birthday VARCHAR(20), seen_at VARCHAR(30), tags TEXT, vip TINYINT(1), n INT AUTO_INCREMENT PRIMARY KEY)`,
  );
  await m.query(`INSERT INTO raw (id, tier, points, birthday, seen_at, tags, vip) VALUES
    ('A1', 'gold', '1', '2001-01-01', NULL, 'x;y', 1),
    ('A2', 'platinum', '2', NULL, NULL, NULL, NULL),
    (NULL, 'gold', '3', NULL, NULL, NULL, NULL),
    ('A1', 'gold', '4', NULL, NULL, NULL, NULL),
    ('A5', 'gold', 'lots', '2001-02-30', NULL, NULL, NULL),
    ('A6', 'normal', '6', NULL, NULL, NULL, 0)`);
  await m.end();
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), maria?.stop()]);
});

const expectedTyped = [
  { id: "M1", tier: "gold", points: 12.5, birthday: "1990-02-03", seen_at: "2026-01-01 10:00:00", tags: "wine;a b", vip: true },
  { id: "M2", tier: "normal", points: 3, birthday: null, seen_at: null, tags: null, vip: false },
  { id: "M3", tier: null, points: null, birthday: "2000-12-31", seen_at: "2026-07-01 00:30:00", tags: null, vip: null },
];

describe("members from PostgreSQL", () => {
  it("types native columns like a CSV snapshot: bools, zoned timestamps in the project's zone, arrays as lists", async () => {
    const r = await openDatabaseSnapshot(source(pgUrl, { table: "typed" }), project());
    expect(r.diagnostics).toEqual([]);
    const snap = r.snapshot!;
    expect(snap.count).toBe(3);
    expect(await rows(snap)).toEqual(expectedTyped); // an empty array is an empty list: missing
    await snap.close();
  });

  it("rejects rows like a file does, numbered by row of the result; the same table as a CSV file rejects the same", async () => {
    const r = await openDatabaseSnapshot(source(pgUrl, { query: "select * from raw order by n" }), project());
    const snap = r.snapshot!;
    expect(snap.count).toBe(2);
    const byKind = Object.fromEntries(snap.rejected.map((g) => [g.field ?? g.kind, g.lines]));
    expect(byKind).toEqual({ tier: [2], missing_key: [3], duplicate_key: [4], points: [5] });
    expect(snap.diagnostics.map((d) => d.code)).toContain("CH6028");
    expect(snap.diagnostics.find((d) => d.code === "CH6028")!.help).toMatch(/row\(s\) 2 of the query's result/);
    expect(snap.diagnostics.every((d) => d.span.file === maskUrl(pgUrl))).toBe(true);
    const dbRejected = snap.rejected.map((g) => ({ ...g, lines: g.lines.map((l) => l + 1) }));

    // The same rows in a CSV file: the same groups, at the file's lines (header = line 1).
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-db-unit-"));
    const file = path.join(dir, "raw.csv");
    writeFileSync(
      file,
      "id,tier,points,birthday,seen_at,tags,vip\nA1,gold,1,2001-01-01,,x;y,yes\nA2,platinum,2,,,,\n,gold,3,,,,\nA1,gold,4,,,,\nA5,gold,lots,2001-02-30,,,\nA6,normal,6,,,,是\n",
    );
    const f = await openSnapshot(file, project());
    expect(f.snapshot!.rejected).toEqual(dbRejected);
    expect(await rows(f.snapshot!)).toEqual(await rows(snap));
    await f.snapshot!.close();
    await snap.close();
  });

  it("JSON arrays are lists, JSON scalars their text", async () => {
    const p = project();
    p.members.fields = new Map<string, FieldType>([
      ["id", { kind: "string" }],
      ["tags", { kind: "list" }],
      ["name", { kind: "string" }],
    ]);
    const r = await openDatabaseSnapshot(source(pgUrl, { table: "jsonish" }), p);
    const got = (await r.snapshot!.conn.runAndReadAll(`SELECT id, tags, name FROM members ORDER BY id`)).getRowObjectsJS();
    expect(got).toEqual([
      { id: "J1", tags: "a;b", name: "x" },
      { id: "J2", tags: "c;d", name: '{"k": 1}' },
    ]);
    await r.snapshot!.close();
  });

  it("a query whose columns repeat a name and end in a comment", async () => {
    const r = await openDatabaseSnapshot(source(pgUrl, { query: "select t.id, t.tier, r.id from typed t join raw r on r.id = 'A6' -- the join" }), project());
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CH6004", "CH6004", "CH6004", "CH6004", "CH6004"]);
    expect(r.snapshot!.count).toBe(3);
    await r.snapshot!.close();
  });

  it("a bad value early in a long result: the first read stops at it, the export goes on into the file, nothing waits", async () => {
    const { default: pgLib } = await import("pg");
    const c = new pgLib.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(
      // A number the strict read types itself (dates and date-times are typed after it, as text).
      `CREATE TABLE long AS SELECT 'L' || n AS id, CASE WHEN n = 100 THEN 'lots' ELSE '1' END AS points, n FROM generate_series(1, 60000) AS n`,
    );
    await c.end();
    const r = await openDatabaseSnapshot(source(pgUrl, { query: "select * from long order by n" }), project());
    const snap = r.snapshot!;
    expect(snap.count).toBe(59999);
    expect(snap.csvRead).toBe("tolerant");
    expect(snap.rejected.map((g) => [g.field, g.lines])).toEqual([["points", [100]]]);
    await snap.close();
    // The same export, read whole by the strict read: the rows arrive through the pipe.
    const ok = await openDatabaseSnapshot(source(pgUrl, { query: "select id, n from long order by n" }), project());
    expect(ok.snapshot!.count).toBe(60000);
    expect(ok.snapshot!.csvRead).toBe("strict");
    await ok.snapshot!.close();
  });

  it("a loader that fails before reading does not leave the export waiting", async () => {
    // A result larger than a pipe's buffers: the export would wait for a reader that never comes.
    await expect(openDatabaseSnapshot(source(pgUrl, { query: "select id, n from long" }), project(), { memoryLimit: "not a size" })).rejects.toThrow();
  });

  it("errors: unreachable, unknown role, unknown database, unknown table, query error, no key column — one diagnostic each, password masked", async () => {
    const port = await freePort();
    const secret = "pa55word-xyz";
    const at = (url: string) => url.replace("postgres://postgres@", `postgres://postgres:${secret}@`);
    const cases: [string, MemberSchema["source"], string, RegExp][] = [
      [`postgres://postgres:${secret}@127.0.0.1:${port}/x`, {}, "CH6020", /cannot connect to the member database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/],
      [at(pgUrl).replace("postgres:pa55", "nobody:pa55"), {}, "CH6021", /refused the login: role "nobody" does not exist/],
      [at(pgUrl).replace("/members_unit", "/nope"), {}, "CH6022", /does not exist on its server/],
      [at(pgUrl), { table: "crm.missing" }, "CH6023", /the member table `crm\.missing` does not exist in postgres:\/\/postgres:\*\*\*@/],
      [at(pgUrl), { query: "select id, nope from typed" }, "CH6024", /the members query failed on .*: column "nope" does not exist/],
      [at(pgUrl), { query: "select 1/0 as id from typed" }, "CH6024", /division by zero/],
      [at(pgUrl), { query: "select tier from typed" }, "CH6003", /no `id` column.*/],
    ];
    for (const [url, config, code, message] of cases) {
      const r = await openDatabaseSnapshot(source(url, config), project());
      expect(r.snapshot, code).toBeUndefined();
      expect(r.diagnostics.map((d) => d.code)).toEqual([code]);
      const text = `${r.diagnostics[0]!.message} ${r.diagnostics[0]!.help ?? ""}`;
      expect(text).toMatch(message);
      expect(text).not.toContain(secret);
      expect(text).not.toContain("\n");
    }
  });
});

describe("members from PostgreSQL, a query that would write", () => {
  it("is refused by the server (read-only session), and changes nothing", async () => {
    const { default: pgLib } = await import("pg");
    const c = new pgLib.Client({ connectionString: pgUrl });
    await c.connect();
    // A SELECT that writes through a function: only the session's read-only mode stops it.
    await c.query(`CREATE FUNCTION purge_m3() RETURNS int LANGUAGE sql AS $$ DELETE FROM typed WHERE id = 'M3'; SELECT 1 $$`);
    try {
      const r = await openDatabaseSnapshot(source(pgUrl, { query: "select *, purge_m3() as p from typed" }), project());
      expect(r.snapshot).toBeUndefined();
      expect(r.diagnostics.map((d) => d.code)).toEqual(["CH6024"]);
      expect(r.diagnostics[0]!.message).toMatch(/read-only transaction/);
      const left = await c.query(`SELECT count(*)::int AS n FROM typed WHERE id = 'M3'`);
      expect(left.rows[0].n).toBe(1);
    } finally {
      await c.end();
    }
  });
});

describe("members from MariaDB", () => {
  it("types columns like a CSV snapshot: BIT(1) and TINYINT bools, TIMESTAMP in the project's zone, JSON arrays as lists", async () => {
    const r = await openDatabaseSnapshot(source(maria.url.replace("mysql:", "mariadb:"), { table: "typed" }), project());
    expect(r.diagnostics).toEqual([]);
    expect(await rows(r.snapshot!)).toEqual(expectedTyped);
    await r.snapshot!.close();
  });

  it("TIMESTAMP with the zone's offset of its own date (daylight saving), TINYINT truth, JSON nulls no list item", async () => {
    const mysql = await import("mysql2/promise");
    const m = await mysql.createConnection(maria.url);
    await m.query(`SET time_zone = '+00:00'`);
    await m.query(`CREATE TABLE awkward (id VARCHAR(20), seen_at TIMESTAMP NULL, vip TINYINT(1), tags JSON)`);
    // Shanghai kept daylight saving in summer 1990 (UTC+9): 01:00 UTC was 10:00 there, not 09:00.
    await m.query(`INSERT INTO awkward VALUES
      ('W1', '1990-07-01 01:00:00', 2, '[null]'),
      ('W2', '1990-01-01 01:00:00', -1, '["a", null, "b"]'),
      ('W3', '2026-03-01 15:59:59', 0, '[]')`);
    await m.end();
    const r = await openDatabaseSnapshot(source(maria.url, { query: "select * from awkward" }), project());
    expect(r.diagnostics.filter((d) => d.code !== "CH6004")).toEqual([]); // only: no tier, points, birthday columns
    expect(r.snapshot!.rejected).toEqual([]);
    const got = await r.snapshot!.conn.runAndReadAll(`SELECT id, CAST(seen_at AS VARCHAR) AS seen_at, vip, tags FROM members ORDER BY id`);
    expect(got.getRowObjectsJS()).toEqual([
      { id: "W1", seen_at: "1990-07-01 10:00:00", vip: true, tags: null },
      { id: "W2", seen_at: "1990-01-01 09:00:00", vip: true, tags: "a;b" },
      { id: "W3", seen_at: "2026-03-01 23:59:59", vip: false, tags: null },
    ]);
    await r.snapshot!.close();
  });

  it("a statement that would change data is refused by the server, and changes nothing", async () => {
    const mysql = await import("mysql2/promise");
    const m = await mysql.createConnection(maria.url);
    await m.query(`CREATE TABLE victim (id VARCHAR(20))`);
    await m.query(`INSERT INTO victim VALUES ('V1')`);
    try {
      for (const query of ["delete from victim", "update victim set id = 'V2'", "insert into victim values ('V3')"]) {
        const r = await openDatabaseSnapshot(source(maria.url, { query }), project());
        expect(r.snapshot, query).toBeUndefined();
        expect(r.diagnostics.map((d) => d.code)).toEqual(["CH6024"]);
      }
      const [rows] = await m.query(`SELECT id FROM victim`);
      expect(rows).toEqual([{ id: "V1" }]);
    } finally {
      await m.end();
    }
  });

  it("rejects rows like a file does, numbered by row of the result", async () => {
    const r = await openDatabaseSnapshot(source(maria.url, { query: "select * from raw order by n" }), project());
    const snap = r.snapshot!;
    expect(snap.count).toBe(2);
    expect(Object.fromEntries(snap.rejected.map((g) => [g.field ?? g.kind, g.lines]))).toEqual({
      tier: [2],
      missing_key: [3],
      duplicate_key: [4],
      points: [5],
    });
    await snap.close();
  });

  it("errors: unreachable, bad password, unknown table, query error — one diagnostic each, password masked", async () => {
    const port = await freePort();
    const secret = "Wr0ng-pass";
    const withPassword = maria.url.replace("root@", `root:${secret}@`);
    const cases: [string, MemberSchema["source"], string, RegExp][] = [
      [`mysql://root:${secret}@127.0.0.1:${port}/chuda`, {}, "CH6020", /cannot connect to the member database mysql:\/\/root:\*\*\*@/],
      [withPassword, {}, "CH6021", /refused the login: Access denied for user 'root'/],
      [maria.url, { table: "missing" }, "CH6023", /the member table `missing` does not exist/],
      [maria.url, { query: "select id, nope from typed" }, "CH6024", /Unknown column 'nope'/],
      [maria.url, { query: "select tier from typed" }, "CH6003", /no `id` column/],
    ];
    for (const [url, config, code, message] of cases) {
      const r = await openDatabaseSnapshot(source(url, config), project());
      expect(
        r.diagnostics.map((d) => d.code),
        code,
      ).toEqual([code]);
      const text = `${r.diagnostics[0]!.message} ${r.diagnostics[0]!.help ?? ""}`;
      expect(text).toMatch(message);
      expect(text).not.toContain(secret);
    }
  });
});

describe("members from MariaDB, the connection lost mid-read", () => {
  it("a connection killed while rows are arriving ends the read with CH6025, nothing waits", { timeout: 40_000 }, async () => {
    const mysql = await import("mysql2/promise");
    const admin = await mysql.createConnection(maria.url);
    try {
      // A slow result (10 ms a row, from MariaDB's sequence engine): the read is under way when it is cut off.
      const query = "select concat('S', seq) as id, if(sleep(0.01) = 0, 'gold', 'gold') as tier from seq_1_to_3000 /* lost_mid_read */";
      const opening = openDatabaseSnapshot(source(maria.url, { query }), project());
      let killed = false;
      for (let i = 0; i < 300 && !killed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const [rows] = await admin.query("select id from information_schema.processlist where info like '%lost_mid_read%' and info not like '%processlist%'");
        const id = (rows as { id: number }[])[0]?.id;
        if (id !== undefined) {
          await new Promise((r) => setTimeout(r, 300)); // some rows have arrived
          await admin.query(`KILL CONNECTION ${Number(id)}`);
          killed = true;
        }
      }
      expect(killed).toBe(true);
      const r = await opening;
      expect(r.snapshot).toBeUndefined();
      expect(r.diagnostics.map((d) => d.code)).toEqual(["CH6025"]);
    } finally {
      await admin.end();
    }
  });
});

describe("URLs", () => {
  it("masks the password, also in a URL that does not parse", () => {
    expect(maskUrl("postgres://crm:s3cr%40t@db.local:5432/crm?sslmode=require")).toBe("postgres://crm:***@db.local:5432/crm?sslmode=require");
    expect(maskUrl("mysql://crm@db/crm")).toBe("mysql://crm@db/crm");
    expect(maskUrl("postgres://u:p w@[bad/x")).toBe("postgres://u:***@[bad/x");
  });

  it("masks a password given as a query parameter, in the URL and in a message quoting it", () => {
    expect(maskUrl("postgres://crm@db/crm?password=Hunter2&sslmode=require")).toBe("postgres://crm@db/crm?password=***&sslmode=require");
    expect(maskUrl("postgres://crm@[bad/crm?password=Hunter2")).toBe("postgres://crm@[bad/crm?password=***");
  });

  it("a TIMESTAMP read in UTC is the wall clock of the zone at that instant", () => {
    expect(utcToLocal("2024-06-01 04:00:00", "Europe/Berlin")).toBe("2024-06-01 06:00:00");
    expect(utcToLocal("2024-01-01 04:00:00.250", "Europe/Berlin")).toBe("2024-01-01 05:00:00.250");
    expect(utcToLocal("2023-12-31 16:30:00", "Asia/Shanghai")).toBe("2024-01-01 00:30:00");
    expect(utcToLocal("0000-00-00 00:00:00", "Asia/Shanghai")).toBe("0000-00-00 00:00:00");
  });

  it("sslmode in a PostgreSQL URL keeps libpq's meaning (require: encrypted, certificate not checked)", () => {
    expect(libpqUrl("postgres://u@db/crm?sslmode=require")).toBe("postgres://u@db/crm?sslmode=require&uselibpqcompat=true");
    expect(libpqUrl("postgres://u@db/crm")).toBe("postgres://u@db/crm");
    expect(libpqUrl("postgres://u@db/crm?sslmode=verify-full&uselibpqcompat=false")).toBe("postgres://u@db/crm?sslmode=verify-full&uselibpqcompat=false");
  });

  it("a URL of a known scheme that does not parse gets a hint about what breaks it, the password masked", () => {
    for (const url of ["postgres://u:p#w@db/crm", "mysql://u:pw@db:99999/crm"]) {
      const d = databaseSource(url);
      expect("code" in d && d.code).toBe("CH6026");
      expect("code" in d && d.help).toMatch(/percent-encoded \(# as %23/);
    }
  });

  it("refuses other schemes with the URL masked", () => {
    const d = databaseSource("sqlite://me:secret@host/x");
    expect("code" in d && d.code).toBe("CH6026");
    expect("code" in d && d.message).toBe("sqlite://me:***@host/x is not a database URL chuda reads members from");
  });
});
