/**
 * The live views rendered by Ink into a fake terminal (a Writable with isTTY and a size). What the test reads is
 * the screen after replaying every byte Ink wrote (cursor up, erase line, carriage return), i.e. what a user
 * sees once the view has finished; nothing here depends on timing.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { DispatchSummary } from "../../dispatch/runner.js";
import { startDispatchView } from "./dispatch.js";
import { startProgress } from "./progress.js";
import { screenOf } from "../../../test/fixtures/terminal.js";

class FakeTty extends Writable {
  isTTY = true;
  columns = 120;
  rows = 40;
  raw = "";
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.raw += String(chunk);
    cb();
  }
  /** The screen's lines after replaying the output, blank lines but the last dropped. */
  screen(): string[] {
    return screenOf(this.raw).filter((l, i, a) => l !== "" || i < a.length - 1);
  }
}

const tty = () => new FakeTty() as FakeTty & NodeJS.WriteStream;
const SGR = /\u001b\[[0-9;]*m/;

describe("progress view", () => {
  it("draws a bar per task, and ends on the last state", () => {
    const out = tty();
    const p = startProgress("chuda", { stream: out, color: false });
    p.update("loading members", 250, 1000);
    p.update("loading members", 1000, 1000, "3,000 members");
    p.update("planning", 5, 20, "5/20 occurrences");
    p.update("planning", 20, 20, "20/20 occurrences");
    p.finish();
    p.finish(); // twice is harmless
    const screen = out.screen();
    expect(screen[0]).toBe("chuda");
    expect(screen[1]).toMatch(/^loading members\s+█{30} 100%\s+3,000 members$/);
    expect(screen[2]).toMatch(/^planning\s+█{30} 100%\s+20\/20 occurrences$/);
    expect(screen).toHaveLength(3);
    expect(out.raw).not.toMatch(SGR); // colour off: no colour codes (cursor movement only)
  });

  it("shows a partial bar while work is under way", () => {
    const out = tty();
    const p = startProgress("chuda", { stream: out, color: false, minIntervalMs: 0 });
    p.update("planning", 1, 4);
    p.finish();
    expect(out.screen()[1]).toMatch(/^planning\s+█{8}░{22}\s+25%$/);
  });

  it("writes logged text above the bars without tearing them", () => {
    const out = tty();
    const p = startProgress("chuda", { stream: out, color: false });
    p.update("loading members", 1000, 1000);
    p.log("members.csv:3:1 warning 1 snapshot row(s) rejected\n");
    p.update("planning", 2, 2);
    p.finish();
    const screen = out.screen();
    expect(screen[0]).toBe("members.csv:3:1 warning 1 snapshot row(s) rejected");
    expect(screen.slice(1)).toHaveLength(3);
    expect(screen[1]).toBe("chuda");
    expect(screen[3]).toMatch(/^planning\s+█{30} 100%$/);
  });
});

describe("live region", () => {
  it("draws nothing on a stream that is not a terminal, but still passes logged text through", () => {
    const out = tty();
    out.isTTY = false as never;
    const p = startProgress("chuda", { stream: out, color: false });
    p.update("planning", 1, 2);
    p.log("a warning\n");
    p.finish();
    expect(out.raw).toBe("a warning\n");
  });
});

const SECRET = "wecom_test_secret_0123456789";

function summary(): DispatchSummary {
  return {
    at: "2026-12-24T02:30:00.000Z",
    occurrences: 2,
    planned: 100,
    held_out: 10,
    sent: 90,
    queued: 2,
    failed: 6,
    unknown: 0,
    pending: 2,
    expired: 0,
    retries: 3,
    fallbacks: 4,
    missed: [],
    replanned: 0,
    replanned_sends: 0,
    withdrawn: 0,
    by_channel: { sms: { sent: 30, queued: 0, failed: 6, unknown: 0 }, wecom: { sent: 60, queued: 2, failed: 0, unknown: 0 } },
    failures: { "sms isv.MOBILE_NUMBER_ILLEGAL": 4, "sms content_refused": 2 },
    stopped: [],
    reconciled: 0,
    in_flight_elsewhere: { live: 0, silent: 0 },
  };
}

describe("dispatch view", () => {
  it("draws per-channel bars, the send rate, retries and failures by code from the run's events", () => {
    const out = tty();
    let clock = 1_000_000;
    const v = startDispatchView({ stream: out, color: false, title: "chuda dispatch · 2026-12-24T02:30:00.000Z", now: () => clock, secrets: [SECRET] });
    v.event({ type: "reconciled", resolved: 3, unknown: 1 });
    v.event({ type: "planned", sends: 100, heldOut: 10, occurrences: 2, byChannel: {} });
    clock += 1000;
    v.event({ type: "progress", channel: "wecom", sent: 30, failed: 0, total: 100, failures: {} });
    v.event({ type: "retry", channel: "sms", code: "isv.BUSINESS_LIMIT_CONTROL", count: 1 });
    v.event({ type: "retry", channel: "sms", code: "isv.BUSINESS_LIMIT_CONTROL", count: 2 });
    v.event({ type: "retry", channel: "wecom", code: "-1", count: 3 });
    v.event({ type: "progress", channel: "sms", sent: 30, failed: 6, total: 100, failures: {} });
    clock += 1000;
    v.event({ type: "progress", channel: "wecom", sent: 62, failed: 0, total: 100, failures: {} });
    v.event({ type: "stop", channel: "template_message", code: "45009", message: `api freq out of limit for ${SECRET} 13912345678` });
    v.finish(summary());
    v.finish();
    const screen = out.screen();
    expect(screen[0]).toBe("chuda dispatch · 2026-12-24T02:30:00.000Z");
    expect(screen).toContain("reconciled sends left in flight: 3 resolved, 1 unknown");
    expect(screen).toContain("planned 100 sends in 2 occurrences (10 held out)");
    const line = (start: string) => screen.find((l) => l.trimStart().startsWith(start)) ?? "";
    // Each channel's bar is its share of the run's 100 sends (the events carry no per-channel plan).
    expect(line("sms ")).toMatch(/^ {2}sms\s+█{11}░{19} {2}sent 30 {2}failed 6 {2}18 sends\/s {2}retries 2$/);
    expect(line("wecom ")).toMatch(/^ {2}wecom\s+█{19}░{11} {2}sent 62 {2}31 sends\/s {2}retries 1$/);
    expect(line("template_message")).toMatch(/stopped: 45009$/);
    // 98 handled in the 2 s since planning.
    expect(line("all channels")).toMatch(/█{29}░ {2}98%\s+98 of 100\s+49 sends\/s$/);
    expect(screen).toContain("retries 3: sms isv.BUSINESS_LIMIT_CONTROL ×2, wecom -1 ×1");
    expect(screen).toContain("failures by code");
    expect(line("sms isv.MOBILE_NUMBER_ILLEGAL")).toMatch(/ 4$/);
    expect(line("sms content_refused")).toMatch(/ 2$/);
    expect(line("channel template_message stopped")).toBe("channel template_message stopped for this run: 45009 api freq out of limit for *** 139****5678");
    expect(screen).toContain("done: sent 90, queued 2, failed 6, unknown 0, pending 2");
    expect(out.raw).not.toContain(SECRET);
    expect(out.raw).not.toContain("13912345678");
    expect(out.raw).not.toMatch(SGR);
  });

  it("redraws often reported events from the latest state only", () => {
    const out = tty();
    const v = startDispatchView({ stream: out, color: false, minIntervalMs: 60_000, now: () => 0 });
    v.event({ type: "planned", sends: 5000, heldOut: 0, occurrences: 1, byChannel: {} });
    for (let i = 1; i <= 5000; i++) v.event({ type: "progress", channel: "hook", sent: i, failed: 0, total: 5000, failures: {} });
    v.finish();
    const frames = out.raw.split("chuda dispatch").length - 1;
    expect(frames).toBeLessThanOrEqual(3); // the first frame, the final one; never one per event
    expect(out.screen().find((l) => l.includes("hook"))).toMatch(/█{30} {2}sent 5,000 {2}– sends\/s$/);
    expect(out.screen().find((l) => l.includes("all channels"))).toMatch(/5,000 of 5,000\s+– sends\/s$/);
  });
});
