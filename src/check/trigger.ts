/**
 * Triggers → ResolvedTrigger. Choices:
 * - Weekdays are the full English names (`monday` … `sunday`) or their three-letter forms (`mon` … `sun`),
 *   lowercase; they become ISO numbers (1 = Monday), sorted, without repeats.
 * - An event name is, in this order: a member field (which must be a date or datetime: the trigger fires on
 *   the member's own day), a project `calendar:` name, a built-in calendar event. `anniversary of <field>`
 *   must name a date or datetime field.
 * - Without `at`, the time is `policy.default_time`.
 * - A firing time inside `policy.quiet_hours` is a warning: those sends are deferred to the end of quiet hours.
 * Monthly days outside 1..31 are reported at the day; offsets that skip years by src/calendar/check.ts.
 */
import type { DurationUnit, EventRef, TimeLit, Trigger } from "../language/ast.js";
import type { Project } from "../project/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import { calendarMessages } from "../diagnostics/messages/calendar.js";
import type { ResolvedTrigger } from "../resolved/types.js";
import { checkDateTime, checkTime, formatMinutes } from "./literals.js";
import { eventForAlias } from "../calendar/aliases.js";

const WEEKDAYS: Record<string, number> = {
  monday: 1,
  tuesday: 2,
  wednesday: 3,
  thursday: 4,
  friday: 5,
  saturday: 6,
  sunday: 7,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
  sun: 7,
};
const FULL_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

export interface TriggerEnv {
  project: Project;
  /** Built-in events ∪ the project's `calendar:` names. */
  events: ReadonlySet<string>;
  out: Diagnostic[];
}

export function resolveTrigger(t: Trigger, env: TriggerEnv): ResolvedTrigger | undefined {
  const { out } = env;
  const time = (at: TimeLit | undefined): number | undefined => (at ? checkTime(at, out) : env.project.policy.defaultTime);
  let r: ResolvedTrigger | undefined;
  switch (t.kind) {
    case "every_day": {
      const tm = time(t.at);
      if (tm !== undefined) r = { kind: "every_day", time: tm };
      break;
    }
    case "every_weekdays": {
      const days = new Set<number>();
      let ok = true;
      for (const d of t.days) {
        const n = Object.hasOwn(WEEKDAYS, d.name) ? WEEKDAYS[d.name] : undefined;
        if (n === undefined) {
          const help = didYouMean(d.name, FULL_WEEKDAYS) ?? didYouMean(d.name, Object.keys(WEEKDAYS));
          out.push(diag(M.unknownWeekday, d.span, [d.name], help ? { help } : {}));
          ok = false;
        } else days.add(n);
      }
      const tm = time(t.at);
      if (ok && tm !== undefined) r = { kind: "weekly", days: [...days].sort((a, b) => a - b), time: tm };
      break;
    }
    case "every_month": {
      if (!Number.isInteger(t.day.value) || t.day.value < 1 || t.day.value > 31) {
        // Here the day's own span is known: point at `32`, not at the whole campaign.
        out.push(diag(calendarMessages.calendarMonthDayOutOfRange, t.day.span, [t.day.raw]));
        break;
      }
      const tm = time(t.at);
      if (tm !== undefined) r = { kind: "monthly", day: t.day.value, time: tm };
      break;
    }
    case "once": {
      const dt = checkDateTime(t.at, out);
      if (dt) r = { kind: "once", date: dt.date, time: dt.time };
      break;
    }
    case "on_event":
    case "offset": {
      if (t.event.business) return resolveBusinessEvent(t, env);
      let offset: { amount: number; unit: DurationUnit; direction: "before" | "after" } | undefined;
      let ok = true;
      if (t.kind === "offset") {
        if (!Number.isInteger(t.amount.value) || t.amount.value < 0) {
          out.push(diag(M.triggerOffsetNotWhole, t.amount.span, [t.amount.raw]));
          ok = false;
        }
        offset = { amount: t.amount.value, unit: t.unit, direction: t.direction };
      }
      const ev = resolveEvent(t.event, env);
      const tm = time(t.at);
      if (!ev || tm === undefined || !ok) break;
      r =
        ev.kind === "event"
          ? { kind: "event", event: ev.event, time: tm }
          : { kind: "member_date", field: ev.field, fieldType: ev.fieldType, anniversary: t.event.anniversary, time: tm };
      if (offset) r.offset = offset;
      break;
    }
  }
  if (r) quietHours(r.time, t.at ?? t, env);
  return r;
}

