/**
 * Message shapes (shape.ts): the claim that values of one shape render to messages with the same cost and the
 * same problems is checked against the real renderer and rules, on every template of the example repository and
 * on sections built to reach every rule with a member's text: SMS parameters and length, WeCom bytes, typed
 * template and subscribe values (phrase, name, date, amount, …), links, brackets, empty values, line breaks.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseTemplate, renderContent, smsSegments } from "./index.js";
import type { ContentKind } from "../project/types.js";
import type { Template } from "./types.js";
import { SHAPE_CHAR, SHAPE_KEPT, shapeOf, shapeSafeVariables, shapeSql } from "./shape.js";

const ROOT = path.resolve(__dirname, "../..");

/** Characters a member's text may hold: ideographs a shape replaces, the ones it keeps, and everything else. */
const HAN = fc.integer({ min: 0x4e00, max: 0x9fff }).map((c) => String.fromCodePoint(c));
const EXT_A = fc.integer({ min: 0x3400, max: 0x4dbf }).map((c) => String.fromCodePoint(c));
const OTHER = fc.constantFrom(...[..."年月日元中会员回复拒收请·. -_/:%¥$＄【】[]{}Aaz09５\n\t 　", "😀", "𠀋", "www.", "http://", ".com", "{{x}}", "${a}"]);
const char = fc.oneof({ arbitrary: HAN, weight: 6 }, { arbitrary: EXT_A, weight: 1 }, { arbitrary: OTHER, weight: 3 });
const free = fc.array(char, { maxLength: 45 }).map((cs) => cs.join(""));
const digits = (min: number, max: number) => fc.integer({ min, max }).map(String);
// Values near the edge of a typed rule, where one character decides: dates and amounts written the Chinese way,
// short all-Han phrases and names, car numbers.
const text = fc.oneof(
  free,
  fc.tuple(digits(1990, 2030), digits(1, 12), digits(1, 31), fc.constantFrom("", " 10:00")).map(([y, m, d, t]) => `${y}年${m}月${d}日${t}`),
  fc.tuple(digits(1, 12), digits(1, 31)).map(([m, d]) => `${m}月${d}日`),
  fc.tuple(fc.constantFrom("¥", "$", "￥"), digits(0, 99999), fc.constantFrom("元", "", ".50元")).map(([c, n, e]) => `${c}${n}${e}`),
  fc.array(HAN, { minLength: 1, maxLength: 11 }).map((cs) => cs.join("")),
  fc.tuple(fc.constantFrom("粤", "京", "A"), fc.constantFrom("A8Z888", "B12345"), fc.constantFrom("挂", "警", "")).map((p) => p.join("")),
);
/** Another text of the same shape: each replaceable ideograph swapped for another one. */
const sameShape = (s: string) =>
  fc
    .array(HAN, { minLength: [...s].length, maxLength: [...s].length })
    .map((others) => [...s].map((c, i) => (shapeOf(c) === SHAPE_CHAR && !SHAPE_KEPT.includes(c) ? others[i]! : c)).join(""));

describe("shapes", () => {
  it("replace the ideographs no rule names and keep every other character", () => {
    expect(shapeOf("王伟")).toBe("汉汉");
    expect(shapeOf("欧阳·Anna㐀")).toBe("汉汉·Anna汉");
    expect(shapeOf("2026年12月1日 ¥50元【中】")).toBe("2026年12月1日 ¥50元【中】");
    expect(shapeOf("😀𠀋")).toBe("😀𠀋"); // outside the Basic Multilingual Plane: four bytes, kept
    expect(shapeOf("")).toBe("");
  });

  it("are the same in DuckDB as in JavaScript", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      await fc.assert(
        fc.asyncProperty(text, async (s) => {
          const r = await conn.runAndReadAll(`SELECT ${shapeSql("?")}`, [s] as never);
          expect(r.getRowsJS()[0]![0]).toBe(shapeOf(s));
        }),
        { numRuns: 200 },
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  it("keep every ideograph that src/content names outside comments (a new rule naming one must add it to SHAPE_KEPT)", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.endsWith("shape.ts")) files.push(p);
      }
    };
    walk(path.join(ROOT, "src/content"));
    const named = new Set<string>();
    for (const f of files) {
      const code = readFileSync(f, "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/(^|[^:])\/\/.*$/gm, "$1");
      for (const c of code) if (shapeOf(c) === SHAPE_CHAR && c !== SHAPE_CHAR) named.add(c);
    }
    expect([...named].filter((c) => !SHAPE_KEPT.includes(c))).toEqual([]);
  });
});

