import { addDays, epochToZoned, zonedToEpoch } from "../calendar/time.js";
import { isValidDate } from "../check/literals.js";
import { UsageError } from "./io.js";
import { operationsMessages as O } from "../diagnostics/messages/operations.js";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::\d{2})?$/;
/** ISO 8601 with an explicit offset, the only other form: `2026-12-12T10:00:00+08:00`, `…Z`. */
const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[zZ]|[+-]\d{2}:?\d{2})$/;

/** How a value reads in a message: quoted, control characters escaped, at most 60 characters. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** `--at`: `2026-12-12 10:00` (project-local), `2026-12-12` (00:00 local… end of nothing: taken as 23:59), or ISO 8601 with an offset. */
export function parseMoment(text: string, tz: string, flag = "--at"): number {
  const t = text.trim();
  const local = LOCAL.exec(t);
  const iso = ISO.exec(t);
  const noDay = (day: string) => new UsageError(O.momentNoSuchDay, [flag, shown(text), day, tz]);
  const noTime = (time: string) => new UsageError(O.momentNoSuchTime, [flag, shown(text), time, tz]);
  if (local && !iso) {
    const h = Number(local[2]);
    const m = Number(local[3]);
    if (!isValidDate(local[1]!)) throw noDay(local[1]!);
    if (h > 23 || m > 59) throw noTime(`${local[2]}:${local[3]}`);
    return zonedToEpoch(local[1]!, h * 60 + m, tz);
  }
  if (DATE.test(t)) {
    if (!isValidDate(t)) throw noDay(t);
    return zonedToEpoch(t, 23 * 60 + 59, tz);
  }
  if (iso) {
    if (!isValidDate(iso[1]!)) throw noDay(iso[1]!);
    if (Number(iso[2]) > 23 || Number(iso[3]) > 59 || Number(iso[4] ?? 0) > 59) throw noTime("that");
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(t === "" ? O.momentEmpty : O.momentUnknownFormat, [flag, shown(text), tz]);
}

export function parseDateFlag(text: string, flag: string): string {
  if (!DATE.test(text) || !isValidDate(text)) {
    throw new UsageError(DATE.test(text) ? O.dateNoSuchDay : O.notADate, [flag, shown(text)]);
  }
  return text;
}

/** The date range of a command: --from/--to, or today and the next `days - 1` days. */
export function dateRange(opts: { from?: string; to?: string }, now: number, tz: string, days = 30): { from: string; to: string } {
  const from = opts.from !== undefined ? parseDateFlag(opts.from, "--from") : epochToZoned(now, tz).date;
  const to = opts.to !== undefined ? parseDateFlag(opts.to, "--to") : addDays(from, days - 1);
  if (to < from) throw new UsageError(O.rangeReversed, [to, from]);
  return { from, to };
}
