import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteLedger, sendKey, type SendInsert } from "./ledger.js";

const dirs: string[] = [];
const open: SqliteLedger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fresh() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-ledger-"));
  dirs.push(dir);
  const file = path.join(dir, ".chuda/state.db");
  const ledger = new SqliteLedger(file);
  open.push(ledger);
  // A second connection sees only what is committed.
  const other = new Database(file, { readonly: true });
  const stateOf = (key: string) => (other.prepare(`SELECT state FROM sends WHERE key = ?`).get(key) as { state: string } | undefined)?.state;
  return { ledger, file, stateOf, closeOther: () => other.close() };
}

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

describe("ledger", () => {
  it("due: planned sends of the channel due by `until`, past their backoff, in send-time order, only the needed columns", async () => {
    const { ledger, closeOther } = fresh();
    await ledger.recordPlan([], [send("M3", 300), send("M1", 100), send("M2", 200), send("M4", 900), send("W1", 100, "wecom")], 1);
    await ledger.finish([{ key: sendKey("c", "2026-12-24T10:00:00+08:00", "M2", "sms"), state: "planned", not_before: 5000 }], 1);
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
    expect(due[0]).toMatchObject({ key: sendKey("c", "2026-12-24T10:00:00+08:00", "M1", "sms"), address: "addr-M1", attempts: 0, first_attempt_at: null });
    expect((await ledger.due("sms", 500, 6000, 10)).map((r) => r.member)).toEqual(["M1", "M2", "M3"]);
    expect(await ledger.hasDue("wecom", 500, 0)).toBe(true);
    expect(await ledger.hasDue("wecom", 50, 0)).toBe(false);
    expect(await ledger.plannedCount()).toBe(5);
    closeOther();
  });

  it("group commit: marks queued in one turn are written together and resolve only once committed", async () => {
    const { ledger, stateOf, closeOther } = fresh();
    await ledger.recordPlan([], [send("M1", 1), send("M2", 2), send("M3", 3)], 1);
    const [a, b, c] = await ledger.due("sms", 10, 10, 10);
    const pa = ledger.markInFlightQueued([a!.id, b!.id], 7, 1000);
    const pb = ledger.markInFlightQueued([c!.id], 7, 1000);
    // Queued, not yet committed: another connection still reads them planned.
    expect(stateOf(a!.key)).toBe("planned");
    let resolved = false;
    void pa.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    expect([...(await pa)].sort()).toEqual([a!.id, b!.id].sort());
    expect([...(await pb)]).toEqual([c!.id]);
    // Resolved ⇒ durable and visible to another connection.
    expect([a, b, c].map((r) => stateOf(r!.key))).toEqual(["in_flight", "in_flight", "in_flight"]);
    const row = (await ledger.get(a!.key))!;
    expect(row).toMatchObject({ attempts: 1, run_id: 7, first_attempt_at: 1000 });
    // A send already in flight is not marked again (and not reported as marked).
    expect([...(await ledger.markInFlightQueued([a!.id], 8, 2000))]).toEqual([]);
    expect((await ledger.get(a!.key))!.attempts).toBe(1);
    expect((await ledger.inFlight()).map((r) => r.member)).toEqual(["M1", "M2", "M3"]);
    closeOther();
  });

  it("queued results stay in flight until the next commit, then land with their fallback inserts in one transaction", async () => {
    const { ledger, stateOf, closeOther } = fresh();
    await ledger.recordPlan([], [send("M1", 1), send("M2", 2), send("M3", 3), send("M4", 4)], 1);
    const rows = await ledger.due("sms", 10, 10, 10);
    await ledger.markInFlightQueued(
      rows.map((r) => r.id),
      2,
      100,
    );
    const fallback = send("M3", 3, "hook", { run_id: 2 });
    await ledger.queueFinish(
      [
        { id: rows[0]!.id, key: rows[0]!.key, state: "sent", provider_id: "biz-1" },
        { id: rows[1]!.id, key: rows[1]!.key, state: "sent", provider_id: "biz-1" },
        { id: rows[2]!.id, key: rows[2]!.key, state: "failed", error_code: "isv.MOBILE_NUMBER_ILLEGAL", error_message: "bad number" },
        { id: rows[3]!.id, key: rows[3]!.key, state: "planned", error_code: "http_503", error_message: "busy", not_before: 9000 },
      ],
      200,
      [fallback],
    );
    expect(stateOf(rows[0]!.key)).toBe("in_flight");
    expect(stateOf(fallback.key)).toBeUndefined();
    await ledger.flush();
    expect(rows.map((r) => stateOf(r.key))).toEqual(["sent", "sent", "failed", "planned"]);
    expect(stateOf(fallback.key)).toBe("planned");
    expect(await ledger.get(rows[0]!.key)).toMatchObject({ provider_id: "biz-1", error_code: null, updated_at: 200 });
    expect(await ledger.get(rows[1]!.key)).toMatchObject({ provider_id: "biz-1" });
    expect(await ledger.get(rows[2]!.key)).toMatchObject({ error_code: "isv.MOBILE_NUMBER_ILLEGAL", error_message: "bad number", provider_id: null });
    expect(await ledger.get(rows[3]!.key)).toMatchObject({ not_before: 9000, error_code: "http_503" });
    expect(await ledger.nextNotBefore(10, "sms")).toBe(9000);
    expect(await ledger.due("sms", 10, 100, 10)).toEqual([]);
    expect((await ledger.due("hook", 10, 100, 10)).map((r) => r.member)).toEqual(["M3"]);
    closeOther();
  });

  it("close commits what is still queued", async () => {
    const { ledger, file, closeOther } = fresh();
    await ledger.recordPlan([], [send("M1", 1)], 1);
    const [r] = await ledger.due("sms", 10, 10, 10);
    await ledger.markInFlightQueued([r!.id], 1, 1);
    await ledger.queueFinish([{ id: r!.id, key: r!.key, state: "sent" }], 2);
    closeOther();
    open.splice(open.indexOf(ledger), 1);
    await ledger.close();
    const again = new SqliteLedger(file);
    open.push(again);
    expect((await again.get(r!.key))!.state).toBe("sent");
  });
});