/**
 * `on event "x" [at most once per D]`, `<N> <unit> after event "x"`: the event must be declared under `events:`;
 * `before` is refused (a business event cannot be foreseen). No quiet-hours warning: the moment is the event's own.
 */
function resolveBusinessEvent(t: Extract<Trigger, { kind: "on_event" | "offset" }>, env: TriggerEnv): ResolvedTrigger | undefined {
  const { out } = env;
  const name = t.event.name;
  let ok = true;
  if (!env.project.events?.has(name)) {
    const declared = [...(env.project.events?.keys() ?? [])];
    const help = didYouMean(name, declared) ?? (declared.length ? `declared events: ${declared.join(", ")}` : undefined);
    out.push(diag(M.unknownBusinessEvent, t.event.span, [name], help ? { help } : {}));
    ok = false;
  }
  const r: Extract<ResolvedTrigger, { kind: "business_event" }> = { kind: "business_event", event: name, time: env.project.policy.defaultTime };
  if (t.kind === "offset") {
    if (t.direction === "before") {
      out.push(diag(M.eventTriggerBefore, t.span, [name, `${t.amount.raw} ${t.unit}${t.amount.value === 1 ? "" : "s"}`]));
      ok = false;
    } else if (!Number.isInteger(t.amount.value) || t.amount.value < 0) {
      out.push(diag(M.triggerOffsetNotWhole, t.amount.span, [t.amount.raw]));
      ok = false;
    } else r.offset = { amount: t.amount.value, unit: t.unit };
  } else if (t.atMostOncePer) {
    if (!(t.atMostOncePer.amount > 0)) {
      out.push(diag(M.eventOncePerNonPositive, t.atMostOncePer.span, [t.atMostOncePer.raw]));
      ok = false;
    } else r.atMostOncePer = { amount: t.atMostOncePer.amount, unit: t.atMostOncePer.unit };
  }
  return ok ? r : undefined;
}

type Event = { kind: "event"; event: string } | { kind: "member_date"; field: string; fieldType: "date" | "datetime" };

function resolveEvent(e: EventRef, env: TriggerEnv): Event | undefined {
  const fields = env.project.members.fields;
  const field = fields.get(e.name);
  const dateFields = () => [...fields].filter(([, t]) => t.kind === "date" || t.kind === "datetime").map(([n]) => n);
  if (e.anniversary) {
    if (!field) {
      const help = didYouMean(e.name, dateFields());
      env.out.push(diag(M.anniversaryUnknownField, e.span, [e.name], help ? { help } : {}));
      return undefined;
    }
    if (field.kind !== "date" && field.kind !== "datetime") {
      env.out.push(diag(M.anniversaryNotDateField, e.span, [e.name, article(field.kind)], { help: `date fields: ${dateFields().join(", ") || "none"}` }));
      return undefined;
    }
    return { kind: "member_date", field: e.name, fieldType: field.kind };
  }
  if (field) {
    if (field.kind === "date" || field.kind === "datetime") return { kind: "member_date", field: e.name, fieldType: field.kind };
    env.out.push(
      diag(M.eventNotDateField, e.span, [e.name, `${article(field.kind)} field`], {
        help: `a member field used as an event must be a date or datetime field (${dateFields().join(", ") || "none"})`,
      }),
    );
    return undefined;
  }
  if (env.events.has(e.name)) return { kind: "event", event: e.name };
  const alias = eventForAlias(e.name);
  if (alias !== undefined && env.events.has(alias)) {
    env.out.push(diag(M.unknownEvent, e.span, [e.name], { help: `\`${e.name}\` is the built-in event \`${alias}\`: write \`${alias}\`` }));
    return undefined;
  }
  const help = didYouMean(e.name, [...env.events, ...dateFields()]);
  env.out.push(diag(M.unknownEvent, e.span, [e.name], help ? { help } : {}));
  return undefined;
}

/** Quiet hours: start inclusive, end exclusive; start > end wraps midnight. */
export function inQuietHours(time: number, q: { start: number; end: number }): boolean {
  if (q.start === q.end) return false;
  return q.start < q.end ? time >= q.start && time < q.end : time >= q.start || time < q.end;
}

function quietHours(time: number, at: { span: TimeLit["span"] }, env: TriggerEnv): void {
  const q = env.project.policy.quietHours;
  if (!q || !inQuietHours(time, q)) return;
  env.out.push(diag(M.triggerInQuietHours, at.span, [formatMinutes(time), `${formatMinutes(q.start)}-${formatMinutes(q.end)}`, formatMinutes(q.end)]));
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}
