import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import type * as A from "./ast.js";
import { parseExpression, parseFile, stripSpans } from "./index.js";

const COMPLETE = readFileSync(fileURLToPath(new URL("../../test/fixtures/language/complete-example.chuda", import.meta.url)), "utf8");

function ok(src: string): A.FileNode {
  const r = parseFile(src, "t.chuda");
  expect(r.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.column} ${d.message}`)).toEqual([]);
  return r.ast;
}

function expr(src: string): unknown {
  const r = parseExpression(src, "t");
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  return stripSpans(r.expr);
}

function campaign(body: string): A.CampaignDecl {
  const ast = ok(`campaign c {\n${body}\n}`);
  return ast.items[0] as A.CampaignDecl;
}

function clause<K extends A.ClauseKind>(body: string, kind: K): Extract<A.Clause, { kind: K }> {
  const c = campaign(body).clauses.find((x) => x.kind === kind);
  expect(c, kind).toBeDefined();
  return stripSpans(c) as Extract<A.Clause, { kind: K }>;
}

const ref = (name: string) => ({ kind: "ref", name });
const num = (n: number) => ({ kind: "number", value: n, raw: String(n) });

describe("the complete example of docs/language.md", () => {
  it("parses with no diagnostics into the expected shape", () => {
    const ast = ok(COMPLETE);
    expect(ast.items.map((i) => `${i.kind} ${i.name.name}`)).toEqual([
      "segment dormant",
      "segment nearby",
      "segment reachable",
      "campaign birthday_gift",
      "campaign wake_dormant",
      "campaign mid_autumn",
    ]);
    const [bday, wake, autumn] = ast.items.slice(3) as A.CampaignDecl[];
    expect(bday!.title?.value).toBe("会员生日礼");
    expect(bday!.clauses.map((c) => c.kind)).toEqual(["audience", "trigger", "content", "channel", "goal", "holdout", "priority"]);
    expect(wake!.clauses.map((c) => c.kind)).toEqual(["audience", "trigger", "content", "channel", "goal", "repeat"]);
    expect(autumn!.clauses.map((c) => c.kind)).toEqual(["audience", "trigger", "content", "channel", "goal", "send_window"]);

    expect(stripSpans((ast.items[0] as A.SegmentDecl).expr)).toEqual({
      kind: "compare",
      op: ">=",
      left: { kind: "call", fn: { kind: "ident", name: "days_since" }, args: [ref("last_purchase_at")] },
      right: num(180),
    });
    expect(stripSpans((ast.items[1] as A.SegmentDecl).expr)).toEqual({ kind: "within", km: num(5) });
    expect(stripSpans((ast.items[2] as A.SegmentDecl).expr)).toEqual({ kind: "not", operand: ref("unsubscribed") });

    expect(stripSpans(bday!.clauses[0])).toEqual({
      kind: "audience",
      expr: {
        kind: "logical",
        op: "and",
        left: { kind: "logical", op: "and", left: { kind: "compare", op: ">=", left: ref("tier"), right: ref("gold") }, right: ref("nearby") },
        right: ref("reachable"),
      },
    });
    expect(stripSpans(bday!.clauses[1])).toEqual({
      kind: "trigger",
      trigger: { kind: "on_event", event: { kind: "event", name: "birthday", anniversary: true }, at: { kind: "time", value: "09:30" } },
    });
    expect(stripSpans(bday!.clauses[2])).toEqual({
      kind: "content",
      template: { kind: "string", value: "birthday", raw: '"birthday"' },
      with: [
        { key: { kind: "ident", name: "coupon" }, value: { kind: "string", value: "BDAY50", raw: '"BDAY50"' } },
        { key: { kind: "ident", name: "amount" }, value: num(50) },
      ],
    });
    expect(stripSpans(bday!.clauses[3])).toEqual({
      kind: "channel",
      channels: ["wecom", "template_message", "sms"].map((name) => ({ kind: "ident", name })),
    });
    expect(stripSpans(bday!.clauses[4])).toEqual({
      kind: "goal",
      goal: { kind: "redeem", code: { kind: "string", value: "BDAY50", raw: '"BDAY50"' }, within: { kind: "duration", amount: 7, unit: "day", raw: "7 days" } },
    });
    expect(stripSpans(bday!.clauses[5])).toEqual({ kind: "holdout", value: { kind: "percent", value: 10, raw: "10%" } });
    expect(stripSpans(bday!.clauses[6])).toEqual({ kind: "priority", value: num(80) });

    expect(stripSpans(wake!.clauses[1])).toEqual({
      kind: "trigger",
      trigger: {
        kind: "offset",
        amount: num(180),
        unit: "day",
        direction: "after",
        event: { kind: "event", name: "last_purchase_at", anniversary: false },
        at: { kind: "time", value: "10:00" },
      },
    });
    expect(stripSpans(wake!.clauses[5])).toEqual({ kind: "repeat", never: false, after: { kind: "duration", amount: 90, unit: "day", raw: "90 days" } });
    expect(stripSpans(autumn!.clauses[0])).toMatchObject({
      expr: {
        kind: "logical",
        left: { kind: "in", negated: false, left: ref("tier"), list: { kind: "list", items: ["silver", "gold", "platinum", "diamond"].map(ref) } },
      },
    });
    expect(stripSpans(autumn!.clauses[4])).toEqual({
      kind: "goal",
      goal: { kind: "purchase", minAmount: { kind: "money", value: 200, raw: "200 CNY" }, within: { kind: "duration", amount: 7, unit: "day", raw: "7 days" } },
    });
    expect(stripSpans(autumn!.clauses[5])).toEqual({ kind: "send_window", from: { kind: "time", value: "09:00" }, to: { kind: "time", value: "20:00" } });
  });

  it("gives nodes exact spans (1-based line/column, exclusive end)", () => {
    const ast = ok(COMPLETE);
    const bday = ast.items[3] as A.CampaignDecl;
    expect(bday.span.start).toEqual({ line: 5, column: 1, offset: COMPLETE.indexOf("campaign birthday_gift") });
    expect(bday.span.end.line).toBe(13);
    expect(bday.span.end.column).toBe(2);
    expect(bday.name.span.start).toMatchObject({ line: 5, column: 10 });
    expect(bday.name.span.end).toMatchObject({ line: 5, column: 23 });
    const trig = bday.clauses[1] as A.TriggerClause;
    expect(trig.span.start).toMatchObject({ line: 7, column: 3 });
    expect(trig.span.end).toMatchObject({ line: 7, column: 47 });
    const at = (trig.trigger as A.OnEventTrigger).at!;
    expect(COMPLETE.slice(at.span.start.offset, at.span.end.offset)).toBe("09:30");
    const goal = (bday.clauses[4] as A.GoalClause).goal;
    expect(COMPLETE.slice(goal.within.span.start.offset, goal.within.span.end.offset)).toBe("7 days");
    const seg = ast.items[0] as A.SegmentDecl;
    expect(COMPLETE.slice(seg.expr.span.start.offset, seg.expr.span.end.offset)).toBe("days_since(last_purchase_at) >= 180");
    expect(seg.span.file).toBe("t.chuda");
    // The title is a Chinese string: columns count UTF-16 units.
    expect(bday.title!.span.start).toMatchObject({ line: 5, column: 24 });
    expect(bday.title!.span.end).toMatchObject({ line: 5, column: 31 });
  });

  it("accepts CRLF line ends and a BOM", () => {
    const ast = ok("\uFEFF" + COMPLETE.replace(/\n/g, "\r\n"));
    expect(ast.items).toHaveLength(6);
    expect(ast.items[3]!.span.start).toMatchObject({ line: 5, column: 1 });
    expect(stripSpans(ast.items)).toEqual(stripSpans(ok(COMPLETE).items));
  });
});

describe("clauses", () => {
  it("reads content with values of every literal kind", () => {
    const c = clause('content "x" with { a: "s", b: 1.5, c: 50 CNY, d: ¥8, e: 10%, f: 2026-12-24, g: true, h: false, }', "content");
    expect(c.with.map((w) => w.value)).toEqual([
      { kind: "string", value: "s", raw: '"s"' },
      { kind: "number", value: 1.5, raw: "1.5" },
      { kind: "money", value: 50, raw: "50 CNY" },
      { kind: "money", value: 8, raw: "¥8" },
      { kind: "percent", value: 10, raw: "10%" },
      { kind: "date", value: "2026-12-24" },
      { kind: "bool", value: true },
      { kind: "bool", value: false },
    ]);
    expect(clause('content "x"', "content").with).toEqual([]);
  });

  it("reads the goals, with expect", () => {
    expect(clause("goal visit within 3 days", "goal").goal).toEqual({ kind: "visit", within: { kind: "duration", amount: 3, unit: "day", raw: "3 days" } });
    expect(clause("goal purchase within 14 days expect 6%", "goal").goal).toEqual({
      kind: "purchase",
      within: { kind: "duration", amount: 14, unit: "day", raw: "14 days" },
      expect: { kind: "percent", value: 6, raw: "6%" },
    });
    expect(clause('goal event "app_open" within 1 week', "goal").goal).toMatchObject({
      kind: "event",
      name: { value: "app_open" },
      within: { unit: "week", amount: 1 },
    });
    expect(clause("goal purchase >= 50.5 CNY within 2 hours", "goal").goal).toMatchObject({ minAmount: { value: 50.5 }, within: { unit: "hour" } });
  });

  it("reads priority, holdout, repeat, active, send window, limit and budget", () => {
    expect(clause("priority 0", "priority").value.value).toBe(0);
    expect(clause("holdout 2.5%", "holdout").value.value).toBe(2.5);
    expect(clause("repeat never", "repeat")).toEqual({ kind: "repeat", never: true });
    expect(clause("repeat after 1 month", "repeat").after).toEqual({ kind: "duration", amount: 1, unit: "month", raw: "1 month" });
    expect(clause("active 2026-01-01 .. 2026-02-01", "active")).toEqual({
      kind: "active",
      from: { kind: "date", value: "2026-01-01" },
      to: { kind: "date", value: "2026-02-01" },
    });
    expect(clause("limit 500 members", "limit")).toEqual({ kind: "limit", count: num(500) });
    expect(clause("limit 500 members order by spend_12m", "limit").orderBy).toEqual({ expr: ref("spend_12m"), direction: "desc" });
    expect(clause("limit 5 members order by days_since(x) asc", "limit").orderBy?.direction).toBe("asc");
    expect(clause("budget 2000 CNY", "budget").amount).toEqual({ kind: "money", value: 2000, raw: "2000 CNY" });
    expect(clause("budget ¥ 300", "budget").amount).toEqual({ kind: "money", value: 300, raw: "¥300" });
    expect(clause("expire after 6 hours", "expire").after).toEqual({ kind: "duration", amount: 6, unit: "hour", raw: "6 hours" });
  });

  it("needs no separators between clauses, even on one line", () => {
    const c = campaign('audience tier >= gold and nearby trigger every day content "x" channel a > b priority 3');
    expect(c.clauses.map((x) => x.kind)).toEqual(["audience", "trigger", "content", "channel", "priority"]);
  });

  it("keeps Chinese strings and comments", () => {
    const r = parseFile('# 会员营销\ncampaign a "会员 \\"生日\\" 礼\\n第二行\\\\" { # 标题\n}', "t.chuda");
    expect(r.diagnostics).toEqual([]);
    expect((r.ast.items[0] as A.CampaignDecl).title?.value).toBe('会员 "生日" 礼\n第二行\\');
    expect(r.ast.comments.map((c) => c.text)).toEqual(["# 会员营销", "# 标题"]);
    expect(r.ast.comments[1]!.span.start).toMatchObject({ line: 2 });
  });
});

describe("triggers", () => {
  const trig = (t: string) => clause(`trigger ${t}`, "trigger").trigger;
  it("reads every form", () => {
    expect(trig("every day at 10:00")).toEqual({ kind: "every_day", at: { kind: "time", value: "10:00" } });
    expect(trig("every day")).toEqual({ kind: "every_day" });
    expect(trig("every monday, thursday at 19:30")).toEqual({
      kind: "every_weekdays",
      days: [
        { kind: "ident", name: "monday" },
        { kind: "ident", name: "thursday" },
      ],
      at: { kind: "time", value: "19:30" },
    });
    expect(trig("every month on 1 at 10:00")).toEqual({ kind: "every_month", day: num(1), at: { kind: "time", value: "10:00" } });
    expect(trig("once at 2026-12-24 10:00")).toEqual({ kind: "once", at: { kind: "datetime", date: "2026-12-24", time: "10:00" } });
    expect(trig("on 520 at 10:00")).toEqual({
      kind: "on_event",
      event: { kind: "event", name: "520", anniversary: false },
      at: { kind: "time", value: "10:00" },
    });
    expect(trig("on christmas")).toEqual({ kind: "on_event", event: { kind: "event", name: "christmas", anniversary: false } });
    expect(trig("3 days before 618")).toEqual({
      kind: "offset",
      amount: num(3),
      unit: "day",
      direction: "before",
      event: { kind: "event", name: "618", anniversary: false },
    });
    expect(trig("7 days before anniversary of registered_at at 08:00")).toMatchObject({
      direction: "before",
      event: { name: "registered_at", anniversary: true },
      at: { value: "08:00" },
    });
    expect(trig("2 hours after last_purchase_at")).toMatchObject({ unit: "hour", amount: { value: 2 } });
  });
});

describe("expressions", () => {
  it("follows the precedence or < and < not < comparison < + -", () => {
    expect(expr("a or b and not c == 1 + 2")).toEqual({
      kind: "logical",
      op: "or",
      left: ref("a"),
      right: {
        kind: "logical",
        op: "and",
        left: ref("b"),
        right: { kind: "not", operand: { kind: "compare", op: "==", left: ref("c"), right: { kind: "arith", op: "+", left: num(1), right: num(2) } } },
      },
    });
    expect(expr("a - b + c")).toEqual({ kind: "arith", op: "+", left: { kind: "arith", op: "-", left: ref("a"), right: ref("b") }, right: ref("c") });
    expect(expr("(a or b) and c")).toMatchObject({ op: "and", left: { kind: "paren", expr: { op: "or" } } });
  });

  it("reads every comparison form", () => {
    for (const op of ["==", "!=", "<", "<=", ">", ">="]) expect(expr(`x ${op} 1`)).toMatchObject({ kind: "compare", op });
    expect(expr('tier not in [gold, "VIP 会员"]')).toEqual({
      kind: "in",
      negated: true,
      left: ref("tier"),
      list: { kind: "list", items: [ref("gold"), { kind: "string", value: "VIP 会员", raw: '"VIP 会员"' }] },
    });
    expect(expr('tags has "vip"')).toMatchObject({ kind: "has", mode: "one", right: { kind: "string", value: "vip" } });
    expect(expr('tags has any ["a", "b"]')).toMatchObject({ kind: "has", mode: "any", right: { kind: "list" } });
    expect(expr("tags has all [a]")).toMatchObject({ kind: "has", mode: "all" });
    expect(expr("age between 18 and 30 and x")).toEqual({
      kind: "logical",
      op: "and",
      left: { kind: "between", left: ref("age"), low: num(18), high: num(30) },
      right: ref("x"),
    });
    expect(expr("phone is set")).toEqual({ kind: "is_set", negated: false, operand: ref("phone") });
    expect(expr("phone is not set")).toEqual({ kind: "is_set", negated: true, operand: ref("phone") });
    expect(expr("not a in [1]")).toMatchObject({ kind: "not", operand: { kind: "in", negated: false } });
  });

  it("reads primaries: today, now, durations, calls (also day/month), within, literals", () => {
    expect(expr("last_purchase_at < today - 180 days")).toEqual({
      kind: "compare",
      op: "<",
      left: ref("last_purchase_at"),
      right: { kind: "arith", op: "-", left: { kind: "today" }, right: { kind: "duration", amount: 180, unit: "day", raw: "180 days" } },
    });
    expect(expr("now")).toEqual({ kind: "now" });
    expect(expr("month(birthday) == month(today) and day(x) == 1")).toMatchObject({
      left: { left: { kind: "call", fn: { name: "month" }, args: [ref("birthday")] }, right: { kind: "call", args: [{ kind: "today" }] } },
      right: { left: { kind: "call", fn: { name: "day" } } },
    });
    expect(expr("f()")).toEqual({ kind: "call", fn: { kind: "ident", name: "f" }, args: [] });
    expect(expr("within 2.5 km")).toEqual({ kind: "within", km: { kind: "number", value: 2.5, raw: "2.5" } });
    expect(expr("vip == true")).toMatchObject({ right: { kind: "bool", value: true } });
    expect(expr("registered_at >= 2026-01-01")).toMatchObject({ right: { kind: "date", value: "2026-01-01" } });
    expect(expr("spend > 50 CNY")).toMatchObject({ right: { kind: "money", value: 50 } });
  });

  it("shifts spans of a chuda.yaml expression to where it sits", () => {
    const base = { file: "chuda.yaml", start: { line: 12, column: 12, offset: 300 }, end: { line: 12, column: 40, offset: 328 } };
    const r = parseExpression("tier == gold and vip", "chuda.yaml", base);
    expect(r.diagnostics).toEqual([]);
    const e = r.expr as A.LogicalExpr;
    expect(e.span).toEqual({ file: "chuda.yaml", start: { line: 12, column: 12, offset: 300 }, end: { line: 12, column: 32, offset: 320 } });
    expect(e.right.span.start).toEqual({ line: 12, column: 29, offset: 317 });
    const bad = parseExpression("tier == ", "chuda.yaml", base);
    expect(bad.expr).toBeUndefined();
    expect(bad.diagnostics).toHaveLength(1);
    expect(bad.diagnostics[0]!.code).toBe("CH1013");
    expect(bad.diagnostics[0]!.span.file).toBe("chuda.yaml");
    expect(bad.diagnostics[0]!.span.start.line).toBe(12);
    const extra = parseExpression("a b", "x");
    expect(extra.diagnostics.map((d) => d.message)).toEqual(["unexpected `b` after the expression"]);
  });
});

describe("errors", () => {
  const diags = (src: string) =>
    parseFile(src, "e.chuda").diagnostics.map((d) => ({ line: d.span.start.line, col: d.span.start.column, code: d.code, message: d.message, help: d.help }));

  it("reports 3 broken clauses in 2 campaigns at their lines, and keeps the campaigns after them", () => {
    const src = `campaign a "A" {
  audience tier >=
  trigger  every day at 25
  content  "x"
}

campaign b {
  goal redeem within 7 days
  priority 5
}

campaign c "C" {
  audience x
  channel  sms
}
`;
    const r = parseFile(src, "e.chuda");
    expect(r.diagnostics.map((d) => [d.code, d.span.start.line])).toEqual([
      ["CH1012", 2],
      ["CH1007", 3],
      ["CH1007", 8],
    ]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "expected an expression after `>=`, found `trigger`",
      "expected a time like 09:30 after `at`, found `25`",
      "expected a string in double quotes after `redeem`, found `within`",
    ]);
    expect(r.diagnostics[1]!.span.start.column).toBe(25);
    expect(r.diagnostics[1]!.span.end.column).toBe(27);
    expect(r.ast.items.map((i) => i.name.name)).toEqual(["a", "b", "c"]);
    expect((r.ast.items[0] as A.CampaignDecl).clauses.map((c) => c.kind)).toEqual(["content"]);
    expect((r.ast.items[1] as A.CampaignDecl).clauses.map((c) => c.kind)).toEqual(["priority"]);
    expect((r.ast.items[2] as A.CampaignDecl).clauses.map((c) => c.kind)).toEqual(["audience", "channel"]);
  });

  it("skips an unknown clause word and suggests the keyword", () => {
    const d = diags("campaign a {\n  audiance tier >= gold\n  chanel sms\n  priority 3\n}");
    expect(d).toEqual([
      { line: 2, col: 3, code: "CH1008", message: "expected a clause or `}`, found `audiance`", help: "did you mean `audience`?" },
      { line: 3, col: 3, code: "CH1008", message: "expected a clause or `}`, found `chanel`", help: "did you mean `channel`?" },
    ]);
    expect((parseFile("campaign a {\n  audiance x\n  priority 3\n}", "e").ast.items[0] as A.CampaignDecl).clauses.map((c) => c.kind)).toEqual(["priority"]);
  });

  it("reports a missing `}` at the end of the file and junk between items", () => {
    expect(diags("campaign a {\n  priority 3\n")).toMatchObject([{ line: 2, col: 13, message: "expected a clause or `}`, found the end of the file" }]);
    expect(diags("priority 3\nsegment s = x")).toMatchObject([{ line: 1, col: 1, message: "unexpected `priority`, expected `campaign` or `segment`" }]);
    expect(parseFile("} segment s = x", "e").ast.items.map((i) => i.name.name)).toEqual(["s"]);
  });

  it("explains a missing trigger or goal kind", () => {
    expect(diags("campaign a { trigger sometimes }")[0]!.message).toMatch(/^expected a trigger \(.*\) after `trigger`, found `sometimes`$/);
    expect(diags("campaign a { goal win within 3 days }")[0]!.message).toMatch(/^expected a goal .* after `goal`, found `win`$/);
  });

  it("reports lexical errors with their own codes", () => {
    const d = diags('segment s = 会员\nsegment t = "open\nsegment u = "a\\tb"');
    expect(d.map((x) => [x.code, x.line])).toEqual([
      ["CH1002", 1],
      ["CH1003", 2],
      ["CH1004", 3],
    ]);
    expect(d[0]!.message).toBe("unexpected character `会员`");
  });

  it("never throws, whatever the input", () => {
    for (const src of [
      "",
      "{",
      "}",
      "campaign",
      "campaign {",
      "segment = ",
      'campaign a "',
      'campaign a { content "x" with { a: } }',
      "(((",
      "campaign a { limit 5 members order by }",
      "campaign a { trigger once at 2026-01-01 }",
    ]) {
      const r = parseFile(src, "e");
      expect(r.ast.kind).toBe("file");
      if (src !== "") expect(r.diagnostics.length, src).toBeGreaterThan(0);
    }
  });

  it("closes a campaign whose `}` is missing when the next one starts", () => {
    const r = parseFile("campaign a {\n  priority 1\ncampaign b {\n  priority 2\n}\n", "e");
    expect(r.diagnostics.map((d) => [d.span.start.line, d.span.start.column, d.message])).toEqual([[2, 13, "expected a clause or `}`, found `campaign`"]]);
    expect(r.ast.items.map((i) => i.name.name)).toEqual(["a", "b"]);
  });

  it("never throws on arbitrary token soup, and keeps every span inside the text", () => {
    const piece = fc.constantFrom(
      "campaign",
      "segment",
      "audience",
      "trigger",
      "content",
      "channel",
      "goal",
      "priority",
      "holdout",
      "repeat",
      "active",
      "send",
      "limit",
      "budget",
      "every",
      "day",
      "monday",
      ",",
      "at",
      "09:30",
      "on",
      "once",
      "2026-12-24 10:00",
      "2026-01-01",
      "..",
      "before",
      "after",
      "anniversary",
      "of",
      "520",
      "redeem",
      "visit",
      "purchase",
      ">=",
      "50 CNY",
      "within",
      "7",
      "days",
      "expect",
      "10%",
      "with",
      "{",
      "}",
      "(",
      ")",
      "[",
      "]",
      ":",
      "=",
      "==",
      ">",
      "and",
      "or",
      "not",
      "in",
      "has",
      "any",
      "is",
      "set",
      "between",
      "today",
      "-",
      "+",
      "km",
      "x",
      "tier",
      '"s"',
      '"会员',
      "# c",
      "\n",
      "会",
      "true",
      "members",
      "order",
      "by",
      "desc",
      "never",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join(" ");
        const r = parseFile(text, "soup");
        expect(r.ast.kind).toBe("file");
        for (const d of r.diagnostics) {
          expect(d.span.start.offset).toBeGreaterThanOrEqual(0);
          expect(d.span.end.offset).toBeLessThanOrEqual(text.length);
          expect(d.message).not.toMatch(/\n/);
        }
        const walk = (v: unknown): void => {
          if (!v || typeof v !== "object") return;
          const sp = (v as { span?: { start: { offset: number }; end: { offset: number } } }).span;
          if (sp) {
            expect(Number.isFinite(sp.start.offset) && sp.end.offset <= text.length && sp.start.offset <= sp.end.offset).toBe(true);
          }
          for (const x of Object.values(v)) walk(x);
        };
        walk(r.ast);
      }),
      { numRuns: 500 },
    );
  });
});

describe("syntax error codes", () => {
  const first = (text: string) => parseFile(text, "e.chuda").diagnostics[0]!;
  const expr = (text: string) => parseExpression(text, "chuda.yaml").diagnostics[0]!;

  it("gives each kind of syntax error its own code", () => {
    const cases: [string, { code: string; message: string }][] = [
      ["campaign a { channel }", { code: "CH1006", message: "expected a name after `channel`, found `}`" }],
      ["campaign a { priority x }", { code: "CH1007", message: "expected a number after `priority`, found `x`" }],
      ["campaign a {\n  audiance tier >= gold\n}", { code: "CH1008", message: "expected a clause or `}`, found `audiance`" }],
      ["42", { code: "CH1009", message: "unexpected `42`, expected `campaign` or `segment`" }],
      // `on` takes a calendar event or a business event (`on event "purchase"`), so the alternatives are listed.
      ["campaign a { trigger on }", { code: "CH1011", message: "expected a name, a number, `anniversary` or `event` after `on`, found `}`" }],
      ["campaign a {\n  audience tier >=\n}\n", { code: "CH1012", message: "expected an expression after `>=`, found `}`" }],
      ["campaign a {\n  trigger every day at\n", { code: "CH1013", message: "expected a time like 09:30 after `at`, found the end of the file" }],
      ["campaign a {\n  priority 3\n", { code: "CH1013", message: "expected a clause or `}`, found the end of the file" }],
      ['campaign a {\n  content "x\n}', { code: "CH1003", message: 'this string has no closing `"`' }],
    ];
    for (const [text, want] of cases) expect(first(text), text).toMatchObject(want);
    expect(first("segment s = tier in [gold silver]")).toMatchObject({ code: "CH1005", message: "expected `]` after `gold`, found `silver`" });
    expect(expr("a b")).toMatchObject({ code: "CH1010", message: "unexpected `b` after the expression" });
  });

  it("keeps the help that depends on what was expected, not on the wording", () => {
    expect(first("campaign a {\n  goal redeem BDAY\n}")).toMatchObject({ code: "CH1007", help: 'the code goes in double quotes: `redeem "BDAY"`' });
    expect(first("campaign a {\n  chanel sms\n}")).toMatchObject({ code: "CH1008", help: "did you mean `channel`?" });
  });
});
