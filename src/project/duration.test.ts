import { describe, expect, it } from "vitest";
import { formatClock, parseClock, parseClockRange, parseDuration, parseFrequencyRule } from "./duration.js";

const H = 3_600_000;
const D = 24 * H;

describe("parseDuration", () => {
  it.each([
    ["6 hours", 6 * H],
    ["1 hour", H],
    ["30 minutes", 30 * 60_000],
    ["1 day", D],
    [" 2  weeks ", 14 * D],
    ["0 hours", 0],
  ])("%s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["6", "hours", "6 months", "1 year", "1.5 hours", "-1 hours", "6 hourz", ""])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("parseFrequencyRule", () => {
  it("reads calendar periods", () => {
    expect(parseFrequencyRule("1 per member per day")).toMatchObject({ count: 1, period: { kind: "calendar", unit: "day" }, text: "1 per member per day" });
    expect(parseFrequencyRule("4 per member per month")!.period).toEqual({ kind: "calendar", unit: "month" });
    expect(parseFrequencyRule("7 per member per week")!.period).toEqual({ kind: "calendar", unit: "week" });
  });

  it("reads rolling windows, even of one unit", () => {
    expect(parseFrequencyRule("2 per member per 7 days")).toMatchObject({ count: 2, period: { kind: "rolling", ms: 7 * D, text: "7 days" } });
    expect(parseFrequencyRule("1 per member per 1 day")!.period).toEqual({ kind: "rolling", ms: D, text: "1 day" });
    expect(parseFrequencyRule("3 per member per 12 hours")!.period).toEqual({ kind: "rolling", ms: 12 * H, text: "12 hours" });
    expect(parseFrequencyRule("3 per member per 2 weeks")!.period).toEqual({ kind: "rolling", ms: 14 * D, text: "2 weeks" });
  });

  it("normalises spacing in the text", () => {
    expect(parseFrequencyRule("  2  per member  per 7 days ")!.text).toBe("2 per member per 7 days");
  });

  it.each([
    "2 per 7 days",
    "per member per day",
    "0 per member per day",
    "2 per member per 2 months",
    "1 per member per hour",
    "1 per member per days",
    "1 per member per 0 days",
    "1 per member per fortnight",
    "1.5 per member per day",
    "2 per customer per day",
  ])("rejects %j", (text) => expect(parseFrequencyRule(text)).toBeUndefined());
});

describe("parseClock", () => {
  it.each([
    ["00:00", 0],
    ["9:05", 545],
    ["10:00", 600],
    ["21:00", 1260],
    ["23:59", 1439],
  ])("%s", (text, m) => expect(parseClock(text)).toBe(m));

  it.each(["24:00", "12:60", "7pm", "1000", "10:0", ""])("rejects %j", (text) => expect(parseClock(text)).toBeUndefined());

  it("round-trips through formatClock", () => {
    for (let m = 0; m < 1440; m += 7) expect(parseClock(formatClock(m))).toBe(m);
  });
});

describe("parseClockRange", () => {
  it("reads a range that wraps midnight", () => {
    expect(parseClockRange("21:00-09:00")).toEqual({ start: 1260, end: 540 });
    expect(parseClockRange("12:00 - 13:30")).toEqual({ start: 720, end: 810 });
  });
  it.each(["21:00", "21:00-09:00-10:00", "09:00-09:00", "21:00 to 09:00"])("rejects %j", (text) => expect(parseClockRange(text)).toBeUndefined());
});
