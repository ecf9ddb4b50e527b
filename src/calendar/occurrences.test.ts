import { describe, expect, it } from "vitest";
import type { ResolvedCampaign, ResolvedTrigger } from "../resolved/types.js";
import type { CalendarEventDef, Project } from "../project/types.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import { expandAll, expandOccurrences, memberDateMatch, type MemberDateTrigger } from "./occurrences.js";

const span = { file: "campaigns/a.chuda", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } };

function project(timezone = "Asia/Shanghai", calendar: Record<string, CalendarEventDef> = {}): Project {
  return {
    root: "/p",
    file: "/p/chuda.yaml",
    timezone,
    members: { key: "member_id", fields: new Map() },
    channels: new Map(),
    policy: { max: [], defaultTime: 600, catchUpMs: 6 * 3600_000 },
    assumptions: {},
    calendar: new Map(Object.entries(calendar)),
    conversions: { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" },
    spans: new Map(),
  };
}

function campaign(trigger: ResolvedTrigger, extra: Partial<ResolvedCampaign> = {}): ResolvedCampaign {
  return testCampaign({ file: "campaigns/a.chuda", trigger, ...extra });
}

const SH = project();
const dates = (os: { date: string }[]) => os.map((o) => o.date);
const T10 = 600;

describe("every day / weekly / monthly / once", () => {
  it("fires every day at the trigger time, with ids in the project's offset", () => {
    const os = expandOccurrences(campaign({ kind: "every_day", time: T10 }), SH, "2026-12-30", "2027-01-02");
    expect(dates(os)).toEqual(["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]);
    expect(os[0]).toEqual({
      campaign: "c",
      date: "2026-12-30",
      time: "10:00",
      at: Date.UTC(2026, 11, 30, 2, 0),
      id: "2026-12-30T10:00+08:00",
      event: "every day",
      perMember: false,
    });
  });

  it("uses the time it is given (the checker's default_time for triggers without `at`)", () => {
    const os = expandOccurrences(campaign({ kind: "every_day", time: SH.policy.defaultTime }), SH, "2026-05-01", "2026-05-01");
    expect(os.map((o) => o.time)).toEqual(["10:00"]);
    const late = expandOccurrences(campaign({ kind: "every_day", time: 19 * 60 + 30 }), SH, "2026-05-01", "2026-05-01");
    expect(late.map((o) => o.id)).toEqual(["2026-05-01T19:30+08:00"]);
  });

  it("fires on the listed weekdays", () => {
    // 2026-03-01 is a Sunday.
    const os = expandOccurrences(campaign({ kind: "weekly", days: [4, 1], time: 19 * 60 + 30 }), SH, "2026-03-01", "2026-03-14");
    expect(dates(os)).toEqual(["2026-03-02", "2026-03-05", "2026-03-09", "2026-03-12"]);
    expect(os[0]!.event).toBe("every monday, thursday");
    const sunday = expandOccurrences(campaign({ kind: "weekly", days: [7], time: T10 }), SH, "2026-03-01", "2026-03-14");
    expect(dates(sunday)).toEqual(["2026-03-01", "2026-03-08"]);
  });

  it("skips months without the day: every month on 31 fires 7 times a year", () => {
    const os = expandOccurrences(campaign({ kind: "monthly", day: 31, time: T10 }), SH, "2026-01-01", "2026-12-31");
    expect(dates(os)).toEqual(["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31", "2026-12-31"]);
    expect(os[0]!.event).toBe("every month on 31");
    const d29 = (y: string) => dates(expandOccurrences(campaign({ kind: "monthly", day: 29, time: T10 }), SH, `${y}-01-01`, `${y}-12-31`));
    expect(d29("2027")).toHaveLength(11);
    expect(d29("2028")).toContain("2028-02-29");
    const d1 = expandOccurrences(campaign({ kind: "monthly", day: 1, time: T10 }), SH, "2026-01-15", "2026-04-01");
    expect(dates(d1)).toEqual(["2026-02-01", "2026-03-01", "2026-04-01"]);
  });

  it("fires once, only if the date is in range", () => {
    const c = campaign({ kind: "once", date: "2026-12-24", time: T10 });
    expect(expandOccurrences(c, SH, "2026-12-01", "2026-12-31").map((o) => [o.id, o.event])).toEqual([["2026-12-24T10:00+08:00", "once"]]);
    expect(expandOccurrences(c, SH, "2026-12-25", "2026-12-31")).toEqual([]);
  });
});

describe("active ranges", () => {
  it("clip occurrences, both ends inclusive", () => {
    const c = campaign({ kind: "every_day", time: T10 }, { active: { from: "2026-06-10", to: "2026-06-12" } });
    expect(dates(expandOccurrences(c, SH, "2026-06-01", "2026-06-30"))).toEqual(["2026-06-10", "2026-06-11", "2026-06-12"]);
    expect(dates(expandOccurrences(c, SH, "2026-06-11", "2026-06-30"))).toEqual(["2026-06-11", "2026-06-12"]);
    expect(expandOccurrences(c, SH, "2026-06-13", "2026-06-30")).toEqual([]);
  });

  it("drop events and once triggers outside them", () => {
    const active = { from: "2026-01-01", to: "2026-06-30" };
    expect(expandOccurrences(campaign({ kind: "once", date: "2026-12-24", time: T10 }, { active }), SH, "2026-01-01", "2026-12-31")).toEqual([]);
    const e = campaign({ kind: "event", event: "mid_autumn", time: T10 }, { active });
    expect(expandOccurrences(e, SH, "2026-01-01", "2027-12-31")).toEqual([]);
  });

  it("returns nothing for an empty range", () => {
    expect(expandOccurrences(campaign({ kind: "every_day", time: T10 }), SH, "2026-02-01", "2026-01-01")).toEqual([]);
  });
});

describe("calendar events", () => {
  it("fires on the event with its date in the text", () => {
    const os = expandOccurrences(campaign({ kind: "event", event: "double11", time: T10 }), SH, "2026-01-01", "2027-12-31");
    expect(os.map((o) => [o.date, o.event])).toEqual([
      ["2026-11-11", "on double11 (2026-11-11)"],
      ["2027-11-11", "on double11 (2027-11-11)"],
    ]);
  });

  it("offsets before mid_autumn", () => {
    const c = campaign({ kind: "event", event: "mid_autumn", offset: { amount: 3, unit: "day", direction: "before" }, time: T10 });
    const os = expandOccurrences(c, SH, "2026-01-01", "2026-12-31");
    expect(os.map((o) => [o.id, o.event])).toEqual([["2026-09-22T10:00+08:00", "3 days before mid_autumn (2026-09-25)"]]);
  });

  it("offsets across a year boundary", () => {
    const sf7 = campaign({ kind: "event", event: "spring_festival", offset: { amount: 7, unit: "day", direction: "before" }, time: T10 });
    expect(expandOccurrences(sf7, SH, "2027-01-01", "2027-12-31").map((o) => [o.date, o.event])).toEqual([
      ["2027-01-30", "7 days before spring_festival (2027-02-06)"],
    ]);
    const sf40 = campaign({ kind: "event", event: "spring_festival", offset: { amount: 40, unit: "day", direction: "before" }, time: T10 });
    expect(expandOccurrences(sf40, SH, "2026-12-01", "2026-12-31").map((o) => [o.date, o.event])).toEqual([
      ["2026-12-28", "40 days before spring_festival (2027-02-06)"],
    ]);
    const xmas = campaign({ kind: "event", event: "christmas", offset: { amount: 1, unit: "week", direction: "after" }, time: T10 });
    expect(expandOccurrences(xmas, SH, "2027-01-01", "2027-01-31").map((o) => [o.date, o.event])).toEqual([
      ["2027-01-01", "1 week after christmas (2026-12-25)"],
    ]);
  });

  it("offsets by months and years with clamping", () => {
    const m = campaign({ kind: "event", event: "double11", offset: { amount: 1, unit: "month", direction: "after" }, time: T10 });
    expect(dates(expandOccurrences(m, SH, "2026-01-01", "2026-12-31"))).toEqual(["2026-12-11"]);
    const p = project("Asia/Shanghai", { month_end: { kind: "yearly", month: 3, day: 31, span } });
    const back = campaign({ kind: "event", event: "month_end", offset: { amount: 1, unit: "month", direction: "before" }, time: T10 });
    expect(dates(expandOccurrences(back, p, "2027-01-01", "2028-12-31"))).toEqual(["2027-02-28", "2028-02-29"]);
  });

  it("moves the moment by minute and hour offsets", () => {
    const h = campaign({ kind: "event", event: "double11", offset: { amount: 2, unit: "hour", direction: "before" }, time: T10 });
    expect(expandOccurrences(h, SH, "2026-11-01", "2026-11-30").map((o) => [o.id, o.event])).toEqual([
      ["2026-11-11T08:00+08:00", "2 hours before double11 (2026-11-11)"],
    ]);
    const midnight = campaign({ kind: "event", event: "new_year", offset: { amount: 90, unit: "minute", direction: "before" }, time: 60 });
    expect(expandOccurrences(midnight, SH, "2025-12-31", "2025-12-31").map((o) => [o.id, o.event])).toEqual([
      ["2025-12-31T23:30+08:00", "90 minutes before new_year (2026-01-01)"],
    ]);
  });

  it("fires project events: yearly ones every year, one-off ones once", () => {
    const p = project("Asia/Shanghai", {
      store_anniversary: { kind: "yearly", month: 9, day: 28, span },
      lancome_brand_day: { kind: "once", date: "2026-05-20", span },
    });
    expect(dates(expandOccurrences(campaign({ kind: "event", event: "store_anniversary", time: T10 }), p, "2026-01-01", "2027-12-31"))).toEqual([
      "2026-09-28",
      "2027-09-28",
    ]);
    expect(dates(expandOccurrences(campaign({ kind: "event", event: "lancome_brand_day", time: T10 }), p, "2025-01-01", "2030-12-31"))).toEqual(["2026-05-20"]);
  });
});

describe("member-date triggers", () => {
  it("give one per-member occurrence per day", () => {
    const t: MemberDateTrigger = {
      kind: "member_date",
      field: "last_purchase_at",
      fieldType: "datetime",
      anniversary: false,
      offset: { amount: 3, unit: "day", direction: "after" },
      time: T10,
    };
    const os = expandOccurrences(campaign(t), SH, "2026-03-01", "2026-03-03");
    expect(os.map((o) => [o.date, o.time, o.event, o.perMember])).toEqual([
      ["2026-03-01", "10:00", "3 days after last_purchase_at", true],
      ["2026-03-02", "10:00", "3 days after last_purchase_at", true],
      ["2026-03-03", "10:00", "3 days after last_purchase_at", true],
    ]);
    expect(memberDateMatch(t, "2026-03-01")).toEqual({ kind: "exact", date: "2026-02-26", dates: ["2026-02-26"] });
  });

  it("describe anniversaries", () => {
    const t: MemberDateTrigger = { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, time: 570 };
    expect(expandOccurrences(campaign(t), SH, "2026-03-01", "2026-03-01").map((o) => [o.id, o.event, o.perMember])).toEqual([
      ["2026-03-01T09:30+08:00", "anniversary of birthday", true],
    ]);
    const before: MemberDateTrigger = { ...t, field: "registered_at", offset: { amount: 7, unit: "day", direction: "before" } };
    expect(expandOccurrences(campaign(before), SH, "2026-03-01", "2026-03-01")[0]!.event).toBe("7 days before anniversary of registered_at");
  });

  it("fold 29 February onto 28 February in common years", () => {
    const t: MemberDateTrigger = { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, time: T10 };
    // A member born 2000-02-29 is celebrated on 2027-02-28 and on 2028-02-29.
    expect(memberDateMatch(t, "2027-02-28")).toEqual({
      kind: "anniversary",
      month: 2,
      day: 28,
      includeFeb29: true,
      year: 2027,
      days: [
        { month: 2, day: 28 },
        { month: 2, day: 29 },
      ],
    });
    expect(memberDateMatch(t, "2028-02-28")).toMatchObject({ month: 2, day: 28, includeFeb29: false, days: [{ month: 2, day: 28 }] });
    expect(memberDateMatch(t, "2028-02-29")).toMatchObject({ month: 2, day: 29, includeFeb29: false, year: 2028 });
    expect(memberDateMatch(t, "2027-03-01")).toMatchObject({ month: 3, day: 1, includeFeb29: false });
  });

  it("shift anniversaries across the year boundary", () => {
    const t: MemberDateTrigger = {
      kind: "member_date",
      field: "registered_at",
      fieldType: "datetime",
      anniversary: true,
      offset: { amount: 7, unit: "day", direction: "before" },
      time: T10,
    };
    expect(memberDateMatch(t, "2026-12-28")).toMatchObject({ month: 1, day: 4, year: 2027, includeFeb29: false });
    // 7 days before 28 Feb 2027 (which also stands for 29 Feb) is 21 Feb 2027.
    expect(memberDateMatch(t, "2027-02-21")).toMatchObject({ month: 2, day: 28, includeFeb29: true });
  });

  it("list every field value when a month offset clamps, and skip days nothing lands on", () => {
    const t: MemberDateTrigger = {
      kind: "member_date",
      field: "registered_at",
      fieldType: "datetime",
      anniversary: false,
      offset: { amount: 1, unit: "month", direction: "after" },
      time: T10,
    };
    expect(memberDateMatch(t, "2027-02-28")).toEqual({
      kind: "exact",
      date: "2027-01-28",
      dates: ["2027-01-28", "2027-01-29", "2027-01-30", "2027-01-31"],
    });
    expect(memberDateMatch(t, "2027-03-29")).toMatchObject({ kind: "exact", dates: [] });
    expect(dates(expandOccurrences(campaign(t), SH, "2027-03-27", "2027-04-01"))).toEqual(["2027-03-27", "2027-03-28", "2027-04-01"]);
  });

  it("carry hour offsets into the previous day", () => {
    const t: MemberDateTrigger = {
      kind: "member_date",
      field: "birthday",
      fieldType: "date",
      anniversary: true,
      offset: { amount: 2, unit: "hour", direction: "before" },
      time: 60,
    };
    const os = expandOccurrences(campaign(t), SH, "2026-05-01", "2026-05-01");
    expect(os.map((o) => o.time)).toEqual(["23:00"]);
    expect(memberDateMatch(t, "2026-05-01")).toMatchObject({ month: 5, day: 2 });
  });
});

describe("timezones", () => {
  it("uses the project timezone, moving times in a DST gap forward", () => {
    const ny = project("America/New_York");
    const os = expandOccurrences(campaign({ kind: "every_day", time: 150 }), ny, "2026-03-07", "2026-03-09");
    expect(os.map((o) => o.id)).toEqual(["2026-03-07T02:30-05:00", "2026-03-08T03:30-04:00", "2026-03-09T02:30-04:00"]);
    expect(os[1]!.at).toBe(Date.UTC(2026, 2, 8, 7, 30));
    const july = expandOccurrences(campaign({ kind: "event", event: "618", time: T10 }), ny, "2026-01-01", "2026-12-31");
    expect(july.map((o) => o.id)).toEqual(["2026-06-18T10:00-04:00"]);
  });
});

describe("expandAll", () => {
  it("merges campaigns by instant, then campaign name", () => {
    const a = campaign({ kind: "every_day", time: T10 }, { name: "zeta" });
    const b = campaign({ kind: "every_day", time: T10 }, { name: "alpha" });
    const c = campaign({ kind: "once", date: "2026-05-02", time: 9 * 60 }, { name: "mid" });
    const os = expandAll([a, b, c], SH, "2026-05-01", "2026-05-02");
    expect(os.map((o) => `${o.date} ${o.time} ${o.campaign}`)).toEqual([
      "2026-05-01 10:00 alpha",
      "2026-05-01 10:00 zeta",
      "2026-05-02 09:00 mid",
      "2026-05-02 10:00 alpha",
      "2026-05-02 10:00 zeta",
    ]);
  });
});
