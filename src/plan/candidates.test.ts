/**
 * The date window of member-date triggers: a constant range on the member's date that DuckDB filters in its
 * scan. It must never leave out a member whose date fires on one of the days (month ends, years, hour
 * offsets that carry into another day), and it must leave out most of the others.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { ResolvedCampaign } from "../resolved/types.js";
import { anniversaryYears, memberDateJoin } from "./candidates.js";

type MemberDate = Extract<ResolvedCampaign["trigger"], { kind: "member_date" }>;

let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  // Every day of 2023-2030 (leap years among them) as a date and as date-times early and late in the day.
  await conn.run(`CREATE TABLE m AS SELECT CAST(d AS DATE) AS d, CAST(d AS TIMESTAMP) + INTERVAL 5 MINUTE AS early, CAST(d AS TIMESTAMP) + INTERVAL 1430 MINUTE AS late
    FROM range(TIMESTAMP '2023-01-01', TIMESTAMP '2031-01-01', INTERVAL 1 DAY) t(d)`);
});
afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

const OFFSETS: MemberDate["offset"][] = [
  undefined,
  { amount: 3, unit: "day", direction: "after" },
  { amount: 2, unit: "week", direction: "before" },
  { amount: 36, unit: "hour", direction: "after" },
  { amount: 90, unit: "minute", direction: "before" },
  { amount: 1, unit: "month", direction: "after" },
  { amount: 13, unit: "month", direction: "before" },
  { amount: 1, unit: "year", direction: "after" },
];

// Around month ends, a leap day and a new year.
const RANGES: [string, string][] = [
  ["2026-02-26", "2026-03-03"],
  ["2025-12-29", "2026-01-02"],
  ["2028-02-28", "2028-03-01"],
  ["2026-06-15", "2026-06-15"],
];

describe("member-date window", () => {
  for (const offset of OFFSETS) {
    for (const field of ["d", "early", "late"] as const) {
      it(`keeps every member who fires: ${offset ? `${offset.amount} ${offset.unit} ${offset.direction}` : "on the day"} ${field}`, async () => {
        for (const [from, to] of RANGES) {
          for (const time of [0, 23 * 60 + 30]) {
            const t: MemberDate = {
              kind: "member_date",
              field,
              fieldType: field === "d" ? "date" : "datetime",
              anniversary: false,
              time,
              ...(offset ? { offset } : {}),
            };
            const j = memberDateJoin(t, [2020, 2030], [from, to]);
            const days = `(SELECT CAST(x AS DATE) AS day FROM range(DATE '${from}', DATE '${to}' + 1, INTERVAL 1 DAY) r(x)) o`;
            const fired = await conn.runAndReadAll(`SELECT count(*) FROM m JOIN ${days} ON ${j.on}`);
            const lost = await conn.runAndReadAll(`SELECT count(*) FROM m JOIN ${days} ON ${j.on} WHERE NOT (${j.where})`);
            const kept = await conn.runAndReadAll(`SELECT count(*) FROM m WHERE ${j.where}`);
            expect(Number(fired.getRows()[0]![0])).toBeGreaterThan(0);
            expect(Number(lost.getRows()[0]![0])).toBe(0);
            // The window is a few days wider than the range, not the whole table.
            expect(Number(kept.getRows()[0]![0])).toBeLessThan(40);
          }
        }
      });
    }
  }
});

describe("anniversary years", () => {
  // Every offset, even one longer than a year (13 months before: two years on), finds the anniversaries that
  // fire in the range among the years the join is given.
  for (const offset of OFFSETS) {
    it(`cover the returns that fire: ${offset ? `${offset.amount} ${offset.unit} ${offset.direction}` : "on the day"}`, async () => {
      for (const [from, to] of [...RANGES, ["2026-12-01", "2026-12-30"] as [string, string]]) {
        const t: MemberDate = { kind: "member_date", field: "d", fieldType: "date", anniversary: true, time: 600, ...(offset ? { offset } : {}) };
        const j = memberDateJoin(t, anniversaryYears(t, Number(from.slice(0, 4)), Number(to.slice(0, 4))), [from, to]);
        const wide = memberDateJoin(t, [2000, 2040], [from, to]);
        const days = `(SELECT CAST(x AS DATE) AS day FROM range(DATE '${from}', DATE '${to}' + 1, INTERVAL 1 DAY) r(x)) o`;
        const count = async (jj: typeof j) =>
          Number((await conn.runAndReadAll(`SELECT count(*) FROM m${jj.yearsFrom} JOIN ${days} ON ${jj.on} WHERE ${jj.where}`)).getRows()[0]![0]);
        const fired = await count(wide);
        expect(fired).toBeGreaterThan(0);
        expect(await count(j)).toBe(fired);
      }
    });
  }
});
