/**
 * Every IR node compiled to SQL and run in real DuckDB against test/fixtures/members/audience.csv
 * (six members, A4 has only a key), with today = 2026-06-15 (a Monday) and now = 2026-06-15 10:00.
 * The expected members are worked out by hand from the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import type { IR, IRValue } from "../resolved/types.js";
import type { CompareOp } from "../language/ast.js";
import type { FieldType } from "../project/types.js";
import { openSnapshot, type Snapshot } from "./snapshot.js";
import { bindRuntime, compileAudience, compileValue, NOW, TODAY, type AudienceContext } from "./compile.js";
import { projectOf, schemaOf, TIERS } from "../../test/fixtures/members/project.js";

const TODAY_V = "2026-06-15";
const NOW_V = "2026-06-15 10:00";
const MALL: [number, number] = [116.397, 39.909];

const FIELDS: Record<string, FieldType> = {
  member_id: { kind: "string" },
  name: { kind: "string" },
  tier: { kind: "enum", values: TIERS },
  birthday: { kind: "date" },
  last_purchase_at: { kind: "datetime" },
  points: { kind: "number" },
  tags: { kind: "list" },
  distance_km: { kind: "number" },
  lon: { kind: "number" },
  lat: { kind: "number" },
  sms_opt_in: { kind: "bool" },
  unsubscribed: { kind: "bool" },
};
const schema = schemaOf(FIELDS);
const pointSchema = schemaOf(FIELDS, "member_id", { kind: "point", lon: "lon", lat: "lat" });
let snap: Snapshot;

beforeAll(async () => {
  const r = await openSnapshot(path.resolve(__dirname, "../../test/fixtures/members/audience.csv"), projectOf(schema, { location: MALL }));
  expect(r.diagnostics).toEqual([]);
  snap = r.snapshot!;
});
afterAll(async () => {
  await snap?.close();
});

// IR builders
const f = (name: string): IRValue => ({ v: "field", name, type: FIELDS[name]! });
const lit = (value: string | number | boolean, type: FieldType): IRValue => ({ v: "lit", value, type });
const tier = (name: string) => lit(name, FIELDS.tier!);
const str = (s: string) => lit(s, { kind: "string" });
const num = (n: number) => lit(n, { kind: "number" });
const cmp = (left: IRValue, op: CompareOp, right: IRValue): IR => ({ op: "cmp", cmp: op, left, right });
const not = (arg: IR): IR => ({ op: "not", arg });
const and = (...args: IR[]): IR => ({ op: "and", args });
const or = (...args: IR[]): IR => ({ op: "or", args });
const call = (fn: Extract<IRValue, { v: "call" }>["fn"], arg: IRValue, type: FieldType = { kind: "number" }): IRValue => ({ v: "call", fn, args: [arg], type });
const minus = (left: IRValue, amount: number, unit: "minute" | "hour" | "day" | "week" | "month" | "year", type: FieldType): IRValue => ({
  v: "arith",
  op: "-",
  left,
  right: { v: "duration", duration: { amount, unit } },
  type,
});

async function ids(ir: IR, ctx: AudienceContext = { todayValue: TODAY_V, nowValue: NOW_V }, s = schema): Promise<string[]> {
  const c = compileAudience(ir, s, { mallLocation: MALL, ...ctx });
  const res = await snap.conn.runAndReadAll(`SELECT member_id FROM members WHERE ${c.sql} ORDER BY member_id`, c.params as never);
  return res.getRowsJS().map((r) => String(r[0]));
}

describe("compileAudience: comparisons and the missing-value rule", () => {
  it("orders enums by their declared position", async () => {
    expect(await ids(cmp(f("tier"), ">=", tier("gold")))).toEqual(["A1", "A3", "A6"]);
    expect(await ids(cmp(f("tier"), "<", tier("gold")))).toEqual(["A2", "A5"]);
    expect(await ids(cmp(tier("platinum"), "<=", f("tier")))).toEqual(["A3", "A6"]);
  });

  it("a comparison with a missing value is false, and `not` of it is true", async () => {
    expect(await ids(not(cmp(f("tier"), ">=", tier("gold"))))).toEqual(["A2", "A4", "A5"]);
    expect(await ids(cmp(f("tier"), "!=", tier("silver")))).toEqual(["A1", "A3", "A5", "A6"]);
    expect(await ids(not(cmp(f("tier"), "==", tier("silver"))))).toEqual(["A1", "A3", "A4", "A5", "A6"]);
    expect(await ids(not(cmp(f("points"), ">", num(99))))).toEqual(["A2", "A4", "A5"]);
  });

  it("compares numbers and strings", async () => {
    expect(await ids(cmp(f("points"), ">", num(99)))).toEqual(["A1", "A3", "A6"]);
    expect(await ids(cmp(f("name"), "==", str("李娜")))).toEqual(["A2"]);
  });

  it("in / not in, with missing values false both ways", async () => {
    expect(await ids({ op: "in", negated: false, value: f("tier"), list: [tier("gold"), tier("diamond")] })).toEqual(["A1", "A3"]);
    expect(await ids({ op: "in", negated: true, value: f("tier"), list: [tier("gold"), tier("diamond")] })).toEqual(["A2", "A5", "A6"]);
    expect(await ids(not({ op: "in", negated: false, value: f("tier"), list: [tier("gold"), tier("diamond")] }))).toEqual(["A2", "A4", "A5", "A6"]);
  });

  it("between is inclusive", async () => {
    expect(await ids({ op: "between", value: f("points"), low: num(50), high: num(300) })).toEqual(["A1", "A2", "A6"]);
    expect(await ids(not({ op: "between", value: f("points"), low: num(50), high: num(300) }))).toEqual(["A3", "A4", "A5"]);
  });

  it("has one / any / all on lists", async () => {
    expect(await ids({ op: "has", mode: "one", list: f("tags"), values: [str("亲子")] })).toEqual(["A1", "A3"]);
    expect(await ids({ op: "has", mode: "any", list: f("tags"), values: [str("运动"), str("餐饮")] })).toEqual(["A3", "A5", "A6"]);
    expect(await ids({ op: "has", mode: "all", list: f("tags"), values: [str("美妆"), str("餐饮")] })).toEqual(["A6"]);
    expect(await ids(not({ op: "has", mode: "one", list: f("tags"), values: [str("美妆")] }))).toEqual(["A3", "A4", "A5"]);
  });

  it("is set / is not set", async () => {
    expect(await ids({ op: "is_set", negated: false, value: f("birthday") })).toEqual(["A1", "A2", "A3", "A5", "A6"]);
    expect(await ids({ op: "is_set", negated: true, value: f("birthday") })).toEqual(["A4"]);
    expect(await ids({ op: "is_set", negated: true, value: f("tags") })).toEqual(["A4"]);
    expect(await ids({ op: "is_set", negated: true, value: f("sms_opt_in") })).toEqual(["A4", "A6"]);
  });

  it("truthy treats missing as false; `not` of it is true", async () => {
    expect(await ids({ op: "truthy", value: f("sms_opt_in") })).toEqual(["A1", "A2", "A5"]);
    expect(await ids(not({ op: "truthy", value: f("unsubscribed") }))).toEqual(["A1", "A3", "A4", "A5", "A6"]);
    expect(await ids({ op: "truthy", value: lit(true, { kind: "bool" }) })).toEqual(["A1", "A2", "A3", "A4", "A5", "A6"]);
  });

  it("const, and, or (including empty and/or)", async () => {
    expect(await ids({ op: "const", value: false })).toEqual([]);
    expect(await ids({ op: "const", value: true })).toHaveLength(6);
    expect(await ids(and(cmp(f("tier"), ">=", tier("gold")), { op: "truthy", value: f("sms_opt_in") }))).toEqual(["A1"]);
    expect(await ids(or(cmp(f("tier"), "==", tier("normal")), cmp(f("points"), ">=", num(1000))))).toEqual(["A3", "A5"]);
    expect(await ids(and())).toHaveLength(6);
    expect(await ids(or())).toEqual([]);
  });
});

describe("compileAudience: geography", () => {
  it("within N km by the distance field", async () => {
    expect(await ids({ op: "within", km: 5 })).toEqual(["A1", "A2", "A5", "A6"]);
    expect(await ids(not({ op: "within", km: 5 }))).toEqual(["A3", "A4"]);
  });

  it("within N km by haversine from the member's point to mall.location", async () => {
    // A1 at the mall, A2 ~4.6 km north, A6 ~0.6 km, A3 ~13 km, A5 in Shanghai, A4 no point.
    expect(await ids({ op: "within", km: 5 }, { todayValue: TODAY_V, nowValue: NOW_V }, pointSchema)).toEqual(["A1", "A2", "A6"]);
    expect(await ids({ op: "within", km: 4 }, { todayValue: TODAY_V, nowValue: NOW_V }, pointSchema)).toEqual(["A1", "A6"]);
    expect(await ids({ op: "within", km: 1100 }, { todayValue: TODAY_V, nowValue: NOW_V }, pointSchema)).toEqual(["A1", "A2", "A3", "A5", "A6"]);
  });
});

describe("compileAudience: dates, durations and functions (today = 2026-06-15)", () => {
  const today: IRValue = { v: "today" };
  const now: IRValue = { v: "now" };
  const date: FieldType = { kind: "date" };
  const datetime: FieldType = { kind: "datetime" };

  it("date - duration, comparing a date-time with a date by its day", async () => {
    // today - 180 days = 2025-12-17
    expect(await ids(cmp(f("last_purchase_at"), "<", minus(today, 180, "day", date)))).toEqual(["A2", "A5"]);
    // today - 1 month = 2026-05-15
    expect(await ids(cmp(f("last_purchase_at"), ">=", minus(today, 1, "month", date)))).toEqual(["A1", "A3", "A6"]);
    // today - 2 weeks = 2026-06-01 (A1 bought that day)
    expect(await ids(cmp(f("last_purchase_at"), "==", minus(today, 2, "week", date)))).toEqual(["A1"]);
    expect(await ids(cmp(f("last_purchase_at"), "==", today))).toEqual(["A3"]);
    // birthday + 36 years == today
    expect(
      await ids(cmp({ v: "arith", op: "+", left: f("birthday"), right: { v: "duration", duration: { amount: 36, unit: "year" } }, type: date }, "==", today)),
    ).toEqual(["A1"]);
  });

  it("now - hours compares moments", async () => {
    expect(await ids(cmp(f("last_purchase_at"), ">", minus(now, 2, "hour", datetime)))).toEqual(["A3"]);
    expect(await ids(cmp(f("last_purchase_at"), ">", minus(now, 30, "minute", datetime)))).toEqual([]);
    expect(await ids(cmp(f("last_purchase_at"), ">=", lit("2026-06-14 23:59", datetime)))).toEqual(["A3", "A6"]);
    expect(await ids(cmp(f("birthday"), "<", lit("1990-01-01", date)))).toEqual(["A5"]);
  });

  it("days_since, days_until, years_since", async () => {
    expect(await ids(cmp(call("days_since", f("last_purchase_at")), ">=", num(180)))).toEqual(["A2", "A5"]);
    expect(await ids(cmp(call("days_since", f("last_purchase_at")), "==", num(1)))).toEqual(["A6"]);
    expect(await ids(cmp(call("days_since", f("last_purchase_at")), "==", num(0)))).toEqual(["A3"]);
    expect(await ids(cmp(call("days_until", lit("2026-06-20", date)), "==", num(5)))).toHaveLength(6);
    expect(await ids(cmp(call("days_until", f("birthday")), "<", num(0)))).toEqual(["A1", "A2", "A3", "A5", "A6"]);
    // Born 1990-06-15: 36 today; born 1990-06-16: still 35.
    expect(await ids(cmp(call("years_since", f("birthday")), "==", num(36)))).toEqual(["A1"]);
    expect(await ids(cmp(call("years_since", f("birthday")), "==", num(35)))).toEqual(["A2"]);
    expect(await ids(cmp(call("years_since", f("birthday")), ">=", num(30)))).toEqual(["A1", "A2", "A5", "A6"]);
  });

  it("month, day, weekday (ISO), len, lower", async () => {
    expect(await ids(cmp(call("month", f("birthday")), "==", num(6)))).toEqual(["A1", "A2"]);
    expect(await ids(cmp(call("day", f("birthday")), "==", num(29)))).toEqual(["A3"]);
    expect(await ids(cmp(call("weekday", f("last_purchase_at")), "==", num(7)))).toEqual(["A6"]);
    expect(await ids(cmp(call("weekday", today), "==", num(1)))).toHaveLength(6);
    expect(await ids(cmp(call("len", f("tags")), ">=", num(2)))).toEqual(["A1", "A3", "A6"]);
    expect(await ids(cmp(call("lower", f("name"), { kind: "string" }), "==", str("abc")))).toEqual(["A5"]);
  });

  it("number arithmetic", async () => {
    expect(await ids(cmp({ v: "arith", op: "+", left: f("points"), right: num(50), type: { kind: "number" } }, ">", num(1000)))).toEqual(["A3"]);
  });

  it("today/now as SQL expressions of an occurrence join (as the planner uses them)", async () => {
    const ir = cmp(call("days_since", f("last_purchase_at")), "<=", num(14));
    const c = compileAudience(ir, schema, { today: "o.day", now: "o.now", alias: "m" });
    expect(c.params).toEqual([14]);
    const res = await snap.conn.runAndReadAll(
      `SELECT o.day::VARCHAR, m.member_id FROM members m, (VALUES (DATE '2026-06-15', TIMESTAMP '2026-06-15 10:00'), (DATE '2026-06-01', TIMESTAMP '2026-06-01 10:00')) o(day, now)
       WHERE ${c.sql} ORDER BY 1, 2`,
      c.params as never,
    );
    // On 2026-06-01, A3 and A6 bought in the future of that day: days_since is negative, so <= 14 holds.
    expect(res.getRowsJS()).toEqual([
      ["2026-06-01", "A1"],
      ["2026-06-01", "A3"],
      ["2026-06-01", "A6"],
      ["2026-06-15", "A1"],
      ["2026-06-15", "A3"],
      ["2026-06-15", "A6"],
    ]);
  });

  it("without a today/now, leaves TODAY/NOW markers that bindRuntime fills per use", async () => {
    const ir = and(cmp(call("years_since", f("birthday")), ">=", num(30)), cmp(f("last_purchase_at"), ">", minus(now, 1, "day", datetime)));
    const c = compileAudience(ir, schema);
    expect(c.params.filter((p) => p === TODAY).length).toBe(4);
    expect(c.params.filter((p) => p === NOW).length).toBe(1);
    expect(c.sql.split("?").length - 1).toBe(c.params.length);
    const res = await snap.conn.runAndReadAll(`SELECT member_id FROM members WHERE ${c.sql} ORDER BY 1`, bindRuntime(c.params, TODAY_V, NOW_V) as never);
    expect(res.getRowsJS().map((r) => r[0])).toEqual(["A6"]);
  });
});

describe("compileAudience: parameters", () => {
  it("never pastes a literal into the SQL text", () => {
    const ir = and(
      cmp(f("name"), "==", str("O'Brien; DROP TABLE members; --")),
      { op: "has", mode: "any", list: f("tags"), values: [str("亲子"), str("美妆")] },
      cmp(f("tier"), ">=", tier("platinum")),
      cmp(f("points"), ">", num(12345.678)),
      { op: "in", negated: false, value: f("name"), list: [str("张三丰")] },
      cmp(f("birthday"), "<", lit("1999-09-09", { kind: "date" })),
      cmp(f("last_purchase_at"), "<", minus({ v: "today" }, 987, "day", { kind: "date" })),
      { op: "within", km: 42.5 },
    );
    const c = compileAudience(ir, schema, { todayValue: TODAY_V, nowValue: NOW_V });
    for (const value of ["O'Brien", "DROP", "亲子", "美妆", "platinum", "gold", "12345", "张三丰", "1999-09-09", "987", "42.5", TODAY_V]) {
      expect(c.sql).not.toContain(value);
    }
    expect(c.params).toEqual(
      expect.arrayContaining(["O'Brien; DROP TABLE members; --", "亲子", "美妆", "platinum", 12345.678, "张三丰", "1999-09-09", 987, 42.5, TODAY_V]),
    );
    expect(c.sql.split("?").length - 1).toBe(c.params.length);
  });

  it("binds a hostile string safely", async () => {
    expect(await ids(cmp(f("name"), "==", str("'; DROP TABLE members; --")))).toEqual([]);
    expect(await ids({ op: "const", value: true })).toHaveLength(6);
  });

  it("compileValue gives an order-by expression with its params", async () => {
    const v = compileValue(call("days_since", f("last_purchase_at")), schema, { todayValue: TODAY_V, alias: "m" });
    const res = await snap.conn.runAndReadAll(`SELECT m.member_id FROM members m ORDER BY ${v.sql} ASC NULLS LAST, m.member_id`, v.params as never);
    expect(res.getRowsJS().map((r) => r[0])).toEqual(["A3", "A6", "A1", "A2", "A5", "A4"]);
  });
});

describe("lists stored as `a;b` text", () => {
  it("`has` (one, any, all), `len` and `is set` agree with list semantics for any items and any tested value", async () => {
    const fc = (await import("fast-check")).default;
    // Items that are prefixes, suffixes and infixes of one another, with inner spaces and Chinese text.
    const ITEMS = ["a", "ab", "ba", "b a", "亲子", "亲", "子", "a b"];
    const TESTED = [...ITEMS, "", ";", "a;b", "ab;", " a", "a ", "b"];
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.option(fc.uniqueArray(fc.constantFrom(...ITEMS), { maxLength: 4 }), { nil: null }), { minLength: 1, maxLength: 6 }),
          fc.constantFrom<"one" | "any" | "all">("one", "any", "all"),
          fc.uniqueArray(fc.constantFrom(...TESTED), { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          async (lists, mode, tested, asField) => {
            const values = mode === "one" ? tested.slice(0, 1) : tested;
            await conn.run(`CREATE OR REPLACE TABLE members (member_id VARCHAR, tags VARCHAR, probe VARCHAR)`);
            const sqlText = (s: string) => `'${s.replaceAll("'", "''")}'`;
            await conn.run(
              `INSERT INTO members VALUES ${lists.map((l, i) => `('M${i}', ${l === null ? "NULL" : sqlText(l.join(";"))}, ${sqlText(values[0]!)})`).join(", ")}`,
            );
            const probe: IRValue = { v: "field", name: "probe", type: { kind: "string" } };
            // A single tested value may come from a field (not a literal): the guard for `;` and '' is then in SQL.
            const items = asField && values.length === 1 ? [probe] : values.map(str);
            const s = schemaOf({ ...FIELDS, probe: { kind: "string" } });
            const run = async (ir: IR) => {
              const c = compileAudience(ir, s, { mallLocation: MALL, todayValue: TODAY_V, nowValue: NOW_V });
              return (await conn.runAndReadAll(`SELECT member_id FROM members WHERE ${c.sql} ORDER BY member_id`, c.params as never))
                .getRowsJS()
                .map((r) => String(r[0]));
            };
            const want = (pred: (l: string[]) => boolean) => lists.flatMap((l, i) => (l !== null && pred(l) ? [`M${i}`] : [])).sort();
            const has = (l: string[], v: string) => l.includes(v);
            expect(await run({ op: "has", mode, list: f("tags"), values: items })).toEqual(
              want((l) => (mode === "all" ? values.every((v) => has(l, v)) : values.some((v) => has(l, v)))),
            );
            expect(await run({ op: "is_set", negated: false, value: f("tags") })).toEqual(want((l) => l.length > 0));
            expect(await run(cmp(call("len", f("tags")), "==", num(lists.find((l) => l)?.length ?? 0)))).toEqual(
              want((l) => l.length === (lists.find((x) => x)?.length ?? 0)),
            );
          },
        ),
        // The tested value from a field that is '' or holds `;` (rare at random): in no list, not even the empty one.
        {
          numRuns: 150,
          seed: 1130,
          examples: [
            [[["a", "b"], []], "one", ["a;b"], true],
            [[[], ["a"]], "one", [""], true],
            [[["a", "b"]], "all", ["a;b", "a"], false],
          ],
        },
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
