/** Dates of the project's own calendar events: `"09-28"` every year, `2026-05-20` once. */
import type { Span } from "../diagnostics/span.js";
import type { CalendarEventDef } from "./types.js";

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * `MM-DD` → yearly (29 February allowed; the calendar stage decides how it falls in other years),
 * `YYYY-MM-DD` → once. A `Date` (what a YAML 1.1 timestamp becomes) is taken as its UTC calendar day.
 */
export function parseCalendarDate(value: string | Date, span: Span): CalendarEventDef | undefined {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    return { kind: "once", date: value.toISOString().slice(0, 10), span };
  }
  const text = value.trim();
  let m = /^(\d{2})-(\d{2})$/.exec(text);
  if (m) {
    const month = Number(m[1]);
    const day = Number(m[2]);
    if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return undefined;
    return { kind: "yearly", month, day, span };
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m) {
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    if (month < 1 || month > 12 || day < 1) return undefined;
    const max = month === 2 && !isLeap(year) ? 28 : DAYS_IN_MONTH[month - 1]!;
    if (day > max) return undefined;
    return { kind: "once", date: text, span };
  }
  return undefined;
}
