import { describe, expect, it } from "vitest";
import type { DispatchSummary } from "../dispatch/runner.js";
import { dispatchDryRunJson, dispatchSummaryJson } from "./dispatch-json.js";

const summary = (): DispatchSummary => ({
  at: "2026-12-24T02:30:00.000Z",
  occurrences: 2,
  planned: 10,
  held_out: 1,
  sent: 7,
  queued: 1,
  failed: 1,
  unknown: 0,
  pending: 0,
  expired: 0,
  retries: 3,
  fallbacks: 1,
  missed: [{ campaign: "gift", occurrence: "2026-12-23T10:00+08:00", send_at: "2026-12-23T02:00:00.000Z" }],
  replanned: 0,
  replanned_sends: 0,
  withdrawn: 0,
  by_channel: { sms: { sent: 7, queued: 1, failed: 1, unknown: 0 } },
  failures: { "isv.MOBILE_NUMBER_ILLEGAL": 1 },
  stopped: [{ channel: "wecom", code: "auth", message: "token refused for 13812345678", reason: "credentials" }],
  reconciled: 2,
  in_flight_elsewhere: { live: 3, silent: 4 },
});

describe("dispatch --json", () => {
  it("prints the documented snake_case fields, phones masked", () => {
    const json = dispatchSummaryJson(summary());
    expect(Object.keys(json).sort()).toEqual(
      [
        "at",
        "by_channel",
        "failed",
        "failures",
        "fallbacks",
        "held_out",
        "missed",
        "occurrences",
        "pending",
        "planned",
        "queued",
        "replanned",
        "replanned_sends",
        "retries",
        "sent",
        "stopped",
        "unknown",
        "withdrawn",
        "expired",
        "reconciled",
        "in_flight_elsewhere",
      ].sort(),
    );
    expect(json).toMatchObject({ reconciled: 2, in_flight_elsewhere: { live: 3, silent: 4 } });
    expect(json.stopped[0]!.message).not.toContain("13812345678");
    expect(dispatchSummaryJson({ ...summary(), interrupted: true, staff_tasks: { sent: 1, failed: 0, expired: 0, waiting: 2 } })).toMatchObject({
      interrupted: true,
      staff_tasks: { sent: 1, waiting: 2 },
    });
  });

  it("is built from the internal summary field by field: an internal field does not reach the output", () => {
    const internal = { ...summary(), runClockMs: 123, by_channel: { sms: { sent: 1, queued: 0, failed: 0, unknown: 0, inFlight: 4 } } } as DispatchSummary;
    const json = dispatchSummaryJson(internal) as unknown as Record<string, unknown>;
    expect(json).not.toHaveProperty("runClockMs");
    expect(json.by_channel).toEqual({ sms: { sent: 1, queued: 0, failed: 0, unknown: 0 } });
  });

  it("dry run: the sends, with those pending since an earlier run marked", () => {
    const dry = {
      sends: [
        { campaign: "gift", occurrence: "o1", member: "13812345678", channel: "sms", address: "13812345678", earlier: true },
        { campaign: "gift", occurrence: "o1", member: "M2", channel: "sms", address: null, earlier: false },
      ],
      waiting: 1,
      expiring: 0,
      withdrawing: 0,
    };
    const json = dispatchDryRunJson(Date.parse("2026-12-24T02:30:00Z"), dry, []);
    expect(json).toMatchObject({ dry_run: true, at: "2026-12-24T02:30:00.000Z", pending_from_earlier_runs: 1, waiting: 1 });
    expect(json.sends[0]).toEqual({ campaign: "gift", occurrence: "o1", member: "138****5678", channel: "sms", pending_since_earlier_run: true });
    expect(json.sends[1]).not.toHaveProperty("address");
  });
});

describe("dispatch summary in words", () => {
  it("says what other workers still hold, what a killed run's sends became, and which content a channel refused", async () => {
    const { renderDispatchSummary } = await import("./dispatch.js");
    const quiet = renderDispatchSummary({ ...summary(), reconciled: 0, in_flight_elsewhere: { live: 0, silent: 0 }, failures: {} }, { color: false });
    expect(quiet).not.toMatch(/in flight with|confirmed by the provider|refused before sending/);
    const text = renderDispatchSummary(
      { ...summary(), reconciled: 2, in_flight_elsewhere: { live: 3, silent: 4 }, failures: { "sms content_refused": 5, "sms isv.MOBILE_NUMBER_ILLEGAL": 1 } },
      { color: false },
    );
    expect(text).toContain("2 sends a stopped run left in flight were confirmed by the provider");
    expect(text).toContain("3 sends are in flight with other workers still running");
    expect(text).toMatch(/4 sends are in flight with a run not heard from .* never sent blind/);
    expect(text).toMatch(/5 sends were refused before sending: .*\(sms\)/);
  });
});
