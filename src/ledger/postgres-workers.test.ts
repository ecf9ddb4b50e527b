/** Several workers on one PostgreSQL ledger: shares of due sends, claims, leases, dead runs, the planning lock, the shared rate budget and tokens. */
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

  it("due gives each live worker its own share of the due sends; a send is marked in flight by one worker only", async () => {
    const { ws } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    await a.insertSends(sends(10));
    const fromA = await a.due("sms", 100, 100, 4);
    const fromB = await b.due("sms", 100, 100, 4);
    const members = (rows: { member: string }[]) => rows.map((r) => r.member);
    // Disjoint shares, each in send order.
    expect(fromA.length).toBe(4);
    expect(fromB.length).toBe(4);
    expect(members(fromA).filter((m) => members(fromB).includes(m))).toEqual([]);
    for (const rows of [fromA, fromB]) expect(members(rows)).toEqual([...members(rows)].sort());
    // A worker reads its own share again (a retry within its run).
    expect(members(await a.due("sms", 100, 100, 4))).toEqual(members(fromA));
    // Even given the same ids, the in-flight mark is the claim: one worker wins each send.
    const ids = fromA.map((r) => r.id);
    const [wonA, wonB] = await Promise.all([a.markInFlightQueued(ids, 1, 1), b.markInFlightQueued(ids, 2, 1)]);
    expect(wonA.size + wonB.size).toBe(4);
    expect([...wonA].filter((id) => wonB.has(id))).toEqual([]);
    // A's share has one send left; once that is marked too, A helps with B's share.
    const lastOfA = await a.due("sms", 100, 100, 10);
    expect(lastOfA.length).toBe(1);
    expect(members(fromB)).not.toContain(lastOfA[0]!.member);
    expect((await a.markInFlightQueued([lastOfA[0]!.id], 1, 1)).size).toBe(1);
    expect(members(await a.due("sms", 100, 100, 10))).toEqual(members(await b.due("sms", 100, 100, 10)));
    expect((await a.due("sms", 100, 100, 10)).length).toBe(5);
    expect(await a.hasDue("sms", 100, 100)).toBe(true);
  });

  it("two workers marking the same sends in opposite orders never deadlock: one waits, each send is marked once", async () => {
    // No runs: each reads every due send (no shares).
    const { ws, sql } = await workers(2, false);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    await a.insertSends(sends(100));
    const ids = (await a.due("sms", 10_000, 10_000, 100)).map((r) => r.id);
    expect(ids.length).toBe(100);
    // A third session holds the middle send, so that both marks are under way at once when it lets go: a queued its
    // batches in order and b in reverse, and without a common order each would hold what the other waits for.
    const db = (await sql.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]!.db;
    await sql.query("BEGIN");
    await sql.query("SELECT 1 FROM sends WHERE id = $1 FOR UPDATE", [ids[50]]);
    const batches = Array.from({ length: 10 }, (_, i) => ids.slice(i * 10, i * 10 + 10));
    const marks = (w: PostgresLedger, order: number[][]) => Promise.all(order.map((batch) => w.markInFlightQueued(batch, 1, 1)));
    const both = Promise.all([
      marks(a, batches),
      marks(
        b,
        [...batches].reverse().map((x) => [...x].reverse()),
      ),
    ]);
    // Watched from a session of its own (inside a transaction, pg_stat_activity stays as first read).
    const watch = new pg.Client({ connectionString: server.url });
    await watch.connect();
    clients.push(watch);
    const waiting = async () =>
      (await watch.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1`, [db])).rows[0]!.n;
    while ((await waiting()) < 2) await new Promise((r) => setTimeout(r, 10));
    await sql.query("COMMIT");
    const [fromA, fromB] = await both;
    const won = (groups: Set<number>[]) => groups.flatMap((g) => [...g]);
    expect(won(fromA).length + won(fromB).length).toBe(100);
    expect(won(fromA).filter((id) => won(fromB).includes(id))).toEqual([]);
  });

  it("a group commit that PostgreSQL rolls back to end a deadlock is made again, not the end of the run", async () => {
    const { ws, sql } = await workers(1, false);
    const [a] = ws as [PostgresLedger];
    await a.insertSends(sends(20));
    const ids = (await a.due("sms", 10_000, 10_000, 20)).map((r) => r.id);
    const db = (await sql.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]!.db;
    const watch = new pg.Client({ connectionString: server.url });
    await watch.connect();
    clients.push(watch);
    const waiting = async () =>
      (await watch.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1`, [db])).rows[0]!.n;
    // Another session holds the last send, then asks for the first one, which the worker's mark holds while it waits
    // for the last: a deadlock. That session waits longer before it looks for one, so the worker's commit is the one
    // PostgreSQL rolls back.
    await sql.query("BEGIN");
    await sql.query("SET LOCAL deadlock_timeout = '20s'");
    await sql.query("SELECT 1 FROM sends WHERE id = $1 FOR UPDATE", [ids[19]]);
    const marked = a.markInFlightQueued(ids, 1, 1);
    while ((await waiting()) < 1) await new Promise((r) => setTimeout(r, 10));
    const other = sql.query("SELECT 1 FROM sends WHERE id = $1 FOR UPDATE", [ids[0]]);
    const gotFirst = await other.then(() => true);
    await sql.query("COMMIT");
    expect(gotFirst).toBe(true);
    // Made again once the other session was done: every send marked, none lost to the rolled-back attempt.
    expect([...(await marked)].sort((x, y) => x - y)).toEqual(ids);
    expect((await sql.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM sends WHERE state = 'in_flight'`)).rows[0]!.n).toBe(20);
  });

  it("a worker alone reads every due send; with another worker live it reads its share; reading writes nothing", async () => {
    const { ws, sql } = await workers(2, false);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    await a.startRun(0, 0);
    await a.insertSends(sends(6));
    const versions = async () => (await sql.query(`SELECT key, xmin::text AS v FROM sends ORDER BY key`)).rows.map((r) => `${r.key}@${r.v}`);
    const before = await versions();
    expect((await a.due("sms", 100, 100, 3)).map((r) => r.member)).toEqual(["M0000", "M0001", "M0002"]);
    await b.startRun(0, 0);
    const shareA = (await a.due("sms", 100, 100, 6)).map((r) => r.member);
    const shareB = (await b.due("sms", 100, 100, 6)).map((r) => r.member);
    expect(shareA.length).toBe(3);
    expect([...shareA, ...shareB].sort()).toEqual(["M0000", "M0001", "M0002", "M0003", "M0004", "M0005"]);
    // No row has a new version: a read claims nothing (the mark does).
    expect(await versions()).toEqual(before);
  });

  it("a send attempted by another worker since it was read is not marked, though it is planned again for its retry", async () => {
    const { ws, sql } = await workers(2, false);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = await a.startRun(0, 0);
    await a.insertSends(sends(2));
    // A reads alone; B starts and takes the same sends before A marks them.
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
    expect((await sql.query(`SELECT state, attempts FROM sends ORDER BY id`)).rows).toEqual([
      { state: "planned", attempts: 1 },
      { state: "planned", attempts: 1 },
    ]);
  });

  it("the in-flight mark is written beside the row it marks, in no index (a heap-only update)", async () => {
    const { ws, sql } = await workers(1);
    const [a] = ws as [PostgresLedger];
    // Rows as wide as real ones (rendered content), over many pages.
    await a.insertSends(
      sends(400).map((s) => ({ ...s, content: JSON.stringify({ kind: "sms", text: "会员日全场满300减50，礼券VIP50到店可用。".repeat(6) }) })),
    );
    const pages = async () =>
      new Map((await sql.query(`SELECT key, (ctid::text::point)[0]::int AS page FROM sends`)).rows.map((r: { key: string; page: number }) => [r.key, r.page]));
    const before = await pages();
    expect(new Set(before.values()).size).toBeGreaterThan(10);
    const due = await a.due("sms", 1_000, 1_000, 400);
    expect(
      (
        await a.markInFlightQueued(
          due.map((r) => r.id),
          1,
          1_000,
        )
      ).size,
    ).toBe(400);
    expect([...(await pages())].filter(([key, page]) => before.get(key) !== page)).toEqual([]);
    // Each marked row is a heap-only tuple (no index entry points at it): PostgreSQL's own flag, read off the pages.
    await sql.query(`CREATE EXTENSION IF NOT EXISTS pageinspect`);
    const heapOnly = await sql.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM generate_series(0, pg_relation_size('sends') / current_setting('block_size')::int - 1) AS p,
         LATERAL heap_page_items(get_raw_page('sends', p::int)) AS t WHERE t.t_infomask2 & 32768 <> 0`,
    );
    expect(heapOnly.rows[0]!.n).toBe(400);
  });

  it("what is left at the end of a run is read from the index of active sends, never by reading the whole table", async () => {
    const { ws, sql } = await workers(1);
    const [a] = ws as [PostgresLedger];
    await sql.query(`ALTER TABLE sends SET (autovacuum_enabled = false)`);
    await a.insertSends(sends(3000));
    // Statistics as a large plan leaves them (every send active); then every send is sent.
    await sql.query(`ANALYZE sends`);
    const due = await a.due("sms", 10_000, 10_000, 3000);
    await a.finish(
      due.map((r) => ({ id: r.id, key: r.key, state: "sent" as const, provider_id: "p" })),
      1,
    );
    const url = (await sql.query<{ db: string }>(`SELECT current_database() AS db`)).rows[0]!.db;
    // A backend's table statistics are complete once it has exited.
    const others = async () =>
      (await sql.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`))
        .rows[0]!.n;
    const seqScans = async () => {
      await a.close();
      while ((await others()) > 0) await new Promise((r) => setTimeout(r, 20));
      return (await sql.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'sends'`)).rows[0]!.n;
    };
    const before = await seqScans();
    const b = await PostgresLedger.open(server.url.replace(/\/[^/]*$/, `/${url}`));
    open.push(b);
    const run = await b.startRun(0, 0);
    expect(await b.dueChannels(10_000)).toEqual([]);
    expect(await b.hasDue("sms", 10_000, 10_000)).toBe(false);
    expect(await b.nextNotBefore(10_000, "sms")).toBeUndefined();
    expect(await b.nextNotBefore(10_000)).toBeUndefined();
    expect(await b.plannedCount()).toBe(0);
    expect(await b.inFlightElsewhere(run)).toEqual({ live: 0, silent: 0 });
    await b.close();
    while ((await others()) > 0) await new Promise((r) => setTimeout(r, 20));
    expect((await sql.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'sends'`)).rows[0]!.n).toBe(before);
  });

  it("sends in flight of a live worker are not another's to reconcile, even past the lease; once its run is dead they are", async () => {
    const { ws, sql } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = (await a.runs()).find((r) => r.status === "running")!.id;
    await a.insertSends(sends(6));
    const due = await a.due("sms", 100, 100, 3);
    expect(due.length).toBe(3);
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
    expect((await b.inFlight()).map((r) => r.member)).toEqual(due.map((r) => r.member));
    // A lease on planned sends (an earlier chuda leased what it read) is kept until it runs out the same way.
    await sql.query(`UPDATE sends SET lease_owner = 'an earlier worker', lease_until = 9e15 WHERE state = 'planned'`);
    expect(await b.due("sms", 100, 100, 5)).toEqual([]);
    await sql.query(`UPDATE sends SET lease_until = 0 WHERE state = 'planned'`);
    expect((await b.due("sms", 100, 100, 5)).length).toBe(3);
  });

  it("another run's sends in flight are counted live while it beats, silent once it stops; status sees the silent run", async () => {
    const { ws, sql } = await workers(2);
    const [a, b] = ws as [PostgresLedger, PostgresLedger];
    const runA = (await a.runs()).find((r) => r.status === "running")!.id;
    const runB = await b.startRun(1, 1);
    await a.insertSends(sends(9));
    const due = await a.due("sms", 100, 100, 3);
    expect(due.length).toBe(3);
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
