/**
 * kill -9 of `chuda serve` in the middle of a receipt push: every push answered 200 was committed first, so the
 * provider's retries (against the restarted server) make every receipt land in the ledger exactly once. On the SQLite
 * ledger and on a PostgreSQL one (CHUDA_LEDGER_URL, a real server with durable commits).
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { startPostgres, type PostgresServer } from "../servers/postgres.js";
import { dispatch, makeMembers, makeRepo, startFakes, status, summaryOf, waitFor, type Fakes, type TestRepo } from "./dispatch-helpers.js";
import { startServe, type Served } from "./serve-helpers.js";
import { aliyunReport, pushWithRetry } from "../fakes/push.js";

const TOKEN = "sms_cb_token_crash";

interface ReceiptCounts {
  n: number;
  distinct: number;
  unmatched: number;
}
const COUNTS = `SELECT COUNT(*) AS n, COUNT(DISTINCT dedupe) AS "distinct", SUM(CASE WHEN send_key IS NULL THEN 1 ELSE 0 END) AS unmatched FROM receipts`;

interface Backend {
  name: string;
  /** Points the repository at its ledger (nothing for SQLite's .chuda/state.db). */
  use(repo: TestRepo): Promise<void>;
  receipts(repo: TestRepo): Promise<ReceiptCounts>;
}

let postgresServer: PostgresServer | undefined;
afterAll(async () => {
  await postgresServer?.stop();
});

const sqlite: Backend = {
  name: "SQLite",
  use: async () => undefined,
  async receipts(repo) {
    const db = new Database(path.join(repo.dir, ".chuda/state.db"), { readonly: true });
    try {
      return db.prepare(COUNTS).get() as ReceiptCounts;
    } finally {
      db.close();
    }
  },
};

const postgres: Backend = {
  name: "PostgreSQL",
  async use(repo) {
    postgresServer ??= await startPostgres();
    repo.env.CHUDA_LEDGER_URL = await postgresServer.database(`serve_crash_${process.pid}`);
  },
  async receipts(repo) {
    const c = new pg.Client({ connectionString: repo.env.CHUDA_LEDGER_URL });
    await c.connect();
    try {
      const row = (await c.query<Record<keyof ReceiptCounts, string>>(COUNTS)).rows[0]!;
      return { n: Number(row.n), distinct: Number(row.distinct), unmatched: Number(row.unmatched) };
    } finally {
      await c.end();
    }
  },
};

describe.each([sqlite, postgres])("chuda serve killed with SIGKILL during a receipt batch, on $name", (backend) => {
  let fakes: Fakes | undefined;
  let served: Served | undefined;
  afterAll(async () => {
    await served?.stop();
    await fakes?.close();
  });

  it("after a restart and the provider's retries, every receipt is in the ledger exactly once", async () => {
    const members = makeMembers(120, 11, { sms: 1, unsubscribed: 0 });
    fakes = await startFakes(members);
    const repo = makeRepo({
      channels: { sms: fakes.channels.sms! },
      campaigns: [{ name: "notice", template: "notice", channels: ["sms"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    const file = path.join(repo.dir, "chuda.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("access_key_secret: ALIYUN_SK", "access_key_secret: ALIYUN_SK, callback_token: SMS_CB_TOKEN"));
    repo.env.SMS_CB_TOKEN = TOKEN;
    await backend.use(repo);
    const d = await dispatch(repo, "2026-12-24 10:30");
    expect(summaryOf(d).sent).toBe(120);

    served = await startServe(repo);
    const port = new URL(served.url).port;
    const url = `${served.url}/callbacks/sms/${TOKEN}`;
    const reports = fakes.sms.deliveries().map((x, i) => aliyunReport(x, i % 4 !== 0, x.at + 60_000));
    // 24 batches of 5 from 4 connections, each pushing its batches one after another (30 ms apart), each push retried
    // as Aliyun retries until it gets a 200.
    const batches = Array.from({ length: 24 }, (_, i) => JSON.stringify(reports.slice(i * 5, i * 5 + 5)));
    const worker = async (w: number) => {
      const out = [];
      for (let i = w; i < batches.length; i += 4) {
        out.push(await pushWithRetry(url, batches[i]!, { attempts: 100, delayMs: 100 }));
        await new Promise((r) => setTimeout(r, 30));
      }
      return out;
    };
    const pushes = Promise.all([0, 1, 2, 3].map(worker));
    // Kill the server once a few batches are committed (the rest are on their way), then bring it back on the same port.
    const first = served;
    await waitFor(() => (first.stderr().match(/"msg":"callback"/g) ?? []).length >= 4, 30_000, "first batches committed");
    await first.kill9();
    served = await startServe(repo, ["--port", port]);
    const results = (await pushes).flat();
    expect(results.every((r) => r.statuses.at(-1) === 200)).toBe(true);
    // Some pushes did fail and were retried (the kill happened during the batch), and a batch pushed twice is harmless.
    expect(results.some((r) => r.statuses.length > 1)).toBe(true);
    expect((await pushWithRetry(url, batches[0]!, { attempts: 1 })).statuses).toEqual([200]);

    expect(await backend.receipts(repo)).toEqual({ n: 120, distinct: 120, unmatched: 0 });
    const s = (await status(repo)) as unknown as { delivery: { delivered: number; failed: number; unconfirmed: number } };
    expect(s.delivery).toEqual({ delivered: 90, failed: 30, unconfirmed: 0 });
  });
});
