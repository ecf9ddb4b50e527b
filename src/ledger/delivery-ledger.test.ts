/**
 * Delivery receipts, suppressions, business events and tracked links in the ledger: the same tests against the
 * SQLite ledger and a real PostgreSQL server (test/servers/postgres.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import { closeLedgers, freshPostgres, freshSqlite } from "../../test/fixtures/ledgers.js";
import type { ReceiptInput, SuppressionInput } from "../dispatch/delivery.js";
import type { Ledger, SendInsert } from "./types.js";
import { testSend } from "../../test/fixtures/sends.js";

interface DeliveryColumns {
  delivered_at: number | null;
  delivery_code: string | null;
  delivery_at: number | null;
}

interface Fresh {
  ledger: Ledger;
  /** A send's delivery columns as committed (read on a connection of its own). */
  deliveryOf(key: string): Promise<DeliveryColumns | undefined>;
  /** Rows of a table as committed. */
  countOf(table: "receipts" | "suppressions" | "events" | "clicks" | "links"): Promise<number>;
  reopen(): Promise<Ledger>;
  /** Records a send's result as another process would, without matching receipts (on a connection of its own). */
  sentElsewhere(key: string, providerId: string): Promise<void>;
}

interface Backend {
  name: string;
  fresh(): Promise<Fresh>;
}

afterEach(closeLedgers);

