/**
 * The calendar must not depend on the machine's timezone: the same expansion under TZ=UTC,
 * America/Los_Angeles and Pacific/Kiritimati (UTC+14), in this process and in child processes.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { ResolvedCampaign, ResolvedTrigger } from "../resolved/types.js";
import type { Project } from "../project/types.js";

const originalTz = process.env.TZ;
afterAll(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

const span = { file: "campaigns/a.chuda", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 2, offset: 1 } };

function project(timezone: string): Project {
  return {
    root: "/p",
    file: "/p/chuda.yaml",
    timezone,
    members: { key: "member_id", fields: new Map() },
    channels: new Map(),
    policy: { max: [], defaultTime: 600, catchUpMs: 6 * 3600_000 },
    assumptions: {},
    calendar: new Map([["store_anniversary", { kind: "yearly", month: 2, day: 29, span }]]),
    conversions: { member: "member_id", kind: "kind", code: "code", amount: "amount", time: "time" },
    spans: new Map(),
  };
}

function campaign(name: string, trigger: ResolvedTrigger): ResolvedCampaign {
  return testCampaign({ name, file: "campaigns/a.chuda", trigger });
}

const CAMPAIGNS = [
  campaign("daily_0030", { kind: "every_day", time: 30 }),
  campaign("daily_0230", { kind: "every_day", time: 150 }),
  campaign("weekly", { kind: "weekly", days: [1, 7], time: 23 * 60 + 45 }),
  campaign("monthly31", { kind: "monthly", day: 31, time: 600 }),
  campaign("once", { kind: "once", date: "2026-12-24", time: 600 }),
  campaign("sf7", { kind: "event", event: "spring_festival", offset: { amount: 7, unit: "day", direction: "before" }, time: 600 }),
  campaign("ma3", { kind: "event", event: "mid_autumn", offset: { amount: 3, unit: "day", direction: "before" }, time: 600 }),
  campaign("ny_minus_90m", { kind: "event", event: "new_year", offset: { amount: 90, unit: "minute", direction: "before" }, time: 0 }),
  campaign("qingming", { kind: "event", event: "qingming", time: 600 }),
  campaign("store", { kind: "event", event: "store_anniversary", time: 600 }),
  campaign("bday", { kind: "member_date", field: "birthday", fieldType: "date", anniversary: true, time: 570 }),
];

/** Everything the calendar computes for a few zones over 2026-2028, as one comparable value. */
async function digest() {
  const { expandAll, memberDateMatch } = await import("./occurrences.js");
  const { eventDate, BUILTIN_EVENT_NAMES } = await import("./events.js");
  const { zonedToEpoch, epochToZoned, addMonths, weekday } = await import("./time.js");
  const out: Record<string, unknown> = {};
  for (const tz of ["Asia/Shanghai", "America/New_York", "Europe/London"]) {
    out[tz] = expandAll(CAMPAIGNS, project(tz), "2026-01-01", "2028-12-31").map((o) => `${o.campaign} ${o.id} ${o.at} ${o.event} ${o.perMember}`);
    out[`${tz} gap`] = [zonedToEpoch("2026-03-08", 150, tz), epochToZoned(Date.UTC(2026, 2, 29, 1, 30), tz)];
  }
  out.events = BUILTIN_EVENT_NAMES.flatMap((n) => [1950, 2026, 2100].map((y) => eventDate(n, y, project("UTC"))));
  const bday = CAMPAIGNS.at(-1)!.trigger as Extract<ResolvedTrigger, { kind: "member_date" }>;
  out.match = [memberDateMatch(bday, "2027-02-28"), memberDateMatch(bday, "2028-02-29")];
  out.arith = [addMonths("2026-01-31", 1), weekday("2026-01-01")];
  return out;
}

const KEY_TESTS = ["src/calendar/time.test.ts", "src/calendar/events.test.ts", "src/calendar/occurrences.test.ts", "src/calendar/check.test.ts"];

describe("independence from the machine timezone", () => {
  it("computes the same occurrences whatever process.env.TZ says", async () => {
    const results: unknown[] = [];
    const offsets: number[] = [];
    for (const tz of ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"]) {
      process.env.TZ = tz;
      offsets.push(new Date(2026, 0, 1).getTimezoneOffset());
      results.push(await digest());
    }
    // The machine timezone really changed (Node re-reads TZ when it is assigned).
    expect(offsets).toEqual([0, 480, -840]);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    // And the shared answer is the right one, not merely a consistent one.
    const r = results[0] as Record<string, string[]>;
    expect(r["Asia/Shanghai"]).toContain(`sf7 2027-01-30T10:00+08:00 ${Date.UTC(2027, 0, 30, 2)} 7 days before spring_festival (2027-02-06) false`);
    expect(r["America/New_York"]).toContain(`daily_0230 2026-03-08T03:30-04:00 ${Date.UTC(2026, 2, 8, 7, 30)} every day false`);
    expect(r["Asia/Shanghai"]).toContain(`store 2027-02-28T10:00+08:00 ${Date.UTC(2027, 1, 28, 2)} on store_anniversary (2027-02-28) false`);
  });

  it.each(["America/Los_Angeles", "Pacific/Kiritimati"])("passes the key calendar tests in a child process with TZ=%s", async (tz) => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const vitest = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [vitest, "run", ...KEY_TESTS], {
      cwd: root,
      env: { ...process.env, TZ: tz, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    // execFile rejects on a non-zero exit, so reaching here means the suites passed; check they ran.
    expect(stdout).toMatch(new RegExp(`Test Files\\s+${KEY_TESTS.length} passed`));
  });
});
