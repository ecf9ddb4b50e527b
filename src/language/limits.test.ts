import { describe, expect, it } from "vitest";
import { formatFile, parseExpression, parseFile } from "./index.js";
import { MAX_EXPRESSION_DEPTH, MAX_NESTING } from "./limits.js";

const campaign = (audience: string) => `campaign c {\n  audience ${audience}\n  trigger every day at 10:00\n  content "x"\n  channel sms\n}\n`;
const parens = (n: number, inner = "vip") => `${"(".repeat(n)}${inner}${")".repeat(n)}`;
const codes = (text: string) => parseFile(text, "c.chuda").diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.column}`);

describe("expression depth limits", () => {
  it("parses and formats expressions at the limits", () => {
    for (const audience of [
      parens(MAX_NESTING),
      `${"not ".repeat(MAX_EXPRESSION_DEPTH - 1)}vip`,
      Array(MAX_EXPRESSION_DEPTH).fill("vip").join(" and "),
      `points > ${Array(MAX_EXPRESSION_DEPTH - 1)
        .fill("1")
        .join(" + ")}`,
      `${"not ".repeat(50)}${parens(MAX_NESTING - 1, `${"not ".repeat(40)}a or b`)}`,
    ]) {
      const text = campaign(audience);
      expect(codes(text), audience.slice(0, 40)).toEqual([]);
      const f = formatFile(text, "c.chuda");
      expect(f.diagnostics).toEqual([]);
      expect(formatFile(f.text, "c.chuda").text).toBe(f.text);
    }
  });

  it("refuses parentheses nested past the limit at the first one too many, before parsing", () => {
    expect(codes(campaign(parens(211)))).toEqual([`CH1030 2:${12 + MAX_NESTING}`]);
    expect(parseFile(campaign(parens(5000)), "c.chuda").diagnostics[0]!.message).toBe(
      `parentheses and brackets nest ${MAX_NESTING + 1} deep here; at most ${MAX_NESTING} are allowed`,
    );
    expect(codes(campaign(`len(${"[".repeat(300)}`))).toEqual([`CH1030 2:${15 + MAX_NESTING}`]);
  });

  it("refuses long chains and runs of not at the expression, and the formatter does not crash", () => {
    for (const audience of [
      `${"not ".repeat(1049)}vip`,
      Array(3479).fill("vip").join(" and "),
      `points > ${Array(2628).fill("1").join(" + ")}`,
      Array(MAX_EXPRESSION_DEPTH + 1)
        .fill("vip")
        .join(" or "),
      parens(60, Array(150).fill("vip").join(" and ")),
    ]) {
      const text = campaign(audience);
      const d = parseFile(text, "c.chuda").diagnostics;
      expect(d.map((x) => `${x.code} ${x.span.start.line}:${x.span.start.column}-${x.span.end.line}:${x.span.end.column}`)).toEqual([
        `CH1031 2:12-2:${12 + audience.length}`,
      ]);
      expect(d[0]!.message).toMatch(new RegExp(`^this expression is \\d+ levels deep; at most ${MAX_EXPRESSION_DEPTH} are allowed$`));
      expect(formatFile(text, "c.chuda")).toMatchObject({ changed: false, text });
    }
  });

  it("checks each expression of a file on its own", () => {
    const text = `segment a = ${Array(150).fill("vip").join(" and ")}\n${campaign(Array(150).fill("vip").join(" or "))}`;
    expect(codes(text)).toEqual([]);
  });

  it("applies to policy.exclude", () => {
    expect(parseExpression(parens(300), "chuda.yaml").diagnostics.map((d) => d.code)).toEqual(["CH1030"]);
    expect(parseExpression(`${"not ".repeat(986)}vip`, "chuda.yaml").diagnostics.map((d) => d.code)).toEqual(["CH1031"]);
  });
});

describe("literal bounds", () => {
  const errors = (audience: string) =>
    parseFile(campaign(audience), "c.chuda").diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.column} ${d.message}`);

  it("refuses numbers beyond 2^53 − 1 and durations beyond 10,000 years at the literal", () => {
    expect(errors("days_since(birthday) >= 99999999999999999999")).toEqual([
      "CH1032 2:36 `99999999999999999999` is too large: numbers go up to 9007199254740991",
    ]);
    expect(errors("birthday > today - 3000000000 days")).toEqual([
      "CH1033 2:31 `3000000000 days` is too long: a duration is at most 3,652,425 days (10,000 years)",
    ]);
    expect(errors("birthday > today - 2147483647 days").map((s) => s.split(" ")[0])).toEqual(["CH1033"]);
    expect(errors("birthday > today + 10001 years").map((s) => s.split(" ")[0])).toEqual(["CH1033"]);
    expect(errors("spend_12m > 99999999999999999 CNY").map((s) => s.split(" ")[0])).toEqual(["CH1032"]);
    expect(parseFile("campaign c {\n  trigger 5000000 days after birthday\n}\n", "c.chuda").diagnostics.map((d) => d.code)).toEqual(["CH1033"]);
  });

  it("accepts the largest of each", () => {
    expect(errors("days_since(birthday) <= 9007199254740991 and birthday > today - 3652425 days and birthday < today + 10000 years")).toEqual([]);
  });
});
