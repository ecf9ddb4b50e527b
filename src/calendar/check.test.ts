import { describe, expect, it } from "vitest";
import type { ResolvedCampaign, ResolvedTrigger } from "../resolved/types.js";
import type { CalendarEventDef, Project } from "../project/types.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import { checkTriggers } from "./check.js";

const span = { file: "campaigns/a.chuda", start: { line: 3, column: 1, offset: 20 }, end: { line: 9, column: 2, offset: 200 } };
const yspan = { file: "chuda.yaml", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } };

function project(calendar: Record<string, CalendarEventDef> = {}): Project {
  return {
    root: "/p",
    file: "/p/chuda.yaml",
    timezone: "Asia/Shanghai",
    members: { key: "member_id", fields: new Map() },
    channels: new Map(),
    policy: { max: [], defaultTime: 600, catchUpMs: 6 * 3600_000 },
    assumptions: {},
    calendar: new Map(Object.entries(calendar)),
    conversions: { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" },
    spans: new Map(),
  };
}

function campaign(trigger: ResolvedTrigger, active?: { from: string; to: string }): ResolvedCampaign {
  const c = testCampaign({ file: "campaigns/a.chuda", span, trigger });
  if (active) c.active = active;
  return c;
}

const P = project({
  store_anniversary: { kind: "yearly", month: 9, day: 28, span: yspan },
  brand_day: { kind: "once", date: "2026-05-20", span: yspan },
});
const codes = (t: ResolvedTrigger, active?: { from: string; to: string }) => checkTriggers([campaign(t, active)], P).map((d) => `${d.code} ${d.severity}`);

describe("checkTriggers", () => {
  it("accepts ordinary triggers", () => {
    expect(codes({ kind: "monthly", day: 28, time: 600 })).toEqual([]);
    expect(codes({ kind: "every_day", time: 600 }, { from: "2026-01-01", to: "2026-01-01" })).toEqual([]);
    expect(codes({ kind: "event", event: "mid_autumn", offset: { amount: 3, unit: "day", direction: "before" }, time: 600 })).toEqual([]);
    expect(codes({ kind: "event", event: "mid_autumn", time: 600 }, { from: "2026-09-01", to: "2026-09-30" })).toEqual([]);
  });

  it("warns that every month on 29..31 skips months, and rejects days outside 1..31", () => {
    const [d] = checkTriggers([campaign({ kind: "monthly", day: 31, time: 600 })], P);
    expect(d).toMatchObject({ code: "CH4002", severity: "warning", span });
    expect(d!.message).toBe("`every month on 31` is skipped in months without day 31 (Feb, Apr, Jun, Sep, Nov)");
    expect(d!.help).toContain("it fires in 7 months a year");
    expect(codes({ kind: "monthly", day: 30, time: 600 })).toEqual(["CH4002 warning"]);
    expect(checkTriggers([campaign({ kind: "monthly", day: 29, time: 600 })], P)[0]!.message).toContain("February of common years");
    expect(codes({ kind: "monthly", day: 32, time: 600 })).toEqual(["CH4001 error"]);
    expect(codes({ kind: "monthly", day: 0, time: 600 })).toEqual(["CH4001 error"]);
  });

  it("warns when a trigger never fires inside its active range", () => {
    const once = checkTriggers([campaign({ kind: "once", date: "2026-12-24", time: 600 }, { from: "2026-01-01", to: "2026-06-30" })], P);
    expect(once.map((d) => d.code)).toEqual(["CH4003"]);
    expect(once[0]!.message).toBe("`once at 2026-12-24 10:00` is outside the campaign's `active` range 2026-01-01 .. 2026-06-30");

    const event = checkTriggers([campaign({ kind: "event", event: "mid_autumn", time: 600 }, { from: "2026-10-01", to: "2026-12-31" })], P);
    expect(event.map((d) => d.code)).toEqual(["CH4004"]);
    expect(event[0]!.message).toBe("`on mid_autumn` never fires inside the campaign's `active` range 2026-10-01 .. 2026-12-31");
    expect(event[0]!.help).toContain("2026-09-25");

    expect(codes({ kind: "event", event: "brand_day", time: 600 }, { from: "2027-01-01", to: "2027-12-31" })).toEqual(["CH4004 warning"]);
    // Thursday 2026-01-01 to Saturday 2026-01-03: no Monday.
    expect(codes({ kind: "weekly", days: [1], time: 600 }, { from: "2026-01-01", to: "2026-01-03" })).toEqual(["CH4005 warning"]);
    expect(codes({ kind: "weekly", days: [1], time: 600 }, { from: "2026-01-01", to: "2026-01-05" })).toEqual([]);
  });

  it("warns about offsets of a year or more on yearly dates", () => {
    const o = (amount: number, unit: "day" | "week" | "month" | "year") => ({ amount, unit, direction: "before" as const });
    expect(codes({ kind: "event", event: "christmas", offset: o(1, "year"), time: 600 })).toEqual(["CH4006 warning"]);
    expect(codes({ kind: "event", event: "christmas", offset: o(12, "month"), time: 600 })).toEqual(["CH4006 warning"]);
    expect(codes({ kind: "event", event: "store_anniversary", offset: o(400, "day"), time: 600 })).toEqual(["CH4006 warning"]);
    expect(codes({ kind: "event", event: "christmas", offset: o(364, "day"), time: 600 })).toEqual([]);
    expect(codes({ kind: "event", event: "christmas", offset: o(52, "week"), time: 600 })).toEqual([]);
    const anniv: ResolvedTrigger = { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, offset: o(2, "year"), time: 600 };
    const [d] = checkTriggers([campaign(anniv)], P);
    expect(d).toMatchObject({ code: "CH4006", message: "the offset `2 years before` is a year or more" });
    expect(d!.help).toContain("the anniversary of `birthday`");
    // A plain member date may well be a year back (dormant for a year), and a one-off event does not come back.
    expect(codes({ kind: "member_date", field: "last_purchase_at", fieldType: "datetime", anniversary: false, offset: o(1, "year"), time: 600 })).toEqual([]);
    expect(codes({ kind: "event", event: "brand_day", offset: o(1, "year"), time: 600 })).toEqual([]);
  });
});
