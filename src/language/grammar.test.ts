/** Keeps grammar/ (EBNF, railroad diagrams, TextMate grammar) in step with the parser and the lexer. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { IProduction, TokenType } from "chevrotain";
import { ChudaParser, parser } from "./parser.js";
import { allTokens, KEYWORDS } from "./lexer.js";
import { diagramsHtml } from "./diagrams.js";
import { expectGolden } from "../../test/golden.js";

const GRAMMAR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../grammar");
const read = (f: string): string => readFileSync(path.join(GRAMMAR, f), "utf8");

const TOKEN_NAMES: Record<string, string> = {
  IDENT: "Identifier",
  STRING: "StringLiteral",
  NUMBER: "NumberLiteral",
  PERCENT: "PercentLiteral",
  MONEY: "MoneyLiteral",
  DATE: "DateLiteral",
  TIME: "TimeLiteral",
  DATETIME: "DateTimeLiteral",
  UNIT: "DurationUnit",
};

/** The lower-case rules of the EBNF: name → (rules it uses, token names it uses). */
function ebnfRules(): Map<string, { rules: Set<string>; tokens: Set<string> }> {
  const text = read("chuda.ebnf").replace(/\(\*[\s\S]*?\*\)/g, " ");
  const byWord = new Map<string, TokenType>([...KEYWORDS]);
  for (const t of allTokens) {
    const m = /^`(.+)`$/.exec(t.LABEL ?? "");
    if (m && !byWord.has(m[1]!)) byWord.set(m[1]!, t);
  }
  const out = new Map<string, { rules: Set<string>; tokens: Set<string> }>();
  for (const m of text.matchAll(/^([a-z][A-Za-z]*)\s*=([^;]*);/gm)) {
    const rules = new Set<string>();
    const tokens = new Set<string>();
    for (const [w] of m[2]!.matchAll(/"[^"]*"|[A-Za-z_][A-Za-z0-9_]*/g)) {
      if (w.startsWith('"')) {
        const t = byWord.get(w.slice(1, -1));
        expect(t, `EBNF terminal ${w} in ${m[1]} is no token of the lexer`).toBeDefined();
        tokens.add(t!.name);
      } else if (/^[A-Z]/.test(w)) {
        expect(TOKEN_NAMES[w], `EBNF token ${w}`).toBeDefined();
        tokens.add(TOKEN_NAMES[w]!);
      } else rules.add(w);
    }
    out.set(m[1]!, { rules, tokens });
  }
  return out;
}

function gastUses(defs: IProduction[], rules = new Set<string>(), tokens = new Set<string>()): { rules: Set<string>; tokens: Set<string> } {
  for (const p of defs as (IProduction & { terminalType?: TokenType; nonTerminalName?: string; definition?: IProduction[] })[]) {
    if (p.terminalType) tokens.add(p.terminalType.name);
    if (p.nonTerminalName) rules.add(p.nonTerminalName);
    else if (p.definition) gastUses(p.definition, rules, tokens);
  }
  return { rules, tokens };
}

describe("the grammar", () => {
  it("passes Chevrotain's own checks (ambiguities, left recursion), which the commands skip at their start", () => {
    expect(() => new ChudaParser({ checkGrammar: true })).not.toThrow();
  });
});

describe("grammar/chuda.ebnf", () => {
  it("has exactly the parser's rules, each using the same rules and tokens", () => {
    const ebnf = ebnfRules();
    const gast = parser.getGAstProductions();
    expect([...ebnf.keys()].sort()).toEqual(Object.keys(gast).sort());
    for (const [name, rule] of Object.entries(gast)) {
      const uses = gastUses(rule.definition);
      expect([...ebnf.get(name)!.rules].sort(), `rules used by ${name}`).toEqual([...uses.rules].sort());
      expect([...ebnf.get(name)!.tokens].sort(), `tokens used by ${name}`).toEqual([...uses.tokens].sort());
    }
  });

  it("spells every keyword of the lexer", () => {
    const text = read("chuda.ebnf");
    for (const word of KEYWORDS.keys()) expect(text, word).toContain(`"${word}"`);
  });
});

