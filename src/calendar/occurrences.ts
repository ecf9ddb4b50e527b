/**
 * Trigger expansion: every occurrence (campaign, date, time) of a campaign's trigger in a date range.
 *
 * All dates are project-local ("YYYY-MM-DD" in `project.timezone`); `at` is the epoch instant of the local
 * date and time. Choices made where docs/language.md is silent:
 *
 * - `every month on N` skips months without day N (no moving to the month's last day).
 * - Offsets of a day or more (`day`, `week`, `month`, `year`) move the date and keep the trigger's time;
 *   `month`/`year` clamp to the end of a shorter month (01-31 + 1 month → 02-28).
 * - Offsets in minutes or hours move the moment "event date at `time`" by that much elapsed time for
 *   calendar events (`2 hours before double11 at 10:00` → 2026-11-11 08:00). For member dates they move the
 *   wall-clock time, carrying into neighbouring days (`2 hours before birthday at 01:00` fires at 23:00 the
 *   day before the birthday).
 * - A local time that does not exist (a DST gap) moves forward by the gap; one that happens twice is the
 *   earlier instant. The occurrence's `date`/`time` are the real local ones.
 * - `active` clips by the occurrence's local date, both ends inclusive.
 * - Member-date triggers give one occurrence per day on which some field value can fire (every day, except
 *   with month/year offsets: `1 month after x` has no field value firing on 29..31 March of a common year).
 */
import type { DurationUnit } from "../language/ast.js";
import type { Project } from "../project/types.js";
import type { ResolvedCampaign, ResolvedTrigger } from "../resolved/types.js";
import type { Occurrence } from "./types.js";
import { eventDate } from "./events.js";
import { addDays, addMonths, datesBetween, daysInMonth, epochToZoned, formatDate, formatOffset, isLeapYear, parseDate, weekday, zonedToEpoch } from "./time.js";

export type TriggerOffset = { amount: number; unit: DurationUnit; direction: "before" | "after" };
export type MemberDateTrigger = Extract<ResolvedTrigger, { kind: "member_date" }>;

const WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

const MIN_YEAR = 1;
const MAX_YEAR = 9999;

// ---------------------------------------------------------------------------------------------- texts

