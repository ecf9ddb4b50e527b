import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SqliteLedger, sendKey } from "../dispatch/ledger.js";
import { goalMatches, goalWindowEnd, outcomeSends, readLedgerOutcomeRows } from "./attribution.js";

const TZ = "Asia/Shanghai";
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "chuda-att-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("goals", () => {
  it("match by kind, code, minimum amount and event name", () => {
    expect(goalMatches({ kind: "redeem", code: "D11" }, { kind: "redeem", code: "D11" })).toBe(true);
    expect(goalMatches({ kind: "redeem", code: "D11" }, { kind: "redeem", code: "D12" })).toBe(false);
    expect(goalMatches({ kind: "purchase", minAmount: 100 }, { kind: "purchase", amount: 100 })).toBe(true);
    expect(goalMatches({ kind: "purchase", minAmount: 100 }, { kind: "purchase", amount: 99.99 })).toBe(false);
    expect(goalMatches({ kind: "purchase", minAmount: 100 }, { kind: "purchase" })).toBe(false);
    expect(goalMatches({ kind: "purchase" }, { kind: "purchase" })).toBe(true);
    expect(goalMatches({ kind: "event", code: "签到" }, { kind: "event", code: "签到" })).toBe(true);
    expect(goalMatches({ kind: "visit" }, { kind: "visit" })).toBe(true);
    expect(goalMatches({ kind: "visit" }, { kind: "purchase", amount: 10 })).toBe(false);
  });

  it("windows: fixed days and hours, calendar months in the project timezone", () => {
    const t = Date.UTC(2026, 0, 31, 2, 0); // 2026-01-31 10:00 in Shanghai
    expect(goalWindowEnd(t, { amount: 7, unit: "day" }, TZ)).toBe(t + 7 * 86_400_000);
    expect(goalWindowEnd(t, { amount: 36, unit: "hour" }, TZ)).toBe(t + 36 * 3_600_000);
    expect(goalWindowEnd(t, { amount: 1, unit: "month" }, TZ)).toBe(Date.UTC(2026, 1, 28, 2, 0));
  });
});

describe("ledger rows", () => {
  it("are read read-only and folded per member and occurrence: every member assigned a send is treated (intention to treat), held_out is control", async () => {
    const file = path.join(dir, "state.db");
    const ledger = new SqliteLedger(file);
    const occ = "2026-12-01T10:00+08:00";
    const at = Date.UTC(2026, 11, 1, 2, 0);
    const row = (member: string, channel: string, state: string, content: string | null = null) => ({
      key: sendKey("bday", occ, member, channel),
      campaign: "bday",
      occurrence: occ,
      member,
      channel,
      state: state as never,
      send_at: at,
      address: null,
      sender: null,
      content,
      fallbacks: null,
      vars: null,
      run_id: 1,
      updated_at: at,
    });
    await ledger.insertSends([
      row("A", "wecom", "failed"),
      row("A", "sms", "sent", JSON.stringify({ kind: "sms", sign: "商场", text: "x" })),
      row("B", "wecom", "queued"),
      row("C", "-", "held_out"),
      row("D", "sms", "planned"),
      row("E", "sms", "unknown"),
    ]);
    await ledger.close();
    const rows = readLedgerOutcomeRows(file);
    expect(rows.map((r) => `${r.member}:${r.channel}:${r.state}`)).toEqual([
      "A:sms:sent",
      "A:wecom:failed",
      "B:wecom:queued",
      "C:-:held_out",
      "D:sms:planned",
      "E:sms:unknown",
    ]);
    const sends = outcomeSends(rows, (r) => (r.channel === "sms" ? 0.045 : 0));
    expect(sends).toEqual([
      {
        campaign: "bday",
        occurrence: occ,
        member: "A",
        group: "treated",
        sendAt: at,
        channels: ["sms", "wecom"],
        cost: 0.045,
        sent: true,
        delivered: null,
        opened: null,
      },
      { campaign: "bday", occurrence: occ, member: "B", group: "treated", sendAt: at, channels: ["wecom"], cost: 0, sent: true, delivered: null, opened: null },
      { campaign: "bday", occurrence: occ, member: "C", group: "control", sendAt: at, channels: [], cost: 0, sent: false, delivered: null, opened: null },
      // Assigned but never sent (still planned, or unknown): treated all the same, costing nothing.
      { campaign: "bday", occurrence: occ, member: "D", group: "treated", sendAt: at, channels: ["sms"], cost: 0, sent: false, delivered: null, opened: null },
      { campaign: "bday", occurrence: occ, member: "E", group: "treated", sendAt: at, channels: ["sms"], cost: 0, sent: false, delivered: null, opened: null },
    ]);
  });

  it("use provider-reported delivery where rows carry it", () => {
    const sends = outcomeSends(
      [
        { campaign: "c", occurrence: "o", member: "A", channel: "sms", state: "sent", send_at: 1, content: null, delivered: 1, opened: null },
        { campaign: "c", occurrence: "o", member: "B", channel: "sms", state: "sent", send_at: 1, content: null, delivered: 0, opened: 1 },
      ],
      () => 0,
    );
    expect(sends.map((s) => [s.delivered, s.opened])).toEqual([
      [true, null],
      [false, true],
    ]);
  });
});
