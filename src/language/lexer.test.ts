import { describe, expect, it } from "vitest";
import { Lexer } from "chevrotain";
import { allTokens, KEYWORDS, LEXER_OPTIONS, lex } from "./lexer.js";

const kinds = (src: string): string[] => lex(src).tokens.map((t) => `${t.tokenType.name}:${t.image}`);

describe("lexer", () => {
  it("has token definitions that pass Chevrotain's own checks (skipped when a command starts)", () => {
    const checked = new Lexer(allTokens, { ...LEXER_OPTIONS, deferDefinitionErrorsHandling: true });
    expect(checked.lexerDefinitionErrors).toEqual([]);
  });

  it("tells keywords from identifiers that start with them", () => {
    expect(kinds("once on order or within with days_since day days anniversary and any")).toEqual([
      "Once:once",
      "On:on",
      "Order:order",
      "Or:or",
      "Within:within",
      "With:with",
      "Identifier:days_since",
      "Day:day",
      "Day:days",
      "Anniversary:anniversary",
      "And:and",
      "Any:any",
    ]);
    expect(kinds("ordered settle nowhere in_store")).toEqual(["Identifier:ordered", "Identifier:settle", "Identifier:nowhere", "Identifier:in_store"]);
  });

  it("reads every kind of literal", () => {
    expect(kinds('2026-12-24 10:00 2026-12-24\n09:30 12 0.5 10% 50 CNY ¥50 "a\\"b" true false')).toEqual([
      "DateTimeLiteral:2026-12-24 10:00",
      "DateLiteral:2026-12-24",
      "TimeLiteral:09:30",
      "NumberLiteral:12",
      "NumberLiteral:0.5",
      "PercentLiteral:10%",
      "MoneyLiteral:50 CNY",
      "MoneyLiteral:¥50",
      'StringLiteral:"a\\"b"',
      "True:true",
      "False:false",
    ]);
  });

  it("reads operators, the range and the channel separator", () => {
    expect(kinds("== != <= >= < > = + - ( ) [ ] { } , : ..").map((k) => k.split(":")[0])).toEqual([
      "Eq",
      "NotEq",
      "LtEq",
      "GtEq",
      "Lt",
      "Gt",
      "Assign",
      "Plus",
      "Minus",
      "LParen",
      "RParen",
      "LBracket",
      "RBracket",
      "LCurly",
      "RCurly",
      "Comma",
      "Colon",
      "Range",
    ]);
    expect(kinds("2026-01-01 .. 2026-02-01")).toEqual(["DateLiteral:2026-01-01", "Range:..", "DateLiteral:2026-02-01"]);
  });

  it("keeps comments, Chinese included, out of the token stream", () => {
    const r = lex('campaign a "会员生日礼" { # 注释：生日\n}');
    expect(r.comments.map((c) => c.image)).toEqual(["# 注释：生日"]);
    expect(r.tokens.map((t) => t.image)).toEqual(["campaign", "a", '"会员生日礼"', "{", "}"]);
    expect(r.errors).toEqual([]);
  });

  it("reports unexpected characters and unterminated strings", () => {
    const r = lex('a 会员 b "open\nc');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ offset: 2, length: 2 });
    expect(r.unterminated.map((t) => t.image)).toEqual(['"open']);
    expect(r.tokens.map((t) => t.tokenType.name)).toEqual(["Identifier", "Identifier", "StringLiteral", "Identifier"]);
  });

  it("knows every keyword with its plural unit spellings", () => {
    for (const w of ["audience", "trigger", "send", "between", "km", "days", "years", "minutes"]) expect(KEYWORDS.has(w), w).toBe(true);
  });
});
