import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type * as A from "./ast.js";
import { formatFile, parseFile, printFile, stripSpans } from "./index.js";
import { expectGolden } from "../../test/golden.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/fmt");

/** What formatting must not change: the items, and the comments' words. */
function meaning(text: string): unknown {
  const { ast, diagnostics } = parseFile(text, "x.chuda");
  expect(diagnostics).toEqual([]);
  return { items: stripSpans(ast.items), comments: ast.comments.map((c) => c.text.trimEnd()) };
}

function checkFormatProperties(src: string): string {
  const first = formatFile(src, "x.chuda");
  expect(first.diagnostics).toEqual([]);
  const second = formatFile(first.text, "x.chuda");
  expect(second.text).toBe(first.text); // idempotent
  expect(second.changed).toBe(false);
  expect(meaning(first.text)).toEqual(meaning(src)); // same AST, same comments
  expect(first.text).not.toMatch(/[ \t]$/m);
  return first.text;
}

function chudaFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...chudaFilesUnder(p));
    else if (name.endsWith(".chuda")) out.push(p);
  }
  return out.sort();
}

describe("fmt fixtures (test/fixtures/fmt/<case>.chuda → <case>.formatted.chuda)", () => {
  const cases = readdirSync(FIXTURES).filter((f) => f.endsWith(".chuda") && !f.endsWith(".formatted.chuda"));
  it("has fixtures", () => expect(cases.length).toBeGreaterThanOrEqual(5));
  for (const c of cases) {
    it(c, () => {
      const src = readFileSync(path.join(FIXTURES, c), "utf8");
      const out = checkFormatProperties(src);
      const goldenPath = path.join(FIXTURES, c.replace(/\.chuda$/, ".formatted.chuda"));
      expectGolden(goldenPath, out);
      // A golden is already canonical.
      expect(formatFile(out, c).changed).toBe(false);
    });
  }
});

describe("fmt over the example repository's campaigns", () => {
  const files = chudaFilesUnder(path.join(ROOT, "campaigns"));
  it("formats each campaign file idempotently without changing its meaning", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) checkFormatProperties(readFileSync(f, "utf8"));
  });
});

describe("formatFile", () => {
  it("refuses to format a file with syntax errors and returns them", () => {
    const src = "campaign a {\n  audience tier >=\n}\n";
    const r = formatFile(src, "a.chuda");
    expect(r.text).toBe(src);
    expect(r.changed).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["CH1012"]);
  });

  it("says when nothing changed, and drops a BOM and CRLF", () => {
    const canonical = 'campaign a "A" {\n  priority 3\n}\n';
    expect(formatFile(canonical, "a").changed).toBe(false);
    const r = formatFile("\uFEFF" + canonical.replace(/\n/g, "\r\n"), "a");
    expect(r.changed).toBe(true);
    expect(r.text).toBe(canonical);
  });

  it("formats an empty file to an empty file", () => {
    expect(formatFile("", "a")).toEqual({ text: "", diagnostics: [], changed: false });
    expect(formatFile("\n\n", "a").text).toBe("");
  });

  it("adds parentheses only where a tree needs them", () => {
    const src = "segment s = a\n";
    const { ast } = parseFile(src, "s");
    const r = (name: string): A.RefExpr => ({ kind: "ref", name, span: ast.span });
    const seg = ast.items[0] as A.SegmentDecl;
    seg.expr = { kind: "logical", op: "and", left: { kind: "logical", op: "or", left: r("a"), right: r("b"), span: ast.span }, right: r("c"), span: ast.span };
    expect(printFile(ast, src)).toBe("segment s = (a or b) and c\n");
    seg.expr = {
      kind: "not",
      operand: { kind: "arith", op: "-", left: r("a"), right: { kind: "arith", op: "-", left: r("b"), right: r("c"), span: ast.span }, span: ast.span },
      span: ast.span,
    };
    expect(printFile(ast, src)).toBe("segment s = not a - (b - c)\n");
  });
});

// ---------------------------------------------------------------- property: random ASTs print and parse back

