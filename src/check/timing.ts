/**
 * Warnings about when sends really go out: quiet hours and a campaign's send window defer a send (never drop
 * it), the same way as src/plan/defer.ts, so a trigger time, a window and a goal can disagree in ways an author
 * does not see. Each warning says the resulting send time.
 */
import type { Span } from "../diagnostics/span.js";
import type { DurationUnit } from "../language/ast.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import { formatMinutes } from "./literals.js";
import { inQuietHours } from "./trigger.js";

interface Range {
  start: number;
  end: number;
}

export interface TimingInput {
  /** The trigger's time of day, and where it is written (its `at`, or the trigger). */
  time: number;
  timeSpan: Span;
  quiet?: Range;
  window?: Range;
  windowSpan?: Span;
  goal?: { within: { amount: number; unit: DurationUnit }; span: Span; raw: string };
}

const DAY = 24 * 60;
const UNIT_MINUTES: Partial<Record<DurationUnit, number>> = { minute: 1, hour: 60, day: DAY, week: 7 * DAY };

/** Minutes after the planned moment at which the send goes out; undefined when no minute of a day is allowed. */
export function deferral(time: number, quiet?: Range, window?: Range): number | undefined {
  let m = time;
  for (let i = 0; i < 2 * DAY; i++, m++) {
    const t = m % DAY;
    if (quiet && inQuietHours(t, quiet)) continue;
    if (window && window.start !== window.end && !inQuietHours(t, window)) continue;
    return m - time;
  }
  return undefined;
}

export function timingWarnings(x: TimingInput, out: Diagnostic[]): void {
  const { quiet, window } = x;
  const range = (r: Range) => `${formatMinutes(r.start)}-${formatMinutes(r.end)}`;
  if (quiet && window && deferral(window.start, quiet, window) === undefined) {
    out.push(diag(M.sendWindowInQuietHours, x.windowSpan ?? x.timeSpan, [range(window), range(quiet), range({ start: quiet.end, end: quiet.start })]));
    return;
  }
  const delay = deferral(x.time, quiet, window);
  if (delay === undefined || delay === 0) return;
  const at = sendTime(x.time, delay);
  if (window && !inQuietHours(x.time, window)) {
    out.push(diag(M.triggerOutsideSendWindow, x.timeSpan, [formatMinutes(x.time), range(window), at, formatMinutes(window.start)]));
  }
  const per = x.goal && UNIT_MINUTES[x.goal.within.unit];
  if (x.goal && per !== undefined && x.goal.within.amount * per < delay) {
    out.push(diag(M.goalShorterThanDeferral, x.goal.span, [formatMinutes(x.time), at, minutesText(delay), x.goal.raw]));
  }
}

/** `09:00`, or `09:00 the next day`. */
function sendTime(time: number, delay: number): string {
  const end = time + delay;
  return end >= DAY ? `${formatMinutes(end % DAY)} the next day` : formatMinutes(end);
}

function minutesText(n: number): string {
  const h = Math.floor(n / 60);
  const m = n % 60;
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? "" : "s"}`);
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  return parts.join(" ");
}
