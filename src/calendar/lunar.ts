/**
 * Chinese lunar calendar and solar terms, from the `tyme4ts` library (寿星天文历 algorithms; no hand-made tables).
 * Dates are Gregorian "YYYY-MM-DD" strings as everywhere in src/calendar.
 */
import { LunarDay, SolarDay, SolarTerm } from "tyme4ts";
import { formatDate } from "./time.js";

/** Years the lunar conversions are offered for (the tool's documented range). */
export const LUNAR_MIN_YEAR = 1950;
export const LUNAR_MAX_YEAR = 2100;

/**
 * The Gregorian date of lunar `month`/`day` (a non-leap month) of lunar year `lunarYear`, or undefined when
 * the year is outside LUNAR_MIN_YEAR..LUNAR_MAX_YEAR or the day does not exist (day 30 of a short month).
 */
export function lunarToSolar(lunarYear: number, month: number, day: number): string | undefined {
  if (!Number.isInteger(lunarYear) || lunarYear < LUNAR_MIN_YEAR || lunarYear > LUNAR_MAX_YEAR) return undefined;
  try {
    const s = LunarDay.fromYmd(lunarYear, month, day).getSolarDay();
    return formatDate(s.getYear(), s.getMonth(), s.getDay());
  } catch {
    return undefined;
  }
}

/** The Gregorian date of solar term `name` (Chinese name, e.g. "清明") in Gregorian `year`. */
export function solarTermDate(year: number, name: string): string | undefined {
  if (!Number.isInteger(year) || year < LUNAR_MIN_YEAR || year > LUNAR_MAX_YEAR) return undefined;
  try {
    const s = SolarTerm.fromName(year, name).getSolarDay();
    const date = formatDate(s.getYear(), s.getMonth(), s.getDay());
    // tyme4ts counts terms from 冬至 of the previous year; only terms inside `year` are answered.
    return s.getYear() === year ? date : undefined;
  } catch {
    return undefined;
  }
}

/** Lunar year, month and day of a Gregorian date (`leap` for a day in a leap month), or undefined out of range. */
export function solarToLunar(date: string): { year: number; month: number; day: number; leap: boolean } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (year < LUNAR_MIN_YEAR || year > LUNAR_MAX_YEAR) return undefined;
  try {
    const l = SolarDay.fromYmd(year, Number(m[2]), Number(m[3])).getLunarDay();
    const month = l.getLunarMonth();
    return { year: l.getYear(), month: month.getMonth(), day: l.getDay(), leap: month.isLeap() };
  } catch {
    return undefined;
  }
}