function unitText(amount: number, unit: DurationUnit): string {
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

/** `3 days before`, or "" without an offset. */
export function offsetText(offset: TriggerOffset | undefined): string {
  return offset ? `${unitText(offset.amount, offset.unit)} ${offset.direction}` : "";
}

/** What fires a trigger, for people: `every monday, thursday`, `3 days before mid_autumn`, `anniversary of birthday`. */
export function describeTrigger(trigger: ResolvedTrigger): string {
  switch (trigger.kind) {
    case "every_day":
      return "every day";
    case "weekly":
      return `every ${uniqueSorted(trigger.days)
        .map((d) => WEEKDAY_NAMES[d - 1] ?? `day ${d}`)
        .join(", ")}`;
    case "monthly":
      return `every month on ${trigger.day}`;
    case "once":
      return "once";
    case "event":
      return trigger.offset ? `${offsetText(trigger.offset)} ${trigger.event}` : `on ${trigger.event}`;
    case "business_event": {
      const once = trigger.atMostOncePer ? ` (at most once per ${unitText(trigger.atMostOncePer.amount, trigger.atMostOncePer.unit)})` : "";
      return trigger.offset ? `${unitText(trigger.offset.amount, trigger.offset.unit)} after event ${trigger.event}` : `on event ${trigger.event}${once}`;
    }
    case "member_date": {
      const what = trigger.anniversary ? `anniversary of ${trigger.field}` : trigger.field;
      if (trigger.offset) return `${offsetText(trigger.offset)} ${what}`;
      return trigger.anniversary ? what : `on ${what}`;
    }
  }
}

function uniqueSorted(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------- shifting

function signed(offset: TriggerOffset): number {
  return offset.direction === "before" ? -offset.amount : offset.amount;
}

function yearOf(date: string): number {
  return Number(date.slice(0, 4));
}

/**
 * How an offset moves a date at `time`: whole days, whole months, or (minutes/hours) a number of minutes
 * added to the time of day. `undefined` → no move.
 */
type Shift = { kind: "days"; days: number } | { kind: "months"; months: number } | { kind: "minutes"; minutes: number };

function shiftOf(offset: TriggerOffset | undefined): Shift {
  if (!offset) return { kind: "days", days: 0 };
  const n = signed(offset);
  switch (offset.unit) {
    case "minute":
      return { kind: "minutes", minutes: n };
    case "hour":
      return { kind: "minutes", minutes: n * 60 };
    case "day":
      return { kind: "days", days: Math.round(n) };
    case "week":
      return { kind: "days", days: Math.round(n * 7) };
    case "month":
      return { kind: "months", months: Math.round(n) };
    case "year":
      return { kind: "months", months: Math.round(n * 12) };
  }
}

/** Upper bound of how many days a shift moves a date, for scanning. */
function shiftBoundDays(s: Shift): number {
  switch (s.kind) {
    case "days":
      return Math.abs(s.days);
    case "months":
      return Math.ceil(Math.abs(s.months) * 31);
    case "minutes":
      return Math.ceil(Math.abs(s.minutes) / 1440) + 1;
  }
}

function inYearRange(date: string | undefined): date is string {
  if (date === undefined) return false;
  const y = /^-?\d+/.exec(date);
  const year = y ? Number(y[0]) : NaN;
  return year >= MIN_YEAR && year <= MAX_YEAR && date.length === 10;
}

/**
 * The wall-clock move of a member-date shift: the firing day from the field's day, and the firing time.
 * Undefined when the result leaves years 1..9999.
 */
function shiftMemberDay(date: string, shift: Shift, time: number): { date: string; minutes: number } | undefined {
  let out: string;
  let minutes = time;
  switch (shift.kind) {
    case "days":
      out = addDays(date, shift.days);
      break;
    case "months":
      out = addMonths(date, shift.months);
      break;
    case "minutes": {
      const total = time + shift.minutes;
      const carry = Math.floor(total / 1440);
      minutes = total - carry * 1440;
      out = addDays(date, carry);
      break;
    }
  }
  return inYearRange(out) ? { date: out, minutes } : undefined;
}

// ---------------------------------------------------------------------------------------------- member dates

/** Which member field values fire on a day (see memberDateMatch). */
export type MemberDateMatch =
  | {
      kind: "exact";
      /** The field value (its project-local date) that fires on the day: `dates[0]`. */
      date: string;
      /**
       * Every field value that fires on the day, ascending. One value, except with month/year offsets at month
       * ends (`1 month after x` fires on 28 Feb 2027 for x = 28, 29, 30 and 31 January); empty when no value
       * fires that day (then `date` is the day shifted back and expandOccurrences makes no occurrence).
       */
      dates: string[];
    }
  | {
      kind: "anniversary";
      /** Month and day of the field whose anniversary fires on the day: `days[0]`. */
      month: number;
      day: number;
      /** On 28 February of a non-leap year, members whose field is 29 February also match. */
      includeFeb29: boolean;
      /**
       * The year of the anniversary that fires (it can differ from the day's year: `7 days before anniversary
       * of x` on 2026-12-28 is the 2027 anniversary). A field in this year or later has no anniversary yet.
       */
      year: number;
      /** Every month/day that matches, 29 February included when it does. Empty when none fires that day. */
      days: { month: number; day: number }[];
    };

/**
 * Which member field values fire a member-date trigger on `day` (project-local date). Non-anniversary: the field
 * date equals the day shifted back by the offset. Anniversary: the field's month/day is that of the shifted-back
 * day (the anniversary), and on 28 February of a non-leap year also 29 February.
 */
export function memberDateMatch(trigger: MemberDateTrigger, day: string): MemberDateMatch {
  const shift = shiftOf(trigger.offset);
  const candidates = sources(day, shift, trigger.time);
  const naive = backShift(day, shift, trigger.time);
  if (!trigger.anniversary) return { kind: "exact", date: candidates[0] ?? naive, dates: candidates };
  const days: { month: number; day: number }[] = [];
  let includeFeb29 = false;
  for (const a of candidates) {
    const p = parseDate(a)!;
    days.push({ month: p.month, day: p.day });
    if (p.month === 2 && p.day === 28 && !isLeapYear(p.year)) {
      days.push({ month: 2, day: 29 });
      if (a === candidates[0]) includeFeb29 = true;
    }
  }
  const first = parseDate(candidates[0] ?? naive) ?? parseDate(day)!;
  return { kind: "anniversary", month: first.month, day: first.day, includeFeb29, year: first.year, days };
}

/** The day shifted back (exact inverse for day and minute shifts; for months the clamped inverse). */
function backShift(day: string, shift: Shift, time: number): string {
  switch (shift.kind) {
    case "days":
      return addDays(day, -shift.days);
    case "months":
      return addMonths(day, -shift.months);
    case "minutes":
      return addDays(day, -Math.floor((time + shift.minutes) / 1440));
  }
}

/** Every date whose forward shift lands on `day`, ascending. */
function sources(day: string, shift: Shift, time: number): string[] {
  const naive = backShift(day, shift, time);
  if (!inYearRange(naive)) return [];
  if (shift.kind !== "months") return [naive];
  const out: string[] = [];
  for (let k = -3; k <= 3; k++) {
    const c = addDays(naive, k);
    if (shiftMemberDay(c, shift, time)?.date === day) out.push(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- expansion

/** Clamps [from, to] to the campaign's `active` range; undefined when empty or not dates. */
function effectiveRange(campaign: ResolvedCampaign, from: string, to: string): { lo: string; hi: string } | undefined {
  let lo = from;
  let hi = to;
  if (campaign.active) {
    if (campaign.active.from > lo) lo = campaign.active.from;
    if (campaign.active.to < hi) hi = campaign.active.to;
  }
  if (!parseDate(lo) || !parseDate(hi) || hi < lo) return undefined;
  return { lo, hi };
}

/**
 * Every occurrence of the campaign's trigger whose project-local date is in [from, to] (inclusive) and inside
 * its `active` range, in time order.
 */
export function expandOccurrences(campaign: ResolvedCampaign, project: Project, from: string, to: string): Occurrence[] {
  const range = effectiveRange(campaign, from, to);
  if (!range) return [];
  const { lo, hi } = range;
  const tz = project.timezone;
  const trigger = campaign.trigger;
  const out: Occurrence[] = [];
  const seen = new Set<number>();

  const pushAt = (at: number, event: string, perMember: boolean) => {
    const z = epochToZoned(at, tz);
    if (z.date < lo || z.date > hi || seen.has(at)) return;
    seen.add(at);
    out.push({ campaign: campaign.name, date: z.date, time: z.time, at, id: `${z.date}T${z.time}${formatOffset(z.offsetMinutes)}`, event, perMember });
  };
  const push = (date: string, minutes: number, event: string, perMember = false) => pushAt(zonedToEpoch(date, minutes, tz), event, perMember);

  switch (trigger.kind) {
    case "every_day": {
      for (const d of datesBetween(lo, hi)) push(d, trigger.time, "every day");
      break;
    }
    case "weekly": {
      const days = new Set(trigger.days);
      const text = describeTrigger(trigger);
      for (const d of datesBetween(lo, hi)) if (days.has(weekday(d))) push(d, trigger.time, text);
      break;
    }
    case "monthly": {
      const text = describeTrigger(trigger);
      const a = parseDate(lo)!;
      const b = parseDate(hi)!;
      for (let i = a.year * 12 + a.month - 1; i <= b.year * 12 + b.month - 1; i++) {
        const year = Math.floor(i / 12);
        const month = (i % 12) + 1;
        if (!Number.isInteger(trigger.day) || trigger.day < 1 || trigger.day > daysInMonth(year, month)) continue; // skipped month
        const d = formatDate(year, month, trigger.day);
        if (d >= lo && d <= hi) push(d, trigger.time, text);
      }
      break;
    }
    case "once": {
      if (parseDate(trigger.date)) push(trigger.date, trigger.time, "once");
      break;
    }
    case "event": {
      const shift = shiftOf(trigger.offset);
      const margin = Math.ceil(shiftBoundDays(shift) / 365) + 1;
      const y0 = Math.max(MIN_YEAR, yearOf(lo) - margin);
      const y1 = Math.min(MAX_YEAR, yearOf(hi) + margin);
      const prefix = describeTrigger(trigger);
      for (let y = y0; y <= y1; y++) {
        const base = eventDate(trigger.event, y, project);
        if (base === undefined) continue;
        const text = `${prefix} (${base})`;
        if (shift.kind === "minutes") {
          pushAt(zonedToEpoch(base, trigger.time, tz) + shift.minutes * 60_000, text, false);
        } else {
          const moved = shiftMemberDay(base, shift, trigger.time);
          if (moved && moved.date >= lo && moved.date <= hi) push(moved.date, moved.minutes, text);
        }
      }
      break;
    }
    case "member_date": {
      const text = describeTrigger(trigger);
      const shift = shiftOf(trigger.offset);
      const minutes = shift.kind === "minutes" ? (((trigger.time + shift.minutes) % 1440) + 1440) % 1440 : trigger.time;
      for (const d of datesBetween(lo, hi)) {
        if (shift.kind === "months" && sources(d, shift, trigger.time).length === 0) continue;
        push(d, minutes, text, true);
      }
      break;
    }
  }
  return out.sort((x, y) => x.at - y.at);
}

/** Every campaign's occurrences in [from, to], merged and sorted by instant, then campaign name. */
export function expandAll(campaigns: readonly ResolvedCampaign[], project: Project, from: string, to: string): Occurrence[] {
  const all = campaigns.flatMap((c) => expandOccurrences(c, project, from, to));
  return all.sort((a, b) => a.at - b.at || (a.campaign < b.campaign ? -1 : a.campaign > b.campaign ? 1 : 0));
}
