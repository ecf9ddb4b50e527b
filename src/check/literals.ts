/**
 * Validity of date and time literals (the parser only checks their shape) and small conversions.
 * Invalid ones are reported at the literal's span: `2026-02-30`, `2026-13-01`, `25:00`, `09:60`.
 */
import type { DateLit, DateTimeLit, Literal, TimeLit } from "../language/ast.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";

/** `YYYY-MM-DD` naming a day that exists (Gregorian, leap years included). */
export function isValidDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  // Year 0 is no year of the calendar the engine computes in (0001–9999).
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** `H:MM` / `HH:MM` on a 24-hour clock → minutes after midnight; undefined when not a time of day. */
export function timeToMinutes(s: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return undefined;
  return h * 60 + min;
}

export function formatMinutes(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** The minutes of a time literal, or undefined after reporting it. */
export function checkTime(lit: TimeLit, out: Diagnostic[]): number | undefined {
  const t = timeToMinutes(lit.value);
  if (t === undefined) out.push(diag(M.invalidTime, lit.span, [lit.value]));
  return t;
}

/** The date of a date literal, or undefined after reporting it. */
export function checkDate(lit: DateLit, out: Diagnostic[]): string | undefined {
  if (isValidDate(lit.value)) return lit.value;
  out.push(diag(M.invalidDate, lit.span, [lit.value]));
  return undefined;
}

/** Date and minutes of a date-time literal; each invalid part is reported (at the whole literal). */
export function checkDateTime(lit: DateTimeLit, out: Diagnostic[]): { date: string; time: number } | undefined {
  let ok = true;
  if (!isValidDate(lit.date)) {
    out.push(diag(M.invalidDate, lit.span, [lit.date]));
    ok = false;
  }
  const time = timeToMinutes(lit.time);
  if (time === undefined) {
    out.push(diag(M.invalidTime, lit.span, [lit.time]));
    ok = false;
  }
  return ok ? { date: lit.date, time: time! } : undefined;
}

/** How a literal reads in a message: `"vip"`, `10%`, `2026-12-24`. */
export function literalText(lit: Literal): string {
  switch (lit.kind) {
    case "string":
    case "number":
    case "percent":
    case "money":
    case "duration":
      return lit.raw;
    case "bool":
      return String(lit.value);
    case "date":
    case "time":
      return lit.value;
    case "datetime":
      return `${lit.date} ${lit.time}`;
    case "list":
      return "[…]";
  }
}
