/** Several workers on one PostgreSQL ledger: claims, leases, dead runs, the planning lock, the shared rate budget and tokens. */
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import type { SendInsert } from "../dispatch/ledger.js";
import { testSend } from "../../test/fixtures/sends.js";
import { PostgresLedger } from "./postgres.js";
import { sharedRateGate } from "./shared-rate.js";

let server: PostgresServer;
let n = 0;
const open: PostgresLedger[] = [];
const clients: pg.Client[] = [];
beforeAll(async () => {
  server = await startPostgres({ durable: false });
});
afterAll(async () => {
  await server.stop();
});
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
  for (const c of clients.splice(0)) await c.end();
});

/**
 * `count` workers (each its own connection, lease name and, unless `started` is false, live run) on one new ledger, and
 * a plain connection to look at it.
 */
async function workers(count: number, started = true): Promise<{ ws: PostgresLedger[]; sql: pg.Client }> {
  const url = await server.database(`workers_${process.pid}_${++n}`);
  const ws: PostgresLedger[] = [];
  for (let i = 0; i < count; i++) {
    const w = await PostgresLedger.open(url);
    if (started) await w.startRun(0, 0);
    ws.push(w);
  }
  open.push(...ws);
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  clients.push(sql);
  return { ws, sql };
}

const OCC = "2026-12-24T10:00:00+08:00";
function sends(count: number): SendInsert[] {
  return Array.from({ length: count }, (_, i) => {
    const member = `M${String(i).padStart(4, "0")}`;
    return testSend({ occurrence: OCC, member, channel: "sms", send_at: i, updated_at: 0 });
  });
}

