/** Durations added to moments: fixed units in milliseconds, months and years on the calendar of the project timezone. */
import { epochToZoned, zonedToEpoch } from "../calendar/time.js";

const DURATION_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };

/** t + duration, calendar-correct for months and years in the project timezone. */
export function addDuration(t: number, d: { amount: number; unit: string }, tz: string): number {
  const fixed = DURATION_MS[d.unit];
  if (fixed) return t + d.amount * fixed;
  const z = epochToZoned(t, tz);
  const [y, m, day] = z.date.split("-").map(Number) as [number, number, number];
  const months = d.unit === "year" ? d.amount * 12 : d.amount;
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  const date = `${String(ny).padStart(4, "0")}-${String(nm).padStart(2, "0")}-${String(Math.min(day, last)).padStart(2, "0")}`;
  return zonedToEpoch(date, z.minutes, tz);
}

/** The occurrence id of a business event: its identity, so that no event's send key is another's. */
