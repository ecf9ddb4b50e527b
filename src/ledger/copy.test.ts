/**
 * `chuda ledger copy` carries what `chuda serve` wrote too: delivery results, receipts (matched and still pending),
 * suppressions (lifted ones with who and why), business events, tracked links, clicks and the link secret. Against a
 * real PostgreSQL server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import { SqliteLedger } from "../dispatch/ledger.js";
import { copySqliteToPostgres } from "./copy.js";
import { PostgresLedger } from "./postgres.js";
import type { Ledger, SendInsert } from "./types.js";
import { testSend } from "../../test/fixtures/sends.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ durable: false });
});
afterAll(async () => {
  await server?.stop();
});

const NOW = Date.parse("2026-12-24T12:00:00+08:00");

const send = (i: number): SendInsert =>
  testSend({ member: `M${i}`, channel: "sms", send_at: NOW - 3_600_000, address: `139${String(i).padStart(8, "0")}`, updated_at: NOW });

/** Everything of the serve side a ledger reads back, for comparing two ledgers. */
async function serveSide(l: Ledger) {
  return {
    delivery: await l.delivery(),
    suppressions: (await l.suppressions({ all: true })).map(({ id: _id, ...rest }) => rest),
    events: (await l.eventsAfter(0, 0)).map(({ id: _id, ...rest }) => rest),
    link: await l.link("AAAAAAAAAAAA"),
    secret: await l.linkSecret(),
    outcomes: await l.outcomeRows(),
    unconfirmed: await l.unconfirmedSends("sms", 0),
  };
}

describe("chuda ledger copy: the tables of chuda serve", () => {
  it("copies delivery results, receipts, suppressions, events, links and clicks; a pending receipt still matches after the copy", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-copy-"));
    const file = path.join(dir, "state.db");
    const sqlite = new SqliteLedger(file);
    const run = await sqlite.startRun(NOW, NOW);
    await sqlite.insertSends([send(1), send(2), send(3)]);
    await sqlite.finish(
      [
        { key: send(1).key, state: "sent", provider_id: "p1" },
        { key: send(2).key, state: "sent", provider_id: "p2" },
      ],
      NOW,
    );
    const [d3] = await sqlite.due("sms", NOW, NOW, 10);
    await sqlite.markInFlightQueued([d3!.id], run, NOW);
    await sqlite.recordReceipts(
      [
        { channel: "sms", providerId: "p1", state: "delivered", at: NOW + 1, source: "push" },
        // Its send is in flight: kept until the send's result commits (after the copy, in PostgreSQL).
        { channel: "sms", providerId: "p3", address: "13900000003", state: "failed", code: "MK:1", at: NOW + 2, source: "push" },
      ],
      NOW,
    );
    await sqlite.suppress([
      { member: "M2", channel: "*", source: "manual", reason: "complained", actor: "li.wei", at: NOW },
      { channel: "sms", address: "13900000009", via: "sms", source: "sms-reply", reason: "TD", actor: "serve", at: NOW, dedupe: "d9" },
    ]);
    await sqlite.unsuppress("M2", undefined, "wang.fang", "resolved", NOW + 5);
    await sqlite.insertEvents([{ ident: "e1", member: "M1", name: "purchase", time: NOW, props: { amount: 250 } }], NOW);
    await sqlite.linkSecret();
    await sqlite.insertLinks([{ id: "AAAAAAAAAAAA", sendKey: send(1).key, link: 0, url: "https://mall.example/a" }]);
    await sqlite.recordClick(send(1).key, 0, NOW + 60_000);
    const before = await serveSide(sqlite);
    await sqlite.close();

    const url = await server.database(`copy_${process.pid}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let counts;
    try {
      counts = await copySqliteToPostgres(file, client);
    } finally {
      await client.end();
    }
    expect(counts).toMatchObject({ sends: 3, receipts: 2, suppressions: 2, events: 1, links: 1, clicks: 1 });
    const postgres = await PostgresLedger.open(url);
    try {
      expect(await serveSide(postgres)).toEqual(before);
      expect(before.delivery).toEqual({ delivered: 1, failed: 0, unconfirmed: 1 });
      expect(before.outcomes.find((r) => r.member === "M1")).toMatchObject({ delivered: 1, opened: 1, tracked: 1 });
      // New rows get ids past the copied ones; the pending receipt applies when its send's result commits.
      await postgres.suppress([{ member: "M7", channel: "sms", source: "manual", reason: "r", actor: "a", at: NOW }]);
      await postgres.queueFinish([{ id: d3!.id, key: d3!.key, state: "sent", provider_id: "p3" }], NOW);
      await postgres.flush();
      expect(await postgres.delivery()).toEqual({ delivered: 1, failed: 1, unconfirmed: 1 });
      expect(await postgres.insertEvents([{ ident: "e1", member: "M1", name: "purchase", time: NOW, props: { amount: 250 } }], NOW)).toEqual({
        inserted: 0,
        duplicates: 1,
      });
    } finally {
      await postgres.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
