import { describe, expect, it } from "vitest";
import { pointSpan } from "../diagnostics/span.js";
import { parseCalendarDate } from "./calendar-date.js";
import { parsePrice } from "./price.js";
import { isValidDriverName } from "./channels.js";

const S = pointSpan("chuda.yaml");

describe("parsePrice", () => {
  it.each([
    ["0.045 CNY per segment", { amount: 0.045, per: "segment" }],
    ["0.1 CNY per message", { amount: 0.1, per: "message" }],
    ["0.1 CNY", { amount: 0.1, per: "message" }],
    ["¥0.05 per segment", { amount: 0.05, per: "segment" }],
    ["2CNY", { amount: 2, per: "message" }],
  ])("%s", (text, price) => expect(parsePrice(text)).toEqual(price));
  it.each(["0.045", "0.045 per segment", "0.1 USD", "CNY 0.1", "0.1 CNY per sms", "-1 CNY"])("rejects %j", (t) => expect(parsePrice(t)).toBeUndefined());
});

describe("parseCalendarDate", () => {
  it("reads yearly and once dates, and Date values", () => {
    expect(parseCalendarDate("09-28", S)).toEqual({ kind: "yearly", month: 9, day: 28, span: S });
    expect(parseCalendarDate("02-29", S)).toMatchObject({ kind: "yearly", month: 2, day: 29 });
    expect(parseCalendarDate("2026-05-20", S)).toEqual({ kind: "once", date: "2026-05-20", span: S });
    expect(parseCalendarDate("2028-02-29", S)).toMatchObject({ kind: "once", date: "2028-02-29" });
    expect(parseCalendarDate(new Date(Date.UTC(2026, 4, 20)), S)).toEqual({ kind: "once", date: "2026-05-20", span: S });
  });
  it.each(["13-01", "02-30", "04-31", "2026-02-29", "1900-02-29", "9-28", "2026/05/20", "0928"])("rejects %j", (t) =>
    expect(parseCalendarDate(t, S)).toBeUndefined(),
  );
});

describe("isValidDriverName", () => {
  it.each([
    "wecom",
    "aliyun-sms",
    "tencent-sms",
    "wechat-template",
    "wechat-subscribe",
    "webhook",
    "file",
    "./d.js",
    "../d.js",
    "/abs/d.js",
    "npm:chuda-driver-x",
    "npm:@acme/driver",
  ])("accepts %s", (d) => expect(isValidDriverName(d)).toBe(true));
  it.each(["sms", "aliyun_sms", "drivers/x.js", "npm:", "npm:Bad Name", "WECOM"])("rejects %s", (d) => expect(isValidDriverName(d)).toBe(false));
});
