/**
 * Trigger checks that need the calendar: monthly days that months lack, triggers that never fire inside
 * the campaign's `active` range, offsets of a year or more on yearly dates. Diagnostics point at the
 * campaign (the resolved campaign carries no finer span).
 */
import type { Project } from "../project/types.js";
import type { ResolvedCampaign } from "../resolved/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { calendarMessages as M } from "../diagnostics/messages/calendar.js";
import { describeTrigger, expandOccurrences, offsetText, type TriggerOffset } from "./occurrences.js";
import { addYears, diffDays, formatMinutes, parseDate } from "./time.js";

const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** Days in each month of a leap year (the most a month ever has). */
const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function checkTriggers(campaigns: readonly ResolvedCampaign[], project: Project): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of campaigns) out.push(...checkCampaign(c, project));
  return out;
}

function checkCampaign(c: ResolvedCampaign, project: Project): Diagnostic[] {
  const out: Diagnostic[] = [];
  const t = c.trigger;
  const at = { context: c.span };

  if (t.kind === "monthly") {
    if (!Number.isInteger(t.day) || t.day < 1 || t.day > 31) {
      out.push(diag(M.calendarMonthDayOutOfRange, c.span, [t.day], at));
      return out;
    }
    if (t.day > 28) {
      const missing = MONTH_NAMES.filter((_, i) => t.day > (i === 1 ? 28 : MAX_DAYS[i]!));
      const note = t.day === 29 ? "February of common years" : missing.join(", ");
      const fires = t.day === 29 ? "11 or 12" : String(12 - missing.length);
      out.push(diag(M.calendarMonthDaySkipped, c.span, [t.day, note, fires], at));
    }
  }

  if ((t.kind === "event" && isYearly(t.event, project)) || (t.kind === "member_date" && t.anniversary)) {
    if (t.offset && isYearOrMore(t.offset)) {
      const what = t.kind === "event" ? `\`${t.event}\`` : `the anniversary of \`${t.field}\``;
      out.push(diag(M.calendarOffsetYearOrMore, c.span, [offsetText(t.offset), what], at));
    }
  }

  const active = c.active;
  if (active && parseDate(active.from) && parseDate(active.to) && active.from <= active.to) {
    if (expandOccurrences(c, project, active.from, active.to).length === 0) {
      if (t.kind === "once") {
        out.push(diag(M.calendarOnceOutsideActive, c.span, [`${t.date} ${formatMinutes(t.time)}`, active.from, active.to], at));
      } else {
        const near = t.kind === "event" ? nearestFiring(c, project, active.from, active.to) : undefined;
        if (near) out.push(diag(M.calendarEventOutsideActive, c.span, [describeTrigger(t), active.from, active.to, near], at));
        else out.push(diag(M.calendarNeverFires, c.span, [describeTrigger(t), active.from, active.to], at));
      }
    }
  }
  return out;
}

/** A built-in event or a yearly project event (a one-off project date does not come back). */
function isYearly(event: string, project: Project): boolean {
  const own = project.calendar.get(event);
  return own ? own.kind === "yearly" : true;
}

function isYearOrMore(o: TriggerOffset): boolean {
  const minutes = { minute: 1, hour: 60, day: 1440, week: 7 * 1440, month: 0, year: 0 }[o.unit];
  if (o.unit === "year") return o.amount >= 1;
  if (o.unit === "month") return o.amount >= 12;
  return o.amount * minutes >= 365 * 1440;
}

/** The firing date closest to [from, to] within two years either side, for the help text. */
function nearestFiring(c: ResolvedCampaign, project: Project, from: string, to: string): string | undefined {
  const unclipped: ResolvedCampaign = { ...c, active: undefined };
  const before = expandOccurrences(unclipped, project, addYears(from, -2), from).at(-1)?.date;
  const after = expandOccurrences(unclipped, project, to, addYears(to, 2))[0]?.date;
  if (!before) return after;
  if (!after) return before;
  return diffDays(before, from) <= diffDays(to, after) ? before : after;
}
