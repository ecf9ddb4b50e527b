/**
 * Per-member frequency state against plain models: the rules keep times as 32-bit seconds and period counts,
 * the last sends of a campaign either in a typed array or in a map; each must answer exactly as a model that
 * keeps every send time in milliseconds.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LastSends, periodClock, RuleSet } from "./caps.js";
import { parseFrequencyRule } from "../project/duration.js";
import { epochToZoned } from "../calendar/time.js";

const TZ = "Asia/Shanghai";
const MINUTE = 60_000;
const START = Date.parse("2026-11-20T00:00:00+08:00");

/** Every send kept; a rule allows a send when fewer than `count` earlier sends fall in its window. */
function model(text: string) {
  const rule = parseFrequencyRule(text)!;
  const sends = new Map<number, number[]>();
  const periodOf = (at: number) => {
    const z = epochToZoned(at, TZ);
    if (rule.period.kind === "rolling") return 0;
    const [y, m, d] = z.date.split("-").map(Number) as [number, number, number];
    const day = Math.floor(Date.UTC(y, m - 1, d) / 86_400_000);
    return rule.period.unit === "day" ? day : rule.period.unit === "week" ? Math.floor((day + 3) / 7) : y * 12 + m;
  };
  return {
    allows(row: number, at: number) {
      const ts = sends.get(row) ?? [];
      const p = rule.period;
      const counted = p.kind === "rolling" ? ts.filter((t) => t <= at && at < t + p.ms) : ts.filter((t) => periodOf(t) === periodOf(at));
      return counted.length < rule.count;
    },
    record(row: number, at: number) {
      sends.set(row, [...(sends.get(row) ?? []), at]);
    },
  };
}

describe("frequency state", () => {
  const rules = [
    "2 per member per 7 days",
    "1 per member per day",
    "3 per member per 2 hours",
    "1 per member per week",
    "2 per member per month",
    "1 per member per 36 hours",
  ];
  it("answers as a model that keeps every send in milliseconds, for sends at whole minutes in time order", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...rules),
        // Steps forward in time (minutes) and the member each decision is about.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 * 24 * 60 }), fc.nat(4)), { minLength: 1, maxLength: 60 }),
        // A wide plan (64-bit state) in 2150, past what the compact state holds (2106 for times, 2149 for days).
        fc.boolean(),
        (text, steps, wide) => {
          const set = new RuleSet([parseFrequencyRule(text)!], 5, periodClock(TZ), wide);
          const m = model(text);
          let at = wide ? Date.parse("2150-11-20T00:00:00+08:00") : START;
          for (const [step, row] of steps) {
            at += step * MINUTE;
            const allowed = m.allows(row, at);
            expect(set.allows(row, at)).toBe(allowed);
            if (allowed) {
              set.record(row, at);
              m.record(row, at);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("holds a send at t until t + period, exclusive, to the minute", () => {
    const set = new RuleSet([parseFrequencyRule("1 per member per 7 days")!], 1, periodClock(TZ));
    set.record(0, START);
    expect(set.allows(0, START + 7 * 86_400_000 - MINUTE)).toBe(false);
    expect(set.allows(0, START + 7 * 86_400_000)).toBe(true);
  });

  it("keeps a campaign's last sends alike in a map and in an array", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(999), fc.integer({ min: 1, max: 2 ** 41 })), { maxLength: 80 }),
        fc.array(fc.nat(999), { maxLength: 40 }),
        (writes, reads) => {
          const sparse = new LastSends(1000, 1);
          const dense = new LastSends(1000, 1000);
          const plain = new Map<number, number>();
          for (const [row, at] of writes) {
            sparse.set(row, at);
            dense.set(row, at);
            plain.set(row, at);
          }
          for (const row of [...reads, ...writes.map(([r]) => r)]) {
            expect(sparse.get(row)).toBe(plain.get(row) ?? 0);
            expect(dense.get(row)).toBe(plain.get(row) ?? 0);
          }
        },
      ),
    );
  });
});
