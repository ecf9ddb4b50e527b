/**
 * Outcome handling, scenario by scenario, on a fake clock (the run's moment is passed in, the wall clock is a counter)
 * and a real SQLite ledger in memory: what each kind of provider answer does to a send and to the run's counts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import type { Project } from "../project/types.js";
import type { SendOutcome } from "../drivers/types.js";
import type { DueSend } from "../ledger/types.js";
import { NEXT_RUN_MS, SqliteLedger, sendKey } from "./ledger.js";
import { backoffMs, MAX_DEFERS_PER_SEND, MIN_DEFER_MS, OutcomeHandler } from "./outcomes.js";
import { emptySummary, type DispatchSummary } from "./runner.js";

const YAML = projectYaml(
  { mobile: "phone" },
  `
channels:
${aliyunSmsChannel(["failover: sms2"])}
  sms2:
    driver: tencent-sms
    address: mobile
    env: { secret_id: C, secret_key: D }
`,
);
const OCC = "2026-12-24T10:00:00+08:00";
const T0 = Date.UTC(2026, 11, 24, 2, 0);

let project: Project;
let ledger: SqliteLedger;
let summary: DispatchSummary;
let wall: number;
let stops: { channel: string; code: string; reason: string }[];

function handler(maxAttempts = 3) {
  return new OutcomeHandler({
    project,
    ledger,
    templates: new Map(),
    campaignsByName: new Map(),
    runId: 1,
    maxAttempts,
    summary,
    wall: () => wall,
    stopChannel: (channel, code, _message, reason) => stops.push({ channel, code, reason }),
    isStopped: (channel) => stops.some((s) => s.channel === channel),
  });
}

function due(member: string, sendAt = T0): DueSend {
  const key = sendKey("c", OCC, member, "sms");
  return {
    id: 0,
    key,
    campaign: "c",
    occurrence: OCC,
    member,
    channel: "sms",
    address: "13800000000",
    sender: null,
    content: null,
    attempts: 1,
    first_attempt_at: T0,
    send_at: sendAt,
  };
}

const fail = (cls: string, code: string, extra: object = {}) => ({ status: "failed", class: cls, code, message: code, ...extra }) as SendOutcome;

beforeEach(() => {
  project = testProject(YAML);
  ledger = new SqliteLedger(":memory:");
  summary = emptySummary(T0);
  wall = T0;
  stops = [];
});
afterEach(async () => {
  await ledger.close();
});

describe("outcome handling", () => {
  it("sent and queued are recorded with the provider's id and counted per channel", async () => {
    const h = handler();
    const { results } = await h.batch(
      "sms",
      [due("A"), due("B")],
      [
        { status: "sent", providerId: "biz-1" },
        { status: "queued", providerId: "task-1" },
      ],
      T0,
    );
    expect(results.map((r) => [r.state, r.provider_id])).toEqual([
      ["sent", "biz-1"],
      ["queued", "task-1"],
    ]);
    expect(summary).toMatchObject({ sent: 1, queued: 1, by_channel: { sms: { sent: 1, queued: 1, failed: 0, unknown: 0 } } });
  });

  it("a transient failure backs off 1 s, 2 s … by the send's key; past the retry budget it waits for the next run and a channel with failover stops", async () => {
    const h = handler(3);
    const row = due("A");
    const waits: number[] = [];
    let t = T0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { results } = await h.batch("sms", [row], [fail("retry", "http_503")], t);
      expect(results[0]!.state).toBe("planned");
      waits.push(results[0]!.not_before! - t);
      t = results[0]!.not_before!;
      expect(stops.length).toBe(attempt === 3 ? 1 : 0);
    }
    expect(waits).toEqual([backoffMs(row.key, 1), backoffMs(row.key, 2), NEXT_RUN_MS]);
    expect(waits[0]).toBeGreaterThanOrEqual(500);
    expect(stops).toEqual([{ channel: "sms", code: "http_503", reason: "an outage past the retry budget" }]);
    expect(summary.retries).toBe(3);
  });

  it("a retry that could not leave before the send expires is expired instead", async () => {
    const h = handler();
    // Planned 24 hours ago less a tenth of a second: the first backoff (at least half a second) is past the expiry.
    const row = due("A", T0 - 24 * 3_600_000 + 100);
    const { results } = await h.batch("sms", [row], [fail("retry", "http_503")], T0);
    expect(results[0]).toMatchObject({ state: "expired", error_code: "expired" });
    expect(results[0]!.error_message).toMatch(/^expired: not sent within 24 hours of its planned time; last: http_503/);
    expect(summary.expired).toBe(1);
  });

  it("a provider's slow down: its moment on the wall clock in whole seconds, at least MIN_DEFER_MS; past MAX_DEFERS_PER_SEND the next run", async () => {
    const h = handler();
    const row = due("A");
    wall = T0 + 5_000;
    // 2.3 s from the wall clock's now: 3 s, counted on the run's clock.
    let { results } = await h.batch("sms", [row], [fail("defer", "throttled", { notBefore: wall + 2_300 })], T0);
    expect(results[0]!.not_before).toBe(T0 + 3_000);
    ({ results } = await h.batch("sms", [row], [fail("defer", "throttled", { notBefore: wall })], T0));
    expect(results[0]!.not_before).toBe(T0 + MIN_DEFER_MS);
    for (let i = 3; i <= MAX_DEFERS_PER_SEND + 1; i++) ({ results } = await h.batch("sms", [row], [fail("defer", "throttled", { notBefore: wall })], T0));
    expect(results[0]!.not_before).toBe(T0 + NEXT_RUN_MS);
    expect(stops).toEqual([]);
  });

  it("stop leaves the send pending and stops the channel with the reason in words", async () => {
    const h = handler();
    const { results } = await h.batch("sms", [due("A")], [fail("stop", "isv.AMOUNT_NOT_ENOUGH")], T0);
    expect(results[0]).toMatchObject({ state: "planned", not_before: null });
    expect(stops).toEqual([{ channel: "sms", code: "isv.AMOUNT_NOT_ENOUGH", reason: "balance exhausted" }]);
  });

  it("a recipient's or request's failure is failed and counted by code; no answer is unknown, never re-sent", async () => {
    const h = handler();
    const { results, fallbacks } = await h.batch(
      "sms",
      [due("A"), due("B"), due("C"), due("D")],
      [fail("recipient", "isv.MOBILE_NUMBER_ILLEGAL"), fail("request", "isv.TEMPLATE_MISSING"), fail("ambiguous", "timeout")],
      T0,
    );
    expect(results.map((r) => `${r.state}:${r.error_code}`)).toEqual([
      "failed:isv.MOBILE_NUMBER_ILLEGAL",
      "failed:isv.TEMPLATE_MISSING",
      "unknown:timeout",
      "unknown:no_outcome",
    ]);
    // The ledger has no row for A, so no fallback could be read.
    expect(fallbacks).toEqual([]);
    expect(summary).toMatchObject({ failed: 2, unknown: 2, failures: { "sms isv.MOBILE_NUMBER_ILLEGAL": 1, "sms isv.TEMPLATE_MISSING": 1 } });
  });
});