const S = { file: "gen", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
const KEYWORDS = new Set(
  "segment campaign audience trigger content within with channel goal priority holdout repeat never active send between limit members order by asc desc budget expire every once on at before after anniversary of redeem visit purchase event most per expect minute minutes hour hours day days week weeks month months year years and any all or not now in is set has today true false km".split(
    " ",
  ),
);
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/).filter((n) => !KEYWORDS.has(n));
const ident = name.map((n): A.Ident => ({ kind: "ident", name: n, span: S }));
const intRaw = fc.integer({ min: 0, max: 9999 }).map(String);
const decRaw = fc.oneof(
  intRaw,
  fc.tuple(intRaw, fc.integer({ min: 0, max: 99 })).map(([a, b]) => `${a}.${String(b).padStart(2, "0")}`),
);
const numberLit = decRaw.map((raw): A.NumberLit => ({ kind: "number", value: Number(raw), raw, span: S }));
const stringLit = fc
  .string({ unit: fc.constantFrom("a", "b", "会", "员", " ", '"', "\\", "\n", "1"), maxLength: 8 })
  .map((value): A.StringLit => ({ kind: "string", value, raw: `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`, span: S }));
const percentLit = decRaw.map((d): A.PercentLit => ({ kind: "percent", value: Number(d), raw: `${d}%`, span: S }));
const moneyLit = fc.tuple(decRaw, fc.boolean()).map(([d, yen]): A.MoneyLit => ({ kind: "money", value: Number(d), raw: yen ? `¥${d}` : `${d} CNY`, span: S }));
const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
const dateStr = fc.tuple(fc.integer({ min: 2000, max: 2099 }), two(12), two(31)).map(([y, m, d]) => `${y}-${m}-${d}`);
const timeStr = fc.tuple(two(23), two(59)).map(([h, m]) => `${h}:${m}`);
const unit = fc.constantFrom<A.DurationUnit>("minute", "hour", "day", "week", "month", "year");
const durationLit = fc
  .tuple(intRaw, unit, fc.boolean())
  .map(([n, u, plural]): A.DurationLit => ({ kind: "duration", amount: Number(n), unit: u, raw: `${n} ${u}${plural ? "s" : ""}`, span: S }));
const timeLit = timeStr.map((value): A.TimeLit => ({ kind: "time", value, span: S }));
const dateLit = dateStr.map((value): A.DateLit => ({ kind: "date", value, span: S }));
const scalar: fc.Arbitrary<A.Literal> = fc.oneof(
  stringLit,
  numberLit,
  percentLit,
  moneyLit,
  fc.boolean().map((value): A.BoolLit => ({ kind: "bool", value, span: S })),
  dateLit,
  timeLit,
  fc.tuple(dateStr, timeStr).map(([date, time]): A.DateTimeLit => ({ kind: "datetime", date, time, span: S })),
  durationLit,
);
const refExpr = name.map((n): A.RefExpr => ({ kind: "ref", name: n, span: S }));
const listLit = fc.array(fc.oneof(scalar, refExpr), { maxLength: 4 }).map((items): A.ListLit => ({ kind: "list", items, span: S }));

