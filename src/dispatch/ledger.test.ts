import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/servers/postgres.js";
import { closeLedgers, freshPostgres, freshSqlite } from "../../test/fixtures/ledgers.js";
import { sendKey, type SendInsert } from "./ledger.js";
import type { Ledger } from "../ledger/types.js";

type AnyLedger = Ledger;

/** A fresh ledger of one backend, a second connection that sees only what is committed, and a reopen. */
interface Backend {
  name: string;
  fresh(): Promise<{
    ledger: AnyLedger;
    stateOf: (key: string) => Promise<string | undefined>;
    /** The states of several sends read by one statement (one moment). */
    statesOf: (keys: string[]) => Promise<(string | undefined)[]>;
    reopen: () => Promise<AnyLedger>;
    /**
     * Until the returned release, the ledger's commits wait (PostgreSQL: the other connection holds a SHARE lock on
     * sends; SQLite commits on the next turn of the event loop anyway, and the reads are synchronous).
     */
    holdWrites: () => Promise<() => Promise<void>>;
  }>;
  /** Makes a run look as if its process died (PostgreSQL: its heartbeat is old). */
  stopHeartbeat?: (run: number) => Promise<void>;
}

afterEach(closeLedgers);

const sqlite: Backend = {
  name: "SQLite",
  async fresh() {
    const { ledger, other, reopen } = freshSqlite("chuda-ledger-", { readonly: true });
    const stateOf = async (key: string) => (other.prepare(`SELECT state FROM sends WHERE key = ?`).get(key) as { state: string } | undefined)?.state;
    const statesOf = async (keys: string[]) => Promise.all(keys.map(stateOf));
    return { ledger, stateOf, statesOf, reopen, holdWrites: async () => async () => undefined };
  },
};

let server: PostgresServer | undefined;
beforeAll(async () => {
  server = await startPostgres({ durable: false });
});
afterAll(async () => {
  await server?.stop();
});

let lastPostgres: pg.Client | undefined;
const postgres: Backend = {
  name: "PostgreSQL",
  async stopHeartbeat(run) {
    await lastPostgres!.query(`UPDATE runs SET heartbeat_at = 0 WHERE id = $1`, [run]);
  },
  async fresh() {
    const { ledger, other, reopen } = await freshPostgres(server!, "ledger");
    lastPostgres = other;
    const statesOf = async (keys: string[]) => {
      const r = await other.query<{ key: string; state: string }>(`SELECT key, state FROM sends WHERE key = ANY($1::text[])`, [keys]);
      return keys.map((k) => r.rows.find((x) => x.key === k)?.state);
    };
    const stateOf = async (key: string) => (await statesOf([key]))[0];
    const holdWrites = async () => {
      await other.query("BEGIN");
      await other.query("LOCK TABLE sends IN SHARE MODE");
      return async () => void (await other.query("COMMIT"));
    };
    return { ledger, stateOf, statesOf, reopen, holdWrites };
  },
};

function send(member: string, sendAt: number, channel = "sms", extra: Partial<SendInsert> = {}): SendInsert {
  return {
    key: sendKey("c", "2026-12-24T10:00:00+08:00", member, channel),
    campaign: "c",
    occurrence: "2026-12-24T10:00:00+08:00",
    member,
    channel,
    state: "planned",
    send_at: sendAt,
    address: `addr-${member}`,
    sender: null,
    content: `{"kind":"sms","n":"${member}"}`,
    fallbacks: null,
    vars: null,
    run_id: 1,
    updated_at: 0,
    ...extra,
  };
}

const OCC = "2026-12-24T10:00:00+08:00";
const keyOf = (member: string, channel = "sms") => sendKey("c", OCC, member, channel);

