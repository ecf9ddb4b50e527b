// `--members postgres://…` / `mysql://…` and `members.source` on the built CLI, against real servers: the same
// members in a database and in a CSV file give the same funnel, the same preview, the same rejections.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { execa } from "execa";
import { BIN, chuda, copyExampleRepo, hasStackTrace } from "./cli.js";
import { startPostgres, type PostgresServer } from "../servers/postgres.js";
import { startMariaDb, type MariaDbServer } from "../servers/mariadb.js";
import { freePort } from "../servers/common.js";

let pg: PostgresServer;
let maria: MariaDbServer;
let pgUrl: string;
let dir: string;
let csv: string;
const SECRET = "s3cret-Pw";
/** PostgreSQL trusts loopback logins here: a password in the URL is accepted, and must never be printed. */
const withPassword = (url: string) => url.replace("://postgres@", `://postgres:${SECRET}@`).replace("://root@", `://root:${SECRET}@`);
const RANGE = ["--from", "2026-12-01", "--to", "2026-12-30"];

/** The example schema's fields as native PostgreSQL columns (the sample CSV is their text). */
const PG_TYPED = `member_id, name, mobile, gender, birthday::date, tier, points::int, registered_at::timestamptz, last_purchase_at::timestamp,
  spend_12m::numeric, string_to_array(tags, ';') AS tags, distance_km::float8, wecom_external_userid, wecom_owner, openid,
  oa_subscribed::boolean, sms_opt_in::boolean, unsubscribed::boolean, points_expiring::int, points_expire_at::date,
  tier_changed_at::timestamptz, tier_change`;

beforeAll(async () => {
  [pg, maria] = await Promise.all([startPostgres({ durable: false }), startMariaDb()]);
  pgUrl = await pg.database("crm");
  dir = copyExampleRepo();
  csv = path.join(dir, "members.csv");
  const g = await chuda(["sample-members", "--count", "3000", "--seed", "11", "--out", csv], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
  const text = readFileSync(csv, "utf8");
  expect(text).not.toContain('"'); // plain cells: split on commas below
  const [header, ...lines] = text.trimEnd().split("\n");
  const columns = header!.split(",");

  const { default: pgLib } = await import("pg");
  const { from: copyFrom } = await import("pg-copy-streams");
  const c = new pgLib.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(`SET TimeZone TO 'Asia/Shanghai'`); // the CSV's date-times are the project's local time
  await c.query(`CREATE TABLE staging (${columns.map((n) => `${n} text`).join(", ")})`);
  await pipeline(Readable.from([text]), c.query(copyFrom(`COPY staging FROM STDIN (FORMAT csv, HEADER true)`)));
  await c.query(`CREATE TABLE members AS SELECT ${PG_TYPED} FROM staging`);
  await c.end();

  const mysql = await import("mysql2/promise");
  const m = await mysql.createConnection(maria.url);
  const types: Record<string, string> = {
    birthday: "DATE",
    points_expire_at: "DATE",
    points: "INT",
    points_expiring: "INT",
    registered_at: "DATETIME",
    last_purchase_at: "DATETIME",
    tier_changed_at: "DATETIME",
    spend_12m: "DECIMAL(12,2)",
    distance_km: "DOUBLE",
    oa_subscribed: "BOOLEAN",
    sms_opt_in: "BOOLEAN",
    unsubscribed: "BOOLEAN",
  };
  await m.query(`CREATE TABLE crm_members (${columns.map((n) => `${n} ${types[n] ?? "VARCHAR(100)"}`).join(", ")}) CHARACTER SET utf8mb4`);
  const rows = lines.map((l) => l.split(",").map((v, i) => (v === "" ? null : types[columns[i]!] === "BOOLEAN" ? v === "true" : v)));
  for (let i = 0; i < rows.length; i += 500) await m.query(`INSERT INTO crm_members VALUES ?`, [rows.slice(i, i + 500)]);
  await m.end();
}, 180_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), maria?.stop()]);
});