/** Expressions built level by level, so every tree is one the parser can produce (parentheses are ParenExpr). */
const { expr } = fc.letrec<{ expr: A.Expr; and: A.Expr; not: A.Expr; cmp: A.Expr; add: A.Expr; primary: A.Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("and"),
    fc.tuple(tie("expr"), tie("and")).map(([left, right]): A.Expr => ({ kind: "logical", op: "or", left, right, span: S })),
  ),
  and: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("not"),
    fc.tuple(tie("and"), tie("not")).map(([left, right]): A.Expr => ({ kind: "logical", op: "and", left, right, span: S })),
  ),
  not: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("cmp"),
    tie("not").map((operand): A.Expr => ({ kind: "not", operand, span: S })),
  ),
  cmp: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("add"),
    fc
      .tuple(fc.constantFrom<A.CompareOp>("==", "!=", "<", "<=", ">", ">="), tie("add"), tie("add"))
      .map(([op, left, right]): A.Expr => ({ kind: "compare", op, left, right, span: S })),
    fc.tuple(fc.boolean(), tie("add"), listLit).map(([negated, left, list]): A.Expr => ({ kind: "in", negated, left, list, span: S })),
    fc
      .tuple(fc.constantFrom<"one" | "any" | "all">("one", "any", "all"), tie("add"), tie("add"))
      .map(([mode, left, right]): A.Expr => ({ kind: "has", mode, left, right, span: S })),
    fc.tuple(tie("add"), tie("add"), tie("add")).map(([left, low, high]): A.Expr => ({ kind: "between", left, low, high, span: S })),
    fc.tuple(fc.boolean(), tie("add")).map(([negated, operand]): A.Expr => ({ kind: "is_set", negated, operand, span: S })),
  ),
  add: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("primary"),
    fc
      .tuple(fc.constantFrom<"+" | "-">("+", "-"), tie("add"), tie("primary"))
      .map(([op, left, right]): A.Expr => ({ kind: "arith", op, left, right, span: S })),
  ),
  primary: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    listLit,
    refExpr,
    fc.constant<A.Expr>({ kind: "today", span: S }),
    fc.constant<A.Expr>({ kind: "now", span: S }),
    numberLit.map((km): A.Expr => ({ kind: "within", km, span: S })),
    fc
      .tuple(
        fc.oneof(
          ident,
          fc.constantFrom("day", "month", "year").map((n): A.Ident => ({ kind: "ident", name: n, span: S })),
        ),
        fc.array(tie("expr"), { maxLength: 3 }),
      )
      .map(([fn, args]): A.Expr => ({ kind: "call", fn, args, span: S })),
    tie("expr").map((e): A.Expr => ({ kind: "paren", expr: e, span: S })),
  ),
}));

const eventRef = fc
  .tuple(fc.oneof(name, fc.constantFrom("520", "618")), fc.boolean())
  .map(([n, anniversary]): A.EventRef => ({ kind: "event", name: anniversary && /^\d/.test(n) ? `f${n}` : n, anniversary, span: S }));
const withAt = <T extends object>(t: T, at: A.TimeLit | null): T => (at ? { ...t, at } : t);
const optAt = fc.option(timeLit);
const oneAmount = numberLit.map((n) => n); // offset amounts print with a canonical plural
const trigger: fc.Arbitrary<A.Trigger> = fc.oneof(
  optAt.map((at) => withAt({ kind: "every_day" as const, span: S }, at)),
  fc
    .tuple(
      fc.array(
        fc.constantFrom("monday", "tuesday", "sunday").map((n): A.Ident => ({ kind: "ident", name: n, span: S })),
        { minLength: 1, maxLength: 3 },
      ),
      optAt,
    )
    .map(([days, at]) => withAt({ kind: "every_weekdays" as const, days, span: S }, at)),
  fc.tuple(numberLit, optAt).map(([day, at]) => withAt({ kind: "every_month" as const, day, span: S }, at)),
  fc.tuple(dateStr, timeStr).map(([date, time]): A.Trigger => ({ kind: "once", at: { kind: "datetime", date, time, span: S }, span: S })),
  fc.tuple(eventRef, optAt).map(([event, at]) => withAt({ kind: "on_event" as const, event, span: S }, at)),
  fc
    .tuple(oneAmount, unit, fc.constantFrom<"before" | "after">("before", "after"), eventRef, optAt)
    .map(([amount, u, direction, event, at]) => withAt({ kind: "offset" as const, amount, unit: u, direction, event, span: S }, at)),
);
const goal: fc.Arbitrary<A.Goal> = fc
  .tuple(
    fc.oneof(
      stringLit.map((code) => ({ kind: "redeem" as const, code })),
      fc.constant({ kind: "visit" as const }),
      fc.option(moneyLit).map((m) => (m ? { kind: "purchase" as const, minAmount: m } : { kind: "purchase" as const })),
      stringLit.map((n) => ({ kind: "event" as const, name: n })),
    ),
    durationLit,
    fc.option(percentLit),
  )
  .map(([g, within, expect]) => ({ ...g, within, ...(expect ? { expect } : {}), span: S }) as A.Goal);
