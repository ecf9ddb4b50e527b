import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  addMonths,
  addYears,
  datesBetween,
  dayNumber,
  diffDays,
  epochToZoned,
  formatLocalTime,
  formatOffset,
  fromDayNumber,
  isValidDate,
  weekday,
  zonedId,
  zonedToEpoch,
} from "./time.js";

describe("date arithmetic", () => {
  it("adds days across month, year and leap-day boundaries", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2027-02-28", 1)).toBe("2027-03-01");
    expect(addDays("2027-02-06", -40)).toBe("2026-12-28");
  });

  it("adds months and years with clamping to the month end", () => {
    expect(addMonths("2026-01-31", 1)).toBe("2026-02-28");
    expect(addMonths("2028-01-31", 1)).toBe("2028-02-29");
    expect(addMonths("2026-03-31", -1)).toBe("2026-02-28");
    expect(addMonths("2026-11-15", 3)).toBe("2027-02-15");
    expect(addMonths("2026-01-15", -13)).toBe("2024-12-15");
    expect(addYears("2028-02-29", 1)).toBe("2029-02-28");
    expect(addYears("2028-02-29", 4)).toBe("2032-02-29");
  });

  it("counts days from one date to another", () => {
    expect(diffDays("2026-01-01", "2026-01-03")).toBe(2);
    expect(diffDays("2026-01-03", "2026-01-01")).toBe(-2);
    expect(diffDays("2024-01-01", "2025-01-01")).toBe(366);
  });

  it("gives ISO weekdays", () => {
    expect(weekday("2026-01-01")).toBe(4); // Thursday
    expect(weekday("2026-03-01")).toBe(7); // Sunday
    expect(weekday("2026-03-02")).toBe(1); // Monday
    expect(weekday("1950-01-01")).toBe(7);
  });

  it("agrees with Date.UTC on day numbers and weekdays for any date 1900..2200", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1) / 86400000, max: Date.UTC(2200, 11, 31) / 86400000 }), (n) => {
        const d = new Date(n * 86400000);
        const iso = d.toISOString().slice(0, 10);
        expect(fromDayNumber(n)).toBe(iso);
        expect(dayNumber(iso)).toBe(n);
        expect(weekday(iso)).toBe(((d.getUTCDay() + 6) % 7) + 1);
      }),
    );
  });

  it("validates dates and lists ranges", () => {
    expect(isValidDate("2027-02-29")).toBe(false);
    expect(isValidDate("2028-02-29")).toBe(true);
    expect(isValidDate("2026-13-01")).toBe(false);
    expect(datesBetween("2026-12-30", "2027-01-02")).toEqual(["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"]);
    expect(datesBetween("2026-01-02", "2026-01-01")).toEqual([]);
  });
});

describe("zoned conversions", () => {
  it("converts Asia/Shanghai local times", () => {
    expect(zonedToEpoch("2026-11-24", 600, "Asia/Shanghai")).toBe(Date.UTC(2026, 10, 24, 2, 0));
    expect(zonedToEpoch("2026-01-01", 0, "Asia/Shanghai")).toBe(Date.UTC(2025, 11, 31, 16, 0));
    expect(epochToZoned(Date.UTC(2025, 11, 31, 16, 0), "Asia/Shanghai")).toEqual({
      date: "2026-01-01",
      time: "00:00",
      minutes: 0,
      weekday: 4,
      offsetMinutes: 480,
    });
    expect(zonedId(Date.UTC(2026, 10, 24, 2, 0), "Asia/Shanghai")).toBe("2026-11-24T10:00+08:00");
  });

  it("rolls minutes outside a day into the neighbouring days", () => {
    expect(zonedToEpoch("2026-01-01", -60, "Asia/Shanghai")).toBe(zonedToEpoch("2025-12-31", 23 * 60, "Asia/Shanghai"));
    expect(zonedToEpoch("2026-01-01", 1440 + 30, "Asia/Shanghai")).toBe(zonedToEpoch("2026-01-02", 30, "Asia/Shanghai"));
  });

  it("moves a local time in a DST gap forward (America/New_York, 8 March 2026)", () => {
    const t = zonedToEpoch("2026-03-08", 150, "America/New_York"); // 02:30 does not exist
    expect(t).toBe(Date.UTC(2026, 2, 8, 7, 30));
    expect(epochToZoned(t, "America/New_York")).toMatchObject({ date: "2026-03-08", time: "03:30", offsetMinutes: -240 });
    expect(zonedToEpoch("2026-03-08", 60, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 6, 0)); // 01:00 EST
    expect(zonedToEpoch("2026-03-08", 180, "America/New_York")).toBe(Date.UTC(2026, 2, 8, 7, 0)); // 03:00 EDT
  });

  it("takes the earlier instant of a repeated local time (America/New_York, 1 November 2026)", () => {
    const t = zonedToEpoch("2026-11-01", 90, "America/New_York"); // 01:30 happens twice
    expect(t).toBe(Date.UTC(2026, 10, 1, 5, 30)); // 01:30 EDT
    expect(zonedId(t, "America/New_York")).toBe("2026-11-01T01:30-04:00");
    expect(zonedId(t + 3600_000, "America/New_York")).toBe("2026-11-01T01:30-05:00");
  });

  it("handles half-hour and southern-hemisphere zones", () => {
    expect(zonedId(zonedToEpoch("2026-06-01", 600, "Asia/Kolkata"), "Asia/Kolkata")).toBe("2026-06-01T10:00+05:30");
    expect(zonedId(zonedToEpoch("2026-01-15", 600, "Australia/Sydney"), "Australia/Sydney")).toBe("2026-01-15T10:00+11:00");
    expect(zonedId(zonedToEpoch("2026-07-15", 600, "Australia/Sydney"), "Australia/Sydney")).toBe("2026-07-15T10:00+10:00");
    expect(formatOffset(-570)).toBe("-09:30");
    expect(formatOffset(0)).toBe("+00:00");
  });

  it("round-trips every existing local time", () => {
    const zones = ["Asia/Shanghai", "America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: dayNumber("1970-01-01"), max: dayNumber("2100-12-31") }),
        fc.integer({ min: 0, max: 1439 }),
        (tz, day, minutes) => {
          const date = fromDayNumber(day);
          const t = zonedToEpoch(date, minutes, tz);
          const z = epochToZoned(t, tz);
          if (z.date !== date || z.minutes !== minutes) {
            // Only a DST gap may move the time, and only forward, by at most an hour, on the same or next day.
            const moved = (dayNumber(z.date) - day) * 1440 + z.minutes - minutes;
            expect(moved).toBeGreaterThan(0);
            expect(moved).toBeLessThanOrEqual(60);
          }
          // The local time read back converts to the same instant.
          expect(zonedToEpoch(z.date, z.minutes, tz)).toBe(t);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("formatLocalTime", () => {
  it("shows an instant in the zone, with its offset, and seconds only when there are some", () => {
    expect(formatLocalTime(Date.UTC(2026, 11, 24, 2, 30), "Asia/Shanghai")).toBe("2026-12-24 10:30 +08:00");
    expect(formatLocalTime(Date.UTC(2026, 11, 23, 18, 5, 7, 900), "Asia/Shanghai")).toBe("2026-12-24 02:05:07 +08:00");
    expect(formatLocalTime(Date.UTC(2026, 6, 1, 12), "America/New_York")).toBe("2026-07-01 08:00 -04:00");
  });
});