/** The chuda.yaml of the example with a `members.source`. */
function withSource(source: string): void {
  const file = path.join(dir, "chuda.yaml");
  const yaml = readFileSync(file, "utf8").replace(/\n {2}source:.*\n/, "\n");
  writeFileSync(file, yaml.replace("\nmembers:\n", `\nmembers:\n  source: ${source}\n`));
}

describe("members from a database (built CLI)", () => {
  it("simulate --members postgres://… gives the funnel of the same members from a CSV file", async () => {
    const fromFile = await chuda(["simulate", "--members", csv, ...RANGE, "--json"], { cwd: dir });
    expect(fromFile.exitCode, fromFile.stderr).toBe(0);
    const fromDb = await chuda(["simulate", "--members", withPassword(pgUrl), ...RANGE, "--json"], { cwd: dir });
    expect(fromDb.exitCode, fromDb.stderr).toBe(0);
    const a = JSON.parse(fromFile.stdout);
    const b = JSON.parse(fromDb.stdout);
    expect(b.members).toBe(3000);
    expect(b.total.sends).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(fromDb.stdout + fromDb.stderr).not.toContain(SECRET);
  });

  it("members.source with url_env and a query reads MariaDB, with the same funnel", async () => {
    withSource(`{ url_env: CRM_URL, query: "select * from crm_members order by member_id" }`);
    try {
      const fromFile = await chuda(["simulate", "--members", csv, ...RANGE, "--json"], { cwd: dir });
      const fromDb = await chuda(["simulate", ...RANGE, "--json"], { cwd: dir, env: { CRM_URL: maria.url } });
      expect(fromDb.exitCode, fromDb.stderr).toBe(0);
      expect(JSON.parse(fromDb.stdout)).toEqual(JSON.parse(fromFile.stdout));
      // `mariadb://` is the same server.
      const again = await chuda(["simulate", ...RANGE, "--json"], { cwd: dir, env: { CRM_URL: maria.url.replace("mysql:", "mariadb:") } });
      expect(again.stdout).toBe(fromDb.stdout);
    } finally {
      withSource("");
    }
  });

  it("SIGTERM while members are still arriving from the database ends the command at once", async () => {
    // 5 ms a row: the read takes about 15 s, and is under way when the signal comes.
    withSource(`{ url_env: CRM_URL, query: "select m.*, if(sleep(0.005) = 0, '', '') as slow_read_marker from crm_members m" }`);
    const mysql = await import("mysql2/promise");
    const admin = await mysql.createConnection(maria.url);
    try {
      const child = execa(process.execPath, [BIN, "simulate", ...RANGE, "--json"], {
        cwd: dir,
        env: { CI: "true", NO_COLOR: "1", CRM_URL: maria.url },
        reject: false,
        timeout: 60_000,
      });
      let reading = false;
      for (let i = 0; i < 300 && !reading; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const [rows] = await admin.query(
          "select id from information_schema.processlist where info like '%slow_read_marker%' and info not like '%processlist%'",
        );
        reading = (rows as unknown[]).length > 0;
      }
      expect(reading).toBe(true);
      await new Promise((r) => setTimeout(r, 500)); // rows are flowing into DuckDB's read
      child.kill("SIGTERM");
      const r = await child;
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(143);
    } finally {
      await admin.end();
      withSource("");
    }
  });

  it("SIGTERM while a slow PostgreSQL query is still sending rows ends the command at once, and the server stops the query", async () => {
    // 5 ms a row: the COPY takes about 15 s, and is under way when the signal comes.
    withSource(`{ url_env: CRM_URL, query: "select m.*, pg_sleep(0.005)::text as slow_pg_marker from members m" }`);
    const { default: pgLib } = await import("pg");
    const admin = new pgLib.Client({ connectionString: pgUrl });
    await admin.connect();
    const running = async () =>
      (await admin.query(`select count(*)::int as n from pg_stat_activity where query like '%slow_pg_marker%' and pid <> pg_backend_pid()`)).rows[0]
        .n as number;
    try {
      const child = execa(process.execPath, [BIN, "simulate", ...RANGE, "--json"], {
        cwd: dir,
        env: { CI: "true", NO_COLOR: "1", CRM_URL: pgUrl },
        reject: false,
        timeout: 60_000,
        forceKillAfterDelay: false,
      });
      let reading = false;
      for (let i = 0; i < 600 && !reading; i++) {
        await new Promise((r) => setTimeout(r, 50));
        reading = (await running()) > 0;
      }
      expect(reading).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      child.kill("SIGTERM");
      const r = await child;
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(143);
      // The connection went with the process: the server ends the query (it does not run on for the whole result).
      let left = 1;
      for (let i = 0; i < 200 && left > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        left = await running();
      }
      expect(left).toBe(0);
    } finally {
      await admin.end();
      withSource("");
    }
  });

  it("preview and dispatch --dry-run read the database as they read a file", async () => {
    const member = ["--member", "M0000002"];
    const file = await chuda(["preview", "birthday_gift", "--members", csv, ...member, "--json"], { cwd: dir });
    const db = await chuda(["preview", "birthday_gift", "--members", pgUrl, ...member, "--json"], { cwd: dir });
    expect(db.exitCode, db.stderr).toBe(0);
    expect(db.stdout).toBe(file.stdout);
    const missing = await chuda(["preview", "birthday_gift", "--members", withPassword(pgUrl), "--member", "NOPE"], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`no member NOPE in ${pgUrl.replace("://postgres@", "://postgres:***@")}`);
    expect(missing.stderr).not.toContain(SECRET);

    const at = ["--at", "2026-12-12 10:00", "--dry-run", "--json"];
    const env = { CHUDA_NOW: "2026-12-12T10:00:00+08:00" };
    const dFile = await chuda(["dispatch", "--members", csv, ...at], { cwd: dir, env });
    const dDb = await chuda(["dispatch", "--members", pgUrl, ...at], { cwd: dir, env });
    expect(dDb.exitCode, dDb.stderr).toBe(dFile.exitCode);
    expect(dDb.stdout).toBe(dFile.stdout);
  });

  it("bad rows are rejected and reported like a file's, by row of the query's result", async () => {
    const { default: pgLib } = await import("pg");
    const c = new pgLib.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE TABLE bad AS SELECT row_number() OVER (ORDER BY member_id) AS n, * FROM staging WHERE member_id <= 'M0000006'`);
    await c.query(`UPDATE bad SET birthday = '1990-13-01' WHERE n = 2`);
    await c.query(`UPDATE bad SET tier = 'bronze' WHERE n = 4`);
    await c.query(`UPDATE bad SET member_id = 'M0000001' WHERE n = 5`);
    const cells = csvHeader()
      .split(",")
      .map((col) => `coalesce(${col}, '')`);
    const { rows } = await c.query<{ line: string }>(`SELECT concat_ws(',', ${cells.join(", ")}) AS line FROM bad ORDER BY n`);
    await c.end();
    const badCsv = path.join(dir, "bad.csv");
    writeFileSync(badCsv, `${csvHeader()}\n${rows.map((r) => r.line).join("\n")}\n`);

    withSource(`{ url_env: CRM_URL, query: "select * from bad order by n" }`);
    try {
      const file = await chuda(["simulate", "--members", badCsv, ...RANGE, "--json"], { cwd: dir });
      const db = await chuda(["simulate", ...RANGE, "--json"], { cwd: dir, env: { CRM_URL: withPassword(pgUrl) } });
      expect(db.exitCode, db.stderr).toBe(0);
      expect(JSON.parse(db.stdout)).toMatchObject({ members: 3, rejected: 3 });
      expect(JSON.parse(db.stdout)).toEqual(JSON.parse(file.stdout));
      // The same reasons, counts and codes; a file counts lines (header = line 1), the database rows of the result.
      const reasons = (text: string) =>
        text.split("\n").flatMap((l) => /warning (CH\d+) \d+ (?:snapshot|member) row\(s\) rejected: (.*)/.exec(l)?.slice(2) ?? []);
      expect(reasons(db.stderr)).toEqual(reasons(file.stderr));
      expect(reasons(db.stderr)).toHaveLength(3);
      expect(db.stderr).toContain(
        `${pgUrl.replace("://postgres@", "://postgres:***@")}:2:1 warning CH6028 1 member row(s) rejected: \`birthday\` is not a date`,
      );
      expect([...db.stderr.matchAll(/first at row\(s\) (\d+) of the query's result/g)].map((m) => Number(m[1]))).toEqual([2, 4, 5]);
      expect([...file.stderr.matchAll(/first at line\(s\) (\d+);/g)].map((m) => Number(m[1]))).toEqual([3, 5, 6]);
      expect(db.stderr).not.toContain(SECRET);
      expect(hasStackTrace(db.stderr)).toBe(false);
    } finally {
      withSource("");
    }
  });

  it("database problems are one line each, exit 2, the password masked", async () => {
    const closed = await freePort();
    const masked = (url: string) => url.replace(`:${SECRET}@`, ":***@");
    const cases: { args?: string[]; env?: Record<string, string>; source?: string; code: string; text: string }[] = [
      {
        args: ["--members", `postgres://postgres:${SECRET}@127.0.0.1:${closed}/crm`],
        code: "CH6020",
        text: `cannot connect to the member database postgres://postgres:***@127.0.0.1:${closed}/crm`,
      },
      { args: ["--members", withPassword(maria.url)], code: "CH6021", text: `the member database ${masked(withPassword(maria.url))} refused the login` },
      { args: ["--members", withPassword(pgUrl).replace("/crm", "/nocrm")], code: "CH6022", text: "does not exist on its server" },
      { args: ["--members", withPassword(pgUrl)], source: "{ table: customers }", code: "CH6023", text: "the member table `customers` does not exist" },
      {
        args: ["--members", withPassword(pgUrl)],
        source: `{ query: "select member_id from members where" }`,
        code: "CH6024",
        text: "the members query failed",
      },
      { args: ["--members", withPassword(pgUrl)], source: `{ query: "select name from members" }`, code: "CH6003", text: "has no `member_id` column" },
      { args: ["--members", `redis://u:${SECRET}@127.0.0.1/0`], code: "CH6026", text: "redis://u:***@127.0.0.1/0 is not a database URL" },
      { source: "{ url_env: CRM_URL }", code: "CH6027", text: "`members.source.url_env` names CRM_URL, which is not set" },
    ];
    for (const k of cases) {
      withSource(k.source ?? "");
      try {
        // Every case through simulate; dispatch (which opens members after its lock and channels) for two.
        const commands = k.code === "CH6020" || k.code === "CH6027" ? [["simulate"], ["dispatch", "--dry-run"]] : [["simulate"]];
        for (const command of commands) {
          const r = await chuda([...command, ...(k.args ?? []), ...(command[0] === "simulate" ? RANGE : [])], { cwd: dir, env: k.env ?? {} });
          expect(r.exitCode, `${k.code}: ${r.stderr}`).toBe(2);
          const first = r.stderr.split("\n")[0]!;
          expect(first, k.code).toContain(k.text);
          expect(first).toContain(`[${k.code}]`);
          expect(r.stderr).not.toContain(SECRET);
          expect(hasStackTrace(r.stderr)).toBe(false);
        }
      } finally {
        withSource("");
      }
    }
  });

  it("a URL written into chuda.yaml is refused by validate without echoing it", async () => {
    withSource(`{ url: "postgres://crm:${SECRET}@db/crm" }`);
    try {
      const r = await chuda(["validate"], { cwd: dir });
      expect(r.exitCode).toBe(1);
      expect(r.stdout + r.stderr).toContain("CH2065");
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    } finally {
      withSource("");
    }
  });
});

/** The sample's header, as the column list of the bad table. */
function csvHeader(): string {
  return readFileSync(csv, "utf8").split("\n")[0]!;
}