const clause: fc.Arbitrary<A.Clause> = fc.oneof(
  expr.map((e): A.Clause => ({ kind: "audience", expr: e, span: S })),
  trigger.map((t): A.Clause => ({ kind: "trigger", trigger: t, span: S })),
  fc
    .tuple(stringLit, fc.array(fc.tuple(ident, scalar), { maxLength: 3 }))
    .map(([template, w]): A.Clause => ({ kind: "content", template, with: w.map(([key, value]) => ({ key, value, span: S })), span: S })),
  fc.array(ident, { minLength: 1, maxLength: 3 }).map((channels): A.Clause => ({ kind: "channel", channels, span: S })),
  goal.map((g): A.Clause => ({ kind: "goal", goal: g, span: S })),
  numberLit.map((value): A.Clause => ({ kind: "priority", value, span: S })),
  percentLit.map((value): A.Clause => ({ kind: "holdout", value, span: S })),
  fc.option(durationLit).map((after): A.Clause => (after ? { kind: "repeat", after, never: false, span: S } : { kind: "repeat", never: true, span: S })),
  fc.tuple(dateLit, dateLit).map(([from, to]): A.Clause => ({ kind: "active", from, to, span: S })),
  fc.tuple(timeLit, timeLit).map(([from, to]): A.Clause => ({ kind: "send_window", from, to, span: S })),
  fc
    .tuple(numberLit, fc.option(fc.tuple(expr, fc.constantFrom<"asc" | "desc">("asc", "desc"))))
    .map(([count, o]): A.Clause =>
      o ? { kind: "limit", count, orderBy: { expr: o[0], direction: o[1], span: S }, span: S } : { kind: "limit", count, span: S },
    ),
  moneyLit.map((amount): A.Clause => ({ kind: "budget", amount, span: S })),
  durationLit.map((after): A.Clause => ({ kind: "expire", after, span: S })),
);
const item: fc.Arbitrary<A.Item> = fc.oneof(
  fc.tuple(ident, expr).map(([n, e]): A.Item => ({ kind: "segment", name: n, expr: e, span: S })),
  fc
    .tuple(ident, fc.option(stringLit), fc.array(clause, { maxLength: 6 }))
    .map(([n, title, clauses]): A.Item => ({ kind: "campaign", name: n, ...(title ? { title } : {}), clauses, span: S })),
);
const fileAst = fc.array(item, { maxLength: 4 }).map((items): A.FileNode => ({ kind: "file", items, comments: [], span: S }));

describe("property: printing any AST and parsing it back gives the same AST", () => {
  it("holds for generated files", () => {
    fc.assert(
      fc.property(fileAst, (ast) => {
        const text = printFile(ast, "");
        const back = parseFile(text, "gen");
        expect(back.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.column} ${d.message}`)).toEqual([]);
        expect(stripSpans(back.ast.items)).toEqual(stripSpans(ast.items));
        expect(formatFile(text, "gen").changed).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("holds with comments sprinkled over generated files: kept, in order, and stable", () => {
    fc.assert(
      fc.property(fileAst, fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.constantFrom("# 注释", "#x", "# a # b")), { maxLength: 6 }), (ast, notes) => {
        const lines = printFile(ast, "").split("\n");
        notes.forEach(([at, own, body], i) => {
          const k = at % (lines.length || 1);
          if (own) lines.splice(k, 0, `${body} ${i}`);
          else lines[k] = `${lines[k] ?? ""} ${body} ${i}`;
        });
        const text = lines.join("\n");
        const first = formatFile(text, "gen");
        expect(first.diagnostics).toEqual([]);
        expect(formatFile(first.text, "gen").text).toBe(first.text);
        expect(meaning(first.text)).toEqual(meaning(text));
      }),
      { numRuns: 200 },
    );
  });
});
