import { describe, expect, it } from "vitest";
import { campaign, check, summary, testProject } from "./test-support.js";
import { inQuietHours } from "./trigger.js";

/** Diagnostics of a campaign with the given trigger (line 3, the trigger starts at column 11). */
function trigger(t: string, project = testProject()) {
  const r = check(campaign({ trigger: t }), project);
  return { r, diags: r.diagnostics.map(summary), trigger: r.campaigns[0]?.trigger };
}

describe("triggers", () => {
  it("resolves every day, with the default time when `at` is omitted", () => {
    expect(trigger("every day at 10:30").trigger).toEqual({ kind: "every_day", time: 630 });
    expect(trigger("every day").trigger).toEqual({ kind: "every_day", time: 600 });
  });
  it("turns weekday names (full or three letters) into sorted ISO numbers", () => {
    expect(trigger("every thursday, monday at 19:30").trigger).toEqual({ kind: "weekly", days: [1, 4], time: 1170 });
    expect(trigger("every sun, sat at 10:00").trigger).toEqual({ kind: "weekly", days: [6, 7], time: 600 });
  });
  it("reports an unknown weekday with a suggestion", () => {
    const { r, diags } = trigger("every monday, thrusday at 10:00");
    expect(diags).toEqual(["CH3044 3:25 unknown weekday `thrusday`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `thursday`?");
  });
  it("resolves monthly and once triggers", () => {
    expect(trigger("every month on 1 at 10:00").trigger).toEqual({ kind: "monthly", day: 1, time: 600 });
    expect(trigger("once at 2026-12-24 10:00").trigger).toEqual({ kind: "once", date: "2026-12-24", time: 600 });
  });
  it("reports invalid times and dates in triggers", () => {
    expect(trigger("every day at 25:00").diags).toEqual(["CH3025 3:24 `25:00` is not a valid time"]);
    expect(trigger("every day at 09:60").diags).toEqual(["CH3025 3:24 `09:60` is not a valid time"]);
    expect(trigger("once at 2026-02-30 10:00").diags).toEqual(["CH3024 3:19 `2026-02-30` is not a valid date"]);
  });
  it("resolves calendar events, built in and from chuda.yaml, with offsets", () => {
    expect(trigger("3 days before mid_autumn at 10:00").trigger).toEqual({
      kind: "event",
      event: "mid_autumn",
      offset: { amount: 3, unit: "day", direction: "before" },
      time: 600,
    });
    expect(trigger("on store_anniversary").trigger).toEqual({ kind: "event", event: "store_anniversary", time: 600 });
    expect(trigger("on 618 at 12:00").trigger).toEqual({ kind: "event", event: "618", time: 720 });
  });
  it("reports an unknown event with a suggestion", () => {
    const { r, diags } = trigger("on mid_autum at 10:00");
    expect(diags).toEqual(["CH3040 3:14 unknown event `mid_autum`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `mid_autumn`?");
  });
  it("resolves member date fields and anniversaries", () => {
    expect(trigger("180 days after last_purchase_at at 10:00").trigger).toEqual({
      kind: "member_date",
      field: "last_purchase_at",
      fieldType: "datetime",
      anniversary: false,
      offset: { amount: 180, unit: "day", direction: "after" },
      time: 600,
    });
    expect(trigger("on anniversary of birthday at 09:30").trigger).toEqual({
      kind: "member_date",
      field: "birthday",
      fieldType: "date",
      anniversary: true,
      time: 570,
    });
  });
  it("reports an offset that is not a whole number", () => {
    expect(trigger("1.5 days after birthday").diags).toEqual(["CH3046 3:11 a trigger offset must be a whole number, found 1.5"]);
  });
  it("reports a trigger anchored on a non-date field", () => {
    expect(trigger("3 days after points at 10:00").diags).toEqual(["CH3041 3:24 trigger anchored on a non-date field: `points` is a number field"]);
  });
  it("reports anniversary of a non-date or unknown field", () => {
    expect(trigger("on anniversary of tier at 10:00").diags).toEqual(["CH3042 3:14 `anniversary of tier` needs a date field, `tier` is an enum"]);
    const { r, diags } = trigger("on anniversary of brithday at 10:00");
    expect(diags).toEqual(["CH3043 3:14 unknown member field `brithday` in `anniversary of`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `birthday`?");
  });
  it("warns about a firing time inside quiet hours, keeping the campaign", () => {
    const { r, diags } = trigger("every day at 22:00");
    expect(diags).toEqual(["CH3045 3:24 fires at 22:00, inside quiet hours 21:00-09:00; sends will be deferred to 09:00"]);
    expect(r.diagnostics[0]!.severity).toBe("warning");
    expect(r.campaigns).toHaveLength(1);
    expect(trigger("every day at 09:00").diags).toEqual([]);
    const early = testProject((p) => (p.policy.defaultTime = 8 * 60));
    expect(trigger("every day", early).diags).toEqual(["CH3045 3:11 fires at 08:00, inside quiet hours 21:00-09:00; sends will be deferred to 09:00"]);
  });
  it("knows quiet hours that wrap midnight and those that do not", () => {
    const night = { start: 21 * 60, end: 9 * 60 };
    expect([0, 8 * 60 + 59, 9 * 60, 20 * 60 + 59, 21 * 60].map((t) => inQuietHours(t, night))).toEqual([true, true, false, false, true]);
    const noon = { start: 12 * 60, end: 14 * 60 };
    expect([12 * 60, 14 * 60, 11 * 60].map((t) => inQuietHours(t, noon))).toEqual([true, false, false]);
  });
});
