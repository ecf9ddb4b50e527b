import { describe, expect, it } from "vitest";
import { cleanText, dispatchLines, formatRate } from "./dispatch.js";
import { handled, initialDispatchState, reduceDispatch, sendRate } from "./dispatch-state.js";

const text = (lines: { text: string }[][]) => lines.map((l) => l.map((s) => s.text).join(""));

describe("dispatch view state", () => {
  it("folds events: per-channel counts, retries by code, stops, and the rate since planning", () => {
    const s = initialDispatchState(0);
    reduceDispatch(s, { type: "planned", sends: 10, heldOut: 1, occurrences: 1, byChannel: {} }, 500);
    reduceDispatch(s, { type: "progress", channel: "sms", sent: 3, failed: 1, total: 10, failures: {} }, 1000);
    reduceDispatch(s, { type: "retry", channel: "sms", code: "timeout", count: 1 }, 1200);
    reduceDispatch(s, { type: "progress", channel: "sms", sent: 6, failed: 1, total: 10, failures: {} }, 2500);
    reduceDispatch(s, { type: "stop", channel: "wecom", code: "48002", message: "api forbidden" }, 2500);
    expect(s.channels.sms).toEqual({ sent: 6, failed: 1, total: 10, retries: 1 });
    expect(s.channels.wecom?.stopped).toEqual({ code: "48002", message: "api forbidden" });
    expect(s.retriesByCode).toEqual({ "sms timeout": 1 });
    expect(handled(s)).toBe(7);
    expect(sendRate(s)).toBeCloseTo(7 / 2, 9); // since the planned event at 500 ms
  });

  it("has no rate before sending starts or before time passes", () => {
    const s = initialDispatchState(0);
    expect(sendRate(s)).toBeUndefined();
    reduceDispatch(s, { type: "progress", channel: "sms", sent: 1, failed: 0, total: 1, failures: {} }, 10);
    expect(sendRate(s)).toBeUndefined();
    expect(formatRate(undefined)).toBe("– sends/s");
    expect(formatRate(3.25)).toBe("3.3 sends/s");
    expect(formatRate(21_432.4)).toBe("21,432 sends/s");
  });

  it("draws a channel's bar as its progress when the plan per channel is known", () => {
    const s = initialDispatchState(0);
    reduceDispatch(s, { type: "planned", sends: 40, heldOut: 0, occurrences: 1, byChannel: { sms: 10, wecom: 30 } } as never, 0);
    reduceDispatch(s, { type: "progress", channel: "sms", sent: 5, failed: 0, total: 40, failures: {} }, 1000);
    const lines = text(dispatchLines(s));
    expect(lines.find((l) => l.startsWith("  sms"))).toMatch(/^ {2}sms\s+█{15}░{15} {2}50% {2}sent 5 of 10 {2}5\.0 sends\/s$/);
    expect(lines.find((l) => l.startsWith("  wecom"))).toMatch(/^ {2}wecom\s+░{30} {3}0% {2}sent 0 of 30/);
    expect(lines.find((l) => l.startsWith("  all channels"))).toMatch(/█{4}░{26} {2}13% {2}5 of 40 {2}5\.0 sends\/s$/);
  });

  it("shows 'planning…' until the plan is known", () => {
    const lines = text(dispatchLines(initialDispatchState(0)));
    expect(lines[0]).toBe("chuda dispatch");
    expect(lines[1]).toBe("planning…");
  });
});

describe("cleanText", () => {
  it("redacts secrets and masks mainland mobile numbers", () => {
    expect(cleanText("bad sig for key testsecret, to 13812341234", ["testsecret"])).toBe("bad sig for key ***, to 138****1234");
    expect(cleanText("short ab stays", ["ab"])).toBe("short ab stays");
  });
});
