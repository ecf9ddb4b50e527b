import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SqliteLedger } from "./ledger.js";
import { deliveryRatesUsed, MIN_OBSERVED_SAMPLE } from "../cli/history.js";
import { parseProject } from "../project/index.js";
import { testSend } from "../../test/fixtures/sends.js";

let dir: string;
let ledger: SqliteLedger;
const NOW = Date.parse("2026-12-24T12:00:00+08:00");

async function sent(i: number, channel = "sms", providerId = `p${i}`, address = `139${String(i).padStart(8, "0")}`): Promise<string> {
  const key = `c|o|M${i}|${channel}`;
  await ledger.insertSends([testSend({ member: `M${i}`, channel, send_at: NOW - 3600_000, address, updated_at: NOW })]);
  await ledger.finish([{ key, state: "sent", provider_id: providerId }], NOW);
  return key;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "chuda-delivery-"));
  ledger = new SqliteLedger(path.join(dir, ".chuda/state.db"));
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

// Receipts, suppressions and the rest of the ledger's delivery methods are tested on both ledgers in
// src/ledger/delivery-ledger.test.ts.

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
