/**
 * Reconciliation of sends a killed run left in flight, on a fake clock, with the file driver (its outbox is the
 * provider's record: a key in it was sent) and a real SQLite ledger.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import fileDriver from "../drivers/file.js";
import { projectYaml, testProject } from "../../test/fixtures/project.js";
import { testSend } from "../../test/fixtures/sends.js";
import type { SendInsert } from "../ledger/types.js";
import { SqliteLedger, sendKey } from "./ledger.js";
import { reconcileInFlight } from "./reconcile.js";
import { toRequest } from "./requests.js";
import type { DispatchEvent, DispatchInput, DispatchSummary } from "./runner.js";

const YAML = projectYaml(
  { email: "string" },
  `
channels:
  outbox:
    driver: file
    address: email
  hook:
    driver: file
    address: email
`,
);
const OCC = "2026-12-24T10:00:00+08:00";
const T0 = Date.UTC(2026, 11, 24, 2, 30);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function send(member: string, channel: string): SendInsert {
  return testSend({
    occurrence: OCC,
    member,
    channel,
    send_at: T0,
    address: `${member}@example.com`,
    content: JSON.stringify({ kind: "file", body: { text: "hi" } }),
  });
}

describe("reconciliation of sends left in flight", () => {
  it("a send the provider has is sent, one it proves never made is planned again, one on a channel that cannot tell is unknown", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "chuda-reconcile-"));
    dirs.push(root);
    const project = testProject(YAML, root);
    let now = T0;
    const clock = () => now;
    const ledger = new SqliteLedger(path.join(root, ".chuda/state.db"));
    await ledger.recordPlan([], [send("A", "outbox"), send("B", "outbox"), send("C", "hook")], 1);
    const rows = [...(await ledger.due("outbox", T0, T0, 10)), ...(await ledger.due("hook", T0, T0, 10))];
    await ledger.markInFlightQueued(
      rows.map((r) => r.id),
      1,
      T0,
    );
    // The killed run's call for A reached the outbox; B's never left.
    const outbox = fileDriver.create({ channel: "outbox", secrets: {}, options: {}, now: clock, timeoutMs: 1000, root });
    await outbox.send([toRequest(rows.find((r) => r.member === "A")!)]);
    // `hook` is loaded without `reconcile`: nothing can be asked.
    const hook = fileDriver.create({ channel: "hook", secrets: {}, options: { path: "hook.jsonl" }, now: clock, timeoutMs: 1000, root });
    now += 60_000;
    const events: DispatchEvent[] = [];
    const summary = { unknown: 0, fallbacks: 0 } as DispatchSummary;
    const input = {
      project,
      campaigns: [],
      templates: new Map(),
      ledger,
      channels: new Map([
        ["outbox", { driver: fileDriver, instance: outbox }],
        ["hook", { driver: fileDriver, instance: { send: hook.send, close: hook.close } }],
      ]),
      now: clock,
      onEvent: (e: DispatchEvent) => events.push(e),
    } as unknown as DispatchInput;
    await reconcileInFlight(input, summary, 2);
    const state = async (m: string, ch: string) => (await ledger.get(sendKey("c", OCC, m, ch)))!;
    expect((await state("A", "outbox")).state).toBe("sent");
    expect(await state("B", "outbox")).toMatchObject({ state: "planned", error_code: "not_found" });
    expect(await state("C", "hook")).toMatchObject({ state: "unknown", error_code: "in_flight_at_crash", updated_at: T0 + 60_000 });
    expect(events).toEqual([{ type: "reconciled", resolved: 2, unknown: 1 }]);
    expect(summary.unknown).toBe(1);
    await outbox.close();
    await hook.close();
    await ledger.close();
  });
});