describe("several workers on one PostgreSQL ledger", () => {
  it("a group commit that gets no writer connection fails its marks, and every write after it, instead of waiting forever", async () => {
    const { ws, sql } = await workers(1);
    const w = ws[0]!;
    await w.insertSends(sends(3));
    const due = await w.due("sms", 100, 100, 3);
    const db = (await sql.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]!.db;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    clients.push(admin);
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    try {
      await expect(
        w.markInFlightQueued(
          due.map((r) => r.id),
          1,
          1,
        ),
      ).rejects.toThrow(/cannot connect to the ledger/);
      await expect(w.markInFlightQueued([due[0]!.id], 1, 1)).rejects.toThrow(/cannot connect to the ledger/);
      await expect(w.flush()).rejects.toThrow(/cannot connect to the ledger/);
    } finally {
      await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
    }
    // Nothing was marked: the sends are still planned for the next run.
    expect((await sql.query(`SELECT state FROM sends ORDER BY id`)).rows.map((r) => r.state)).toEqual(["planned", "planned", "planned"]);
  });

  it("due leases a batch to its worker: the others take the next sends, and a send is marked in flight by one worker only", async () => {
    const { ws } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    await a.insertSends(sends(10));
    const fromA = await a.due("sms", 100, 100, 4);
    const fromB = await b.due("sms", 100, 100, 4);
    expect(fromA.map((r) => r.member)).toEqual(["M0000", "M0001", "M0002", "M0003"]);
    expect(fromB.map((r) => r.member)).toEqual(["M0004", "M0005", "M0006", "M0007"]);
    // A worker reads its own batch again (a retry within its run).
    expect((await a.due("sms", 100, 100, 4)).map((r) => r.member)).toEqual(fromA.map((r) => r.member));
    // Even given the same ids, the in-flight mark is the claim: one worker wins each send.
    const ids = fromA.map((r) => r.id);
    const [wonA, wonB] = await Promise.all([a.markInFlightQueued(ids, 1, 1), b.markInFlightQueued(ids, 2, 1)]);
    expect(wonA.size + wonB.size).toBe(4);
    expect([...wonA].filter((id) => wonB.has(id))).toEqual([]);
    expect(await b.hasDue("sms", 100, 100)).toBe(true);
    expect((await b.due("sms", 100, 100, 10)).map((r) => r.member)).toEqual(["M0004", "M0005", "M0006", "M0007", "M0008", "M0009"]);
    expect(await a.hasDue("sms", 100, 100)).toBe(false);
  });

  it("a worker alone reads without leasing; once another worker's run is live, it leases what it reads", async () => {
    const { ws, sql } = await workers(2, false);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    await a.startRun(0, 0);
    await a.insertSends(sends(6));
    const leased = async () => (await sql.query(`SELECT COUNT(*)::int AS n FROM sends WHERE lease_owner IS NOT NULL`)).rows[0].n;
    expect((await a.due("sms", 100, 100, 3)).length).toBe(3);
    expect(await leased()).toBe(0);
    await b.startRun(0, 0);
    expect((await a.due("sms", 100, 100, 3)).length).toBe(3);
    expect(await leased()).toBe(3);
    expect((await b.due("sms", 100, 100, 6)).map((r) => r.member)).toEqual(["M0003", "M0004", "M0005"]);
  });

  it("a send attempted by another worker since it was read is not marked, though it is planned again for its retry", async () => {
    const { ws } = await workers(2, false);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = await a.startRun(0, 0);
    await a.insertSends(sends(2));
    // A reads alone (no lease); B starts and takes the same sends before A marks them.
    const read = await a.due("sms", 100, 100, 2);
    const runB = await b.startRun(0, 0);
    const taken = await b.markInFlightQueued(
      read.map((r) => r.id),
      runB,
      100,
      read.map((r) => r.attempts),
    );
    expect(taken.size).toBe(2);
    // B's attempt failed for now: the sends wait for their retry, planned again.
    await b.finish(
      read.map((r) => ({ id: r.id, key: r.key, state: "planned", error_code: "throttled", error_message: "retry later", not_before: 10_000 })),
      100,
    );
    expect(
      await a.markInFlightQueued(
        read.map((r) => r.id),
        runA,
        101,
        read.map((r) => r.attempts),
      ),
    ).toEqual(new Set());
    expect((await b.due("sms", 100, 20_000, 2)).map((r) => r.attempts)).toEqual([1, 1]);
  });

  it("a lease is written beside the row it claims (a heap-only update that touches no index)", async () => {
    // Leases are taken while another worker is live.
    const { ws, sql } = await workers(2);
    const [a] = ws as [PostgresLedger];
    // Rows as wide as real ones (rendered content), over many pages.
    await a.insertSends(
      sends(400).map((s) => ({ ...s, content: JSON.stringify({ kind: "sms", text: "会员日全场满300减50，礼券VIP50到店可用。".repeat(6) }) })),
    );
    const pages = async () =>
      new Map((await sql.query(`SELECT key, (ctid::text::point)[0]::int AS page FROM sends`)).rows.map((r: { key: string; page: number }) => [r.key, r.page]));
    const before = await pages();
    expect(new Set(before.values()).size).toBeGreaterThan(10);
    expect((await a.due("sms", 1_000, 1_000, 400)).length).toBe(400);
    expect((await sql.query(`SELECT COUNT(*)::int AS n FROM sends WHERE lease_owner IS NOT NULL`)).rows[0].n).toBe(400);
    // Every new version is on the page of the old one: there was room for it.
    expect([...(await pages())].filter(([key, page]) => before.get(key) !== page)).toEqual([]);
  });

  it("sends in flight of a live worker are not another's to reconcile, even past the lease; once its run is dead they are", async () => {
    const { ws, sql } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = (await a.runs()).find((r) => r.status === "running")!.id;
    await a.insertSends(sends(3));
    const due = await a.due("sms", 100, 100, 3);
    await a.markInFlightQueued(
      due.map((r) => r.id),
      runA,
      1,
    );
    expect(await b.inFlight()).toEqual([]);
    expect((await a.inFlight()).length).toBe(3);
    // A batch paced by a low rate limit outlasts the lease: its worker is alive (heartbeat), so it is still its own.
    await sql.query(`UPDATE sends SET lease_until = 0`);
    expect(await b.inFlight()).toEqual([]);
    // The worker was killed: its heartbeat stops, and its lease has run out.
    await sql.query(`UPDATE runs SET heartbeat_at = 0 WHERE id = $1`, [runA]);
    expect((await b.inFlight()).map((r) => r.member)).toEqual(["M0000", "M0001", "M0002"]);
    await sql.query(`UPDATE runs SET heartbeat_at = (extract(epoch from clock_timestamp()) * 1000)::bigint WHERE id = $1`, [runA]);
    // A lease left on planned sends (read, never marked) runs out the same way.
    await b.insertSends(sends(5));
    await a.due("sms", 100, 100, 5);
    expect(await b.due("sms", 100, 100, 5)).toEqual([]);
    await sql.query(`UPDATE sends SET lease_until = 0 WHERE state = 'planned'`);
    expect((await b.due("sms", 100, 100, 5)).map((r) => r.member)).toEqual(["M0003", "M0004"]);
  });

  it("another run's sends in flight are counted live while it beats, silent once it stops; status sees the silent run", async () => {
    const { ws, sql } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = (await a.runs()).find((r) => r.status === "running")!.id;
    const runB = await b.startRun(1, 1);
    await a.insertSends(sends(4));
    const due = await a.due("sms", 100, 100, 3);
    await a.markInFlightQueued(
      due.map((r) => r.id),
      runA,
      1,
    );
    expect(await b.inFlightElsewhere(runB)).toEqual({ live: 3, silent: 0 });
    expect(await a.inFlightElsewhere(runA)).toEqual({ live: 0, silent: 0 });
    expect((await b.runs()).find((r) => r.id === runA)?.stale).toBeUndefined();
    // Killed: no heartbeat for a while, though its lease still runs and the run is still marked running.
    await sql.query(`UPDATE runs SET heartbeat_at = (extract(epoch from clock_timestamp()) * 1000)::bigint - 20000 WHERE id = $1`, [runA]);
    expect(await b.inFlightElsewhere(runB)).toEqual({ live: 0, silent: 3 });
    const seen = (await b.runs()).find((r) => r.id === runA)!;
    expect(seen).toMatchObject({ status: "running", stale: true });
    expect(seen.last_seen).toBeGreaterThan(0);
  });

  it("a run is interrupted only when its heartbeat stopped, not while another worker runs", async () => {
    const { ws, sql } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = await a.startRun(1, 1);
    const runB = await b.startRun(1, 1);
    expect(await b.markDeadRunsInterrupted(runB, 2)).toBe(0);
    await sql.query(`UPDATE runs SET heartbeat_at = 0 WHERE id = $1`, [runA]);
    expect(await b.markDeadRunsInterrupted(runB, 2)).toBe(1);
    expect((await b.runs()).find((r) => r.id === runA)?.status).toBe("interrupted");
  });

  it("planning is one worker at a time: the second waits for the first to release", async () => {
    const { ws } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const events: string[] = [];
    const releaseA = await a.lockPlanning();
    events.push("a locked");
    const bLocked = b.lockPlanning().then((release) => {
      events.push("b locked");
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    events.push("a releases");
    await releaseA();
    await (
      await bLocked
    )();
    expect(events).toEqual(["a locked", "a releases", "b locked"]);
  });

  it("access tokens: of three workers needing one at once, one fetches it and the others read it", async () => {
    const { ws } = await workers(3);
    let fetches = 0;
    const tokens = await Promise.all(
      ws.map((w) =>
        w.withTokenLock("wechat:wx_app", async () => {
          const have = await w.getToken("wechat:wx_app", 0);
          if (have) return have;
          fetches++;
          await new Promise((r) => setTimeout(r, 50));
          await w.putToken("wechat:wx_app", `token-${fetches}`, 10_000);
          return `token-${fetches}`;
        }),
      ),
    );
    expect(fetches).toBe(1);
    expect(tokens).toEqual(["token-1", "token-1", "token-1"]);
  });

  it("the rate budget is shared: three workers' gates together never let more than n calls leave in any window", async () => {
    const { ws } = await workers(3);
    const n = 40;
    const windowMs = 1000;
    const left: number[] = [];
    const clock = () => performance.timeOrigin + performance.now();
    await Promise.all(
      ws.map(async (w) => {
        const gate = sharedRateGate((count) => w.bookRate("sms", n, windowMs + 25, count), n, clock);
        for (let i = 0; i < 30; i++) {
          await gate.take();
          left.push(clock());
        }
      }),
    );
    expect(left.length).toBe(90);
    left.sort((a, b) => a - b);
    // Every window of 1000 ms starting at a call holds at most n calls (the gates' 25 ms margin absorbs timer jitter).
    for (let i = 0; i < left.length; i++) {
      const inWindow = left.filter((t) => t >= left[i]! && t < left[i]! + windowMs).length;
      expect(inWindow).toBeLessThanOrEqual(n);
    }
  });
});
