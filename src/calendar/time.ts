/**
 * Dates, times and timezones without the machine's timezone.
 *
 * A date is a "YYYY-MM-DD" string in the proleptic Gregorian calendar; date arithmetic works on a day number
 * (days since 1970-01-01) and never touches `Date`'s local-time methods. Conversions between a local date and
 * time in a named IANA zone and an epoch instant use `Intl.DateTimeFormat` with an explicit `timeZone`, so the
 * results are the same whatever `TZ` the process runs under.
 */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;
const MS_PER_MINUTE = 60_000;

export interface ZonedTime {
  /** Local date, "YYYY-MM-DD". */
  date: string;
  /** Local time, "HH:MM". */
  time: string;
  /** Minutes after local midnight. */
  minutes: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** UTC offset of the zone at that instant, in minutes (Asia/Shanghai: 480). */
  offsetMinutes: number;
}

// ---------------------------------------------------------------------------------------------- dates

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Parses "YYYY-MM-DD"; undefined unless it is a real calendar date. */
export function parseDate(date: string): { year: number; month: number; day: number } | undefined {
  const m = DATE_RE.exec(date);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

export function isValidDate(date: string): boolean {
  return parseDate(date) !== undefined;
}

/** "YYYY-MM-DD" from parts (no validation: callers pass real dates). */
export function formatDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

function parts(date: string): { year: number; month: number; day: number } {
  const p = parseDate(date);
  if (!p) throw new Error(`internal: not a date: ${JSON.stringify(date)}`);
  return p;
}

/** Days since 1970-01-01 of a civil date (H. Hinnant's algorithm; valid for any year). */
function civilToDays(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysToCivil(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: (month <= 2 ? 1 : 0) + yoe + era * 400, month, day };
}

/** Day number (days since 1970-01-01) of a date. */
export function dayNumber(date: string): number {
  const p = parts(date);
  return civilToDays(p.year, p.month, p.day);
}

/** The date of a day number. */
export function fromDayNumber(days: number): string {
  const c = daysToCivil(days);
  return formatDate(c.year, c.month, c.day);
}

export function addDays(date: string, n: number): string {
  return fromDayNumber(dayNumber(date) + n);
}

/** Adds calendar months; a day past the end of the target month is clamped to its last day (01-31 + 1 month → 02-28/29). */
export function addMonths(date: string, n: number): string {
  const p = parts(date);
  const index = p.year * 12 + (p.month - 1) + n;
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  return formatDate(year, month, Math.min(p.day, daysInMonth(year, month)));
}

/** Adds years; 29 February becomes 28 February in a non-leap year. */
export function addYears(date: string, n: number): string {
  return addMonths(date, 12 * n);
}

/** Days from `from` to `to`: positive when `to` is later (`diffDays("2026-01-01", "2026-01-03") === 2`). */
export function diffDays(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** ISO weekday of a date: 1 = Monday … 7 = Sunday. */
export function weekday(date: string): number {
  // 1970-01-01 was a Thursday (4).
  return ((((dayNumber(date) + 3) % 7) + 7) % 7) + 1;
}

/** Every date from `from` to `to`, both inclusive (empty when `to` is before `from`). */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = dayNumber(to);
  for (let d = dayNumber(from); d <= end; d++) out.push(fromDayNumber(d));
  return out;
}

// ---------------------------------------------------------------------------------------------- times

/** "HH:MM" of minutes after midnight. */
export function formatMinutes(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** "+08:00", "-04:00", "+05:45" of an offset in minutes. */
export function formatOffset(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${sign}${formatMinutes(abs)}`;
}

// ---------------------------------------------------------------------------------------------- zones

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      era: "short",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is an IANA zone name this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in `tz` (seconds precision). */
function wallClock(ms: number, tz: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  let bc = false;
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    switch (p.type) {
      case "year":
        out.year = Number(p.value);
        break;
      case "month":
        out.month = Number(p.value);
        break;
      case "day":
        out.day = Number(p.value);
        break;
      case "hour":
        out.hour = Number(p.value) % 24;
        break;
      case "minute":
        out.minute = Number(p.value);
        break;
      case "second":
        out.second = Number(p.value);
        break;
      case "era":
        bc = p.value.startsWith("B");
        break;
    }
  }
  if (bc) out.year = 1 - out.year;
  return out;
}

/** Offset of `tz` from UTC at instant `ms`, in milliseconds (local = UTC + offset). */
function offsetMs(ms: number, tz: string): number {
  return offsetOf(wallClock(ms, tz), ms);
}

function offsetOf(w: ReturnType<typeof wallClock>, ms: number): number {
  const local = (civilToDays(w.year, w.month, w.day) * 1440 + w.hour * 60 + w.minute) * MS_PER_MINUTE + w.second * 1000;
  return local - Math.floor(ms / 1000) * 1000;
}

/** UTC offset of `tz` at instant `ms`, in whole minutes. */
export function offsetMinutesAt(ms: number, tz: string): number {
  return Math.round(offsetMs(ms, tz) / MS_PER_MINUTE);
}

/**
 * The instant of a local date and time in `tz`. Minutes may be outside 0..1439 (they roll into the
 * neighbouring days). A local time that does not exist (a DST gap) moves forward by the gap
 * (America/New_York 2026-03-08 02:30 → 03:30 EDT); a local time that happens twice (DST end) is the
 * earlier of the two instants.
 */
export function zonedToEpoch(date: string, minutes: number, tz: string): number {
  const local = (dayNumber(date) * 1440 + minutes) * MS_PER_MINUTE; // the wall clock read as if it were UTC
  const before = offsetMs(local - MS_PER_DAY, tz);
  const after = offsetMs(local + MS_PER_DAY, tz);
  // No transition within a day either side (zones change offset at most once in two days): one answer.
  if (before === after && offsetMs(local - before, tz) === before) return local - before;
  const candidates = [...new Set([before, after, offsetMs(local, tz)])]
    .map((o) => local - o)
    .filter((t) => offsetMs(t, tz) === local - t)
    .sort((a, b) => a - b);
  if (candidates.length) return candidates[0]!;
  // In a gap: read the wall clock with the offset in force before the transition, which lands after it.
  return local - before;
}

/** The local date, time and weekday in `tz` of an instant. */
export function epochToZoned(ms: number, tz: string): ZonedTime {
  const w = wallClock(ms, tz);
  const date = formatDate(w.year, w.month, w.day);
  const minutes = w.hour * 60 + w.minute;
  return { date, time: formatMinutes(minutes), minutes, weekday: weekday(date), offsetMinutes: Math.round(offsetOf(w, ms) / MS_PER_MINUTE) };
}

/** `2026-11-24T10:00+08:00`: the local date and time of an instant with the zone's offset at that instant. */
export function zonedId(ms: number, tz: string): string {
  const z = epochToZoned(ms, tz);
  return `${z.date}T${z.time}${formatOffset(z.offsetMinutes)}`;
}

/**
 * An instant for people to read, in the project's zone: `2026-11-24 10:00 +08:00` (`10:00:05` when it is not
 * a whole minute).
 */
export function formatLocalTime(ms: number, tz: string): string {
  const z = epochToZoned(ms, tz);
  const s = Math.floor((((ms % MS_PER_MINUTE) + MS_PER_MINUTE) % MS_PER_MINUTE) / 1000);
  return `${z.date} ${z.time}${s ? `:${String(s).padStart(2, "0")}` : ""} ${formatOffset(z.offsetMinutes)}`;
}
