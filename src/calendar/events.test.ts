import { describe, expect, it } from "vitest";
import type { CalendarEventDef, Project } from "../project/types.js";
import { BUILTIN_EVENT_NAMES, describeEvent, eventDate, eventDatesBetween, isKnownEvent } from "./events.js";
import { lunarToSolar, solarTermDate, solarToLunar } from "./lunar.js";

const span = { file: "chuda.yaml", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } };

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

const P = project();

describe("built-in events against published dates", () => {
  const published: [string, number, string][] = [
    ["spring_festival", 2025, "2025-01-29"],
    ["spring_festival", 2026, "2026-02-17"],
    ["spring_festival", 2027, "2027-02-06"],
    ["mid_autumn", 2025, "2025-10-06"],
    ["mid_autumn", 2026, "2026-09-25"],
    ["dragon_boat", 2025, "2025-05-31"],
    ["dragon_boat", 2026, "2026-06-19"],
    ["qingming", 2025, "2025-04-04"],
    ["qingming", 2026, "2026-04-05"],
    ["qixi", 2026, "2026-08-19"],
    ["lantern", 2026, "2026-03-03"],
    ["spring_festival", 1950, "1950-02-17"],
    ["spring_festival", 2100, "2100-02-09"],
    ["new_year", 2026, "2026-01-01"],
    ["valentines", 2026, "2026-02-14"],
    ["womens_day", 2026, "2026-03-08"],
    ["labour_day", 2026, "2026-05-01"],
    ["520", 2026, "2026-05-20"],
    ["618", 2026, "2026-06-18"],
    ["national_day", 2026, "2026-10-01"],
    ["double11", 2026, "2026-11-11"],
    ["double12", 2026, "2026-12-12"],
    ["christmas", 2026, "2026-12-25"],
  ];
  it.each(published)("%s %i is %s", (name, year, date) => {
    expect(eventDate(name, year, P)).toBe(date);
  });

  it("lists the sixteen built-ins in the documented order", () => {
    expect(BUILTIN_EVENT_NAMES).toEqual([
      "new_year",
      "spring_festival",
      "lantern",
      "valentines",
      "womens_day",
      "qingming",
      "labour_day",
      "520",
      "dragon_boat",
      "618",
      "qixi",
      "mid_autumn",
      "national_day",
      "double11",
      "double12",
      "christmas",
    ]);
  });

  it("gives every built-in a date inside the year for every year 1950..2100", () => {
    for (let y = 1950; y <= 2100; y++) {
      for (const name of BUILTIN_EVENT_NAMES) {
        const d = eventDate(name, y, P);
        expect(d, `${name} ${y}`).toMatch(new RegExp(`^${y}-\\d\\d-\\d\\d$`));
      }
      // The lunar events really are those lunar days (round trip through the library's other direction).
      expect(solarToLunar(eventDate("mid_autumn", y, P)!)).toEqual({ year: y, month: 8, day: 15, leap: false });
      expect(solarToLunar(eventDate("spring_festival", y, P)!)).toEqual({ year: y, month: 1, day: 1, leap: false });
      // Qingming is always 4..6 April; Spring Festival always 21 January .. 20 February.
      expect(eventDate("qingming", y, P)!.slice(5)).toMatch(/^04-0[456]$/);
      const sf = eventDate("spring_festival", y, P)!.slice(5);
      expect(sf >= "01-21" && sf <= "02-20", `${y} ${sf}`).toBe(true);
    }
  });

  it("has no date for built-ins outside 1950..2100 and for unknown names", () => {
    expect(eventDate("spring_festival", 1949, P)).toBeUndefined();
    expect(eventDate("christmas", 2101, P)).toBeUndefined();
    expect(eventDate("no_such_day", 2026, P)).toBeUndefined();
    expect(lunarToSolar(2026, 2, 30)).toBeUndefined(); // the second month of lunar 2026 has 29 days
    expect(lunarToSolar(2026, 3, 30)).toBe("2026-05-16");
    expect(solarTermDate(2026, "不是节气")).toBeUndefined();
  });
});

describe("project calendar events", () => {
  const p = project({
    store_anniversary: { kind: "yearly", month: 9, day: 28, span },
    lancome_brand_day: { kind: "once", date: "2026-05-20", span },
    leap_day_sale: { kind: "yearly", month: 2, day: 29, span },
    christmas: { kind: "yearly", month: 12, day: 24, span },
  });

  it("gives a yearly MM-DD every year and a one-off date only in its year", () => {
    expect(eventDate("store_anniversary", 2026, p)).toBe("2026-09-28");
    expect(eventDate("store_anniversary", 2300, p)).toBe("2300-09-28");
    expect(eventDate("lancome_brand_day", 2026, p)).toBe("2026-05-20");
    expect(eventDate("lancome_brand_day", 2027, p)).toBeUndefined();
  });

  it("folds 02-29 onto 28 February in common years", () => {
    expect(eventDate("leap_day_sale", 2027, p)).toBe("2027-02-28");
    expect(eventDate("leap_day_sale", 2028, p)).toBe("2028-02-29");
  });

  it("lets a project event override a built-in of the same name", () => {
    expect(eventDate("christmas", 2026, p)).toBe("2026-12-24");
    expect(isKnownEvent("store_anniversary", p)).toBe(true);
    expect(isKnownEvent("store_anniversary", P)).toBe(false);
    expect(isKnownEvent("qixi", P)).toBe(true);
  });

  it("lists dates in a range across years", () => {
    expect(eventDatesBetween("store_anniversary", "2025-10-01", "2027-09-28", p)).toEqual(["2026-09-28", "2027-09-28"]);
    expect(eventDatesBetween("spring_festival", "2025-01-01", "2027-12-31", P)).toEqual(["2025-01-29", "2026-02-17", "2027-02-06"]);
    expect(eventDatesBetween("spring_festival", "2026-02-18", "2027-02-05", P)).toEqual([]);
  });
});

describe("describeEvent", () => {
  it("labels built-ins in Chinese and English and leaves project events bare", () => {
    expect(describeEvent("mid_autumn")).toBe("中秋节 mid_autumn");
    expect(describeEvent("double11")).toBe("双十一 double11");
    expect(describeEvent("520")).toBe("表白日 520");
    expect(describeEvent("store_anniversary")).toBe("store_anniversary");
  });
});
