import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compileField, dateHelper, defaultHelper, hbs, maskHelper, readDate, truncateHelper, yuanHelper } from "./helpers.js";

const render = (src: string, vars: Record<string, unknown>) => compileField(src).fn!(vars);

describe("date", () => {
  it("formats M月D日, YYYY-MM-DD and YYYY年M月D日", () => {
    expect(render('{{date birthday "M月D日"}}', { birthday: "1990-11-04" })).toBe("11月4日");
    expect(render('{{date birthday "YYYY-MM-DD"}}', { birthday: "1990-1-4" })).toBe("1990-01-04");
    expect(render('{{date birthday "YYYY年M月D日"}}', { birthday: "2026-03-08" })).toBe("2026年3月8日");
  });
  it("accepts a Date (UTC fields), a date string, and a datetime with or without seconds", () => {
    expect(dateHelper(new Date(Date.UTC(2026, 10, 24)), "M月D日")).toBe("11月24日");
    expect(dateHelper("2026-11-24 09:30", "YYYY-MM-DD HH:mm")).toBe("2026-11-24 09:30");
    expect(dateHelper("2026-11-24 09:30:15", "HH:mm:ss")).toBe("09:30:15");
    expect(dateHelper("2026-11-24T22:05:00+08:00", "M月D日 H:mm")).toBe("11月24日 22:05");
  });
  it("defaults to YYYY-MM-DD and renders missing or unreadable dates as empty", () => {
    expect(render("{{date d}}", { d: "2026-02-03" })).toBe("2026-02-03");
    expect(render('{{date d "M月D日"}}', {})).toBe("");
    expect(dateHelper("not a date", "M月D日")).toBe("");
    expect(readDate("2026-13-01")).toBeUndefined();
  });
});

describe("yuan", () => {
  it("drops decimals of whole amounts and keeps two otherwise, without thousands separators", () => {
    expect(yuanHelper(50)).toBe("50");
    expect(yuanHelper(49.5)).toBe("49.50");
    expect(yuanHelper("12.345")).toBe("12.35");
    expect(yuanHelper(1234567)).toBe("1234567");
    expect(yuanHelper(-5.5)).toBe("-5.50");
    expect(yuanHelper(undefined)).toBe("");
    expect(yuanHelper("abc")).toBe("abc");
    expect(render("¥{{yuan amount}}", { amount: 199.9 })).toBe("¥199.90");
  });
});

describe("mask", () => {
  it("masks a mainland mobile number as 138****1234", () => {
    expect(maskHelper(13812341234)).toBe("138****1234");
    expect(maskHelper("138 1234 1234")).toBe("138****1234");
    expect(maskHelper("+8613812341234")).toBe("+86138****1234");
    expect(render("{{mask mobile}}", { mobile: "13812341234" })).toBe("138****1234");
  });
  it("keeps the first and last character of other text", () => {
    expect(maskHelper("王小明")).toBe("王*明");
    expect(maskHelper("欧阳娜娜")).toBe("欧**娜");
    expect(maskHelper("王伟")).toBe("王*");
    expect(maskHelper("A")).toBe("*");
    expect(maskHelper("😀ab😀")).toBe("😀**😀");
  });
});

describe("truncate", () => {
  it("counts Chinese characters and emoji as one and ends a cut text with … within the limit", () => {
    expect(truncateHelper("王伟", 8)).toBe("王伟");
    expect(truncateHelper("一二三四五六七八", 8)).toBe("一二三四五六七八");
    expect(truncateHelper("一二三四五六七八九", 8)).toBe("一二三四五六七…");
    expect([...truncateHelper("一二三四五六七八九", 8)].length).toBe(8);
    expect(truncateHelper("😀😀😀😀", 3)).toBe("😀😀…");
    expect(render("{{truncate name 4}}", { name: "Alexander" })).toBe("Ale…");
  });
  it("never leaves half of a joined emoji", () => {
    // 👩‍👩 = woman, ZWJ, woman: cutting after the ZWJ would leave a dangling joiner.
    expect(truncateHelper("a👩\u200d👩bcdef", 4)).toBe("a👩…");
  });
  it("handles missing values and odd limits", () => {
    expect(truncateHelper(undefined, 5)).toBe("");
    expect(truncateHelper("abc", 0)).toBe("");
    expect(render("{{truncate name 8}}", {})).toBe("");
  });
});

