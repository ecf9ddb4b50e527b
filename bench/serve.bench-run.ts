/**
 * `chuda serve` receipt ingestion: Aliyun-style pushes (JSON arrays of 100 delivery reports) from 8 connections at
 * once, for 60 s (BENCH_SERVE_SECONDS), into a durable ledger (WAL, synchronous=FULL: every commit synced) holding
 * BENCH_SERVE_SENDS sends with provider ids. Each push is answered only after its commit; requests arriving together
 * share one commit (group commit). Reported: receipts committed per second (goal: at least 5,000), pushes per second,
 * and how many pushes one commit carried. The ledger is checked afterwards: every acknowledged receipt is in it.
 * The same on a PostgreSQL ledger (CHUDA_LEDGER_URL; a real server with durable commits, the sends copied in by
 * `ledger copy`'s code). Figures only; nothing here asserts on time.
 */
import { afterAll, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { SqliteLedger } from "../src/dispatch/ledger.js";
import { copySqliteToPostgres } from "../src/ledger/copy.js";
import { startPostgres, type PostgresServer } from "../test/servers/postgres.js";
import { cnDateTime } from "../test/fakes/aliyun-sms.js";
import { makeMembers, makeRepo } from "../test/e2e/dispatch-helpers.js";
import { startServe } from "../test/e2e/serve-helpers.js";
import { figure, printFigures } from "./figures.js";

const SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 60);
const SENDS = Number(process.env.BENCH_SERVE_SENDS ?? 1_000_000);
const BATCH = 100;
const CONNECTIONS = 8;
const TOKEN = "bench_cb_token";
const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const repos: string[] = [];
let postgres: PostgresServer | undefined;

/** The ledger's receipts and the sends they were applied to. */
async function countsOf(file: string, url: string | undefined): Promise<{ stored: number; applied: number }> {
  const sql = `SELECT (SELECT COUNT(*) FROM receipts) AS stored, (SELECT COUNT(*) FROM sends WHERE delivery_at IS NOT NULL) AS applied`;
  if (!url) {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).get() as { stored: number; applied: number };
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = (await c.query<{ stored: string; applied: string }>(sql)).rows[0]!;
    return { stored: Number(r.stored), applied: Number(r.applied) };
  } finally {
    await c.end();
  }
}

function post(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

it.each(["SQLite", "PostgreSQL"])(
  `serve ingests Aliyun receipts for ${SECONDS} s, durable, on %s`,
  async (backend) => {
    const repo = makeRepo({
      channels: { sms: { driver: "aliyun-sms", baseUrl: "http://127.0.0.1:9" } },
      campaigns: [{ name: "flat", template: "flat", channels: ["sms"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP50" } }],
      members: makeMembers(10, 1),
    });
    repos.push(repo.dir);
    const yaml = path.join(repo.dir, "chuda.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("access_key_secret: ALIYUN_SK", "access_key_secret: ALIYUN_SK, callback_token: SMS_CB_TOKEN"));
    repo.env.SMS_CB_TOKEN = TOKEN;
    // The sends a dispatch would have left: sent, each with its BizId (one per 10 numbers, as a SendSms of 10).
    const at = Date.parse("2026-12-24T10:30:00+08:00");
    const ledger = new SqliteLedger(path.join(repo.dir, ".chuda/state.db"));
    const phone = (i: number) => `139${String(i).padStart(8, "0")}`;
    const insert = ledger.db.prepare(
      `INSERT INTO sends (key, campaign, occurrence, member, channel, state, send_at, address, provider_id, attempts, updated_at) VALUES (?, 'flat', 'o', ?, 'sms', 'sent', ?, ?, ?, 1, ?)`,
    );
    ledger.db.transaction(() => {
      for (let i = 0; i < SENDS; i++) insert.run(`flat|o|M${i}|sms`, `M${i}`, at, phone(i), `biz${Math.floor(i / 10)}^0`, at);
    })();
    await ledger.close();
    const file = path.join(repo.dir, ".chuda/state.db");
    let ledgerUrl: string | undefined;
    if (backend === "PostgreSQL") {
      postgres ??= await startPostgres();
      ledgerUrl = await postgres.database(`bench_serve_${process.pid}`);
      const client = new pg.Client({ connectionString: ledgerUrl });
      await client.connect();
      await copySqliteToPostgres(file, client);
      await client.end();
      rmSync(file);
      repo.env.CHUDA_LEDGER_URL = ledgerUrl;
    }

    const served = await startServe(repo, [], { CHUDA_LOG_LEVEL: "warn" });
    const url = new URL(`${served.url}/callbacks/sms/${TOKEN}`);
    const report = (i: number) => ({
      phone_number: phone(i),
      send_time: cnDateTime(at),
      report_time: cnDateTime(at + 5000 + (i % 50) * 1000),
      success: i % 20 !== 0,
      err_code: i % 20 !== 0 ? "DELIVERED" : "MK:0001",
      err_msg: "",
      sms_size: "1",
      biz_id: `biz${Math.floor(i / 10)}^0`,
      out_id: "",
    });
    let next = 0;
    let acked = 0;
    let pushes = 0;
    let refused = 0;
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < deadline && next + BATCH <= SENDS) {
          const from = next;
          next += BATCH;
          const body = JSON.stringify(Array.from({ length: BATCH }, (_, k) => report(from + k)));
          const status = await post(agent, url, body);
          pushes++;
          if (status === 200) acked += BATCH;
          else refused++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    agent.destroy();
    await served.stop();
    const { stored, applied } = await countsOf(file, ledgerUrl);
    expect(refused).toBe(0);
    expect(stored).toBe(acked);
    expect(applied).toBe(acked);
    figure(
      `serve receipts/s on ${backend} (durable, group commit)`,
      fmt(acked / elapsed),
      `${fmt(acked)} receipts in ${elapsed.toFixed(1)} s, ${CONNECTIONS} connections, ${BATCH} per push`,
    );
    figure(`serve pushes/s on ${backend}`, fmt(pushes / elapsed));
  },
  3_600_000,
);

afterAll(async () => {
  printFigures();
  await postgres?.stop();
  for (const d of repos) rmSync(d, { recursive: true, force: true });
});
