import { describe, expect, it } from "vitest";
import type { Occurrence } from "../calendar/types.js";
import { calendarJson, renderCalendarTable, weekdayLabel } from "./calendar.js";

const occ: Occurrence[] = [
  {
    campaign: "mid_autumn",
    date: "2026-09-22",
    time: "10:00",
    at: Date.UTC(2026, 8, 22, 2),
    id: "2026-09-22T10:00+08:00",
    event: "3 days before mid_autumn (2026-09-25)",
    perMember: false,
  },
  {
    campaign: "birthday_gift",
    date: "2026-09-27",
    time: "09:30",
    at: Date.UTC(2026, 8, 27, 1, 30),
    id: "2026-09-27T09:30+08:00",
    event: "anniversary of birthday",
    perMember: true,
  },
];

describe("calendar renderers", () => {
  it("labels weekdays in Chinese and English", () => {
    expect(weekdayLabel("2026-09-22")).toBe("周二 Tue");
    expect(weekdayLabel("2026-09-27")).toBe("周日 Sun");
  });

  it("renders an aligned table with per-member occurrences marked", () => {
    const text = renderCalendarTable(occ, { timezone: "Asia/Shanghai" }, { color: false });
    expect(text).toBe(
      [
        "date        weekday   time   campaign       fired by",
        "──────────  ────────  ─────  ─────────────  ─────────────────────────────────────",
        "2026-09-22  周二 Tue  10:00  mid_autumn     3 days before mid_autumn (2026-09-25)",
        "2026-09-27  周日 Sun  09:30  birthday_gift  anniversary of birthday (per member)",
        "",
        "2 occurrences of 2 campaigns, times in Asia/Shanghai",
        "",
      ].join("\n"),
    );
  });

  it("colours only when asked", () => {
    expect(renderCalendarTable(occ, { timezone: "Asia/Shanghai" }, { color: false })).not.toContain("\u001b[");
    expect(renderCalendarTable(occ, { timezone: "Asia/Shanghai" }, { color: true })).toContain("\u001b[");
  });

  it("says so when there is nothing", () => {
    expect(renderCalendarTable([], { timezone: "Asia/Shanghai" }, { color: false })).toBe("No occurrences in this range (times in Asia/Shanghai).\n");
  });

  it("produces the JSON contract, per_member only where it applies", () => {
    const json = calendarJson(occ);
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      occurrences: [
        { campaign: "mid_autumn", date: "2026-09-22", time: "10:00", event: "3 days before mid_autumn (2026-09-25)" },
        { campaign: "birthday_gift", date: "2026-09-27", time: "09:30", event: "anniversary of birthday", per_member: true },
      ],
    });
    expect("per_member" in json.occurrences[0]!).toBe(false);
  });
});