describe("grammar/diagrams.html", () => {
  it("is the railroad diagram of the current parser (UPDATE_GOLDEN=1 regenerates it)", () => {
    const html = diagramsHtml();
    const file = path.join(GRAMMAR, "diagrams.html");
    expectGolden(file, html);
    expect(html).not.toContain("unpkg.com"); // opens offline
    for (const rule of ["campaign", "audienceClause", "offsetTrigger", "comparison"]) expect(html).toContain(`"name": "${rule}"`);
  });
});

describe("grammar/chuda.tmLanguage.json", () => {
  type Pattern = { name?: string; match?: string; begin?: string; include?: string; patterns?: Pattern[]; captures?: Record<string, { name: string }> };
  const g = JSON.parse(read("chuda.tmLanguage.json")) as { scopeName: string; fileTypes: string[]; patterns: Pattern[]; repository: Record<string, Pattern> };
  const flat = (ps: Pattern[]): Pattern[] => ps.flatMap((p) => [p, ...flat(p.patterns ?? [])]);
  const all = flat(Object.values(g.repository));

  it("is a TextMate grammar for source.chuda whose includes resolve", () => {
    expect(g.scopeName).toBe("source.chuda");
    expect(g.fileTypes).toContain("chuda");
    for (const p of flat(g.patterns)) if (p.include) expect(g.repository[p.include.slice(1)], p.include).toBeDefined();
    for (const p of all) {
      if (p.match) expect(() => new RegExp(p.match!)).not.toThrow();
      if (p.name) expect(p.name.endsWith(".chuda"), p.name).toBe(true);
    }
    const names = new Set(all.flatMap((p) => [p.name, ...Object.values(p.captures ?? {}).map((c) => c.name)]).filter(Boolean));
    for (const scope of [
      "comment.line.number-sign.chuda",
      "string.quoted.double.chuda",
      "constant.character.escape.chuda",
      "keyword.control.clause.chuda",
      "constant.numeric.chuda",
      "constant.numeric.date.chuda",
      "constant.numeric.time.chuda",
      "constant.numeric.datetime.chuda",
      "constant.numeric.duration.chuda",
      "constant.numeric.money.chuda",
      "constant.numeric.percent.chuda",
      "constant.language.chuda",
    ]) {
      expect(names.has(scope), scope).toBe(true);
    }
  });

  it("colours every keyword of the lexer as a keyword or a language constant", () => {
    const kw = all.filter((p) => p.match && /^(keyword|constant\.language|storage)/.test(p.name ?? ""));
    for (const word of KEYWORDS.keys()) {
      expect(
        kw.some((p) => new RegExp(`^(?:${p.match})$`).test(word)),
        word,
      ).toBe(true);
    }
  });

  it("colours literals as the lexer reads them", () => {
    const scopeOf = (s: string): string | undefined => all.find((p) => p.match && new RegExp(`^(?:${p.match})$`).test(s))?.name;
    expect(scopeOf("2026-12-24 10:00")).toBe("constant.numeric.datetime.chuda");
    expect(scopeOf("2026-12-24")).toBe("constant.numeric.date.chuda");
    expect(scopeOf("09:30")).toBe("constant.numeric.time.chuda");
    expect(scopeOf("50 CNY")).toBe("constant.numeric.money.chuda");
    expect(scopeOf("¥50")).toBe("constant.numeric.money.chuda");
    expect(scopeOf("10%")).toBe("constant.numeric.percent.chuda");
    expect(scopeOf("7 days")).toBe("constant.numeric.duration.chuda");
    expect(scopeOf("# 注释")).toBe("comment.line.number-sign.chuda");
  });
});
