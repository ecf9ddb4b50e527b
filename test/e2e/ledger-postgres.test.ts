/**
 * The PostgreSQL ledger end to end: the built CLI against a real PostgreSQL server on loopback (test/servers) and the
 * provider fakes. `ledger copy` moves a SQLite ledger's history; `ledger migrate`; a ledger URL's password never shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { PASSWORD_ROLE, startPostgres, type PostgresServer } from "../servers/postgres.js";
import { execa } from "execa";
import { BIN, hasStackTrace } from "./cli.js";
import { dispatch, makeMembers, makeRepo, run, startFakes, status, summaryOf, type CampaignSpec, type Fakes, type TestRepo } from "./dispatch-helpers.js";

const AT = "2026-12-24 10:30";
const ONCE = "once at 2026-12-24 10:00";
const PING: CampaignSpec = { name: "ping", template: "daily", channels: ["hook"], trigger: ONCE };
const GIFT: CampaignSpec = { name: "gift", template: "gift", channels: ["sms"], trigger: ONCE, holdout: 10, with: { coupon: "XMAS50", amount: 50 } };
const PASSWORD = "s3cret-pw-4ledger";

let server: PostgresServer;
let fakes: Fakes;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres({ durable: false });
  fakes = await startFakes(makeMembers(200, 11));
});
afterAll(async () => {
  await fakes?.close();
  await server?.stop();
});

/** A URL to a new database with a password in it (the test server trusts loopback, so any password connects). */
async function newDatabase(): Promise<string> {
  const url = await server.database(`e2e_${process.pid}_${++databases}`);
  return url.replace("postgres@", `postgres:${PASSWORD}@`);
}

function repoWith(members = 200): TestRepo {
  return makeRepo({ channels: { hook: fakes.channels.hook!, sms: fakes.channels.sms! }, campaigns: [PING, GIFT], members: makeMembers(members, 11) });
}

describe("chuda dispatch on a PostgreSQL ledger", () => {
  it("the same run as on SQLite: status and simulate --at read the configured ledger, and a second run sends nothing", async () => {
    const members = makeMembers(300, 23);
    const runOn = async (url: string | undefined) => {
      const own = await startFakes(members);
      try {
        const repo = makeRepo({ channels: { hook: own.channels.hook!, sms: own.channels.sms! }, campaigns: [PING, GIFT], members });
        if (url) repo.env.CHUDA_LEDGER_URL = url;
        const d = await dispatch(repo, AT);
        expect(d.exitCode, d.stderr).toBe(0);
        const again = await dispatch(repo, AT);
        expect(summaryOf(again).sent).toBe(0);
        const st = await status(repo);
        const sim = await run(repo, ["simulate", "--members", repo.members, "--at", AT, "--json"]);
        expect(sim.exitCode, sim.stderr).toBe(0);
        return { repo, summary: summaryOf(d), status: st, deliveries: own.deliveries().length, simulate: JSON.parse(sim.stdout) as unknown };
      } finally {
        await own.close();
      }
    };
    const url = await newDatabase();
    const onSqlite = await runOn(undefined);
    const onPostgres = await runOn(url);
    expect(onPostgres.summary.sent).toBeGreaterThan(0);
    expect(onPostgres.status.sends).toEqual(onSqlite.status.sends);
    expect(onPostgres.status.by_campaign).toEqual(onSqlite.status.by_campaign);
    expect(onPostgres.status.runs.map((r) => r.status)).toEqual(onSqlite.status.runs.map((r) => r.status));
    expect(onPostgres.deliveries).toBe(onSqlite.deliveries);
    // simulate --at after the run reads the ledger's history: what was sent is not planned again.
    expect(onPostgres.simulate).toEqual(onSqlite.simulate);
    // The run wrote nothing to .chuda/state.db: the ledger is in PostgreSQL.
    expect(existsSync(path.join(onPostgres.repo.dir, ".chuda/state.db"))).toBe(false);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const n = (await client.query(`SELECT COUNT(*)::int AS n FROM sends WHERE state = 'sent'`)).rows[0].n as number;
      expect(n).toBe(onSqlite.status.sends.sent);
    } finally {
      await client.end();
    }
    // Another ledger's URL in the same repository is refused: its history is not this repository's.
    const other = await newDatabase();
    const refused = await run({ ...onPostgres.repo, env: { ...onPostgres.repo.env, CHUDA_LEDGER_URL: other } }, ["status"]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^chuda: the ledger at the configured URL is not this repository's/);
  });
});