const sqlite: Backend = {
  name: "SQLite",
  async fresh() {
    const { ledger, other, reopen } = freshSqlite("chuda-delivery-ledger-");
    return {
      ledger,
      deliveryOf: async (key) =>
        other.prepare(`SELECT delivered_at, delivery_code, delivery_at FROM sends WHERE key = ?`).get(key) as DeliveryColumns | undefined,
      countOf: async (table) => (other.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n,
      reopen,
      sentElsewhere: async (key, providerId) => void other.prepare(`UPDATE sends SET state = 'sent', provider_id = ? WHERE key = ?`).run(providerId, key),
    };
  },
};

let server: PostgresServer | undefined;
beforeAll(async () => {
  server = await startPostgres({ durable: false });
});
afterAll(async () => {
  await server?.stop();
});

const postgres: Backend = {
  name: "PostgreSQL",
  async fresh() {
    const { ledger, other, reopen } = await freshPostgres(server!, "delivery");
    return {
      ledger,
      deliveryOf: async (key) => {
        const r = await other.query<{ delivered_at: string | null; delivery_code: string | null; delivery_at: string | null }>(
          `SELECT delivered_at, delivery_code, delivery_at FROM sends WHERE key = $1`,
          [key],
        );
        const row = r.rows[0];
        const num = (v: string | null) => (v === null ? null : Number(v));
        return row && { delivered_at: num(row.delivered_at), delivery_code: row.delivery_code, delivery_at: num(row.delivery_at) };
      },
      countOf: async (table) => Number((await other.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table}`)).rows[0]!.n),
      reopen,
      sentElsewhere: async (key, providerId) => void (await other.query(`UPDATE sends SET state = 'sent', provider_id = $1 WHERE key = $2`, [providerId, key])),
    };
  },
};

const NOW = Date.parse("2026-12-24T12:00:00+08:00");

function send(i: number, channel = "sms", address: string | null = `139${String(i).padStart(8, "0")}`): SendInsert {
  return testSend({ member: `M${i}`, channel, send_at: NOW - 3_600_000, address, updated_at: NOW });
}

/** A send the provider accepted with message id `providerId`. */
async function sent(ledger: Ledger, i: number, providerId = `p${i}`, channel = "sms", address?: string | null): Promise<string> {
  const s = send(i, channel, address === undefined ? undefined : address);
  await ledger.insertSends([s]);
  await ledger.finish([{ key: s.key, state: "sent", provider_id: providerId }], NOW);
  return s.key;
}

const receipt = (providerId: string, state: "delivered" | "failed", at: number, extra: Partial<ReceiptInput> = {}): ReceiptInput => ({
  channel: "sms",
  providerId,
  state,
  at,
  source: "push",
  ...extra,
});

const manual = (member: string, channel = "*", extra: Partial<SuppressionInput> = {}): SuppressionInput => ({
  member,
  channel,
  source: "manual",
  reason: "complained at the desk",
  actor: "li.wei",
  at: NOW,
  ...extra,
});

describe.each([sqlite, postgres])("delivery and events in the ledger on $name", (backend) => {
  it("keeps the final state with the latest report time whatever the arrival order, stores a receipt once, and counts delivery", async () => {
    const { ledger, deliveryOf, countOf } = await backend.fresh();
    const k = await sent(ledger, 1);
    await sent(ledger, 2);
    const phone = { address: "+8613900000001" };
    const outcomes = await ledger.recordReceipts(
      [
        receipt("p1", "failed", NOW + 2000, { code: "MK:1", ...phone }),
        receipt("p1", "delivered", NOW + 1000, phone),
        receipt("p1", "failed", NOW + 2000, { code: "MK:1", ...phone }),
      ],
      NOW,
    );
    expect(outcomes).toEqual(["applied", "applied", "duplicate"]);
    expect(await deliveryOf(k)).toEqual({ delivered_at: null, delivery_code: "MK:1", delivery_at: NOW + 2000 });
    expect(await ledger.delivery()).toEqual({ delivered: 0, failed: 1, unconfirmed: 1 });
    expect((await ledger.unconfirmedSends("sms", 0)).map((s) => [s.key, s.provider_id])).toEqual([["c|o|M2|sms", "p2"]]);
    await ledger.recordReceipts([receipt("p1", "delivered", NOW + 3000)], NOW);
    expect(await deliveryOf(k)).toEqual({ delivered_at: NOW + 3000, delivery_code: null, delivery_at: NOW + 3000 });
    expect(await ledger.delivery()).toEqual({ delivered: 1, failed: 0, unconfirmed: 1 });
    expect(await countOf("receipts")).toBe(3);
    expect(await ledger.observedDelivery(0)).toEqual(new Map([["sms", { rate: 1, sample: 1 }]]));
    // Two final states with one report time in one batch: the later one in the batch counts, as if applied in turn.
    expect(await ledger.recordReceipts([receipt("p2", "delivered", NOW + 9), receipt("p2", "failed", NOW + 9, { code: "MK:2" })], NOW)).toEqual([
      "applied",
      "applied",
    ]);
    expect(await deliveryOf("c|o|M2|sms")).toEqual({ delivered_at: null, delivery_code: "MK:2", delivery_at: NOW + 9 });
  });

  it("tells apart the numbers of one request (a shared message id) by phone, in any usual form", async () => {
    const { ledger, deliveryOf } = await backend.fresh();
    const a = await sent(ledger, 1, "biz^0");
    const b = await sent(ledger, 2, "biz^0");
    expect(await ledger.recordReceipts([receipt("biz^0", "failed", NOW, { code: "MK:9", address: "008613900000002" })], NOW)).toEqual(["applied"]);
    expect(await deliveryOf(a)).toMatchObject({ delivery_code: null });
    expect(await deliveryOf(b)).toMatchObject({ delivery_code: "MK:9" });
  });

  it("finds the send of a message id shared by many (a WeCom task) by its address as stored", async () => {
    const { ledger, deliveryOf } = await backend.fresh();
    for (let i = 0; i < 30; i++) await sent(ledger, i, "task-1", "wecom", `wm_ext_${i}`);
    expect(await ledger.recordReceipts([receipt("task-1", "delivered", NOW + 7, { channel: "wecom", address: "wm_ext_17" })], NOW)).toEqual(["applied"]);
    expect(await deliveryOf("c|o|M17|wecom")).toMatchObject({ delivered_at: NOW + 7 });
    expect(await ledger.delivery()).toMatchObject({ delivered: 1 });
  });

  it("a failure receipt with an opt-out code suppresses the member on that channel, applied now or when its send's result commits", async () => {
    const { ledger } = await backend.fresh();
    await sent(ledger, 1);
    await ledger.insertSends([send(2)]);
    const [d] = await ledger.due("sms", NOW, NOW, 10);
    await ledger.markInFlightQueued([d!.id], 1, NOW);
    const refused = (p: string, phone: string) => receipt(p, "failed", NOW + 3, { code: "W-BLACK", address: phone });
    expect(await ledger.recordReceipts([refused("p1", "13900000001"), refused("p2", "13900000002")], NOW)).toEqual(["applied", "pending"]);
    expect((await ledger.suppressions()).map((x) => [x.member, x.channel, x.source, x.at])).toEqual([["M1", "sms", "send-error", NOW + 3]]);
    await ledger.queueFinish([{ id: d!.id, key: d!.key, state: "sent", provider_id: "p2" }], NOW);
    await ledger.flush();
    expect((await ledger.suppressions()).map((x) => x.member)).toEqual(["M1", "M2"]);
    expect(await ledger.recordReceipts([refused("p1", "13900000001")], NOW)).toEqual(["duplicate"]);
    expect(await ledger.suppressions()).toHaveLength(2);
  });

  it("refuses a receipt that matches nothing, writing nothing", async () => {
    const { ledger, countOf } = await backend.fresh();
    await sent(ledger, 1);
    expect(await ledger.recordReceipts([receipt("nope", "delivered", NOW, { address: "13911111111" })], NOW)).toEqual(["unknown"]);
    expect(await countOf("receipts")).toBe(0);
  });

  it("keeps a receipt that comes before its send's result and applies it when the result commits (group commit and finish)", async () => {
    const { ledger, deliveryOf } = await backend.fresh();
    await ledger.insertSends([send(1), send(2)]);
    const due = await ledger.due("sms", NOW, NOW, 10);
    const marked = await ledger.markInFlightQueued(
      due.map((d) => d.id),
      1,
      NOW,
    );
    expect(marked.size).toBe(2);
    // The provider answered and pushed its receipts before the results were committed.
    const early = [
      receipt("p1", "delivered", NOW + 500, { address: "13900000001" }),
      receipt("p2", "failed", NOW + 600, { code: "E1", address: "13900000002" }),
    ];
    expect(await ledger.recordReceipts(early, NOW)).toEqual(["pending", "pending"]);
    expect(await deliveryOf("c|o|M1|sms")).toMatchObject({ delivered_at: null });
    await ledger.queueFinish([{ id: due.find((d) => d.member === "M1")!.id, key: "c|o|M1|sms", state: "sent", provider_id: "p1" }], NOW);
    await ledger.flush();
    expect(await deliveryOf("c|o|M1|sms")).toMatchObject({ delivered_at: NOW + 500, delivery_at: NOW + 500 });
    await ledger.finish([{ key: "c|o|M2|sms", state: "sent", provider_id: "p2" }], NOW);
    expect(await deliveryOf("c|o|M2|sms")).toMatchObject({ delivery_code: "E1" });
    expect(await ledger.matchPendingReceipts()).toBe(0);
    // A receipt pushed again after it was matched is a duplicate.
    expect(await ledger.recordReceipts([early[0]!], NOW)).toEqual(["duplicate"]);
  });

  it("matches pending receipts on demand (chuda serve's timer), once", async () => {
    const { ledger, deliveryOf, sentElsewhere } = await backend.fresh();
    await ledger.insertSends([send(1)]);
    const [d] = await ledger.due("sms", NOW, NOW, 10);
    await ledger.markInFlightQueued([d!.id], 1, NOW);
    expect(await ledger.recordReceipts([receipt("p1", "delivered", NOW + 1, { address: "13900000001" })], NOW)).toEqual(["pending"]);
    expect(await ledger.matchPendingReceipts()).toBe(0);
    // The result committed by another process (a dispatch worker) just before the receipt: the next match applies it.
    await sentElsewhere(d!.key, "p1");
    expect(await deliveryOf(d!.key)).toMatchObject({ delivered_at: null });
    expect(await ledger.matchPendingReceipts()).toBe(1);
    expect(await deliveryOf(d!.key)).toMatchObject({ delivered_at: NOW + 1 });
    expect(await ledger.matchPendingReceipts()).toBe(0);
  });

  it("a commit of results matches the waiting receipts of its own message ids only; the others wait for the timer", async () => {
    const { ledger, deliveryOf, sentElsewhere } = await backend.fresh();
    await ledger.insertSends([send(1), send(2)]);
    const due = await ledger.due("sms", NOW, NOW, 10);
    await ledger.markInFlightQueued(
      due.map((d) => d.id),
      1,
      NOW,
    );
    const early = [receipt("p1", "delivered", NOW + 1, { address: "13900000001" }), receipt("p2", "delivered", NOW + 2, { address: "13900000002" })];
    expect(await ledger.recordReceipts(early, NOW)).toEqual(["pending", "pending"]);
    // M2's result was committed elsewhere, without matching; M1's is committed here (group commit, then finish).
    await sentElsewhere("c|o|M2|sms", "p2");
    await ledger.queueFinish([{ id: due.find((d) => d.member === "M1")!.id, key: "c|o|M1|sms", state: "sent", provider_id: "p1" }], NOW);
    await ledger.flush();
    await ledger.finish([{ key: "c|o|M1|sms", state: "sent", provider_id: "p1" }], NOW);
    expect(await deliveryOf("c|o|M1|sms")).toMatchObject({ delivered_at: NOW + 1 });
    expect(await deliveryOf("c|o|M2|sms")).toMatchObject({ delivered_at: null });
    expect(await ledger.matchPendingReceipts()).toBe(1);
    expect(await deliveryOf("c|o|M2|sms")).toMatchObject({ delivered_at: NOW + 2 });
  });

  it("suppresses a member whose send is refused with an opt-out code, once, on both commit paths", async () => {
    const { ledger } = await backend.fresh();
    const oa = send(9, "oa", "o_9");
    const oa2 = send(8, "oa", "o_8");
    await ledger.insertSends([oa, oa2]);
    await ledger.finish([{ key: oa.key, state: "failed", error_code: "43004", error_message: "require subscribe" }], NOW);
    await ledger.finish([{ key: oa.key, state: "failed", error_code: "43004", error_message: "require subscribe" }], NOW);
    const [d] = await ledger.due("oa", NOW, NOW, 10);
    await ledger.markInFlightQueued([d!.id], 1, NOW);
    await ledger.queueFinish([{ id: d!.id, key: d!.key, state: "failed", error_code: "43101", error_message: "refused" }], NOW);
    await ledger.flush();
    expect((await ledger.suppressions()).map((s) => [s.member, s.channel, s.address, s.source, s.reason])).toEqual([
      ["M9", "oa", "o_9", "send-error", "43004: the member no longer follows the official account"],
      ["M8", "oa", "o_8", "send-error", "43101: the member refused the subscribe message (no consent left)"],
    ]);
  });

  it("suppressions: added once per pushed event, lifted by member key or address with who and why, listed with --all", async () => {
    const { ledger } = await backend.fresh();
    const reply = (at: number): SuppressionInput => ({
      channel: "sms",
      address: "+86 13900000005".replace(" ", ""),
      via: "sms",
      source: "sms-reply",
      reason: 'replied "TD" to an SMS',
      actor: "serve",
      at,
      dedupe: "sms-reply|sms|13900000005|42|sms",
    });
    expect(await ledger.suppress([reply(NOW), reply(NOW + 1), manual("M1"), manual("M2", "oa")])).toBe(3);
    expect((await ledger.suppressions()).map((s) => [s.member, s.channel, s.address])).toEqual([
      [null, "sms", "13900000005"],
      ["M1", "*", null],
      ["M2", "oa", null],
    ]);
    expect(await ledger.unsuppress("8613900000005", undefined, "wang.fang", "asked to receive again", NOW + 10)).toBe(1);
    expect(await ledger.unsuppress("M2", "sms", "wang.fang", "wrong channel", NOW + 10)).toBe(0);
    expect(await ledger.unsuppress("M2", "oa", "wang.fang", "resolved", NOW + 10)).toBe(1);
    expect((await ledger.suppressions()).map((s) => s.member)).toEqual(["M1"]);
    const all = await ledger.suppressions({ all: true });
    expect(all.map((s) => [s.member ?? s.address, s.removed_at, s.removed_by, s.removed_reason])).toEqual([
      ["13900000005", NOW + 10, "wang.fang", "asked to receive again"],
      ["M1", null, null, null],
      ["M2", NOW + 10, "wang.fang", "resolved"],
    ]);
  });

  it("group commit of serve: each request's writes commit together, a failing request is rolled back alone, lifts end opt-outs", async () => {
    const { ledger, countOf } = await backend.fresh();
    await sent(ledger, 1);
    await ledger.suppress([{ channel: "oa", address: "o_7", via: "oa", source: "wechat-unsubscribe", reason: "unsubscribed", actor: "serve", at: NOW }]);
    const results = await ledger.commitDelivery([
      { writes: { receipts: [receipt("p1", "delivered", NOW + 5)], suppressions: [], lifts: [] }, now: NOW },
      {
        // A receipt, then a suppression that throws (an address that is no text): neither is written.
        writes: {
          receipts: [receipt("p1", "failed", NOW + 6, { code: "X" })],
          suppressions: [manual("M3", "sms", { address: 5 as unknown as string })],
          lifts: [],
        },
        now: NOW,
      },
      {
        writes: {
          receipts: [],
          suppressions: [manual("M4", "sms", { dedupe: "d4" }), manual("M4", "sms", { dedupe: "d4" })],
          lifts: [{ channel: "oa", address: "o_7", sources: ["wechat-unsubscribe"], reason: "followed again" }],
        },
        now: NOW,
      },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[0]).toEqual({ ok: true, value: { outcomes: ["applied"], suppressed: 0, lifted: 0 } });
    expect(results[2]).toEqual({ ok: true, value: { outcomes: [], suppressed: 1, lifted: 1 } });
    expect(await countOf("receipts")).toBe(1);
    expect((await ledger.suppressions()).map((s) => s.member)).toEqual(["M4"]);
    expect(await ledger.delivery()).toEqual({ delivered: 1, failed: 0, unconfirmed: 0 });
  });

  it("business events: stored once by ident, read after an id from a time on, counted", async () => {
    const { ledger, countOf } = await backend.fresh();
    const ev = (ident: string, member: string, time: number) => ({ ident, member, name: "purchase", time, props: { amount: 250, store: "A1" } });
    expect(await ledger.insertEvents([ev("e1", "M1", NOW), ev("e2", "M2", NOW - 10_000), ev("e1", "M1", NOW)], NOW)).toEqual({ inserted: 2, duplicates: 1 });
    expect(await ledger.insertEvents([ev("e2", "M2", NOW - 10_000), ev("e3", "M3", NOW + 1)], NOW)).toEqual({ inserted: 1, duplicates: 1 });
    expect(await ledger.insertEvents([], NOW)).toEqual({ inserted: 0, duplicates: 0 });
    const all = await ledger.eventsAfter(0, 0);
    expect(all.map((e) => [e.ident, e.member, e.time, e.props])).toEqual([
      ["e1", "M1", NOW, { amount: 250, store: "A1" }],
      ["e2", "M2", NOW - 10_000, { amount: 250, store: "A1" }],
      ["e3", "M3", NOW + 1, { amount: 250, store: "A1" }],
    ]);
    expect((await ledger.eventsAfter(all[0]!.id, NOW)).map((e) => e.ident)).toEqual(["e3"]);
    expect((await ledger.eventsAfter(0, 0, 1)).map((e) => e.ident)).toEqual(["e1"]);
    expect(await ledger.eventCount()).toBe(3);
    expect(await countOf("events")).toBe(3);
  });

  it("tracked links and clicks: a secret kept across opens, links stored once, clicks count as opened in outcomes", async () => {
    const { ledger, countOf, reopen } = await backend.fresh();
    const secret = await ledger.linkSecret();
    expect(secret.length).toBeGreaterThan(30);
    expect(await (await reopen()).linkSecret()).toBe(secret);
    await sent(ledger, 1);
    await sent(ledger, 2);
    await sent(ledger, 3);
    const links = [
      { id: "AAAAAAAAAAAA", sendKey: "c|o|M1|sms", link: 0, url: "https://mall.example/a" },
      { id: "BBBBBBBBBBBB", sendKey: "c|o|M2|sms", link: 0, url: "https://mall.example/a" },
    ];
    await ledger.insertLinks(links);
    await ledger.insertLinks([links[0]!]);
    await ledger.insertLinks([]);
    expect(await countOf("links")).toBe(2);
    expect(await ledger.link("AAAAAAAAAAAA")).toEqual({ send_key: "c|o|M1|sms", link: 0, url: "https://mall.example/a" });
    expect(await ledger.link("CCCCCCCCCCCC")).toBeUndefined();
    await ledger.recordClick("c|o|M1|sms", 0, NOW + 60_000);
    expect(await countOf("clicks")).toBe(1);
    await ledger.recordReceipts([receipt("p3", "delivered", NOW + 1)], NOW);
    const rows = (await ledger.outcomeRows()).map((r) => [r.member, r.delivered ?? null, r.opened ?? null, r.tracked ?? null]);
    expect(rows).toEqual([
      ["M1", null, 1, 1],
      ["M2", null, 0, 1],
      ["M3", 1, null, null],
    ]);
  });
});