describe("default", () => {
  it("uses the fallback for missing, empty or blank values", () => {
    expect(render('{{default nickname "会员"}}', {})).toBe("会员");
    expect(render('{{default nickname "会员"}}', { nickname: "  " })).toBe("会员");
    expect(render('{{default nickname "会员"}}', { nickname: "小王" })).toBe("小王");
    expect(defaultHelper(0, "x")).toBe(0);
  });
});

describe("rendering", () => {
  it("does not HTML-escape (plain-text channels)", () => {
    expect(render("{{name}}", { name: "A&B <c> \"d\" 'e'" })).toBe("A&B <c> \"d\" 'e'");
  });
  it("renders missing fields as empty (not strict)", () => {
    expect(render("您好{{name}}！", {})).toBe("您好！");
  });
  it("never compiles a member's own text: {{…}} and emoji in values stay literal", () => {
    const vars = { name: "{{coupon}}😀{{#each x}}", coupon: "SECRET" };
    expect(render("{{name}}", vars)).toBe("{{coupon}}😀{{#each x}}");
    expect(render("{{truncate name 30}}", vars)).toBe("{{coupon}}😀{{#each x}}");
  });
  it("cannot reach prototype properties", () => {
    expect(render("{{constructor.name}}", {})).toBe("");
    expect(render("{{name.__proto__}}", { name: "x" })).toBe("");
  });
  it("is a separate Handlebars instance with chuda's helpers", () => {
    expect(Object.keys(hbs.helpers)).toEqual(expect.arrayContaining(["date", "yuan", "mask", "truncate", "default", "if", "each"]));
  });
  it("caches compiled fields and reports parse errors instead of throwing", () => {
    expect(compileField("{{a}}!")).toBe(compileField("{{a}}!"));
    expect(compileField("{{a").error).toMatch(/Parse error/);
  });
  it("renders plain {{name}} substitutions and helper calls exactly as Handlebars does, whatever the values", () => {
    const piece = fc.oneof(
      fc.constantFrom("您好", " ", "，", "{", "}", "\\", "${x}", "{{! note }}", "{{~name~}}", " {{{name}}} "),
      fc.constantFrom("name", "amount", "toString", "truncate", "this", "a.b", "@index", "[name]").map((n) => `{{${n}}}`),
      fc.constantFrom(
        "{{truncate name 3}}",
        "{{truncate amount 2}}",
        '{{default name "会员"}}',
        "{{default amount 0}}",
        "{{yuan amount}}",
        "{{mask name}}",
        '{{date name "M月D日"}}',
        "{{date amount}}",
        "{{truncate truncate 2}}",
        "{{default name null}}",
        "{{default toString 1}}",
        "{{truncate name (default amount 3)}}",
        '{{default name fallback="x"}}',
      ),
      fc.string({ maxLength: 4 }),
    );
    const value = fc.oneof(
      fc.constantFrom("1990-03-14", "2026-12-01 10:00:00", "12.5", " ", "王小明"),
      fc.string({ maxLength: 6 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.dictionary(fc.constantFrom("name", "amount", "a", "toString", "truncate"), value), (pieces, vars) => {
        const source = pieces.join("");
        let expected: string | undefined;
        try {
          expected = hbs.compile(source, { noEscape: true, strict: false, compat: false })(vars);
        } catch {
          expected = undefined;
        }
        const c = compileField(source);
        if (c.error !== undefined || expected === undefined) return;
        expect(c.fn!(vars)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
