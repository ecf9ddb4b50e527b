/**
 * What the checker hands to every later stage: campaigns resolved against the project, with
 * audiences in a typed IR (segments inlined, identifiers resolved to fields or enum values).
 * src/members compiles the IR to SQL; src/calendar expands triggers; src/plan uses the rest.
 */
import type { CompareOp, DurationUnit } from "../language/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { FieldType } from "../project/types.js";

export interface Duration {
  amount: number;
  unit: DurationUnit;
}

/** The type of an IR value. `time` and `duration` only appear in literals. */
export type IRType = FieldType | { kind: "duration" } | { kind: "null" };

export type IRValue =
  | { v: "field"; name: string; type: FieldType }
  /**
   * A literal. Dates are "YYYY-MM-DD"; datetimes "YYYY-MM-DD HH:MM" (project-local time); enum values
   * are their name (ordering comes from `type.values`); phone numbers and strings are strings.
   */
  | { v: "lit"; value: string | number | boolean; type: FieldType }
  /** The occurrence's date / moment in the project timezone (a parameter at plan time). */
  | { v: "today" }
  | { v: "now" }
  /** A property of the business event that fired the occurrence (a parameter at plan time). */
  | { v: "event_prop"; name: string; type: FieldType }
  /** date ± duration, datetime ± duration, number ± number. */
  | { v: "arith"; op: "+" | "-"; left: IRValue; right: IRValue; type: FieldType }
  | { v: "duration"; duration: Duration }
  /** days_since, days_until, years_since, month, day, weekday (1 = Monday … 7 = Sunday), len, lower. */
  | { v: "call"; fn: "days_since" | "days_until" | "years_since" | "month" | "day" | "weekday" | "len" | "lower"; args: IRValue[]; type: FieldType };

/**
 * A boolean condition over one member. Missing values (NULL): every comparison with a missing value is
 * false — including under `not` (`not (tier >= gold)` is true for a member without a tier); `is_set` tests it.
 */
export type IR =
  | { op: "and" | "or"; args: IR[] }
  | { op: "not"; arg: IR }
  | { op: "cmp"; cmp: CompareOp; left: IRValue; right: IRValue }
  | { op: "in"; negated: boolean; value: IRValue; list: IRValue[] }
  /** list field contains one / any / all of the given values. */
  | { op: "has"; mode: "one" | "any" | "all"; list: IRValue; values: IRValue[] }
  | { op: "between"; value: IRValue; low: IRValue; high: IRValue }
  | { op: "is_set"; negated: boolean; value: IRValue }
  /** The member's distance to the mall is at most `km` (by the project's `members.distance`). */
  | { op: "within"; km: number }
  /** A bool field (or bool literal) used as a condition: `not unsubscribed`. Missing counts as false. */
  | { op: "truthy"; value: IRValue }
  | { op: "const"; value: boolean };

/** Minutes after midnight in the project timezone. */
export type Minutes = number;

export type ResolvedTrigger =
  | { kind: "every_day"; time: Minutes }
  /** ISO weekdays: 1 = Monday … 7 = Sunday. */
  | { kind: "weekly"; days: number[]; time: Minutes }
  | { kind: "monthly"; day: number; time: Minutes }
  | { kind: "once"; date: string; time: Minutes }
  /**
   * A business event received by `chuda serve`: fires for the event's member at the event's moment, plus `offset`.
   * `time` is unused (the event's own moment counts); it is the policy's default time, for tools that show one.
   */
  | { kind: "business_event"; event: string; offset?: Duration; atMostOncePer?: Duration; time: Minutes }
  /** A calendar event (built-in or chuda.yaml `calendar:`), optionally offset. */
  | { kind: "event"; event: string; offset?: { amount: number; unit: DurationUnit; direction: "before" | "after" }; time: Minutes }
  /**
   * A member date: fires for a member on the day that is `field` (or its yearly return when `anniversary`)
   * shifted by `offset`. 29 February falls on 28 February in non-leap years.
   */
  | {
      kind: "member_date";
      field: string;
      fieldType: "date" | "datetime";
      anniversary: boolean;
      offset?: { amount: number; unit: DurationUnit; direction: "before" | "after" };
      time: Minutes;
    };

export interface ResolvedGoal {
  kind: "redeem" | "visit" | "purchase" | "event";
  /** Coupon code (redeem) or event name (event). */
  code?: string;
  /** purchase >= amount (CNY). */
  minAmount?: number;
  within: Duration;
  /** Conversion assumption as a fraction (0.12), from `expect` or the project's `assumptions`. */
  expect: number;
}

export interface ResolvedCampaign {
  name: string;
  title?: string;
  /** File relative to the project root. */
  file: string;
  span: Span;
  audience: IR;
  trigger: ResolvedTrigger;
  template: string;
  with: Record<string, string | number | boolean>;
  /** Channel names of chuda.yaml, in preference order. */
  channels: string[];
  goal?: ResolvedGoal;
  /** 0..100, default 50. */
  priority: number;
  /** Fraction 0..1 (10% → 0.1), default 0. */
  holdout: number;
  /** Default `per_occurrence`: the member may receive it again at the next occurrence. */
  repeat: { kind: "per_occurrence" } | { kind: "never" } | { kind: "after"; duration: Duration };
  /** Inclusive dates. */
  active?: { from: string; to: string };
  sendWindow?: { start: Minutes; end: Minutes };
  /** `expire after`: how long after its planned time a send may still go out, ms (default: policy.expire_after). */
  expireAfterMs?: number;
  limit?: { count: number; orderBy?: { value: IRValue; direction: "asc" | "desc" } };
  /** CNY per occurrence. */
  budget?: number;
}

export interface CheckResult {
  campaigns: ResolvedCampaign[];
  /** policy.exclude compiled to IR (members matching it never receive anything). */
  exclude?: IR;
  diagnostics: import("../diagnostics/types.js").Diagnostic[];
}
