/**
 * The due window of a run at moment T, as dispatch and `simulate --at T` both read it: the occurrences whose sends are
 * due in [T − policy.catch_up, T] are planned; those due in the week before that window and never planned are missed.
 */
import { expandOccurrences } from "../calendar/occurrences.js";
import { addDays, epochToZoned } from "../calendar/time.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Project } from "../project/types.js";
import { deferSendTime } from "./defer.js";

/** Send times (epoch ms) of the occurrences a run plans, both ends included. */
export interface DueWindow {
  fromMs: number;
  toMs: number;
}

/** An occurrence that was due before the catch-up window and never planned: reported, not sent. */
export interface MissedOccurrence {
  campaign: string;
  occurrence: string;
  /** ISO 8601, UTC. */
  send_at: string;
}

/** Quiet hours and send windows can push a send a day or two past its firing day: occurrences are looked for this many days earlier. */
export const DEFER_SLACK_DAYS = 3;
/** How far before the catch-up window an occurrence never planned is still reported as missed. */
export const MISSED_LOOKBACK_MS = 7 * 86_400_000;

/** The window of a run at `at`: back to the project's catch-up limit. */
export function dueWindow(project: Project, at: number): DueWindow {
  return { fromMs: at - project.policy.catchUpMs, toMs: at };
}

/** The calendar days (in `tz`) whose occurrences may have a send time in `window`. */
export function occurrenceDays(window: DueWindow, tz: string): { from: string; to: string } {
  return { from: addDays(epochToZoned(window.fromMs, tz).date, -DEFER_SLACK_DAYS), to: epochToZoned(window.toMs, tz).date };
}

/**
 * Occurrences whose send time fell in the week before `window` began and that no run planned (`planned` holds
 * `${campaign}|${occurrence}`): an outage longer than the catch-up window.
 */
export function missedOccurrences(campaigns: ResolvedCampaign[], project: Project, window: DueWindow, planned: Set<string>): MissedOccurrence[] {
  const tz = project.timezone;
  const since = window.fromMs - MISSED_LOOKBACK_MS;
  const out: MissedOccurrence[] = [];
  for (const c of campaigns) {
    for (const o of expandOccurrences(c, project, epochToZoned(since, tz).date, epochToZoned(window.fromMs, tz).date)) {
      const sendAt = deferSendTime(o.at, tz, project.policy.quietHours, c.sendWindow);
      if (sendAt < window.fromMs && sendAt >= since && !planned.has(`${c.name}|${o.id}`))
        out.push({ campaign: c.name, occurrence: o.id, send_at: new Date(sendAt).toISOString() });
    }
  }
  return out;
}
