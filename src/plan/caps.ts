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
  // The walk asks about one moment many times in a row.
  let lastAt = NaN;
  let last = { day: 0, week: 0, month: 0 };
  return {
    index(unit, at) {
      if (at === lastAt) return last[unit];
      let e = cache.get(at);
      if (!e) {
        const { date } = epochToZoned(at, tz);
        const [y, m, d] = date.split("-").map(Number) as [number, number, number];
        const day = Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
        // 1970-01-01 was a Thursday; +3 makes Monday the first day of a week.
        e = { day, week: Math.floor((day + 3) / 7), month: y * 12 + (m - 1) };
        cache.set(at, e);
      }
      lastAt = at;
      last = e;
      return e[unit];
    },
  };
}

/** One rule over all members. */
export class RuleState {
  private readonly times?: Float64Array;
  private readonly period?: Int32Array;
  private readonly counts?: Uint16Array;

  constructor(
    readonly rule: FrequencyRule,
    size: number,
    private readonly clock: PeriodClock,
  ) {
    if (rule.period.kind === "rolling") {
      // Zero-filled (no pass over 17 million members): a time of 0 is a send in 1970, expired long ago.
      this.times = new Float64Array(size * rule.count);
    } else {
      // The period index + 1; 0 means no send yet.
      this.period = new Int32Array(size);
      this.counts = new Uint16Array(size);
    }
  }

  /** Would one more send at `at` stay within the rule? */
  allows(row: number, at: number): boolean {
    const r = this.rule;
    if (r.count <= 0) return false;
    if (r.period.kind === "rolling") {
      // The oldest of the last `count` sends (slot at the ring head) must have expired.
      const base = row * r.count;
      let oldest = Infinity;
      for (let i = 0; i < r.count; i++) oldest = Math.min(oldest, this.times![base + i]!);
      return !(at < oldest + r.period.ms);
    }
    const p = this.clock.index(r.period.unit, at) + 1;
    return this.period![row] !== p || this.counts![row]! < r.count;
  }

  record(row: number, at: number): void {
    const r = this.rule;
    if (r.count <= 0) return;
    if (r.period.kind === "rolling") {
      const base = row * r.count;
      let slot = base;
      for (let i = 1; i < r.count; i++) if (this.times![base + i]! < this.times![slot]!) slot = base + i;
      this.times![slot] = at;
      return;
    }
    const p = this.clock.index(r.period.unit, at) + 1;
    if (this.period![row] !== p) {
      this.period![row] = p;
      this.counts![row] = 0;
    }
    this.counts![row]!++;
  }
}

export class RuleSet {
  readonly states: RuleState[];
  constructor(rules: FrequencyRule[], size: number, clock: PeriodClock) {
    this.states = rules.map((r) => new RuleState(r, size, clock));
  }
  allows(row: number, at: number): boolean {
    for (const s of this.states) if (!s.allows(row, at)) return false;
    return true;
  }
  record(row: number, at: number): void {
    for (const s of this.states) s.record(row, at);
  }
}