describe("chuda ledger copy / migrate", () => {
  it("copies a SQLite ledger's whole history into PostgreSQL, ids and ledger id included; never into one with history", async () => {
    const repo = repoWith();
    const d = await dispatch(repo, AT);
    expect(d.exitCode, d.stderr).toBe(0);
    const sent = summaryOf(d).sent;
    expect(sent).toBeGreaterThan(0);
    const url = await newDatabase();
    const c = await run(repo, ["ledger", "copy", "--from", ".chuda/state.db", "--to", url]);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(
      /^copied \.chuda\/state\.db → postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/e2e_\d+_\d+: 1 run, 2 occurrences, \d+ sends, 0 test sends, \d+ tokens?; ledger id [0-9a-f-]{36}$/,
    );
    expect(c.stdout + c.stderr).not.toContain(PASSWORD);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const ledgerId = (await client.query(`SELECT value FROM meta WHERE key = 'ledger_id'`)).rows[0].value;
      expect(c.stdout).toContain(ledgerId);
      const marker = (await import("node:fs")).readFileSync(path.join(repo.dir, ".chuda/ledger-id"), "utf8").trim();
      expect(ledgerId).toBe(marker);
      const bystate = (await client.query(`SELECT state, COUNT(*)::int AS n FROM sends GROUP BY state`)).rows as { state: string; n: number }[];
      const s = await status(repo);
      for (const { state, n } of bystate) expect(s.sends[state as keyof typeof s.sends], state).toBe(n);
      expect(bystate.find((r) => r.state === "sent")?.n).toBe(sent);
      // A new send after the copy gets an id past the copied ones.
      const max = (await client.query(`SELECT MAX(id)::int AS m FROM sends`)).rows[0].m as number;
      const next = (await client.query(`SELECT nextval(pg_get_serial_sequence('sends', 'id'))::int AS n`)).rows[0].n as number;
      expect(next).toBeGreaterThan(max);
    } finally {
      await client.end();
    }

    const again = await run(repo, ["ledger", "copy", "--to", url]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(
      /^chuda: the ledger postgres:\/\/postgres:\*\*\*@[^ ]+ already holds 1 runs and \d+ sends; copying into it would mix two histories \(CH9205\)\nhint: /,
    );
    expect(again.stderr).not.toContain(PASSWORD);
    expect(hasStackTrace(again.stderr)).toBe(false);
  });

  it("migrate: applies the steps once, then reports the ledger up to date; SQLite without a URL", async () => {
    const repo = repoWith(10);
    const url = await newDatabase();
    const env = { ...repo.env, CHUDA_LEDGER_URL: url };
    const first = await run({ ...repo, env }, ["ledger", "migrate"]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^ledger postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/e2e_\d+_\d+: schema version 0 → 7 \(7 steps applied\)$/);
    const second = await run({ ...repo, env }, ["ledger", "migrate"]);
    expect(second.stdout).toMatch(/: schema version 7, up to date$/);
    const sqlite = await run(repo, ["ledger", "migrate"]);
    expect(sqlite.exitCode, sqlite.stderr).toBe(0);
    expect(sqlite.stdout).toMatch(/^ledger .*\.chuda\/state\.db: schema version 0 → 2 \(2 steps applied\)$/);
  });

  it("the ledger's server going away mid-run is one line with a code (exit 2), not an internal error", async () => {
    const own = await startPostgres({ durable: false });
    try {
      const url = await own.database("lost_mid_run");
      // 200 webhook calls at 20 a second: the run is sending for about ten seconds.
      const repo = makeRepo({ channels: { hook: { ...fakes.channels.hook!, rateLimit: 20 } }, campaigns: [PING], members: makeMembers(200, 11) });
      const child = execa(process.execPath, [BIN, "dispatch", "--members", repo.members, "--at", AT], {
        cwd: repo.dir,
        env: { CI: "true", NO_COLOR: "1", ...repo.env, CHUDA_LEDGER_URL: url },
        reject: false,
        timeout: 120_000,
      });
      const sql = new pg.Client({ connectionString: url });
      await sql.connect();
      let sending = false;
      for (let i = 0; i < 600 && !sending; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const r = await sql.query(`SELECT count(*)::int AS n FROM sends WHERE state = 'sent'`).catch(() => ({ rows: [{ n: 0 }] }));
        sending = r.rows[0].n > 0;
      }
      await sql.end();
      expect(sending).toBe(true);
      await own.stop();
      const r = await child;
      expect(r.exitCode).toBe(2);
      expect(String(r.stderr)).toMatch(/chuda: the ledger postgres:\/\/postgres@127\.0\.0\.1:\d+\/lost_mid_run failed during the run: .+ \(CH9207\)/);
      expect(String(r.stderr)).toMatch(/hint: sends marked in flight stay so until the next run reconciles them; none is sent twice/);
      expect(String(r.stderr)).not.toContain("internal error");
      expect(hasStackTrace(String(r.stderr))).toBe(false);
    } finally {
      await own.stop();
    }
  });

  it("one-line errors with codes: an unreachable server, a variable that is not set, a URL that is not PostgreSQL", async () => {
    const repo = repoWith(10);
    const down = await run({ ...repo, env: { ...repo.env, CHUDA_LEDGER_URL: `postgres://chuda:${PASSWORD}@127.0.0.1:1/ledger` } }, ["ledger", "migrate"]);
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toMatch(/^chuda: cannot open the ledger postgres:\/\/chuda:\*\*\*@127\.0\.0\.1:1\/ledger: .+ \(CH9202\)\nhint: /);
    expect(down.stderr).not.toContain(PASSWORD);
    expect(hasStackTrace(down.stderr)).toBe(false);

    appendFileSync(path.join(repo.dir, "chuda.yaml"), "ledger: { url_env: MALL_LEDGER_URL }\n");
    const unset = await run(repo, ["ledger", "migrate"]);
    expect(unset.exitCode).toBe(2);
    expect(unset.stderr).toMatch(
      /^chuda: chuda\.yaml puts the ledger at the URL in \$MALL_LEDGER_URL \(`ledger\.url_env`\), but MALL_LEDGER_URL is not set \(CH9200\)\n/,
    );

    const mysql = await run({ ...repo, env: { ...repo.env, MALL_LEDGER_URL: `mysql://u:${PASSWORD}@db/x` } }, ["ledger", "migrate"]);
    expect(mysql.exitCode).toBe(2);
    expect(mysql.stderr).toMatch(/^chuda: MALL_LEDGER_URL is not a PostgreSQL URL: .* \(CH9201\)\n/);
    expect(mysql.stderr).not.toContain(PASSWORD);

    const missing = await run(repo, ["ledger", "copy", "--from", "nope.db", "--to", "postgres://x@127.0.0.1:1/y"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^chuda: no SQLite ledger at nope\.db \(CH9204\)\n/);
  });

  it("a URL without the password the server asks for, and a lease that is not a number of seconds: one line each", async () => {
    const repo = repoWith(10);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD 'pw-${PASSWORD}'`);
    } finally {
      await admin.end();
    }
    const noPassword = `postgres://${PASSWORD_ROLE}@127.0.0.1:${server.port}/postgres`;
    const r = await run({ ...repo, env: { ...repo.env, CHUDA_LEDGER_URL: noPassword } }, ["status"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^chuda: cannot open the ledger .*: the server asks for a password and the URL gives none .*\(CH9202\)\n/);
    expect(r.stderr).toContain("postgres://USER:…@HOST/DATABASE");
    expect(hasStackTrace(r.stderr)).toBe(false);
    // The same login for the members: one line, and the process ends (the refused login's socket is closed).
    const m = await run(repo, ["simulate", "--members", noPassword, "--from", "2026-12-24", "--to", "2026-12-24"]);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/refused the login: the server asks for a password and the URL gives none .*\[CH6021\]/);

    for (const lease of ["2m", "0", ""]) {
      const bad = await run({ ...repo, env: { ...repo.env, CHUDA_LEDGER_URL: noPassword, CHUDA_LEDGER_LEASE_SECONDS: lease } }, ["status"]);
      expect(bad.exitCode, lease).toBe(2);
      expect(bad.stderr).toMatch(/^chuda: CHUDA_LEDGER_LEASE_SECONDS is `.*`: it must be a number of seconds, at least 1 \(CH9208\)\n/);
    }
  });

  it("chuda.yaml: the URL itself is refused, `url_env` must be a variable's name", async () => {
    const repo = repoWith(10);
    const yaml = path.join(repo.dir, "chuda.yaml");
    const base = (await import("node:fs")).readFileSync(yaml, "utf8");
    writeFileSync(yaml, base + `ledger:\n  url: postgres://chuda:${PASSWORD}@db/ledger\n`);
    const inline = await run(repo, ["validate"]);
    expect(inline.exitCode).toBe(1);
    expect(inline.stdout + inline.stderr).toContain("CH2060");
    expect(inline.stdout + inline.stderr).toContain("CH2061");
    expect(inline.stdout + inline.stderr).not.toContain(PASSWORD);
    writeFileSync(yaml, base + `ledger: { url_env: "postgres://chuda:${PASSWORD}@db/ledger" }\n`);
    const value = await run(repo, ["validate"]);
    expect(value.exitCode).toBe(1);
    expect(value.stdout + value.stderr).toContain("CH2062");
    expect(value.stdout + value.stderr).not.toContain(PASSWORD);
    writeFileSync(yaml, base + `ledger: { url_env: MALL_LEDGER_URL }\n`);
    const ok = await run(repo, ["validate"]);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
  });
});
