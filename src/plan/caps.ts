/**
 * Frequency state per member, in typed arrays indexed by the member's row number, so that 17 million
 * members cost a few bytes each. Rolling rules keep the last `count` send times (a send at t counts
 * until t + period, exclusive); calendar rules keep the current period's index and count.
 */
import type { FrequencyRule } from "../project/types.js";
import { epochToZoned } from "../calendar/time.js";

const DAY_MS = 86_400_000;

export interface PeriodClock {
  /** Index of the calendar period holding `at` in the project timezone. */
  index(unit: "day" | "week" | "month", at: number): number;
}

export function periodClock(tz: string): PeriodClock {
  const cache = new Map<number, { day: number; week: number; month: number }>();
  return {
    index(unit, at) {
      let e = cache.get(at);
      if (!e) {
        const { date } = epochToZoned(at, tz);
        const [y, m, d] = date.split("-").map(Number) as [number, number, number];
        const day = Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
        // 1970-01-01 was a Thursday; +3 makes Monday the first day of a week.
        e = { day, week: Math.floor((day + 3) / 7), month: y * 12 + (m - 1) };
        cache.set(at, e);
      }
      return e[unit];
    },
  };
}

/** One rule over all members. */
export interface RuleState {
  readonly rule: FrequencyRule;
  /** Would one more send at `at` stay within the rule? */
  allows(row: number, at: number): boolean;
  record(row: number, at: number): void;
}

/**
 * "n per 7 days": the last `count` send times per member (a send at t counts until t + period, exclusive).
 * Zero-filled (no pass over 17 million members): a time of 0 is a send in 1970, expired long ago.
 */
class RollingRule implements RuleState {
  private readonly times: Float64Array;
  private readonly count: number;
  private readonly ms: number;
  constructor(
    readonly rule: FrequencyRule,
    size: number,
  ) {
    this.count = rule.count;
    this.ms = rule.period.kind === "rolling" ? rule.period.ms : 0;
    this.times = new Float64Array(size * Math.max(rule.count, 0));
  }
  allows(row: number, at: number): boolean {
    const n = this.count;
    if (n <= 0) return false;
    // The oldest of the last `count` sends must have expired.
    const base = row * n;
    let oldest = this.times[base]!;
    for (let i = 1; i < n; i++) if (this.times[base + i]! < oldest) oldest = this.times[base + i]!;
    return !(at < oldest + this.ms);
  }
  record(row: number, at: number): void {
    const n = this.count;
    if (n <= 0) return;
    const base = row * n;
    let slot = base;
    for (let i = 1; i < n; i++) if (this.times[base + i]! < this.times[slot]!) slot = base + i;
    this.times[slot] = at;
  }
}

/**
 * "n per member per day/week/month": per member, (period index + 1) × 2^16 + sends in it, in one number so
 * that a decision touches one place in memory (0 = no send yet).
 */
class CalendarRule implements RuleState {
  private readonly state: Float64Array;
  private readonly unit: "day" | "week" | "month";
  private readonly count: number;
  // The walk asks about one moment many times in a row.
  private lastAt = NaN;
  private lastBase = 0;
  constructor(
    readonly rule: FrequencyRule,
    size: number,
    private readonly clock: PeriodClock,
  ) {
    this.unit = rule.period.kind === "rolling" ? "day" : rule.period.unit;
    this.count = Math.min(rule.count, 0xffff);
    this.state = new Float64Array(size);
  }
  /** (period index + 1) × 2^16 for the period holding `at`. */
  private baseOf(at: number): number {
    if (at !== this.lastAt) {
      this.lastAt = at;
      this.lastBase = (this.clock.index(this.unit, at) + 1) * 0x10000;
    }
    return this.lastBase;
  }
  allows(row: number, at: number): boolean {
    if (this.count <= 0) return false;
    const d = this.state[row]! - this.baseOf(at);
    // Another period (d outside [0, 2^16)) has no sends in this one.
    return d < 0 || d >= 0x10000 || d < this.count;
  }
  record(row: number, at: number): void {
    if (this.count <= 0) return;
    const base = this.baseOf(at);
    const d = this.state[row]! - base;
    if (d < 0 || d >= 0x10000) this.state[row] = base + 1;
    else if (d < 0xffff) this.state[row] = base + d + 1;
  }
}

export function ruleState(rule: FrequencyRule, size: number, clock: PeriodClock): RuleState {
  return rule.period.kind === "rolling" ? new RollingRule(rule, size) : new CalendarRule(rule, size, clock);
}

export class RuleSet {
  readonly states: RuleState[];
  private readonly only: RuleState | undefined;
  constructor(rules: FrequencyRule[], size: number, clock: PeriodClock) {
    this.states = rules.map((r) => ruleState(r, size, clock));
    this.only = this.states.length === 1 ? this.states[0] : undefined;
  }
  allows(row: number, at: number): boolean {
    if (this.only) return this.only.allows(row, at);
    for (let i = 0; i < this.states.length; i++) if (!this.states[i]!.allows(row, at)) return false;
    return true;
  }
  record(row: number, at: number): void {
    if (this.only) return this.only.record(row, at);
    for (let i = 0; i < this.states.length; i++) this.states[i]!.record(row, at);
  }
}