describe.each([sqlite, postgres])("ledger on $name", (backend) => {
  it("due: planned sends of the channel due by `until`, past their backoff, in send-time order, only the needed columns", async () => {
    const { ledger } = await backend.fresh();
    await ledger.recordPlan([], [send("M3", 300), send("M1", 100), send("M2", 200), send("M4", 900), send("W1", 100, "wecom")], 1);
    await ledger.finish([{ key: keyOf("M2"), state: "planned", not_before: 5000 }], 1);
    const due = await ledger.due("sms", 500, 1000, 10);
    expect(due.map((r) => r.member)).toEqual(["M1", "M3"]);
    expect(Object.keys(due[0]!).sort()).toEqual([
      "address",
      "attempts",
      "campaign",
      "channel",
      "content",
      "first_attempt_at",
      "id",
      "key",
      "member",
      "occurrence",
      "send_at",
      "sender",
    ]);
    expect(due[0]).toMatchObject({ key: keyOf("M1"), address: "addr-M1", attempts: 0, first_attempt_at: null, send_at: 100 });
    expect((await ledger.due("sms", 500, 6000, 10)).map((r) => r.member)).toEqual(["M1", "M2", "M3"]);
    expect(await ledger.hasDue("wecom", 500, 0)).toBe(true);
    expect(await ledger.hasDue("wecom", 50, 0)).toBe(false);
    expect(await ledger.plannedCount()).toBe(5);
    expect((await ledger.dueChannels(500)).sort()).toEqual(["sms", "wecom"]);
    expect(await ledger.nextNotBefore(500)).toBe(5000);
  });

  it("due: every send with its own message, also where several in a row share one; with `after`, only the sends after that one", async () => {
    const { ledger } = await backend.fresh();
    const a = `{"kind":"sms","text":"A"}`;
    const b = `{"kind":"sms","text":"B"}`;
    const contents = [a, a, b, b, null, null, a, b, a];
    await ledger.recordPlan(
      [],
      contents.map((content, i) => send(`M${i}`, 100 + (i % 3), "sms", { content })),
      1,
    );
    const due = await ledger.due("sms", 500, 500, 100);
    // In send-time order (send_at, then the order planned), each with the message it was planned with.
    const order = [0, 3, 6, 1, 4, 7, 2, 5, 8];
    expect(due.map((r) => r.member)).toEqual(order.map((i) => `M${i}`));
    expect(due.map((r) => r.content)).toEqual(order.map((i) => contents[i]));
    // Read in pieces, each after the last one read: every send once, in the same order.
    const pieces: string[] = [];
    let after: (typeof due)[number] | undefined;
    // (At most as many reads as there are sends: a read that started from the first again would never end.)
    for (let read = 0; read < contents.length; read++) {
      const piece = await ledger.due("sms", 500, 500, 2, after && { send_at: after.send_at, id: after.id });
      if (!piece.length) break;
      expect(piece.map((r) => r.content)).toEqual(piece.map((r) => contents[Number(r.member.slice(1))]));
      pieces.push(...piece.map((r) => r.member));
      after = piece.at(-1);
    }
    expect(pieces).toEqual(due.map((r) => r.member));
  });

  it("recordPlan takes the sends as they come; a send recorded already in an occurrence planned for the first time stays as it is", async () => {
    const { ledger, stateOf } = await backend.fresh();
    // Recorded before the occurrence was (as a send of an event, or copied from another ledger).
    await ledger.insertSends([send("M1", 100, "sms", { state: "failed" })]);
    // Many more after them: PostgreSQL's bulk copy takes them in pieces, and the recorded one stops it early on.
    const more = Array.from({ length: 12_000 }, (_, i) => send(`N${i}`, 200));
    // Built as they are read, as a run builds a plan's rows.
    const plan = {
      *[Symbol.iterator]() {
        yield* [send("M0", 100), send("M1", 100), send("M2", 100, "-", { state: "held_out", address: null, content: null }), send("M3", 100)];
        for (const s of more) yield { ...s };
      },
    };
    const recorded = await ledger.recordPlan([{ campaign: "c", occurrence: OCC, sendAt: 100, audience: 12_004 }], plan, 1);
    expect(recorded.heldOut).toBe(1);
    expect([await stateOf(keyOf("M0")), await stateOf(keyOf("M1")), await stateOf(keyOf("M2", "-")), await stateOf(keyOf("M3"))]).toEqual([
      "planned",
      "failed",
      "held_out",
      "planned",
    ]);
    expect(await ledger.plannedOccurrences()).toEqual(new Set([`c|${OCC}`]));
    expect((await ledger.due("sms", 150, 500, 10)).map((r) => r.member)).toEqual(["M0", "M3"]);
    expect(await ledger.plannedCount()).toBe(12_002);
    expect(new Set((await ledger.due("sms", 500, 500, 20_000)).map((r) => r.member))).toEqual(new Set(["M0", "M3", ...more.map((s) => s.member)]));
  });

  it("what is left: the channels with a send due, the next postponed one, the pending count, sends in flight elsewhere; none once all are finished", async () => {
    const { ledger } = await backend.fresh();
    const run = await ledger.startRun(100, 10);
    // sms: one due, one postponed; wecom: only a send in flight (another run's); oa: only a send due later.
    await ledger.recordPlan([], [send("S1", 100), send("S2", 100), send("W1", 100, "wecom"), send("O1", 900, "oa")], 1);
    const [w1] = await ledger.due("wecom", 500, 500, 10);
    await ledger.markInFlightQueued([w1!.id], run + 1, 500);
    await ledger.finish([{ key: keyOf("S2"), state: "planned", not_before: 7000 }], 500);
    expect(await ledger.dueChannels(500)).toEqual(["sms"]);
    expect((await ledger.dueChannels(1000)).sort()).toEqual(["oa", "sms"]);
    expect(await ledger.nextNotBefore(500, "sms")).toBe(7000);
    expect(await ledger.nextNotBefore(500, "oa")).toBeUndefined();
    expect(await ledger.plannedCount()).toBe(3);
    expect(await ledger.inFlightElsewhere(run)).toEqual({ live: 0, silent: 1 });
    expect(await ledger.hasDue("wecom", 500, 500)).toBe(false);

    const rows = [keyOf("S1"), keyOf("S2"), keyOf("W1", "wecom"), keyOf("O1", "oa")];
    await ledger.finish(
      rows.map((key) => ({ key, state: "sent" as const, provider_id: "p" })),
      600,
    );
    expect(await ledger.dueChannels(1000)).toEqual([]);
    expect(await ledger.nextNotBefore(10_000)).toBeUndefined();
    expect(await ledger.plannedCount()).toBe(0);
    expect(await ledger.inFlightElsewhere(run)).toEqual({ live: 0, silent: 0 });
    expect(await ledger.hasDue("sms", 10_000, 10_000)).toBe(false);
  });

  it("group commit: marks queued in one turn are written together and resolve only once committed", async () => {
    const { ledger, stateOf, holdWrites } = await backend.fresh();
    await ledger.recordPlan([], [send("M1", 1), send("M2", 2), send("M3", 3)], 1);
    const [a, b, c] = await ledger.due("sms", 10, 10, 10);
    const release = await holdWrites();
    const pa = ledger.markInFlightQueued([a!.id, b!.id], 7, 1000);
    // Queued, not yet committed: another connection still reads them planned.
    const before = stateOf(a!.key);
    const pb = ledger.markInFlightQueued([c!.id], 7, 1000);
    let resolved = false;
    void pa.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    expect(await before).toBe("planned");
    await release();
    expect([...(await pa)].sort()).toEqual([a!.id, b!.id].sort());
    expect([...(await pb)]).toEqual([c!.id]);
    // Resolved ⇒ durable and visible to another connection.
    expect([await stateOf(a!.key), await stateOf(b!.key), await stateOf(c!.key)]).toEqual(["in_flight", "in_flight", "in_flight"]);
    expect(await ledger.get(a!.key)).toMatchObject({ attempts: 1, run_id: 7, first_attempt_at: 1000 });
    // A send already in flight is not marked again (and not reported as marked).
    expect([...(await ledger.markInFlightQueued([a!.id], 8, 2000))]).toEqual([]);
    expect((await ledger.get(a!.key))!.attempts).toBe(1);
    expect((await ledger.inFlight()).map((r) => r.member)).toEqual(["M1", "M2", "M3"]);
  });

  it("queued results stay in flight until the next commit, then land with their fallback inserts in one transaction", async () => {
    const { ledger, stateOf, statesOf, holdWrites } = await backend.fresh();
    await ledger.recordPlan([], [send("M1", 1), send("M2", 2), send("M3", 3), send("M4", 4)], 1);
    const rows = await ledger.due("sms", 10, 10, 10);
    await ledger.markInFlightQueued(
      rows.map((r) => r.id),
      2,
      100,
    );
    const fallback = send("M3", 3, "hook", { run_id: 2 });
    const release = await holdWrites();
    const queued = ledger.queueFinish(
      [
        { id: rows[0]!.id, key: rows[0]!.key, state: "sent", provider_id: "biz-1" },
        { id: rows[1]!.id, key: rows[1]!.key, state: "sent", provider_id: "biz-1" },
        { id: rows[2]!.id, key: rows[2]!.key, state: "failed", error_code: "isv.MOBILE_NUMBER_ILLEGAL", error_message: "bad number" },
        { id: rows[3]!.id, key: rows[3]!.key, state: "planned", error_code: "http_503", error_message: "busy", not_before: 9000 },
      ],
      200,
      [fallback],
    );
    // Read by another connection before the group commit.
    await queued;
    expect(await statesOf([rows[0]!.key, fallback.key])).toEqual(["in_flight", undefined]);
    await release();
    await ledger.flush();
    expect(await statesOf(rows.map((r) => r.key))).toEqual(["sent", "sent", "failed", "planned"]);
    expect(await stateOf(fallback.key)).toBe("planned");
    expect(await ledger.get(rows[0]!.key)).toMatchObject({ provider_id: "biz-1", error_code: null, updated_at: 200 });
    expect(await ledger.get(rows[1]!.key)).toMatchObject({ provider_id: "biz-1" });
    expect(await ledger.get(rows[2]!.key)).toMatchObject({ error_code: "isv.MOBILE_NUMBER_ILLEGAL", error_message: "bad number", provider_id: null });
    expect(await ledger.get(rows[3]!.key)).toMatchObject({ not_before: 9000, error_code: "http_503" });
    expect(await ledger.nextNotBefore(10, "sms")).toBe(9000);
    expect(await ledger.due("sms", 10, 100, 10)).toEqual([]);
    expect((await ledger.due("hook", 10, 100, 10)).map((r) => r.member)).toEqual(["M3"]);
    expect(await ledger.failuresByCode()).toEqual([{ channel: "sms", error_code: "isv.MOBILE_NUMBER_ILLEGAL", n: 1 }]);
  });

  it("recorded text comes back as written: quotes, backslashes, control characters, NULL spelled out, any script", async () => {
    const { ledger } = await backend.fresh();
    const texts = ['{"a":"b \\"c\\" \\\\ d"}', "tab\there\nnew line\r", "back\\", "\\u00e9 NULL", "NULL", "", "会员日 🎉 {x,y}", ' "quoted" '];
    await ledger.recordPlan(
      [],
      texts.map((t, i) => send(`M${i}`, i, "sms", { content: t, vars: i % 2 ? null : t, address: t })),
      1,
    );
    // One chunk without a control character takes the fast path; the whole plan with them the careful one.
    await ledger.insertSends([send("X", 9, "sms", { content: texts[0]!, vars: texts[2]! })]);
    for (const [i, t] of texts.entries()) expect(await ledger.get(keyOf(`M${i}`))).toMatchObject({ content: t, vars: i % 2 ? null : t, address: t });
    expect(await ledger.get(keyOf("X"))).toMatchObject({ content: texts[0], vars: texts[2] });
  });

  it("close commits what is still queued", async () => {
    const { ledger, reopen } = await backend.fresh();
    await ledger.recordPlan([], [send("M1", 1)], 1);
    const [r] = await ledger.due("sms", 10, 10, 10);
    await ledger.markInFlightQueued([r!.id], 1, 1);
    await ledger.queueFinish([{ id: r!.id, key: r!.key, state: "sent" }], 2);
    await ledger.close();
    const again = await reopen();
    expect((await again.get(r!.key))!.state).toBe("sent");
    expect(again.id).toBe(ledger.id);
  });

  it("plans: occurrences and sends recorded once, held-out members counted when new, committed members per occurrence", async () => {
    const { ledger } = await backend.fresh();
    const occ = [{ campaign: "c", occurrence: OCC, sendAt: 100, audience: 3 }];
    const plan = [send("M1", 100), send("M2", 100, "sms", { state: "held_out" }), send("M3", 100)];
    expect(await ledger.recordPlan(occ, plan, 1)).toEqual({ heldOut: 1 });
    expect(await ledger.recordPlan(occ, plan, 2)).toEqual({ heldOut: 0 });
    expect([...(await ledger.plannedOccurrences())]).toEqual([`c|${OCC}`]);
    // A campaign whose name extends another's is not part of its key range.
    await ledger.insertSends([{ ...send("X", 100), key: sendKey("c2", OCC, "X", "sms"), campaign: "c2" }]);
    const committed = await ledger.committed(0, 1000);
    expect([...committed.keys()]).toEqual([`c|${OCC}`]);
    expect([...committed.get(`c|${OCC}`)!].sort()).toEqual(["M1", "M3"]);
    expect((await ledger.committed(500, 1000)).size).toBe(0);
    expect((await ledger.committedContent("c", OCC)).map((r) => r.channel)).toEqual(["sms", "sms"]);
    expect((await ledger.history()).filter((h) => h.campaign === "c").map((h) => h.member)).toEqual(["M1", "M2", "M3"]);
    expect(await ledger.pendingOccurrences(1000)).toEqual([{ campaign: "c", occurrence: OCC, send_at: 100 }]);
    expect(await ledger.withdraw("c", OCC, (member) => member !== "M3", 50)).toBe(1);
    expect(await ledger.get(keyOf("M3"))).toMatchObject({ state: "withdrawn", error_code: "not_eligible", updated_at: 50 });
    expect(await ledger.counts()).toEqual([
      { campaign: "c", channel: "sms", state: "held_out", n: 1 },
      { campaign: "c", channel: "sms", state: "planned", n: 1 },
      { campaign: "c", channel: "sms", state: "withdrawn", n: 1 },
      { campaign: "c2", channel: "sms", state: "planned", n: 1 },
    ]);
  });

  it("plans: a send recorded before its occurrence was (a fallback, a copied ledger) stays as it was, the rest are recorded", async () => {
    const { ledger } = await backend.fresh();
    await ledger.insertSends([send("M2", 100, "sms", { content: "first" })]);
    const occ = [{ campaign: "c", occurrence: OCC, sendAt: 100, audience: 3 }];
    const plan = [send("M1", 100), send("M2", 100, "sms", { content: "second", state: "held_out" }), send("M3", 100, "sms", { state: "held_out" })];
    // M2 was not new: only M3 counts as held out.
    expect(await ledger.recordPlan(occ, plan, 1)).toEqual({ heldOut: 1 });
    expect(await ledger.get(keyOf("M2"))).toMatchObject({ state: "planned", content: "first" });
    expect(await ledger.get(keyOf("M1"))).toMatchObject({ state: "planned" });
    expect(await ledger.get(keyOf("M3"))).toMatchObject({ state: "held_out" });
    expect([...(await ledger.plannedOccurrences())]).toEqual([`c|${OCC}`]);
  });

  it("every character of a send's texts is stored as it was, by a plan, an insert and a result (tabs, line breaks, backslashes, quotes, NULL)", async () => {
    const { ledger } = await backend.fresh();
    const texts = ["a\tb", "line1\nline2\r\n", "C:\\path\\N", "\\N", "\\.", '"quoted", {braces}', "会员日 🎁 满300减50", ""];
    const plan = texts.map((text, i) =>
      send(`M${i}`, 100, "sms", {
        content: JSON.stringify({ kind: "sms", text }),
        vars: text,
        sender: i % 2 ? null : text,
        address: i === 3 ? null : `a\t${i}`,
      }),
    );
    await ledger.recordPlan([{ campaign: "c", occurrence: OCC, sendAt: 100, audience: texts.length }], plan, 1);
    for (const [i, s] of plan.entries())
      expect(await ledger.get(keyOf(`M${i}`))).toMatchObject({ content: s.content, vars: s.vars, sender: s.sender, address: s.address });
    // The same texts through the other writes: sends inserted beside existing ones, results of the group commit.
    const more = texts.map((text, i) => ({ ...send(`N${i}`, 100, "sms", { content: text, vars: text }) }));
    await ledger.insertSends([plan[0]!, ...more]);
    for (const [i, s] of more.entries()) expect(await ledger.get(keyOf(`N${i}`))).toMatchObject({ content: s.content, vars: s.vars });
    const due = await ledger.due("sms", 1000, 1000, 100);
    const marked = await ledger.markInFlightQueued(
      due.map((d) => d.id),
      1,
      1000,
      due.map((d) => d.attempts),
    );
    expect(marked.size).toBe(due.length);
    await ledger.queueFinish(
      due.map((d, i) => ({ id: d.id, key: d.key, state: "failed", error_code: texts[i % texts.length]!, error_message: texts[i % texts.length]! })),
      1000,
    );
    await ledger.flush();
    for (const [i, d] of due.entries())
      expect(await ledger.get(d.key)).toMatchObject({ state: "failed", error_code: texts[i % texts.length], error_message: texts[i % texts.length] });
  });

  it("scope, expiry, postponing and the next-run marker", async () => {
    const { ledger } = await backend.fresh();
    await ledger.insertSends([send("M1", 100), send("M2", 100), { ...send("X", 100), key: sendKey("d", OCC, "X", "sms"), campaign: "d" }]);
    await ledger.restrictTo(["c"]);
    expect(await ledger.plannedCount()).toBe(2);
    expect((await ledger.pendingDue(1000)).map((r) => r.member)).toEqual(["M1", "M2"]);
    const [m1, m2] = await ledger.due("sms", 1000, 1000, 10);
    await ledger.postpone([m1!.id], 5000);
    expect((await ledger.get(m1!.key))!.not_before).toBe(5000);
    // Transient failures give up for this run: not_before = updated_at + NEXT_RUN_MS marks them for the next run.
    await ledger.finish([{ id: m2!.id, key: m2!.key, state: "planned", not_before: 120_200 }], 200);
    expect(await ledger.releaseForNextRun()).toBe(1);
    expect((await ledger.get(m2!.key))!.not_before).toBeNull();
    // Expiry: campaign c after 1 minute; everything else (in scope) after the default.
    expect(await ledger.expire([{ campaign: "c", afterMs: 60_000 }], 3_600_000, 70_000)).toBe(2);
    expect(await ledger.get(m1!.key)).toMatchObject({ state: "expired", error_message: "not sent within 1 minutes of its planned time" });
    expect((await ledger.get(sendKey("d", OCC, "X", "sms")))!.state).toBe("planned");
  });

  it("runs, test sends, staff confirmation and tokens", async () => {
    const { ledger } = await backend.fresh();
    const first = await ledger.startRun(100, 10, 5000);
    const second = await ledger.startRun(200, 20);
    expect(second).toBeGreaterThan(first);
    expect(await ledger.lastSnapshotSize()).toBe(5000);
    // A run that read its snapshot after it started records its size then.
    await ledger.recordRunMembers(second, 7000);
    expect(await ledger.lastSnapshotSize()).toBe(7000);
    // SQLite: the caller holds the dispatch lock, so any other running run is dead. PostgreSQL: several workers run
    // at once, and a run is dead only when its heartbeat stopped.
    if (backend === postgres) await backend.stopHeartbeat!(first);
    expect(await ledger.markDeadRunsInterrupted(second, 30)).toBe(1);
    await ledger.finishRun(second, 40, "ok", { sent: 1 });
    expect((await ledger.runs(5)).map((r) => [r.id, r.status, r.finished_at, r.summary])).toEqual([
      [second, "ok", 40, `{"sent":1}`],
      [first, "interrupted", 30, null],
    ]);
    await ledger.recordTestSend({ campaign: "c", member: "staff", channel: "sms", address: "138", state: "sent", at: 1 });
    expect(await ledger.counts()).toEqual([]);
    await ledger.insertSends([send("M1", 1, "wecom", { sender: "zhang" }), send("M2", 1, "wecom", { sender: "zhang" })]);
    await ledger.finish(
      [
        { key: keyOf("M1", "wecom"), state: "sent", provider_id: "task-1" },
        { key: keyOf("M2", "wecom"), state: "queued", provider_id: "task-2" },
      ],
      2,
    );
    expect((await ledger.queued()).map((r) => r.member)).toEqual(["M2"]);
    expect(await ledger.staffConfirmation()).toEqual([
      { campaign: "c", channel: "wecom", staff: "zhang", tasks: 2, confirmed: 1, sends: 2, sent: 1, waiting: 1, expired: 0 },
    ]);
    expect(await ledger.getToken("wechat:app", 0)).toBeUndefined();
    await ledger.putToken("wechat:app", "t1", 1000);
    await ledger.putToken("wechat:app", "t2", 2000);
    expect(await ledger.getToken("wechat:app", 1500)).toBe("t2");
    expect(await ledger.getToken("wechat:app", 2000)).toBeUndefined();
    await ledger.finish([{ key: keyOf("M2", "wecom"), state: "unknown", error_code: "lost" }], 3);
    expect((await ledger.unknownSends()).map((r) => r.member)).toEqual(["M2"]);
  });
});

describe("SQLite runs whose process is gone", () => {
  it("a run marked running whose process died is stale; its sends in flight are another run's, silent", async () => {
    const { ledger, other } = freshSqlite("chuda-ledger-stale-");
    const dead = await ledger.startRun(1, 1);
    const live = await ledger.startRun(2, 2);
    // A process that has exited: its pid is free (not reused within this test).
    const { spawnSync } = await import("node:child_process");
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    other.prepare(`UPDATE runs SET pid = ? WHERE id = ?`).run(gone, dead);
    await ledger.recordPlan([], [send("M1", 1), send("M2", 2)], dead);
    const due = await ledger.due("sms", 10, 10, 10);
    await ledger.markInFlightQueued(
      due.map((r) => r.id),
      dead,
      5,
    );
    const runs = await ledger.runs();
    expect(runs.find((r) => r.id === dead)).toMatchObject({ status: "running", stale: true });
    expect(runs.find((r) => r.id === live)?.stale).toBeUndefined();
    expect(await ledger.inFlightElsewhere(live)).toEqual({ live: 0, silent: 2 });
    expect(await ledger.inFlightElsewhere(dead)).toEqual({ live: 0, silent: 0 });
  });
});
