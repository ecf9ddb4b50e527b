/**
 * Small value grammars of chuda.yaml, shared with the planner and dispatch:
 * durations (`6 hours`), frequency rules (`2 per member per 7 days`) and clock times (`21:00`).
 * Each parser returns `undefined` for text it cannot read; the caller turns that into a diagnostic.
 */
import { pointSpan, type Span } from "../diagnostics/span.js";
import type { FrequencyRule, Period } from "./types.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Fixed-length units of a duration, in ms. Months and years have no fixed length, so they are not durations here. */
const DURATION_UNITS: Record<string, number> = { minute: MINUTE, hour: HOUR, day: DAY, week: WEEK };
/** Units of a rolling window of a frequency rule. */
const ROLLING_UNITS: Record<string, number> = { hour: HOUR, day: DAY, week: WEEK };
const CALENDAR_UNITS = ["day", "week", "month"] as const;

function singular(unit: string): string {
  const u = unit.toLowerCase();
  return u.endsWith("s") ? u.slice(0, -1) : u;
}

/** `6 hours`, `30 minutes`, `1 day`, `2 weeks` → milliseconds. A whole number ≥ 0 and a unit. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([A-Za-z]+)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[singular(m[2]!)];
  if (unit === undefined) return undefined;
  return Number(m[1]) * unit;
}

/**
 * `<N> per member per <period>` → a rule. `per day|week|month` are calendar periods in the project timezone
 * (weeks start on Monday); `per <N> hours|days|weeks` is a rolling window (even `per 1 day`).
 * `span` is where the rule was written (for diagnostics of later stages).
 */
export function parseFrequencyRule(text: string, span: Span = pointSpan("")): FrequencyRule | undefined {
  const norm = text.trim().replace(/\s+/g, " ");
  const m = /^(\d+) per member per (?:(\d+) )?([A-Za-z]+)$/i.exec(norm);
  if (!m) return undefined;
  const count = Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) return undefined;
  const unit = singular(m[3]!);
  let period: Period;
  if (m[2] === undefined) {
    if (m[3]!.toLowerCase() !== unit) return undefined; // `per days`
    if (!(CALENDAR_UNITS as readonly string[]).includes(unit)) return undefined;
    period = { kind: "calendar", unit: unit as (typeof CALENDAR_UNITS)[number] };
  } else {
    const n = Number(m[2]);
    const ms = ROLLING_UNITS[unit];
    if (ms === undefined || !Number.isSafeInteger(n) || n < 1) return undefined;
    period = { kind: "rolling", ms: n * ms, text: `${n} ${unit}${n === 1 ? "" : "s"}` };
  }
  return { count, period, text: norm, span };
}

/** `21:00` → minutes after midnight (0..1439). `H:MM` or `HH:MM`, 24-hour clock. */
export function parseClock(text: string): number | undefined {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return undefined;
  return h * 60 + min;
}

/** `21:00-09:00` → start and end in minutes; `start > end` wraps midnight. Start and end must differ. */
export function parseClockRange(text: string): { start: number; end: number } | undefined {
  const parts = text.split("-");
  if (parts.length !== 2) return undefined;
  const start = parseClock(parts[0]!);
  const end = parseClock(parts[1]!);
  if (start === undefined || end === undefined || start === end) return undefined;
  return { start, end };
}

/** Formats minutes after midnight as `HH:MM`. */
export function formatClock(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}
