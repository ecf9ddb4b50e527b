/**
 * Quiet hours and send windows defer a send, never drop it (docs/language.md): the send moves to the first moment
 * that is outside quiet hours and inside the campaign's window.
 */
import { addDays, epochToZoned, zonedToEpoch } from "../calendar/time.js";

export interface ClockRange {
  start: number;
  end: number;
}

/** [start, end) in minutes after midnight; start > end wraps midnight (21:00-09:00). */
export function inRange(m: number, r: ClockRange): boolean {
  return r.start <= r.end ? m >= r.start && m < r.end : m >= r.start || m < r.end;
}

export function deferSendTime(at: number, tz: string, quiet?: ClockRange, window?: ClockRange): number {
  if (!quiet && !window) return at;
  let { date, minutes } = epochToZoned(at, tz);
  let moved = false;
  for (let i = 0; i < 6; i++) {
    if (quiet && quiet.start !== quiet.end && inRange(minutes, quiet)) {
      if (quiet.end <= minutes) date = addDays(date, 1);
      minutes = quiet.end;
      moved = true;
      continue;
    }
    if (window && window.start !== window.end && !inRange(minutes, window)) {
      if (window.start <= minutes) date = addDays(date, 1);
      minutes = window.start;
      moved = true;
      continue;
    }
    break;
  }
  return moved ? zonedToEpoch(date, minutes, tz) : at;
}
