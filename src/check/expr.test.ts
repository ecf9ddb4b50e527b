import { describe, expect, it } from "vitest";
import type { Expr } from "../language/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { checkCondition, type ExprEnv } from "./expr.js";
import { campaign, check, summary, testProject } from "./test-support.js";

/** The audience's diagnostics (line 2, the expression starts at column 12). */
function audience(expr: string, project = testProject()) {
  const r = check(campaign({ audience: expr }), project);
  return { r, errors: r.diagnostics.filter((d) => d.severity === "error").map(summary) };
}
function ir(expr: string) {
  const { r, errors } = audience(expr);
  expect(errors).toEqual([]);
  return r.campaigns[0]!.audience;
}

describe("names", () => {
  it("resolves a bare identifier to a field, then an enum value of the other side", () => {
    expect(ir("tier >= gold")).toEqual({
      op: "cmp",
      cmp: ">=",
      left: { v: "field", name: "tier", type: { kind: "enum", values: ["normal", "silver", "gold", "platinum", "diamond"] } },
      right: { v: "lit", value: "gold", type: { kind: "enum", values: ["normal", "silver", "gold", "platinum", "diamond"] } },
    });
    expect(ir("gold <= tier")).toMatchObject({ op: "cmp", left: { v: "lit", value: "gold" }, right: { v: "field", name: "tier" } });
  });
  it("accepts a string literal naming an enum value", () => {
    expect(ir('gender == "F"')).toMatchObject({ right: { v: "lit", value: "F", type: { kind: "enum" } } });
  });
  it("reports an unknown field with a suggestion", () => {
    const { r, errors } = audience("teir >= gold");
    expect(errors).toEqual(["CH3010 2:12 unknown name `teir`: not a member field or a segment"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `tier`?");
    expect(r.diagnostics[0]!.span.end.column).toBe(16);
    expect(r.campaigns).toEqual([]);
  });
  it("reports an unknown enum value with a suggestion", () => {
    const { r, errors } = audience("tier >= glod");
    expect(errors).toEqual(["CH3011 2:20 `glod` is not a value of `tier`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `gold`?");
  });
  it("lists the enum values when nothing is close", () => {
    const { r } = audience("tier in [silver, bronze]");
    expect(r.diagnostics.map(summary)).toContain("CH3011 2:29 `bronze` is not a value of `tier`");
    expect(r.diagnostics[0]!.help).toBe("values of `tier`: normal, silver, gold, platinum, diamond");
  });
  it("hints at the field of an enum value used alone", () => {
    const { r, errors } = audience("gold");
    expect(errors).toEqual(["CH3010 2:12 unknown name `gold`: not a member field or a segment"]);
    expect(r.diagnostics[0]!.help).toBe("`gold` is a value of `tier`: compare it, e.g. `tier == gold`");
  });
  it("reports both sides when neither is known", () => {
    expect(audience("foo == bar").errors).toEqual([
      "CH3010 2:12 unknown name `foo`: not a member field or a segment",
      "CH3010 2:19 unknown name `bar`: not a member field or a segment",
    ]);
  });
});

describe("types", () => {
  it("rejects number vs string", () => {
    expect(audience('points > "100"').errors).toEqual(['CH3012 2:12 cannot compare `points` (number) with `"100"` (string)']);
  });
  it("rejects datetime vs number", () => {
    expect(audience("last_purchase_at > 180").errors).toEqual(["CH3012 2:12 cannot compare `last_purchase_at` (datetime) with `180` (number)"]);
  });
  it("allows date vs datetime (compared as dates) and date ± duration", () => {
    expect(ir("last_purchase_at < today - 180 days")).toEqual({
      op: "cmp",
      cmp: "<",
      left: { v: "field", name: "last_purchase_at", type: { kind: "datetime" } },
      right: { v: "arith", op: "-", left: { v: "today" }, right: { v: "duration", duration: { amount: 180, unit: "day" } }, type: { kind: "date" } },
    });
    expect(ir("registered_at >= 2025-01-01")).toMatchObject({ right: { v: "lit", value: "2025-01-01", type: { kind: "date" } } });
    expect(ir("registered_at < now - 2 hours")).toMatchObject({ right: { v: "arith", type: { kind: "datetime" }, left: { v: "now" } } });
  });
  it("lets a phone compare with strings, but not order them", () => {
    expect(ir('mobile == "13800000000"')).toMatchObject({ op: "cmp", left: { type: { kind: "phone" } } });
    expect(audience('mobile > "138"').errors).toEqual(["CH3013 2:12 `>` does not apply to `mobile` (phone)"]);
  });
  it("rejects arithmetic other than number ± number and date ± duration", () => {
    expect(audience("birthday + 3 > today").errors).toEqual([
      "CH3019 2:12 `+` needs two numbers or a date and a duration, found `birthday` (date) and `3` (number)",
    ]);
    expect(ir("points + 10 > spend_12m")).toMatchObject({ left: { v: "arith", type: { kind: "number" } } });
  });
  it("requires a condition", () => {
    expect(audience("points").errors).toEqual(["CH3014 2:12 expected a condition, found `points` (number)"]);
    expect(audience("points > 1 and spend_12m").errors).toEqual(["CH3014 2:27 expected a condition, found `spend_12m` (number)"]);
    expect(ir("not unsubscribed and oa_subscribed")).toEqual({
      op: "and",
      args: [
        { op: "not", arg: { op: "truthy", value: { v: "field", name: "unsubscribed", type: { kind: "bool" } } } },
        { op: "truthy", value: { v: "field", name: "oa_subscribed", type: { kind: "bool" } } },
      ],
    });
  });
  it("flattens chains of and / or", () => {
    const x = ir("points > 1 and points < 9 and sms_opt_in");
    expect(x).toMatchObject({ op: "and" });
    expect((x as { args: unknown[] }).args).toHaveLength(3);
  });
  it("rejects a condition used as a value", () => {
    expect(audience("days_since(points > 1) > 2").errors).toEqual(["CH3015 2:23 a condition cannot be used as a value here: `points > 1`"]);
  });
  it("rejects a time of day and a list as values", () => {
    expect(audience("registered_at > 09:30").errors).toEqual(["CH3026 2:28 a time of day (`09:30`) cannot be used here"]);
  });
});

describe("has, in, between, is set, within", () => {
  it("types has / has any / has all on a list field", () => {
    expect(ir('tags has "vip"')).toEqual({
      op: "has",
      mode: "one",
      list: { v: "field", name: "tags", type: { kind: "list" } },
      values: [{ v: "lit", value: "vip", type: { kind: "string" } }],
    });
    expect(ir('tags has any ["vip", "new"]')).toMatchObject({ op: "has", mode: "any", values: [{ value: "vip" }, { value: "new" }] });
  });
  it("reports has on a non-list", () => {
    expect(audience('points has "x"').errors).toEqual(["CH3016 2:12 `has` needs a list field on its left, found `points` (number)"]);
  });
  it("reports a list after plain `has`", () => {
    const { r, errors } = audience('tags has ["a"]');
    expect(errors).toEqual(["CH3017 2:21 `has` needs one text value on its right, found a list"]);
    expect(r.diagnostics[0]!.help).toBe("write `has any [..]` or `has all [..]` for several values");
  });
  it("reports unquoted has values", () => {
    const { r, errors } = audience("tags has any [vip]");
    expect(errors).toEqual(["CH3017 2:26 `has any` needs text on its right, found `vip`"]);
    expect(r.diagnostics[0]!.help).toBe('text is written in quotes: "vip"');
  });
  it("types in-lists against the left side", () => {
    expect(ir("tier in [silver, gold]")).toMatchObject({ op: "in", negated: false, list: [{ value: "silver" }, { value: "gold" }] });
    expect(ir("points not in [1, 2]")).toMatchObject({ op: "in", negated: true });
    expect(audience('points in [1, "2"]').errors).toEqual(['CH3012 2:26 cannot compare `points` (number) with `"2"` (string)']);
  });
  it("reports between with mismatched bounds at the bound", () => {
    expect(ir("points between 100 and 200")).toMatchObject({ op: "between", low: { value: 100 }, high: { value: 200 } });
    expect(audience('points between 100 and "x"').errors).toEqual(['CH3018 2:35 `between` bound `"x"` (string) does not match `points` (number)']);
    expect(ir("tier between silver and platinum")).toMatchObject({ op: "between", low: { value: "silver" } });
  });
  it("types is set", () => {
    expect(ir("birthday is not set")).toEqual({ op: "is_set", negated: true, value: { v: "field", name: "birthday", type: { kind: "date" } } });
  });
  it("reports within without members.distance", () => {
    const p = testProject((p) => delete p.members.distance);
    expect(audience("within 5 km", p).errors).toEqual(["CH3020 2:12 `within` needs `members.distance` or `members.point` in chuda.yaml"]);
    expect(ir("within 5 km")).toEqual({ op: "within", km: 5 });
  });
});

describe("functions", () => {
  it("types each function", () => {
    expect(ir("days_since(last_purchase_at) >= 180")).toMatchObject({ left: { v: "call", fn: "days_since", type: { kind: "number" } } });
    expect(ir("years_since(birthday) >= 18")).toMatchObject({ left: { v: "call", fn: "years_since" } });
    expect(ir("month(birthday) == 12 and day(birthday) == 1 and weekday(today) == 1 and days_until(birthday) < 3")).toMatchObject({ op: "and" });
    expect(ir("len(tags) > 2")).toMatchObject({ left: { v: "call", fn: "len", type: { kind: "number" } } });
    expect(ir('lower(name) == "li"')).toMatchObject({ left: { v: "call", fn: "lower", type: { kind: "string" } } });
  });
  it("reports an unknown function with a suggestion", () => {
    const { r, errors } = audience("day_since(birthday) > 3");
    expect(errors).toEqual(["CH3021 2:12 unknown function `day_since`"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `days_since`?");
    expect(r.diagnostics[0]!.span.end.column).toBe(21);
  });
  it("reports arity and argument types", () => {
    expect(audience("days_since(birthday, today) > 3").errors).toEqual(["CH3022 2:12 `days_since` takes 1 argument, found 2"]);
    expect(audience("days_since(points) > 3").errors).toEqual(["CH3023 2:23 `days_since` needs a date or datetime, found `points` (number)"]);
    expect(audience("len(name) > 3").errors).toEqual(["CH3023 2:16 `len` needs a list, found `name` (string)"]);
  });
});

describe("literals", () => {
  it("reports invalid dates and times inside expressions", () => {
    expect(audience("birthday < 2026-02-30").errors).toEqual(["CH3024 2:23 `2026-02-30` is not a valid date"]);
    expect(audience("birthday < 2026-13-01").errors).toEqual(["CH3024 2:23 `2026-13-01` is not a valid date"]);
    expect(audience("registered_at < 2026-01-01 25:00").errors).toEqual(["CH3025 2:28 `25:00` is not a valid time"]);
    expect(ir("birthday < 2024-02-29")).toMatchObject({ right: { value: "2024-02-29" } });
  });
  it("turns percent into a fraction and money into yuan", () => {
    expect(ir("spend_12m >= 50 CNY")).toMatchObject({ right: { value: 50, type: { kind: "number" } } });
    expect(ir("points > 10%")).toMatchObject({ right: { value: 0.1 } });
  });
});

describe("without the parser (AST built by hand)", () => {
  const file = "x.chuda";
  const sp = (col: number, len: number): Span => ({
    file,
    start: { line: 1, column: col, offset: col - 1 },
    end: { line: 1, column: col + len, offset: col - 1 + len },
  });
  function env(out: Diagnostic[]): ExprEnv {
    return { fields: testProject().members.fields, hasDistance: true, out, segment: () => undefined, segmentNames: () => [] };
  }
  it("types a comparison node and reports the exact span of a bad operand", () => {
    const e: Expr = {
      kind: "compare",
      op: ">=",
      span: sp(1, 12),
      left: { kind: "ref", name: "tier", span: sp(1, 4) },
      right: { kind: "ref", name: "gold", span: sp(9, 4) },
    };
    const out: Diagnostic[] = [];
    expect(checkCondition(e, env(out))).toMatchObject({ op: "cmp", right: { value: "gold" } });
    expect(out).toEqual([]);
    const bad: Expr = { ...e, right: { kind: "ref", name: "gld", span: sp(9, 3) } };
    expect(checkCondition(bad, env(out))).toBeUndefined();
    expect(out.map(summary)).toEqual(["CH3011 1:9 `gld` is not a value of `tier`"]);
    expect(out[0]!.span).toEqual(sp(9, 3));
  });
});
