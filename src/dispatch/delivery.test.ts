import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteLedger } from "./ledger.js";
import { deliveryRatesUsed, MIN_OBSERVED_SAMPLE } from "../cli/history.js";
import { parseProject } from "../project/index.js";

let dir: string;
let ledger: SqliteLedger;
const NOW = Date.parse("2026-12-24T12:00:00+08:00");

async function sent(i: number, channel = "sms", providerId = `p${i}`, address = `139${String(i).padStart(8, "0")}`): Promise<string> {
  const key = `c|o|M${i}|${channel}`;
  await ledger.insertSends([
    {
      key,
      campaign: "c",
      occurrence: "o",
      member: `M${i}`,
      channel,
      state: "planned",
      send_at: NOW - 3600_000,
      address,
      sender: null,
      content: null,
      fallbacks: null,
      vars: null,
      run_id: 1,
      updated_at: NOW,
    },
  ]);
  await ledger.finish([{ key, state: "sent", provider_id: providerId }], NOW);
  return key;
}
const row = async (key: string) => (await ledger.get(key)) as unknown as { delivered_at: number | null; delivery_code: string | null };

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "chuda-delivery-"));
  ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("delivery receipts in the ledger", async () => {
  it("keeps the final state with the latest report time, whatever the arrival order, and stores a receipt once", async () => {
    const k = await sent(1);
    const r = (state: "delivered" | "failed", at: number, code: string | null = null) => ({
      channel: "sms",
      providerId: "p1",
      address: "+8613900000001",
      state,
      code,
      at,
      source: "push" as const,
    });
    expect(await ledger.recordReceipts([r("failed", NOW + 2000, "MK:1"), r("delivered", NOW + 1000), r("failed", NOW + 2000, "MK:1")], NOW)).toEqual([
      "applied",
      "applied",
      "duplicate",
    ]);
    expect(await row(k)).toMatchObject({ delivered_at: null, delivery_code: "MK:1" });
    await ledger.recordReceipts([r("delivered", NOW + 3000)], NOW);
    expect(await row(k)).toMatchObject({ delivered_at: NOW + 3000, delivery_code: null });
  });

  it("tells apart the numbers of one Aliyun request (one BizId) by phone", async () => {
    const a = await sent(1, "sms", "biz^0");
    const b = await sent(2, "sms", "biz^0");
    await ledger.recordReceipts([{ channel: "sms", providerId: "biz^0", address: "13900000002", state: "failed", code: "MK:9", at: NOW, source: "push" }], NOW);
    expect(await row(a)).toMatchObject({ delivered_at: null, delivery_code: null });
    expect(await row(b)).toMatchObject({ delivery_code: "MK:9" });
  });

  it("refuses a receipt that matches nothing, writing nothing", async () => {
    await sent(1);
    expect(
      await ledger.recordReceipts([{ channel: "sms", providerId: "nope", address: "13911111111", state: "delivered", at: NOW, source: "push" }], NOW),
    ).toEqual(["unknown"]);
    expect((ledger.db.prepare("SELECT COUNT(*) AS n FROM receipts").get() as { n: number }).n).toBe(0);
  });

  it("suppresses a member whose send is refused with an opt-out code, once", async () => {
    const key = `c|o|M9|oa`;
    await ledger.insertSends([
      {
        key,
        campaign: "c",
        occurrence: "o",
        member: "M9",
        channel: "oa",
        state: "planned",
        send_at: NOW,
        address: "o_9",
        sender: null,
        content: null,
        fallbacks: null,
        vars: null,
        run_id: 1,
        updated_at: NOW,
      },
    ]);
    await ledger.finish([{ key, state: "failed", error_code: "43004", error_message: "require subscribe" }], NOW);
    await ledger.finish([{ key, state: "failed", error_code: "43004", error_message: "require subscribe" }], NOW);
    expect((await ledger.suppressions()).map((s) => [s.member, s.channel, s.address, s.source])).toEqual([["M9", "oa", "o_9", "send-error"]]);
  });
});

describe("rates: observed", async () => {
  const project = () =>
    parseProject(
      `members:\n  key: id\n  fields: { id: string, mobile: phone }\nchannels:\n  sms: { driver: aliyun-sms, address: mobile, rates: { delivered: 0.9 } }\n  sms2: { driver: aliyun-sms, address: mobile, rates: { delivered: 0.8 } }\nrates: observed\n`,
      path.join(dir, "chuda.yaml"),
      dir,
    ).project!;

  it("uses a channel's observed rate with enough receipts, else its configured one, and says which", async () => {
    const n = MIN_OBSERVED_SAMPLE + 50;
    for (let i = 0; i < n; i++) await sent(i);
    for (let i = 0; i < 10; i++) await sent(1000 + i, "sms2");
    await ledger.recordReceipts(
      Array.from({ length: n }, (_, i) => ({
        channel: "sms",
        providerId: `p${i}`,
        state: i % 5 === 0 ? ("failed" as const) : ("delivered" as const),
        at: NOW,
        source: "pull" as const,
      })),
      NOW,
    );
    await ledger.recordReceipts([{ channel: "sms2", providerId: "p1000", state: "delivered", at: NOW, source: "pull" }], NOW);
    await ledger.close();
    const rates = await deliveryRatesUsed(dir, project(), NOW);
    ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
    expect(rates).toEqual({ sms: { rate: 0.8, source: "observed", sample: n }, sms2: { rate: 0.8, source: "configured", sample: 1 } });
  });
});
