import { addDays, epochToZoned, zonedToEpoch } from "../calendar/time.js";
import { UsageError } from "./io.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::\d{2})?$/;

/** `--at`: `2026-12-12 10:00` (project-local), `2026-12-12` (00:00 local… end of nothing: taken as 23:59), or ISO 8601 with an offset. */
export function parseMoment(text: string, tz: string, flag = "--at"): number {
  const local = LOCAL.exec(text);
  if (local) {
    const h = Number(local[2]);
    const m = Number(local[3]);
    if (h < 24 && m < 60 && !Number.isNaN(Date.parse(local[1]!))) return zonedToEpoch(local[1]!, h * 60 + m, tz);
  }
  if (DATE.test(text) && !Number.isNaN(Date.parse(text))) return zonedToEpoch(text, 23 * 60 + 59, tz);
  if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(`${flag} ${text} is not a moment`, `write it as "YYYY-MM-DD HH:MM" in the project timezone (${tz}), or ISO 8601 with an offset`);
}

export function parseDateFlag(text: string, flag: string): string {
  if (!DATE.test(text) || Number.isNaN(Date.parse(text))) throw new UsageError(`${flag} ${text} is not a date`, "write dates as YYYY-MM-DD, e.g. 2026-12-01");
  return text;
}

/** The date range of a command: --from/--to, or today and the next `days - 1` days. */
export function dateRange(opts: { from?: string; to?: string }, now: number, tz: string, days = 30): { from: string; to: string } {
  const from = opts.from ? parseDateFlag(opts.from, "--from") : epochToZoned(now, tz).date;
  const to = opts.to ? parseDateFlag(opts.to, "--to") : addDays(from, days - 1);
  if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
  return { from, to };
}
