import { describe, expect, it } from "vitest";
import { aliyunSmsChannel, projectYaml, testProject } from "../../test/fixtures/project.js";
import { testCampaign } from "../../test/fixtures/campaign.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import { zonedToEpoch } from "../calendar/time.js";
import { dueWindow, missedOccurrences, occurrenceDays } from "./window.js";

const YAML = projectYaml(
  { mobile: "phone" },
  `
channels:
${aliyunSmsChannel()}
policy:
  quiet_hours: "21:00-09:00"
  catch_up: 6 hours
`,
);

const project = testProject(YAML);

const shanghai = (date: string, hh: number, mm = 0) => zonedToEpoch(date, hh * 60 + mm, "Asia/Shanghai");

function daily(name: string, minutes: number): ResolvedCampaign {
  return testCampaign({ name, trigger: { kind: "every_day", time: minutes } });
}

describe("the due window of a run", () => {
  it("reaches back by policy.catch_up from the run's moment, both ends included", () => {
    const at = shanghai("2026-12-24", 10, 30);
    expect(dueWindow(project, at)).toEqual({ fromMs: at - 6 * 3_600_000, toMs: at });
  });

  it("looks for occurrences from three days before the window's first day (in the project's time zone) to its last", () => {
    // 03:00 in Shanghai: the window starts the evening before, 21:00 on the 23rd.
    const w = dueWindow(project, shanghai("2026-12-24", 3));
    expect(occurrenceDays(w, project.timezone)).toEqual({ from: "2026-12-20", to: "2026-12-24" });
  });

  it("reports as missed the occurrences of the week before the window that no run planned", () => {
    const w = dueWindow(project, shanghai("2026-12-24", 10, 30));
    const missed = missedOccurrences([daily("d", 600)], project, w, new Set());
    // 10:00 on the 17th to the 23rd; the 24th's is inside the window.
    expect(missed.map((m) => m.send_at)).toEqual([17, 18, 19, 20, 21, 22, 23].map((d) => new Date(shanghai(`2026-12-${d}`, 10)).toISOString()));
    const planned = new Set(missed.slice(0, 6).map((m) => `${m.campaign}|${m.occurrence}`));
    expect(missedOccurrences([daily("d", 600)], project, w, planned)).toEqual([missed[6]]);
  });

  it("places an occurrence by its send time after quiet hours: one deferred into the window is not missed", () => {
    // 22:00 is in quiet hours: each occurrence goes out at 09:00 the next morning.
    const w = dueWindow(project, shanghai("2026-12-24", 10));
    const missed = missedOccurrences([daily("late", 22 * 60)], project, w, new Set());
    const sendTimes = missed.map((m) => m.send_at);
    expect(sendTimes).not.toContain(new Date(shanghai("2026-12-24", 9)).toISOString());
    expect(sendTimes.at(-1)).toBe(new Date(shanghai("2026-12-23", 9)).toISOString());
    expect(missed.at(-1)!.occurrence.startsWith("2026-12-22")).toBe(true);
  });
});