describe("shapeSafeVariables", () => {
  const safe = (yaml: string) => {
    const { template, diagnostics } = parseTemplate(yaml, "templates/t.yaml", "t");
    expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    return [...shapeSafeVariables([...template.sections.values()][0]!)].sort();
  };
  it("accepts a value written as it is, truncated, defaulted or tested", () => {
    expect(
      safe(`wecom:\n  text: "{{name}}您好 {{truncate nick 8}} {{default city \\"本地\\"}}{{#if vip}}尊享{{else}}{{/if}}{{#unless x}}!{{/unless}}"\n`),
    ).toEqual(["city", "name", "nick", "vip", "x"]);
  });
  it("refuses a value another helper reads, a lookup, a context change, a partial", () => {
    expect(safe(`wecom:\n  text: "{{name}} {{date name \\"M月D日\\"}} {{city}}"\n`)).toEqual(["city"]);
    expect(safe(`wecom:\n  text: "{{lookup prices tier}} {{city}}"\n`)).toEqual(["city"]);
    expect(safe(`wecom:\n  text: "{{#with shop}}{{name}}{{/with}} {{city}}"\n`)).toEqual(["city"]);
    expect(safe(`wecom:\n  text: "{{#each tags}}{{this}}{{/each}} {{city}}"\n`)).toEqual([]);
    expect(safe(`wecom:\n  text: "{{truncate name n}} {{default city other}} {{#if (truncate tier 2)}}x{{/if}}"\n`)).toEqual([]);
    expect(safe(`wecom:\n  text: "{{@root.name}} {{city}}"\n`)).toEqual([]);
  });
  it("refuses a value used safely in one field and otherwise in another of the section", () => {
    expect(
      safe(`sms:\n  sign: "示例广场"\n  code: "S"\n  body: "\${a}您好。拒收请回复R"\n  params: { a: "{{name}}", b: "{{date name \\"M月\\"}}" }\n`),
    ).toEqual([]);
  });
});

describe("values of one shape", () => {
  // Sections that put a member's text where every rule can see it.
  const SECTIONS = `
wecom:
  text: "{{name}}您好，{{truncate city 6}}店本周有活动。{{#if note}}{{note}}{{/if}}"
  attachments:
    - msgtype: link
      link: { title: "{{default name \\"会员\\"}}专享", url: "https://m.example.com/{{city}}", desc: "{{note}}" }
sms:
  sign: "示例广场"
  code: "SMS_1"
  body: "\${n}您好，您在\${c}的会员积分即将到期，请在本月内到店使用，逾期将自动清零，感谢支持。拒收请回复R"
  params: { n: "{{name}}", c: "{{truncate city 12}}" }
template_message:
  template_id: "TM1"
  url: "https://m.example.com/{{note}}"
  data: { thing1: "{{name}}", phrase2: "{{city}}", name3: "{{name}}", date4: "{{note}}", amount5: "{{note}}", character_string6: "{{city}}", number7: "{{note}}", car_number8: "{{name}}", first: "{{note}}" }
subscribe_message:
  template_id: "T2"
  page: "pages/{{city}}"
  data: { thing1: "{{name}}", phrase2: "{{note}}", time3: "{{city}}", letter4: "{{name}}", symbol5: "{{note}}", phone_number6: "{{city}}" }
`;
  const templates: Template[] = [parseTemplate(SECTIONS, "templates/all.yaml", "all").template];
  for (const f of readdirSync(path.join(ROOT, "templates")))
    templates.push(parseTemplate(readFileSync(path.join(ROOT, "templates", f), "utf8"), `templates/${f}`, f).template);
  const outcome = (t: Template, kind: ContentKind, vars: Record<string, unknown>) => {
    const r = renderContent(t, kind, vars);
    const c = r.content;
    return {
      segments: c?.kind === "sms" ? smsSegments(c.sign, c.text) : 0,
      problems: r.problems.map((p) => `${p.rule}|${p.field}|${p.severity}|${p.message}`).sort(),
    };
  };

  it("render to messages that cost the same and break the same rules, on every section and template", () => {
    const cases = templates
      .flatMap((t) => [...t.sections.values()].map((s) => ({ t, kind: s.kind, safe: [...shapeSafeVariables(s)] })))
      .filter((c) => c.safe.length);
    expect(cases.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.array(text, { minLength: 4, maxLength: 4 }).chain((vs) => fc.tuple(fc.constant(vs), fc.tuple(...vs.map(sameShape)))),
        ({ t, kind, safe: names }, [vs, others]) => {
          const a: Record<string, unknown> = { amount: 50, coupon: "VIP50", points_expiring: 500, points_expire_at: "2026-12-20" };
          const b: Record<string, unknown> = { ...a };
          names.forEach((n, i) => {
            a[n] = vs[i % vs.length];
            b[n] = others[i % others.length];
          });
          expect(outcome(t, kind, b)).toEqual(outcome(t, kind, a));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("can differ when they differ in shape (the test above can fail)", () => {
    const t = templates[0]!;
    const short = outcome(t, "sms", { name: "王伟", city: "北京" });
    const long = outcome(t, "sms", { name: "王伟".repeat(20), city: "北京" });
    expect(long).not.toEqual(short);
  });
});
