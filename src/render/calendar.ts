/** Renderers of `chuda calendar`: pure functions of the occurrences. */
import type { Occurrence } from "../calendar/types.js";
import type { Project } from "../project/types.js";
import { weekday } from "../calendar/time.js";
import { makeStyle, table } from "./style.js";

const WEEKDAYS_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const WEEKDAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** "周一 Mon" for a date. */
export function weekdayLabel(date: string): string {
  const i = weekday(date) - 1;
  return `${WEEKDAYS_ZH[i]} ${WEEKDAYS_EN[i]}`;
}

/**
 * The human table: date, weekday, time, campaign, what fired it; member-date occurrences are marked
 * "per member" (their audience is the members whose date matches that day). Ends with a summary line.
 */
export function renderCalendarTable(
  occurrences: readonly Occurrence[],
  project: Pick<Project, "timezone">,
  opts: { color: boolean },
  onEvent: readonly EventTriggered[] = [],
): string {
  const style = makeStyle(opts.color);
  const tzNote = style.dim(`times in ${project.timezone}`);
  // Campaigns triggered by business events have no dates: they fire whenever `chuda serve` receives the event.
  const events = onEvent.length
    ? "\nTriggered by events, whenever one arrives (chuda serve):\n" +
      table(
        ["campaign", "fired by"],
        onEvent.map((e) => [e.campaign, e.trigger]),
        { style },
      ) +
      "\n"
    : "";
  if (!occurrences.length) return `No occurrences in this range (${tzNote}).\n${events}`;
  // Only the last column is styled: table() measures escape codes as text.
  const rows = occurrences.map((o) => [o.date, weekdayLabel(o.date), o.time, o.campaign, o.perMember ? `${o.event} ${style.dim("(per member)")}` : o.event]);
  const campaigns = new Set(occurrences.map((o) => o.campaign)).size;
  const summary = `${occurrences.length} occurrence${occurrences.length === 1 ? "" : "s"} of ${campaigns} campaign${campaigns === 1 ? "" : "s"}, ${tzNote}`;
  return table(["date", "weekday", "time", "campaign", "fired by"], rows, { style }) + "\n" + summary + "\n" + events;
}

/** A campaign triggered by a business event: `on event purchase (at most once per 1 day)`. */
export interface EventTriggered {
  campaign: string;
  event: string;
  trigger: string;
}

export interface CalendarJsonEntry {
  campaign: string;
  date: string;
  time: string;
  event: string;
  per_member?: true;
}

/** The `--json` contract: {"occurrences":[{"campaign","date":"YYYY-MM-DD","time":"HH:MM","event"[,"per_member":true]}]}. */
export function calendarJson(
  occurrences: readonly Occurrence[],
  onEvent: readonly EventTriggered[] = [],
): { occurrences: CalendarJsonEntry[]; on_event?: EventTriggered[] } {
  return {
    ...(onEvent.length ? { on_event: [...onEvent] } : {}),
    occurrences: occurrences.map((o) => {
      const e: CalendarJsonEntry = { campaign: o.campaign, date: o.date, time: o.time, event: o.event };
      if (o.perMember) e.per_member = true;
      return e;
    }),
  };
}
