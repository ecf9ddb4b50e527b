/**
 * Frequency state per member, in typed arrays indexed by the member's row number, so that 17 million
 * members cost a few bytes each. Rolling rules keep the last `count` send times (a send at t counts
 * until t + period, exclusive); calendar rules keep the current period's index and count.
 *
 * Bytes matter beyond memory: every page of a fresh array costs a page fault on first touch, and the walk
 * touches its state arrays all over (on this machine, a fault a page: ~4 ms per MB). So times are whole
 * seconds in 32 bits, not milliseconds in 64.
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
 * "n per 7 days": the last `count` send times per member (a send at t counts until t + period, exclusive), as
 * seconds since 1970 rounded up. That is exact for the moments the planner decides at, which are whole minutes
 * (occurrence times, their deferrals, and earlier planned sends from the ledger): for a whole second x,
 * x >= t exactly when x >= ceil(t). A time with a fraction of a second could only be kept a moment longer,
 * never shorter. Zero-filled (no pass over 17 million members): 0 is a send in 1970, expired long ago.
 */
class RollingRule implements RuleState {
  private readonly times: Uint32Array | Float64Array;
  private readonly count: number;
  /** Milliseconds in a stored unit: 1000 (seconds, 32 bits), or 1 for a wide plan (milliseconds, 64 bits). */
  private readonly unit: number;
  private readonly period: number;
  constructor(
    readonly rule: FrequencyRule,
    size: number,
    private readonly wide: boolean,
  ) {
    this.count = rule.count;
    this.unit = wide ? 1 : 1000;
    this.period = rule.period.kind === "rolling" ? rule.period.ms / this.unit : 0;
    this.times = wide ? new Float64Array(size * Math.max(rule.count, 0)) : new Uint32Array(size * Math.max(rule.count, 0));
  }
  allows(row: number, at: number): boolean {
    const n = this.count;
    if (n <= 0) return false;
    // The oldest of the last `count` sends must have expired.
    const base = row * n;
    let oldest = this.times[base]!;
    for (let i = 1; i < n; i++) if (this.times[base + i]! < oldest) oldest = this.times[base + i]!;
    return !(at < (oldest + this.period) * this.unit);
  }
  record(row: number, at: number): void {
    const n = this.count;
    if (n <= 0) return;
    const base = row * n;
    let slot = base;
    for (let i = 1; i < n; i++) if (this.times[base + i]! < this.times[slot]!) slot = base + i;
    const t = Math.ceil(at / this.unit);
    if (!this.wide && t > 0xffffffff) throw new Error(`internal: a compact frequency state got ${new Date(at).toISOString()} (plan it wide)`);
    this.times[slot] = t;
  }
}

/**
 * "n per member per day/week/month": per member, (period index + 1) × 2^16 + sends in it, in one 32-bit number
 * so that a decision touches one place in memory (0 = no send yet). Day indexes fit until the year 2149.
 */
class CalendarRule implements RuleState {
  private readonly state: Uint32Array | Float64Array;
  private readonly unit: "day" | "week" | "month";
  private readonly count: number;
  // The walk asks about one moment many times in a row.
  private lastAt = NaN;
  private lastBase = 0;
  constructor(
    readonly rule: FrequencyRule,
    size: number,
    private readonly clock: PeriodClock,
    private readonly wide: boolean,
  ) {
    this.unit = rule.period.kind === "rolling" ? "day" : rule.period.unit;
    this.count = Math.min(rule.count, 0xffff);
    this.state = wide ? new Float64Array(size) : new Uint32Array(size);
  }
  /** (period index + 1) × 2^16 for the period holding `at`. */
  private baseOf(at: number): number {
    if (at !== this.lastAt) {
      this.lastAt = at;
      const index = this.clock.index(this.unit, at);
      if (!this.wide && (index < 0 || index >= 0xfffe)) throw new Error(`internal: a compact frequency state got ${new Date(at).toISOString()} (plan it wide)`);
      this.lastBase = (index + 1) * 0x10000;
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

/** `wide`: for a plan reaching past COMPACT_UNTIL, 64-bit state that holds any time. */
export function ruleState(rule: FrequencyRule, size: number, clock: PeriodClock, wide = false): RuleState {
  return rule.period.kind === "rolling" ? new RollingRule(rule, size, wide) : new CalendarRule(rule, size, clock, wide);
}

/** Compact (32-bit) state holds times until 2106 and days until 2149: plans up to here use it. */
export const COMPACT_UNTIL = Date.UTC(2100, 0, 1);

export class RuleSet {
  readonly states: RuleState[];
  private readonly only: RuleState | undefined;
  constructor(rules: FrequencyRule[], size: number, clock: PeriodClock, wide = false) {
    this.states = rules.map((r) => ruleState(r, size, clock, wide));
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

/**
 * The last send per member of one campaign with `repeat` (epoch ms; 0 = never). A campaign that can reach few
 * of the members (a daily lifecycle trigger reaches a few thousand a day) keeps them in a map: a typed array
 * over ten million members would fault in 80 MB of pages to hold a few thousand times.
 */
export class LastSends {
  private readonly dense: Float64Array | undefined;
  private readonly sparse: Map<number, number> | undefined;
  /** `expected`: at most how many members it will hold (sendable candidates plus earlier sends). */
  constructor(size: number, expected: number) {
    if (expected * 16 < size) this.sparse = new Map();
    else this.dense = new Float64Array(size);
  }
  get(row: number): number {
    return this.dense !== undefined ? this.dense[row]! : (this.sparse!.get(row) ?? 0);
  }
  set(row: number, at: number): void {
    if (this.dense !== undefined) this.dense[row] = at;
    else this.sparse!.set(row, at);
  }
}
